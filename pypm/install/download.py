"""Download locked files into the content-addressed cache: in parallel, resumable
(``Range`` + ``If-Range``; a 200 answer restarts), sha256-verified over the raw bytes
while streaming (``Accept-Encoding: identity``), and stoppable with Ctrl-C.

A connection dropped or stalled (read timeout, ``PYPM_HTTP_TIMEOUT``) in the middle of a
body, and 408/429/5xx answers, are retried within the same run per pypm's retry policy
(:mod:`pypm.index.retry`), continuing from the bytes already received. A try that adds
bytes resets the count of failures in a row; after ``retries`` failures in a row (or
:data:`MAX_ATTEMPTS` tries in all) the download fails with one error, and the bytes
received stay in ``partial-v1`` for the next run to continue."""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pypm import ui
from pypm.errors import HashMismatchError, InstallError
from pypm.fsutil import file_size
from pypm.install.progress import DownloadProgress
from pypm.store.layout import WHEELS, checked_file_name, checked_sha256, partial_download

if TYPE_CHECKING:
    import httpx

MAX_PARALLEL = 8
MAX_ATTEMPTS = 8  # tries in all for one file, however much each one progressed
_CHUNK = 1 << 16


class Cancelled(InstallError):
    """Downloads were stopped (Ctrl-C)."""


class _Retryable(Exception):
    """One try failed in a way the next may not; ``retry_after`` is the server's wish."""

    def __init__(self, reason: str, retry_after: str | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


@dataclass(frozen=True)
class FileToFetch:
    """A file recorded in the lock: where it is and what it must hash to."""

    filename: str
    url: str
    sha256: str
    size: int | None = None


def cache_path(cache_dir: Path, item: FileToFetch) -> Path:
    """Where a file with this sha256 lives in the cache."""
    sha256 = checked_sha256(item.sha256)
    return cache_dir.joinpath(WHEELS, sha256[:2], sha256, checked_file_name(item.filename))  # one join, not four


#: ``on_ready(item, path, downloaded)``: ``downloaded`` when this process fetched it (and
#: checked its sha256 while it streamed), False for a file already in the cache.
Ready = Callable[[FileToFetch, Path, bool], None]


def fetch_all(
    items: list[FileToFetch], cache_dir: Path, offline: bool = False, announce: bool = True,
    on_ready: Ready | None = None,
) -> dict[str, Path]:
    """Make sure every item is in the cache; return filename -> cached path (``announce``:
    show progress and the summary line; ``on_ready``: called as each file is in the cache,
    from a download thread, so its caller can start on it before the rest)."""
    missing = [item for item in items if not cache_path(cache_dir, item).is_file()]
    if missing and offline:
        names = ", ".join(sorted(item.filename for item in missing)[:5])
        more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
        raise InstallError(f"offline, and not in the cache: {names}{more}",
                           hint="run it once online first (--offline, PYPM_OFFLINE or the offline setting is on)")
    if on_ready is not None:
        for item in items:
            if item not in missing:
                on_ready(item, cache_path(cache_dir, item), False)
    if missing:
        # Largest first: the biggest wheel is the longest to fetch and then to unpack, so it
        # starts before the small ones rather than after them.
        _download(sorted(missing, key=lambda item: -(item.size or 0)), cache_dir, announce, on_ready)
    return {item.filename: cache_path(cache_dir, item) for item in items}


def _download(missing: list[FileToFetch], cache_dir: Path, announce: bool, on_ready: Ready | None = None) -> None:
    from pypm.index.http import make_http_client, uses_tls

    cancel = threading.Event()
    progress = DownloadProgress(missing, announce)
    client = make_http_client(expect_tls=uses_tls(item.url for item in missing))
    with client, ThreadPoolExecutor(MAX_PARALLEL, thread_name_prefix="pypm-dl") as pool:
        futures = [pool.submit(_fetch_one, client, item, cache_dir, cancel, progress, on_ready) for item in missing]
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
               progress: DownloadProgress, on_ready: Ready | None = None) -> None:
    from filelock import FileLock

    target = cache_path(cache_dir, item)
    part = partial_download(cache_dir, item.sha256)
    part.parent.mkdir(parents=True, exist_ok=True)
    downloaded = False
    with FileLock(str(part) + ".lock"):
        if not target.is_file():  # else another pypm fetched it while this one waited for the lock
            _retrying(lambda: _fetch_resumable(client, item, part, cancel, progress), lambda: file_size(part),
                      item.filename, item.url, cancel)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(part, target)
            _meta(part).unlink(missing_ok=True)
            progress.finished(item, file_size(target))
            downloaded = True
    if on_ready is not None and not cancel.is_set():
        on_ready(item, target, downloaded)


