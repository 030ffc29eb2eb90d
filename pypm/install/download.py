"""Download locked files into the content-addressed cache, in parallel, sha256-verified."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from pypm.errors import HashMismatchError, InstallError

MAX_PARALLEL = 8
_CHUNK = 1 << 16


@dataclass(frozen=True)
class FileToFetch:
    """A file recorded in the lock: where it is and what it must hash to."""

    filename: str
    url: str
    sha256: str
    size: int | None = None


def cache_path(cache_dir: Path, item: FileToFetch) -> Path:
    """Where a file with this sha256 lives in the cache."""
    return cache_dir / "wheels-v1" / item.sha256[:2] / item.sha256 / item.filename


def fetch_all(items: list[FileToFetch], cache_dir: Path) -> dict[str, Path]:
    """Make sure every item is in the cache; return filename -> cached path."""
    missing = [item for item in items if not cache_path(cache_dir, item).is_file()]
    if missing:
        from pypm.index.client import make_http_client

        with make_http_client() as client, ThreadPoolExecutor(MAX_PARALLEL) as pool:
            list(pool.map(lambda item: _fetch_one(client, item, cache_dir), missing))
    return {item.filename: cache_path(cache_dir, item) for item in items}


def fetch_unhashed(filename: str, url: str, cache_dir: Path) -> tuple[Path, str]:
    """Download a file the index gives no hash for; store it under its computed sha256."""
    from pypm.index.client import make_http_client

    staging = cache_dir / "wheels-v1" / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    with make_http_client() as client:
        temp, actual = _download_to_temp(client, FileToFetch(filename, url, ""), staging)
    target = cache_path(cache_dir, FileToFetch(filename, url, actual))
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(temp, target)
    return target, actual


def _download_to_temp(client: httpx.Client, item: FileToFetch, directory: Path) -> tuple[Path, str]:
    """Stream ``item`` into a temp file in ``directory``; return it and its sha256."""
    fd, temp_name = tempfile.mkstemp(prefix=".download-", dir=directory)
    temp = Path(temp_name)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            for chunk in _stream(client, item):
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp, digest.hexdigest()


def _fetch_one(client: httpx.Client, item: FileToFetch, cache_dir: Path) -> None:
    target = cache_path(cache_dir, item)
    target.parent.mkdir(parents=True, exist_ok=True)
    temp, actual = _download_to_temp(client, item, target.parent)
    try:
        if actual != item.sha256:
            raise HashMismatchError(
                f"{item.filename}: sha256 mismatch: expected {item.sha256}, got {actual}",
                hint="the file on the index changed or was tampered with; nothing was installed",
            )
        os.replace(temp, target)
    finally:
        temp.unlink(missing_ok=True)


def _stream(client: httpx.Client, item: FileToFetch):  # type: ignore[no-untyped-def]
    if item.url.startswith("file:"):
        with open(url2pathname(urlsplit(item.url).path), "rb") as handle:
            yield from iter(lambda: handle.read(_CHUNK), b"")
        return
    try:
        with client.stream("GET", item.url) as response:
            if response.status_code != 200:
                raise InstallError(f"cannot download {item.filename}: HTTP {response.status_code}")
            yield from response.iter_bytes(_CHUNK)
    except httpx.HTTPError as exc:
        raise InstallError(f"cannot download {item.filename}: {exc}") from None


def copy_into_cache(source: Path, cache_dir: Path, item: FileToFetch) -> Path:
    """Put an already local file into the cache (used by tests and find-links)."""
    target = cache_path(cache_dir, item)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return target
