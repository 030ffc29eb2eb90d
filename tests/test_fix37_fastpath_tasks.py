"""The fast path validates the workspace's tasks as the full command line does
(pypm/graph/fastpath.py): a task that is no command is an error, not "All up to date"."""

from __future__ import annotations

from pathlib import Path

from pypm.graph.noop_verdict import STATE_DIR, VERDICT_FILE
from pypm.testing import DistSpec
from tests.workspaces import write_project


def test_invalid_task_added_after_the_lock_fails_the_no_op(tmp_path: Path, make_index, run_pypm) -> None:
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}
    root = write_project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra=env)
    with (root / "pyproject.toml").open("a") as file:
        file.write("\n[tool.pypm.tasks]\nbad = 42\n")
    for _ in range(2):  # the full check, then what it would have recorded
        result = run_pypm("lock", cwd=root, env_extra=env, check=False)
        assert result.returncode == 1, result.stderr
        assert "task 'bad' must be a command" in result.stderr and "All up to date" not in result.stderr
    assert not (root / STATE_DIR / VERDICT_FILE).exists()
