"""User tasks (``[tool.pypm.tasks]``) in the graph of ``lock`` and ``sync``, end to end.

A real local index serves ``tasklog`` (the root's dev group installs it into ``.venv``) and
flit_core (the members' build backend: they are installed editable). Every task command is
``python -m tasklog NAME ...``: it appends one JSON line (task, cwd, arguments, VIRTUAL_ENV)
to the file named by ``$TASK_LOG``, so a test reads exactly which tasks ran, where and in
what order; ``--write=OUT --from=GLOB`` also writes OUT from the files GLOB matches (a build
whose output follows its inputs), and ``$TASK_FAIL=NAME:CODE`` makes task NAME exit CODE.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from pypm.testing.builders import wheel_from_installed
from pypm.testing.plugin import RunPypm
from tests.test_init_and_cli_errors import assert_one_error_line
from tests.workspaces import replace_in, write

TASKLOG_INIT = '''\
"""Log one run of a task; optionally write an output file from input files."""
import glob
import json
import os
import sys

OPTIONS = ("--write=", "--from=")


def log(name, args):
    """Append one JSON line for this run to $TASK_LOG."""
    record = {"task": name, "cwd": os.getcwd(), "args": args, "venv": os.environ.get("VIRTUAL_ENV", ""),
              "mark": os.environ.get("TASK_MARK", "")}
    with open(os.environ["TASK_LOG"], "a", encoding="utf-8") as handle:
        handle.write(json.dumps(record) + "\\n")


def main():
    """python -m tasklog NAME [--write=OUT] [--from=GLOB] [ARGS...]"""
    name, rest = sys.argv[1], sys.argv[2:]
    options = {k[2:]: v for k, _, v in (a.partition("=") for a in rest if a.startswith(OPTIONS))}
    log(name, [a for a in rest if not a.startswith(OPTIONS)])
    if "write" in options:
        sources = sorted(glob.glob(options["from"], recursive=True)) if "from" in options else []
        text = "".join(f"{s}:{open(s, encoding='utf-8').read()}" for s in sources)
        os.makedirs(os.path.dirname(options["write"]) or ".", exist_ok=True)
        with open(options["write"], "w", encoding="utf-8") as out:
            out.write(f"{name}\\n{text}")
    print(f"{name} says hello")
    failing, _, code = os.environ.get("TASK_FAIL", "").rpartition(":")
    sys.exit(int(code) if failing == name else 0)


def hello():
    """The console script `hello`: a command in .venv named like the root's task."""
    log("PATH:hello", sys.argv[1:])
    print("hello from the command")
