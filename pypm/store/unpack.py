"""Unpack a wheel once into the store with pypa/installer, through a destination that
writes every scheme into its own subdirectory and records (but does not write) the
per-environment parts: entry-point scripts, RECORD, INSTALLER."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from base64 import urlsafe_b64encode
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from installer import install
from installer.destinations import WheelDestination
from installer.exceptions import InstallerError
from installer.records import Hash, RecordEntry
from installer.sources import WheelFile

from pypm.errors import InstallError
from pypm.fsutil import file_sha256
from pypm.store.layout import store_entry

MANIFEST = "pypm-manifest.json"
FILES = "files"


@dataclass(frozen=True)
class StoredFile:
    """One file of a store entry: scheme, path in that scheme, RECORD hash, size, mode."""

    scheme: str
    path: str
    hash: str
    size: int
    executable: bool


@dataclass(frozen=True)
class StoreEntry:
    """An unpacked wheel: where its files are and what its environment parts must be."""

    root: Path
    root_scheme: str
    dist_info: str
    files: list[StoredFile]
    scripts: list[tuple[str, str, str, str]]

    def source(self, stored: StoredFile) -> Path:
        """The store path of one file."""
        return self.root / FILES / stored.scheme / stored.path

    @classmethod
    def load(cls, root: Path) -> StoreEntry:
        """Read an entry's manifest."""
        data = json.loads((root / MANIFEST).read_text("utf-8"))
        return cls(root, data["root_scheme"], data["dist_info"], [StoredFile(*f) for f in data["files"]],
                   [tuple(s) for s in data["scripts"]])


class _StoreDestination(WheelDestination):
    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: list[StoredFile] = []
        self.scripts: list[tuple[str, str, str, str]] = []
        self.manifest: dict[str, Any] = {}

    def write_script(self, name: str, module: str, attr: str, section: Any) -> RecordEntry:
        self.scripts.append((name, module, attr, section))
        return RecordEntry(f"<script>/{name}", None, None)

    def write_file(
        self, scheme: Any, path: str | os.PathLike[str], stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        relative = Path(os.fspath(path)).as_posix()
        target = self.root / FILES / scheme / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        digest, size = hashlib.sha256(), 0
        with target.open("wb") as out:
            for chunk in iter(lambda: stream.read(1 << 16), b""):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if is_executable:
            target.chmod(target.stat().st_mode | 0o111)
        encoded = urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")
        self.files.append(StoredFile(str(scheme), relative, f"sha256={encoded}", size, is_executable))
        return RecordEntry(relative, Hash("sha256", encoded), size)

    def finalize_installation(self, scheme: Any, record_file_path: str, records: Any) -> None:
        self.manifest = {
            "root_scheme": str(scheme),
            "dist_info": record_file_path.split("/")[0],
            "files": [list(vars(f).values()) for f in self.files],
            "scripts": self.scripts,
        }


def ensure_unpacked(wheel: Path, sha256: str, cache_dir: Path) -> StoreEntry:
    """The store entry of ``wheel`` (verified against ``sha256``), unpacking it if needed."""
    final = store_entry(cache_dir, sha256)
    if (final / MANIFEST).is_file():
        return StoreEntry.load(final)
    _verify(wheel, sha256)
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=final.parent))
    try:
        destination = _StoreDestination(temp)
        with WheelFile.open(wheel) as source:
            source.validate_record(validate_contents=False)
            install(source, destination, {})
        (temp / MANIFEST).write_text(json.dumps(destination.manifest), "utf-8")
        try:
            os.rename(temp, final)
        except OSError:
            if not (final / MANIFEST).is_file():  # not a concurrent unpack of the same wheel
                raise
    except (InstallerError, ValueError, KeyError) as exc:
        raise InstallError(f"cannot install {wheel.name}: {exc}") from None
    finally:
        shutil.rmtree(temp, ignore_errors=True)
    return StoreEntry.load(final)


def _verify(wheel: Path, sha256: str) -> None:
    actual = file_sha256(wheel)
    if actual != sha256:
        wheel.unlink(missing_ok=True)
        raise InstallError(
            f"{wheel.name} in the cache is corrupt: sha256 {actual} instead of {sha256}",
            hint="the damaged file was removed; run the command again to download it afresh",
        )
