"""The store's read-write lock: syncs share it while they unpack and link store entries;
``cache prune`` and ``cache clean`` take it alone, so they never delete an entry a
running sync is about to link. Cross-process (filelock's SQLite-backed lock: works on
every platform and is released when a process dies)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = "store.lock.db"


def _lock(cache_dir: Path):  # noqa: ANN202 - filelock's ReadWriteLock, imported lazily
    from filelock import ReadWriteLock

    cache_dir.mkdir(parents=True, exist_ok=True)
    return ReadWriteLock(str(cache_dir / LOCK_FILE), is_singleton=True)


@contextmanager
def shared_store_lock(cache_dir: Path) -> Iterator[None]:
    """Hold the store's lock in shared mode (many syncs at once)."""
    with _lock(cache_dir).read_lock():
        yield


@contextmanager
def exclusive_store_lock(cache_dir: Path) -> Iterator[None]:
    """Hold the store's lock alone (no sync is using the store meanwhile)."""
    with _lock(cache_dir).write_lock():
        yield
