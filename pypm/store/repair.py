"""Repair a store entry whose files were changed (edited through a hardlink in some
``.venv``). The damaged inodes are shared by the environments that link them, so nothing
is rewritten in place: the wheel is unpacked afresh into a new directory and each changed
file is moved from there over its store path (an atomic rename: a sync linking the entry
meanwhile gets the old file or the new one, never none). Then every environment
registered as linking the entry gets the fresh file wherever it still has a damaged inode;
files it has of its own (copies, links made in ``symlink`` mode, files it replaced) are
left alone."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from pypm.errors import InstallError
from pypm.store.entry import StoredFile, StoreEntry
from pypm.store.integrity import Damage, changed_files, inspect_entry
from pypm.store.layout import entry_repair_lock, store_entry
from pypm.store.registry import environment_of, is_complete, live_links
from pypm.store.unpack import unpack_to_temp, verify_wheel


def checked(entry: StoreEntry, wheel: Callable[[], Path], sha256: str) -> StoreEntry:
    """``entry`` when its files are as unpacked (stat only), else the repaired entry. A
    manifest written before pypm recorded mtimes gets them recorded now (once). ``wheel``
    gives the path of the entry's wheel, asked only for a repair (a sync linking stored
    entries needs no wheel in the cache, and fetches one only to repair its entry)."""
    changed = changed_files(entry)
    if not changed:
        if entry.mtimes is None:
            entry = entry.with_current_mtimes()
            entry.save()
        return entry
    return repair(entry, wheel(), sha256)


#: The mtime a manifest records for a file that re-hashing found changed: no file has it,
#: so the stat check of the next sync that links the entry (:func:`checked`) finds the file
#: changed, whatever its size and mtime, and repairs it from the wheel.
DAMAGED_MTIME = -1


def mark_for_repair(root: Path) -> Damage | None:
    """Re-hash the files of the store entry at ``root``; record each changed one in the
    manifest as changed (:data:`DAMAGED_MTIME`), so the next sync that links the entry
    unpacks it afresh and relinks the environments sharing it. Returns the damage found.
    An entry whose manifest is missing or unreadable needs no mark: a sync unpacks it
    afresh anyway. Holds the entry's repair lock (a repair running meanwhile would write
    its mtimes over the marks). Costs a read of every file: ``cache verify`` and
    ``--reinstall`` only, never the usual sync."""
    from filelock import FileLock

    if not is_complete(root):
        return inspect_entry(root)[0]
    with FileLock(str(entry_repair_lock(root))):
        damage, entry, changed = inspect_entry(root)
        if entry is not None and changed:
            mtimes = list(entry.mtimes) if entry.mtimes is not None else _mtimes_now(entry)
            for index in changed:
                mtimes[index] = DAMAGED_MTIME
            replace(entry, mtimes=mtimes).save()
    return damage


def recheck(cache_dir: Path, sha256: str) -> bool:
    """For ``sync --reinstall(-package)``: re-hash the store entry of wheel ``sha256`` (when
    the store has it) and mark its changed files, so linking it repairs them first (the
    usual check compares sizes and mtimes only: an edit that kept both would be linked
    again). True when it found damage. The caller holds the store's shared lock."""
    root = store_entry(cache_dir, sha256)
    if not root.is_dir():
        return False
    return mark_for_repair(root) is not None


def _mtimes_now(entry: StoreEntry) -> list[int]:
    """The mtime of each file of the entry now (:data:`DAMAGED_MTIME` for one that is gone)."""
    found = []
    for stored in entry.files:
        try:
            found.append(os.stat(entry.source(stored)).st_mtime_ns)
        except OSError:
            found.append(DAMAGED_MTIME)
    return found


