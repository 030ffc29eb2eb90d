"""``pypm sandbox [-d DIR] [--no-network] [-- CMD ARGS...]``: your shell (or CMD) with
``.venv`` activated in a fresh temporary directory, removed on exit (locking and syncing
first when stale, as ``pypm shell`` does)."""

from __future__ import annotations

import argparse
from pathlib import Path

from pypm.cli.graph_options import add_sync_command_options

HELP = ("start your shell (or CMD) with .venv activated in a fresh temporary directory, removed on exit "
        "(locking and syncing first when stale)")
EPILOG = ("The temporary directory is removed when the command exits, on Ctrl-C and when pypm gets SIGTERM "
          "(passed on to the command; pypm exits 143); a directory named with -d is kept. The exit code is "
          "the command's (128+N when signal N ended it).")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Lock and sync options, ``--frozen``/``--locked``, the settings, then the sandbox's
    own options and the command."""
    parser.epilog = EPILOG
    add_sync_command_options(parser)
    box = parser.add_argument_group("sandbox")
    box.add_argument("-d", "--dir", dest="directory", type=Path, metavar="DIR",
                     help="run in DIR (made when missing, never removed) instead of a temporary directory")
    box.add_argument("--no-network", action="store_true",
                     help="run the command in new user and network namespaces (Linux) so it cannot reach "
                          "the network, not even localhost; locking and syncing still can")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="CMD",
                        help="the command and its arguments, after -- (default: your $SHELL)")


def run(options: argparse.Namespace) -> int:
    """Refuse what cannot work before any work, bring the environment up to date, then run
    the command (or ``$SHELL``) in the sandbox."""
    from pypm.cli.graph_run import run_operations, sync_operations
    from pypm.operations.run import shell_command
    from pypm.operations.sandbox import check_directory, check_network_isolation, run_sandboxed

    command = list(options.cmd)
    command = command[1:] if command[:1] == ["--"] else command
    directory = options.directory.absolute() if options.directory else None
    if directory is not None:
        check_directory(directory)
    if options.no_network:
        check_network_isolation()
    ctx = run_operations(options, sync_operations(options))
    return run_sandboxed(ctx.venv_path, command or shell_command(), directory, options.no_network,
                         shell=not command)
