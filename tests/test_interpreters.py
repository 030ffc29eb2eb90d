"""The right interpreter, chosen once, and builds made for it: requires-python picks an
installed Python, `--python` sticks, older Pythons are described without pypm's own
packaging, sdists are built (and their wheels cached) per interpreter, and sdists extract
safely where tarfile has no data filter."""

from __future__ import annotations

import io
import json
import sys
import tarfile
from pathlib import Path

import pytest

from pypm.install.venv import find_base_python
from pypm.testing import DistSpec
from pypm.testing.builders import build_backend_wheel, build_sdist
from tests.test_installer import project
from tests.test_lock_sync import installed, site_packages
from tests.workspaces import replace_in

RUNNING = (sys.version_info.major, sys.version_info.minor)


def installed_python(minor: int) -> str:
    """``3.<minor>``, asserting the test machine has it (pyenv or PATH): no silent skip."""
    version = f"3.{minor}"
    find_base_python(version)  # raises when it is not installed
    return version


def venv_version(root: Path) -> tuple[int, int]:
    info = json.loads((root / ".venv" / ".pypm-interpreter.json").read_text())
    major, minor = info["version"].split(".")[:2]
    return int(major), int(minor)


@pytest.fixture
def alpha_index(make_index):
    return make_index([DistSpec("alpha", "1.0")])


def test_sync_picks_an_installed_python_that_satisfies_requires_python(tmp_path, alpha_index, run_pypm) -> None:
    newer = RUNNING[1] + 1
    installed_python(newer)
    root = project(tmp_path / "p", ["alpha"])
    replace_in(root / "pyproject.toml", 'requires-python = ">=3.10"', f'requires-python = ">=3.{newer}"')
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": alpha_index.url})
    assert venv_version(root) >= (3, newer)
    probe = run_pypm("run", "python", "-c", "import alpha, sys; print(sys.version_info[1])", cwd=root,
                     env_extra={"PYPM_INDEX_URL": alpha_index.url})
    assert int(probe.stdout) >= newer


def test_python_given_once_sticks(tmp_path, alpha_index, run_pypm) -> None:
    other = installed_python(RUNNING[1] + 1)
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": alpha_index.url}
    run_pypm("sync", "--python", other, cwd=root, env_extra=env)
    assert venv_version(root) == (3, RUNNING[1] + 1)
    marker = site_packages(root / ".venv")[0] / "alpha" / "__init__.py"
    inode = marker.stat().st_ino
    run_pypm("sync", cwd=root, env_extra=env)
    assert venv_version(root) == (3, RUNNING[1] + 1), "a plain sync recreated .venv on another Python"
    assert marker.stat().st_ino == inode


def test_python_by_command_name_and_mistakes_naming_their_source(tmp_path, alpha_index, run_pypm) -> None:
    """``--python NAME`` takes a command on PATH (as uv does); a bad ``python`` setting is
    one line naming where it came from; Python 2 is refused as such."""
    other = installed_python(RUNNING[1] + 1)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "my-python").symlink_to(find_base_python(other))
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": alpha_index.url, "PATH": f"{bin_dir}:{__import__('os').environ['PATH']}"}
    run_pypm("sync", "--python", "my-python", cwd=root, env_extra=env)
    assert venv_version(root) == (3, RUNNING[1] + 1)
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write('\n[tool.pypm]\npython = "/no/such/python"\n')
    line = run_pypm("sync", cwd=root, env_extra=env, check=False).stderr.strip()
    assert line.startswith(f"error: python = '/no/such/python' (from {root / 'pyproject.toml'}): ") and (
        "missing, not a Python interpreter" in line), line
    refused = run_pypm("sync", "--python", "2.7", cwd=root, env_extra=env, check=False).stderr
    assert "error: python = '2.7' (from --python): Python 2.7: pypm makes environments for Python 3 only" in refused


