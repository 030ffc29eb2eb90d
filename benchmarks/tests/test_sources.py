"""Finding bench projects: --projects-dir first, then benchmarks/projects/ of this repository."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks import PROJECTS_DIR
from benchmarks.cli import main, parse_args
from benchmarks.sources import find_project, find_projects, search_dirs

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]


def _project(base: Path, name: str) -> Path:
    (base / name).mkdir(parents=True)
    (base / name / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n')
    return base / name


def test_projects_dir_is_searched_first_then_the_repository(tmp_path: Path) -> None:
    shared, repo = tmp_path / "shared", tmp_path / "repo"
    _project(shared, "r2")
    _project(shared, "both")
    _project(repo, "both")
    _project(repo, "r150")
    (shared / "empty").mkdir()  # a directory without pyproject.toml is no project
    found, missing = find_projects(["r2", "r150", "both", "empty", "nope"], shared, repo)
    assert found == {"r2": shared / "r2", "r150": repo / "r150", "both": shared / "both"}
    assert missing == ["empty", "nope"]
    assert search_dirs(shared, repo) == [shared, repo] and search_dirs(repo, repo) == [repo]


def test_names_cannot_leave_the_directories(tmp_path: Path) -> None:
    _project(tmp_path / "shared", "r1")
    assert find_project("../shared/r1", tmp_path / "shared", tmp_path / "repo") is None
    assert find_project("", tmp_path / "shared", tmp_path / "repo") is None


def test_r150_ships_with_the_harness(tmp_path: Path) -> None:
    assert find_project("r150", tmp_path) == PROJECTS_DIR / "r150"
    data = tomllib.loads((PROJECTS_DIR / "r150" / "pyproject.toml").read_text())
    assert data["project"]["requires-python"] == ">=3.10"
    assert len(data["project"]["dependencies"]) + len(data["dependency-groups"]["dev"]) >= 25


def test_an_unknown_project_is_a_one_line_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--projects", "r150,nope", "--projects-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: no such project: nope (")
    assert str(tmp_path) in err[0] and str(PROJECTS_DIR) in err[0]


def test_the_new_project_step_is_a_choice() -> None:
    assert parse_args(["--steps", "warm-sync,warm-sync-new-project"]).steps == ["warm-sync", "warm-sync-new-project"]
