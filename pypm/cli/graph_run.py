"""Run graph operations as the options ask: one place that turns options into a
:class:`GraphContext` and runs it (or answers "all up to date" without loading doit)."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable
from pathlib import Path

from pypm.cli.graph_options import (
    check_combination,
    checked_operations,
    lock_mode,
    lock_request_from,
    reinstall_from,
    selection_from,
    setting_overrides,
)
from pypm.cli.parser import start_dir
from pypm.config import Settings
from pypm.graph import GRAPH_OPERATIONS
from pypm.graph.context import GraphContext, RunOptions


def apply_overrides(settings: Settings, options: argparse.Namespace) -> Settings:
    """``settings`` with the values given on the command line (each named by its flag)."""
    for name, (value, flag) in setting_overrides(options).items():
        settings.override(name, value, source=flag)
    return settings


def user_settings(options: argparse.Namespace) -> Settings:
    """The settings outside any project (user config, variables) with this command line's
    overrides: those a named environment or a script's environment starts from."""
    from pypm.config import load_settings

    return apply_overrides(load_settings({}), options)


def with_run_options(ctx: GraphContext, options: argparse.Namespace, frozen: bool) -> GraphContext:
    """``ctx`` with this command line's setting overrides and reinstall request; ``frozen``:
    the lock is installed as it is and never written (``--frozen``/``--locked``)."""
    apply_overrides(ctx.settings, options)
    ctx.frozen = frozen
    ctx.reinstall = reinstall_from(options)
    return ctx


def load_context(options: argparse.Namespace) -> GraphContext:
    """The workspace with this run's selection, lock request, settings and lock mode."""
    from pypm.cli.main import COMMAND_ALIASES, COMMANDS

    ctx = GraphContext.load(
        start_dir(options), selection=selection_from(options), lock_request=lock_request_from(options)
    )
    with_run_options(ctx, options, frozen=lock_mode(options) is not None)
    ctx.reserved_names = (*COMMANDS, *COMMAND_ALIASES)
    ctx.plain_run = getattr(options, "plain_run", False)
    ctx.run_options = RunOptions(jobs=getattr(options, "jobs", 1), keep_going=getattr(options, "keep_going", False))
    return ctx


def load_task_context(options: argparse.Namespace) -> GraphContext:
    """The workspace alone (no lock or sync options), for listing its tasks."""
    from pypm.cli.main import COMMAND_ALIASES, COMMANDS

    ctx = GraphContext.load(start_dir(options))
    ctx.reserved_names = (*COMMANDS, *COMMAND_ALIASES)
    return ctx


def run_operations(options: argparse.Namespace, names: list[str], ctx: GraphContext | None = None) -> GraphContext:
    """Run the operations and user tasks ``names`` (and what they need), or say that all
    is up to date without loading doit; with ``--dry-run``, say what would run.

    ``--frozen`` installs pylock.toml as it is; ``--locked`` first fails (exit 1) when it
    is stale. Neither re-locks (uv's ``--frozen``/``--locked``)."""
    from pypm import ui
    from pypm.graph.freshness import stale_operations

    ctx = ctx or load_context(options)
    what = "is neither a pypm command nor a task here" if getattr(options, "bare", False) else "is not a task here"
    if getattr(options, "bare", False) and _plugins_off():
        what += " (plugins are off, so no plugin command either)"
    names = checked_operations(_task_names(ctx, names), what, ctx.tasks)
    operations = [name for name in names if name in GRAPH_OPERATIONS]
    check_combination(options, operations)
    if lock_mode(options) == "locked" and ctx.frozen:  # (not frozen: a script without a lock of its own)
        from pypm.operations.lock import check

        check(ctx.validate())
    if getattr(options, "dry_run", False):
        _print_plan(ctx, names)
        return ctx
    user_tasks = len(names) > len(operations)
    forced = ctx.lock_request.forces or ctx.reinstall.forces  # (bundle's chain includes the sync)
    stale = operations if forced else stale_operations(ctx, operations)
    if not user_tasks and not stale:
        ui.info(f"All up to date ({', '.join(operations)})")
        return ctx
    ctx.validate()  # every member is checked before any state is written
    if user_tasks:
        from pypm.graph.runner import run_graph

        run_graph(ctx, names)
    else:  # the fixed chain lock -> sync -> bundle needs no scheduler
        from pypm.graph.direct import run_direct

        run_direct(ctx, operations)
    return ctx


