"""``pypm run`` and tasks wait for their command as a shell does (the supervisor ``sandbox``
uses): SIGTERM to pypm is passed on and waited out, so no command is left running; Ctrl-C
is the command's to handle; a command ended by signal N exits 128+N. Real processes and
real signals."""

from __future__ import annotations

import os
import signal
import sys
import time
from contextlib import suppress
from pathlib import Path

import pytest

from pypm.testing.plugin import RunPypm
from tests import test_sandbox
from tests.test_sandbox import POSIX_ONLY, alive, child_code, start_pypm, stop, wait_for
from tests.workspaces import replace_in

project = test_sandbox.project  # the fixtures: a locked and synced project, and its TMPDIR
tmp = test_sandbox.tmp


@POSIX_ONLY
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["sigterm", "sigint-not-from-terminal"])
def test_a_signalled_run_passes_the_signal_on_and_leaves_nothing_running(signum: int, project, tmp_path: Path,
                                                                         pypm_env) -> None:
    root, env, _url = project
    marker, log = tmp_path / "child.txt", tmp_path / "pypm.log"
    body = "signal.signal(signal.SIGINT, lambda *a: sys.exit(5))\ntime.sleep(120)\n"
    proc = start_pypm(["run", "--", "python", "-c", child_code(marker, body)], root, {**pypm_env, **env}, log)
    try:
        pid, _cwd = wait_for(marker, proc)
        proc.send_signal(signum)
        code = proc.wait(timeout=30)
        assert not alive(pid), "the command was left running"
        # SIGTERM: the command ended by it, pypm 143; SIGINT: the command's own exit code
        assert code == (143 if signum == signal.SIGTERM else 5), log.read_text()
    finally:
        stop(proc, marker)


@POSIX_ONLY
def test_a_command_or_task_ended_by_a_signal_exits_128_plus_n(project, run_pypm: RunPypm) -> None:
    root, env, _url = project
    ended = run_pypm("run", "--", "python", "-c", "import os, signal; os.kill(os.getpid(), signal.SIGTERM)",
                     cwd=root, env_extra=env, check=False)
    assert ended.returncode == 143, ended.stderr
    replace_in(root / "pyproject.toml", "[project]", '[tool.pypm.tasks]\nkilled = "python -c \\"import os, signal; '
               'os.kill(os.getpid(), signal.SIGKILL)\\""\n\n[project]')
    task = run_pypm("killed", cwd=root, env_extra=env, check=False)
    assert task.returncode == 137 and "task killed failed (exit code 137: ended by SIGKILL)" in task.stderr, \
        task.stderr


def test_the_exit_code_of_the_command_is_pypms(project, run_pypm: RunPypm) -> None:
    root, env, _url = project
    assert run_pypm("run", "--", sys.executable, "-c", "raise SystemExit(7)", cwd=root, env_extra=env,
                    check=False).returncode == 7


@POSIX_ONLY
def test_tasks_side_by_side_pass_sigterm_on(project, tmp_path: Path, pypm_env) -> None:
    """``-j 2``: the tasks' commands run from worker threads, which cannot handle signals;
    SIGTERM to pypm still reaches every running command, the task waiting for a free slot
    (started by ``--keep-going`` when the others fail) is not left running either, and pypm
    exits 143 as a serial run does."""
    root, env, _url = project
    markers = {name: tmp_path / f"{name}.txt" for name in ("a", "b", "c")}
    for name, marker in markers.items():
        (root / f"sleeper_{name}.py").write_text(child_code(marker, "time.sleep(120)\n"))
    replace_in(root / "pyproject.toml", "[project]", '[tool.pypm.tasks]\na = "python sleeper_a.py"\n'
               'b = "python sleeper_b.py"\nc = "python sleeper_c.py"\n\n[project]')
    log = tmp_path / "pypm.log"
    proc = start_pypm(["a", "b", "c", "-j", "2", "--keep-going"], root, {**pypm_env, **env}, log)
    try:
        deadline = time.monotonic() + 120
        while sum(marker.exists() for marker in markers.values()) < 2:  # two run, one waits for a slot
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        started = [name for name, marker in markers.items() if marker.exists()]
        pids = [wait_for(markers[name], proc)[0] for name in started]
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=30)
        assert code == 143, log.read_text()
        late = [int(marker.read_text().split()[0]) for name, marker in markers.items()
                if name not in started and marker.exists()]
        assert not any(alive(pid) for pid in [*pids, *late]), "a command was left running"
    finally:
        proc.kill()
        proc.wait()
        for marker in markers.values():
            if marker.exists():
                with suppress(ProcessLookupError):
                    os.kill(int(marker.read_text().split()[0]), signal.SIGKILL)
