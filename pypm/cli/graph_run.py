"""Run graph operations as the options ask: one place that turns options into a
:class:`GraphContext` and runs it (or answers "all up to date" without loading doit)."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import (
    check_combination,
    lock_mode,
    lock_request_from,
    selection_from,
    setting_overrides,
)
from pypm.cli.parser import start_dir
from pypm.graph.context import GraphContext


def load_context(options: argparse.Namespace) -> GraphContext:
    """The workspace with this run's selection, lock request, settings and lock mode."""
    ctx = GraphContext.load(
        start_dir(options), selection=selection_from(options), lock_request=lock_request_from(options)
    )
    for name, (value, flag) in setting_overrides(options).items():
        ctx.settings.override(name, value, source=flag)
    ctx.frozen = lock_mode(options) is not None
    return ctx


def run_operations(options: argparse.Namespace, operations: list[str]) -> GraphContext:
    """Run the operations, or say that all is up to date without loading doit.

    ``--frozen`` installs pylock.toml as it is; ``--locked`` first fails (exit 1) when it
    is stale. Neither re-locks (uv's ``--frozen``/``--locked``)."""
    from pypm import ui
    from pypm.graph.freshness import stale_operations

    check_combination(options, operations)
    ctx = load_context(options)
    if lock_mode(options) == "locked":
        from pypm.operations.lock import check

        check(ctx.validate())
    if not ctx.lock_request.forces and not stale_operations(ctx, operations):
        ui.info(f"All up to date ({', '.join(operations)})")
        return ctx
    from pypm.graph.runner import run_graph

    ctx.validate()  # every member is checked before any state is written
    run_graph(ctx, operations)
    return ctx


def sync_operations(options: argparse.Namespace) -> list[str]:
    """What ``run`` and ``shell`` bring up to date first: only ``sync`` under
    ``--frozen``/``--locked`` (which never re-lock), else ``lock`` and ``sync``."""
    return ["sync"] if lock_mode(options) else ["lock", "sync"]
