"""``pypm python list``: the interpreters pypm can build ``.venv`` from."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pypm.cli.parser import describe_choices

if TYPE_CHECKING:
    from packaging.specifiers import SpecifierSet

HELP = "list the Python interpreters found (PATH, pyenv, asdf, the Windows py launcher)"
ACTIONS = {"list": "the interpreters found, newest first (* = allowed by the workspace's requires-python)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The action (``list``, the default), described in ``pypm python --help``."""
    describe_choices(parser, "actions", ACTIONS)
    parser.add_argument("action", metavar="ACTION", nargs="?", default="list", choices=tuple(ACTIONS),
                        help="what to do: " + ", ".join(ACTIONS) + " (default: list)")


def run(options: argparse.Namespace) -> int:
    """Print version and path of each interpreter; mark those the workspace allows."""
    from pypm.cli.parser import start_dir
    from pypm.install.pythons import discover

    allowed = workspace_python(start_dir(options))
    for found in discover():
        mark = "*" if allowed.contains(found.version, prereleases=True) else " "
        print(f"{mark} {found.version:<10} {found.path}")
    return 0


def workspace_python(start: Path) -> SpecifierSet:
    """The requires-python of the workspace at ``start``: any outside one (no
    ``pyproject.toml`` here or above, or only ones for other tools); a broken one (TOML,
    ``requires-python``, settings) is an error, as for every command that reads it."""
    from packaging.specifiers import SpecifierSet

    from pypm.errors import WorkspaceError
    from pypm.workspace.model import load_workspace

    try:
        return load_workspace(start).requires_python
    except WorkspaceError:
        if in_a_workspace(start):
            raise
        return SpecifierSet()


def in_a_workspace(start: Path) -> bool:
    """Is there a workspace root (``pypm-workspace.toml``, the root variable) or a
    ``pyproject.toml`` with ``[project]`` or ``[tool.pypm.workspace]`` at ``start`` or
    above? A ``pyproject.toml`` pypm cannot read is an error here."""
    from pypm.errors import WorkspaceError
    from pypm.tomlfile import read_toml
    from pypm.workspace.discovery import PYPROJECT, WORKSPACE_FILE, root_override

    if root_override() is not None:
        return True
    for directory in (start.resolve(), *start.resolve().parents):
        if (directory / WORKSPACE_FILE).is_file():
            return True
        if (directory / PYPROJECT).is_file():
            data = read_toml(directory / PYPROJECT, WorkspaceError)
            tool = data.get("tool")
            table = tool.get("pypm") if isinstance(tool, dict) else None
            if "project" in data or (isinstance(table, dict) and "workspace" in table):
                return True
    return False
