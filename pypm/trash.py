"""Removing files that may be in use. Windows refuses to delete a file a running program
or a loaded extension module holds open, but lets it be renamed: such a file is moved into
the environment's trash directory and deleted by a later sync, once nothing uses it. And a
directory of the cache is moved aside before it is deleted (:func:`set_aside`), so a delete
that is interrupted never leaves a half-deleted one where pypm would use it."""

from __future__ import annotations

import errno
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


def set_aside(path: Path, prefix: str) -> Path | None:
    """Move ``path`` (a directory, a file or a link) into a new directory ``<prefix>*``
    beside it and return that directory; None when ``path`` is gone already. One rename:
    the path is free at once, and a delete interrupted afterwards (a crash, a kill, a file
    that will not go) leaves everything under a name the cache's sweeps remove, never a
    half-deleted directory at the old path. OSError when it cannot be moved."""
    import tempfile

    aside = Path(tempfile.mkdtemp(prefix=prefix, dir=path.parent))
    try:
        os.replace(path, aside / path.name)
    except BaseException as exc:
        os.rmdir(aside)
        if isinstance(exc, FileNotFoundError):
            return None
        raise
    return aside


def delete_aside(path: Path, prefix: str) -> bool:
    """Move ``path`` aside (:func:`set_aside`), then delete it there; True when nothing is
    left at ``path`` (what will not go stays aside, for the sweeps that remove ``prefix``
    directories), False when it cannot be moved."""
    try:
        aside = set_aside(path, prefix)
    except OSError:
        return False
    if aside is not None:  # (None: gone already)
        remove_tree(aside)
    return True


def remove_tree(path: Path) -> list[OSError]:
    """Delete ``path`` and everything under it (links are removed, never followed), going
    on past what cannot be deleted; returns the errors (none: all gone)."""
    import shutil
    import sys

    errors: list[OSError] = []

    def failed(_function: object, where: str | Path, error: object) -> None:
        exc = error[1] if isinstance(error, tuple) else error  # onerror: exc_info; onexc: the exception
        where = os.fspath(where)
        if not isinstance(exc, OSError) or exc.errno == errno.ENOENT:
            return
        if any(str(found.filename).startswith(where + os.sep) for found in errors):
            return  # a directory that stays because something in it could not go: no failure of its own
        errors.append(OSError(exc.errno, exc.strerror, where))  # the whole path (rmtree's own names a file)

    if path.is_symlink() or not path.is_dir():
        try:
            path.unlink()
        except FileNotFoundError:
            pass
        except OSError as exc:
            errors.append(exc)
    elif sys.version_info >= (3, 12):
        shutil.rmtree(path, onexc=failed)
    else:
        shutil.rmtree(path, onerror=failed)  # deprecated from 3.12 on, the only way before
    return errors
