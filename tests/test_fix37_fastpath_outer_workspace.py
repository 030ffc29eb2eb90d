"""A lone project below a workspace that does not take it: the no-op verdict observes that
workspace's globs (pypm/graph/noop_verdict.py), so a symlink that makes the project a
member is seen as the root search sees it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.workspaces import write, write_project

UP_TO_DATE = "All up to date"


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")
@pytest.mark.parametrize("config", ["pypm-workspace.toml", "pyproject.toml"])
def test_link_that_makes_a_lone_project_a_member_is_seen(tmp_path: Path, make_index, run_pypm, config: str) -> None:
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")]).url}
    workspace = tmp_path / "W"
    table = "[workspace]" if config == "pypm-workspace.toml" else "[tool.pypm.workspace]"
    write(workspace / config, f'{table}\nmembers = ["libs/*"]\n')
    write_project(workspace / "libs/x", ["beta"], name="x")
    project = write_project(workspace / "apps/p", ["alpha"], name="p")
    run_pypm("lock", cwd=project, env_extra=env)  # p stands alone: libs/* does not match it
    assert (project / "pylock.toml").is_file() and not (workspace / "pylock.toml").exists()
    assert UP_TO_DATE in run_pypm("lock", cwd=project, env_extra=env).stderr  # the full check records
    assert UP_TO_DATE in run_pypm("lock", cwd=project, env_extra=env).stderr  # the verdict
    (workspace / "libs/p").symlink_to("../apps/p")  # now libs/* matches p: a member of W
    assert UP_TO_DATE not in run_pypm("lock", cwd=project, env_extra=env).stderr
    assert 'name = "beta"' in (workspace / "pylock.toml").read_text()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")
def test_link_on_the_way_to_an_outer_match_pointed_at_the_project_is_seen(
        tmp_path: Path, make_index, run_pypm) -> None:
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")]).url}
    workspace = tmp_path / "W"
    write(workspace / "pypm-workspace.toml", '[workspace]\nmembers = ["libs/*"]\n')
    write_project(workspace / "vendor/v1", ["beta"], name="v")
    project = write_project(workspace / "apps/p", ["alpha"], name="p")
    (workspace / "vendor/current").symlink_to("v1")
    (workspace / "libs").mkdir()
    (workspace / "libs/v").symlink_to("../vendor/current")  # libs/* matches it: vendor/v1
    run_pypm("lock", cwd=project, env_extra=env)
    assert UP_TO_DATE in run_pypm("lock", cwd=project, env_extra=env).stderr  # the full check records
    (workspace / "vendor/current").unlink()
    (workspace / "vendor/current").symlink_to("../apps/p")  # libs/v leads to p now: a member of W
    assert UP_TO_DATE not in run_pypm("lock", cwd=project, env_extra=env).stderr
    assert (workspace / "pylock.toml").is_file()
