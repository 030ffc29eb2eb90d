"""Where a benchmark project named on the command line lives.

A name is looked up in ``--projects-dir`` (the shared, read-only ``../shared/bench-projects``
with r1..r3) first, then in ``benchmarks/projects/`` of this repository (r150); a project
is a directory holding a ``pyproject.toml``.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import PROJECTS_DIR

__all__ = ["search_dirs", "find_project", "find_projects"]


def search_dirs(projects_dir: Path, repo_dir: Path = PROJECTS_DIR) -> list[Path]:
    """The directories searched for projects, in order (``projects_dir`` first, no duplicates)."""
    dirs = [projects_dir]
    if repo_dir.resolve() != projects_dir.resolve():
        dirs.append(repo_dir)
    return dirs


def find_project(name: str, projects_dir: Path, repo_dir: Path = PROJECTS_DIR) -> Path | None:
    """The directory of project ``name`` (the first one of :func:`search_dirs` that has it), or None."""
    if not name or "/" in name or name.startswith("."):
        return None
    for base in search_dirs(projects_dir, repo_dir):
        if (base / name / "pyproject.toml").is_file():
            return base / name
    return None


def find_projects(
    names: list[str], projects_dir: Path, repo_dir: Path = PROJECTS_DIR
) -> tuple[dict[str, Path], list[str]]:
    """({name: directory} for the projects found, [names not found]), in the order given."""
    found: dict[str, Path] = {}
    missing: list[str] = []
    for name in names:
        path = find_project(name, projects_dir, repo_dir)
        if path is None:
            missing.append(name)
        else:
            found[name] = path
    return found, missing
