"""``pypm run CMD...``: lock and sync when stale, then run CMD in ``.venv``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pypm.cli.graph_options import add_sync_command_options

if TYPE_CHECKING:
    from pypm.graph.context import GraphContext

HELP = "run a command in .venv (locking and syncing first when stale)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sync options, ``--no-sync``, then the command and its arguments."""
    add_sync_command_options(parser)
    parser.add_argument("--no-sync", action="store_true",
                        help="run in .venv as it is, without locking or syncing (takes no lock or sync option)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD", help="the command and its arguments")


def run(options: argparse.Namespace) -> int:
    """Bring the environment up to date, then run the command."""
    from pypm.cli.graph_run import run_operations, sync_operations
    from pypm.errors import UsageError
    from pypm.operations.run import run_in_venv

    command = list(options.cmd)
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise UsageError("no command given", hint="e.g. `pypm run pytest`")
    if options.no_sync:
        ctx = _unsynced_context(options)
    else:
        ctx = run_operations(options, sync_operations(options))
    return run_in_venv(ctx.venv_path, command)


def _unsynced_context(options: argparse.Namespace) -> GraphContext:
    """The workspace for ``--no-sync``, which honours no lock or sync option: any given
    is refused rather than ignored."""
    from pypm.cli.graph_options import LOCK_FLAGS, SYNC_FLAGS, given_flags
    from pypm.cli.graph_run import load_context
    from pypm.errors import UsageError

    given = given_flags(options, {**LOCK_FLAGS, **SYNC_FLAGS})
    if given:
        raise UsageError(f"--no-sync neither locks nor syncs, so it cannot be combined with {given[0]}",
                         hint=f"drop {given[0]} or --no-sync")
    return load_context(options)
