"""``pypm lock``: resolve the workspace into pylock.toml."""

from __future__ import annotations

import argparse
from pathlib import Path

from pypm.cli.graph_options import (
    SYNC_FLAGS,
    add_graph_run_options,
    add_lock_options,
    add_operations,
    add_reinstall_options,
    add_selection_options,
    add_setting_options,
    given_flags,
    requested_names,
)
from pypm.cli.parser import start_dir

HELP = "resolve every member's dependencies into pylock.toml"
EPILOG = "--frozen and --locked belong to `pypm sync`, which locks first when stale"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Lock options, ``--offline``, ``--check``, ``sync`` as a further operation, and the
    sync options that ``pypm lock sync`` honours."""
    parser.epilog = EPILOG
    add_operations(parser, "also run sync, bundle, or tasks (which sync first)", ("sync", "bundle"), tasks=True)
    add_lock_options(parser)
    add_reinstall_options(add_selection_options(parser, "sync options (with `pypm lock sync` or a task)"))
    add_setting_options(parser)
    add_graph_run_options(parser)
    parser.add_argument("--check", action="store_true",
                        help="exit 1 when pylock.toml is missing, invalid or stale; write nothing")
    parser.add_argument("--script", metavar="FILE", type=Path,
                        help="lock a PEP 723 script's dependencies into FILE.lock beside it (not the workspace)")


def run(options: argparse.Namespace) -> int:
    """Check the lock, or run the requested operations as one task graph."""
    from pypm.cli.graph_run import run_operations
    from pypm.errors import UsageError

    names = requested_names(options)
    for_sync = [flag for flag in given_flags(options, SYNC_FLAGS) if flag != "--offline"]
    if for_sync and set(names) == {"lock"}:
        raise UsageError(f"{for_sync[0]} applies to sync", hint=f"run `pypm lock sync {for_sync[0]} ...`")
    if options.script is not None:
        return _lock_script(options, names)
    if options.check:
        return _check(options, names)
    run_operations(options, names)
    return 0


def _lock_script(options: argparse.Namespace, operations: list[str]) -> int:
    """``--script FILE``: lock the script's environment and write ``FILE.lock``; it locks
    nothing else, so it takes no further operation, selection or ``--check``."""
    from pypm import ui
    from pypm.cli.graph_run import run_operations, script_context
    from pypm.errors import UsageError
    from pypm.operations.script import keep_script_lock, script_lock_path

    refused = [*(op for op in operations if op != "lock"), *given_flags(options, SYNC_FLAGS),
               *(["--check"] if options.check else [])]
    refused = [flag for flag in refused if flag != "--offline"]
    if refused:
        raise UsageError(f"--script locks only the script, so it cannot be combined with {refused[0]}",
                         hint=f"drop {refused[0]}")
    script = start_dir(options) / options.script
    ctx = run_operations(options, ["lock"], script_context(options, script))
    if options.dry_run:
        return 0
    written = keep_script_lock(script, ctx.raw.root, always=True)
    ui.info(f"{'Wrote' if written else 'Kept'} {script_lock_path(script)}")
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
