"""``pypm lock``: resolve the workspace into pylock.toml."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import (
    SYNC_FLAGS,
    add_graph_run_options,
    add_lock_options,
    add_operations,
    add_selection_options,
    add_setting_options,
    given_flags,
    requested_names,
)

HELP = "resolve every member's dependencies into pylock.toml"
EPILOG = "--frozen and --locked belong to `pypm sync`, which locks first when stale"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Lock options, ``--offline``, ``--check``, ``sync`` as a further operation, and the
    sync options that ``pypm lock sync`` honours."""
    parser.epilog = EPILOG
    add_operations(parser, "also run sync, bundle, or tasks (which sync first)", ("sync", "bundle"), tasks=True)
    add_lock_options(parser)
    add_selection_options(parser, "sync options (with `pypm lock sync` or a task)")
    add_setting_options(parser)
    add_graph_run_options(parser)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when pylock.toml is missing, invalid or stale; write nothing")


def run(options: argparse.Namespace) -> int:
    """Check the lock, or run the requested operations as one task graph."""
    from pypm.cli.graph_run import run_operations
    from pypm.errors import UsageError

    names = requested_names(options)
    for_sync = [flag for flag in given_flags(options, SYNC_FLAGS) if flag != "--offline"]
    if for_sync and set(names) == {"lock"}:
        raise UsageError(f"{for_sync[0]} applies to sync", hint=f"run `pypm lock sync {for_sync[0]} ...`")
    if options.check:
        return _check(options, names)
    run_operations(options, names)
    return 0


def _check(options: argparse.Namespace, operations: list[str]) -> int:
    """``--check``: compare the lock with its inputs; it writes nothing, so it takes no
    option that asks for a re-lock and no further operation."""
    from pypm import ui
    from pypm.cli.graph_options import forcing_flags
    from pypm.cli.graph_run import load_context
    from pypm.errors import UsageError
    from pypm.operations.lock import check

    graph_flags = [flag for flag, given in (("--dry-run", options.dry_run), ("--jobs", options.jobs != 1),
                                            ("--keep-going", options.keep_going)) if given]
    refused = [*forcing_flags(options), *graph_flags, *(op for op in operations if op != "lock")]
    if refused:
        raise UsageError(f"--check writes nothing, so it cannot be combined with {refused[0]}",
                         hint=f"drop {refused[0]} or --check")
    check(load_context(options).validate())
    ui.info("pylock.toml is up to date")
    return 0
