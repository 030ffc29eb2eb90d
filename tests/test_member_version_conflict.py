"""A member requiring a version of a sibling member that it does not have: one clear line
(not ``internal error: InconsistentCandidate``), and backtracking still works around it."""

from __future__ import annotations

from pathlib import Path

import tomllib

from pypm.testing import DistSpec
from tests.workspaces import write


def workspace(root: Path, app_dependencies: str) -> Path:
    write(root / "pyproject.toml", """
        [tool.pypm.workspace]
        members = ["packages/*"]
    """)
    write(root / "packages/app/pyproject.toml", f"""
        [project]
        name = "app"
        version = "0.1"
        requires-python = ">=3.11"
        dependencies = [{app_dependencies}]
    """)
    write(root / "packages/lib/pyproject.toml", """
        [project]
        name = "lib"
        version = "1.0"
        requires-python = ">=3.11"
    """)
    return root


def test_member_requiring_a_missing_sibling_version_is_one_line(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("unused", "1.0")])
    root = workspace(tmp_path / "ws", '"lib>=2"')
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "error: app 0.1 requires lib>=2, but the workspace member lib is 1.0 "
        "(change the requirement or the version in lib's pyproject.toml)"
    ]
    assert not (root / "pylock.toml").exists()


def test_a_package_needing_another_member_version_is_backtracked_over(tmp_path, make_index, run_pypm) -> None:
    """foo 2.0 needs lib>=2, which the workspace does not have: foo 1.0 is chosen instead."""
    index = make_index([DistSpec("foo", "1.0"), DistSpec("foo", "2.0", requires=["lib>=2"])])
    root = workspace(tmp_path / "ws", '"foo", "lib"')
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    versions = {p["name"]: p.get("version") for p in tomllib.loads((root / "pylock.toml").read_text())["packages"]}
    assert versions["foo"] == "1.0"
    assert "lib" in versions and versions["lib"] is None, "a member's entry has no version (PEP 751: a source tree)"
