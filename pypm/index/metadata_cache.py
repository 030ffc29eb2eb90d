"""Core metadata of index files, kept in the cache dir by the file's sha256 (by its URL
for a file the index gives no hash for).

Each is stored after a first line holding the sha256 of the metadata bytes, and read back
only when they still hash to it: a file cut short or damaged since (a truncated METADATA
still parses, without its last ``Requires-Dist``) is dropped and fetched again instead of
trusted. The hash is of bytes read anyway to be parsed, so a warm lock pays one sha256 of a
few kilobytes per file. They live in directories of their own (``metadata-v2``): an older
pypm sharing the cache keeps its bare files in ``metadata-v1``, which this one reads only
offline (where nothing could be fetched instead) and never changes.
"""

from __future__ import annotations

import contextlib
import hashlib
from pathlib import Path

from pypm.fsutil import atomic_write_bytes
from pypm.index.links import FileLink
from pypm.index.urls import strip_credentials
from pypm.store.layout import LEGACY_METADATA, LEGACY_METADATA_BY_URL, METADATA, METADATA_BY_URL

_HEADER = b"pypm-metadata-sha256="
_HEADER_LENGTH = len(_HEADER) + 64 + 1  # the header, the hex digest, a newline


class MetadataCache:
    """Verified metadata files under ``<cache>/metadata-v2/`` (and ``metadata-by-url-v2/``);
    with no cache dir, nothing is kept."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.cache_dir = cache_dir

    def path(self, link: FileLink, legacy: bool = False) -> Path | None:
        """Where the metadata of ``link``'s file is kept: by the file's sha256, or by its URL
        (credentials removed) when the page gave no hash (``legacy``: where an earlier pypm
        kept it)."""
        if self.cache_dir is None:
            return None
        if link.sha256:
            directory = LEGACY_METADATA if legacy else METADATA
            return self.cache_dir / directory / link.sha256[:2] / f"{link.sha256}.METADATA"
        key = hashlib.sha256(strip_credentials(link.url).encode()).hexdigest()
        return self.cache_dir / (LEGACY_METADATA_BY_URL if legacy else METADATA_BY_URL) / key[:2] / f"{key}.METADATA"

    def has(self, link: FileLink, offline: bool = False) -> bool:
        """Is something stored for ``link`` (not read: :meth:`get` checks it)? ``offline``:
        an earlier pypm's file counts too."""
        paths = [self.path(link), *([self.path(link, legacy=True)] if offline else [])]
        return any(path is not None and path.is_file() for path in paths)

    def get_legacy(self, link: FileLink) -> bytes | None:
        """What an earlier pypm stored for ``link`` (bare bytes, which nothing can check
        but their parse: for offline runs only)."""
        path = self.path(link, legacy=True)
        try:
            return path.read_bytes() if path is not None else None
        except OSError:
            return None

    def get(self, link: FileLink) -> bytes | None:
        """The stored metadata bytes, if there are and they still hash to what was recorded
        with them; a damaged file is dropped."""
        path = self.path(link)
        if path is None:
            return None
        try:
            stored = path.read_bytes()
        except OSError:
            return None
        data = stored[_HEADER_LENGTH:]
        if stored.startswith(_HEADER) and stored[len(_HEADER):_HEADER_LENGTH - 1] == _digest(data):
            return data
        self.drop(link)
        return None

    def put(self, link: FileLink, data: bytes) -> None:
        """Store ``data`` (already parsed and checked) as ``link``'s metadata."""
        path = self.path(link)
        if path is not None:
            atomic_write_bytes(path, _HEADER + _digest(data) + b"\n" + data)

    def drop(self, link: FileLink) -> None:
        """Forget what is stored for ``link`` (it did not read or check)."""
        path = self.path(link)
        if path is not None:
            with contextlib.suppress(OSError):
                path.unlink()


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).hexdigest().encode()
