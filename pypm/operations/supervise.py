"""Run a command and wait for it as a shell does: Ctrl-C is the command's to handle (an
interactive Python stays), SIGTERM and SIGHUP sent to pypm are passed on and waited out
(the command is killed after a grace period), and the exit code is the command's, 128+N
when signal N ended it (or ended pypm). Used by ``run``, tasks and ``sandbox``; tasks run
side by side (``-j N``, in worker threads) are watched by one :class:`SideBySide`."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from types import FrameType

#: Seconds the command has to end after pypm passed it SIGTERM or SIGHUP; then it is
#: killed (an interactive shell ignores SIGTERM).
GRACE_SECONDS = 5.0


def run_supervised(argv: list[str] | str, cwd: Path | None = None, env: dict[str, str] | None = None,
                   shell: bool = False) -> int:
    """Run ``argv`` under a :class:`Supervisor`; its exit code as a shell reports it."""
    supervisor = Supervisor()
    with supervisor.handling_signals():
        code = supervisor.run(lambda: subprocess.Popen(argv, cwd=cwd, env=env, shell=shell))
    return code if supervisor.fatal is None else 128 + supervisor.fatal


class Supervisor:
    """Runs the command and waits for it, handling the signals pypm gets meanwhile."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.fatal: int | None = None
        self.timer: threading.Timer | None = None

    def run(self, start: Callable[[], subprocess.Popen[bytes]]) -> int:
        """Start the command (``start()``), wait for it and return its exit code as a shell
        reports it (128+N when signal N ended it); :attr:`fatal` then says whether pypm must
        end too."""
        self.proc = start()
        if self.fatal is not None:  # arrived while the command was being started
            self._pass_on(self.fatal)
        code = self.proc.wait()
        if self.timer is not None:
            self.timer.cancel()
        return 128 - code if code < 0 else code

    @contextmanager
    def handling_signals(self) -> Iterator[None]:
        """Handle pypm's signals meanwhile (in the main thread only: Python allows no other)."""
        handlers: dict[int, Callable[[int, FrameType | None], None]] = {signal.SIGINT: self._on_interrupt}
        if os.name == "nt":
            handlers[signal.SIGBREAK] = self._on_interrupt
        else:
            handlers.update({signal.SIGTERM: self._on_fatal, signal.SIGHUP: self._on_fatal})
        with _handlers_installed(handlers):
            yield

    def _on_fatal(self, signum: int, _frame: FrameType | None) -> None:
        """SIGTERM/SIGHUP: pass it on, kill the command if it outlives the grace period;
        pypm then exits 128+N once it has cleaned up."""
        if self.fatal is None:
            self.fatal = signum
        if self.proc is not None:
            self._pass_on(signum)

    def _pass_on(self, signum: int) -> None:
        _send(self.proc, signum)
        if self.timer is None:
            self.timer = threading.Timer(GRACE_SECONDS, self._kill)
            self.timer.daemon = True
            self.timer.start()

    def _kill(self) -> None:
        with suppress(OSError):
            self.proc.kill()

    def _on_interrupt(self, signum: int, _frame: FrameType | None) -> None:
        """Ctrl-C: pypm stays to clean up; the command decides. As uv's ``run`` does, the
        signal is passed on only when the terminal did not deliver it to the command too."""
        if self.proc is None:
            raise KeyboardInterrupt
        if not _terminal_delivers_to(self.proc.pid):
            with suppress(OSError):
                self.proc.send_signal(signum)


class SideBySide:
    """The commands of tasks running side by side in worker threads (``-j N``), which
    cannot handle signals themselves: SIGTERM and SIGHUP sent to pypm are passed on to
    every running command (killed after the grace period), no further command starts, and
    each ends with its own exit code (128+N for the signal), so the tasks fail and pypm
    exits as a serial run does. Ctrl-C reaches the commands from the terminal."""

    def __init__(self) -> None:
        self.procs: set[subprocess.Popen[bytes]] = set()
        self.fatal: int | None = None
        self.timer: threading.Timer | None = None
        self._starting = threading.Lock()

    @contextmanager
    def handling_signals(self) -> Iterator[None]:
        """Watch for SIGTERM and SIGHUP meanwhile (from the main thread; none on Windows)."""
        handlers = {} if os.name == "nt" else {signal.SIGTERM: self._on_fatal, signal.SIGHUP: self._on_fatal}
        with _handlers_installed(handlers):
            yield

    def run(self, start: Callable[[], subprocess.Popen[bytes]],
            follow: Callable[[subprocess.Popen[bytes]], None]) -> int:
        """Start a command (``start()``, from a worker thread) unless pypm got a fatal signal,
        ``follow`` it (read its output) and return its exit code as a shell reports it."""
        with self._starting:
            if self.fatal is not None:
                return 128 + self.fatal
            proc = start()
            self.procs.add(proc)
        try:
            if self.fatal is not None:  # arrived after the check, maybe before the handler saw proc
                _send(proc, self.fatal)
            follow(proc)
            code = proc.wait()
        finally:
            with self._starting:
                self.procs.discard(proc)
        return 128 - code if code < 0 else code

    def _on_fatal(self, signum: int, _frame: FrameType | None) -> None:
        """Pass the signal on to every running command (no lock: this runs in the main
        thread between its bytecodes; a command started meanwhile sees :attr:`fatal`)."""
        if self.fatal is None:
            self.fatal = signum
        for proc in list(self.procs):
            _send(proc, signum)
        if self.timer is None:
            self.timer = threading.Timer(GRACE_SECONDS, self._kill_all)
            self.timer.daemon = True
            self.timer.start()

    def _kill_all(self) -> None:
        for proc in list(self.procs):
            with suppress(OSError):
                proc.kill()


def _send(proc: subprocess.Popen[bytes], signum: int) -> None:
    with suppress(OSError):
        proc.send_signal(signum)


@contextmanager
def _handlers_installed(handlers: dict[int, Callable[[int, FrameType | None], None]]) -> Iterator[None]:
    """Install ``handlers`` for the block, then put the previous ones back; nothing outside
    the main thread, where Python allows no signal handler."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _terminal_delivers_to(pid: int) -> bool:
    """Whether a Ctrl-C typed at pypm's terminal reaches process ``pid`` as well: it is in
    pypm's process group, which is the terminal's foreground group (always on Windows:
    the console sends Ctrl-C to every process attached to it)."""
    if os.name == "nt":
        return True
    try:
        group = os.getpgrp()
        if os.getpgid(pid) != group:
            return False
        terminal = next((fd for fd in (0, 1, 2) if os.isatty(fd)), None)
        return terminal is not None and os.tcgetpgrp(terminal) == group
    except OSError:
        return False
