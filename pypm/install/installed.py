"""What is installed in an environment, and removing a distribution by its RECORD."""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path

from pypm.workspace.discovery import canonical_name


@dataclass(frozen=True)
class InstalledDist:
    """A ``.dist-info`` directory found in site-packages."""

    name: str
    version: str
    dist_info: Path
    editable: bool
    store: str | None = None


def installed_distributions(site_packages: list[Path]) -> dict[str, InstalledDist]:
    """Every distribution in the given site-packages directories, by canonical name."""
    found: dict[str, InstalledDist] = {}
    for directory in dict.fromkeys(site_packages):
        if not directory.is_dir():
            continue
        for dist_info in directory.glob("*.dist-info"):
            metadata = dist_info / "METADATA"
            if not metadata.is_file() or not (dist_info / "RECORD").is_file():
                continue
            headers = BytesParser().parsebytes(metadata.read_bytes(), headersonly=True)
            name = canonical_name(headers["Name"] or dist_info.name.split("-")[0])
            found[name] = InstalledDist(
                name, headers["Version"] or "", dist_info, _is_editable(dist_info), _store_key(dist_info)
            )
    return found


def _store_key(dist_info: Path) -> str | None:
    """The store entry (the wheel's sha256) a pypm install was linked from."""
    try:
        return json.loads((dist_info / "pypm-store.json").read_text("utf-8")).get("store")
    except (OSError, ValueError):
        return None


def _is_editable(dist_info: Path) -> bool:
    direct_url = dist_info / "direct_url.json"
    if not direct_url.is_file():
        return False
    try:
        return bool(json.loads(direct_url.read_text("utf-8")).get("dir_info", {}).get("editable"))
    except ValueError:
        return False


def uninstall(dist: InstalledDist) -> None:
    """Remove a distribution: its dist-info is first renamed out of sight (so a crash
    leaves at worst stray files, never a dist that looks installed), then every file
    its RECORD lists, then the emptied directories."""
    site = dist.dist_info.parent
    trash = site / f".{dist.dist_info.name}.pypm-removing"
    shutil.rmtree(trash, ignore_errors=True)
    os.rename(dist.dist_info, trash)
    record = trash / "RECORD"
    parents: set[Path] = set()
    if record.is_file():
        with record.open(newline="", encoding="utf-8") as handle:
            for row in csv.reader(handle):
                if not row:
                    continue
                path = Path(os.path.normpath(site / row[0])) if not os.path.isabs(row[0]) else Path(row[0])
                if path.parent == dist.dist_info:
                    continue
                if path.is_file() or path.is_symlink():
                    path.unlink()
                    parents.add(path.parent)
                    _remove_pycache(path)
    shutil.rmtree(trash, ignore_errors=True)
    for parent in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        _prune_empty(parent, stop=site.parent)


def _remove_pycache(path: Path) -> None:
    if path.suffix == ".py":
        cache = path.parent / "__pycache__"
        for compiled in cache.glob(f"{path.stem}.*.pyc"):
            compiled.unlink(missing_ok=True)


def _prune_empty(directory: Path, stop: Path) -> None:
    while directory != stop and directory.is_dir():
        pycache = directory / "__pycache__"
        if pycache.is_dir() and not any(pycache.iterdir()):
            pycache.rmdir()
        if any(directory.iterdir()):
            return
        directory.rmdir()
        directory = directory.parent
