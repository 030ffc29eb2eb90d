"""Read a remote wheel's METADATA with HTTP range requests instead of a full download."""

from __future__ import annotations

import io

import httpx

from pypm.errors import IndexClientError
from pypm.index.http import IDENTITY, Reply, fetch, redact
from pypm.index.metadata import metadata_from_wheel

_TAIL = 64 * 1024


class RangeNotSupported(Exception):
    """The server answered a range request with the whole body; carries that body."""

    def __init__(self, body: bytes) -> None:
        super().__init__("range requests not supported")
        self.body = body


class RangesUnusable(Exception):
    """The server's range answers cannot be read from (no total size, 416, a range other
    than the one asked for): the wheel is downloaded whole instead."""


class RangeRequestFailed(IndexClientError):
    """A range request got an error status (after retries)."""


class HttpRangeFile(io.RawIOBase):
    """A seekable, read-only file over HTTP, fetching byte ranges on demand (each request
    retried per pypm's retry policy; ``If-Range`` pins every range to the first answer's
    version of the file, so a file replaced meanwhile comes back whole instead of mixed)."""

    def __init__(self, client: httpx.Client, url: str, filename: str = "") -> None:
        super().__init__()
        self._client = client
        self._url = url
        self._filename = filename or url.rsplit("/", 1)[-1]
        self._pos = 0
        self._chunks: dict[int, bytes] = {}
        self._validator: str | None = None
        response = self._get(f"bytes=-{_TAIL}")
        etag = response.headers.get("ETag", "")
        self._validator = etag if etag and not etag.startswith("W/") else response.headers.get("Last-Modified")
        start, total = content_range(response)
        if total is None:  # ``bytes a-b/*`` or no Content-Range: where the tail sits is unknown
            raise RangesUnusable
        self._size = total
        self._chunks[start if start is not None else self._size - len(response.content)] = response.content

    def _get(self, byte_range: str) -> Reply:
        """One range request; the whole body (raised as RangeNotSupported) if the server ignores it."""
        headers = {"Range": byte_range, **IDENTITY, **({"If-Range": self._validator} if self._validator else {})}
        response = fetch(self._client, self._url, headers=headers, raw=True)
        if response.status_code == 200:
            raise RangeNotSupported(response.content)
        if response.status_code == 416:
            raise RangesUnusable
        if response.status_code != 206:
            raise RangeRequestFailed(f"cannot fetch metadata of {self._filename}: HTTP {response.status_code} "
                                     f"for a range of {redact(self._url)}")
        return response

    def seekable(self) -> bool:
        return True

    def readable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        length = min(len(buffer), self._size - self._pos)
        if length <= 0:
            return 0
        data = self._read_range(self._pos, self._pos + length)
        buffer[: len(data)] = data
        self._pos += len(data)
        return len(data)

    def _read_range(self, start: int, end: int) -> bytes:
        for chunk_start, chunk in self._chunks.items():
            if chunk_start <= start and end <= chunk_start + len(chunk):
                return chunk[start - chunk_start: end - chunk_start]
        fetch_end = max(end, min(self._size, start + _TAIL))
        response = self._get(f"bytes={start}-{fetch_end - 1}")
        got, _ = content_range(response)
        if got is not None and got != start:  # the server's ranges are not to be trusted
            raise RangesUnusable
        self._chunks[start] = response.content
        return response.content[: end - start]


def content_range(response: Reply) -> tuple[int | None, int | None]:
    """(first byte, total size) from ``Content-Range: bytes a-b/total``; None where absent."""
    spec = response.headers.get("Content-Range", "").strip()
    unit, _, rest = spec.partition(" ")
    span, _, total = rest.partition("/")
    first = span.partition("-")[0]
    if unit.lower() != "bytes":
        return None, None
    return (int(first) if first.isdigit() else None), (int(total) if total.isdigit() else None)


def fetch_wheel_metadata(client: httpx.Client, url: str, filename: str) -> bytes:
    """METADATA of the wheel at ``url`` via range requests, or a full download where the
    server ignores ranges, answers them in a way that cannot be read (416, no total size,
    another range), or the zip read through them is not valid (the whole file then says
    whether it is the file or the ranges that are broken)."""
    try:
        remote = HttpRangeFile(client, url, filename)
        return metadata_from_wheel(io.BufferedReader(remote, buffer_size=8192), filename)
    except RangeNotSupported as whole:
        return metadata_from_wheel(io.BytesIO(whole.body), filename)
    except RangeRequestFailed:
        raise
    except (RangesUnusable, IndexClientError):
        return metadata_from_wheel(io.BytesIO(_whole(client, url, filename)), filename)


def _whole(client: httpx.Client, url: str, filename: str) -> bytes:
    """The whole wheel, downloaded."""
    response = fetch(client, url, headers=IDENTITY, raw=True)
    if response.status_code != 200:
        raise IndexClientError(f"cannot fetch metadata of {filename}: HTTP {response.status_code} from {redact(url)}")
    return response.content
