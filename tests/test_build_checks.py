"""The build frontend's checks on what it builds, end to end (real sdists and projects, a
real local index, real backends in real build environments, real ``pypm`` processes):

- a wheel (or prepared metadata) of another name or version than the one asked for is
  refused, as pip and uv refuse it, and nothing is installed;
- a build backend that cannot be imported is one line, not an internal error;
- what a backend prints goes to a build log in the cache, which a failure names, and
  ``-v`` shows.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pypm.testing import DistSpec, build_sdist
from pypm.testing._archive import write_tar_gz
from pypm.testing.builders import build_backend_wheel, render_pyproject, wheel_from_installed
from tests.test_lock_sync import installed, site_packages
from tests.workspaces import EDITABLE_WHEEL_SOURCE, write

PROJECT = '[project]\nname = "proj"\nversion = "1.0"\nrequires-python = ">=3.10"\ndependencies = ["swap"]\n'

# An in-tree PEP 517/660 backend (stdlib only) whose output and result ``backend.json`` sets:
# the name and version it builds, whether it prints a lot first, and whether it then fails.
BACKEND = '''\
import json, pathlib, sys


def _conf():
    return json.loads(pathlib.Path("backend.json").read_text())


def _dist_info():
    conf = _conf()
    text = f"Metadata-Version: 2.1\\nName: {conf['name']}\\nVersion: {conf['version']}\\n\\n"
    return conf["name"], conf["version"], {"METADATA": text, "WHEEL": "Wheel-Version: 1.0\\nGenerator: t\\n"
                                          "Root-Is-Purelib: true\\nTag: py3-none-any\\n"}


def _speak():
    conf = _conf()
    if conf.get("noise"):
        print("BACKEND-FIRST-LINE on stdout")
        for number in range(200):
            print(f"compiling part {number}")
        print("BACKEND-STDERR-LINE on stderr", file=sys.stderr)
    if conf.get("fail"):
        raise RuntimeError("backend gave up: LAST-LINE")


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    _speak()
    name, version, files = _dist_info()
    info = pathlib.Path(metadata_directory) / f"{name}-{version}.dist-info"
    info.mkdir(parents=True)
    for file, text in files.items():
        (info / file).write_text(text)
    return info.name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    _speak()
    name, version, files = _dist_info()
    return _editable_wheel(wheel_directory, name, version, files, pathlib.Path("src").resolve())
''' + EDITABLE_WHEEL_SOURCE


def backend_project(root: Path, conf: dict[str, object], dynamic_version: bool = False) -> Path:
    """Project ``mem`` 1.0 built by :data:`BACKEND`, which builds what ``conf`` says."""
    version = 'dynamic = ["version"]' if dynamic_version else 'version = "1.0"'
    write(root / "pyproject.toml", f"""
        [project]
        name = "mem"
        {version}
        requires-python = ">=3.10"
        dependencies = []

        [build-system]
        requires = []
        build-backend = "mem_backend"
        backend-path = ["."]
    """)
    write(root / "mem_backend.py", BACKEND)
    write(root / "src/mem/__init__.py", "")
    (root / "backend.json").write_text(json.dumps({"name": "mem", "version": "1.0", **conf}))
    return root


def assert_one_line_error(result, *words: str) -> str:
    """The run failed with exit 1 and one ``error:`` line (no traceback) holding ``words``."""
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, result.stderr
    for word in words:
        assert word in errors[0], errors[0]
    return errors[0]


def dist_infos(root: Path) -> list[str]:
    """The dist-info directories in ``root``'s .venv."""
    return sorted(p.name for site in site_packages(root / ".venv") for p in site.glob("*.dist-info"))


def lying_sdist(directory: Path) -> Path:
    """``swap-1.0.tar.gz``: its PKG-INFO (static, metadata 2.2) says swap 1.0, so the lock
    takes it as that; its pyproject.toml has flit_core build ``other`` 9.9."""
    other = DistSpec("other", "9.9")
    files = {
        "PKG-INFO": b"Metadata-Version: 2.2\nName: swap\nVersion: 1.0\n\n",
        "pyproject.toml": render_pyproject(other),
        "other/__init__.py": b'"""Something else."""\n__version__ = "9.9"\n',
    }
    path = directory / "swap-1.0.tar.gz"
    directory.mkdir(parents=True, exist_ok=True)
    write_tar_gz(path, {f"swap-1.0/{name}": data for name, data in files.items()})
    return path


