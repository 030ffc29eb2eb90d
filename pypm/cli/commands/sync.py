"""``pypm sync``: make .venv match pylock.toml (locking first when stale)."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_operations, add_sync_command_options, operations_from

HELP = "install pylock.toml into .venv, exactly (locking first when stale)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``lock`` as a further operation; lock options (sync re-locks a stale lock with
    them), sync options, ``--frozen``/``--locked`` and the settings."""
    add_operations(parser, "also run lock (as plain sync does when pylock.toml is stale)", ("lock",))
    add_sync_command_options(parser)


def run(options: argparse.Namespace) -> int:
    """Run the requested operations as one task graph."""
    from pypm.cli.graph_run import run_operations

    run_operations(options, operations_from(options))
    return 0
