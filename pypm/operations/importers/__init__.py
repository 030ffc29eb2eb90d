"""``pypm import FILE``: read another tool's project description (a requirements file, a
Poetry, Pipenv, PDM or uv project) as an :class:`~pypm.operations.importers.common.Imported`.

Which reader runs is decided by the file: its name (``Pipfile``, ``poetry.lock``, ...), its
suffix (``.txt``/``.in``: a requirements file) or, for a ``pyproject.toml``, its tool tables
and the lock file beside it. :mod:`pypm.operations.importers.apply` writes the result.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pypm.errors import UsageError
from pypm.operations.importers.common import ImportContext, Imported, ImportRefused, read_toml

#: What ``pypm import`` reads, for the refusal of anything else.
KINDS = ("requirements files (*.txt, *.in)", "Poetry projects (pyproject.toml with [tool.poetry], poetry.lock)",
         "Pipfile / Pipfile.lock", "PDM projects (pyproject.toml with [tool.pdm], pdm.lock)",
         "uv projects (uv.lock beside a pyproject.toml)")
_LOCK_NAMES = {"poetry.lock": "poetry", "pdm.lock": "pdm", "uv.lock": "uv", "Pipfile": "pipenv",
               "Pipfile.lock": "pipenv"}


def detect_kind(path: Path) -> str:
    """``requirements``, ``poetry``, ``pipenv``, ``pdm`` or ``uv`` for ``path``; anything
    else is refused in one line (exit 2) naming what can be imported."""
    if not path.exists():
        raise UsageError(f"{path}: file not found", hint="give the requirements file or project file to import")
    if path.is_dir():
        raise UsageError(f"{path} is a directory", hint="give the file to import, e.g. requirements.txt or "
                                                        "pyproject.toml")
    if path.name in _LOCK_NAMES:
        return _LOCK_NAMES[path.name]
    if path.suffix in (".txt", ".in"):
        return "requirements"
    if path.suffix == ".toml":
        tool = read_toml(path).get("tool", {})
        tool = tool if isinstance(tool, dict) else {}
        if "poetry" in tool:
            return "poetry"
        if "pdm" in tool or (path.parent / "pdm.lock").is_file():
            return "pdm"
        if "uv" in tool or (path.parent / "uv.lock").is_file():
            return "uv"
    hint = ("a pyproject.toml with only [project] needs no import: pypm reads it as it is" if path.suffix == ".toml"
            else "a requirements file must be named *.txt or *.in")
    raise ImportRefused(f"cannot import {path.name}: pypm imports {', '.join(KINDS)}", hint=hint)


def read_import(path: Path, context: ImportContext) -> Imported:
    """Read ``path`` with the reader for its kind."""
    kind = detect_kind(path)
    return _readers()[kind](_project_file(path, kind), context)


def _project_file(path: Path, kind: str) -> Path:
    """The file the reader starts from: the pyproject beside a ``poetry.lock``, ``pdm.lock``
    or ``uv.lock``."""
    if kind in ("poetry", "pdm", "uv") and path.name.endswith(".lock"):
        pyproject = path.parent / "pyproject.toml"
        if not pyproject.is_file():
            raise ImportRefused(f"{path} has no pyproject.toml beside it",
                                hint=f"pypm imports a {kind} project from its pyproject.toml with the lock beside it;"
                                     " put the lock back beside the pyproject it was made from")
        return pyproject
    return path


def _readers() -> dict[str, Callable[[Path, ImportContext], Imported]]:
    from pypm.operations.importers.pdm import read_pdm
    from pypm.operations.importers.pipenv import read_pipenv
    from pypm.operations.importers.poetry import read_poetry
    from pypm.operations.importers.requirements import read_requirements
    from pypm.operations.importers.uv import read_uv

    return {"requirements": read_requirements, "poetry": read_poetry, "pipenv": read_pipenv, "pdm": read_pdm,
            "uv": read_uv}


__all__ = ["KINDS", "ImportContext", "ImportRefused", "Imported", "detect_kind", "read_import"]
