"""Drive doit from pypm's own loader: state in ``.pypm/`` (sqlite3), under a file lock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from doit.cmd_base import TaskLoader2
from doit.dependency import Dependency, MD5Checker, SqliteDB
from doit.doit_cmd import DoitMain
from doit.reporter import ConsoleReporter
from doit.task import dict_to_task

from pypm import ui
from pypm.errors import PypmError
from pypm.graph.context import GraphContext
from pypm.graph.tasks import task_dicts

DB_NAME = "doit.sqlite3"


class _Reporter(ConsoleReporter):
    """Quiet doit reporter: operations print their own lines; failures are re-raised."""

    def execute_task(self, task: Any) -> None:
        ui.detail(f"{task.name}: running")

    def skip_uptodate(self, task: Any) -> None:
        ui.detail(f"{task.name}: up to date")

    def add_failure(self, task: Any, fail: Any) -> None:
        self.failures.append({"task": task, "exception": fail})

    def complete_run(self) -> None:
        return None


class _Loader(TaskLoader2):  # type: ignore[misc]
    def __init__(self, ctx: GraphContext) -> None:
        super().__init__()
        self.ctx = ctx

    def setup(self, opt_values: dict[str, Any]) -> None:
        return None

    def load_doit_config(self) -> dict[str, Any]:
        return {
            "verbosity": 2,
            "reporter": _Reporter,
            "dep_file": str(db_path(self.ctx)),
            "backend": "sqlite3",
            "check_file_uptodate": "md5",
        }

    def load_tasks(self, cmd: Any, pos_args: list[str]) -> list[Any]:
        return [dict_to_task(d) for d in task_dicts(self.ctx)]


def db_path(ctx: GraphContext) -> Path:
    """doit's state database for this workspace."""
    return ctx.state_dir / DB_NAME


def _prepare_state_dir(ctx: GraphContext) -> None:
    ctx.state_dir.mkdir(exist_ok=True)
    ignore = ctx.state_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")


def run_graph(ctx: GraphContext, operations: list[str]) -> None:
    """Run ``operations`` (and what they depend on) through doit; raise the first error."""
    from filelock import FileLock

    _prepare_state_dir(ctx)
    with FileLock(str(ctx.state_dir / "graph.lock")):
        code = DoitMain(_Loader(ctx), config_filenames=()).run(["run", *operations])
    if ctx.errors:
        raise ctx.errors[0]
    if code != 0:
        raise PypmError(f"the task graph failed (doit exit code {code})", hint="run again with -v")


def graph_status(ctx: GraphContext) -> list[tuple[str, str, dict[str, Any]]]:
    """(task, doit status, doit's reasons) for every task, without running anything."""
    _prepare_state_dir(ctx)
    tasks = {t.name: t for t in (dict_to_task(d) for d in task_dicts(ctx))}
    manager = Dependency(SqliteDB, str(db_path(ctx)), checker_cls=MD5Checker)
    try:
        rows = []
        for name, task in tasks.items():
            status = manager.get_status(task, tasks, get_log=True)
            rows.append((name, status.status, dict(status.reasons)))
        return rows
    finally:
        manager.close()
