"""Which environments link which store entries, and cache maintenance (info/prune/clean)."""

from __future__ import annotations

import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from pypm.store.layout import STORE

STORE_POINTER = "pypm-store.json"
LINKS = "links"


def register_link(entry_root: Path, pointer: Path) -> None:
    """Note that the environment whose dist-info holds ``pointer`` links ``entry_root``."""
    links = entry_root.parent / f"{entry_root.name}.{LINKS}"
    links.mkdir(exist_ok=True)
    pointer = pointer.resolve()
    key = hashlib.sha256(str(pointer).encode()).hexdigest()[:24]
    (links / key).write_text(str(pointer), "utf-8")


def live_links(entry_root: Path) -> list[Path]:
    """The dist-info pointers of environments that still have this entry installed
    (records of environments that removed or replaced it are dropped)."""
    links = entry_root.parent / f"{entry_root.name}.{LINKS}"
    if not links.is_dir():
        return []
    alive = []
    for record in links.iterdir():
        pointer = Path(record.read_text("utf-8"))
        if _points_here(pointer, entry_root.name):
            alive.append(pointer)
        else:
            record.unlink(missing_ok=True)
    return alive


def _points_here(pointer: Path, name: str) -> bool:
    try:
        return json.loads(pointer.read_text("utf-8")).get("store") == name
    except (OSError, ValueError):
        return False


@dataclass
class CacheInfo:
    """Totals for ``pypm cache info``."""

    entries: int = 0
    bytes_in_store: int = 0
    bytes_saved: int = 0
    environments: dict[str, int] | None = None


def store_entries(cache_dir: Path) -> list[Path]:
    """Every complete store entry."""
    root = cache_dir / STORE
    if not root.is_dir():
        return []
    return sorted(p for p in root.glob("*/*") if p.is_dir() and not p.name.endswith(f".{LINKS}")
                  and (p / "pypm-manifest.json").is_file())


def cache_info(cache_dir: Path) -> CacheInfo:
    """Size of the store, environments per entry, and bytes saved by hardlinking."""
    info = CacheInfo(environments={})
    for entry in store_entries(cache_dir):
        info.entries += 1
        info.environments[entry.name] = len(live_links(entry))
        for path in entry.rglob("*"):
            if path.is_file() and not path.is_symlink():
                stat = path.stat()
                info.bytes_in_store += stat.st_size
                info.bytes_saved += stat.st_size * max(0, stat.st_nlink - 2)
    return info


def prune(cache_dir: Path) -> int:
    """Remove store entries no environment links; returns how many were removed."""
    removed = 0
    for entry in store_entries(cache_dir):
        if not live_links(entry):
            shutil.rmtree(entry, ignore_errors=True)
            shutil.rmtree(entry.parent / f"{entry.name}.{LINKS}", ignore_errors=True)
            removed += 1
    return removed