def repair(entry: StoreEntry, wheel: Path, sha256: str) -> StoreEntry:
    """Re-unpack ``wheel`` and put fresh copies of the changed files into the entry, then
    relink the environments that share the damaged files. One process at a time."""
    from filelock import FileLock

    with FileLock(str(entry_repair_lock(entry.root))):
        current = StoreEntry.load(entry.root)
        changed = changed_files(current)
        if not changed:
            return current  # another process repaired it while this one waited
        verify_wheel(wheel, sha256)
        fresh = unpack_to_temp(wheel, entry.root.parent)
        try:
            damaged = _move_fresh(current, fresh, changed)
            repaired = current.with_current_mtimes()
            repaired.save()
        except OSError as exc:
            raise InstallError(f"cannot repair the store entry of {wheel.name}: {exc}",
                               hint="check the permissions of the cache directory and run the command again") from None
        finally:
            shutil.rmtree(fresh.root, ignore_errors=True)
    relinked, environments = relink_sharers(repaired, damaged)
    from pypm import ui

    shared = f"; {relinked} file(s) relinked in {environments} environment(s) sharing them" if relinked else ""
    ui.info(f"Repaired {wheel.name} in the store: {len(changed)} changed file(s) unpacked afresh{shared}")
    return repaired


def _move_fresh(entry: StoreEntry, fresh: StoreEntry, changed: list[StoredFile]) -> dict[tuple[int, int], str]:
    """Move the fresh copies of ``changed`` into ``entry``; returns the damaged inodes
    ((st_dev, st_ino) -> the store path that now has a fresh file)."""
    damaged: dict[tuple[int, int], str] = {}
    for stored in changed:
        target = entry.source(stored)
        try:
            found = os.lstat(target)
            damaged[(found.st_dev, found.st_ino)] = str(target)
        except FileNotFoundError:
            target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(fresh.source(stored), target)
    return damaged


def relink_sharers(entry: StoreEntry, damaged: dict[tuple[int, int], str]) -> tuple[int, int]:
    """In every environment that links ``entry``, replace each file that is one of the
    ``damaged`` inodes with the fresh store file; returns (files replaced, environments).
    Only files inside the environment (a ``.venv`` with ``pyvenv.cfg``) are replaced: a
    RECORD row leading outside it, or through a link out of it, names a file that is not
    the environment's, even when the user hardlinked it to the store. Best effort: a file
    that cannot be replaced (in use on Windows, gone) is skipped."""
    files = environments = 0
    if not damaged:
        return files, environments
    for pointer in live_links(entry.root, drop_stale=False):  # under the shared lock
        venv = environment_of(pointer)
        if venv is None:
            continue
        replaced = 0
        for path in _record_paths(pointer.parent / "RECORD", pointer.parent.parent):
            try:
                found = os.lstat(path)
            except OSError:
                continue
            fresh = damaged.get((found.st_dev, found.st_ino))
            if fresh is not None and _within(path, venv) and _replace_with_link(fresh, path):
                replaced += 1
        files += replaced
        environments += replaced > 0
    return files, environments


def _within(path: str, venv: Path) -> bool:
    """True when ``path``'s directory, with every link on the way resolved, is ``venv`` or
    inside it."""
    root = os.path.realpath(venv)
    directory = os.path.realpath(os.path.dirname(path))
    return directory == root or directory.startswith(root + os.sep)


def _record_paths(record: Path, root_dir: Path) -> list[str]:
    """Normalised paths of a RECORD's rows (absolute rows are skipped)."""
    from installer.records import parse_record_file

    try:
        rows = list(parse_record_file(record.read_text("utf-8").splitlines()))
    except (OSError, ValueError):
        return []
    return [os.path.normpath(os.path.join(root_dir, row[0])) for row in rows
            if row[0] and not os.path.isabs(row[0]) and not Path(row[0]).drive]


def _replace_with_link(fresh: str, target: str) -> bool:
    """Put a hardlink to ``fresh`` (a copy where that fails) at ``target``, atomically."""
    temp = f"{target}.pypm-relink-{os.getpid()}"
    try:
        try:
            os.link(fresh, temp)
        except FileExistsError:
            os.unlink(temp)
            os.link(fresh, temp)
        except OSError:
            shutil.copy2(fresh, temp)
        os.replace(temp, target)
        return True
    except OSError:
        try:
            os.unlink(temp)
        except OSError:
            pass
        return False
