"""Is a store entry still what was unpacked? Store files are hardlinked into environments,
so a file edited in place in one ``.venv`` changes the store (and every other ``.venv``
sharing it). Two checks:

- :func:`changed_files`, on the sync path: size and ``st_mtime_ns`` of each file against
  the manifest (stat only: cheap enough to run before every link);
- :func:`verify_store`, for ``pypm cache verify``: every file re-hashed against its RECORD
  hash (:func:`pypm.store.repair.mark_for_repair` then marks what it finds, so that the
  first check finds it too)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from itertools import repeat
from pathlib import Path

from pypm.store.entry import FILES, StoredFile, StoreEntry
from pypm.store.registry import live_links, store_entries


def changed_files(entry: StoreEntry) -> list[StoredFile]:
    """Files that are gone or whose size or mtime differ from the manifest's (mtimes only
    when the manifest has them). A hot loop (a stat per store file on every sync that
    links the entry): paths are joined once per scheme, then by concatenation."""
    base = os.path.join(entry.root, FILES)
    prefixes = {scheme: os.path.join(base, scheme, "") for scheme in {f.scheme for f in entry.files}}
    mtimes = entry.mtimes if entry.mtimes is not None else repeat(None)
    stat = os.stat
    changed = []
    for stored, mtime in zip(entry.files, mtimes, strict=False):  # (repeat(None) never ends)
        try:
            found = stat(prefixes[stored.scheme] + stored.path)
        except OSError:
            changed.append(stored)
            continue
        if found.st_size != stored.size or (mtime is not None and found.st_mtime_ns != mtime):
            changed.append(stored)
    return changed


@dataclass(frozen=True)
class Damage:
    """A store entry whose files no longer hash to what its wheel holds (``project`` None:
    its manifest is missing or unreadable, which ``changed`` says)."""

    entry: Path
    project: str | None
    changed: list[str]
    files: int
    environments: int

    def line(self) -> str:
        """One line for ``pypm cache verify``."""
        users = f"linked into {self.environments} environment{'s' if self.environments != 1 else ''}"
        if self.project is None:
            return f"damaged: store entry {self.entry.name[:12]}: {self.changed[0]}; {users}"
        shown = ", ".join(self.changed[:3]) + (f" and {len(self.changed) - 3} more" if len(self.changed) > 3 else "")
        return (f"damaged: {self.project} (store entry {self.entry.name[:12]}): {len(self.changed)} of {self.files}"
                f" files changed: {shown}; {users}")


def verify_store(cache_dir: Path) -> tuple[int, list[Damage]]:
    """Re-hash every file of every store entry; returns (entries checked, damaged ones)."""
    entries = store_entries(cache_dir)
    damaged = [damage for damage in map(verify_entry, entries) if damage is not None]
    return len(entries), damaged


def verify_entry(root: Path) -> Damage | None:
    """The damage of one entry (None when every file hashes to its RECORD hash)."""
    return inspect_entry(root)[0]


def inspect_entry(root: Path) -> tuple[Damage | None, StoreEntry | None, list[int]]:
    """(the damage of one entry, its manifest (None: missing or unreadable), the indexes
    of its changed files)."""
    try:
        entry = StoreEntry.load(root)
    except FileNotFoundError:
        return Damage(root, None, ["its manifest is missing"], 0, _users(root)), None, []
    except (OSError, ValueError, KeyError, TypeError):
        return Damage(root, None, ["its manifest is unreadable"], 0, _users(root)), None, []
    changed = [index for index, stored in enumerate(entry.files) if not _intact(entry, stored)]
    if not changed:
        return None, entry, []
    shown = [_shown(entry, entry.files[index]) for index in changed]
    return Damage(root, _project(entry), shown, len(entry.files), _users(root)), entry, changed


def _users(root: Path) -> int:
    """How many environments link the entry (read only: ``cache verify`` hashes under the
    shared lock)."""
    return len(live_links(root, drop_stale=False))


def _intact(entry: StoreEntry, stored: StoredFile) -> bool:
    from installer.records import Hash, RecordEntry

    record = RecordEntry(stored.path, Hash.parse(stored.hash), stored.size)
    try:
        with entry.source(stored).open("rb") as handle:
            return record.validate_stream(handle)
    except OSError:
        return False


def _shown(entry: StoreEntry, stored: StoredFile) -> str:
    return stored.path if stored.scheme == entry.root_scheme else f"{stored.scheme}/{stored.path}"


def _project(entry: StoreEntry) -> str:
    """``name version`` from the dist-info directory's name."""
    name, _, version = entry.dist_info.removesuffix(".dist-info").rpartition("-")
    return f"{name} {version}" if name else entry.dist_info
