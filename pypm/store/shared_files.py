"""Dist-info files that are the same in every environment (``INSTALLER``, ``REQUESTED``,
the store pointer, and the ``RECORD`` of a package with no scripts), hardlinked from one
copy in the cache instead of written afresh into each ``.venv``.

Creating a file costs a filesystem an inode (about 0.2 ms here, measured); a hard link
only a directory entry (about 0.015 ms). A sync installs several such files per package,
so in hardlink mode each is linked from ``dist-info-files-v1/<sha256 of its bytes>``.

A shared copy is read back and compared with the bytes wanted before it is linked (it is
small): one edited in place through some environment's link is replaced (atomically, so
the environments that link the edited inode keep it) and never spread. Where linking
fails (another filesystem, too many links to one inode, no hardlinks at all) the file is
written as before. ``cache prune`` removes the copies no environment links any more."""

from __future__ import annotations

import contextlib
import hashlib
import os
from pathlib import Path

from pypm.fsutil import temp_name
from pypm.store.layout import SHARED_FILES


def shared_copy(cache_dir: Path, data: bytes) -> str:
    """The cache path of the shared copy of ``data`` (made, or remade, when needed). Of
    two processes or threads making it at once, the first one's copy stays (the others
    link that one), so the environments they fill share one inode."""
    digest = hashlib.sha256(data).hexdigest()
    path = os.path.join(cache_dir, SHARED_FILES, digest[:2], digest)
    try:
        with open(path, "rb") as handle:
            if handle.read(len(data) + 1) == data:
                return path
        damaged = True
    except FileNotFoundError:
        damaged = False
    temp = os.path.join(os.path.dirname(path), temp_name(Path(path)))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    try:
        with open(temp, "xb") as handle:
            handle.write(data)
        if damaged:  # edited in place through some environment: those keep the edited inode
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
    try:
        os.link(shared_copy(cache_dir, data), target)
        return
    except FileExistsError:
        raise
    except OSError:
        pass
    with open(target, "xb") as handle:
        handle.write(data)


def prune_shared(cache_dir: Path) -> int:
    """Remove the shared copies no environment links (link count 1); returns how many.
    The caller holds the store's exclusive lock (no sync is about to link one)."""
    removed = 0
    root = cache_dir / SHARED_FILES
    if not root.is_dir():
        return 0
    for bucket in root.iterdir():
        if not bucket.is_dir():
            continue
        for copy in bucket.iterdir():
            try:
                if copy.stat().st_nlink == 1:
                    copy.unlink()
                    removed += 1
            except OSError:
                continue
    return removed
