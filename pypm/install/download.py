"""Download locked files into the content-addressed cache: in parallel, resumable
(``Range`` + ``If-Range``; a 200 answer restarts), retried with backoff on connection
errors and 5xx, sha256-verified while streaming, and stoppable with Ctrl-C."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import httpx

from pypm.errors import HashMismatchError, InstallError
from pypm.install.progress import DownloadProgress
from pypm.store.layout import WHEELS, partial_download

MAX_PARALLEL = 8
RETRIES = 4
_CHUNK = 1 << 16


class Cancelled(InstallError):
    """Downloads were stopped (Ctrl-C)."""


class _Retryable(Exception):
    pass


@dataclass(frozen=True)
class FileToFetch:
    """A file recorded in the lock: where it is and what it must hash to."""

    filename: str
    url: str
    sha256: str
    size: int | None = None


def cache_path(cache_dir: Path, item: FileToFetch) -> Path:
    """Where a file with this sha256 lives in the cache."""
    return cache_dir / WHEELS / item.sha256[:2] / item.sha256 / item.filename


def fetch_all(
    items: list[FileToFetch], cache_dir: Path, offline: bool = False, announce: bool = True
) -> dict[str, Path]:
    """Make sure every item is in the cache; return filename -> cached path (``announce``:
    show progress and the summary line)."""
    missing = [item for item in items if not cache_path(cache_dir, item).is_file()]
    if missing and offline:
        names = ", ".join(sorted(item.filename for item in missing)[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InstallError(f"offline, and not in the cache: {names}{more}", hint="run once without --offline")
    if missing:
        _download(missing, cache_dir, announce)
    return {item.filename: cache_path(cache_dir, item) for item in items}


def _download(missing: list[FileToFetch], cache_dir: Path, announce: bool) -> None:
    from pypm.index.client import make_http_client

    cancel = threading.Event()
    progress = DownloadProgress(missing, announce)
    with make_http_client() as client, ThreadPoolExecutor(MAX_PARALLEL, thread_name_prefix="pypm-dl") as pool:
        futures = [pool.submit(_fetch_one, client, item, cache_dir, cancel, progress) for item in missing]
        try:
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                future.result()
            for future in futures:
                future.result()
        except BaseException:
            cancel.set()
            raise
        finally:
            progress.close()


def _fetch_one(client: httpx.Client, item: FileToFetch, cache_dir: Path, cancel: threading.Event,
               progress: DownloadProgress) -> None:
    from filelock import FileLock

    target = cache_path(cache_dir, item)
    part = partial_download(cache_dir, item.sha256)
    part.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(part) + ".lock"):
        if target.is_file():
            progress.finished(item)
            return
        for attempt in range(RETRIES):
            try:
                _fetch_resumable(client, item, part, cancel, progress)
                break
            except _Retryable as exc:
                if attempt == RETRIES - 1:
                    raise InstallError(f"cannot download {item.filename}: {exc}", hint="check the network") from None
                _sleep(0.5 * 2**attempt, cancel)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(part, target)
        _meta(part).unlink(missing_ok=True)
    progress.finished(item)


def _sleep(seconds: float, cancel: threading.Event) -> None:
    if cancel.wait(seconds):
        raise Cancelled("downloads stopped")


def _meta(part: Path) -> Path:
    return part.with_suffix(".json")


def _fetch_resumable(client: httpx.Client, item: FileToFetch, part: Path, cancel: threading.Event,
                     progress: DownloadProgress) -> None:
    """Download (or continue downloading) into ``part`` and verify the full file's hash."""
    digest = hashlib.sha256()
    offset, validator = _resume_point(item, part, digest)
    headers = {"Range": f"bytes={offset}-", **({"If-Range": validator} if validator else {})} if offset else {}
    for start, chunks in _stream(client, item, headers, part):
        if start == 0 and offset:
            digest, offset = hashlib.sha256(), 0  # the server sent the whole file: restart
        progress.started(item, offset)
        with part.open("ab" if offset else "wb") as out:
            for chunk in chunks:
                if cancel.is_set():
                    raise Cancelled("downloads stopped")
                digest.update(chunk)
                out.write(chunk)
                progress.advance(item, len(chunk))
    actual = digest.hexdigest()
    if actual != item.sha256:
        part.unlink(missing_ok=True)
        _meta(part).unlink(missing_ok=True)
        raise HashMismatchError(
            f"{item.filename}: sha256 mismatch: expected {item.sha256}, got {actual}",
            hint="the file on the index changed or was tampered with; nothing was installed",
        )


def _resume_point(item: FileToFetch, part: Path, digest: hashlib._Hash) -> tuple[int, str | None]:
    """Bytes already downloaded (hashed into ``digest``) and the validator for If-Range."""
    try:
        meta = json.loads(_meta(part).read_text("utf-8"))
    except (OSError, ValueError):
        meta = {}
    if not part.is_file() or meta.get("url") != item.url:
        part.unlink(missing_ok=True)
        return 0, None
    with part.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return part.stat().st_size, meta.get("etag") or meta.get("last-modified")


def _stream(client: httpx.Client, item: FileToFetch, headers: dict[str, str],
            part: Path) -> Iterator[tuple[int, Iterator[bytes]]]:
    """Yield once: (0 for a full body / the offset for a 206, the body's chunks)."""
    if item.url.startswith("file:"):
        with open(url2pathname(urlsplit(item.url).path), "rb") as handle:
            yield 0, iter(lambda: handle.read(_CHUNK), b"")
        return
    try:
        with client.stream("GET", item.url, headers=headers) as response:
            if response.status_code >= 500 or response.status_code == 416:
                if response.status_code == 416:
                    part.unlink(missing_ok=True)
                raise _Retryable(f"HTTP {response.status_code}")
            if response.status_code not in (200, 206):
                raise InstallError(f"cannot download {item.filename}: HTTP {response.status_code}")
            validators = {k: response.headers[k] for k in ("etag", "last-modified") if k in response.headers}
            _meta(part).write_text(json.dumps({"url": item.url, **validators}), "utf-8")
            yield (1 if response.status_code == 206 else 0), response.iter_bytes(_CHUNK)
    except httpx.TransportError as exc:
        raise _Retryable(str(exc) or type(exc).__name__) from None


def fetch_unhashed(filename: str, url: str, cache_dir: Path) -> tuple[Path, str]:
    """Download a file the index gives no hash for; store it under its computed sha256."""
    from pypm.index.client import make_http_client

    staging = cache_dir / WHEELS / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=".download-", dir=staging)
    temp = Path(temp_name)
    digest = hashlib.sha256()
    try:
        with make_http_client() as client, os.fdopen(fd, "wb") as out, client.stream("GET", url) as response:
            response.raise_for_status()
            for chunk in response.iter_bytes(_CHUNK):
                digest.update(chunk)
                out.write(chunk)
        target = cache_path(cache_dir, FileToFetch(filename, url, digest.hexdigest()))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        return target, digest.hexdigest()
    except httpx.HTTPError as exc:
        raise InstallError(f"cannot download {filename}: {exc}") from None
    finally:
        temp.unlink(missing_ok=True)
