"""Fetch an sdist into the cache and unpack it safely; read static PKG-INFO (PEP 643)."""

from __future__ import annotations

import os
import shutil
import tarfile
import zipfile
from pathlib import Path

from pypm.errors import PypmError
from pypm.index.links import FileLink
from pypm.install.download import FileToFetch, fetch_all, fetch_unhashed

_DYNAMIC_FOR_RESOLUTION = {"requires-dist", "requires-python", "provides-extra"}


def fetch_sdist(link: FileLink, cache_dir: Path, offline: bool = False) -> tuple[Path, str]:
    """The sdist in the cache (sha256-verified when the index gives a hash), and its hash;
    ``offline``: only from the cache."""
    if link.sha256:
        item = FileToFetch(link.filename, link.url, link.sha256, link.size)
        return fetch_all([item], cache_dir, offline=offline, announce=False)[link.filename], link.sha256
    if offline:
        raise PypmError(f"offline, and {link.filename} (no hash on the index) cannot be taken from the cache",
                        hint="run once without --offline")
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
                extract_tar_safely(tarred, destination, archive.name)
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as exc:
        raise PypmError(f"{archive.name}: cannot unpack sdist: {exc}") from None
    entries = [p for p in destination.iterdir()]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return destination


def extract_tar_safely(tarred: tarfile.TarFile, destination: Path, name: str) -> None:
    """Extract with tarfile's ``data`` filter (absolute paths, ``..``, links out of the tree,
    devices refused); on Pythons without it (before 3.10.12 / 3.11.4) the same rules are
    checked here first and only regular files and directories are extracted."""
    if hasattr(tarfile, "data_filter"):
        tarred.extractall(destination, filter="data")
        return
    root = os.path.realpath(destination)
    members = []
    for member in tarred.getmembers():
        target = os.path.realpath(os.path.join(root, member.name))
        if os.path.isabs(member.name) or not (target == root or target.startswith(root + os.sep)):
            raise PypmError(f"{name}: unsafe path {member.name!r} in archive")
        if not (member.isfile() or member.isdir()):
            raise PypmError(f"{name}: {member.name!r} is a link or special file; pypm extracts only files")
        member.mode = (member.mode | 0o600) & 0o755 if member.isfile() else 0o755
        members.append(member)
    tarred.extractall(destination, members=members)  # noqa: S202 - members checked above


def static_metadata(source: Path) -> bytes | None:
    """PKG-INFO when it is metadata 2.2+ whose dependency fields are not dynamic (PEP 643)."""
    from packaging.metadata import parse_email
    from packaging.version import InvalidVersion, Version

    pkg_info = source / "PKG-INFO"
    if not pkg_info.is_file():
        return None
    data = pkg_info.read_bytes()
    raw, _ = parse_email(data)
    try:
        if Version(raw.get("metadata_version", "0")) < Version("2.2"):
            return None
    except InvalidVersion:
        return None
    dynamic = {value.lower() for value in raw.get("dynamic", [])}
    return None if dynamic & _DYNAMIC_FOR_RESOLUTION else data


def remove_tree(path: Path) -> None:
    """Delete a temporary tree, ignoring errors."""
    shutil.rmtree(path, ignore_errors=True)


def read_pyproject(project: Path) -> dict[str, object]:
    """The parsed ``pyproject.toml`` of a source tree; empty when it is missing or unreadable
    (the backend reports that better)."""
    from pypm.tomlfile import read_toml

    try:
        return read_toml(project / "pyproject.toml")
    except PypmError:
        return {}
