"""Dist-info files that are the same in every environment (``INSTALLER``, ``REQUESTED``),
hardlinked from one copy in the cache instead of written afresh into each ``.venv``.

Creating a file costs a filesystem an inode (about 0.2 ms here, measured); a hard link
only a directory entry (about 0.015 ms). In hardlink mode each such file is linked from
``dist-info-files-v1/<sha256 of its bytes>``. Files that decide what pypm deletes or
repairs (``RECORD``, the store pointer) are never shared: an edit made in place through
one environment must not reach another.

A shared copy is read back and compared with the bytes wanted before it is linked (it is
small): one edited in place through some environment's link is replaced (atomically, so
the environments that link the edited inode keep it) and never spread further. A copy
linked as often as the filesystem allows (ext4: 65,000 links; NTFS: 1,024) is replaced by
a fresh one. Where linking fails otherwise (another filesystem, no hardlinks at all) the
file is written as before. ``cache prune`` removes the copies no environment links."""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from pathlib import Path

from pypm.fsutil import temp_name
from pypm.store.layout import SHARED_FILES

#: ERROR_TOO_MANY_LINKS
_WINDOWS_TOO_MANY_LINKS = 1142


def shared_path(cache_dir: Path | str, data: bytes) -> str:
    """Where the shared copy of ``data`` is in the cache (named by its sha256)."""
    digest = hashlib.sha256(data).hexdigest()
    return os.path.join(cache_dir, SHARED_FILES, digest[:2], digest)


def shared_copy(cache_dir: Path, data: bytes, fresh: bool = False) -> str:
    """The cache path of the shared copy of ``data`` (made, or remade, when needed;
    ``fresh``: replaced by a new one in any case). Of two processes or threads making it
    at once, the first one's copy stays (the others link that one), so the environments
    they fill share one inode."""
    path = shared_path(cache_dir, data)
    try:
        with open(path, "rb") as handle:
            if handle.read(len(data) + 1) == data and not fresh:
                return path
        damaged = True  # (or linked too often): replaced, its links keep the old inode
    except FileNotFoundError:
        damaged = False
    temp = os.path.join(os.path.dirname(path), temp_name(Path(path)))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
        if damaged:
            os.replace(temp, path)
        else:
            with contextlib.suppress(FileExistsError):  # made meanwhile: keep that one
                os.link(temp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
    return path


def place_shared(target: str, data: bytes, cache_dir: Path) -> None:
    """Make ``target`` (a new path) hold ``data``: a hard link to the shared copy, or a
    file of its own when that cannot be linked."""
    for fresh in (False, True):
        try:
            os.link(shared_copy(cache_dir, data, fresh), target)
            return
        except FileExistsError:
            raise
        except OSError as exc:
            if not _too_many_links(exc):
                break
    with open(target, "xb") as handle:
        handle.write(data)


def _too_many_links(exc: OSError) -> bool:
    """The file has as many hard links as its filesystem allows (Windows: error 1142)."""
    return exc.errno == errno.EMLINK or getattr(exc, "winerror", None) == _WINDOWS_TOO_MANY_LINKS


def prune_shared(cache_dir: Path) -> int:
    """Remove the shared copies no environment links (link count 1); returns how many.
    The caller holds the store's exclusive lock (no sync is about to link one)."""
    removed = 0
    root = cache_dir / SHARED_FILES
    if not root.is_dir() or root.is_symlink():
        return 0
    for bucket in root.iterdir():
        if not bucket.is_dir() or bucket.is_symlink():  # a link put here: what it points at is not ours
            continue
        for copy in bucket.iterdir():
            if copy.name.startswith("."):
                continue  # a temp file (a crash's leftover: `cache prune` removes it when stale)
            try:
                if copy.lstat().st_nlink == 1 and not copy.is_symlink():
                    copy.unlink()
                    removed += 1
            except OSError:
                continue
    return removed
