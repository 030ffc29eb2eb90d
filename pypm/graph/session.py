"""What every graph run does around its operations, with or without doit: check the
kinds of the paths pypm writes, make ``.pypm/``, hold the project's graph lock, remove
temp files a killed pypm left, and turn the first kept failure into the error to raise."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

from pypm import ui
from pypm.errors import FileSystemError, os_error
from pypm.fsutil import atomic_write_text, exclusive_flock, remove_stale_temps
from pypm.graph import GRAPH_OPERATIONS

TYPE_CHECKING = False  # the context (and the TOML reader it imports) is not needed to hold the lock
if TYPE_CHECKING:
    from pypm.graph.context import GraphContext

DB_NAME = "doit.sqlite3"
DIRECT_RUNS = "direct-runs"  # operations run without doit, not yet recorded by doit
LOCK_NAME = "graph.lock"
PID_NAME = "graph.lock.pid"
WAIT_NOTICE_AFTER = 1.0  # seconds before saying that another pypm holds the project


def db_path(ctx: GraphContext) -> Path:
    """doit's state database for this workspace."""
    return ctx.state_dir / DB_NAME


def check_kinds(ctx: GraphContext, operations: list[str] | None = None) -> None:
    """Fail early, naming the path, when a path pypm writes is of the wrong kind. When the
    run asks for nothing but ``lock`` (``operations``), ``.venv`` is not looked at: locking
    does not touch it (as ``uv lock``), and the remembered lock is written the same way."""
    expected = [
        (ctx.state_dir, True, "pypm keeps its state there"),
        (db_path(ctx), False, "pypm keeps its state there"),
        (ctx.lock_path, False, "pypm writes the lock there"),
    ]
    if operations is None or not set(operations) <= {"lock"}:
        expected.append((ctx.venv_path, True, "pypm makes the environment there"))
    for path, is_dir, why in expected:
        if path.exists() and path.is_dir() != is_dir:
            kind, wanted = ("file", "directory") if is_dir else ("directory", "file")
            raise FileSystemError(f"{path} is a {kind} where a {wanted} is expected",
                                  hint=f"move it out of the way ({why})")


def prepare_state_dir(ctx: GraphContext) -> None:
    """Make ``.pypm/`` (ignored by git) when missing."""
    make_state_dir(ctx.state_dir)


def make_state_dir(state_dir: Path) -> None:
    """Make ``state_dir`` (a project's ``.pypm/``, ignored by git) when missing."""
    state_dir.mkdir(exist_ok=True)
    ignore = state_dir / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n")


@contextmanager
def project_lock(ctx: GraphContext) -> Iterator[None]:
    """Hold the project's graph lock (:func:`state_lock` on its ``.pypm/``)."""
    with state_lock(ctx.state_dir):
        yield


@contextmanager
def state_lock(state_dir: Path) -> Iterator[None]:
    """Hold the graph lock of the project whose ``.pypm/`` is ``state_dir``; after a
    second of waiting, say who holds it.

    The holder's pid is kept in a side file next to the lock, written once the lock is
    held. On POSIX the lock is ``flock`` on the lock file, called directly (filelock's
    ``UnixFileLock`` takes the same lock on the same file, so both interoperate; importing
    filelock costs ~12 ms, on every run); elsewhere filelock's ``FileLock``.
    """
    waiting = partial(_say_waiting, state_dir)
    posix = os.name == "posix"
    with exclusive_flock(state_dir / LOCK_NAME, waiting, WAIT_NOTICE_AFTER) if posix else _file_lock(state_dir):
        _record_holder(state_dir)
        yield


@contextmanager
def editing_project(ctx: GraphContext) -> Iterator[None]:
    """Hold the project's graph lock (after checking the kinds of pypm's paths and making
    ``.pypm/``) while a command outside the graph edits its files (``add``, ``remove``,
    ``import``): the edits and the lock it writes are not interleaved with another pypm's."""
    check_kinds(ctx)
    prepare_state_dir(ctx)
    with project_lock(ctx):
        yield


def _say_waiting(state_dir: Path) -> None:
    holder = _holder_pid(state_dir)
    ui.info(f"waiting for another pypm in this project{f' (pid {holder})' if holder else ''}…")


@contextmanager
def _file_lock(state_dir: Path) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(str(state_dir / LOCK_NAME))
    try:
        lock.acquire(timeout=WAIT_NOTICE_AFTER)
    except Timeout:
        _say_waiting(state_dir)
        lock.acquire()
    try:
        yield
    finally:
        lock.release()


def _holder_pid(state_dir: Path) -> int | None:
    try:
        return int((state_dir / PID_NAME).read_text("utf-8").strip())
    except (OSError, ValueError):
        return None


def _record_holder(state_dir: Path) -> None:
    try:
        atomic_write_text(state_dir / PID_NAME, f"{os.getpid()}\n")
    except OSError:  # only used to tell a waiting pypm who it waits for
        pass


def read_direct_runs(state_dir: Path) -> list[str]:
    """The operations run without doit since doit last recorded them (listed in
    ``.pypm/direct-runs``; none when it is absent)."""
    try:
        text = (state_dir / DIRECT_RUNS).read_text("utf-8")
    except OSError:
        return []
    listed = text.split()
    return [name for name in GRAPH_OPERATIONS if name in listed]


def note_direct_run(state_dir: Path, name: str) -> None:
    """Add ``name`` to the operations run without doit (read by
    :func:`pypm.graph.runner.catch_up`)."""
    done = read_direct_runs(state_dir)
    if name not in done:
        atomic_write_text(state_dir / DIRECT_RUNS, "".join(f"{entry}\n" for entry in [*done, name]))


def remove_left_temps(ctx: GraphContext) -> None:
    """Temp files of pypm's project files left by a pypm killed before its rename (the
    graph lock is held: no other pypm is writing them now)."""
    from pypm.install.venv import INFO_FILE
    from pypm.operations.stamp import stamp_path

    for path in (ctx.lock_path, stamp_path(ctx.venv_path), ctx.venv_path / INFO_FILE):
        for stale in remove_stale_temps(path):
            ui.detail(f"removed {stale}, left by an interrupted pypm")


def first_error(ctx: GraphContext) -> BaseException:
    """The first failure, naming every failed task when several failed (``--keep-going``)."""
    from pypm.operations.tasks import TaskFailed

    first = ctx.errors[0]
    failed = [exc.task for exc in ctx.errors if isinstance(exc, TaskFailed)]
    if isinstance(first, TaskFailed) and len(failed) > 1:
        combined = TaskFailed(first.task, first.exit_code)
        combined.message = f"{first.message}; also failed: {', '.join(failed[1:])}"
        return combined
    return _translated(ctx, first)


def _translated(ctx: GraphContext, exc: BaseException) -> BaseException:
    """An operation's OSError as one line that knows where the cache is."""
    if isinstance(exc, OSError) and exc.errno is not None:
        return os_error(exc, cache_dir=str(ctx.settings.cache_dir))
    return exc
