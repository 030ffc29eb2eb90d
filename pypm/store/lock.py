"""The store's read-write lock: syncs share it while they unpack and link store entries;
``cache prune`` and ``cache clean`` take it alone, so they never delete an entry a
running sync is about to link. Cross-process, and released when a process dies.

On POSIX it is ``flock`` on ``store.flock``, called directly: a shared lock for syncs, an
exclusive one for prune and clean (filelock's read-write lock costs a SQLite database
and ~10 ms of imports on every sync). Elsewhere it is filelock's SQLite-backed
read-write lock on ``store.lock.db``.

Whoever unpacks an entry must hold the shared lock until the entry is linked: an entry
that no environment links yet is unused as far as ``cache prune`` can tell. The lock is
reentrant within a process (threads included), so
:func:`pypm.store.unpack.ensure_unpacked` takes it too (for callers that do not). The
lock files are never deleted: ``cache clean`` leaves them (deleting one while another
process waits on it would let that process and the next one both hold it)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "store.lock.db"  # filelock's read-write lock (not POSIX)
FLOCK_FILE = "store.flock"  # flock's lock file (POSIX)

_MADE: set[Path] = set()  # cache dirs known to exist (a sync takes the lock once per package)
_GUARD = threading.Lock()
_SHARED: dict[Path, list[int]] = {}  # cache dir -> [descriptor, holders] of this process's shared flock


def _made(cache_dir: Path) -> Path:
    if cache_dir not in _MADE:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _MADE.add(cache_dir)
    return cache_dir


def _lock(cache_dir: Path):  # noqa: ANN202 - filelock's ReadWriteLock, imported lazily
    from filelock import ReadWriteLock

    return ReadWriteLock(str(_made(cache_dir) / LOCK_FILE), is_singleton=True)


def lock_file_name() -> str:
    """The file a sync opens to take the store's lock on this platform."""
    return FLOCK_FILE if os.name == "posix" else LOCK_FILE


def is_lock_file(name: str) -> bool:
    """True for the lock files: flock's, and the database and the files SQLite keeps
    beside it (journal, WAL)."""
    return name in (LOCK_FILE, FLOCK_FILE) or name.startswith(LOCK_FILE + "-")


@contextmanager
def shared_store_lock(cache_dir: Path) -> Iterator[None]:
    """Hold the store's lock in shared mode (many syncs at once)."""
    if os.name != "posix":
        with _lock(cache_dir).read_lock():
            yield
        return
    _acquire_shared(cache_dir)
    try:
        yield
    finally:
        _release_shared(cache_dir)


def _acquire_shared(cache_dir: Path) -> None:
    import fcntl

    with _GUARD:
        held = _SHARED.get(cache_dir)
        if held is not None:
            held[1] += 1
            return
        descriptor = os.open(_made(cache_dir) / FLOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_SH)
        except BaseException:
            os.close(descriptor)
            raise
        _SHARED[cache_dir] = [descriptor, 1]


def _release_shared(cache_dir: Path) -> None:
    with _GUARD:
        held = _SHARED[cache_dir]
        held[1] -= 1
        if held[1] == 0:
            del _SHARED[cache_dir]
            os.close(held[0])  # closing the last descriptor releases the flock


@contextmanager
def exclusive_store_lock(cache_dir: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the store's lock alone (no sync is using the store meanwhile); ``on_wait`` is
    called once when another process holds it, before waiting for it."""
    if os.name != "posix":
        with _exclusive_filelock(cache_dir, on_wait):
            yield
        return
    from pypm.fsutil import exclusive_flock

    with exclusive_flock(_made(cache_dir) / FLOCK_FILE, on_wait or (lambda: None)):
        yield


@contextmanager
def _exclusive_filelock(cache_dir: Path, on_wait: Callable[[], None] | None) -> Iterator[None]:
    from filelock import Timeout

    lock = _lock(cache_dir)
    try:
        lock.acquire_write(blocking=False)
    except Timeout:
        if on_wait is not None:
            on_wait()
        lock.acquire_write()
    try:
        yield
    finally:
        lock.release()