def test_wheel_built_from_sdist_of_another_name_and_version_is_refused(tmp_path: Path, make_index,
                                                                       run_pypm) -> None:
    index = make_index([])
    index.add(wheel_from_installed("flit_core", tmp_path))
    index.add(lying_sdist(tmp_path / "files"))
    root = tmp_path / "proj"
    write(root / "pyproject.toml", PROJECT)
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    assert '"swap"' in (root / "pylock.toml").read_text()
    for _ in range(2):  # refused again: the next sync is no "All up to date"
        result = run_pypm("sync", cwd=root, env_extra=env, check=False)
        assert_one_line_error(result, "swap 1.0: the build made other-9.9-", "which is other 9.9, not swap 1.0")
        assert not [name for name in dist_infos(root) if name.startswith(("other", "swap"))], dist_infos(root)


def test_prepared_metadata_of_another_name_is_refused_when_locking(tmp_path: Path, make_index,
                                                                   run_pypm) -> None:
    files = tmp_path / "files"
    built = build_sdist(DistSpec("other", "9.9"), files, backend="pypm-testing-backend")
    index = make_index([])
    index.add(build_backend_wheel(tmp_path / "backend"))
    index.add(built.rename(files / "swap-1.0.tar.gz"))
    root = tmp_path / "proj"
    write(root / "pyproject.toml", PROJECT)
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert_one_line_error(result, "swap 1.0: the metadata from swap-1.0.tar.gz is for other 9.9, not swap 1.0")
    assert not (root / "pylock.toml").exists()


@pytest.mark.parametrize("dynamic_version", [False, True], ids=["static", "dynamic-version"])
def test_member_whose_backend_builds_another_name_is_refused(tmp_path: Path, run_pypm, dynamic_version) -> None:
    root = backend_project(tmp_path / "mem", {"name": "other"}, dynamic_version)
    result = run_pypm("lock", "sync", cwd=root, check=False)
    assert_one_line_error(result, "other 1.0, not mem")
    assert not [name for name in dist_infos(root) if name.startswith(("other", "mem"))], dist_infos(root)


def test_member_whose_backend_builds_another_version_is_refused(tmp_path: Path, run_pypm) -> None:
    root = backend_project(tmp_path / "mem", {"version": "2.0"})
    result = run_pypm("lock", "sync", cwd=root, check=False)
    assert_one_line_error(result, "mem 1.0: the build made mem-2.0-", "which is mem 2.0, not mem 1.0")
    assert not [name for name in dist_infos(root) if name.startswith("mem")], dist_infos(root)


def test_missing_build_backend_is_one_line(tmp_path: Path, run_pypm) -> None:
    root = backend_project(tmp_path / "mem", {})
    text = (root / "pyproject.toml").read_text().replace('"mem_backend"', '"nosuchbackend"')
    (root / "pyproject.toml").write_text(text.replace('backend-path = ["."]\n', ""))
    result = run_pypm("sync", cwd=root, check=False)
    line = assert_one_line_error(result, "cannot import build backend 'nosuchbackend' for mem",
                                 "No module named 'nosuchbackend'", "build-logs-v1")
    log = Path(line.split("see the build log at ", 1)[1].rstrip(")"))
    assert log.is_file() and "nosuchbackend" in log.read_text()


def test_build_output_goes_to_a_log_the_error_names(tmp_path: Path, run_pypm, pypm_env) -> None:
    root = backend_project(tmp_path / "mem", {"noise": True, "fail": True})
    result = run_pypm("sync", cwd=root, check=False)
    line = assert_one_line_error(result, "mem 1.0: build failed", "LAST-LINE", "see the build log at")
    log = Path(line.split("see the build log at ", 1)[1].rstrip(")"))
    assert log.parent == Path(pypm_env["PYPM_CACHE_DIR"]) / "build-logs-v1"
    assert log.name.startswith("mem-1.0"), log.name
    text = log.read_text()
    for seen in ("BACKEND-FIRST-LINE", "compiling part 100", "BACKEND-STDERR-LINE", "LAST-LINE"):
        assert seen in text, text
    assert "BACKEND-FIRST-LINE" not in result.stderr, "only -v shows the build output"

    verbose = run_pypm("-v", "sync", cwd=root, check=False)
    assert verbose.returncode == 1
    assert "BACKEND-FIRST-LINE" in verbose.stderr and "BACKEND-STDERR-LINE" in verbose.stderr

    (root / "backend.json").write_text(json.dumps({"name": "mem", "version": "1.0", "noise": True}))
    run_pypm("sync", cwd=root)
    assert installed(root / ".venv") == {"mem": "1.0"}
    assert sorted(log.parent.iterdir()) == [log], "one log per distribution, version and kind of build"
    assert "LAST-LINE" not in log.read_text() and "BACKEND-FIRST-LINE" in log.read_text()
    run_pypm("cache", "clean", cwd=root)
    assert not log.parent.exists(), "cache clean removes the build logs with the rest"
