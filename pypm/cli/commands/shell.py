"""``pypm shell``: a shell with ``.venv`` activated (locking and syncing first when stale)."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_sync_command_options

HELP = "start your shell with .venv activated (locking and syncing first when stale); exit returns"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Lock and sync options, ``--frozen``/``--locked`` and the settings."""
    add_sync_command_options(parser)


def run(options: argparse.Namespace) -> int:
    """Bring the environment up to date, then run ``$SHELL`` (``%COMSPEC%`` on Windows)."""
    import os

    from pypm import ui
    from pypm.cli.graph_run import run_operations, sync_operations
    from pypm.operations.run import run_in_venv

    ctx = run_operations(options, sync_operations(options))
    shell = os.environ.get("SHELL") or (os.environ.get("COMSPEC", "cmd.exe") if os.name == "nt" else "/bin/sh")
    ui.info(f"Starting {shell} with {ctx.venv_path} activated; `exit` returns")
    return run_in_venv(ctx.venv_path, [shell])
