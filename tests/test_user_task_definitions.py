"""``[tool.pypm.tasks]`` read and checked on load: each mistake is one ``error:`` line
naming the file (exit 1), before anything is locked, synced or run; good definitions
resolve a member's bare dependency to its own task, then the root's, then lock/sync.

No index is needed: the index URL points at a port nothing listens on, so a command that
reached for the network would fail differently.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from pypm.testing.plugin import RunPypm
from tests.test_init_and_cli_errors import OFFLINE, assert_one_error_line, snapshot
from tests.workspaces import write

BUILTIN_COMMANDS = ("init", "lock", "sync", "run", "tasks", "shell", "status", "cache", "python", "version")


def make_workspace(root: Path, root_tasks: str, member_tasks: str = "") -> Path:
    """A root with ``root_tasks`` and members acme-core (``member_tasks``) and acme-app
    (task ``docs``); no build backend (nothing here is built)."""
    write(root / "pyproject.toml", '[tool.pypm.workspace]\nmembers = ["packages/*"]\n\n[tool.pypm.tasks]\n')
    with open(root / "pyproject.toml", "a") as handle:
        handle.write(root_tasks.strip() + "\n")
    for short, tasks in (("core", member_tasks), ("app", 'docs = "python -m pydoc"')):
        text = (f'[project]\nname = "acme-{short}"\nversion = "1.0"\nrequires-python = ">=3.10"\n\n'
                f"[tool.pypm.tasks]\n{tasks.strip()}\n")
        write(root / f"packages/{short}/pyproject.toml", text)
    return root


@dataclass(frozen=True)
class Bad:
    """A bad definition: the root's and acme-core's tasks, and what the one line says."""

    id: str
    root: str
    member: str
    says: str
    in_member: bool = False


BAD = [
    Bad("cycle", 'a = { cmd = "x", deps = ["b"] }\nb = { cmd = "x", deps = ["a"] }', "",
        "tasks depend on each other in a cycle: a -> b -> a"),
    Bad("self-cycle", 'a = { cmd = "x", deps = ["a"] }', "", "cycle: a -> a"),
    Bad("cycle-through-member", 'a = { cmd = "x", deps = ["acme-core:b"] }', 'b = { cmd = "x", deps = ["a"] }',
        "cycle: a -> acme-core:b -> a", in_member=True),
    Bad("unknown-key", 'a = { cmd = "x", dep = ["b"] }', "", "task 'a' has unknown key 'dep'"),
    Bad("unknown-dependency", 'a = { cmd = "x", deps = ["nosuch"] }', "", "task 'a' depends on 'nosuch', which is not"),
    Bad("unknown-member-task", 'a = { cmd = "x", deps = ["acme-core:nosuch"] }', "",
        "depends on 'acme-core:nosuch', which is not"),
    # a bare name in a member: its own task, then the root's; never another member's
    Bad("other-members-task", "", 'a = { cmd = "x", deps = ["docs"] }', "task 'a' depends on 'docs', which is not",
        in_member=True),
    Bad("member-clash", "", 'sync = "x"', "task 'sync' has the name of the built-in command `pypm sync`",
        in_member=True),
    Bad("cmd-number", "a = { cmd = 3 }", "", "cmd must be a command string or a list of them"),
    Bad("cmd-empty", 'a = ""', "", "cmd must be a command string or a list of them"),
    Bad("cmd-unbalanced-quote", 'a = { cmd = "echo \\"open" }', "", "cannot be split into words: No closing quotation"),
    Bad("no-cmd-no-deps", 'a = { help = "x" }', "", "task 'a' has neither cmd nor deps"),
    Bad("entry-number", "a = 3", "", "task 'a' must be a command, a list of commands or a table"),
    Bad("deps-string", 'a = { cmd = "x", deps = "b" }', "", "deps must be a list of strings"),
    Bad("outputs-string", 'a = { cmd = "x", outputs = "dist" }', "", "outputs must be a list of strings"),
    Bad("env-string", 'a = { cmd = "x", env = "X=1" }', "", "env must be a table"),
    Bad("env-list-value", 'a = { cmd = "x", env = { X = [1] } }', "", "env.X must be a string"),
    Bad("help-number", 'a = { cmd = "x", help = 3 }', "", "help must be a string"),
    Bad("cwd-number", 'a = { cmd = "x", cwd = 3 }', "", "cwd must be a string"),
    Bad("arg-named-args", 'a = { cmd = "x {args}", args = { args = "1" } }', "", "cannot be named 'args'"),
    Bad("bad-arg-name", 'a = { cmd = "x", args = { "1x" = "1" } }', "", "args name '1x' is not valid"),
    Bad("bad-task-name", '"a:b" = "x"', "", "task name 'a:b' is not valid"),
]


@pytest.mark.parametrize("bad", BAD, ids=[b.id for b in BAD])
def test_a_bad_definition_is_one_line_naming_its_file(bad: Bad, tmp_path: Path, run_pypm: RunPypm) -> None:
    root = make_workspace(tmp_path / "ws", bad.root, bad.member)
    before = snapshot(root)
    line = assert_one_error_line(run_pypm("tasks", cwd=root, env_extra=OFFLINE, check=False), exit_code=1)
    assert bad.says in line, line
    source = root / ("packages/core/pyproject.toml" if bad.in_member else "pyproject.toml")
    assert str(source) in line, line
    assert snapshot(root) == before


@pytest.mark.parametrize("name", BUILTIN_COMMANDS)
def test_a_task_named_like_a_builtin_command_is_refused(name: str, tmp_path: Path, run_pypm: RunPypm) -> None:
    root = make_workspace(tmp_path / "ws", f'{name} = "python -c pass"')
    line = assert_one_error_line(run_pypm("tasks", cwd=root, env_extra=OFFLINE, check=False), exit_code=1)
    assert f"task '{name}' has the name of the built-in command `pypm {name}`" in line


@pytest.mark.parametrize("argv", [["lock"], ["sync"], ["run", "a"], ["a"], ["run", "--list"], ["status"],
                                  ["lock", "sync", "a"], ["run", "--", "python", "-c", "pass"]])
def test_every_command_that_loads_the_tasks_refuses_a_cycle_before_any_work(argv: list[str], tmp_path: Path,
                                                                             run_pypm: RunPypm) -> None:
    root = make_workspace(tmp_path / "ws", 'a = { cmd = "x", deps = ["b"] }\nb = { cmd = "x", deps = ["a"] }')
    line = assert_one_error_line(run_pypm(*argv, cwd=root, env_extra=OFFLINE, check=False), exit_code=1)
    assert "cycle: a -> b -> a" in line
    assert not (root / "pylock.toml").exists() and not (root / ".venv").exists() and not (root / ".pypm").exists()


def test_a_members_bare_dependency_is_its_own_task_then_the_roots_then_a_builtin(tmp_path: Path,
                                                                                 run_pypm: RunPypm) -> None:
    root = make_workspace(
        tmp_path / "ws",
        'test = "python -m unittest"\nlint = { cmd = "python -m lint", env = { N = 3, ON = true } }',
        'test = "python -m pytest"\ncheck = { deps = ["test", "lint", "lock"], help = "Check it all" }',
    )
    lines = run_pypm("tasks", cwd=root, env_extra=OFFLINE).stdout.splitlines()
    check = next(line for line in lines if line.startswith("acme-core:check "))
    assert check.split(None, 1)[1] == "Check it all (after acme-core:test, lint, lock)"
    assert next(line for line in lines if line.startswith("acme-app:docs ")).endswith("python -m pydoc")


@pytest.mark.parametrize("extra", [["test"], ["--all-members"], ["--package", "acme-core"], ["--dry-run"],
                                   ["--upgrade"], ["--env", "tools"], ["--no-sync"], ["--jobs", "3"],
                                   ["--keep-going"], ["--python", "3.12"], ["--frozen"], ["--extra", "x"]])
def test_run_list_refuses_what_it_would_ignore(extra: list[str], tmp_path: Path, run_pypm: RunPypm) -> None:
    root = make_workspace(tmp_path / "ws", 'test = "python -c pass"')
    line = assert_one_error_line(run_pypm("run", "--list", *extra, cwd=root, env_extra=OFFLINE, check=False),
                                 exit_code=2)
    assert f"cannot take {extra[0]}" in line
