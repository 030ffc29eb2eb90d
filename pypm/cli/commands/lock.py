"""``pypm lock``: resolve the workspace into pylock.toml."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_graph_arguments, operations_from, run_operations

HELP = "resolve every member's dependencies into pylock.toml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Graph options (lock and sync options are accepted together)."""
    add_graph_arguments(parser)


def run(options: argparse.Namespace) -> int:
    """Run the requested operations as one task graph."""
    run_operations(options, operations_from(options))
    return 0
