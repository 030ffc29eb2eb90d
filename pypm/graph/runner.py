"""Drive doit from pypm's own loader: state in ``.pypm/`` (sqlite3), under a file lock.

doit's state is pypm's own: when the database is corrupt (or cannot be written) it is
deleted and made afresh, and the user is told. doit never prints a traceback here: it is
driven through its command object (as ``doit.api.run_tasks`` does), so its exceptions
reach pypm, which reports them as one line.
"""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path
from typing import Any

import doit.plugin
from doit.cmd_base import TaskLoader2, get_loader
from doit.dependency import DatabaseException, Dependency, MD5Checker, SqliteDB
from doit.doit_cmd import DoitMain
from doit.reporter import ConsoleReporter
from doit.task import dict_to_task

from pypm import ui
from pypm.errors import FileSystemError, PypmError, os_error
from pypm.graph import GRAPH_OPERATIONS
from pypm.graph.context import GraphContext
from pypm.graph.session import check_kinds, db_path, first_error, prepare_state_dir, project_lock, remove_left_temps
from pypm.graph.tasks import task_dicts

__all__ = ["db_path", "graph_status", "project_lock", "run_graph"]

_DB_COMPANIONS = ("", "-journal", "-wal", "-shm")
OPERATION_NAMES = frozenset(GRAPH_OPERATIONS)


def _no_entry_points(group: str) -> tuple[()]:
    """doit looks for third-party commands, reporters and backends among the installed
    distributions' entry points, scanning every one of them on each run (~25 ms). pypm
    drives doit with its own loader, reporter and backend only, so there are none to find."""
    return ()


doit.plugin.entry_points_impl = lambda: _no_entry_points


class _Reporter(ConsoleReporter):
    """Quiet doit reporter: operations print their own lines; failures are kept."""

    def __init__(self) -> None:
        super().__init__(sys.stdout, {"failure_verbosity": 0})
        self.executed = 0

    def execute_task(self, task: Any) -> None:
        self.executed += 1
        ui.detail(f"{task.name}: running")

    def skip_uptodate(self, task: Any) -> None:
        if task.name in OPERATION_NAMES:
            ui.detail(f"{task.name}: up to date")
        else:  # a user task: say so, as make does
            ui.info(f"{task.name}: up to date, skipped")

    def add_failure(self, task: Any, fail: Any) -> None:
        self.failures.append({"task": task, "exception": fail})

    def runtime_error(self, msg: str) -> None:
        self.runtime_errors.append(msg)

    def complete_run(self) -> None:
        return None

    def first_problem(self) -> str | None:
        """doit's own words for the first failure (not an operation's error), one line."""
        messages = [*self.runtime_errors, *(f["exception"].get_msg() for f in self.failures)]
        lines = [line.strip() for text in messages for line in str(text).splitlines() if line.strip()]
        return lines[0] if lines else None


class _Loader(TaskLoader2):  # type: ignore[misc]
    def __init__(self, ctx: GraphContext, reporter: _Reporter) -> None:
        super().__init__()
        self.ctx = ctx
        self.reporter = reporter

    def setup(self, opt_values: dict[str, Any]) -> None:
        return None

    def load_doit_config(self) -> dict[str, Any]:
        return {
            "verbosity": 2,
            "reporter": self.reporter,
            "dep_file": str(db_path(self.ctx)),
            "backend": "sqlite3",
            "check_file_uptodate": "md5",
        }

    def load_tasks(self, cmd: Any, pos_args: list[str]) -> list[Any]:
        return [dict_to_task(d) for d in task_dicts(self.ctx)]


def run_graph(ctx: GraphContext, operations: list[str]) -> None:
    """Run ``operations`` (and what they depend on) through doit; raise the first error."""
    check_kinds(ctx, operations)
    prepare_state_dir(ctx)
    with project_lock(ctx):
        remove_left_temps(ctx)
        try:
            catch_up(ctx)
        except (DatabaseException, sqlite3.Error):
            pass  # the run below resets a database that cannot be used, and says so
        reporter, code = _run_resetting_state(ctx, operations)
    if ctx.errors:
        raise first_error(ctx)
    if code != 0 or reporter.failures or reporter.runtime_errors:
        problem = reporter.first_problem() or f"doit exit code {code}"
        raise PypmError(f"the task graph failed: {problem}", hint="run again with -v")


def _run_resetting_state(ctx: GraphContext, operations: list[str]) -> tuple[_Reporter, int]:
    """Run doit. When its database is corrupt, reset it and run again; when it cannot be
    written after the operations ran, reset it and say so; else fail with one line."""
    reporter = _Reporter()
    try:
        return reporter, _run_doit(ctx, operations, reporter)
    except (DatabaseException, sqlite3.Error) as exc:
        if ctx.errors:  # an operation failed first: its error is the one to report
            return reporter, 0
        problem = _state_problem(ctx, exc)
        if problem is not None and not reporter.executed:
            raise problem from None
        ui.info(f"pypm state in {ctx.state_dir.name} {_reset_state(ctx, exc)} and has been reset")
        if reporter.executed:  # the operations are done; only recording them failed
            return reporter, 0
    reporter = _Reporter()
    try:
        return reporter, _run_doit(ctx, operations, reporter)
    except (DatabaseException, sqlite3.Error) as exc:
        if ctx.errors:
            return reporter, 0
        raise _state_problem(ctx, exc) or PypmError(
            f"cannot use pypm state {db_path(ctx)}: {_sqlite_reason(exc)}", hint=f"delete {ctx.state_dir}"
        ) from None


