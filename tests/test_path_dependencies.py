"""Path dependencies that are not editable (``pypm add ./lib``, ``{ path = "..." }``):
built into a wheel by their backend, installed from it, and rebuilt exactly when a file
of their tree changes. Real local index (with flit_core), real builds, real venvs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tomllib

from pypm.testing import DistSpec
from pypm.testing.builders import wheel_from_installed

LIB_PYPROJECT = (
    '[project]\nname = "lib"\nversion = "0.3"\ndescription = "a path dependency"\ndependencies = ["alpha"]\n\n'
    '[build-system]\nrequires = ["flit_core>=3.9,<5"]\nbuild-backend = "flit_core.buildapi"\n'
)
PROJECT = '[project]\nname = "proj"\nversion = "1.0"\nrequires-python = ">=3.11"\ndependencies = []\n'
SHOW = "import lib, pathlib; print(lib.VALUE, pathlib.Path(lib.__file__).resolve().parent.parent.name)"


@pytest.fixture
def setup(tmp_path: Path, make_index) -> tuple[Path, Path, dict[str, str]]:
    index = make_index([DistSpec("alpha", "1.0")])
    index.add(wheel_from_installed("flit_core", tmp_path))
    lib = tmp_path / "lib"
    (lib / "lib").mkdir(parents=True)
    (lib / "pyproject.toml").write_text(LIB_PYPROJECT)
    (lib / "lib" / "__init__.py").write_text('"""The lib."""\nVALUE = 1\n')
    root = tmp_path / "proj"
    root.mkdir()
    (root / "pyproject.toml").write_text(PROJECT)
    return root, lib, {"PYPM_INDEX_URL": index.url}


def lock_entry(root: Path, name: str) -> dict:
    return next(p for p in tomllib.loads((root / "pylock.toml").read_text())["packages"] if p["name"] == name)


def dist_info(root: Path, name: str) -> Path:
    return next((root / ".venv").glob(f"lib/python3*/site-packages/{name}-*.dist-info"))


def test_add_path_builds_a_wheel_and_rebuilds_it_when_the_tree_changes(setup, run_pypm) -> None:
    root, lib, env = setup
    run_pypm("add", "../lib", cwd=root, env_extra=env)
    data = tomllib.loads((root / "pyproject.toml").read_text())
    assert data["tool"]["pypm"]["sources"] == {"lib": {"path": "../lib"}}, "uv's form: no editable key"
    assert lock_entry(root, "lib")["directory"] == {"path": "../lib", "editable": False}
    shown = run_pypm("run", "python", "-c", SHOW, cwd=root, env_extra=env)
    assert shown.stdout.split() == ["1", "site-packages"], "installed from its wheel, not from ../lib"
    direct_url = json.loads((dist_info(root, "lib") / "direct_url.json").read_text())
    assert direct_url == {"url": lib.resolve().as_uri(), "dir_info": {}}
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr

    lock_before = (root / "pylock.toml").read_bytes()
    (lib / "lib" / "__init__.py").write_text('"""The lib."""\nVALUE = 2\n')
    dry = run_pypm("lock", "sync", "--dry-run", cwd=root, env_extra=env)
    assert dry.stdout.splitlines()[:1] == ["lock: up to date"] and "sync: would run" in dry.stdout
    rebuilt = run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert "Building lib" in rebuilt.stderr and "1 installed" in rebuilt.stderr
    assert (root / "pylock.toml").read_bytes() == lock_before, "a source edit is no new lock"
    assert run_pypm("run", "python", "-c", SHOW, cwd=root, env_extra=env).stdout.split()[0] == "2"
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr

    (lib / "lib" / "data.txt").write_text("a new file is part of the tree\n")
    assert "1 installed" in run_pypm("sync", cwd=root, env_extra=env).stderr
    (lib / "dist").mkdir()
    (lib / "dist" / "lib-0.3.tar.gz").write_bytes(b"build output at the top is not a source")
    (lib / "lib" / "__pycache__").mkdir(exist_ok=True)
    (lib / "lib" / "__pycache__" / "x.pyc").write_bytes(b"byte-code is not a source")
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr


def test_switching_a_path_dependency_between_editable_and_built(setup, run_pypm) -> None:
    root, lib, env = setup
    run_pypm("add", "-e", "../lib", cwd=root, env_extra=env)
    assert lock_entry(root, "lib")["directory"]["editable"] is True
    assert [p for p in (root / ".venv").glob("lib/python3*/site-packages/*.pth") if str(lib) in p.read_text()]
    assert run_pypm("run", "python", "-c", SHOW, cwd=root, env_extra=env).stdout.split() == ["1", "lib"]
    run_pypm("add", "../lib", cwd=root, env_extra=env)
    assert tomllib.loads((root / "pyproject.toml").read_text())["tool"]["pypm"]["sources"]["lib"] == {
        "path": "../lib"}
    assert lock_entry(root, "lib")["directory"]["editable"] is False, "the flag is an input of the lock"
    assert run_pypm("run", "python", "-c", SHOW, cwd=root, env_extra=env).stdout.split() == ["1", "site-packages"]
    pth = [p for p in (root / ".venv").glob("lib/python3*/site-packages/*.pth") if str(lib) in p.read_text()]
    assert not pth, "the editable install is gone"


def test_a_failing_build_leaves_the_installed_path_dependency(setup, run_pypm) -> None:
    root, lib, env = setup
    run_pypm("add", "../lib", cwd=root, env_extra=env)
    (lib / "lib").rename(lib / "moved")  # flit finds no module lib: the build fails
    failed = run_pypm("sync", cwd=root, env_extra=env, check=False)
    errors = [line for line in failed.stderr.splitlines() if line.startswith("error:")]
    assert failed.returncode == 1 and len(errors) == 1, failed.stderr
    assert errors[0].startswith("error: lib 0.3: build failed: ValueError: No file/folder found for module lib")
    log = errors[0].split("see the build log at ")[1].rstrip(")")
    assert "No file/folder found for module lib" in Path(log).read_text()
    assert "Traceback" not in failed.stderr
    assert run_pypm("run", "--no-sync", "python", "-c", SHOW, cwd=root, env_extra=env).stdout.split()[0] == "1"


@pytest.mark.parametrize(("sources", "fragment"), [
    ('lib = { path = "../lib", editable = "yes" }', "editable must be true or false"),
    ('lib = { path = "../lib", index = "x" }', "must be { path = "),
])
def test_bad_path_sources_are_one_line_errors(setup, run_pypm, sources, fragment) -> None:
    root, _lib, env = setup
    (root / "pyproject.toml").write_text(PROJECT.replace("[]", '["lib"]') + f"\n[tool.pypm.sources]\n{sources}\n")
    failed = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert failed.returncode != 0 and fragment in failed.stderr and "Traceback" not in failed.stderr


def test_one_directory_is_installed_one_way(setup, run_pypm) -> None:
    """Two members naming the same directory must agree on editable."""
    root, _lib, env = setup
    (root / "pypm-workspace.toml").write_text('[workspace]\nmembers = ["a", "b"]\n')
    (root / "pyproject.toml").unlink()
    for name, source in (("a", '{ path = "../../lib", editable = true }'), ("b", '{ path = "../../lib" }')):
        (root / name).mkdir()
        (root / name / "pyproject.toml").write_text(
            f'[project]\nname = "{name}"\nversion = "1"\ndependencies = ["lib"]\n\n'
            f'[tool.pypm.sources]\nlib = {source}\n')
    failed = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert failed.returncode != 0 and "give every source of that directory the same editable value" in failed.stderr


def test_a_script_or_an_environment_takes_no_path(setup, run_pypm, tmp_path) -> None:
    root, _lib, env = setup
    script = root / "s.py"
    script.write_text("# /// script\n# dependencies = []\n# ///\nprint(1)\n")
    refused = run_pypm("add", "--script", str(script), "../lib", cwd=root, env_extra=env, check=False)
    assert refused.returncode == 2 and "a script holds requirements only" in refused.stderr
    envs = {**env, "PYPM_ENVS_DIR": str(tmp_path / "envs")}
    refused = run_pypm("add", "--env", "x", "../lib", cwd=root, env_extra=envs, check=False)
    assert refused.returncode == 2 and "an environment holds requirements only" in refused.stderr
