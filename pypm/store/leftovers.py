"""What crashes leave in the cache, and deleting it only when no live process uses it.

- In the store (``.unpack-*`` directories of unpacks, ``.*.tmp`` files of manifest and
  link-record writes, the file locks of entry repairs): every writer there holds the
  store's shared lock, so these are deleted only under the exclusive lock, when no sync
  is unpacking or linking (:func:`remove_store_leftovers`).
- Partial downloads (``partial-v1/<sha256>.part`` and its ``.json``): downloads run
  outside the store's lock, but each holds a per-file lock (``<part>.lock``,
  pypm.install.download) while it writes. One is deleted only when that lock can be
  taken at once, so a download in progress is never touched; an age threshold would
  guess, the lock knows (:func:`remove_partial_downloads`). The ``.lock`` files stay:
  deleting a lock file another process may be opening splits waiters over two inodes.
- Other temp files (atomic writes of index pages and metadata, ``.download-*`` of
  unhashed downloads, ``pypm-wheel-*`` build staging) have no lock to ask: they are
  deleted when untouched for :data:`STALE_AFTER` (a live writer keeps its file or
  directory fresh far more often; a build longer than that is not expected)
  (:func:`remove_stale_temps`). Only pypm's own directories of the cache are looked into:
  the cache directory may be one the user keeps other files in.

No sweep follows a symbolic link: one put into the cache deletes nothing where it points.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

from pypm.store.layout import (
    CACHE_DIRS,
    ENVIRONMENT_DIRS,
    PARTIAL,
    STORE,
    TEMP_SUFFIX,
    UNPACK_PREFIX,
    partial_download_lock,
)

STALE_AFTER = 24 * 3600.0
_TEMP_DIR_PREFIXES = ("pypm-wheel-",)
_TEMP_FILE_PREFIXES = (".download-",)


def remove_store_leftovers(cache_dir: Path) -> int:
    """Delete unpack directories, temp files and repair locks in the store; the caller
    holds the store's exclusive lock. Returns how many were deleted."""
    removed = 0
    if not _is_real_directory(cache_dir / STORE):
        return 0
    for bucket in _real_subdirectories(cache_dir / STORE):
        for path in _children(bucket):
            if path.name.startswith(UNPACK_PREFIX) or path.name.endswith(".lock"):
                removed += _remove(path)
            elif _is_real_directory(path):  # an entry (its manifest's temps) or its link records (theirs)
                removed += sum(_remove(p) for p in _children(path) if _is_temp(p.name))
    return removed


def remove_partial_downloads(cache_dir: Path) -> int:
    """Delete partial downloads no running download holds; returns how many files."""
    from filelock import FileLock, Timeout

    removed = 0
    if not _is_real_directory(cache_dir / PARTIAL):
        return 0
    for path in _children(cache_dir / PARTIAL):
        if path.suffix not in (".part", ".json"):
            continue
        lock = FileLock(str(partial_download_lock(path.with_suffix(".part"))))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            continue  # a download is writing it right now
        try:
            removed += _remove(path)
        finally:
            lock.release()
    return removed


def remove_stale_temps(cache_dir: Path, now: float | None = None) -> int:
    """Delete temp files and build staging directories outside the store untouched for
    :data:`STALE_AFTER` seconds; returns how many."""
    cutoff = (time.time() if now is None else now) - STALE_AFTER
    removed = 0
    for top in (cache_dir / name for name in CACHE_DIRS if name not in (STORE, PARTIAL, *ENVIRONMENT_DIRS)):
        if _is_real_directory(top):
            removed += _remove_stale_under(top, cutoff)
    return removed


def _remove_stale_under(top: Path, cutoff: float) -> int:
    """:func:`remove_stale_temps` in one of pypm's directories (links are not followed)."""
    removed = 0
    for directory, subdirs, files in os.walk(top):
        stale_dirs = [d for d in subdirs if d.startswith(_TEMP_DIR_PREFIXES) and _older(Path(directory, d), cutoff)]
        for name in stale_dirs:
            removed += _remove(Path(directory, name))
        subdirs[:] = [d for d in subdirs if d not in stale_dirs]
        for name in files:
            if (_is_temp(name) or name.startswith(_TEMP_FILE_PREFIXES)) and _older(
                    Path(directory, name), cutoff):
                removed += _remove(Path(directory, name))
    return removed


def _is_temp(name: str) -> bool:
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def _older(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_mtime < cutoff
    except OSError:
        return False


def _is_real_directory(path: Path) -> bool:
    """A directory, not a link to one."""
    return path.is_dir() and not path.is_symlink()


def _real_subdirectories(directory: Path) -> list[Path]:
    return [path for path in _children(directory) if _is_real_directory(path)]


def _children(directory: Path) -> list[Path]:
    try:
        return list(directory.iterdir())
    except OSError:
        return []


def _remove(path: Path) -> int:
    """Delete a file or a directory tree; 1 when something was deleted."""
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
        return 1
    except FileNotFoundError:
        return 0
    except OSError:
        return 0
