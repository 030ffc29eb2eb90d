"""User tasks: ``[tool.pypm.tasks]`` of the workspace root and of each member, read and
validated into :class:`TaskDef` objects (nothing here runs them).

An entry is a command string (``test = "pytest -q"``), a list of commands, or a table
with ``cmd`` (a string or a list), ``deps``, ``inputs``, ``outputs``, ``env``, ``cwd``,
``help`` and ``args``. A member's task is named ``MEMBER:NAME`` outside that member; inside
it (in ``deps``), a bare name means the member's own task, then the root's, then a
built-in operation (``lock``, ``sync``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pypm.errors import WorkspaceError
from pypm.workspace.discovery import RawMember, RawWorkspace, canonical_name

TASK_KEYS = ("cmd", "deps", "inputs", "outputs", "env", "cwd", "help", "args")
EXTRA_ARGS = "args"  # ``{args}`` in a command: where the extra command-line arguments go
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_ARG_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


@dataclass(frozen=True)
class TaskDef:
    """One user task, with every reference resolved.

    ``name`` is unique in the workspace (``test``, or ``acme-core:test`` for a member's);
    ``deps`` hold such names or built-in operations; ``directory`` is where ``inputs`` and
    ``outputs`` are relative to, ``cwd`` where the commands run."""

    name: str
    short: str
    member: str | None
    directory: Path
    source: Path
    commands: tuple[str, ...]
    deps: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    help: str = ""
    args: Mapping[str, str] = field(default_factory=dict)
    definition: Mapping[str, Any] = field(default_factory=dict)

    @property
    def workdir(self) -> Path:
        """Where the commands run: ``cwd`` (relative to the task's directory) or the directory."""
        return self.cwd if self.cwd is not None else self.directory


def load_tasks(raw: RawWorkspace, builtins: Collection[str], reserved: Collection[str]) -> dict[str, TaskDef]:
    """Every task of the workspace by name, validated: keys and value types, names
    (no clash with ``reserved`` command names), dependencies (a task or one of
    ``builtins``) and cycles. Raises :class:`WorkspaceError` with one line."""
    found: list[tuple[str | None, Path, Path, str, Any]] = []
    for name, entry in _table(raw.tool_table, raw.config_file).items():
        found.append((None, raw.root, raw.config_file, name, entry))
    for member in raw.members:
        if member.path == raw.root or member.source_of is not None:
            continue  # the root's tasks are above; a path dependency's tasks are its own project's
        owner = member_name(member)
        for name, entry in _table(member.tool_table, member.pyproject).items():
            found.append((owner, member.path, member.pyproject, name, entry))
    tasks: dict[str, TaskDef] = {}
    raw_deps: dict[str, list[str]] = {}
    for owner, directory, source, short, entry in found:
        _check_name(short, source, reserved)
        task, deps = _parse(owner, directory, source, short, entry)
        tasks[task.name] = task
        raw_deps[task.name] = deps
    resolved = {name: _resolve_deps(tasks[name], deps, tasks, builtins) for name, deps in raw_deps.items()}
    tasks = {name: _with_deps(task, resolved[name]) for name, task in tasks.items()}
    _check_cycles(tasks)
    return tasks


def _with_deps(task: TaskDef, deps: tuple[str, ...]) -> TaskDef:
    from dataclasses import replace

    return replace(task, deps=deps)


def member_name(member: RawMember) -> str:
    """A member's name as its tasks are qualified with (its canonical project name)."""
    name = member.project.get("name")
    return canonical_name(name) if isinstance(name, str) else member.path.name


def _table(tool: Mapping[str, Any], source: Path) -> dict[str, Any]:
    table = tool.get("tasks", {})
    if not isinstance(table, dict):
        raise WorkspaceError(f"{source}: [tool.pypm.tasks] must be a table of tasks",
                             hint='e.g. test = "pytest -q"')
    return table


def _check_name(short: str, source: Path, reserved: Collection[str]) -> None:
    if not _NAME.match(short):
        raise WorkspaceError(f"{source}: task name {short!r} is not valid",
                             hint="use letters, digits, '-', '_' and '.', starting with a letter or digit")
    if short in reserved:
        raise WorkspaceError(f"{source}: task {short!r} has the name of the built-in command `pypm {short}`",
                             hint="rename the task")


def _parse(member: str | None, directory: Path, source: Path, short: str, entry: Any) -> tuple[TaskDef, list[str]]:
    name = f"{member}:{short}" if member else short
    where = f"{source}: task {short!r}"
    if isinstance(entry, (str, list)):
        entry = {"cmd": entry}
    if not isinstance(entry, dict):
        raise WorkspaceError(f"{where} must be a command, a list of commands or a table",
                             hint='e.g. test = "pytest -q" or test = { cmd = "pytest -q", deps = ["lint"] }')
    unknown = [key for key in entry if key not in TASK_KEYS]
    if unknown:
        raise WorkspaceError(f"{where} has unknown key {unknown[0]!r}", hint=f"known keys: {', '.join(TASK_KEYS)}")
    commands = _commands(entry.get("cmd"), where)
    deps = _strings(entry.get("deps", []), where, "deps")
    if not commands and not deps:
        raise WorkspaceError(f"{where} has neither cmd nor deps", hint="give it a command to run")
    cwd = entry.get("cwd")
    if cwd is not None and not isinstance(cwd, str):
        raise WorkspaceError(f"{where}: cwd must be a string (a directory relative to {directory})")
    help_text = entry.get("help", "")
    if not isinstance(help_text, str):
        raise WorkspaceError(f"{where}: help must be a string")
    task = TaskDef(
        name=name, short=short, member=member, directory=directory, source=source, commands=commands,
        inputs=tuple(_strings(entry.get("inputs", []), where, "inputs")),
        outputs=tuple(_strings(entry.get("outputs", []), where, "outputs")),
        env=_scalars(entry.get("env", {}), where, "env", None),
        cwd=(directory / cwd).resolve() if cwd else None,
        help=help_text,
        args=_scalars(entry.get("args", {}), where, "args", _ARG_NAME),
        definition=entry,
    )
    if EXTRA_ARGS in task.args:
        raise WorkspaceError(f"{where}: an argument cannot be named {EXTRA_ARGS!r}",
                             hint="{args} in a command stands for the extra command-line arguments")
    return task, deps


def _commands(value: Any, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(c, str) and c.strip() for c in value):
        raise WorkspaceError(f"{where}: cmd must be a command string or a list of them")
    import shlex

    for command in value:
        try:
            shlex.split(command, posix=True)  # neither a shell nor pypm could run it
        except ValueError as exc:
            raise WorkspaceError(f"{where}: cmd {command!r} cannot be split into words: {exc}",
                                 hint="check its quotes") from None
    return tuple(value)


def _strings(value: Any, where: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise WorkspaceError(f"{where}: {key} must be a list of strings")
    return list(value)


def _scalars(value: Any, where: str, key: str, pattern: re.Pattern[str] | None) -> dict[str, str]:
    """A table of names to strings (numbers and booleans written as TOML become strings)."""
    if not isinstance(value, dict):
        raise WorkspaceError(f"{where}: {key} must be a table of names to values")
    result = {}
    for name, item in value.items():
        if pattern is not None and not pattern.match(name):
            raise WorkspaceError(f"{where}: {key} name {name!r} is not valid", hint="use letters, digits, '_' and '-'")
        if isinstance(item, bool):
            item = "true" if item else "false"
        if not isinstance(item, (str, int, float)):
            raise WorkspaceError(f"{where}: {key}.{name} must be a string")
        result[name] = str(item)
    return result


def _resolve_deps(task: TaskDef, deps: list[str], tasks: Mapping[str, TaskDef],
                  builtins: Collection[str]) -> tuple[str, ...]:
    """Each dependency as a task name or a built-in operation."""
    resolved = []
    for dep in deps:
        if ":" in dep:
            candidates = [dep]
        else:  # the member's own task first, then the root's
            candidates = [f"{task.member}:{dep}", dep] if task.member else [dep]
        found = next((c for c in candidates if c in tasks), None)
        if found is None and ":" not in dep and dep in builtins:
            found = dep
        if found is None:
            raise WorkspaceError(f"{task.source}: task {task.short!r} depends on {dep!r}, which is not a task",
                                 hint=f"tasks are {', '.join(sorted(tasks))}; built-ins are {', '.join(builtins)}")
        resolved.append(found)
    return tuple(dict.fromkeys(resolved))


def _check_cycles(tasks: Mapping[str, TaskDef]) -> None:
    """Raise naming the first cycle found (``a -> b -> a``)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(name: str, path: list[str]) -> None:
        state[name] = 1
        for dep in tasks[name].deps:
            if dep not in tasks:
                continue
            if state.get(dep) == 1:
                cycle = [*path[path.index(dep):], dep] if dep in path else [name, dep]
                raise WorkspaceError(f"tasks depend on each other in a cycle: {' -> '.join(cycle)}",
                                     hint=f"remove one of these dependencies in {tasks[name].source}")
            if dep not in state:
                visit(dep, [*path, dep])
        state[name] = 2

    for name in sorted(tasks):
        if name not in state:
            visit(name, [name])


def closure(tasks: Mapping[str, TaskDef], names: Collection[str]) -> list[str]:
    """``names`` and every task they depend on, dependencies first (built-ins left out)."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order or name not in tasks:
            return
        for dep in tasks[name].deps:
            visit(dep)
        order.append(name)

    for name in names:
        visit(name)
    return order
