"""Decide, without doit, httpx, resolvelib or rich, whether operations are up to date.

``lock`` is fresh when the input hash recorded in ``pylock.toml`` matches the inputs;
``sync`` when ``.venv``'s stamp matches the lock's hash and the selection.
"""

from __future__ import annotations

from pypm.graph.context import GraphContext
from pypm.lock.reader import read_input_hash
from pypm.workspace.inputs import input_hash


def lock_is_fresh(ctx: GraphContext) -> bool:
    """True when ``pylock.toml`` records the current input hash."""
    return read_input_hash(ctx.lock_path) == input_hash(ctx.raw, ctx.settings)


def sync_is_fresh(ctx: GraphContext) -> bool:
    """True when the lock is fresh (or frozen) and ``.venv``'s stamp matches it."""
    from pypm.operations.stamp import stamp_matches

    return (ctx.frozen or lock_is_fresh(ctx)) and stamp_matches(
        ctx.venv_path, ctx.lock_path, ctx.selection, ctx.settings["python"]
    )


CHECKS = {"lock": lock_is_fresh, "sync": sync_is_fresh}


def stale_operations(ctx: GraphContext, operations: list[str]) -> list[str]:
    """The requested operations that would do work (in the order given)."""
    return [op for op in operations if not CHECKS[op](ctx)]
