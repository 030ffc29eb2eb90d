"""Test configuration: pypm's own pytest plugin serves local indexes and runs the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.workspaces import INDEX_SPECS, make_workspace

pytest_plugins = ["pypm.testing.plugin"]


@pytest.fixture
def workspace_env(make_index) -> dict[str, str]:
    """``PYPM_INDEX_URL`` of an index serving tests/workspaces.py's packages (and ``delta``)."""
    return {"PYPM_INDEX_URL": make_index([*INDEX_SPECS, DistSpec("delta", "1.0")]).url}


@pytest.fixture
def synced_workspace(tmp_path: Path, workspace_env: dict[str, str], run_pypm) -> Path:
    """The two-member workspace of tests/workspaces.py, locked and synced, and a no-op."""
    root = make_workspace(tmp_path / "ws")
    run_pypm("lock", "sync", cwd=root, env_extra=workspace_env)
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=workspace_env).stderr
    return root
