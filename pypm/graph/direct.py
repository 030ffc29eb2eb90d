"""Run pypm's own operations (``lock``, ``sync``, ``bundle``) without loading doit.

When a command asks for operations only (no user task), the graph is the fixed chain
``lock -> sync -> bundle``: there is nothing to schedule, and doit would cost its import
and its database (~0.1 s) to run one or two functions. This runs the same task actions
(:data:`pypm.graph.tasks.OPERATIONS`, hooks included) in that order, each only when its
freshness check (the same one doit's ``uptodate`` calls) says it is stale, under the same
graph lock. Freshness never came from doit's database (:mod:`pypm.graph.freshness`); the
operations run here are listed in ``.pypm/direct-runs``, and the next run or ``pypm
status`` that loads doit first records those still fresh as done in its database
(:func:`pypm.graph.runner.catch_up`), so doit's view agrees with pypm's. A plain
``pypm lock`` that wrote a missing lock records what it was written from, for the next
one to write it again without parsing the workspace (:mod:`pypm.graph.lock_recall`); a
plain sync that made ``.venv`` afresh records how, for the next one in a copy of the
project to make it again (:mod:`pypm.graph.replay_recipe`).
"""

from __future__ import annotations

from pypm.graph import lock_recall, replay_recipe
from pypm.graph.context import GraphContext
from pypm.graph.freshness import CHECKS
from pypm.graph.session import (
    check_kinds,
    first_error,
    note_direct_run,
    prepare_state_dir,
    project_lock,
    remove_left_temps,
)
from pypm.graph.sync_replay import remove_unfinished
from pypm.graph.tasks import guarded

#: The chain, in the order doit runs it (``sync`` needs the lock, ``bundle`` the sync).
CHAIN = ("lock", "sync", "bundle")


def needed_chain(ctx: GraphContext, operations: list[str]) -> list[str]:
    """The operations to consider for ``operations``: each one asked for and those before
    it in the chain (a sync locks first, as doit's target dependency does), but never
    ``lock`` when frozen."""
    last = max(CHAIN.index(name) for name in operations)
    return [name for name in CHAIN[: last + 1] if not (name == "lock" and ctx.frozen)]


def run_direct(ctx: GraphContext, operations: list[str]) -> None:
    """Run the stale ones of ``operations`` (and what they need) in chain order; raise the
    first failure, as :func:`pypm.graph.runner.run_graph` does."""
    check_kinds(ctx, operations)
    prepare_state_dir(ctx)
    with project_lock(ctx):
        remove_left_temps(ctx)
        remove_unfinished(str(ctx.raw.root))  # a replay killed before its rename (pypm.graph.sync_replay)
        chain = needed_chain(ctx, operations)
        before_lock = lock_recall.watch(ctx, chain)
        before_sync = replay_recipe.watch(ctx, chain)
        for name in chain:
            if not ctx.forces(name) and CHECKS[name](ctx):
                continue
            if not guarded(ctx, name):
                break
            note_direct_run(ctx.state_dir, name)
        lock_recall.record(ctx, before_lock)
        replay_recipe.record(ctx, before_sync)
    if ctx.errors:
        raise first_error(ctx)
