"""Removing files that may be in use. Windows refuses to delete a file a running program
or a loaded extension module holds open, but lets it be renamed: such a file is moved into
the environment's trash directory and deleted by a later sync, once nothing uses it."""

from __future__ import annotations

import os
from pathlib import Path

TRASH = ".pypm-trash"
MOVE_FILES_IN_USE = os.name == "nt"  # elsewhere a file in use can be deleted; PermissionError is real


def trash_dir(env_root: Path) -> Path:
    """Where files that are in use (Windows) are moved before they are replaced or removed."""
    return env_root / TRASH


def remove_file(path: str, trash: Path) -> None:
    """Delete a file; a file Windows will not delete because it is in use (a running
    script's launcher, a loaded extension module) is renamed into ``trash`` instead,
    which :func:`empty_trash` clears once nothing uses it."""
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    except PermissionError:
        if not MOVE_FILES_IN_USE:
            raise
        trash.mkdir(exist_ok=True)
        os.replace(path, trash / f"{os.urandom(16).hex()}-{os.path.basename(path)}")


def empty_trash(env_root: Path) -> None:
    """Delete what earlier syncs moved aside (files still in use stay for the next time)."""
    trash = trash_dir(env_root)
    if not trash.is_dir() or trash.is_symlink():  # a link put there: what it points at is not ours
        return
    for item in trash.iterdir():
        try:
            item.unlink()
        except OSError:
            pass
    try:
        trash.rmdir()
    except OSError:
        pass
