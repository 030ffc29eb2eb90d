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

    from pypm.errors import NoWorkspaceError
    from pypm.workspace.model import load_workspace

    try:
        return load_workspace(start).requires_python
    except NoWorkspaceError:
        return SpecifierSet()
