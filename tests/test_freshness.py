""""All up to date" only when true: what the lock's input hash and the sync stamp cover.

Each test changes one thing that changes the result (a member's scripts or entry points,
a dynamic version or dependencies, the link mode, the interpreter, the state of ``.venv``,
the lock file itself) and checks that the next run does the work instead of answering
"All up to date", and that the run after that is a no-op again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.test_installer import assert_matches
from tests.test_lock_sync import installed, site_packages
from tests.workspaces import EDITABLE_WHEEL_SOURCE, write

UP_TO_DATE = "All up to date"
EXPECTED = {"alpha": "2.0", "beta": "1.1", "gamma": "1.0", "devtool": "1.0", "lib": "0.1.0", "app": "0.2.0"}
if sys.version_info < (3, 11):
    EXPECTED["tomli"] = "2.0.1"


@pytest.fixture
def env(workspace_env: dict[str, str]) -> dict[str, str]:
    return workspace_env


@pytest.fixture
def synced(synced_workspace: Path) -> Path:
    return synced_workspace


def append(path: Path, text: str) -> None:
    path.write_text(path.read_text() + textwrap.dedent(text))


def venv_python(root: Path) -> Path:
    return root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


# -- the lock file itself -----------------------------------------------------------------

def _conflicted(text: str) -> str:
    line = 'version = "2.0"\n'
    assert line in text
    return text.replace(line, '<<<<<<< HEAD\nversion = "2.0"\n=======\nversion = "1.0"\n>>>>>>> other\n', 1)


def _truncated(text: str) -> str:
    """Cut before the last package: still valid TOML, one package short."""
    return text[: text.rindex("\n[[packages]]") + 1]


CORRUPTIONS = {
    "conflict-markers": _conflicted,
    "truncated": _truncated,
    "not-toml": lambda text: text[: len(text) // 2] + "\n= = =\n",
    "edited": lambda text: text.replace('version = "1.1"', 'version = "1.0"', 1),
    "no-content-hash": lambda text: "\n".join(line for line in text.splitlines() if "content-hash" not in line) + "\n",
}


@pytest.mark.parametrize("corruption", sorted(CORRUPTIONS))
def test_damaged_lock_is_stale_and_rewritten(synced: Path, env, run_pypm, corruption: str) -> None:
    from pypm.lock.reader import read_input_hash

    lock = synced / "pylock.toml"
    good = lock.read_text()
    damaged = CORRUPTIONS[corruption](good)
    assert damaged != good
    lock.write_text(damaged)
    result = run_pypm("lock", cwd=synced, env_extra=env)
    assert UP_TO_DATE not in result.stderr
    if corruption == "edited":  # re-resolved, preferring the versions it names: a lock pypm vouches for
        assert read_input_hash(lock) is not None and lock.read_text() != damaged
        run_pypm("sync", cwd=synced, env_extra=env)
    else:
        assert lock.read_text() == good
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=synced, env_extra=env).stderr


def test_lock_records_a_content_hash_that_survives_crlf(synced: Path) -> None:
    from pypm.lock.reader import read_input_hash

    lock = synced / "pylock.toml"
    recorded = read_input_hash(lock)
    assert recorded is not None and 'content-hash = "' in lock.read_text()
    lock.write_bytes(lock.read_bytes().replace(b"\n", b"\r\n"))  # a checkout with autocrlf
    assert read_input_hash(lock) == recorded


# -- members: scripts, entry points ---------------------------------------------------------

def test_console_script_added_to_a_member_is_installed(synced: Path, env, run_pypm) -> None:
    lock_before = (synced / "pylock.toml").read_bytes()
    write(synced / "packages/lib/src/lib/__init__.py", """
        from alpha import __version__ as ALPHA

        def hello():
            print("hello from lib")
    """)
    append(synced / "packages/lib/pyproject.toml", """
        [project.scripts]
        lib-hello = "lib:hello"
    """)
    result = run_pypm("lock", "sync", cwd=synced, env_extra=env)
    assert UP_TO_DATE not in result.stderr
    assert (synced / "pylock.toml").read_bytes() == lock_before, "scripts change the sync, not the lock"
    assert run_pypm("run", "lib-hello", cwd=synced, env_extra=env).stdout.strip() == "hello from lib"
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=synced, env_extra=env).stderr


def test_pypm_editable_registers_every_entry_point_group(synced: Path, env, run_pypm) -> None:
    write(synced / "packages/lib/src/lib/plugin.py", "")
    append(synced / "packages/lib/pyproject.toml", """
        [project.entry-points.pytest11]
        lib-plugin = "lib.plugin"
    """)
    run_pypm("sync", cwd=synced, env_extra=env)
    code = "from importlib.metadata import entry_points; print([e.value for e in entry_points(group='pytest11')])"
    out = run_pypm("run", "python", "-c", code, cwd=synced, env_extra=env).stdout
    assert out.strip() == "['lib.plugin']"


# -- the state of .venv ----------------------------------------------------------------------

def _remove_dist_info(site: Path) -> None:
    shutil.rmtree(next(site.glob("alpha-*.dist-info")))


def _remove_package_dir(site: Path) -> None:
    shutil.rmtree(site / "alpha")


def _remove_one_file(site: Path) -> None:
    (site / "alpha" / "__init__.py").unlink()


def _remove_record(site: Path) -> None:
    (next(site.glob("gamma-*.dist-info")) / "RECORD").unlink()


def _remove_script(site: Path) -> None:
    scripts = site.parents[2] / ("Scripts" if os.name == "nt" else "bin")
    next(scripts.glob("gamma-cli*")).unlink()


DAMAGE = {
    "dist-info": _remove_dist_info,
    "package-dir": _remove_package_dir,
    "one-file": _remove_one_file,
    "record": _remove_record,
    "script": _remove_script,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_damaged_venv_is_repaired_by_lock_sync(synced: Path, env, run_pypm, damage: str) -> None:
    venv = synced / ".venv"
    DAMAGE[damage](site_packages(venv)[0])
    result = run_pypm("lock", "sync", cwd=synced, env_extra=env)
    assert UP_TO_DATE not in result.stderr
    assert_matches(venv, EXPECTED)
    out = run_pypm("run", "python", "-c", "import alpha; print(alpha.__version__)", cwd=synced, env_extra=env)
    assert out.stdout.strip() == "2.0"
    assert run_pypm("run", "gamma-cli", cwd=synced, env_extra=env).stdout.strip() == "gamma says hi"
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=synced, env_extra=env).stderr


def test_bytecode_written_by_python_does_not_make_venv_stale(synced: Path, env, run_pypm) -> None:
    environ = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([str(venv_python(synced)), "-c", "import alpha, gamma, lib, app"], env=environ, check=True)
    assert list(site_packages(synced / ".venv")[0].glob("alpha/__pycache__/*.pyc")), "the test needs bytecode"
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=synced, env_extra=env).stderr


def test_link_mode_copy_after_hardlink_relinks(synced: Path, env, run_pypm) -> None:
    module = site_packages(synced / ".venv")[0] / "alpha" / "__init__.py"
    assert module.stat().st_nlink > 1, "hardlinked from the store"
    result = run_pypm("sync", "--link-mode", "copy", cwd=synced, env_extra=env)
    assert UP_TO_DATE not in result.stderr
    assert module.stat().st_nlink == 1, "a copy of its own"
    assert UP_TO_DATE in run_pypm("sync", "--link-mode", "copy", cwd=synced, env_extra=env).stderr
    run_pypm("sync", cwd=synced, env_extra=env)
    assert module.stat().st_nlink > 1
    assert_matches(synced / ".venv", EXPECTED)


def test_user_settings_file_is_an_input(synced: Path, env, run_pypm, tmp_path: Path) -> None:
    config = tmp_path / "user-config.toml"
    config.write_text('link-mode = "copy"\n')
    with_config = {**env, "PYPM_CONFIG_FILE": str(config)}
    assert UP_TO_DATE not in run_pypm("lock", "sync", cwd=synced, env_extra=with_config).stderr
    assert (site_packages(synced / ".venv")[0] / "alpha" / "__init__.py").stat().st_nlink == 1
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=synced, env_extra=with_config).stderr


# -- the interpreter -------------------------------------------------------------------------

def _other_python() -> Path:
    """An installed CPython (pyenv) of another minor version than ours, else ours."""
    ours = f"{sys.version_info.major}.{sys.version_info.minor}"
    for found in sorted(Path.home().glob(".pyenv/versions/3.1[0-9].*/bin/python3.1[0-9]"), reverse=True):
        version = found.name.removeprefix("python")
        if version != ours and found.parent.parent.name.startswith(version + "."):
            return found
    return Path(sys.base_prefix) / "bin" / f"python{ours}"


def _copy_python(python: Path, destination: Path) -> Path:
    """A private copy of a Python installation (hardlinks where possible; no tests, no
    site-packages), to be deleted later as if that Python was uninstalled."""
    home = python.parent.parent
    version = python.name.removeprefix("python")
    ignore = shutil.ignore_patterns("test", "site-packages", "idlelib", "tkinter", "turtledemo")

    def link_or_copy(source: str, target: str) -> None:
        try:
            os.link(source, target)
        except OSError:
            shutil.copy2(source, target)

    (destination / "bin").mkdir(parents=True)
    link_or_copy(str(python), str(destination / "bin" / python.name))
    shutil.copytree(home / "lib" / f"python{version}", destination / "lib" / f"python{version}",
                    ignore=ignore, copy_function=link_or_copy)
    for library in (home / "lib").glob("libpython*"):
        link_or_copy(str(library), str(destination / "lib" / library.name))
    return destination / "bin" / python.name


def _venv_version(root: Path) -> str:
    info = json.loads((root / ".venv" / ".pypm-interpreter.json").read_text())
    return ".".join(info["version"].split(".")[:2])


@pytest.mark.skipif(os.name == "nt", reason="copies a POSIX Python installation layout")
@pytest.mark.parametrize("command", ["sync", "run"])
def test_venv_whose_interpreter_was_uninstalled_is_recreated(
    synced: Path, env, run_pypm, tmp_path: Path, command: str
) -> None:
    python = _copy_python(_other_python(), tmp_path / "doomed-python")
    copied = python.name.removeprefix("python")
    run_pypm("sync", "--python", str(python), cwd=synced, env_extra=env)
    run_pypm("sync", cwd=synced, env_extra=env)  # a plain sync keeps the environment that --python made
    assert _venv_version(synced) == copied
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=synced, env_extra=env).stderr
    shutil.rmtree(tmp_path / "doomed-python")  # its base Python is gone: .venv/bin/python dangles
    code = "import sys, alpha; print(sys.prefix); print('%d.%d' % sys.version_info[:2])"
    if command == "sync":
        assert UP_TO_DATE not in run_pypm("sync", cwd=synced, env_extra=env).stderr
    out = run_pypm("run", "python", "-c", code, cwd=synced, env_extra=env).stdout.split()
    assert Path(out[0]).resolve() == (synced / ".venv").resolve()
    assert out[1] == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert_matches(synced / ".venv", EXPECTED)


def test_python_version_file_is_an_input(synced: Path, env, run_pypm) -> None:
    version = _other_python().name.removeprefix("python")
    (synced / ".python-version").write_text(f"{version}\n")
    assert UP_TO_DATE not in run_pypm("lock", "sync", cwd=synced, env_extra=env).stderr
    assert _venv_version(synced) == version
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=synced, env_extra=env).stderr


def test_stamp_reads_the_interpreter_description_venv_writes() -> None:
    from pypm.install.venv import INFO_FILE
    from pypm.operations.venv_state import INTERPRETER_INFO

    assert INTERPRETER_INFO == INFO_FILE


# -- dynamic metadata and editable builds through a backend ------------------------------------

BACKEND = '''
"""An in-tree PEP 517/660 backend for the tests: the version comes from
src/<name>/__init__.py when it is dynamic, the dependencies from deps.txt; a file FAIL
makes build_editable fail."""
import pathlib, re, tomllib

ROOT = pathlib.Path.cwd()


def _project():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    name = project["name"]
    version = project.get("version")
    if version is None:
        init = (ROOT / "src" / name / "__init__.py").read_text()
        version = re.search(r'__version__ = "([^"]+)"', init).group(1)
    deps = project.get("dependencies")
    if deps is None:
        deps = (ROOT / "deps.txt").read_text().split()
    return project, name, version, deps


def _dist_info():
    project, name, version, deps = _project()
    metadata = "".join(["Metadata-Version: 2.1\\n", f"Name: {name}\\n", f"Version: {version}\\n",
                        *(f"Requires-Dist: {d}\\n" for d in deps)])
    groups = {"console_scripts": project.get("scripts", {}), **project.get("entry-points", {})}
    points = "".join(f"[{g}]\\n" + "".join(f"{k} = {v}\\n" for k, v in t.items()) for g, t in groups.items() if t)
    files = {"METADATA": metadata, "WHEEL": "Wheel-Version: 1.0\\nGenerator: test-backend\\nRoot-Is-Purelib: true\\n"
             "Tag: py3-none-any\\n"}
    if points:
        files["entry_points.txt"] = points
    return name, version, files


def prepare_metadata_for_build_editable(metadata_directory, config_settings=None):
    name, version, files = _dist_info()
    info = pathlib.Path(metadata_directory) / f"{name}-{version}.dist-info"
    info.mkdir()
    for file, text in files.items():
        (info / file).write_text(text)
    return info.name


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    if (ROOT / "FAIL").exists():
        raise RuntimeError("this backend was told to fail")
    name, version, files = _dist_info()
    return _editable_wheel(wheel_directory, name, version, files, ROOT / "src")
''' + EDITABLE_WHEEL_SOURCE


def backend_project(root: Path, version: str | None = "1.0", dependencies: list[str] | None = None) -> Path:
    """A project built by the in-tree backend above (``None``: that field is dynamic)."""
    dynamic = [field for field, value in (("version", version), ("dependencies", dependencies)) if value is None]
    lines = ["[project]", 'name = "dyn"', 'requires-python = ">=3.10"', f"dynamic = {json.dumps(dynamic)}"]
    if version is not None:
        lines.append(f'version = "{version}"')
    if dependencies is not None:
        lines.append(f"dependencies = {json.dumps(dependencies)}")
    lines += ["", "[build-system]", "requires = []", 'build-backend = "dyn_backend"', 'backend-path = ["."]']
    write(root / "pyproject.toml", "\n".join(lines) + "\n")
    write(root / "dyn_backend.py", BACKEND)
    write(root / "src/dyn/__init__.py", '__version__ = "1.0"\n')
    return root


def installed_version(root: Path, run_pypm, env) -> str:
    code = "import importlib.metadata as m; print(m.version('dyn'))"
    return run_pypm("run", "python", "-c", code, cwd=root, env_extra=env).stdout.strip()


def test_dynamic_version_bump_is_picked_up(tmp_path: Path, env, run_pypm, pypm_env) -> None:
    root = backend_project(tmp_path / "dyn", version=None, dependencies=[])
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert installed(root / ".venv") == {"dyn": "1.0"}
    lock_before = (root / "pylock.toml").read_bytes()
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr
    _assert_no_heavy_module_on_the_no_op_path(root, {**pypm_env, **env})
    write(root / "src/dyn/__init__.py", '__version__ = "1.1"\n')
    result = run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert UP_TO_DATE not in result.stderr
    assert installed(root / ".venv") == {"dyn": "1.1"}
    assert installed_version(root, run_pypm, env) == "1.1"
    assert (root / "pylock.toml").read_bytes() == lock_before, "the lock leaves a dynamic version out"
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr


def test_dynamic_dependencies_are_relocked(tmp_path: Path, env, run_pypm) -> None:
    root = backend_project(tmp_path / "dyn", dependencies=None)
    write(root / "deps.txt", "alpha\n")
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert installed(root / ".venv") == {"dyn": "1.0", "alpha": "2.0", "beta": "1.1"}
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr
    write(root / "deps.txt", "delta\n")
    result = run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert UP_TO_DATE not in result.stderr
    assert installed(root / ".venv") == {"dyn": "1.0", "delta": "1.0"}
    assert UP_TO_DATE in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr


def test_failed_editable_build_keeps_the_previous_install(tmp_path: Path, env, run_pypm) -> None:
    root = backend_project(tmp_path / "dyn", dependencies=[])
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    check = [str(venv_python(root)), "-c", "import dyn; print(dyn.__version__)"]
    assert subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip() == "1.0"
    append(root / "pyproject.toml", '\n[project.scripts]\ndyn-hello = "dyn:hello"\n')
    write(root / "FAIL", "")
    result = run_pypm("sync", cwd=root, env_extra=env, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines()[-1].startswith("error: ") and "told to fail" in result.stderr
    assert "Traceback" not in result.stderr
    assert subprocess.run(check, capture_output=True, text=True, check=True).stdout.strip() == "1.0"
    assert installed(root / ".venv") == {"dyn": "1.0"}
    (root / "FAIL").unlink()
    write(root / "src/dyn/__init__.py", '__version__ = "1.0"\n\ndef hello():\n    print("dyn says hi")\n')
    run_pypm("sync", cwd=root, env_extra=env)
    assert run_pypm("run", "dyn-hello", cwd=root, env_extra=env).stdout.strip() == "dyn says hi"


def _assert_no_heavy_module_on_the_no_op_path(root: Path, environ: dict[str, str]) -> None:
    code = (
        "import sys; from pypm.cli.main import main; code = main(['lock', 'sync']); "
        "heavy = {m.split('.')[0] for m in sys.modules} & {'doit', 'httpx', 'resolvelib', 'rich', 'packaging'}; "
        "print(code, sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=environ, capture_output=True, text=True)
    assert out.stdout.strip() == "0 []", out.stderr
    assert UP_TO_DATE in out.stderr


def test_a_dynamic_version_another_member_constrains_is_a_lock_input(tmp_path: Path, env, run_pypm) -> None:
    """``app`` requires ``dyn>=1.0`` and dyn's version is dynamic: when its backend now says
    0.5, the lock no longer holds, so ``pypm lock`` is not "up to date" but fails naming
    both (a dynamic version nobody constrains still leaves the lock alone, test above)."""
    root = tmp_path / "ws"
    write(root / "pyproject.toml", '[tool.pypm.workspace]\nmembers = ["packages/*"]\n')
    backend_project(root / "packages/dyn", version=None, dependencies=[])
    write(root / "packages/app/pyproject.toml",
          '[project]\nname = "app"\nversion = "1"\nrequires-python = ">=3.10"\ndependencies = ["dyn>=1.0"]\n')
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert UP_TO_DATE in run_pypm("lock", cwd=root, env_extra=env).stderr
    write(root / "packages/dyn/src/dyn/__init__.py", '__version__ = "0.5"\n')
    failed = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 1 and "dyn>=1.0" in failed.stderr and "0.5" in failed.stderr, failed.stderr
    write(root / "packages/dyn/src/dyn/__init__.py", '__version__ = "1.2"\n')
    assert UP_TO_DATE not in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr
    assert installed(root / ".venv")["dyn"] == "1.2"
