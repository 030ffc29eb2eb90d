"""``pypm shell``: a shell with ``.venv`` activated (locking and syncing first when stale)."""

from __future__ import annotations

import argparse
import os

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
    from pypm.operations.run import run_in_venv, shell_command, venv_environment

    if options.env:
        refuse_selection(options, "a named environment")
    shell = shell_command()
    if os.sep in shell[0] or "/" in shell[0]:  # a path: checked before any lock or sync
        _check_shell(shell[0], None)
    ctx = run_operations(options, sync_operations(options), env_context(options, options.env) if options.env else None)
    _check_shell(shell[0], venv_environment(ctx.venv_path)["PATH"])  # a name may be a program .venv holds
    ui.info(f"Starting {shell[0]} with {ctx.venv_path} activated; `exit` returns")
    return run_in_venv(ctx.venv_path, shell)


def _check_shell(shell: str, path: str | None) -> None:
    """Raise when ``shell`` is no program on ``path`` (None: ``PATH``): a ``SHELL``
    (``COMSPEC``) that names none is that variable's mistake, not a package missing from
    ``.venv``."""
    import shutil

    from pypm.errors import PypmError

    if shutil.which(shell, path=path) is not None:
        return
    variable = next((name for name in ("SHELL", "COMSPEC") if os.environ.get(name) == shell), None)
    if variable is None:
        raise PypmError(f"no shell to start: SHELL is not set and {shell} is no program pypm can run",
                        hint="set SHELL to the path of your shell, e.g. SHELL=/bin/bash")
    raise PypmError(f"the {variable} variable names {shell}, which is no program pypm can run",
                    hint=f"set {variable} to the path of your shell (e.g. /bin/bash), or unset it")