def _sqlite_reason(exc: Exception) -> str:
    """sqlite's own words from doit's wrapped message."""
    text = str(exc)
    return text.split("Original error:", 1)[-1].strip() or type(exc).__name__


def _state_problem(ctx: GraphContext, exc: Exception) -> FileSystemError | None:
    """The database cannot be written (full disk, read-only): an error that resetting
    would not cure; None for a corrupt database."""
    text = _sqlite_reason(exc).lower()
    if "full" in text:
        return FileSystemError(f"no space left on device while writing {db_path(ctx)}", hint="free space on that disk")
    if "readonly" in text or "read-only" in text or "unable to open" in text:
        return FileSystemError(f"cannot write {db_path(ctx)} ({_sqlite_reason(exc)})",
                               hint=f"make {ctx.state_dir} writable")
    return None


def _run_doit(ctx: GraphContext, operations: list[str], reporter: _Reporter) -> int:
    """doit's ``run`` command, without the catch-all of ``DoitMain.run`` that prints
    tracebacks (the same steps as ``doit.api.run_tasks``, minus reading doit config files)."""
    main = DoitMain(_Loader(ctx, reporter), config_filenames=())
    commands = main.get_cmds()
    command = commands.get_plugin("run")(
        task_loader=get_loader(main.config, main.task_loader, commands),
        config=main.config, bin_name=main.BIN_NAME, cmds=commands, opt_vals={},
    )
    options = ctx.run_options
    doit_args = [*(["-n", str(options.jobs), "-P", "thread"] if options.jobs > 1 else []),
                 *(["--continue"] if options.keep_going else [])]
    if options.jobs == 1:  # each task's command is supervised as `pypm run`'s is
        return int(command.parse_execute([*doit_args, *operations]))
    from pypm.operations.supervise import SideBySide

    options.side_by_side = SideBySide()
    with options.side_by_side.handling_signals():
        return int(command.parse_execute([*doit_args, *operations]))


def _reset_state(ctx: GraphContext, exc: Exception) -> str:
    """Delete doit's database (pypm's own file); return what was wrong with it, as words
    that follow "pypm state in .pypm"."""
    text = _sqlite_reason(exc).lower()
    if "full" in text:
        reason = "could not be written (no space left on device)"
    elif "i/o" in text:
        reason = "could not be read or written (disk I/O error)"
    else:
        reason = "was corrupt"
    for suffix in _DB_COMPANIONS:
        try:
            Path(f"{db_path(ctx)}{suffix}").unlink(missing_ok=True)
        except OSError as error:
            raise os_error(error) from None
    return reason


def catch_up(ctx: GraphContext, tasks: dict[str, Any] | None = None) -> None:
    """Record in doit's database, as doit does after running them, the operations pypm
    ran without doit (:mod:`pypm.graph.direct`) that their own checks still find fresh;
    then forget the list (those found stale are left for doit to run). ``tasks``: the
    graph's doit tasks by name, when already made (else made here, only when needed)."""
    from pypm.graph.freshness import CHECKS
    from pypm.graph.session import DIRECT_RUNS, read_direct_runs

    names = read_direct_runs(ctx.state_dir)
    if not names:
        return
    if tasks is None:
        tasks = {t.name: t for t in (dict_to_task(d) for d in task_dicts(ctx))}
    manager = Dependency(SqliteDB, str(db_path(ctx)), checker_cls=MD5Checker)
    try:
        for name in names:
            task = tasks.get(name)
            if task is not None and CHECKS[name](ctx):
                manager.get_status(task, tasks)  # evaluates the uptodate checks, whose values are saved
                task.save_extra_values()
                manager.save_success(task)
    finally:
        manager.close()
    (ctx.state_dir / DIRECT_RUNS).unlink(missing_ok=True)


def graph_status(ctx: GraphContext) -> list[tuple[str, str, dict[str, Any]]]:
    """(task, doit status, doit's reasons) for every task, without running anything (a
    corrupt state database is reset first, as for a run)."""
    check_kinds(ctx)
    prepare_state_dir(ctx)
    tasks = {t.name: t for t in (dict_to_task(d) for d in task_dicts(ctx))}
    try:
        catch_up(ctx, tasks)
        return _status_rows(ctx, tasks)
    except (DatabaseException, sqlite3.Error) as exc:
        problem = _state_problem(ctx, exc)
        if problem is not None:
            raise problem from None
        ui.info(f"pypm state in {ctx.state_dir.name} {_reset_state(ctx, exc)} and has been reset")
    return _status_rows(ctx, tasks)


def _status_rows(ctx: GraphContext, tasks: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    manager = Dependency(SqliteDB, str(db_path(ctx)), checker_cls=MD5Checker)
    try:
        rows = []
        for name, task in tasks.items():
            status = manager.get_status(task, tasks, get_log=True)
            rows.append((name, status.status, dict(status.reasons)))
        return rows
    finally:
        manager.close()
