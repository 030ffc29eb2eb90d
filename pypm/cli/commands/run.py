"""``pypm run NAME [ARGS...]``: run a task of the workspace (and what it needs), or a
command in ``.venv``, locking and syncing first when stale."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pypm.cli.graph_options import add_graph_run_options, add_sync_command_options

if TYPE_CHECKING:
    from pypm.graph.context import GraphContext

HELP = "run a task of [tool.pypm.tasks], or a command in .venv (locking and syncing first when stale)"
EPILOG = ("A task's name wins over a command of that name; `pypm run -- NAME` runs the command. "
          "Arguments after NAME go to its command; a task's declared args are given as --ARG VALUE.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Sync options, the task options, ``--no-sync``, then the task or command."""
    parser.epilog = EPILOG
    add_sync_command_options(parser)
    add_graph_run_options(parser)
    tasks = parser.add_argument_group("tasks")
    tasks.add_argument("--list", action="store_true", help="list the workspace's tasks and exit")
    tasks.add_argument("--all-members", action="store_true", help="run the task in every member that defines it")
    tasks.add_argument("--package", metavar="MEMBER", help="run MEMBER's task of that name")
    parser.add_argument("--env", metavar="NAME",
                        help="run the command in the named environment NAME (`pypm env`) instead of .venv")
    parser.add_argument("--no-sync", action="store_true",
                        help="run a command in .venv as it is, without locking or syncing "
                             "(takes no lock or sync option)")
    parser.add_argument("cmd", nargs=argparse.REMAINDER, metavar="NAME", help="the task or command, and its arguments")


def run(options: argparse.Namespace) -> int:
    """List tasks, run a task through the graph, or bring the environment up to date and
    run the command."""
    from pypm.cli.graph_run import load_context, run_operations, sync_operations
    from pypm.cli.task_choice import print_task_list, task_names
    from pypm.errors import UsageError
    from pypm.graph.hooks import run_stage
    from pypm.operations.run import run_in_venv

    command = list(options.cmd)
    forced = command[:1] == ["--"]
    command = command[1:] if forced else command
    if options.list:
        _refuse_with_list(options, command)
        print_task_list(load_context(options))
        return 0
    if not command:
        raise UsageError("no task or command given", hint="e.g. `pypm run test` or `pypm run pytest`; "
                                                          "`pypm run --list` lists the tasks")
    if options.env:
        return _run_in_env(options, command)
    if not forced and command[0].endswith(".py") and Path(command[0]).is_file():
        from pypm.workspace.script import has_metadata

        if has_metadata(Path(command[0])):
            return _run_script(options, Path(command[0]), command[1:])
        command = ["python", *command]  # a plain script runs with the project's Python, as uv does
    if options.no_sync:
        _refuse_task_options(options, "--no-sync")
        ctx = _unsynced_context(options)
        if not forced and task_names(ctx, command[0], None, False):
            raise UsageError(f"{command[0]} is a task, and a task runs after sync, so it cannot take --no-sync",
                             hint=f"drop --no-sync, or run the command: `pypm run --no-sync -- {command[0]}`")
        run_stage(ctx, "pre-run", command=tuple(command))
        return run_in_venv(ctx.venv_path, command)
    ctx = load_context(options)
    names = [] if forced else task_names(ctx, command[0], options.package, options.all_members)
    if names:
        _set_calls(ctx, names, command[1:])
        run_operations(options, names, ctx)
        return 0
    _refuse_task_options(options, f"{command[0]} is not a task; it")
    ctx = run_operations(options, sync_operations(options), ctx)
    if options.dry_run:
        print(f"then run: {' '.join(command)}")
        return 0
    run_stage(ctx, "pre-run", command=tuple(command))
    return run_in_venv(ctx.venv_path, command)


def _set_calls(ctx: GraphContext, names: list[str], argv: list[str]) -> None:
    """Each named task's arguments; with several (``--all-members``), each member's task
    follows those of the members it depends on."""
    from pypm.cli.task_choice import member_order
    from pypm.operations.tasks import split_call

    for name in names:
        ctx.run_options.calls[name] = split_call(ctx.tasks[name], argv)
    if len(names) > 1:
        ctx.run_options.after.update(member_order(ctx, names))


