"""``pypm env remove`` moves the environment aside before deleting it: a delete that fails
part-way never leaves a half-deleted environment under its name. Real files, real venvs;
the failure is a file root cannot delete either (``chattr +i``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.test_cache_hardening import make_undeletable


@pytest.fixture
def env(tmp_path: Path, make_index) -> dict[str, str]:
    index = make_index([DistSpec("alpha", "1.0")])
    return {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(tmp_path / "cache"),
            "PYPM_ENVS_DIR": str(tmp_path / "envs")}


def test_a_remove_that_fails_part_way_leaves_no_half_environment(tmp_path, env, run_pypm) -> None:
    envs = tmp_path / "envs"
    run_pypm("env", "create", "gone", "alpha", cwd=tmp_path, env_extra=env)
    stuck = envs / "gone" / ".venv" / "pyvenv.cfg"
    undo = make_undeletable(stuck)
    try:
        result = run_pypm("env", "remove", "gone", cwd=tmp_path, env_extra=env, check=False)
        assert result.returncode == 0, result.stderr
        assert "could not be deleted" in result.stderr and "pyvenv.cfg" in result.stderr, result.stderr
        assert not (envs / "gone").exists(), "nothing is left under its name"
        assert run_pypm("env", "list", cwd=tmp_path, env_extra=env).stdout == ""
        (left,) = envs.glob(".pypm-removing-*/gone/.venv/pyvenv.cfg")
        run_pypm("env", "create", "gone", "alpha", cwd=tmp_path, env_extra=env)
        undo(left)
        stuck = None
        run_pypm("env", "remove", "gone", cwd=tmp_path, env_extra=env)
        assert sorted(path.name for path in envs.iterdir()) == [], "the next remove deletes the leftover too"
    finally:
        if stuck is not None:
            for found in envs.rglob("pyvenv.cfg"):
                undo(found)
