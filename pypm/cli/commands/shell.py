"""``pypm shell``: a shell with ``.venv`` activated (locking and syncing first when stale)."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_sync_command_options

HELP = "start your shell with .venv activated (locking and syncing first when stale); exit returns"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Lock and sync options, ``--frozen``/``--locked`` and the settings."""
    add_sync_command_options(parser)
    parser.add_argument("--env", metavar="NAME", help="activate the named environment NAME (`pypm env`) instead")


def run(options: argparse.Namespace) -> int:
    """Bring the environment up to date, then run ``$SHELL`` (``%COMSPEC%`` on Windows)."""

    from pypm import ui
    from pypm.cli.graph_options import refuse_selection
    from pypm.cli.graph_run import env_context, run_operations, sync_operations
    from pypm.operations.run import run_in_venv, shell_command

    if options.env:
        refuse_selection(options, "a named environment")
        ctx = run_operations(options, sync_operations(options), env_context(options, options.env))
    else:
        ctx = run_operations(options, sync_operations(options))
    shell = shell_command()
    ui.info(f"Starting {shell[0]} with {ctx.venv_path} activated; `exit` returns")
    return run_in_venv(ctx.venv_path, shell)
