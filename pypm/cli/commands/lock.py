"""``pypm lock``: resolve the workspace into pylock.toml."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_graph_arguments, operations_from, run_operations

HELP = "resolve every member's dependencies into pylock.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Graph options (lock and sync options are accepted together), and ``--check``."""
    add_graph_arguments(parser)
    parser.add_argument("--check", action="store_true",
                        help="exit non-zero when pylock.toml is missing or stale; write nothing")


def run(options: argparse.Namespace) -> int:
    """Check the lock, or run the requested operations as one task graph."""
    if options.check:
        from pypm import ui
        from pypm.cli.parser import start_dir
        from pypm.operations.lock import check
        from pypm.workspace.model import load_workspace

        check(load_workspace(start_dir(options)))
        ui.info("pylock.toml is up to date")
        return 0
    run_operations(options, operations_from(options))
    return 0