def _task_names(ctx: GraphContext, names: list[str]) -> list[str]:
    """Each name that is no operation as ``pypm run NAME`` reads it (the task of the member
    the current directory is in, else the root's, else the one member's); unknown names
    are kept, for :func:`checked_operations` to refuse."""
    if all(name in GRAPH_OPERATIONS for name in names):
        return names
    from pypm.cli.task_choice import task_names

    chosen: list[str] = []
    for name in names:
        found = [] if name in GRAPH_OPERATIONS else task_names(ctx, name, None, False)
        chosen.extend(found or [name])
    return chosen


def _print_plan(ctx: GraphContext, names: list[str]) -> None:
    """``--dry-run``: one line per task on stdout, in the order a run takes them."""
    from pypm.graph.plan import plan

    ctx.validate()
    for row in plan(ctx, names):
        print(row.line())


def sync_operations(options: argparse.Namespace) -> list[str]:
    """What ``run`` and ``shell`` bring up to date first: only ``sync`` under
    ``--frozen``/``--locked`` (which never re-lock), else ``lock`` and ``sync``."""
    return ["sync"] if lock_mode(options) else ["lock", "sync"]


def edit_context(options: argparse.Namespace) -> GraphContext:
    """The workspace and its settings with this command's overrides (no lock or sync
    options: ``add`` and ``remove`` lock with the defaults and sync the default selection)."""
    from pypm.cli.main import COMMAND_ALIASES, COMMANDS
    from pypm.cli.parser import start_dir

    ctx = GraphContext.load(start_dir(options))
    apply_overrides(ctx.settings, options)
    ctx.reserved_names = (*COMMANDS, *COMMAND_ALIASES)
    return ctx


def run_edit(options: argparse.Namespace, items: list[str], edit: Callable[..., object], remove: bool = False) -> int:
    """``pypm add`` / ``pypm remove``: apply ``edit(raw, settings, items, place, package,
    cwd)`` (which locks), then sync unless ``--no-sync``."""
    from pypm.cli.graph_options import place_from
    from pypm.cli.parser import start_dir
    from pypm.errors import UsageError
    from pypm.graph.hooks import lock_hooks

    for_sync = [flag for flag, value in (("--python", options.python), ("--link-mode", options.link_mode)) if value]
    if options.no_sync and for_sync:
        raise UsageError(f"{for_sync[0]} applies to the sync, which --no-sync skips", hint="drop one of them")
    if options.script is not None:
        if options.env or options.global_env:
            raise UsageError("--script edits a script, so it cannot go with --env or --global",
                             hint="drop one of them")
        return _edit_script(options, items, remove)
    env = _env_name(options)
    if env is not None:
        return _edit_env(options, items, edit, env, remove)
    from pypm.graph.session import editing_project

    ctx = edit_context(options)
    with edited_files_restored_on_failure(ctx):  # as uv's add/remove revert when their sync fails
        with editing_project(ctx):
            edit(ctx.raw, ctx.settings, items, place_from(options), options.package, start_dir(options),
                 hooks=lock_hooks(ctx))
        if not options.no_sync:
            run_operations(options, ["sync"], edit_context(options))
    return 0


def edited_files_restored_on_failure(ctx: GraphContext) -> contextlib.ExitStack:
    """A context that puts every file an edit may write (the members' and the root's
    ``pyproject.toml``, ``pylock.toml``) back as it was when the block fails, the sync
    after the lock included: uv's ``add``/``remove`` revert both files then too."""
    from pypm.fsutil import restored_on_failure

    stack = contextlib.ExitStack()
    paths = dict.fromkeys([ctx.raw.config_file, *(member.pyproject for member in ctx.raw.members), ctx.lock_path])
    for path in paths:
        stack.enter_context(restored_on_failure(path))
    return stack


def _env_name(options: argparse.Namespace) -> str | None:
    """``--env NAME``, or ``default`` for ``--global``; None for the workspace."""
    from pypm.operations.envs import DEFAULT_ENV

    return options.env if options.env else DEFAULT_ENV if getattr(options, "global_env", False) else None


def _edit_env(options: argparse.Namespace, items: list[str], edit: Callable[..., object], name: str,
              remove: bool) -> int:
    """``--env NAME`` / ``--global``: edit a named environment (``default`` is made on first use)."""
    from pypm.cli.graph_options import place_from
    from pypm.errors import UsageError
    from pypm.graph.hooks import lock_hooks
    from pypm.graph.session import editing_project
    from pypm.operations import envs

    flags = [flag for flag, given in (("--package", options.package), ("-e", getattr(options, "editable", None)),
                                      ("--group", options.place_group), ("--optional", options.place_optional),
                                      ("--dev", options.place_dev)) if given]
    if flags:  # one list, installed whole (run --env and shell --env take no selection either)
        raise UsageError(f"an environment holds one list of requirements, so --env and --global cannot take "
                         f"{flags[0]}", hint=f"drop {flags[0]}")
    created = None
    if name == envs.DEFAULT_ENV and name not in envs.list_envs() and not remove:
        created = envs.create_env_files(name, user_settings(options))
    try:
        ctx = env_context(options, name)
        with edited_files_restored_on_failure(ctx):
            with editing_project(ctx):
                edit(ctx.raw, ctx.settings, items, place_from(options), None, ctx.raw.root, hooks=lock_hooks(ctx))
            if not options.no_sync:
                run_operations(options, ["sync"], env_context(options, name))
    except BaseException:
        if created is not None:
            envs.discard_new_env(created)
        raise
    return 0