def _retrying(attempt: Callable[[], None], kept: Callable[[], int], filename: str, url: str,
              cancel: threading.Event) -> None:
    """Run ``attempt`` until it succeeds; ``kept()`` is how many bytes are kept so far."""
    from pypm.index.retry import DEFAULT_POLICY as POLICY

    best, failures = kept(), 0
    for tries in range(1, MAX_ATTEMPTS + 1):
        try:
            attempt()
            return
        except _Retryable as exc:
            now = kept()
            failures = 1 if now > best else failures + 1
            best = max(best, now)
            if failures > POLICY.retries or tries == MAX_ATTEMPTS:
                raise _gave_up(filename, url, exc, tries, now) from None
            delay = POLICY.delay(failures, exc.retry_after)
            ui.detail(f"{filename}: {exc}; retry in {delay:.1f}s" + (f", from byte {now}" if now else ""))
            _sleep(delay, cancel)


def _gave_up(filename: str, url: str, exc: _Retryable, tries: int, kept: int) -> InstallError:
    from pypm.index.http import redact

    received = f"{kept / 1048576:.1f} MiB" if kept >= 1048576 else f"{kept} bytes"
    resume = f"; the {received} received are kept and the next run continues from there" if kept else ""
    return InstallError(f"cannot download {filename} from {redact(url)}: {exc} (tried {tries} times)",
                        hint=f"check the network or try again later{resume}")


def _sleep(seconds: float, cancel: threading.Event) -> None:
    if cancel.wait(seconds):
        raise Cancelled("downloads stopped")


def _meta(part: Path) -> Path:
    return part.with_suffix(".json")


def _fetch_resumable(client: httpx.Client, item: FileToFetch, part: Path, cancel: threading.Event,
                     progress: DownloadProgress) -> None:
    """One try: download (or continue downloading) into ``part``, then verify the whole
    file's hash. Raises :class:`_Retryable` for what another try may fix."""
    digest = hashlib.sha256()
    offset, validator = _resume_point(item, part, digest)
    if item.url.startswith("file:"):
        _copy_local(item, part, digest)
    else:
        from pypm.index.http import IDENTITY

        headers = dict(IDENTITY)
        if offset:
            headers["Range"] = f"bytes={offset}-"
            if validator:
                headers["If-Range"] = validator

        def consume(start: int, chunks: Iterator[bytes]) -> None:
            nonlocal digest, offset
            if start == 0 and offset:
                digest, offset = hashlib.sha256(), 0  # the server sent the whole file: restart
            progress.started(item, offset)
            _receive(chunks, item, part, offset, digest, cancel, progress)

        _stream(client, item, headers, part, offset, consume)
    _verify(item, part, digest, resumed=offset > 0)


def _receive(chunks: Iterator[bytes], item: FileToFetch, part: Path, offset: int, digest: hashlib._Hash,
             cancel: threading.Event, progress: DownloadProgress) -> None:
    """Append the body's chunks to ``part`` (from ``offset``), hashing them; each chunk is
    on disk before the next is read, so a dropped connection keeps all that arrived."""
    try:
        with part.open("r+b" if offset else "wb") as out:
            out.seek(offset)
            out.truncate()
            for chunk in chunks:
                if cancel.is_set():
                    raise Cancelled("downloads stopped")
                digest.update(chunk)
                out.write(chunk)
                progress.advance(item, len(chunk))
    except OSError as exc:
        from pypm.errors import is_disk_full, os_error

        if is_disk_full(exc):  # do not keep a full disk full for a resume that cannot happen there
            part.unlink(missing_ok=True)
            _meta(part).unlink(missing_ok=True)
        raise os_error(exc, str(part)) from None