def _refuse_with_list(options: argparse.Namespace, command: list[str]) -> None:
    """``--list`` reads the tasks and runs nothing, so it honours no option of a run, a
    lock or a sync: refuse any given (and a task or command) rather than ignore it."""
    from pypm.cli.graph_options import LOCK_FLAGS, SYNC_FLAGS, given_flags
    from pypm.errors import UsageError

    run_flags = {"all_members": "--all-members", "package": "--package", "dry_run": "--dry-run",
                 "keep_going": "--keep-going", "env": "--env", "no_sync": "--no-sync"}
    extra = [*command[:1], *given_flags(options, {**run_flags, **LOCK_FLAGS, **SYNC_FLAGS}),
             *(["--jobs"] if options.jobs != 1 else [])]
    if extra:
        raise UsageError(f"--list only lists the tasks, so it cannot take {extra[0]}", hint=f"drop {extra[0]}")


def _refuse_task_options(options: argparse.Namespace, what: str) -> None:
    """Task options only apply to tasks: refuse them (one line) rather than ignore them."""
    from pypm.errors import UsageError

    given = [flag for flag, value in (("--all-members", options.all_members), ("--package", options.package),
                                      ("--jobs", options.jobs != 1), ("--keep-going", options.keep_going))
             if value]
    if given:
        raise UsageError(f"{what} runs a command, so it cannot take {given[0]}", hint=f"drop {given[0]}")


def _run_script(options: argparse.Namespace, script: Path, arguments: list[str]) -> int:
    """A PEP 723 script: its own cached environment (locked and synced when stale; a
    ``script.py.lock`` beside it is used and kept current), then ``python script.py``."""
    from pypm.cli.graph_options import refuse_selection
    from pypm.cli.graph_run import run_operations, script_context, sync_operations
    from pypm.errors import UsageError
    from pypm.graph.hooks import run_stage
    from pypm.operations.run import run_in_venv
    from pypm.operations.script import keep_script_lock

    _refuse_task_options(options, f"{script} is a script; it")
    refuse_selection(options, "a script")
    if options.no_sync:
        raise UsageError("--no-sync does not apply to a script: its environment is made for it",
                         hint="drop --no-sync")
    ctx = script_context(options, script)
    ctx = run_operations(options, sync_operations(options), ctx)
    if options.dry_run:
        print(f"then run: python {script} {' '.join(arguments)}".rstrip())
        return 0
    keep_script_lock(script, ctx.raw.root)
    command = ["python", str(script.resolve()), *arguments]
    run_stage(ctx, "pre-run", command=tuple(command))
    return run_in_venv(ctx.venv_path, command)


def _run_in_env(options: argparse.Namespace, command: list[str]) -> int:
    """``--env NAME``: bring the named environment up to date, then run the command in it."""
    from pypm.cli.graph_options import refuse_selection
    from pypm.cli.graph_run import env_context, run_operations, sync_operations
    from pypm.graph.hooks import run_stage
    from pypm.operations.run import run_in_venv

    _refuse_task_options(options, "--env runs a command; it")
    refuse_selection(options, "a named environment")
    if options.no_sync:
        _refuse_with_no_sync(options)
        ctx = env_context(options, options.env)
    else:
        ctx = run_operations(options, sync_operations(options), env_context(options, options.env))
    if options.dry_run and not options.no_sync:
        print(f"then run: {' '.join(command)}")
        return 0
    run_stage(ctx, "pre-run", command=tuple(command))
    return run_in_venv(ctx.venv_path, command)


def _unsynced_context(options: argparse.Namespace) -> GraphContext:
    """The workspace for ``--no-sync``, which honours no lock or sync option: any given
    is refused rather than ignored."""
    from pypm.cli.graph_run import load_context

    _refuse_with_no_sync(options)
    return load_context(options)


def _refuse_with_no_sync(options: argparse.Namespace) -> None:
    """``--no-sync`` honours no lock or sync option, nor ``--dry-run``: refuse any given."""
    from pypm.cli.graph_options import LOCK_FLAGS, SYNC_FLAGS, given_flags
    from pypm.errors import UsageError

    given = given_flags(options, {**LOCK_FLAGS, **SYNC_FLAGS, "dry_run": "--dry-run"})
    if given:
        raise UsageError(f"--no-sync neither locks nor syncs, so it cannot be combined with {given[0]}",
                         hint=f"drop {given[0]} or --no-sync")
