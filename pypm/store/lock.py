"""The store's read-write lock: syncs share it while they unpack and link store entries;
``cache prune`` and ``cache clean`` take it alone, so they never delete an entry a
running sync is about to link. Cross-process (filelock's SQLite-backed lock: works on
every platform and is released when a process dies).

Whoever unpacks an entry must hold the shared lock until the entry is linked: an entry
that no environment links yet is unused as far as ``cache prune`` can tell. The lock is
reentrant, so :func:`pypm.store.unpack.ensure_unpacked` takes it too (for callers that
do not). The lock database is never deleted: ``cache clean`` leaves it (deleting it while
another process waits on it would let that process and the next one both hold it)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "store.lock.db"


_MADE: set[Path] = set()  # cache dirs known to exist (a sync takes the lock once per package)


def _lock(cache_dir: Path):  # noqa: ANN202 - filelock's ReadWriteLock, imported lazily
    from filelock import ReadWriteLock

    if cache_dir not in _MADE:
        cache_dir.mkdir(parents=True, exist_ok=True)
        _MADE.add(cache_dir)
    return ReadWriteLock(str(cache_dir / LOCK_FILE), is_singleton=True)


def is_lock_file(name: str) -> bool:
    """True for the lock database and the files SQLite keeps beside it (journal, WAL)."""
    return name == LOCK_FILE or name.startswith(LOCK_FILE + "-")


@contextmanager
def shared_store_lock(cache_dir: Path) -> Iterator[None]:
    """Hold the store's lock in shared mode (many syncs at once)."""
    with _lock(cache_dir).read_lock():
        yield


@contextmanager
def exclusive_store_lock(cache_dir: Path, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the store's lock alone (no sync is using the store meanwhile); ``on_wait`` is
    called once when another process holds it, before waiting for it."""
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
