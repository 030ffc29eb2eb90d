"""``pypm lock``: resolve the workspace into pylock.toml."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_lock_options, add_operations, add_setting_options, operations_from

HELP = "resolve every member's dependencies into pylock.toml"
EPILOG = "sync options (--group, --frozen, --python...) belong to `pypm sync`, which locks first when stale"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Lock options, ``--offline``, ``--check``, and ``sync`` as a further operation."""
    parser.epilog = EPILOG
    add_operations(parser, "also run sync (with the default groups)", ("sync",))
    add_lock_options(parser)
    add_setting_options(parser, environment=False)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when pylock.toml is missing, invalid or stale; write nothing")


def run(options: argparse.Namespace) -> int:
    """Check the lock, or run the requested operations as one task graph."""
    from pypm.cli.graph_run import run_operations

    operations = operations_from(options)
    if options.check:
        return _check(options, operations)
    run_operations(options, operations)
    return 0


def _check(options: argparse.Namespace, operations: list[str]) -> int:
    """``--check``: compare the lock with its inputs; it writes nothing, so it takes no
    option that asks for a re-lock and no further operation."""
    from pypm import ui
    from pypm.cli.graph_options import forcing_flags
    from pypm.cli.graph_run import load_context
    from pypm.errors import UsageError
    from pypm.operations.lock import check

    refused = [*forcing_flags(options), *(op for op in operations if op != "lock")]
    if refused:
        raise UsageError(f"--check writes nothing, so it cannot be combined with {refused[0]}",
                         hint=f"drop {refused[0]} or --check")
    check(load_context(options).validate())
    ui.info("pylock.toml is up to date")
    return 0
