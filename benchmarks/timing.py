"""Run one sample: a sequence of commands, timed together, with the peak RSS of the children."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Sample", "run_sample", "run_quiet"]

TAIL_CHARS = 2000


@dataclass
class Sample:
    """The outcome of one timed run (``wall`` in seconds, ``max_rss_kib`` from ``wait4``)."""

    wall: float
    max_rss_kib: int
    ok: bool
    returncode: int
    stderr_tail: str = ""
    commands: list[list[str]] = field(default_factory=list)


def _tail(path: Path, limit: int = TAIL_CHARS) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", "replace")


def _run_one(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float, err_path: Path) -> tuple[float, int, int]:
    """Spawn ``cmd``, reap it with ``os.wait4``; returns (seconds, returncode, ru_maxrss KiB)."""
    with open(os.devnull, "wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        timer = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting again
    return elapsed, proc.returncode, int(usage.ru_maxrss)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def run_sample(commands: list[list[str]], cwd: Path, env: dict[str, str], timeout: float = 900.0) -> Sample:
    """Run ``commands`` one after the other (stopping at the first failure) and time them.

    The wall time is the sum of the commands' times, so the runner's own work between them
    is not counted; the RSS is the largest ``ru_maxrss`` any of them reported (Linux reports
    the peak of the child and of the descendants it waited for).
    """
    total, peak = 0.0, 0
    with tempfile.TemporaryDirectory(prefix="bench-err-") as tmp:
        err_path = Path(tmp) / "stderr"
        for cmd in commands:
            try:
                elapsed, code, rss = _run_one(cmd, cwd, env, timeout, err_path)
            except OSError as exc:
                return Sample(total, peak, False, -1, f"cannot run {cmd[0]}: {exc}", commands)
            total += elapsed
            peak = max(peak, rss)
            if code != 0:
                return Sample(total, peak, False, code, _tail(err_path), commands)
    return Sample(total, peak, True, 0, "", commands)


def run_quiet(commands: list[list[str]], cwd: Path, env: dict[str, str], timeout: float = 900.0) -> tuple[bool, str]:
    """Run untimed set-up commands; returns (ok, stderr tail of the failing one)."""
    for cmd in commands:
        try:
            proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return False, str(exc)
        if proc.returncode != 0:
            return False, proc.stderr.decode("utf-8", "replace")[-TAIL_CHARS:]
    return True, ""
