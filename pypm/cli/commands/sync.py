"""``pypm sync``: make .venv match pylock.toml (locking first when stale)."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_graph_run_options, add_operations, add_sync_command_options, requested_names

HELP = "install pylock.toml into .venv, exactly (locking first when stale)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``lock`` as a further operation; lock options (sync re-locks a stale lock with
    them), sync options, ``--frozen``/``--locked`` and the settings."""
    add_operations(parser, "also run lock (as plain sync does when pylock.toml is stale), bundle, or tasks",
                   ("lock", "bundle"), tasks=True)
    add_sync_command_options(parser)
    add_graph_run_options(parser)


def run(options: argparse.Namespace) -> int:
    """Run the requested operations as one task graph."""
    from pypm.cli.graph_run import load_context, run_operations
    from pypm.errors import UsageError, WorkspaceError

    names = requested_names(options)
    try:
        ctx = load_context(options)
    except WorkspaceError as exc:
        if getattr(options, "bare", False):  # `pypm NAME` outside a workspace: a mistyped command
            raise UsageError(f"unknown command {names[0]!r}", hint="see `pypm --help`") from exc
        raise
    run_operations(options, names, ctx)
    return 0
