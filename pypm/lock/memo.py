"""Remembered resolutions: the same inputs over the same index pages give the same lock.

Resolving is a function of the workspace's inputs (requirements, members, settings), the
preferences taken from the lock being replaced, the resolver options, pypm's own code and
the index pages it read (files and their metadata are fixed by their hashes). After a
resolution, its lock is kept under ``<cache>/resolutions-v1/<key>.json`` with the digest
of every page read; a later lock with the same key writes that lock again when every page
still has that digest: a fresh stored page (``index-page-ttl``) is compared without a
request, stale ones are revalidated in parallel (a 304 confirms them). Any difference, a
page that cannot be checked, ``--refresh`` or ``--upgrade`` resolves afresh.

Not remembered: workspaces whose pages are not stored to compare later (``file:`` indexes,
find-links) or whose packages are built from local trees (path dependencies).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypm.fsutil import atomic_write_bytes, is_digest_record, keep_most_recent
from pypm.store.layout import RESOLUTIONS

#: Bumped when what a record holds changes meaning.
FORMAT = 1
#: pypm's modules whose code decides a lock; their sizes and times enter the key, so a
#: changed resolver (an upgrade, a working tree) never reuses an older answer.
_DECIDING_PACKAGES = ("resolver", "lock", "index", "workspace", "operations")
#: The libraries whose code decides a lock as well (what versions, specifiers and markers
#: mean; the order of resolution; marker algebra; the lock's text): their modules' sizes
#: and times enter the key too, so an upgraded library resolves afresh.
_DECIDING_LIBRARIES = ("packaging", "resolvelib", "dep_logic", "tomli_w")


@dataclass(frozen=True)
class Recalled:
    """A remembered lock: its text, how many packages it holds, its warning, if any, and
    the pages (URL -> body digest) it was resolved from."""

    lock_text: str
    packages: int
    warning: str | None
    pages: dict[str, str]


def locked_line(packages: int, where: str) -> str:
    """The line a lock ends with: ``Locked 3 packages in pylock.toml`` (``where``: what
    follows the count)."""
    return f"Locked {packages} package{'' if packages == 1 else 's'} {where}"


def memo_key(input_digest: str, preferences: Mapping[str, Any], fork_markers: list[str], options: str) -> str:
    """The key of a resolution: inputs, preferences (name -> version or forked versions
    with their markers), the recorded forks, the resolver options and pypm's code."""
    parts = {
        "format": FORMAT,
        "code": code_fingerprint(),
        "inputs": input_digest,
        "preferences": {str(name): _preference_text(value) for name, value in sorted(preferences.items())},
        "forks": list(fork_markers),
        "options": options,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()


def _preference_text(value: Any) -> Any:
    markers = getattr(value, "markers", None)
    if isinstance(markers, dict):
        return sorted([str(version), marker or ""] for version, marker in markers.items())
    if isinstance(value, frozenset):
        return sorted(str(version) for version in value)
    return str(value)


def code_fingerprint() -> str:
    """A digest of pypm's version and the sizes and times of the modules that decide a lock
    (pypm's and its deciding libraries')."""
    import pypm

    root = Path(pypm.__file__).parent
    stamps = [pypm.__version__]
    for package in _DECIDING_PACKAGES:
        try:
            with os.scandir(root / package) as entries:
                for entry in entries:
                    if entry.name.endswith(".py"):
                        info = entry.stat()
                        stamps.append(f"{package}/{entry.name}:{info.st_size}:{info.st_mtime_ns}")
        except OSError:
            stamps.append(f"{package}:?")
    for library in _DECIDING_LIBRARIES:
        stamps += _library_stamps(library)
    return hashlib.sha256("\n".join(sorted(stamps)).encode()).hexdigest()


def _library_stamps(name: str) -> list[str]:
    """The size and time of each module of library ``name``, found where importing it
    finds it (without importing it)."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return [f"{name}:absent"]
    files = [spec.origin] if spec.origin and not spec.submodule_search_locations else []
    for location in spec.submodule_search_locations or ():
        for directory, subdirectories, names in os.walk(location):
            subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
            files += [os.path.join(directory, file) for file in names if file.endswith(".py")]
    stamps = []
    for file in files:
        try:
            info = os.stat(file)
        except OSError:
            stamps.append(f"{name}:{file}:?")
            continue
        stamps.append(f"{name}:{file}:{info.st_size}:{info.st_mtime_ns}")
    return stamps


#: Records kept; past this many, the least recently used are removed when one is added.
KEPT_RECORDS = 64


def _record_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / RESOLUTIONS / f"{key}.json"


def recall(cache_dir: Path, key: str) -> Recalled | None:
    """The record stored under ``key``, if one is there and readable."""
    path = _record_path(cache_dir, key)
    try:
        data = json.loads(path.read_bytes())
        pages = data["pages"]
        if data.get("format") != FORMAT or not isinstance(pages, dict):
            return None
        recalled = Recalled(str(data["lock"]), int(data["packages"]), data.get("warning"),
                            {str(url): str(digest) for url, digest in pages.items()})
    except (OSError, ValueError, KeyError, TypeError):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # used: the last to be removed
    return recalled


def still_holds(recalled: Recalled, fresh_digest: Callable[[str], str | None],
                current_digests: Callable[[list[str]], dict[str, str]]) -> bool:
    """True when every page the recorded resolution read still has its digest:
    ``fresh_digest(url)`` answers from the cache without a request (None: stale or
    absent), ``current_digests(urls)`` asks the index about the rest at once."""
    stale = []
    for url, digest in recalled.pages.items():
        found = fresh_digest(url)
        if found is None:
            stale.append(url)
        elif found != digest:
            return False
    if not stale:
        return True
    current = current_digests(stale)
    return all(current.get(url) == recalled.pages[url] for url in stale)


def remember(cache_dir: Path, key: str, lock_path: Path, packages: int, warning: str | None,
             pages: Mapping[str, str]) -> bool:
    """Keep the lock just written at ``lock_path`` under ``key``; False when the record
    could not be written (which only costs the next lock its shortcut)."""
    try:
        record = {"format": FORMAT, "lock": lock_path.read_text("utf-8"), "packages": packages,
                  "warning": warning, "pages": dict(sorted(pages.items()))}
        atomic_write_bytes(_record_path(cache_dir, key), json.dumps(record).encode())
        keep_most_recent(cache_dir / RESOLUTIONS, KEPT_RECORDS, is_digest_record)
    except OSError:
        return False
    return True
