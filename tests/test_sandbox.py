"""``pypm sandbox``: a command (or the shell) with ``.venv`` activated in a fresh temporary
directory that is gone afterwards, also when the command fails, is killed, or pypm gets
SIGTERM, SIGHUP or Ctrl-C; ``-d DIR`` is kept; ``--no-network`` cuts the command (not
pypm's own locking and syncing) off the network.

Everything runs the real CLI in a subprocess against a local test index. ``TMPDIR`` points
at a directory of the test's own, so a sandbox left behind shows.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from pypm.testing.plugin import RunPypm
from tests.test_init_and_cli_errors import DEAD_INDEX, assert_one_error_line, snapshot
from tests.workspaces import write_project

POSIX_ONLY = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals (Windows has no SIGTERM to catch)")
LINUX = sys.platform.startswith("linux")


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    """The ``TMPDIR`` pypm makes its sandboxes in."""
    path = tmp_path / "tmp"
    path.mkdir()
    return path


@pytest.fixture
def project(tmp_path: Path, tmp: Path, make_index, run_pypm: RunPypm) -> tuple[Path, dict[str, str], str]:
    """A project needing ``alpha`` from the test index, locked and synced: (root, env, index URL)."""
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url, "TMPDIR": str(tmp)}
    root = write_project(tmp_path / "proj", ["alpha"], requires_python=">=3.10")
    run_pypm("sync", cwd=root, env_extra=env)
    return root, env, index.url


def sandbox_of(stderr: str) -> Path:
    """The directory the ``Sandbox: DIR (...)`` line names."""
    found = re.search(r"^Sandbox: (.+) \((?:removed on exit|kept)", stderr, re.MULTILINE)
    assert found, stderr
    return Path(found.group(1))


def test_command_runs_in_a_fresh_directory_that_is_gone_afterwards(project, tmp: Path, run_pypm: RunPypm) -> None:
    root, env, _url = project
    code = ("import alpha, os, pathlib, sys; print(os.listdir('.')); pathlib.Path('made.txt').write_text('x'); "
            "print(os.getcwd()); print(alpha.__version__, sys.prefix); print(sorted(os.listdir('.')))")
    proc = run_pypm("sandbox", "--", "python", "-c", code, cwd=root, env_extra=env)
    empty, cwd, version_prefix, after = proc.stdout.splitlines()
    sandbox = sandbox_of(proc.stderr)
    assert empty == "[]" and after == "['made.txt']"  # fresh, and the command could write in it
    assert Path(cwd) == sandbox and sandbox.parent == tmp.resolve() and sandbox.name.startswith("pypm-sandbox-")
    version, prefix = version_prefix.split()
    assert version == "1.0" and Path(prefix).resolve() == (root / ".venv").resolve()  # .venv activated
    assert "removed on exit" in proc.stderr and not sandbox.exists() and list(tmp.iterdir()) == []


@pytest.mark.parametrize(("code", "expected"), [
    ("import sys; sys.exit(7)", 7),
    pytest.param("import os, signal; os.kill(os.getpid(), signal.SIGKILL)", 128 + 9, marks=POSIX_ONLY),
    ("import os, stat; os.makedirs('ro/deep'); open('ro/deep/f', 'w').close(); "
     "os.chmod('ro/deep', stat.S_IRUSR | stat.S_IXUSR); os.chmod('ro', stat.S_IRUSR)", 0),
])
def test_exit_code_passes_through_and_the_directory_goes(code: str, expected: int, project, tmp: Path,
                                                         run_pypm: RunPypm) -> None:
    """The command's exit code (128+N for signal N, as shells report it); what it left,
    read-only directories included, is removed."""
    root, env, _url = project
    proc = run_pypm("sandbox", "--", "python", "-c", code, cwd=root, env_extra=env, check=False)
    assert proc.returncode == expected, proc.stderr
    assert not sandbox_of(proc.stderr).exists() and list(tmp.iterdir()) == []
    assert "warning" not in proc.stderr and "error" not in proc.stderr


def test_shell_starts_when_no_command_is_given(project, tmp: Path, run_pypm: RunPypm) -> None:
    """``$SHELL`` (here the venv's python, reading an empty stdin) starts in the sandbox."""
    root, env, _url = project
    proc = run_pypm("sandbox", cwd=root, env_extra={**env, "SHELL": "python"})
    line = next(line for line in proc.stderr.splitlines() if line.startswith("Sandbox: "))
    assert "(removed on exit); starting " in line and "activated, `exit` returns" in line
    assert not sandbox_of(proc.stderr).exists() and list(tmp.iterdir()) == []


# --------------------------------------------------------------------------- signals to pypm


def alive(pid: int) -> bool:
    """Whether process ``pid`` still runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().rsplit(")", 1)[1].split()[0] == "Z")


def child_code(marker: Path, body: str, first: str = "") -> str:
    """Python for the sandboxed command: ``first``, write ``PID CWD`` to ``marker``
    (atomically), then ``body``."""
    return ("import os, pathlib, signal, sys, time\n" + first +
            f"marker = pathlib.Path({str(marker)!r})\n"
            "marker.with_suffix('.tmp').write_text(f'{os.getpid()} {os.getcwd()}')\n"
            "os.replace(marker.with_suffix('.tmp'), marker)\n" + body)


def wait_for(marker: Path, proc: subprocess.Popen) -> tuple[int, Path]:
    """The child's (pid, cwd) once it wrote ``marker``."""
    deadline = time.monotonic() + 120
    while not marker.exists():
        assert proc.poll() is None, f"pypm ended early with {proc.returncode}"
        assert time.monotonic() < deadline, "the command never started"
        time.sleep(0.05)
    pid, cwd = marker.read_text().split(" ", 1)
    return int(pid), Path(cwd)


def stop(proc: subprocess.Popen, marker: Path) -> None:
    """Kill pypm and the command it started, whatever state a failing test left them in."""
    proc.kill()
    proc.wait()
    if marker.exists():
        with suppress(ProcessLookupError):
            os.kill(int(marker.read_text().split()[0]), signal.SIGKILL)


def start_pypm(argv: list[str], root: Path, env: dict[str, str], log: Path, **popen) -> subprocess.Popen:
    with log.open("w") as out:
        return subprocess.Popen([sys.executable, "-m", "pypm", *argv], cwd=root, env=env, stdout=out, stderr=out,
                                **{"stdin": subprocess.DEVNULL, **popen})


@POSIX_ONLY
@pytest.mark.parametrize(("signum", "body", "expected"), [
    (signal.SIGTERM, "time.sleep(120)", 143),
    (signal.SIGHUP, "time.sleep(120)", 129),
    # a command that ignores SIGTERM (as an interactive shell does) is killed after the grace period
    (signal.SIGTERM, "signal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(120)", 143),
], ids=["sigterm", "sighup", "sigterm-ignored"])
def test_pypm_terminated_passes_the_signal_on_and_cleans_up(signum: int, body: str, expected: int, project,
                                                            tmp: Path, tmp_path: Path, pypm_env) -> None:
    root, env, _url = project
    marker, log = tmp_path / "child.txt", tmp_path / "pypm.log"
    proc = start_pypm(["sandbox", "--", "python", "-c", child_code(marker, body)], root, {**pypm_env, **env}, log)
    try:
        pid, cwd = wait_for(marker, proc)
        assert cwd.is_dir() and cwd == sandbox_of(log.read_text())
        proc.send_signal(signum)
        assert proc.wait(timeout=30) == expected, log.read_text()
        assert not alive(pid), "the command was left running"
    finally:
        stop(proc, marker)
    assert not cwd.exists() and list(tmp.iterdir()) == []


# The command, interrupted, writes into its sandbox a second later: pypm must still be
# there (not dead of the Ctrl-C), wait, pass on its exit code, then clean up.
INTERRUPTED = """
interrupts = 0
try:
    time.sleep(120)
except KeyboardInterrupt:
    interrupts += 1
for _ in range(10):
    try:
        time.sleep(0.1)
    except KeyboardInterrupt:
        interrupts += 1
pathlib.Path('late.txt').write_text('still here')
marker.with_name('done.txt').write_text(f"{interrupts} {sorted(os.listdir('.'))}")
sys.exit(3)
"""
# Runs pypm (argv[2:]) with the pty argv[1] as its controlling terminal (we are a session leader).
ON_TERMINAL = """
import os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
for target in (0, 1, 2):
    os.dup2(fd, target)
os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
"""


@POSIX_ONLY
@pytest.mark.parametrize("how", ["ctrl-c-at-terminal", "ctrl-c-child-in-own-group", "kill-int"])
def test_interrupt_leaves_pypm_to_clean_up(how: str, project, tmp: Path, tmp_path: Path, pypm_env) -> None:
    """Ctrl-C at the terminal reaches pypm and the command (in pypm's foreground group):
    pypm stays, waits for the command and cleans up. A SIGINT the command did not get (it
    left pypm's process group, or the signal was sent to pypm alone) is passed on."""
    root, env, _url = project
    marker, log = tmp_path / "child.txt", tmp_path / "pypm.log"
    first = "os.setpgid(0, 0)\n" if how == "ctrl-c-child-in-own-group" else ""
    argv = ["sandbox", "--", "python", "-c", child_code(marker, INTERRUPTED, first)]
    main_fd = None
    if how.startswith("ctrl-c"):
        import pty

        main_fd, terminal = pty.openpty()
        proc = subprocess.Popen([sys.executable, "-c", ON_TERMINAL, os.ttyname(terminal), "-m", "pypm", *argv],
                                cwd=root, env={**pypm_env, **env}, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(terminal)
    else:
        proc = start_pypm(argv, root, {**pypm_env, **env}, log)
    try:
        pid, cwd = wait_for(marker, proc)
        if main_fd is not None:
            os.write(main_fd, b"\x03")
        else:
            proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 3
        assert not alive(pid)
    finally:
        stop(proc, marker)
        if main_fd is not None:
            os.close(main_fd)
    assert (tmp_path / "done.txt").read_text() == "1 ['late.txt']"
    assert not cwd.exists() and list(tmp.iterdir()) == []


# --------------------------------------------------------------------------- -d DIR


def test_named_directory_is_made_and_kept(project, tmp: Path, tmp_path: Path, run_pypm: RunPypm) -> None:
    root, env, _url = project
    kept = tmp_path / "kept"
    kept.mkdir()
    (kept / "mine.txt").write_text("mine")
    code = "import os, pathlib; pathlib.Path('made.txt').write_text('x'); print(os.getcwd())"
    proc = run_pypm("sandbox", "-d", kept, "--", "python", "-c", code, cwd=root, env_extra=env)
    assert Path(proc.stdout.strip()) == kept.resolve() == sandbox_of(proc.stderr) and "(kept)" in proc.stderr
    assert (kept / "mine.txt").read_text() == "mine" and (kept / "made.txt").read_text() == "x"
    proc = run_pypm("sandbox", "-d", "../new/deep", "--", "python", "-c", code, cwd=root, env_extra=env,
                    check=False)
    assert proc.returncode == 0, proc.stderr  # relative to the current directory, made with its parents
    assert Path(proc.stdout.strip()) == (tmp_path / "new/deep").resolve()
    assert (tmp_path / "new/deep/made.txt").is_file() and list(tmp.iterdir()) == []


# --------------------------------------------------------------------------- --no-network

CONNECT = ("import sys, urllib.request\n"
           "try:\n"
           "    print(urllib.request.urlopen(sys.argv[1], timeout=10).status)\n"
           "except OSError as exc:\n"
           "    print('failed:', exc)\n"
           "    sys.exit(1)\n")


@pytest.mark.skipif(not LINUX, reason="--no-network needs Linux namespaces (refused elsewhere: see below)")
def test_no_network_cuts_the_command_off_the_index(tmp_path: Path, tmp: Path, make_index,
                                                   run_pypm: RunPypm) -> None:
    """The index answers the command without --no-network, not with it; pypm's own lock
    and sync (outside the namespaces) still reach it. Files made keep their owner."""
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url, "TMPDIR": str(tmp)}
    root = write_project(tmp_path / "proj", ["alpha"], requires_python=">=3.10")
    kept = tmp_path / "kept"
    isolated = run_pypm("sandbox", "--no-network", "-d", kept, "--", "python", "-c",
                        CONNECT + "import alpha, os; open('made.txt', 'w').close()", index.url,
                        cwd=root, env_extra=env, check=False)
    assert "Synced .venv" in isolated.stderr  # pypm synced (from the index) before running the command
    assert isolated.returncode == 1 and isolated.stdout.startswith("failed:"), isolated
    assert "no network" in isolated.stderr and "error" not in isolated.stderr
    assert not (kept / "made.txt").exists()  # the command stopped at the failed connection
    connected = run_pypm("sandbox", "--", "python", "-c", CONNECT, index.url, cwd=root, env_extra=env)
    assert connected.stdout.strip() == "200"
    made = run_pypm("sandbox", "--no-network", "-d", kept, "--", "python", "-c", "open('made.txt', 'w').close()",
                    cwd=root, env_extra=env)
    assert made.returncode == 0 and (kept / "made.txt").stat().st_uid == os.getuid()
    assert list(tmp.iterdir()) == []


@pytest.mark.skipif(not LINUX or shutil.which("unshare") is None, reason="needs Linux and unshare(1)")
def test_no_network_where_namespaces_are_forbidden_is_one_line(project, tmp: Path, tmp_path: Path,
                                                               pypm_env) -> None:
    """A user without a mapping (``unshare --user``) may not make a user namespace (EPERM):
    one line saying why and what to do, nothing run, the sandbox removed."""
    root, env, _url = project
    code = "open(__import__('sys').argv[1], 'w').close()"
    proc = subprocess.run(["unshare", "--user", sys.executable, "-m", "pypm", "-q", "sandbox", "--no-network", "--",
                           "python", "-c", code, str(tmp_path / "ran")], cwd=root, env={**pypm_env, **env},
                          capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
    line = assert_one_error_line(proc, exit_code=1)
    assert "cannot create user and network namespaces: operation not permitted" in line
    assert "or run without --no-network" in line
    assert not (tmp_path / "ran").exists() and list(tmp.iterdir()) == []


@pytest.mark.skipif(LINUX, reason="elsewhere --no-network is refused")
def test_no_network_is_refused_off_linux(tmp_path: Path, run_pypm: RunPypm) -> None:
    root = write_project(tmp_path / "proj", ["alpha"], requires_python=">=3.10")
    proc = run_pypm("sandbox", "--no-network", "--", "python", cwd=root, env_extra={"PYPM_INDEX_URL": DEAD_INDEX},
                    check=False)
    assert "needs Linux user and network namespaces" in assert_one_error_line(proc, exit_code=1)


# --------------------------------------------------------------------------- mistakes are one line


def test_mistakes_are_one_line(project, tmp: Path, tmp_path: Path, run_pypm: RunPypm) -> None:
    """A file for -d (before any work: the index is dead, nothing is written), a command
    that does not exist, an interpreter that does not exist: one line, no sandbox left."""
    root, env, _url = project
    (tmp_path / "a-file").write_text("x")
    before = snapshot(root)
    dead = {**env, "PYPM_INDEX_URL": DEAD_INDEX}
    for directory in ("a-file", "a-file/below"):
        proc = run_pypm("sandbox", "-d", tmp_path / directory, "--", "python", cwd=root, env_extra=dead,
                        check=False)
        line = assert_one_error_line(proc, exit_code=2)
        assert f"{tmp_path / 'a-file'} is not a directory" in line, line
    assert snapshot(root) == before
    proc = run_pypm("-q", "sandbox", "--", "no-such-command", cwd=root, env_extra=env, check=False)
    assert "command not found: no-such-command" in assert_one_error_line(proc, exit_code=1)
    proc = run_pypm("-q", "sandbox", "--python", tmp_path / "no-such-python", "--", "python", cwd=root,
                    env_extra=env, check=False)
    assert "no-such-python" in assert_one_error_line(proc, exit_code=1)
    assert list(tmp.iterdir()) == []
