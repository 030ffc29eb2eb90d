"""Which environments link which store entries, and what the store holds (info, prune)."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pypm.fsutil import atomic_write_text
from pypm.store.entry import MANIFEST
from pypm.store.layout import STORE, entry_links, entry_repair_lock

STORE_POINTER = "pypm-store.json"


def register_link(entry_root: Path, pointer: Path) -> None:
    """Note that the environment whose dist-info holds ``pointer`` links ``entry_root``.

    The record is a symlink to the pointer (one atomic syscall: whole or absent, even
    after a crash); where symlinks cannot be made (Windows without the privilege) a file
    holding the pointer's path, written atomically."""
    links = entry_links(entry_root)
    pointer = pointer.resolve()
    record = links / hashlib.sha256(str(pointer).encode()).hexdigest()[:24]
    try:
        _symlink_record(record, str(pointer))
    except OSError:
        links.mkdir(exist_ok=True)
        atomic_write_text(record, str(pointer))


def _symlink_record(record: Path, target: str) -> None:
    try:
        os.symlink(target, record)
        return
    except FileNotFoundError:  # the entry's first record
        record.parent.mkdir(exist_ok=True)
    except FileExistsError:  # this environment linked it before
        if os.path.islink(record) and os.readlink(record) == target:
            return
    temp = record.with_name(f".{record.name}.{os.getpid()}.tmp")
    temp.unlink(missing_ok=True)
    os.symlink(target, temp)
    os.replace(temp, record)


def _recorded_pointer(record: Path) -> Path:
    """The dist-info pointer a record names (a symlink's target, or a file's text)."""
    if record.is_symlink():
        return Path(os.readlink(record))
    return Path(record.read_text("utf-8"))


def live_links(entry_root: Path) -> list[Path]:
    """The dist-info pointers of environments that still have this entry installed
    (records of environments that removed or replaced it are dropped)."""
    links = entry_links(entry_root)
    if not links.is_dir():
        return []
    alive = []
    for record in links.iterdir():
        if record.name.startswith("."):
            continue  # a record being written (or a crash's leftover: ``cache prune`` removes it)
        try:
            pointer = _recorded_pointer(record)
        except OSError:
            continue
        if _points_here(pointer, entry_root.name):
            alive.append(pointer)
        else:
            record.unlink(missing_ok=True)
    return alive


def environment_of(pointer: Path) -> Path | None:
    """The virtual environment (a directory with ``pyvenv.cfg``) whose site-packages holds
    the dist-info of ``pointer``: ``<venv>/lib/pythonX.Y/site-packages/<dist-info>/<pointer>``
    (Windows: ``<venv>/Lib/site-packages/...``); None when there is none that close."""
    return next((d for d in list(pointer.parents)[1:5] if (d / "pyvenv.cfg").is_file()), None)


def _points_here(pointer: Path, name: str) -> bool:
    try:
        return json.loads(pointer.read_text("utf-8")).get("store") == name
    except (OSError, ValueError, AttributeError):
        return False


@dataclass
class CacheInfo:
    """Totals for ``pypm cache info``."""

    entries: int = 0
    bytes_in_store: int = 0
    bytes_saved: int = 0
    environments: dict[str, int] | None = None


def store_entries(cache_dir: Path) -> list[Path]:
    """Every complete store entry (not the ``.unpack-*`` directories of unpacks under way)."""
    root = cache_dir / STORE
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*") if not p.name.startswith(".") and p.is_dir()
                  and (p / MANIFEST).is_file())


def cache_info(cache_dir: Path) -> CacheInfo:
    """Size of the store, environments per entry, and bytes saved by hardlinking."""
    info = CacheInfo(environments={})
    for entry in store_entries(cache_dir):
        info.entries += 1
        info.environments[entry.name] = len(live_links(entry))
        for path in entry.rglob("*"):
            try:
                if path.is_file() and not path.is_symlink():
                    stat = path.stat()
                    info.bytes_in_store += stat.st_size
                    info.bytes_saved += stat.st_size * max(0, stat.st_nlink - 2)
            except OSError:
                continue
    return info


def prune(cache_dir: Path) -> int:
    """Remove store entries no environment links; returns how many were removed. The
    caller holds the store's exclusive lock (no sync is about to link one of them)."""
    removed = 0
    for entry in store_entries(cache_dir):
        if not live_links(entry):
            shutil.rmtree(entry, ignore_errors=True)
            shutil.rmtree(entry_links(entry), ignore_errors=True)
            entry_repair_lock(entry).unlink(missing_ok=True)
            removed += 1
    return removed
