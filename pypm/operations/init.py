"""``pypm init``: write a new PEP 621 project that builds as it is.

The project name is normalised (PEP 503, as ``uv init`` does: ``My Cool Project`` becomes
``my-cool-project``); the import package is that name as an identifier
(``my_cool_project``) under ``src/``, and the flit_core configuration names it, so the
backend builds exactly the layout that was written.
"""

from __future__ import annotations

import keyword
import re
import sys
from pathlib import Path

from pypm.errors import FileSystemError, PypmError, UsageError
from pypm.fsutil import atomic_write_bytes, atomic_write_text

GITIGNORE_LINES = (".venv/", ".pypm/")
BUILD_SYSTEM = {"requires": ["flit_core>=3.9,<5"], "build-backend": "flit_core.buildapi"}
_VALID_NAME = re.compile(r"^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$", re.IGNORECASE)  # PEP 508
_PYTHON = re.compile(r"^(\d+)(\.\d+){0,2}$")


def normalized_name(name: str) -> str:
    """PEP 503 normalisation: runs of ``-_.`` become one ``-``, lower case."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project_name(directory: Path) -> str:
    """A valid, normalised project name derived from the folder name."""
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", directory.resolve().name).strip("-._")
    if not name:
        raise UsageError(f"cannot derive a project name from {directory.resolve().name!r}", hint="pass --name NAME")
    return normalized_name(name)


def checked_name(name: str) -> str:
    """``--name`` as a normalised PEP 508 name; anything else is a command-line mistake."""
    if not _VALID_NAME.match(name):
        raise UsageError(f"--name {name!r} is not a valid project name",
                         hint="use letters, digits, '-', '_' and '.', starting and ending with a letter or digit")
    return normalized_name(name)


def checked_python(python: str) -> str:
    """``--python`` as the minimum version written to ``requires-python``."""
    match = _PYTHON.match(python)
    if match is None:
        raise UsageError(f"--python {python!r} is not a Python version", hint="give one like 3.12")
    if int(match.group(1)) < 3:
        raise UsageError(f"--python {python}: pypm makes projects for Python 3 only", hint="give one like 3.12")
    from pypm.resolver.environments import PYTHON_MINORS

    minor = int(python.split(".")[1]) if "." in python else 0
    if int(match.group(1)) > 3 or minor > PYTHON_MINORS[-1]:
        raise UsageError(f"--python {python}: no such Python is released yet (pypm locks for 3.{PYTHON_MINORS[0]} to "
                         f"3.{PYTHON_MINORS[-1]})", hint="give one like 3.12")
    return python


def import_name(name: str) -> str:
    """The import package for a normalised project name: an identifier (``_2fast`` for
    ``2fast``), not a keyword (``class_`` for ``class``, as PEP 8 suggests)."""
    module = name.replace("-", "_")
    if module[0].isdigit():
        module = f"_{module}"
    return f"{module}_" if keyword.iskeyword(module) else module


def init_project(directory: Path, name: str | None = None, python: str | None = None) -> Path:
    """Create ``pyproject.toml``, ``src/<module>/__init__.py`` and ``.gitignore`` in
    ``directory``; every argument is checked before anything is written."""
    import tomli_w

    name = checked_name(name) if name is not None else project_name(directory)
    python = checked_python(python) if python is not None else f"{sys.version_info.major}.{sys.version_info.minor}"
    pyproject = directory / "pyproject.toml"
    if pyproject.exists():
        raise PypmError(f"{pyproject} already exists", hint="pypm init only creates new projects")
    module = import_name(name)
    document = {
        "project": {
            "name": name, "version": "0.1.0", "description": "",
            "requires-python": f">={python}", "dependencies": [],
        },
        "dependency-groups": {"dev": []},
        "build-system": BUILD_SYSTEM,
        "tool": {"flit": {"module": {"name": module}}, "pypm": {}},
    }
    gitignore = directory / ".gitignore"
    ignore_text = _with_ignored(gitignore)  # checked before anything is written
    directory.mkdir(parents=True, exist_ok=True)
    made = _write_package(directory / "src" / module / "__init__.py", name)
    try:
        if ignore_text is not None:
            atomic_write_bytes(gitignore, ignore_text)
        atomic_write_text(pyproject, tomli_w.dumps(document))
    except OSError:
        for path in reversed(made):  # what this run made, newest first
            path.unlink() if path.is_file() else path.rmdir()
        raise
    return pyproject


def _write_package(init_file: Path, name: str) -> list[Path]:
    """Create ``src/<module>/__init__.py`` unless it exists; return the paths made (the
    directories and the file), oldest first."""
    if init_file.exists():
        return []
    made = [parent for parent in reversed(init_file.parents[:2]) if not parent.exists()]
    init_file.parent.mkdir(parents=True, exist_ok=True)
    with init_file.open("x", encoding="utf-8") as handle:
        handle.write(f'"""{name}."""\n\n__version__ = "0.1.0"\n')
    return [*made, init_file]


def _with_ignored(path: Path) -> bytes | None:
    """``.gitignore``'s bytes with the lines pypm's directories need added (its encoding and
    line ends kept), or None when it has them; a ``.gitignore`` that is not a file is refused."""
    try:
        data = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):  # a missing directory is made, or refused, next
        data = b""
    except IsADirectoryError:
        raise FileSystemError(f"{path} is a directory where a file is expected",
                              hint="move it out of the way (pypm init adds .venv/ and .pypm/ to it)") from None
    lines = {line.strip() for line in data.splitlines()}
    missing = [line.encode() for line in GITIGNORE_LINES if line.encode() not in lines]
    if not missing:
        return None
    ending = b"\r\n" if b"\r\n" in data else b"\n"
    if data and not data.endswith(b"\n"):
        data += ending
    return data + ending.join(missing) + ending