def script_context(options: argparse.Namespace, script: Path) -> GraphContext:
    """The generated project of a PEP 723 script's environment, with this run's lock
    request and settings; its lock is ``script.py.lock`` when that matches the script."""
    from pypm.lock.reader import read_input_hash
    from pypm.operations.script import adopt_script_lock, prepare_environment, script_lock_path
    from pypm.operations.selection import Selection
    from pypm.workspace.inputs import input_hash

    directory = prepare_environment(script, user_settings(options).cache_dir)
    request = lock_request_from(options) if hasattr(options, "upgrade") else None  # add/remove: the defaults
    ctx = GraphContext.load(directory, exact=True, selection=Selection(install_project=False), lock_request=request)
    with_run_options(ctx, options, frozen=False)
    ctx.raw.label = f"the environment of {script.name}"
    sidecar = script_lock_path(script)
    recorded = read_input_hash(sidecar)  # None: no lock, or one pypm did not write
    mode = _script_lock_mode(options, script, recorded is not None)
    current = recorded == input_hash(ctx.raw, ctx.settings)
    if mode == "locked" and not current:
        from pypm.errors import LockError

        raise LockError(f"{sidecar} is out of date with the dependencies of {script.name}",
                        hint=f"run `pypm lock --script {script}`, or drop --locked")
    adopt_script_lock(script, directory, current or mode == "frozen")
    ctx.frozen = mode is not None
    return ctx


def _script_lock_mode(options: argparse.Namespace, script: Path, has_lock: bool) -> str | None:
    """``--frozen``/``--locked`` for a script: they apply to its ``script.py.lock``; without
    one they are ignored with a warning (as uv does: the environment is pypm's own cache)."""
    mode = lock_mode(options)
    if mode is not None and not has_lock:
        from pypm import ui

        ui.warning(f"{script.name} has no lock of its own, so --{mode} is ignored; "
                   f"`pypm lock --script {script}` writes one")
        return None
    return mode



def _edit_script(options: argparse.Namespace, items: list[str], remove: bool) -> int:
    """``--script FILE``: edit the script's block, lock its environment (the old text is
    put back when that fails), and keep ``FILE.lock`` current when there is one."""
    from pypm import ui
    from pypm.errors import UsageError
    from pypm.fsutil import restored_on_failure, write_user_file
    from pypm.operations.script import edit_script_dependencies, keep_script_lock

    place = [flag for flag, given in (("--group", options.place_group), ("--dev", options.place_dev),
                                      ("--optional", options.place_optional), ("--package", options.package))
             if given]
    if place:
        raise UsageError(f"a script has one dependency list, so --script cannot take {place[0]}",
                         hint=f"drop {place[0]}")
    script = start_dir(options) / options.script
    new = edit_script_dependencies(script, items, remove)
    with restored_on_failure(script):
        write_user_file(script, new.encode("utf-8"))
        ctx = run_operations(options, ["lock"] if options.no_sync else ["lock", "sync"],
                             script_context(options, script))
    keep_script_lock(script, ctx.raw.root)
    ui.info(f"{'Removed' if remove else 'Added'} {', '.join(items)} {'from' if remove else 'to'} {script}")
    return 0


def env_context(options: argparse.Namespace, name: str) -> GraphContext:
    """Named environment ``name`` (which must exist), with this run's settings; its own
    project is never installed (it only holds the requirements)."""
    from pypm.cli.main import COMMAND_ALIASES, COMMANDS
    from pypm.operations.envs import existing_env
    from pypm.operations.selection import Selection

    request = lock_request_from(options) if hasattr(options, "upgrade") else None
    ctx = GraphContext.load(existing_env(name), exact=True, selection=Selection(install_project=False),
                            lock_request=request)
    with_run_options(ctx, options, frozen=lock_mode(options) is not None)
    ctx.raw.label = f"environment {name}"
    ctx.reserved_names = (*COMMANDS, *COMMAND_ALIASES)
    return ctx


def _plugins_off() -> bool:
    from pypm.plugins.presence import plugins_disabled

    return plugins_disabled()
