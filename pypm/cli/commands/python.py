"""``pypm python list``: the interpreters pypm can build ``.venv`` from."""

from __future__ import annotations

import argparse

from pypm.cli.parser import describe_choices

HELP = "list the Python interpreters found (PATH, pyenv, asdf, the Windows py launcher)"
ACTIONS = {"list": "the interpreters found, newest first (* = allowed by the workspace's requires-python)"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The action (``list``, the default), described in ``pypm python --help``."""
    describe_choices(parser, "actions", ACTIONS)
    parser.add_argument("action", metavar="ACTION", nargs="?", default="list", choices=tuple(ACTIONS),
                        help="what to do: " + ", ".join(ACTIONS) + " (default: list)")


def run(options: argparse.Namespace) -> int:
    """Print version and path of each interpreter; mark those the workspace allows."""
    from packaging.specifiers import SpecifierSet

    from pypm.cli.parser import start_dir
    from pypm.errors import WorkspaceError
    from pypm.install.pythons import discover
    from pypm.workspace.model import load_workspace

    try:
        allowed = load_workspace(start_dir(options)).requires_python
    except WorkspaceError:
        allowed = SpecifierSet()
    for found in discover():
        mark = "*" if allowed.contains(found.version, prereleases=True) else " "
        print(f"{mark} {found.version:<10} {found.path}")
    return 0
