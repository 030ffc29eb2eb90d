"""User tasks as doit tasks, in the same graph as ``lock`` and ``sync``.

Every user task depends on ``sync`` (its commands run with ``.venv`` activated) and on
what it lists. A task without ``outputs`` always runs. A task with ``outputs`` is skipped
when every outputs pattern matches a file and its definition (with this run's arguments),
the contents of its inputs and outputs, and ``.venv`` (its sync stamp) are what they were
after its last successful run. The record is kept by doit in ``.pypm/``; without one the
task runs, so a lost record never makes a task look up to date.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pypm.graph.context import GraphContext
from pypm.operations.tasks import TaskCall, files_digest, missing_outputs
from pypm.workspace.tasks import TaskDef

STATE_KEY = "pypm-task"


class TaskFreshness:
    """doit's ``uptodate`` check of one task; :attr:`reason` says why it must run."""

    def __init__(self, ctx: GraphContext, task: TaskDef, call: TaskCall) -> None:
        self.ctx, self.task, self.call = ctx, task, call
        self.reason: str | None = None

    def state(self) -> dict[str, str]:
        """What the task's result depends on, as digests."""
        definition = json.dumps({"task": self.task.definition, "values": dict(self.call.values),
                                 "extra": list(self.call.extra)}, sort_keys=True, default=str)
        return {
            "definition": hashlib.sha256(definition.encode()).hexdigest(),
            "inputs": files_digest(self.task.directory, self.task.inputs),
            "environment": _stamp_digest(self.ctx),
        }

    def __call__(self, task: Any, values: dict[str, Any]) -> bool:
        """doit calls this with its task and the values saved by the last successful run."""
        current = self.state()
        outputs = self.task.outputs
        directory = self.task.directory
        task.value_savers.append(lambda: {STATE_KEY: {**current, "outputs": files_digest(directory, outputs)}})
        self.reason = self.why_stale(values.get(STATE_KEY), current)
        return self.reason is None

    def why_stale(self, saved: Any, current: dict[str, str]) -> str | None:
        """Why the task must run (None: up to date)."""
        if not self.task.outputs:
            return "it has no outputs, so it always runs"
        missing = missing_outputs(self.task)
        if missing:
            return f"no file matches its output {missing[0]!r}"
        if not isinstance(saved, dict):
            return "no record of a run that made its outputs"
        for key, words in (("definition", "its definition or arguments changed"),
                           ("inputs", "its inputs changed"), ("environment", ".venv changed")):
            if saved.get(key) != current[key]:
                return words
        if saved.get("outputs") != files_digest(self.task.directory, self.task.outputs):
            return "its outputs changed since it ran"
        return None


def _stamp_digest(ctx: GraphContext) -> str:
    from pypm.operations.stamp import stamp_path

    try:
        return hashlib.sha256(stamp_path(ctx.venv_path).read_bytes()).hexdigest()
    except OSError:
        return "no stamp"


def run_user_task(ctx: GraphContext, name: str) -> bool:
    """doit's action: run the task; a failure is kept on ``ctx`` and fails the doit task."""
    from pypm.graph.hooks import run_stage
    from pypm.operations.tasks import run_task

    task = ctx.tasks[name]
    prefix = (task.member or task.name) if ctx.run_options.jobs > 1 else None

    def work() -> None:
        run_stage(ctx, "pre-task", task=name)
        run_task(task, ctx.venv_path, ctx.call_of(name), prefix, ctx.run_options.side_by_side)
        run_stage(ctx, "post-task", task=name)

    return ctx.kept_failure(work)


def user_task_dicts(ctx: GraphContext, builtins: list[str]) -> list[dict[str, Any]]:
    """Every user task as a doit task dict; ``builtins``: the operations in the graph."""
    dicts = []
    for name, task in ctx.tasks.items():
        deps = [*(["sync"] if "sync" in builtins else []), *(d for d in task.deps if d in builtins or d in ctx.tasks)]
        deps += [d for d in ctx.run_options.after.get(name, ()) if d not in deps]
        entry: dict[str, Any] = {
            "name": name,
            "doc": task.help,
            "actions": [(run_user_task, [ctx, name])],
            "task_dep": list(dict.fromkeys(deps)),
            "verbosity": 2,
        }
        if task.outputs:
            entry["uptodate"] = [ctx.freshness_of(name)]
        dicts.append(entry)
    return dicts
