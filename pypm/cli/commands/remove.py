"""``pypm remove NAME...``: remove requirements from a member's pyproject.toml, lock, then sync."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_edit_options

HELP = "remove requirements from pyproject.toml (comments and order kept), lock, then sync"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The names, where they go, ``--no-sync`` and the settings."""
    parser.add_argument("names", nargs="+", metavar="NAME", help="a package name to remove")
    add_edit_options(parser, "remove from")


def run(options: argparse.Namespace) -> int:
    """Edit, lock, write; then sync unless ``--no-sync``."""
    from pypm.cli.graph_run import run_edit
    from pypm.operations.edit_requirements import remove_requirements

    return run_edit(options, options.names, remove_requirements, remove=True)