def _verify(item: FileToFetch, part: Path, digest: hashlib._Hash, resumed: bool) -> None:
    actual = digest.hexdigest()
    if actual == item.sha256:
        return
    part.unlink(missing_ok=True)
    _meta(part).unlink(missing_ok=True)
    if resumed:  # the kept bytes may be from another version of the file: once more, whole
        raise _Retryable("sha256 mismatch after resuming; restarting from the first byte")
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
    if not isinstance(meta, dict):  # a record damaged into other JSON: as if there were none
        meta = {}
    if not part.is_file() or meta.get("url") != item.url:
        part.unlink(missing_ok=True)
        return 0, None
    with part.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    validator = meta.get("etag") or meta.get("last-modified")
    return part.stat().st_size, validator if isinstance(validator, str) else None


def _copy_local(item: FileToFetch, part: Path, digest: hashlib._Hash) -> None:
    """A ``file:`` URL: copy it whole (and hash it)."""
    try:
        from urllib.request import url2pathname  # ~9 ms (http.client, email): only for file: URLs

        with open(url2pathname(urlsplit(item.url).path), "rb") as handle, part.open("wb") as out:
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
                out.write(chunk)
    except OSError as exc:
        raise InstallError(f"cannot copy {item.filename} from {item.url}: {exc.strerror or exc}") from None


def _stream(client: httpx.Client, item: FileToFetch, headers: dict[str, str], part: Path, offset: int,
            consume: Callable[[int, Iterator[bytes]], None]) -> None:
    """GET the file and hand ``consume`` (where the body starts, its raw chunks as they
    arrive). Transport errors while ``consume`` reads become :class:`_Retryable`."""
    import httpx

    from pypm.index.http import describe_error, is_transient_error

    try:
        with client.stream("GET", item.url, headers=headers) as response:
            start = _body_start(response, item, part, offset)
            validators = {k: response.headers[k] for k in ("etag", "last-modified") if k in response.headers}
            if validators.get("etag", "").startswith("W/"):
                validators.pop("etag")  # If-Range needs a strong validator (RFC 9110 13.1.5)
            _meta(part).write_text(json.dumps({"url": item.url, **validators}), "utf-8")
            consume(start, response.iter_raw())
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        if not is_transient_error(exc):
            raise InstallError(f"cannot download {item.filename}: {describe_error(exc)}") from None
        raise _Retryable(describe_error(exc)) from None


def _body_start(response: httpx.Response, item: FileToFetch, part: Path, offset: int) -> int:
    """Where the answer's body starts in the file (0, or ``offset`` for a 206)."""
    from pypm.index.http import redact
    from pypm.index.retry import is_transient_status

    status = response.status_code
    if status == 200:
        return 0
    if status == 206 and response.headers.get("Content-Range", "").startswith(f"bytes {offset}-"):
        return offset
    if status in (206, 416):  # a range that does not fit what is kept: start again
        part.unlink(missing_ok=True)
        _meta(part).unlink(missing_ok=True)
        raise _Retryable(f"HTTP {status} for bytes {offset}-; restarting from the first byte")
    if is_transient_status(status):
        raise _Retryable(f"HTTP {status}", response.headers.get("Retry-After"))
    raise InstallError(f"cannot download {item.filename}: HTTP {status} from {redact(item.url)}",
                       hint="check the index; re-lock with `pypm lock --refresh` if the file moved")


def fetch_unhashed(filename: str, url: str, cache_dir: Path) -> tuple[Path, str]:
    """Download a file the index gives no hash for (retried, restarting each time); store
    it under its computed sha256."""
    import tempfile

    from pypm.index.http import make_http_client, uses_tls

    staging = cache_dir / WHEELS / ".staging"
    staging.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(prefix=".download-", dir=staging)
    os.close(fd)
    temp = Path(temp_name)
    item = FileToFetch(filename, url, "")
    digests: list[hashlib._Hash] = []

    def attempt() -> None:
        digests[:] = [hashlib.sha256()]
        quiet = DownloadProgress([], announce=False)
        _stream(client, item, {"Accept-Encoding": "identity"}, temp, 0,
                lambda _start, chunks: _receive(chunks, item, temp, 0, digests[0], threading.Event(), quiet))

    try:
        with make_http_client(expect_tls=uses_tls([url])) as client:
            _retrying(attempt, lambda: 0, filename, url, threading.Event())
        sha256 = digests[0].hexdigest()
        target = cache_path(cache_dir, FileToFetch(filename, url, sha256))
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, target)
        return target, sha256
    finally:
        temp.unlink(missing_ok=True)
        _meta(temp).unlink(missing_ok=True)
