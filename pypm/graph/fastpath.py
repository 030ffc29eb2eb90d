"""The no-op answer: "all up to date" without argparse, doit, httpx, resolvelib or rich.

Only plain invocations (graph operations, optionally ``-q``) take this path; anything
else, or any error, falls through to the full command line, which reports it. A verdict
recorded by the last full check answers a repeated no-op without reading TOML
(:mod:`pypm.graph.noop_verdict`); otherwise the full check runs and records one. A plain
``pypm lock`` whose lock is missing may also be answered here, from a remembered
resolution (:mod:`pypm.graph.lock_recall`).
"""

from __future__ import annotations

import sys

from pypm.graph import GRAPH_OPERATIONS

_QUIET = ("-q", "--quiet")


def plain_operations(args: list[str]) -> list[str] | None:
    """The operations ``args`` ask for when they name graph operations only (optionally
    with ``-q``); None for anything else."""
    if not args or args[0] not in GRAPH_OPERATIONS:
        return None
    if any(arg not in GRAPH_OPERATIONS and arg not in _QUIET for arg in args):
        return None
    return [op for op in GRAPH_OPERATIONS if op in args]


def try_fast_path(args: list[str]) -> bool:
    """Return True when ``args`` asked only for operations that are all up to date, or
    only for ``lock`` that a remembered resolution wrote (:mod:`pypm.graph.lock_recall`), or
    for ``sync`` whose missing ``.venv`` a recipe made (:mod:`pypm.graph.sync_replay`)."""
    operations = plain_operations(args)
    if operations is None or "bundle" in operations:  # its freshness reads the members' trees and the archive
        return False
    quiet = any(arg in _QUIET for arg in args)
    from pypm.graph.noop_verdict import verdict_holds

    if not verdict_holds(operations):
        if operations == ["lock"]:
            from pypm.graph.lock_recall import write_recalled_lock

            if write_recalled_lock(quiet):
                return True
        if "sync" in operations and set(operations) <= {"lock", "sync"}:
            from pypm.graph.sync_replay import replay_sync

            if replay_sync(quiet):
                return True
        if not _full_check(operations):
            return False
    if not quiet:
        print(f"All up to date ({', '.join(operations)})", file=sys.stderr)
    return True


def _full_check(operations: list[str]) -> bool:
    """The full freshness check; when it finds everything up to date, record the verdict."""
    from pathlib import Path

    from pypm.errors import PypmError
    from pypm.graph.context import GraphContext
    from pypm.graph.freshness import stale_operations
    from pypm.graph.noop_verdict import observe, record_verdict

    try:
        ctx = GraphContext.load(Path.cwd())
        # the full command line validates the workspace's tasks first (a task that is no
        # command fails it): so does this, and an error falls through to it, unrecorded
        ctx.tasks  # noqa: B018 - read for its validation
        before = observe(ctx, operations)
        if stale_operations(ctx, operations, prepare=False):
            return False
        record_verdict(ctx, operations, before)
    except (PypmError, OSError, ValueError):
        return False
    return True
