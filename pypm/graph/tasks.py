"""pypm's operations as doit task dicts: the graph ``lock -> sync -> user tasks``.

Each task only wires a plain operation function to its file dependencies and targets;
the functions themselves also check freshness by hash, so a fresh clone without doit
state does no work either.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypm.graph.context import GraphContext
from pypm.graph.freshness import bundle_is_fresh, lock_is_fresh, sync_is_fresh


def _run_lock(ctx: GraphContext) -> None:
    from pypm.graph.hooks import locked_packages, read_optional, restore_file, with_hooks
    from pypm.operations.lock import lock

    previous = read_optional(ctx.lock_path) if ctx.plugins else None

    def work() -> dict[str, Any]:
        ctx.lock_outcome = lock(ctx.workspace, ctx.lock_request)
        return {"locked": locked_packages(ctx.lock_path) if ctx.plugins else ()}

    with_hooks(ctx, "lock", work, lambda: restore_file(ctx.lock_path, previous),
               "pylock.toml is as it was" if previous is not None else "the new pylock.toml is removed")


def _run_sync(ctx: GraphContext) -> None:
    from pypm.graph.hooks import remove_files, with_hooks
    from pypm.operations.stamp import stamp_path
    from pypm.operations.sync import sync

    def work() -> dict[str, Any]:
        outcome = ctx.sync_outcome = sync(ctx.workspace, ctx.selection, ctx.reinstall)
        return {"installed": tuple(outcome.installed), "removed": tuple(outcome.removed)}

    with_hooks(ctx, "sync", work, remove_files(stamp_path(ctx.venv_path)),
               ".venv is not marked as synced, so the next run syncs again")


def _run_bundle(ctx: GraphContext) -> None:
    from pypm.graph.hooks import with_hooks
    from pypm.operations.bundle import bundle, record_path

    written: list[Path] = []

    def work() -> dict[str, Any]:
        outcome = bundle(ctx.workspace, ctx.selection, ctx.bundle_request)
        written.extend([outcome.path, record_path(ctx.workspace.state_dir, outcome.path)])
        return {"archive": str(outcome.path)}

    def undo() -> None:
        for path in written:  # the archive and its record, both this run's
            path.unlink(missing_ok=True)

    with_hooks(ctx, "bundle", work, undo, "the archive is removed")


OPERATIONS: dict[str, Callable[[GraphContext], None]] = {"lock": _run_lock, "sync": _run_sync, "bundle": _run_bundle}


def guarded(ctx: GraphContext, operation: str) -> bool:
    """Run one operation; a failure is kept on ``ctx`` (:meth:`GraphContext.kept_failure`)."""
    return ctx.kept_failure(lambda: OPERATIONS[operation](ctx))


def lock_task(ctx: GraphContext) -> dict[str, Any]:
    """``lock``: pylock.toml from every member's pyproject and the lock settings."""
    from doit.tools import config_changed

    # a dict: doit keeps its md5, not the values (an index URL may carry a password)
    settings = ctx.settings.lock_inputs()
    return {
        "name": "lock",
        "doc": "resolve the workspace into pylock.toml",
        "actions": [(guarded, [ctx, "lock"])],
        "file_dep": [str(path) for path in ctx.raw.input_files],
        "targets": [str(ctx.lock_path)],
        "uptodate": [config_changed(settings), not ctx.forces("lock"), (lock_is_fresh, [ctx], {})],
    }


def sync_task(ctx: GraphContext) -> dict[str, Any]:
    """``sync``: .venv from pylock.toml, for the selected groups and extras."""
    from doit.tools import config_changed

    from pypm.operations.stamp import stamp_path

    choice = json.dumps({"selection": ctx.selection.key(), "python": ctx.settings["python"]}, sort_keys=True)
    return {
        "name": "sync",
        "doc": "install pylock.toml into .venv",
        "actions": [(guarded, [ctx, "sync"])],
        "file_dep": [str(ctx.lock_path)],
        "targets": [str(stamp_path(ctx.venv_path))],
        "uptodate": [config_changed(choice), not ctx.reinstall.forces, (sync_is_fresh, [ctx], {})],
    }


def bundle_task(ctx: GraphContext) -> dict[str, Any]:
    """``bundle``: the archive from the lock and the synced .venv (after ``sync``); its
    freshness is the bundle's own record (:func:`pypm.operations.bundle.fresh_record`)."""
    return {
        "name": "bundle",
        "doc": "pack the lock, its wheels and an installer into one archive",
        "actions": [(guarded, [ctx, "bundle"])],
        "file_dep": [str(ctx.lock_path)],
        "task_dep": ["sync"],
        "uptodate": [(bundle_is_fresh, [ctx], {})],
    }


TASK_BUILDERS: tuple[Callable[[GraphContext], dict[str, Any]], ...] = (lock_task, sync_task, bundle_task)


def task_dicts(ctx: GraphContext) -> list[dict[str, Any]]:
    """Every task of the graph, as doit task dicts (no ``lock`` task when frozen): the
    operations, then the user's tasks."""
    operations = [build(ctx) for build in TASK_BUILDERS if not (ctx.frozen and build is lock_task)]
    if not ctx.tasks:
        return operations
    from pypm.graph.user_tasks import user_task_dicts

    return [*operations, *user_task_dicts(ctx, [entry["name"] for entry in operations])]
