"""The snapshot's on-disk layout and its loaded, read-only view.

Layout of a snapshot directory::

    index.json            {"format": 1, "covers": {...}, "projects": {name: {"versions": [...],
                           "files": [{"filename", "hashes", "size", "requires-python",
                           "yanked", "upload-time", "version"}]}}}
    files/<filename>      the distribution files that were downloaded (others answer 404)
    metadata/<name>-<version>.metadata   METADATA of one wheel of that version

The METADATA of a version serves every wheel of that version (PEP 658); its hash is
computed over the bytes served.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FORMAT", "Snapshot", "metadata_name", "split_version"]

FORMAT = 1


def metadata_name(name: str, version: str) -> str:
    """File name (under ``metadata/``) holding the METADATA of ``name`` ``version``."""
    return f"{name}-{version}.metadata"


def split_version(filename: str) -> str | None:
    """The version part of a wheel or sdist file name (as written), or ``None``."""
    if filename.endswith(".whl"):
        parts = filename[:-4].split("-")
        return parts[1] if len(parts) >= 5 else None
    for ext in (".tar.gz", ".zip", ".tar.bz2", ".tgz", ".tar"):
        if filename.endswith(ext):
            stem = filename[: -len(ext)]
            return stem.rsplit("-", 1)[1] if "-" in stem else None
    return None


@dataclass
class Snapshot:
    """A loaded snapshot: project pages' data, served metadata and downloaded files."""

    root: Path
    projects: dict[str, dict[str, Any]]
    covers: dict[str, str] = field(default_factory=dict)
    # filename of a wheel -> (metadata bytes, sha256 hex) for every wheel whose version has one
    _metadata: dict[str, tuple[bytes, str]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: Path) -> Snapshot:
        """Read ``root/index.json`` and the metadata files it refers to."""
        root = Path(root)
        data = json.loads((root / "index.json").read_text())
        if data.get("format") != FORMAT:
            raise ValueError(f"{root}: unknown snapshot format {data.get('format')!r}")
        snap = cls(root, data["projects"], data.get("covers", {}))
        for name, project in snap.projects.items():
            by_version: dict[str, tuple[bytes, str]] = {}
            for entry in project["files"]:
                version = entry["version"]
                if not entry["filename"].endswith(".whl"):
                    continue
                if version not in by_version:
                    path = root / "metadata" / metadata_name(name, version)
                    if not path.is_file():
                        continue
                    blob = path.read_bytes()
                    by_version[version] = (blob, hashlib.sha256(blob).hexdigest())
                snap._metadata[entry["filename"]] = by_version[version]
        return snap

    def metadata(self, filename: str) -> tuple[bytes, str] | None:
        """(METADATA bytes, their sha256) served for wheel ``filename``, or ``None``."""
        return self._metadata.get(filename)

    def file_path(self, filename: str) -> Path | None:
        """The downloaded file ``filename`` (``None`` when it was not downloaded)."""
        if "/" in filename or filename.startswith("."):
            return None
        path = self.root / "files" / filename
        return path if path.is_file() else None

    def file_count(self) -> tuple[int, int]:
        """(files listed, files downloaded)."""
        listed = sum(len(p["files"]) for p in self.projects.values())
        present = sum(1 for p in self.projects.values() for f in p["files"] if self.file_path(f["filename"]))
        return listed, present
