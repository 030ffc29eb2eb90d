"""Running a user task's commands in the workspace's ``.venv``, and the content digests
that decide whether a task with ``outputs`` is up to date. Plain functions: they work
without doit (the graph only decides when to call them).

A command runs through the shell only when it uses shell syntax (pipes, redirections,
``$VAR``, globs, ``&&``, ``VAR=value cmd``...); otherwise it is split (POSIX rules, as
``shlex``) and started directly, the same on every platform.
"""

from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pypm.errors import PypmError, UsageError
from pypm.fsutil import file_sha256
from pypm.workspace.tasks import EXTRA_ARGS, TaskDef

if TYPE_CHECKING:
    from pypm.operations.supervise import SideBySide

_SHELL_CHARS = frozenset("|&;<>()$`*?[]~!%\n")
_QUOTED = re.compile(r"'[^']*'|\"(?:[^\"\\]|\\.)*\"")
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_OUTPUT_LOCK = threading.Lock()
NOT_FOUND = 127  # the shell's exit code for a command that does not exist


class TaskFailed(PypmError):
    """A task's command failed; pypm exits with the command's exit code."""

    def __init__(self, task: str, exit_code: int, reason: str = "") -> None:
        detail = reason or f"exit code {exit_code}" + _signal_name(exit_code)
        super().__init__(f"task {task} failed ({detail})")
        self.task = task
        self.exit_code = exit_code if 0 < exit_code < 256 else 1


def _signal_name(exit_code: int) -> str:
    """``: ended by SIGTERM`` for an exit code 128+N of a signal N ('' otherwise)."""
    import signal

    try:
        return f": ended by {signal.Signals(exit_code - 128).name}" if exit_code > 128 else ""
    except ValueError:
        return ""


@dataclass(frozen=True)
class TaskCall:
    """How one run of a task is called: its named argument values and extra arguments."""

    values: Mapping[str, str]
    extra: tuple[str, ...] = ()


def uses_shell(command: str) -> bool:
    """True when ``command`` needs a shell: shell syntax outside quotes, or a leading
    ``VAR=value`` assignment."""
    unquoted = _QUOTED.sub("", command)
    if any(char in _SHELL_CHARS for char in unquoted):
        return True
    return bool(_ASSIGNMENT.match(command.lstrip()))


def split_call(task: TaskDef, argv: Sequence[str]) -> TaskCall:
    """``--NAME VALUE`` / ``--NAME=VALUE`` for the task's declared ``args`` (defaults for the
    rest); every other argument is extra, for the command. A first ``--`` ends the task's
    own arguments: what follows goes to the command as it is (as ``npm run t -- ARGS``)."""
    values = dict(task.args)
    extra: list[str] = []
    items = list(argv)
    while items:
        item = items.pop(0)
        if item == "--":
            extra.extend(items)
            break
        name, sep, value = item[2:].partition("=") if item.startswith("--") else ("", "", "")
        if name in task.args:
            if not sep:
                if not items:
                    raise UsageError(f"--{name} needs a value", hint=f"e.g. `pypm run {task.name} --{name} VALUE`")
                value = items.pop(0)
            values[name] = value
        else:
            extra.append(item)
    return TaskCall(values, tuple(extra))


@dataclass(frozen=True)
class CommandLine:
    """One command ready to start: ``argv`` (a string for the shell, a list to start
    directly) and ``text``, the command as the user wrote it with the values filled in."""

    argv: str | list[str]
    text: str


def command_lines(task: TaskDef, call: TaskCall) -> list[CommandLine]:
    """Each command with ``{name}`` replaced by its argument value and the extra arguments
    at ``{args}`` (or after the last command)."""
    placeholder = any("{" + EXTRA_ARGS + "}" in command for command in task.commands)
    lines = []
    for index, command in enumerate(task.commands):
        extra = call.extra if (not placeholder and index == len(task.commands) - 1) else ()
        text = _substitute(command, call.values, _quote, _quote_all(call.extra))
        text = f"{text} {_quote_all(extra)}" if extra else text
        argv = text if uses_shell(command) else _direct(command, call, extra)
        lines.append(CommandLine(argv, text))
    return lines


def _direct(command: str, call: TaskCall, extra: Sequence[str]) -> list[str]:
    argv: list[str] = []
    for token in _split(command):
        if token == "{" + EXTRA_ARGS + "}":
            argv.extend(call.extra)
        else:
            argv.append(_substitute(token, call.values, str, " ".join(call.extra)))
    return [*argv, *extra]


