"""A ``python`` setting that is a command name or a path: the sync stamp (and the no-op
verdict) follow the interpreter it leads to now, as the sync's ``project_venv`` does
(pypm/operations/stamp.py, pypm/graph/noop_verdict.py): another ``python3`` first on PATH,
or a relative path read from another directory, makes ``.venv`` stale."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.workspaces import write_project

UP_TO_DATE = "All up to date"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")


def _python_link(path: Path) -> Path:
    """A link at ``path`` to the interpreter pypm runs on (a new .venv is made in process)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(os.path.realpath(getattr(sys, "_base_executable", sys.executable)))
    return path


def _venv_base(root: Path) -> str:
    return json.loads((root / ".venv/.pypm-interpreter.json").read_text())["base"]


@pytest.fixture
def index_env(make_index) -> dict[str, str]:
    return {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}


def test_another_command_first_on_path_makes_venv_stale(tmp_path: Path, index_env, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha"], tool='python = "python3"')
    first, second = tmp_path / "first/bin", tmp_path / "second/bin"
    _python_link(first / "python3")
    second.mkdir(parents=True)
    env = {**index_env, "PATH": os.pathsep.join([str(second), str(first), os.environ.get("PATH", "")])}
    run_pypm("sync", cwd=root, env_extra=env)
    assert _venv_base(root) == str(first / "python3")
    assert UP_TO_DATE in run_pypm("sync", cwd=root, env_extra=env).stderr  # the full check: verdict recorded
    assert UP_TO_DATE in run_pypm("sync", cwd=root, env_extra=env).stderr  # the verdict
    _python_link(second / "python3")  # PATH unchanged: another python3 before the first
    assert UP_TO_DATE not in run_pypm("sync", cwd=root, env_extra=env).stderr
    assert _venv_base(root) == str(second / "python3")
    assert UP_TO_DATE in run_pypm("sync", cwd=root, env_extra=env).stderr
    (root / ".pypm/noop-verdict.marshal").unlink()  # the full check, without the verdict
    moved = {**env, "PATH": os.pathsep.join([str(first), os.environ.get("PATH", "")])}
    assert UP_TO_DATE not in run_pypm("sync", cwd=root, env_extra=moved).stderr
    assert _venv_base(root) == str(first / "python3")


def test_relative_path_from_another_directory_makes_venv_stale(tmp_path: Path, index_env, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    _python_link(root / "bin/py")
    _python_link(root / "sub/bin/py")
    env = {**index_env, "PYPM_PYTHON": "./bin/py"}
    run_pypm("sync", cwd=root, env_extra=env)
    assert _venv_base(root) == str(root / "bin/py")
    assert UP_TO_DATE in run_pypm("sync", cwd=root, env_extra=env).stderr
    assert UP_TO_DATE not in run_pypm("sync", cwd=root / "sub", env_extra=env).stderr
    assert _venv_base(root) == str(root / "sub/bin/py")
