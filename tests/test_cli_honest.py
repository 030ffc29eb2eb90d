"""The command line answers honestly: CI flags that work (``--frozen``/``--locked`` on
``run``, ``shell`` and ``sync``), options that are honoured or refused (``status``,
``lock --check``, ``run --no-sync``), ``pypm lock`` saying what changed, and every
command's ``--help`` listing only options the command reads.

Everything runs the real CLI in a subprocess against a local test index.
"""

from __future__ import annotations

import argparse
import ast
import re
import sys
from pathlib import Path

import pytest

from pypm.testing import DistSpec, build_wheel
from pypm.testing.plugin import RunPypm
from tests.test_init_and_cli_errors import assert_one_error_line, snapshot
from tests.test_lock_sync import installed, lock_packages
from tests.workspaces import replace_in, write_project

SPECS = [DistSpec("alpha", "1.0"), DistSpec("alpha", "2.0", requires=["beta>=1"]), DistSpec("beta", "1.1"),
         DistSpec("gamma", "1.0")]


def lone_project(root: Path, dependencies: list[str]) -> Path:
    """A one-member project (no build backend: pypm builds it editable itself)."""
    return write_project(root, dependencies, name=root.name, requires_python=">=3.10")


@pytest.fixture
def synced(tmp_path: Path, make_index, run_pypm: RunPypm) -> tuple[Path, dict[str, str]]:
    """A project locked and synced against the test index: (root, env)."""
    index = make_index(SPECS)
    env = {"PYPM_INDEX_URL": index.url}
    root = lone_project(tmp_path / "proj", ["alpha<2"])
    run_pypm("sync", cwd=root, env_extra=env)
    return root, env


def make_stale(root: Path) -> bytes:
    """Add ``gamma`` to the project's dependencies; return the (now stale) lock's bytes."""
    replace_in(root / "pyproject.toml", '"alpha<2"', '"alpha<2", "gamma"')
    return (root / "pylock.toml").read_bytes()


# --------------------------------------------------------------------------- item 1: CI flags


@pytest.mark.parametrize("flag", ["--frozen", "--locked"])
def test_run_frozen_and_locked_work_in_a_synced_project(flag: str, synced, run_pypm: RunPypm) -> None:
    root, env = synced
    lock = (root / "pylock.toml").read_bytes()
    out = run_pypm("run", flag, "--", "python", "-c", "import alpha, sys; print(alpha.__version__, sys.prefix)",
                   cwd=root, env_extra=env)
    version, prefix = out.stdout.split()
    assert version == "1.0" and Path(prefix).resolve() == (root / ".venv").resolve()
    assert (root / "pylock.toml").read_bytes() == lock


def test_run_frozen_installs_a_stale_lock_as_it_is(synced, run_pypm: RunPypm) -> None:
    """uv's --frozen: the lock is used as it is, never re-resolved, even when stale."""
    root, env = synced
    (root / ".venv").rename(root / "old-venv")  # something to do: sync must run
    stale = make_stale(root)
    out = run_pypm("run", "--frozen", "--", "python", "-c", "import alpha; print(alpha.__version__)",
                   cwd=root, env_extra=env)
    assert out.stdout.strip() == "1.0"
    assert (root / "pylock.toml").read_bytes() == stale  # not re-locked
    assert "gamma" not in installed(root / ".venv")  # the stale lock, as it is
    assert "Locked" not in out.stderr


