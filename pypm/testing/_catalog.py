"""Scan a directory of distribution files and describe them for the test index."""

from __future__ import annotations

import hashlib
import os
import tarfile
import threading
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from pathlib import Path

from packaging.utils import (
    InvalidSdistFilename,
    InvalidWheelFilename,
    NormalizedName,
    parse_sdist_filename,
    parse_wheel_filename,
)

from pypm.fsutil import file_sha256

DIST_SUFFIXES: tuple[str, ...] = (".whl", ".tar.gz", ".zip")


@dataclass(frozen=True)
class IndexedFile:
    """One distribution file known to the index."""

    filename: str
    path: Path
    project: NormalizedName
    version: str
    size: int
    sha256: str
    mtime: float
    requires_python: str | None
    metadata: bytes | None  # the wheel's METADATA bytes (None for sdists)

    @property
    def is_wheel(self) -> bool:
        """True for ``.whl`` files."""
        return self.filename.endswith(".whl")

    @property
    def metadata_sha256(self) -> str | None:
        """sha256 hex digest of the wheel METADATA, if any."""
        return None if self.metadata is None else hashlib.sha256(self.metadata).hexdigest()

    @property
    def upload_time(self) -> str:
        """PEP 700 upload time (the file's mtime, UTC, ``yyyy-mm-ddThh:mm:ss.ffffffZ``)."""
        return datetime.fromtimestamp(self.mtime, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_name(filename: str) -> tuple[NormalizedName, str] | None:
    """Return ``(canonical project name, version)`` for a dist file name, or None."""
    try:
        if filename.endswith(".whl"):
            name, version, _build, _tags = parse_wheel_filename(filename)
        else:
            name, version = parse_sdist_filename(filename)
    except (InvalidWheelFilename, InvalidSdistFilename):
        return None
    return name, str(version)


def _wheel_metadata(path: Path) -> bytes:
    """Read ``*.dist-info/METADATA`` from a wheel."""
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            parts = name.split("/")
            if len(parts) == 2 and parts[0].endswith(".dist-info") and parts[1] == "METADATA":
                return zf.read(name)
    raise ValueError(f"{path.name}: no .dist-info/METADATA")


def _sdist_pkg_info(path: Path) -> bytes | None:
    """Read the top-level ``PKG-INFO`` from an sdist, if present."""
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                if name.count("/") == 1 and name.endswith("/PKG-INFO"):
                    return zf.read(name)
        return None
    with tarfile.open(path, "r:gz") as tar:
        for member in tar:
            if member.isfile() and member.name.count("/") == 1 and member.name.endswith("/PKG-INFO"):
                extracted = tar.extractfile(member)
                return extracted.read() if extracted else None
    return None


def _requires_python(raw: bytes | None) -> str | None:
    """Extract Requires-Python from core metadata bytes."""
    if raw is None:
        return None
    value = BytesHeaderParser().parsebytes(raw).get("Requires-Python")
    return None if value is None else str(value).strip()



def describe(path: Path, stat: os.stat_result) -> IndexedFile | None:
    """Build an :class:`IndexedFile` for ``path`` (None if it is not a usable dist)."""
    parsed = _parse_name(path.name)
    if parsed is None:
        return None
    try:
        metadata = _wheel_metadata(path) if path.name.endswith(".whl") else None
        core = metadata if metadata is not None else _sdist_pkg_info(path)
        sha = file_sha256(path)
    except (OSError, ValueError, zipfile.BadZipFile, tarfile.TarError, EOFError):
        return None
    return IndexedFile(
        filename=path.name,
        path=path,
        project=parsed[0],
        version=parsed[1],
        size=stat.st_size,
        sha256=sha,
        mtime=stat.st_mtime,
        requires_python=_requires_python(core),
        metadata=metadata,
    )


class Catalog:
    """Thread-safe view of a files directory, re-scanned on every :meth:`scan`.

    Per-file results are cached by (size, mtime) so hashing happens once.
    """

    def __init__(self, files_dir: Path) -> None:
        """Watch ``files_dir``."""
        self.files_dir = files_dir
        self._lock = threading.Lock()
        self._cache: dict[str, tuple[tuple[int, int], IndexedFile]] = {}

    def files(self) -> list[IndexedFile]:
        """All usable distribution files, sorted by file name."""
        found: list[IndexedFile] = []
        with os.scandir(self.files_dir) as it:
            entries = [e for e in it if e.is_file() and e.name.endswith(DIST_SUFFIXES)]
        for entry in sorted(entries, key=lambda e: e.name):
            stat = entry.stat()
            key = (stat.st_size, stat.st_mtime_ns)
            with self._lock:
                cached = self._cache.get(entry.name)
            if cached is not None and cached[0] == key:
                found.append(cached[1])
                continue
            info = describe(Path(entry.path), stat)
            if info is not None:
                with self._lock:
                    self._cache[entry.name] = (key, info)
                found.append(info)
        return found

    def projects(self) -> dict[NormalizedName, list[IndexedFile]]:
        """Files grouped by canonical project name."""
        grouped: dict[NormalizedName, list[IndexedFile]] = {}
        for info in self.files():
            grouped.setdefault(info.project, []).append(info)
        return dict(sorted(grouped.items()))

    def find(self, filename: str) -> IndexedFile | None:
        """Look up one file by exact file name."""
        for info in self.files():
            if info.filename == filename:
                return info
        return None
