"""A store entry as its manifest describes it: the files of one unpacked wheel, where they
are, and what each environment that links them must get besides (scripts, RECORD). Reading
one needs no wheel machinery: pypa/installer is imported only to unpack a wheel (see
:mod:`pypm.store.destination`) and to write scripts."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

from pypm.fsutil import atomic_write_text
from pypm.store.layout import store_entry

MANIFEST = "pypm-manifest.json"
FILES = "files"


class StoredFile(NamedTuple):
    """One file of a store entry: scheme, path in that scheme, RECORD hash, size, mode (a
    tuple: a manifest holds thousands, made on every sync that links the entry)."""

    scheme: str
    path: str
    hash: str
    size: int
    executable: bool


@dataclass(frozen=True)
class StoreEntry:
    """An unpacked wheel: where its files are, what its environment parts must be, and the
    ``st_mtime_ns`` of each file when it was unpacked (None in manifests written before
    pypm recorded them); ``script_code``: each entry-point script as installer generates it
    for a POSIX interpreter, without its shebang line (None in older manifests)."""

    root: Path
    root_scheme: str
    dist_info: str
    files: list[StoredFile]
    scripts: list[tuple[str, str, str, str]]
    mtimes: list[int] | None = None
    script_code: list[str] | None = None

    def source(self, stored: StoredFile) -> Path:
        """The store path of one file."""
        return self.root / FILES / stored.scheme / stored.path

    @classmethod
    def load(cls, root: Path) -> StoreEntry:
        """Read an entry's manifest (ValueError, KeyError or TypeError when it is damaged)."""
        data = json.loads((root / MANIFEST).read_text("utf-8"))
        files = list(map(StoredFile._make, data["files"]))
        mtimes = data.get("mtime_ns")
        if mtimes is not None and len(mtimes) != len(files):
            raise ValueError("manifest lists mtimes for another number of files")
        scripts = [tuple(s) for s in data["scripts"]]
        code = data.get("script_code")
        if code is not None and (len(code) != len(scripts) or not all(isinstance(text, str) for text in code)):
            code = None  # not what this pypm writes: scripts are generated afresh
        return cls(root, data["root_scheme"], data["dist_info"], files, scripts, mtimes, code)

    def with_current_mtimes(self) -> StoreEntry:
        """The same entry with the mtimes its files have now."""
        return replace(self, mtimes=[os.stat(self.source(f)).st_mtime_ns for f in self.files])

    def save(self) -> None:
        """Write the manifest (atomically: readers see the old one or the new one)."""
        data = {
            "root_scheme": self.root_scheme,
            "dist_info": self.dist_info,
            # five fields per file, as manifests have always had; mtimes in a list of their own
            "files": [list(f) for f in self.files],
            "scripts": [list(s) for s in self.scripts],
            "mtime_ns": self.mtimes,
            "script_code": self.script_code,
        }
        atomic_write_text(self.root / MANIFEST, json.dumps(data))


def is_unpacked(cache_dir: Path, sha256: str) -> bool:
    """True when the store holds a complete entry (its manifest written) for this wheel."""
    return (store_entry(cache_dir, sha256) / MANIFEST).is_file()
