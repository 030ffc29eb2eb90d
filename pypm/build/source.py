"""Fetch an sdist into the cache and unpack it safely; read static PKG-INFO (PEP 643)."""

from __future__ import annotations

import shutil
import tarfile
import zipfile
from email.parser import BytesParser
from pathlib import Path

from pypm.errors import PypmError
from pypm.index.links import FileLink
from pypm.install.download import FileToFetch, fetch_all, fetch_unhashed

_DYNAMIC_FOR_RESOLUTION = {"requires-dist", "requires-python", "provides-extra"}


def fetch_sdist(link: FileLink, cache_dir: Path) -> tuple[Path, str]:
    """The sdist in the cache (sha256-verified when the index gives a hash), and its hash."""
    if link.sha256:
        item = FileToFetch(link.filename, link.url, link.sha256, link.size)
        return fetch_all([item], cache_dir, announce=False)[link.filename], link.sha256
    return fetch_unhashed(link.filename, link.url, cache_dir)


def unpack_sdist(archive: Path, destination: Path) -> Path:
    """Unpack into ``destination`` (no path escapes); return the source tree's root."""
    destination.mkdir(parents=True, exist_ok=True)
    try:
        if archive.name.endswith(".zip"):
            with zipfile.ZipFile(archive) as zipped:
                for name in zipped.namelist():
                    if name.startswith("/") or ".." in Path(name).parts:
                        raise PypmError(f"{archive.name}: unsafe path {name!r} in archive")
                zipped.extractall(destination)
        else:
            with tarfile.open(archive) as tarred:
                tarred.extractall(destination, filter="data")
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise PypmError(f"{archive.name}: cannot unpack sdist: {exc}") from None
    entries = [p for p in destination.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return destination


def static_metadata(source: Path) -> bytes | None:
    """PKG-INFO when it is metadata 2.2+ whose dependency fields are not dynamic (PEP 643)."""
    pkg_info = source / "PKG-INFO"
    if not pkg_info.is_file():
        return None
    data = pkg_info.read_bytes()
    headers = BytesParser().parsebytes(data, headersonly=True)
    try:
        major, minor = (int(part) for part in (headers["Metadata-Version"] or "0.0").split(".")[:2])
    except ValueError:
        return None
    if (major, minor) < (2, 2):
        return None
    dynamic = {value.lower() for value in headers.get_all("Dynamic") or []}
    return None if dynamic & _DYNAMIC_FOR_RESOLUTION else data


def remove_tree(path: Path) -> None:
    """Delete a temporary tree, ignoring errors."""
    shutil.rmtree(path, ignore_errors=True)
