"""Which environments link which store entries, and what the store holds (info, prune)."""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from pypm.fsutil import atomic_write_text
from pypm.store.entry import MANIFEST
from pypm.store.layout import STORE, UNPACK_PREFIX, entry_links, entry_repair_lock, is_sha256_hex
from pypm.trash import delete_aside, remove_tree

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


def live_links(entry_root: Path, drop_stale: bool = True) -> list[Path]:
    """The dist-info pointers of environments that still have this entry installed. With
    ``drop_stale``, records of environments that removed or replaced it are deleted: only
    under the store's exclusive lock (prune, clean), so whoever holds the shared lock
    passes False: a sync that reinstalls the package may be about to keep the very record
    that looks stale now (register_link finds it in place and leaves it), and deleting it
    then would hide that environment from repairs and let prune delete an entry in use."""
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
        elif drop_stale:
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
    """Every store entry: ``store-v1/<xx>/<sha256>`` directories, those without their
    manifest too (what an interrupted delete of an older pypm left: unusable, so ``cache
    verify`` reports them and ``cache prune`` removes them), not the ``.unpack-*``
    directories of unpacks under way. No link is followed (a bucket or an entry that is a
    symlink leads out of the store: what is there is not pypm's to delete)."""
    return sorted(entry for bucket in _real_directories(cache_dir / STORE) if len(bucket.name) == 2
                  for entry in _real_directories(bucket) if is_sha256_hex(entry.name))


def _real_directories(directory: Path) -> list[Path]:
    """The subdirectories of ``directory`` that are not links (none when it is one)."""
    if directory.is_symlink():
        return []
    try:
        with os.scandir(directory) as found:
            return [Path(item.path) for item in found if item.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def is_complete(entry_root: Path) -> bool:
    """True when the entry has its manifest (it is written last, so an entry without one
    is the remains of a delete that did not finish)."""
    return (entry_root / MANIFEST).is_file()


def cache_info(cache_dir: Path) -> CacheInfo:
    """Size of the store, environments per entry, and bytes saved by hardlinking."""
    info = CacheInfo(environments={})
    for entry in store_entries(cache_dir):
        info.entries += 1
        info.environments[entry.name] = len(live_links(entry, drop_stale=False))  # under the shared lock
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
    """Remove store entries no environment links, and entries without their manifest (no
    sync can use one: the next that needs it unpacks the wheel afresh); returns how many
    were removed. The caller holds the store's exclusive lock (no sync is about to link
    one of them). Each entry is moved aside before it is deleted: an interrupted prune
    leaves it whole or gone, and its remains in a ``.unpack-*`` directory the next prune
    removes."""
    removed = 0
    for entry in store_entries(cache_dir):
        alive = live_links(entry)
        if alive and is_complete(entry):
            continue
        if not delete_aside(entry, UNPACK_PREFIX):  # what will not go is a leftover the next prune removes
            continue
        if not alive:  # records of environments that still link it stay for the entry unpacked afresh
            remove_tree(entry_links(entry))
            entry_repair_lock(entry).unlink(missing_ok=True)
        removed += 1
    return removed
