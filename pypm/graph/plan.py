"""What a graph run would do, and why, without running anything (``--dry-run``,
``pypm status``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pypm.graph import GRAPH_OPERATIONS
from pypm.graph.context import GraphContext
from pypm.workspace.tasks import closure


@dataclass(frozen=True)
class PlanRow:
    """One task: whether it would run, and why (or why not)."""

    name: str
    runs: bool
    reason: str

    def line(self) -> str:
        """``name: would run (reason)`` or ``name: up to date``."""
        verdict = "would run" if self.runs else "up to date"
        return f"{self.name}: {verdict}" + (f" ({self.reason})" if self.reason else "")


def graph_names(ctx: GraphContext, names: Sequence[str]) -> list[str]:
    """``names`` with what they depend on, in the order a run takes them: the operations
    (a user task needs ``sync``, ``sync`` needs ``lock`` unless frozen), then user tasks."""
    user = closure(ctx.tasks, [n for n in names if n in ctx.tasks])
    wanted = {n for n in names if n in GRAPH_OPERATIONS}
    wanted |= {dep for name in user for dep in ctx.tasks[name].deps if dep in GRAPH_OPERATIONS}
    if user or "bundle" in wanted:
        wanted.add("sync")
    if "sync" in wanted and not ctx.frozen:
        wanted.add("lock")
    if ctx.frozen:
        wanted.discard("lock")
    return [*(op for op in GRAPH_OPERATIONS if op in wanted), *user]


def plan(ctx: GraphContext, names: Sequence[str]) -> list[PlanRow]:
    """A row for each task a run of ``names`` would consider."""
    from pypm.graph.freshness import CHECKS
    from pypm.graph.runner import graph_status

    order = graph_names(ctx, names)
    statuses = {name: status for name, status, _reasons in graph_status(ctx)} if any(
        name in ctx.tasks for name in order) else {}
    rows: dict[str, PlanRow] = {}
    for name in order:
        if name in GRAPH_OPERATIONS:
            forced = ctx.forces(name)
            stale = forced or not CHECKS[name](ctx)
            asked = "re-lock requested" if name == "lock" else "reinstall requested"
            reason = asked if forced else _operation_reason(name) if stale else ""
            rows[name] = PlanRow(name, stale, reason)
            continue
        rows[name] = _task_row(ctx, name, statuses.get(name), rows)
    return list(rows.values())


def _operation_reason(name: str) -> str:
    return {"lock": "its inputs changed since pylock.toml was written",
            "sync": ".venv does not match pylock.toml and the selection",
            "bundle": "the archive is missing, or what it is made from changed"}[name]


def _task_row(ctx: GraphContext, name: str, status: str | None, before: dict[str, PlanRow]) -> PlanRow:
    task = ctx.tasks[name]
    freshness = ctx.freshness_of(name)
    if not task.outputs:
        return PlanRow(name, True, "it has no outputs, so it always runs")
    if status != "up-to-date":
        return PlanRow(name, True, freshness.reason or "doit has no record of it")
    operations = [dep for dep in ("lock", "sync") if dep in before and before[dep].runs]
    if operations:  # a sync that changes .venv makes it run
        return PlanRow(name, True, f"after {operations[-1]}, which changes .venv")
    tasks = [dep for dep in task.deps if dep in ctx.tasks and dep in before and before[dep].runs]
    if tasks:  # what they write is only known once they ran: inputs are checked then
        return PlanRow(name, False, f"unless {tasks[0]} changes its inputs")
    return PlanRow(name, False, "")