def test_run_locked_fails_in_one_line_on_a_stale_lock(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    stale = make_stale(root)
    before = installed(root / ".venv")
    proc = run_pypm("run", "--locked", "--", "python", "-c", "print('ran')", cwd=root, env_extra=env, check=False)
    line = assert_one_error_line(proc, exit_code=1)
    assert "pylock.toml is out of date" in line and "ran" not in proc.stdout
    assert (root / "pylock.toml").read_bytes() == stale
    assert installed(root / ".venv") == before


@pytest.mark.parametrize("flag", ["--frozen", "--locked"])
def test_shell_frozen_and_locked(flag: str, synced, run_pypm: RunPypm) -> None:
    """``pypm shell`` starts $SHELL (here the venv's python, reading an empty stdin)."""
    root, env = synced
    env = {**env, "SHELL": "python"}
    lock = (root / "pylock.toml").read_bytes()
    proc = run_pypm("shell", flag, cwd=root, env_extra=env)
    assert "activated" in proc.stderr and (root / "pylock.toml").read_bytes() == lock
    stale = make_stale(root)
    proc = run_pypm("shell", flag, cwd=root, env_extra=env, check=False)
    if flag == "--locked":
        assert "out of date" in assert_one_error_line(proc, exit_code=1)
    else:
        assert proc.returncode == 0, proc.stderr
    assert (root / "pylock.toml").read_bytes() == stale


def test_sync_frozen_and_locked(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    stale = make_stale(root)
    assert "out of date" in assert_one_error_line(
        run_pypm("sync", "--locked", cwd=root, env_extra=env, check=False), exit_code=1)
    (root / ".venv").rename(root / "old-venv")
    run_pypm("sync", "--frozen", cwd=root, env_extra=env)
    assert installed(root / ".venv") == {"alpha": "1.0", "proj": "1.0"}
    assert (root / "pylock.toml").read_bytes() == stale


CONTRADICTIONS = [
    # (id, argv, fragment of the one error line)
    ("frozen-with-lock", ["sync", "lock", "--frozen"], "--frozen"),
    ("locked-with-upgrade", ["sync", "--locked", "--upgrade"], "--upgrade"),
    ("frozen-with-package-upgrade", ["run", "--frozen", "-P", "alpha", "python"], "--upgrade-package"),
    ("frozen-and-locked", ["sync", "--frozen", "--locked"], "--locked"),
    ("lock-has-no-sync-options", ["lock", "--frozen"], "--frozen"),
    ("lock-alone-has-no-selection", ["lock", "--no-dev"], "--no-dev"),  # `pypm lock sync --no-dev` is fine
    ("lock-alone-has-no-reinstall", ["lock", "--reinstall"], "--reinstall"),
    ("check-with-upgrade", ["lock", "--check", "--upgrade"], "--upgrade"),
    ("check-with-sync", ["lock", "sync", "--check"], "sync"),
    ("no-sync-with-upgrade", ["run", "--no-sync", "--upgrade", "python"], "--upgrade"),
    ("no-sync-with-group", ["run", "--no-sync", "--group", "dev", "python"], "--group"),
    ("no-sync-with-python", ["run", "--no-sync", "--python", "3.12", "python"], "--python"),
    ("no-sync-with-frozen", ["run", "--no-sync", "--frozen", "python"], "--frozen"),
    ("no-sync-with-reinstall", ["run", "--no-sync", "--reinstall", "python"], "--reinstall"),
    ("no-sync-with-reinstall-package", ["run", "--no-sync", "--reinstall-package", "x", "python"],
     "--reinstall-package"),
    ("only-group-with-extra", ["sync", "--only-group", "dev", "--extra", "cli"], "cannot go with --extra"),
    ("run-without-command", ["run"], "no task or command"),
    ("run-only-dashes", ["run", "--frozen", "--"], "no task or command"),
    ("status-unknown-operation", ["status", "bogus"], "bogus"),
    ("status-frozen-upgrade", ["status", "--frozen", "--upgrade"], "--upgrade"),
    ("status-has-no-offline", ["status", "--offline"], "--offline"),
    ("init-bad-name", ["init", "--name", "bad name!"], "bad name!"),
    ("init-bad-python", ["init", "--python", "abc"], "abc"),
    ("version-has-no-options", ["version", "-q"], "-q"),
]


@pytest.mark.parametrize(("argv", "fragment"), [c[1:] for c in CONTRADICTIONS], ids=[c[0] for c in CONTRADICTIONS])
def test_refused_before_any_work(argv: list[str], fragment: str, tmp_path: Path, run_pypm: RunPypm) -> None:
    """Options a command would not honour are refused (exit 2, one line) before any lock,
    sync or file is written; the index is unreachable, so any work would show."""
    root = lone_project(tmp_path / "proj", ["alpha"])
    before = snapshot(root)
    proc = run_pypm(*argv, cwd=root, env_extra={"PYPM_INDEX_URL": "http://127.0.0.1:9/simple/"}, check=False)
    assert fragment in assert_one_error_line(proc, exit_code=2)
    assert snapshot(root) == before and not (root / ".pypm").exists()


def test_status_honours_its_options(synced, run_pypm: RunPypm) -> None:
    """Today's bug: ``status --python /nonexistent --upgrade`` said "up to date"."""
    root, env = synced
    plain = run_pypm("status", cwd=root, env_extra=env).stdout.splitlines()
    assert [line.split(" (")[0] for line in plain] == ["lock: up to date", "sync: up to date"]
    out = run_pypm("status", "--python", "/nonexistent", "--upgrade", cwd=root, env_extra=env).stdout
    lock_line, sync_line = out.splitlines()
    assert lock_line.startswith("lock: would run (re-lock requested)"), out
    assert sync_line.startswith("sync: would run ("), out
    assert "settings changed" in sync_line
    assert run_pypm("status", "sync", "--no-dev", cwd=root, env_extra=env).stdout.startswith("sync: would run")
    assert run_pypm("status", "lock", "--upgrade", cwd=root, env_extra=env).stdout.startswith("lock: would run")
    upgrade = run_pypm("status", "sync", "--upgrade", cwd=root, env_extra=env).stdout
    assert upgrade.startswith("sync: would run if the re-lock changes pylock.toml"), upgrade
    assert run_pypm("status", "--prerelease", "allow", cwd=root, env_extra=env).stdout.startswith("lock: would run")
    make_stale(root)
    run_pypm("sync", "--frozen", cwd=root, env_extra=env)  # .venv matches the stale lock
    frozen = run_pypm("status", "--frozen", cwd=root, env_extra=env).stdout.splitlines()
    assert frozen[0].startswith("lock: skipped") and frozen[1].startswith("sync: up to date"), frozen
    stale = run_pypm("status", cwd=root, env_extra=env).stdout.splitlines()
    assert stale[0].startswith("lock: would run") and stale[1].startswith("sync: would run"), stale


def test_lock_check_and_offline(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    assert "up to date" in run_pypm("lock", "--check", "--offline", cwd=root, env_extra=env).stderr
    stale = make_stale(root)
    line = assert_one_error_line(run_pypm("lock", "--check", cwd=root, env_extra=env, check=False), exit_code=1)
    assert "out of date" in line and (root / "pylock.toml").read_bytes() == stale


def test_sync_relocks_with_the_lock_options(tmp_path: Path, make_index, run_pypm: RunPypm) -> None:
    """``sync --help`` lists the lock options because sync re-locks with them."""
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = lone_project(tmp_path / "proj", ["alpha"])
    first = run_pypm("sync", cwd=root, env_extra=env).stderr.splitlines()
    assert "Locked 2 packages in pylock.toml" in first  # a first lock lists no changes (as uv)
    assert not [line for line in first if line.startswith(("+", "-", "~"))], first
    index.add(build_wheel(DistSpec("alpha", "2.0"), tmp_path / "later"))
    run_pypm("sync", cwd=root, env_extra=env)
    assert installed(root / ".venv")["alpha"] == "1.0"  # the locked version is kept
    out = run_pypm("sync", "--upgrade", "--refresh", cwd=root, env_extra=env)
    assert "~ alpha 1.0 -> 2.0" in out.stderr.splitlines()
    assert installed(root / ".venv")["alpha"] == "2.0" and lock_packages(root)["alpha"]["version"] == "2.0"


def test_run_no_sync_runs_the_venv_as_it_is(synced, run_pypm: RunPypm) -> None:
    root, env = synced
    stale = make_stale(root)
    out = run_pypm("run", "--no-sync", "python", "-c", "import sys; print(sys.prefix)", cwd=root, env_extra=env)
    assert Path(out.stdout.strip()).resolve() == (root / ".venv").resolve()
    assert (root / "pylock.toml").read_bytes() == stale


def test_run_refuses_a_venv_without_interpreter(synced, run_pypm: RunPypm) -> None:
    """A command must not fall through to another Python further down PATH."""
    root, env = synced
    venv = root / ".venv"
    for python in [*venv.glob("bin/python*"), *venv.glob("Scripts/python*.exe")]:
        python.unlink()
    proc = run_pypm("run", "--no-sync", "python", "-c", "print('ran')", cwd=root, env_extra=env, check=False)
    assert "pypm sync" in assert_one_error_line(proc, exit_code=1) and "ran" not in proc.stdout
    (root / "empty").mkdir()
    proc = run_pypm("run", "--no-sync", "python", "-c", "1", cwd=root / "empty", env_extra=env, check=False)
    assert_one_error_line(proc, exit_code=1)


# --------------------------------------------------------------------------- item 9: lock says what changed


def stderr_lines(proc) -> list[str]:
    return proc.stderr.splitlines()


def test_lock_lists_what_changed_and_counts_packages(tmp_path: Path, make_index, run_pypm: RunPypm) -> None:
    index = make_index(SPECS)
    env = {"PYPM_INDEX_URL": index.url}
    root = lone_project(tmp_path / "proj", [])
    assert stderr_lines(run_pypm("lock", cwd=root, env_extra=env)) == ["Locked 1 package in pylock.toml"]
    replace_in(root / "pyproject.toml", "dependencies = []", 'dependencies = ["alpha<2"]')
    assert stderr_lines(run_pypm("lock", cwd=root, env_extra=env)) == [
        "+ alpha 1.0", "Locked 2 packages in pylock.toml"]
    replace_in(root / "pyproject.toml", '"alpha<2"', '"alpha>=2"')
    assert stderr_lines(run_pypm("lock", cwd=root, env_extra=env)) == [
        "~ alpha 1.0 -> 2.0", "+ beta 1.1", "Locked 3 packages in pylock.toml"]
    replace_in(root / "pyproject.toml", 'version = "1.0"', 'version = "1.1"')  # the member only
    assert stderr_lines(run_pypm("lock", cwd=root, env_extra=env)) == ["Locked 3 packages in pylock.toml"]
    assert stderr_lines(run_pypm("lock", "--upgrade", cwd=root, env_extra=env)) == [
        "Locked 3 packages in pylock.toml"]  # re-resolved, nothing changed: nothing listed
    assert stderr_lines(run_pypm("lock", cwd=root, env_extra=env)) == ["All up to date (lock)"]
    replace_in(root / "pyproject.toml", '"alpha>=2"', '"gamma"')
    assert stderr_lines(run_pypm("lock", cwd=root, env_extra=env)) == [
        "- alpha 2.0", "- beta 1.1", "+ gamma 1.0", "Locked 2 packages in pylock.toml"]


def test_lock_changes_line_format() -> None:
    from pypm.operations.lock import changes

    before = {"a": ("1.0",), "b": ("1.0",), "c": ("1.0", "2.0")}
    after = {"a": ("1.0",), "c": ("2.0",), "d": ("3",)}
    assert changes(before, after) == ["- b 1.0", "~ c 1.0, 2.0 -> 2.0", "+ d 3"]
    assert changes(after, after) == []


# --------------------------------------------------------------------------- item 9: --help lists what is honoured


def _command_parsers() -> dict[str, argparse.ArgumentParser]:
    from pypm.cli.main import COMMANDS
    from pypm.cli.parser import build_parser

    parser = build_parser(COMMANDS)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return {name: command for name, command in sub.choices.items() if name in COMMANDS}  # aliases share these


CLI = Path(__file__).resolve().parents[1] / "pypm" / "cli"
SHARED_READERS = ("graph_options.py", "graph_run.py", "parser.py")


def _functions(path: Path) -> dict[str, tuple[set[str], set[str]]]:
    """function -> (option dests it reads, names it calls), for every function in ``path``.

    A read is ``options.<dest>`` or ``getattr(options, "<dest>", ...)``."""
    table = {}
    for func in ast.walk(ast.parse(path.read_text("utf-8"))):
        if not isinstance(func, ast.FunctionDef):
            continue
        reads, calls = set(), set()
        for node in ast.walk(func):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "options":
                reads.add(node.attr)
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                args = node.args
                if node.func.id == "getattr" and isinstance(args[0], ast.Name) and args[0].id == "options" \
                        and isinstance(args[1], ast.Constant):
                    reads.add(args[1].value)
                calls.add(node.func.id)
        table[func.name] = (reads, calls)
    return table


def _dests_read(command: str) -> set[str]:
    """What ``pypm <command>`` reads: its ``run`` and every function of the command module
    and the shared readers it calls, transitively; plus the global options that
    ``main._dispatch`` reads for every command."""
    table = {}
    for name in SHARED_READERS:
        table.update(_functions(CLI / name))
    table.update(_functions(CLI / "commands" / f"{command}.py"))
    seen, todo, reads = set(), ["run"], set(_functions(CLI / "main.py")["_dispatch"][0])
    while todo:
        name = todo.pop()
        if name in seen or name not in table:
            continue
        seen.add(name)
        reads |= table[name][0]
        todo.extend(table[name][1])
    return reads


def _sample_argv(parser: argparse.ArgumentParser, action: argparse.Action) -> list[str]:
    """Arguments that give ``action`` a value (plus what the command requires)."""
    argv = [action.option_strings[0]]
    if action.nargs != 0:
        argv.append(action.choices[0] if action.choices else "2" if action.metavar == "N" else "x")
    required = [a for a in parser._actions if not a.option_strings and a.nargs not in ("*", "?")]
    for positional in required:
        argv.append(positional.choices[0] if positional.choices else "--" if positional.nargs == "..." else "x")
    return argv + (["python"] if any(a.nargs == "..." for a in required) else [])


def _help_options() -> list[tuple[str, str]]:
    rows = []
    for command, parser in _command_parsers().items():
        for action in parser._actions:
            if action.option_strings and action.help != argparse.SUPPRESS and action.dest != "help":
                rows.append((command, action.option_strings[0]))
    return rows


@pytest.mark.parametrize(("command", "option"), _help_options(), ids=lambda v: v)
def test_every_option_in_help_is_accepted_and_read(command: str, option: str) -> None:
    """Walk ``pypm <command> --help``: each option listed parses into a value, and the
    command's code reads that value: ``options.<dest>`` or ``getattr(options, "<dest>")``
    in a function that the command's ``run`` calls (followed through the shared readers)."""
    from pypm.cli.main import COMMANDS
    from pypm.cli.parser import build_parser

    sub = _command_parsers()[command]
    assert option in sub.format_help()
    action = next(a for a in sub._actions if option in a.option_strings)
    options = build_parser(COMMANDS).parse_args([command, *_sample_argv(sub, action)])
    default = action.default if action.default is not argparse.SUPPRESS else None
    assert getattr(options, action.dest) not in (default, argparse.SUPPRESS), (command, option)
    assert action.dest in _dests_read(command), f"pypm {command} {option}: nothing reads {action.dest}"


def test_help_shows_only_what_each_command_honours() -> None:
    parsers = _command_parsers()
    lock_help, sync_help = parsers["lock"].format_help(), parsers["sync"].format_help()
    for sync_only in ("--frozen", "--locked"):
        assert sync_only not in lock_help.split("operations:")[0], sync_only
        assert sync_only in sync_help
    # `pypm lock sync` honours the selection; `pypm lock` alone refuses it (exit 2)
    assert "sync options (with `pypm lock sync` or a task)" in lock_help
    for selection in ("--group", "--no-dev", "--extra", "--inexact", "--no-install-project"):
        assert selection in lock_help.split("sync options (with `pypm lock sync` or a task)")[1], selection
        assert selection in sync_help
    assert "lock options (used when pylock.toml is re-locked first)" in sync_help
    assert "--offline" not in parsers["status"].format_help() and "--locked" not in parsers["status"].format_help()
    assert "--project" not in parsers["version"].format_help()
    for command in ("lock", "sync", "status"):
        epilog = parsers[command].epilog or ""
        described = re.findall(r"^  (\w+)  +\S", epilog, re.MULTILINE)
        assert described and set(described) <= {"lock", "sync", "bundle", "TASK"}, (command, epilog)


@pytest.mark.parametrize("command", ["init", "lock", "sync", "run", "tasks", "shell", "status", "cache", "python",
                                     "version"])
def test_help_exits_0(command: str, run_pypm: RunPypm, tmp_path: Path) -> None:
    proc = run_pypm(command, "--help", cwd=tmp_path)
    assert proc.stdout.startswith(f"usage: pypm {command}") and not proc.stderr


def test_init_honours_project_option(run_pypm: RunPypm, tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    run_pypm("--project", "base", "init", "newproj", cwd=tmp_path)
    run_pypm("init", "--project", "base", "other", cwd=tmp_path)
    assert (tmp_path / "base/newproj/pyproject.toml").is_file() and (tmp_path / "base/other/pyproject.toml").is_file()


@pytest.mark.skipif(sys.platform == "win32", reason="pty is POSIX; rich draws the Windows console itself")
def test_error_colour_drawn_by_rich_on_a_terminal_only(tmp_path: Path, pypm_env: dict[str, str]) -> None:
    """On a terminal ``error`` is red (drawn by rich); --no-color, NO_COLOR and pipes get plain text."""
    import os
    import pty
    import subprocess

    def on_terminal(*args: str, no_color: bool = False) -> str:
        env = {k: v for k, v in pypm_env.items() if k != "NO_COLOR"} | ({"NO_COLOR": "1"} if no_color else {})
        main, child = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-m", "pypm", *args], cwd=tmp_path, env=env,
                                stdin=subprocess.DEVNULL, stdout=child, stderr=child)
        os.close(child)
        out = b""
        while True:
            try:
                chunk = os.read(main, 4096)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        proc.wait()
        os.close(main)
        return out.decode()

    assert on_terminal("frobnicate").startswith("\x1b[1;31merror\x1b[0m: ")
    assert on_terminal("--no-color", "frobnicate").startswith("error: ")
    assert on_terminal("frobnicate", no_color=True).startswith("error: ")