'''
TASKLOG = DistSpec("tasklog", "1.0", entry_points={"hello": "tasklog:hello"},
                   files={"tasklog/__init__.py": TASKLOG_INIT,
                          "tasklog/__main__.py": "from tasklog import main\n\nmain()\n"})

ROOT_TOML = """
    [tool.pypm.workspace]
    members = ["packages/*"]

    [dependency-groups]
    dev = ["tasklog"]
    extra = ["extrapkg"]

    [tool.pypm.tasks]
    lint = { cmd = "python -m tasklog lint", deps = ["sync"], help = "Check the style" }
    test = { cmd = "python -m tasklog test", deps = ["lint"], help = "Run the root tests" }
    build = { cmd = "python -m tasklog build --from='packages/*/dist/*.txt' --write=dist/bundle.txt", deps = ["test", "acme-core:build", "acme-app:build"], inputs = ["packages/*/dist/*.txt"], outputs = ["dist/bundle.txt"], help = "Bundle the members' builds" }
    hello = { cmd = "python -m tasklog hello-task", help = "A task named like a command in .venv" }
    package = { cmd = "python -m tasklog package --level={level} --write=dist/package.txt", args = { level = "1" }, outputs = ["dist/package.txt"] }
    multi = { cmd = ["python -m tasklog multi-1", "python -m tasklog multi-2"], env = { TASK_MARK = "from-task" } }
    place = "python -m tasklog place {args} --last"
    place-sh = "python -m tasklog place-sh {args} --last && python -m tasklog place-sh-2"
    where = { cmd = "python -m tasklog where", cwd = "packages" }
    forgetful = { cmd = "python -m tasklog forgetful", outputs = ["dist/never-made.txt"] }
"""  # noqa: E501 - one TOML line per task reads best


def member_toml(name: str, deps: list[str], short: str) -> str:
    """A flit_core member with tasks ``test`` (after the root's lint), ``build`` (after its
    own test; src -> dist) and ``docs`` (defined by every member, not by the root)."""
    quoted = ", ".join(f'"{d}"' for d in deps)
    return f"""
        [project]
        name = "{name}"
        version = "0.1.0"
        description = "The {short} of acme"
        requires-python = ">=3.10"
        dependencies = [{quoted}]

        [build-system]
        requires = ["flit_core>=3.9,<5"]
        build-backend = "flit_core.buildapi"

        [tool.pypm.tasks]
        test = {{ cmd = "python -m tasklog {name}:test", deps = ["lint"], help = "Test {name}" }}
        build = {{ cmd = "python -m tasklog {name}:build --from='src/**/*.py' --write=dist/{short}.txt", deps = ["test"], inputs = ["src/**/*.py"], outputs = ["dist/*.txt"] }}
        docs = "python -m tasklog {name}:docs"
    """  # noqa: E501


def make_task_workspace(root: Path) -> Path:
    """The root's tasks and members acme-core (packages/core) and acme-app (packages/app,
    which depends on acme-core), each with tasks test, build and docs."""
    write(root / "pyproject.toml", ROOT_TOML)
    for short, name, deps in (("core", "acme-core", []), ("app", "acme-app", ["acme-core"])):
        module = name.replace("-", "_")
        write(root / f"packages/{short}/pyproject.toml", member_toml(name, deps, short))
        write(root / f"packages/{short}/src/{module}/__init__.py", f'"""The {short} of acme."""\n')
    return root


@dataclass
class Workspace:
    """A synced task workspace and how to run pypm in it."""

    root: Path
    env: dict[str, str]
    log: Path
    run_pypm: RunPypm

    def pypm(self, *args: str, cwd: Path | None = None, check: bool = True,
             env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        """Run pypm in the workspace root (or ``cwd``)."""
        return self.run_pypm(*args, cwd=cwd or self.root, env_extra={**self.env, **(env or {})}, check=check)

    def ran(self) -> list[dict]:
        """The task runs logged since the last call (which are then forgotten)."""
        if not self.log.exists():
            return []
        records = [json.loads(line) for line in self.log.read_text("utf-8").splitlines()]
        self.log.unlink()
        return records

    def ran_names(self) -> list[str]:
        """The names of the tasks logged since the last call, in the order they ran."""
        return [record["task"] for record in self.ran()]

    def member(self, short: str) -> Path:
        """A member's directory."""
        return self.root / "packages" / short


@pytest.fixture
def ws(tmp_path: Path, make_index, run_pypm: RunPypm) -> Workspace:
    """The task workspace, locked and synced against a local index (no task run yet)."""
    index = make_index([TASKLOG, DistSpec("extrapkg", "1.0")])
    index.add(wheel_from_installed("flit_core", tmp_path))
    log = tmp_path / "tasks.log"
    root = make_task_workspace(tmp_path / "ws")
    workspace = Workspace(root, {"PYPM_INDEX_URL": index.url, "TASK_LOG": str(log)}, log, run_pypm)
    workspace.pypm("lock", "sync")
    assert workspace.ran() == []
    return workspace


def assert_order(names: list[str], *chain: str) -> None:
    """Each name of ``chain`` ran exactly once, in that order."""
    for name in chain:
        assert names.count(name) == 1, (name, names)
    positions = [names.index(name) for name in chain]
    assert positions == sorted(positions), (chain, names)


ALL_BUILD = {"lint", "test", "acme-core:test", "acme-core:build", "acme-app:test", "acme-app:build", "build"}
BUILDS = {"acme-core:build", "acme-app:build", "build"}
ALL_TASKS = {"lint", "test", "build", "hello", "package", "multi", "place", "place-sh", "where", "forgetful",
             *(f"{member}:{task}" for member in ("acme-core", "acme-app") for task in ("test", "build", "docs"))}


def skipped(stderr: str) -> set[str]:
    """The tasks pypm said it skipped as up to date."""
    return set(re.findall(r"^(\S+): up to date, skipped$", stderr, re.MULTILINE))


# --------------------------------------------------------------------------- 1: the chain, run twice


def test_lock_sync_and_tasks_run_as_one_graph_and_build_is_skipped_the_second_time(ws: Workspace) -> None:
    first = ws.pypm("lock", "sync", "lint", "test", "build")
    names = ws.ran_names()
    assert set(names) == ALL_BUILD and len(names) == len(ALL_BUILD)
    assert_order(names, "lint", "test", "build")
    for member in ("acme-core", "acme-app"):
        assert_order(names, "lint", f"{member}:test", f"{member}:build", "build")
    assert "build: python -m tasklog build --from='packages/*/dist/*.txt' --write=dist/bundle.txt" in \
        first.stderr.splitlines()  # each command is echoed as NAME: COMMAND
    assert skipped(first.stderr) == set()
    bundle = (ws.root / "dist/bundle.txt").read_text()
    assert "acme-core:build" in bundle and "acme-app:build" in bundle  # made from the members' outputs

    second = ws.pypm("lock", "sync", "lint", "test", "build")
    names = ws.ran_names()
    assert sorted(names) == sorted(ALL_BUILD - BUILDS)  # tasks without outputs always run
    assert skipped(second.stderr) == BUILDS
    assert "build: up to date, skipped" in second.stderr.splitlines()
    assert (ws.root / "dist/bundle.txt").read_text() == bundle


def test_commands_run_in_the_task_directory_with_venv_activated(ws: Workspace) -> None:
    ws.pypm("build")  # `pypm TASK`: a task by its name alone
    records = {record["task"]: record for record in ws.ran()}
    venv = str(ws.root / ".venv")
    directories = {"acme-core": ws.member("core"), "acme-app": ws.member("app")}
    for name, record in records.items():
        member, _, _ = name.rpartition(":")
        assert Path(record["cwd"]) == directories.get(member, ws.root), name
        assert record["venv"] == venv, name
    ws.pypm("multi")  # a list of commands, with the task's env
    records = ws.ran()
    assert [r["task"] for r in records] == ["multi-1", "multi-2"]
    assert {r["mark"] for r in records} == {"from-task"}
    ws.pypm("where")  # cwd: relative to the task's directory
    assert [Path(r["cwd"]) for r in ws.ran()] == [ws.root / "packages"]

    shutil.rmtree(ws.root / ".venv")  # every task runs after sync, even side by side with it
    proc = ws.pypm("where", "-j", "2")  # (where lists no dependency)
    assert [r["venv"] for r in ws.ran()] == [venv]
    assert "where | where says hello" in proc.stdout.splitlines()


# --------------------------------------------------------------------------- 2: inputs and outputs


def test_only_what_depends_on_a_changed_input_runs_again(ws: Workspace) -> None:
    ws.pypm("build")
    assert set(ws.ran_names()) == ALL_BUILD
    core_init = ws.member("core") / "src/acme_core/__init__.py"

    stat = core_init.stat()  # touched, content unchanged: content hashes, not mtimes
    os.utime(core_init, (stat.st_atime + 100, stat.st_mtime + 100))
    proc = ws.pypm("build")
    assert not BUILDS & set(ws.ran_names())
    assert skipped(proc.stderr) == BUILDS

    core_init.write_text('"""The core of acme, changed."""\n')
    proc = ws.pypm("build")
    names = ws.ran_names()
    assert "acme-core:build" in names and "acme-app:build" not in names
    assert "build" in names  # its input, core's output, changed
    assert skipped(proc.stderr) == {"acme-app:build"}
    assert "changed" in (ws.root / "dist/bundle.txt").read_text()

    (ws.root / "dist/bundle.txt").unlink()  # a deleted output
    proc = ws.pypm("build")
    assert BUILDS & set(ws.ran_names()) == {"build"}
    assert (ws.root / "dist/bundle.txt").is_file()
    assert skipped(proc.stderr) == {"acme-core:build", "acme-app:build"}

    app_out = ws.member("app") / "dist/app.txt"
    made = app_out.read_text()
    app_out.write_text("edited by hand\n")  # an edited output
    proc = ws.pypm("build")
    names = ws.ran_names()
    assert "acme-app:build" in names and "acme-core:build" not in names
    assert app_out.read_text() == made
    # app's build wrote the same content again: the bundle's inputs are what it last ran with
    assert "build" not in names and "build" in skipped(proc.stderr)

    (ws.member("app") / "src/acme_app/extra.py").write_text("X = 1\n")  # a new file an input pattern matches
    ws.pypm("build")
    assert BUILDS & set(ws.ran_names()) == {"acme-app:build", "build"}

    for _ in range(2):  # a task whose outputs match no file after it ran is never up to date
        proc = ws.pypm("forgetful")
        assert ws.ran_names() == ["forgetful"] and "skipped" not in proc.stderr
    assert "forgetful: would run (no file matches its output 'dist/never-made.txt')" in \
        ws.pypm("forgetful", "--dry-run").stdout.splitlines()


# --------------------------------------------------------------------------- 3: definition and arguments


def test_a_changed_command_argument_or_venv_runs_the_task_again(ws: Workspace) -> None:
    ws.pypm("run", "package")
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("package", ["--level=1"])]
    assert "package: up to date, skipped" in ws.pypm("run", "package").stderr
    assert ws.ran() == []

    ws.pypm("run", "package", "--level", "2")
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("package", ["--level=2"])]
    assert "package: up to date, skipped" in ws.pypm("run", "package", "--level=2").stderr
    assert ws.ran() == []
    ws.pypm("run", "package")  # back to the default: not what it last ran with
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("package", ["--level=1"])]
    ws.pypm("run", "package", "--level", "1", "--verbose-output")  # an extra argument is part of the call
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("package", ["--level=1", "--verbose-output"])]
    ws.pypm("run", "package")
    assert ws.ran_names() == ["package"]
    ws.pypm("run", "package")
    assert ws.ran_names() == []

    replace_in(ws.root / "pyproject.toml", "tasklog package --level", "tasklog package --new --level")
    ws.pypm("run", "package")
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("package", ["--new", "--level=1"])]
    ws.pypm("run", "package")
    assert ws.ran_names() == []

    ws.pypm("run", "--all-groups", "package")  # sync installs the extra group: .venv changed
    assert ws.ran_names() == ["package"]
    assert "package: up to date, skipped" in ws.pypm("run", "--all-groups", "package").stderr
    assert ws.ran_names() == []

    ws.pypm("build")
    assert BUILDS <= set(ws.ran_names())
    replace_in(ws.member("core") / "pyproject.toml", "--write=dist/core.txt", "--write=dist/core.txt --v2")
    ws.pypm("build")  # (the member's pyproject.toml changed: sync reinstalls it, so .venv changed too)
    assert [r["args"] for r in ws.ran() if r["task"] == "acme-core:build"] == [["--v2"]]
    proc = ws.pypm("build")
    assert skipped(proc.stderr) == BUILDS and not BUILDS & set(ws.ran_names())


# --------------------------------------------------------------------------- 4: failures


def test_a_failing_task_stops_what_depends_on_it_and_gives_its_exit_code(ws: Workspace) -> None:
    proc = ws.pypm("lock", "sync", "lint", "test", "build", check=False, env={"TASK_FAIL": "test:3"})
    assert proc.returncode == 3, proc.stderr
    names = ws.ran_names()
    assert "test" in names and "build" not in names and names[-1] == "test"  # nothing runs after the failure
    last = proc.stderr.splitlines()[-1]
    assert last.startswith("error: task test failed (exit code 3)"), proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    assert not (ws.root / "dist").exists()


def test_keep_going_runs_what_does_not_depend_on_the_failure(ws: Workspace) -> None:
    proc = ws.pypm("build", "--keep-going", check=False, env={"TASK_FAIL": "acme-core:test:4"})
    assert proc.returncode == 4, proc.stderr
    names = set(ws.ran_names())
    assert {"acme-app:test", "acme-app:build"} <= names
    assert not {"acme-core:build", "build"} & names
    assert proc.stderr.splitlines()[-1].startswith("error: task acme-core:test failed (exit code 4)")
    proc = ws.pypm("build", check=False, env={"TASK_FAIL": "acme-core:test:4"})  # without: stops at once
    assert proc.returncode == 4 and ws.ran_names()[-1] == "acme-core:test"


# --------------------------------------------------------------------------- 5: members


def test_declared_deps_win_over_the_member_order(ws: Workspace) -> None:
    """acme-app depends on acme-core, but acme-core's docs declares it needs acme-app's:
    the run follows the declaration (the member order would close a cycle) and does not
    fail as an internal error."""
    replace_in(ws.member("core") / "pyproject.toml", 'docs = "python -m tasklog acme-core:docs"',
               'docs = { cmd = "python -m tasklog acme-core:docs", deps = ["acme-app:docs"] }')
    ws.pypm("run", "--all-members", "docs")
    assert ws.ran_names() == ["acme-app:docs", "acme-core:docs"]


def test_all_members_runs_each_member_task_in_its_directory_in_dependency_order(ws: Workspace) -> None:
    ws.pypm("run", "--all-members", "test")
    records = ws.ran()
    assert [r["task"] for r in records] == ["lint", "acme-core:test", "acme-app:test"]  # app depends on core
    assert [Path(r["cwd"]) for r in records] == [ws.root, ws.member("core"), ws.member("app")]

    proc = ws.pypm("run", "-j", "2", "--all-members", "docs", "extra")  # options before NAME, arguments after
    records = ws.ran()
    assert [(r["task"], r["args"]) for r in records] == [("acme-core:docs", ["extra"]), ("acme-app:docs", ["extra"])]
    assert "acme-core | acme-core:docs says hello" in proc.stdout.splitlines()
    assert "acme-app | acme-app:docs says hello" in proc.stdout.splitlines()

    ws.pypm("run", "--package", "acme-app", "docs")
    assert ws.ran_names() == ["acme-app:docs"]
    ws.pypm("run", "acme-core:docs")
    assert ws.ran_names() == ["acme-core:docs"]
    ws.pypm("run", "docs", cwd=ws.member("app") / "src")  # the member the current directory is in
    assert ws.ran_names() == ["acme-app:docs"]
    ws.pypm("run", "test", cwd=ws.member("core"))  # the member's own task before the root's
    assert ws.ran_names() == ["lint", "acme-core:test"]

    line = assert_one_error_line(ws.pypm("run", "docs", check=False), exit_code=2)
    assert "acme-app" in line and "acme-core" in line and "--package" in line
    assert_one_error_line(ws.pypm("docs", check=False), exit_code=2)
    line = assert_one_error_line(ws.pypm("run", "--package", "acme-core", "hello", check=False), exit_code=2)
    assert "hello" in line
    assert ws.ran() == []


# --------------------------------------------------------------------------- 7: the command line


def test_a_task_wins_over_a_command_and_dashes_force_the_command(ws: Workspace) -> None:
    ws.pypm("run", "hello", "x")
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("hello-task", ["x"])]
    proc = ws.pypm("run", "--", "hello", "x")
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("PATH:hello", ["x"])]
    assert "hello from the command" in proc.stdout


def test_extra_arguments_go_to_the_last_command_or_to_args(ws: Workspace) -> None:
    ws.pypm("run", "test", "-k", "fast", "--maxfail=1")
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("lint", []), ("test", ["-k", "fast", "--maxfail=1"])]
    ws.pypm("run", "multi", "a b", "c")
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("multi-1", []), ("multi-2", ["a b", "c"])]
    ws.pypm("run", "place", "a b", "c")
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("place", ["a b", "c", "--last"])]
    proc = ws.pypm("run", "place-sh", "a b", "it's")  # through the shell: quoted
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("place-sh", ["a b", "it's", "--last"]),
                                                          ("place-sh-2", [])]
    if os.name == "posix":  # echoed as the shell runs it (POSIX quoting)
        assert "place-sh: python -m tasklog place-sh 'a b' 'it'\"'\"'s' --last && python -m tasklog place-sh-2" in \
            proc.stderr.splitlines()
    ws.pypm("run", "package", "--level", "7", "-x")  # a declared arg, then one for the command
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("package", ["--level=7", "-x"])]
    ws.pypm("run", "package", "--", "--level", "7", "--", "-x")  # after `--`, all is the command's, as it is
    assert [(r["task"], r["args"]) for r in ws.ran()] == [("package", ["--level=1", "--level", "7", "--", "-x"])]
    ws.pypm("lint", "acme-core:docs")  # `pypm TASK TASK`
    assert ws.ran_names() == ["lint", "acme-core:docs"]


def test_dry_run_reports_and_runs_nothing(ws: Workspace) -> None:
    proc = ws.pypm("lock", "sync", "lint", "test", "build", "--dry-run")
    lines = proc.stdout.splitlines()
    assert lines[:2] == ["lock: up to date", "sync: up to date"]
    assert "lint: would run (it has no outputs, so it always runs)" in lines
    assert "build: would run (no file matches its output 'dist/bundle.txt')" in lines
    assert {line.split(":")[0] for line in lines[2:]} <= {"lint", "test", "build", "acme-core", "acme-app"}
    assert len(lines) == 2 + len(ALL_BUILD)
    assert ws.ran() == [] and not (ws.root / "dist").exists()

    ws.pypm("build")
    ws.pypm("run", "package")
    ws.ran()
    assert ws.pypm("run", "--dry-run", "package").stdout.splitlines() == [
        "lock: up to date", "sync: up to date", "package: up to date"]
    assert ws.pypm("run", "--dry-run", "package", "--level", "2").stdout.splitlines()[-1] == \
        "package: would run (its definition or arguments changed)"
    (ws.member("core") / "src/acme_core/__init__.py").write_text("changed = True\n")
    lines = ws.pypm("build", "--dry-run").stdout.splitlines()
    assert "acme-core:build: would run (its inputs changed)" in lines
    assert "lint: would run (it has no outputs, so it always runs)" in lines
    # a task with outputs after one without: its inputs are only known once that one ran
    assert "acme-app:build: up to date (unless acme-app:test changes its inputs)" in lines
    assert ws.ran() == [] and "changed" not in (ws.member("core") / "dist/core.txt").read_text()

    status = ws.pypm("status").stdout.splitlines()
    names = [line.split(": ")[0] for line in status]
    assert names[:2] == ["lock", "sync"] and len(names) == len(set(names))
    assert set(names[2:]) == ALL_TASKS
    assert "acme-core:build: would run (its inputs changed) (doit: run)" in status
    assert "package: up to date (doit: up-to-date)" in status
    assert ws.ran() == []


def test_tasks_lists_every_task_with_its_help(ws: Workspace) -> None:
    listed = ws.pypm("tasks").stdout
    assert ws.pypm("run", "--list").stdout == listed
    lines = {line.split()[0]: line for line in listed.splitlines()}
    assert set(lines) == ALL_TASKS
    assert "Bundle the members' builds" in lines["build"]
    assert "(after test, acme-core:build, acme-app:build)" in lines["build"]
    assert "Test acme-app" in lines["acme-app:test"] and "(after lint)" in lines["acme-app:test"]
    assert "python -m tasklog acme-app:docs" in lines["acme-app:docs"]
    assert ws.ran() == []


def test_an_unknown_name_is_one_usage_line(ws: Workspace, tmp_path: Path) -> None:
    line = assert_one_error_line(ws.pypm("nosuch", check=False), exit_code=2)
    assert "'nosuch' is neither a pypm command nor a task here" in line
    line = assert_one_error_line(ws.pypm("lint", "nosuch", check=False), exit_code=2)
    assert "nosuch" in line
    outside = tmp_path / "outside"
    outside.mkdir()
    line = assert_one_error_line(ws.pypm("nosuch", cwd=outside, check=False), exit_code=2)
    assert "unknown command 'nosuch'" in line
    assert ws.ran() == []


# --------------------------------------------------------------------------- 8: state in .pypm


def test_state_lives_in_dot_pypm_and_losing_it_runs_tasks_again(ws: Workspace) -> None:
    ws.pypm("build")
    ws.pypm("run", "package")
    ws.ran()
    assert {p.name for p in ws.root.iterdir()} == {"pyproject.toml", "packages", "pylock.toml", ".venv", ".pypm",
                                                     "dist"}
    assert {p.name for p in (ws.root / "dist").iterdir()} == {"bundle.txt", "package.txt"}
    for short in ("core", "app"):
        assert {p.name for p in ws.member(short).iterdir()} == {"pyproject.toml", "src", "dist"}
    assert list((ws.root / ".pypm").glob("doit*"))  # doit's record of the runs
    shutil.rmtree(ws.root / ".pypm")
    assert "build: would run" in ws.pypm("build", "--dry-run").stdout
    proc = ws.pypm("build")
    assert set(ws.ran_names()) == ALL_BUILD
    assert skipped(proc.stderr) == set()
    ws.pypm("build")
    assert not BUILDS & set(ws.ran_names())


# --------------------------------------------------------------------------- found while writing these tests


def test_a_bare_task_name_inside_a_member_means_what_pypm_run_means(ws: Workspace) -> None:
    """`pypm run docs` in packages/core runs acme-core:docs; `pypm docs` there must too (not
    "'docs' is neither a pypm command nor a task here", which is false where it is)."""
    ws.pypm("run", "docs", cwd=ws.member("core"))
    assert ws.ran_names() == ["acme-core:docs"]
    proc = ws.pypm("docs", cwd=ws.member("core"), check=False)
    assert proc.returncode == 0, proc.stderr
    assert ws.ran_names() == ["acme-core:docs"]


def test_task_arguments_outside_pypm_run_point_at_it(ws: Workspace) -> None:
    """`pypm package --level 3`: arguments of a task go through `pypm run`, and the one-line
    mistake says so (not only "see `pypm sync --help`")."""
    proc = ws.pypm("package", "--level", "3", check=False)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "unrecognized arguments: --level 3" in proc.stderr and "`pypm run package ...`" in proc.stderr
    assert ws.ran_names() == []
