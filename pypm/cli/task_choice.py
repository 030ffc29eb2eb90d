"""Which user task a name on the command line means, the order of members' tasks, and
the task list (``pypm tasks``, ``pypm run --list``)."""

from __future__ import annotations

from pathlib import Path

from pypm.errors import UsageError
from pypm.graph.context import GraphContext
from pypm.workspace.discovery import canonical_name


def task_names(ctx: GraphContext, name: str, package: str | None, all_members: bool) -> list[str]:
    """The tasks ``name`` runs (empty: it is not a task, so it is a command).

    ``MEMBER:NAME`` is that member's task; ``--package`` picks a member; ``--all-members``
    takes every member's task of that name. Otherwise: the task of the member the current
    directory is in, else the root's, else the one member's that defines it."""
    tasks = ctx.tasks
    if ":" in name:
        return [name] if name in tasks else []
    members = sorted({task.member for task in tasks.values() if task.member and task.short == name})
    if package is not None:
        member = canonical_name(package)
        if f"{member}:{name}" not in tasks:
            raise UsageError(f"member {package!r} has no task {name!r}",
                             hint=_defined_by(name, members, name in tasks))
        return [f"{member}:{name}"]
    if all_members:
        if not members:
            raise UsageError(f"no member has a task {name!r}", hint="see `pypm tasks`")
        return [f"{member}:{name}" for member in members]
    here = _current_member(ctx)
    if here is not None and f"{here}:{name}" in tasks:
        return [f"{here}:{name}"]
    if name in tasks:
        return [name]
    if len(members) == 1:
        return [f"{members[0]}:{name}"]
    if members:
        raise UsageError(f"{name!r} is a task of several members: {', '.join(members)}",
                         hint="pick one with --package MEMBER, or run them all with --all-members")
    return []


def _defined_by(name: str, members: list[str], at_root: bool) -> str:
    owners = [*(["the root"] if at_root else []), *members]
    return f"{name!r} is defined by {', '.join(owners)}" if owners else "see `pypm tasks`"


def _current_member(ctx: GraphContext) -> str | None:
    """The member whose directory holds the current directory (the deepest one)."""
    from pypm.workspace.tasks import member_name

    here = Path.cwd().resolve()
    inside = [m for m in ctx.raw.members if m.path != ctx.raw.root and here.is_relative_to(m.path.resolve())]
    if not inside:
        return None
    return member_name(max(inside, key=lambda m: len(m.path.parts)))


def member_order(ctx: GraphContext, names: list[str]) -> dict[str, tuple[str, ...]]:
    """For members' tasks run together: each task follows the tasks of the members its
    member depends on (dependencies, extras and groups)."""
    workspace = ctx.validate()
    by_member = {ctx.tasks[name].member: name for name in names if ctx.tasks[name].member}
    after: dict[str, tuple[str, ...]] = {}
    for member_name_, name in by_member.items():
        member = workspace.members.get(member_name_)  # type: ignore[call-overload]
        if member is None:
            continue
        requirements = [*member.dependencies, *(r for reqs in member.optional_dependencies.values() for r in reqs),
                        *(r for reqs in member.dependency_groups.values() for r in reqs)]
        needed = {canonical_name(r.name) for r in requirements} - {member_name_}
        after[name] = tuple(by_member[other] for other in sorted(needed) if other in by_member)
    return _without_cycles(after, {name: tuple(task.deps) for name, task in ctx.tasks.items()})


def _without_cycles(after: dict[str, tuple[str, ...]],
                    declared: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
    """``after`` less each ordering that would close a cycle with the tasks' declared
    ``deps`` (or the orderings kept before it): what a task says it needs wins over the
    order of the members."""
    from pypm.operations.lock_graph import reachable

    graph = {name: list(deps) for name, deps in declared.items()}
    kept: dict[str, tuple[str, ...]] = {}
    for name in sorted(after):
        kept[name] = tuple(other for other in after[name]
                           if name not in reachable([other], lambda node: graph.get(node, ())))
        graph.setdefault(name, []).extend(kept[name])
    return kept


def print_task_list(ctx: GraphContext) -> None:
    """One line per task: its name, what it depends on, and its help (stdout)."""
    from pypm import ui

    tasks = ctx.tasks
    if not tasks:
        ui.info("no tasks: add them to [tool.pypm.tasks] in pyproject.toml")
        return
    width = max(len(name) for name in tasks)
    for name in sorted(tasks, key=lambda n: (n.count(":"), n)):
        task = tasks[name]
        needs = f" (after {', '.join(task.deps)})" if task.deps else ""
        print(f"{name:<{width}}  {task.help or ' && '.join(task.commands)}{needs}")
