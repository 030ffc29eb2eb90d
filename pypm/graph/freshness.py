"""Decide, without doit, httpx, resolvelib or rich, whether operations are up to date.

``lock`` is fresh when ``pylock.toml`` is intact and records the hash of the current
inputs (:mod:`pypm.workspace.inputs`); ``sync`` when, in addition, ``.venv``'s stamp
matches the lock, the selection, the settings, the members and the environment's own
state (:mod:`pypm.operations.stamp`).

``prepare``: a member whose dependencies are dynamic enters the input hash through the
metadata its build backend gave; with ``prepare`` (the full command line) the backend is
asked when the member changed, without it (the fast path) such a member is stale until
then.
"""

from __future__ import annotations

from pypm.graph.context import GraphContext
from pypm.lock.reader import read_input_hash
from pypm.workspace.inputs import input_hash
from pypm.workspace.member_sources import LOCK_FIELDS, dynamic_fields


def lock_is_fresh(ctx: GraphContext, prepare: bool = True) -> bool:
    """True when ``pylock.toml`` is intact and records the current input hash."""
    if prepare and any(dynamic_fields(member) & LOCK_FIELDS for member in ctx.raw.members):
        from pypm.operations.member_metadata import prepare_dynamic_metadata

        prepare_dynamic_metadata(ctx.workspace)
    if read_input_hash(ctx.lock_path) != input_hash(ctx.raw, ctx.settings):
        return False
    from pypm.operations.default_python import default_python_served

    return default_python_served(ctx.raw, ctx.settings, ctx.venv_path, ctx.lock_path)


def sync_is_fresh(ctx: GraphContext, prepare: bool = True) -> bool:
    """True when the lock is fresh (or frozen) and ``.venv``'s stamp matches everything."""
    from pypm.operations.stamp import stamp_matches

    return (ctx.frozen or lock_is_fresh(ctx, prepare)) and stamp_matches(
        ctx.venv_path, ctx.lock_path, ctx.selection, ctx.settings, ctx.raw
    )


def bundle_is_fresh(ctx: GraphContext, prepare: bool = True) -> bool:
    """True when ``sync`` is fresh and the bundle's record matches its inputs and archive."""
    if not sync_is_fresh(ctx, prepare):
        return False
    from pypm.errors import PypmError
    from pypm.operations.bundle import bundle_key, fresh_record, output_path, root_project

    try:
        workspace = ctx.workspace
        output = output_path(workspace.root, root_project(ctx.raw), ctx.bundle_request)
        key = bundle_key(workspace, ctx.selection, ctx.bundle_request, output)
    except (PypmError, OSError):
        return False  # the bundle run itself reports the problem
    return fresh_record(workspace.state_dir, output, key) is not None


CHECKS = {"lock": lock_is_fresh, "sync": sync_is_fresh, "bundle": bundle_is_fresh}


def stale_operations(ctx: GraphContext, operations: list[str], prepare: bool = True) -> list[str]:
    """The requested operations that would do work (in the order given)."""
    return [op for op in operations if not CHECKS[op](ctx, prepare)]
