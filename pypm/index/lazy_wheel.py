"""Read a remote wheel's METADATA with HTTP range requests instead of a full download."""

from __future__ import annotations

import io

import httpx

from pypm.index.metadata import metadata_from_wheel

_TAIL = 64 * 1024


class RangeNotSupported(Exception):
    """The server answered a range request with the whole body; carries that body."""

    def __init__(self, body: bytes) -> None:
        super().__init__("range requests not supported")
        self.body = body


class HttpRangeFile(io.RawIOBase):
    """A seekable, read-only file over HTTP, fetching byte ranges on demand."""

    def __init__(self, client: httpx.Client, url: str) -> None:
        super().__init__()
        self._client = client
        self._url = url
        self._pos = 0
        self._chunks: dict[int, bytes] = {}
        response = client.get(url, headers={"Range": f"bytes=-{_TAIL}"})
        response.raise_for_status()
        if response.status_code != 206:
            raise RangeNotSupported(response.content)
        total = response.headers.get("Content-Range", "").rsplit("/", 1)[-1]
        self._size = int(total) if total.isdigit() else len(response.content)
        self._chunks[self._size - len(response.content)] = response.content

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
        response = self._client.get(self._url, headers={"Range": f"bytes={start}-{fetch_end - 1}"})
        response.raise_for_status()
        if response.status_code != 206:
            raise RangeNotSupported(response.content)
        self._chunks[start] = response.content
        return response.content[: end - start]


def fetch_wheel_metadata(client: httpx.Client, url: str, filename: str) -> bytes:
    """METADATA of the wheel at ``url`` via range requests, or a full download if needed."""
    try:
        remote = HttpRangeFile(client, url)
    except RangeNotSupported as whole:
        return metadata_from_wheel(io.BytesIO(whole.body), filename)
    try:
        return metadata_from_wheel(io.BufferedReader(remote, buffer_size=8192), filename)
    except RangeNotSupported as whole:
        return metadata_from_wheel(io.BytesIO(whole.body), filename)
