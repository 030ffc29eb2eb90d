"""Against the public index (skipped unless --run-network or PYPM_TEST_NETWORK=1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.test_interop_uv import copy_example

pytestmark = pytest.mark.network


def test_workspace_example_against_public_index(tmp_path: Path, run_pypm) -> None:
    project = copy_example(tmp_path / "example")
    run_pypm("lock", "sync", cwd=project)
    lock = (project / "pylock.toml").read_text()
    assert 'name = "attrs"' in lock and 'name = "pytest"' in lock
    out = run_pypm("run", "pytest", "-q", cwd=project)
    assert "5 passed" in out.stdout
    again = run_pypm("lock", "sync", cwd=project)
    assert "All up to date" in again.stderr
