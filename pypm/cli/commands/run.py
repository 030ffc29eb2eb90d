"""``pypm run CMD...``: lock and sync when stale, then run CMD in ``.venv``."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_graph_arguments, run_operations

HELP = "run a command in .venv (locking and syncing first when stale)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sync options, then the command and its arguments."""
    add_graph_arguments(parser, operations=False)
    parser.add_argument("--no-sync", action="store_true", help="run without locking or syncing first")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD", help="the command and its arguments")


def run(options: argparse.Namespace) -> int:
    """Bring the environment up to date, then run the command."""
    from pypm.operations.run import run_in_venv

    command = list(options.cmd)
    if command[:1] == ["--"]:
        command = command[1:]
    if options.no_sync:
        from pypm.cli.parser import start_dir
        from pypm.graph.context import GraphContext

        ctx = GraphContext.load(start_dir(options))
    else:
        ctx = run_operations(options, ["lock", "sync"])
    return run_in_venv(ctx.venv_path, command)
