"""``pypm add REQ...``: add requirements to a member's pyproject.toml, lock, then sync."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_edit_options

HELP = "add requirements to pyproject.toml (comments and order kept), lock, then sync"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The names, where they go, ``--no-sync`` and the settings."""
    parser.add_argument("requirements", nargs="*", metavar="REQ",
                        help="a PEP 508 requirement, e.g. 'requests>=2.31', or the path of a project (./lib), "
                             "added as a path dependency built into a wheel")
    parser.add_argument("-e", "--editable", action="append", default=[], metavar="PATH",
                        help="add the project at PATH as a path dependency, installed editable (repeatable)")
    add_edit_options(parser, "add to")


def run(options: argparse.Namespace) -> int:
    """Edit, lock, write; then sync unless ``--no-sync``."""
    from functools import partial

    from pypm.cli.graph_run import run_edit
    from pypm.errors import UsageError
    from pypm.operations.edit_requirements import add_requirements, refuse_paths

    if not options.requirements and not options.editable:
        raise UsageError("nothing to add", hint="e.g. `pypm add requests` or `pypm add -e ../lib`")
    if options.editable and options.script is not None:
        raise UsageError("a script cannot hold a path dependency, so --script cannot take -e", hint="drop -e")
    if options.script is not None or options.env or options.global_env:
        refuse_paths(options.requirements, "a script" if options.script is not None else "an environment")
    return run_edit(options, options.requirements, partial(add_requirements, editable=options.editable))