def test_an_older_python_than_pypms_is_described_and_used(tmp_path, alpha_index, run_pypm) -> None:
    """Python 3.8 cannot import the packaging pypm runs with: its description must not need it."""
    oldest = installed_python(8)
    root = project(tmp_path / "p", ["alpha"])
    replace_in(root / "pyproject.toml", 'requires-python = ">=3.10"', 'requires-python = ">=3.8"')
    env = {"PYPM_INDEX_URL": alpha_index.url}
    run_pypm("sync", "--python", oldest, cwd=root, env_extra=env)
    assert installed(root / ".venv") == {"alpha": "1.0", "p": "1.0"}
    probe = run_pypm("run", "python", "-c", "import alpha, sys; print(sys.version_info[:2])", cwd=root,
                     env_extra=env)
    assert probe.stdout.strip() == "(3, 8)"
    tags = json.loads((root / ".venv" / ".pypm-interpreter.json").read_text())["tags"]
    assert tags[0].startswith("cp38-cp38-") and "py38-none-any" in tags and not any("cp311" in t for t in tags)


def test_sdists_are_built_for_the_venvs_python_and_cached_per_tag(tmp_path, make_index, run_pypm) -> None:
    other = RUNNING[1] + 1
    installed_python(other)
    index = make_index([])
    build_backend_wheel(index.files_dir)
    build_sdist(DistSpec("native", "1.0"), index.files_dir, backend="pypm-testing-backend", interpreter_tag=True)
    root = project(tmp_path / "p", ["native"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("sync", "--python", f"3.{other}", cwd=root, env_extra=env)
    wheel_file = next(site_packages(root / ".venv")[0].glob("native-1.0.dist-info/WHEEL")).read_text()
    assert f"Tag: cp3{other}-cp3{other}-" in wheel_file
    run_pypm("sync", "--python", f"{RUNNING[0]}.{RUNNING[1]}", cwd=root, env_extra=env)
    wheel_file = next(site_packages(root / ".venv")[0].glob("native-1.0.dist-info/WHEEL")).read_text()
    assert f"Tag: cp3{RUNNING[1]}-cp3{RUNNING[1]}-" in wheel_file
    built = sorted(p.name for p in (Path(run_pypm("cache", "dir", cwd=root).stdout.strip())).rglob("native-*.whl"))
    assert [name.split("-")[2] for name in built] == sorted([f"cp3{other}", f"cp3{RUNNING[1]}"])


def _tar(members: dict[str, tarfile.TarInfo | bytes]) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in members.items():
            if isinstance(content, tarfile.TarInfo):
                archive.addfile(content)
            else:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                archive.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return buffer


@pytest.mark.parametrize("with_data_filter", [True, False], ids=["data-filter", "fallback"])
def test_sdist_extraction_refuses_escapes_with_and_without_data_filter(tmp_path, monkeypatch, with_data_filter):
    from pypm.build.source import extract_tar_safely
    from pypm.errors import PypmError

    if not with_data_filter:
        monkeypatch.delattr(tarfile, "data_filter", raising=False)
    link = tarfile.TarInfo("pkg-1.0/evil")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    bad_archives = {
        "dotdot": {"pkg-1.0/../../escaped.txt": b"x"},
        "absolute": {"/tmp/pypm-absolute-escape.txt": b"x"},
        "symlink-out": {"pkg-1.0/evil": link},
    }
    for label, members in bad_archives.items():
        destination = tmp_path / label
        destination.mkdir()
        refused = False
        with tarfile.open(fileobj=_tar(members)) as archive:
            try:
                extract_tar_safely(archive, destination, f"{label}.tar.gz")
            except (PypmError, tarfile.TarError):
                refused = True
        # tarfile's data filter strips a leading "/" (the file lands inside); the rest is refused
        assert refused or label == "absolute", label
        assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/pypm-absolute-escape.txt").exists()
        assert not (destination / "pkg-1.0" / "evil").is_symlink()
    good = tmp_path / "good"
    good.mkdir()
    with tarfile.open(fileobj=_tar({"pkg-1.0/pkg/__init__.py": b"VALUE = 1\n"})) as archive:
        extract_tar_safely(archive, good, "good.tar.gz")
    assert (good / "pkg-1.0" / "pkg" / "__init__.py").read_bytes() == b"VALUE = 1\n"
