"""``pypm add REQ...``: add requirements to a member's pyproject.toml, lock, then sync."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_edit_options

HELP = "add requirements to pyproject.toml (comments and order kept), lock, then sync"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The names, where they go, ``--no-sync`` and the settings."""
    parser.add_argument("requirements", nargs="+", metavar="REQ", help="a PEP 508 requirement, e.g. 'requests>=2.31'")
    add_edit_options(parser, "add to")


def run(options: argparse.Namespace) -> int:
    """Edit, lock, write; then sync unless ``--no-sync``."""
    from pypm.cli.graph_run import run_edit
    from pypm.operations.edit_requirements import add_requirements

    return run_edit(options, options.requirements, add_requirements)
