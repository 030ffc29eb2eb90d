"""``pypm init``: write a new PEP 621 project."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from pypm.errors import PypmError
from pypm.fsutil import atomic_write_text

GITIGNORE_LINES = (".venv/", ".pypm/")


def project_name(directory: Path) -> str:
    """A valid project name derived from the folder name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", directory.resolve().name).strip("-._")
    if not name:
        raise PypmError(f"cannot derive a project name from {directory}", hint="pass --name NAME")
    return name


def init_project(directory: Path, name: str | None = None, python: str | None = None) -> Path:
    """Create ``pyproject.toml``, a package and ``.gitignore`` in ``directory``."""
    import tomli_w

    pyproject = directory / "pyproject.toml"
    if pyproject.exists():
        raise PypmError(f"{pyproject} already exists", hint="pypm init only creates new projects")
    name = name or project_name(directory)
    python = python or f"{sys.version_info.major}.{sys.version_info.minor}"
    module = re.sub(r"[-.]+", "_", name).lower()
    document = {
        "project": {
            "name": name, "version": "0.1.0", "description": "",
            "requires-python": f">={python}", "dependencies": [],
        },
        "dependency-groups": {"dev": []},
        "build-system": {"requires": ["flit_core>=3.9,<5"], "build-backend": "flit_core.buildapi"},
        "tool": {"pypm": {}},
    }
    directory.mkdir(parents=True, exist_ok=True)
    package = directory / "src" / module / "__init__.py"
    if not package.exists():
        package.parent.mkdir(parents=True, exist_ok=True)
        package.write_text(f'"""{name}."""\n\n__version__ = "0.1.0"\n')
    _update_gitignore(directory / ".gitignore")
    atomic_write_text(pyproject, tomli_w.dumps(document))
    return pyproject


def _update_gitignore(path: Path) -> None:
    lines = path.read_text().splitlines() if path.exists() else []
    missing = [line for line in GITIGNORE_LINES if line not in lines]
    if missing:
        atomic_write_text(path, "\n".join([*lines, *missing]) + "\n")