def _split(command: str) -> list[str]:
    try:
        return shlex.split(command, posix=True)
    except ValueError as exc:
        raise UsageError(f"cannot split the command {command!r}: {exc}", hint="check its quotes") from None


def _substitute(text: str, values: Mapping[str, str], quote: object, extra: str) -> str:
    names = [*values, EXTRA_ARGS]
    pattern = re.compile(r"\{(" + "|".join(re.escape(name) for name in names) + r")\}")

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        return extra if name == EXTRA_ARGS else quote(values[name])  # type: ignore[operator]

    return pattern.sub(replace, text)


def _quote(value: str) -> str:
    if os.name == "nt":
        return subprocess.list2cmdline([value])
    return shlex.quote(value)


def _quote_all(values: Sequence[str]) -> str:
    return " ".join(_quote(value) for value in values)


def run_task(task: TaskDef, venv: Path, call: TaskCall, prefix: str | None = None,
             side_by_side: SideBySide | None = None) -> None:
    """Run the task's commands in order with ``venv`` activated and the task's ``env``, in
    its working directory; the first failure raises :class:`TaskFailed`. With ``prefix``,
    output is captured and each line printed after it (for tasks running side by side,
    whose commands ``side_by_side`` watches for pypm's signals)."""
    from pypm import ui
    from pypm.operations.run import check_venv, venv_environment

    check_venv(venv)
    env = venv_environment(venv)
    env.update(task.env)
    if not task.workdir.is_dir():
        raise TaskFailed(task.name, 1, f"its directory {task.workdir} does not exist")
    for line in command_lines(task, call):
        ui.info(f"{task.name}: {line.text}")
        code = _run_one(task, line.argv, env, prefix, side_by_side)
        if code != 0:
            raise TaskFailed(task.name, code)


def _run_one(task: TaskDef, line: str | list[str], env: dict[str, str], prefix: str | None,
             side_by_side: SideBySide | None) -> int:
    import shutil

    if isinstance(line, list):
        executable = shutil.which(line[0], path=env["PATH"]) if not os.path.dirname(line[0]) else line[0]
        if executable is None:
            raise TaskFailed(task.name, NOT_FOUND, f"command not found: {line[0]}")
        line = [executable, *line[1:]]
    shell = isinstance(line, str)
    if prefix is None:
        from pypm.operations.supervise import run_supervised

        return run_supervised(line, task.workdir, env, shell)
    from pypm.operations.supervise import SideBySide

    def start() -> subprocess.Popen[bytes]:
        return subprocess.Popen(line, cwd=task.workdir, env=env, shell=shell, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT)

    def follow(process: subprocess.Popen[bytes]) -> None:
        with process:
            assert process.stdout is not None
            for raw in process.stdout:
                text = raw.decode("utf-8", "replace").rstrip("\r\n")
                with _OUTPUT_LOCK:
                    sys.stdout.write(f"{prefix} | {text}\n")
                    sys.stdout.flush()

    return (side_by_side or SideBySide()).run(start, follow)


# -- freshness ---------------------------------------------------------------------------
def expand(directory: Path, patterns: Sequence[str]) -> dict[str, list[Path]]:
    """Each glob pattern (``**`` recursive, relative to ``directory``) with the files it
    matches, sorted; a matched directory stands for every file under it."""
    import glob

    found: dict[str, list[Path]] = {}
    for pattern in patterns:
        files: set[Path] = set()
        for match in glob.glob(pattern, root_dir=directory, recursive=True):
            path = directory / match
            if path.is_dir():
                files.update(p for p in path.rglob("*") if p.is_file())
            elif path.is_file():
                files.add(path)
        found[pattern] = sorted(files)
    return found


def files_digest(directory: Path, patterns: Sequence[str]) -> str:
    """sha256 over each pattern's matched files: their paths (relative to ``directory``)
    and contents. A pattern that matches nothing counts too."""
    digest = hashlib.sha256()
    for pattern, files in expand(directory, patterns).items():
        digest.update(f"pattern\0{pattern}\n".encode())
        for path in files:
            digest.update(f"{os.path.relpath(path, directory)}\0{_file_sha256(path)}\n".encode())
    return digest.hexdigest()


def missing_outputs(task: TaskDef) -> list[str]:
    """The ``outputs`` patterns that match no file now."""
    return [pattern for pattern, files in expand(task.directory, task.outputs).items() if not files]


def _file_sha256(path: Path) -> str:
    try:
        return file_sha256(path)
    except OSError as exc:  # unreadable: a value no earlier run can have recorded
        return f"unreadable:{exc.errno}"
