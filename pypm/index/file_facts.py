"""Sizes and hashes of index files that the index page did not give (PEP 503 HTML pages
carry no size, some no hash), kept in the cache dir by URL once learned, so an offline
lock can write them again without the network; and the same facts read from a local
``file:`` URL."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from pypm.errors import IndexClientError
from pypm.fsutil import atomic_write_bytes, file_sha256
from pypm.index.urls import strip_credentials
from pypm.store.layout import FILE_FACTS


@dataclass(frozen=True)
class FileFacts:
    """What a lock records of a file besides its URL."""

    size: int
    sha256: str


class FileFactsCache:
    """Facts stored under ``<cache>/file-facts-v1/``, keyed by the file's URL (credentials
    removed); with no cache dir, nothing is kept."""

    def __init__(self, cache_dir: Path | None) -> None:
        self.root = cache_dir / FILE_FACTS if cache_dir is not None else None

    def _path(self, url: str) -> Path | None:
        if self.root is None:
            return None
        key = hashlib.sha256(strip_credentials(url).encode()).hexdigest()
        return self.root / key[:2] / f"{key}.json"

    def get(self, url: str) -> FileFacts | None:
        """The facts recorded for ``url``, if any (an unreadable record counts as none)."""
        path = self._path(url)
        if path is None or not path.is_file():
            return None
        try:
            data = json.loads(path.read_text("utf-8"))
            return FileFacts(int(data["size"]), str(data["sha256"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, url: str, facts: FileFacts) -> None:
        """Record the facts learned for ``url``."""
        path = self._path(url)
        if path is not None:
            atomic_write_bytes(path, json.dumps({"size": facts.size, "sha256": facts.sha256}).encode())


def local_path(url: str) -> Path:
    """The path a ``file:`` URL names."""
    return Path(url2pathname(urlsplit(url).path))


def local_facts(url: str, filename: str) -> FileFacts:
    """Size and sha256 of the file a ``file:`` URL names (read from disk, no network)."""
    path = local_path(url)
    try:
        return FileFacts(path.stat().st_size, file_sha256(path))
    except OSError as exc:
        raise IndexClientError(f"cannot read {filename} at {path}: {exc.strerror or exc}",
                               hint="check the index directory") from None
