"""``pypm status [OPERATION...]``: each task of the graph and why it would run."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pypm.cli.graph_options import (
    add_lock_mode_options,
    add_lock_options,
    add_operations,
    add_selection_options,
    add_setting_options,
)

if TYPE_CHECKING:
    from pypm.graph.context import GraphContext

HELP = "show each task (lock, sync, your tasks) and whether a run with the same options would run it, and why"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The operations to show, and the options that change whether a task would run."""
    add_operations(parser, "show only these tasks (default: all)", tasks=True)
    add_lock_options(parser)
    add_selection_options(parser)
    add_lock_mode_options(parser, locked=False, frozen_help="answer for `pypm sync --frozen`: no lock task")
    add_setting_options(parser, offline=False)


def run(options: argparse.Namespace) -> int:
    """Print one line per task: would it run, fresh by hash or not, and doit's reasons."""
    from pypm.cli.graph_options import check_combination, checked_operations
    from pypm.cli.graph_run import load_context
    from pypm.graph.plan import plan
    from pypm.graph.runner import graph_status

    check_combination(options, [])
    ctx = load_context(options)
    check_selection(ctx)
    tasks = ctx.tasks  # a bad task table is refused before any state is written
    shown = checked_operations(options.more, "is not a task", tasks) if options.more else None
    rows = {name: (status, reasons) for name, status, reasons in graph_status(ctx)}
    user_rows = {row.name: row for row in plan(ctx, list(ctx.tasks))} if ctx.tasks else {}
    for name in shown or ("lock", "sync", *ctx.tasks):
        if name in user_rows:
            row = user_rows[name]
            print(f"{row.line()} (doit: {rows[name][0]})")
        elif name in rows:
            print(f"{name}: {_line(ctx, name, *rows[name])}")
        else:
            print(f"{name}: skipped (--frozen installs pylock.toml as it is)")
    return 0


def check_selection(ctx: GraphContext) -> None:
    """Refuse the groups and extras ``pypm sync`` would refuse (exit 2): checked against the
    lock that sync installs, pylock.toml as it is with ``--frozen``, else the lock the
    workspace gives (the one a fresh pylock.toml is, or the re-lock writes)."""
    from functools import partial

    from pypm.lock.reader import read_lock
    from pypm.operations.sync import member_extra_names

    selection = ctx.selection
    if not (selection.groups or selection.only_groups or selection.extras):
        return
    workspace = ctx.workspace
    if ctx.frozen and workspace.lock_path.is_file():
        lock = read_lock(workspace.lock_path)  # validated, as sync reads it (a malformed lock: its one error line)
        groups, extras = list(lock.dependency_groups or []), list(lock.extras or [])
    else:
        groups, extras = list(workspace.groups()), list(workspace.extras())
    selection.resolve_groups(groups, [])
    selection.resolve_extras(extras, partial(member_extra_names, workspace))


def _line(ctx: GraphContext, name: str, status: str, reasons: dict) -> str:
    """The verdict for one task, then how it was found."""
    from pypm.graph.freshness import CHECKS

    fresh = CHECKS[name](ctx)
    forced = ctx.lock_request.forces
    if name == "lock" and forced:
        verdict = "would run (re-lock requested)"
    elif name == "sync" and forced and fresh:
        verdict = "would run if the re-lock changes pylock.toml"
    else:
        verdict = "up to date" if fresh else "would run"
    return f"{verdict} (by hash: {'fresh' if fresh else 'stale'}; doit: {status}{_reasons(reasons)})"


_UPTODATE_LABELS = {
    "config_changed": "settings changed",
    "lock_is_fresh": "input hash differs from pylock.toml",
    "sync_is_fresh": ".venv stamp does not match pylock.toml",
    "bool": "re-lock requested",
}


def _label(check: object) -> str:
    """A short phrase for one of doit's 'uptodate' checks."""
    name = getattr(check, "__name__", type(check).__name__)
    return _UPTODATE_LABELS.get(name, name)


def _reasons(reasons: dict) -> str:
    """doit's reasons as ``; ``-separated phrases."""
    parts = []
    for key, value in reasons.items():
        if key == "uptodate_false":
            parts.extend(_label(check) for check, _args, _kwargs in value)
        elif isinstance(value, list):
            parts.append(f"{key.replace('_', ' ')}: {', '.join(str(v) for v in value)}")
        else:
            parts.append(key.replace("_", " "))
    return " - " + "; ".join(parts) if parts else ""
