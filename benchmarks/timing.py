"""Run one sample: a sequence of commands, timed together, with the peak RSS of the children."""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks import WORK_DIR

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


def launcher() -> str | None:
    """The compiled ``launch.c`` (built once into ``.work/bin`` with ``cc``), or ``None`` without a compiler."""
    global _LAUNCHER
    if _LAUNCHER is None:
        source = Path(__file__).with_name("launch.c")
        digest = hashlib.sha256(source.read_bytes()).hexdigest()[:12]
        target = WORK_DIR / "bin" / f"launch-{digest}"
        if not target.exists() and shutil.which("cc"):
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + f".{os.getpid()}")
            if subprocess.run(["cc", "-O2", "-o", str(tmp), str(source)], capture_output=True).returncode == 0:
                tmp.replace(target)
        _LAUNCHER = str(target) if target.exists() else ""
    return _LAUNCHER or None


_LAUNCHER: str | None = None


def _run_one(cmd: list[str], cwd: Path, env: dict[str, str], timeout: float, err_path: Path) -> tuple[float, int, int]:
    """Run ``cmd`` under the launcher; returns (seconds, returncode, ru_maxrss KiB).

    Without a C compiler the child is reaped here with ``os.wait4`` instead, and its RSS
    then includes the runner's own (see ``launch.c``).
    """
    wrapper = launcher()
    report = err_path.with_name("report")
    report.unlink(missing_ok=True)
    argv = [wrapper, str(report), *cmd] if wrapper else cmd
    with open(os.devnull, "wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=out, stderr=err, start_new_session=True)
        timer = threading.Timer(timeout, _kill_group, args=(proc.pid,))
        timer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: keep Popen from waiting again
    if not wrapper:
        return elapsed, proc.returncode, int(usage.ru_maxrss)
    try:
        wall, rss, code = report.read_text().split()
    except (OSError, ValueError):
        return elapsed, proc.returncode or 125, 0
    return float(wall), int(code), int(rss)


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
