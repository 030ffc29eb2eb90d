"""Start a lock's index work while the rest of pypm loads: the index client (HTTP pool,
TLS context) is made and the root requirements' project pages are fetched in the
background, so the network overlaps importing doit and the resolver.

The resolver takes the same client: a page already fetched is not fetched again, one on
its way is waited for (the client fetches each page once). Whatever fails here is
simply done again, for real, by the lock.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from pypm.config import Settings
from pypm.workspace.discovery import RawWorkspace, canonical_name

if TYPE_CHECKING:
    from pypm.index.client import IndexClient

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
MAX_PAGES = 32  # root pages fetched ahead; the resolver's own prefetch does the rest
PAGE_THREADS = 4


class IndexWarmup:
    """An :class:`IndexClient` being made, and root pages being fetched, in the background."""

    def __init__(self, settings: Settings, names: list[str], refresh: bool) -> None:
        self.refresh = refresh
        self._client: IndexClient | None = None
        self._pool = ThreadPoolExecutor(PAGE_THREADS, thread_name_prefix="pypm-warmup")
        self._ready = threading.Event()
        self._pool.submit(self._start, settings, names)

    def _start(self, settings: Settings, names: list[str]) -> None:
        try:
            from pypm.index.client import IndexClient

            self._client = IndexClient(settings, settings.cache_dir, refresh=self.refresh)
        except Exception:  # noqa: BLE001 - the lock makes its own client and reports the error
            return
        finally:
            self._ready.set()
        for name in names:
            self._pool.submit(self._page, name)

    def _page(self, name: str) -> None:
        try:
            assert self._client is not None
            self._client.project_files(name)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001 - fetched (and reported) again by the resolver
            pass

    def client(self, refresh: bool) -> IndexClient | None:
        """The client, once made (None when making it failed or ``refresh`` differs)."""
        self._ready.wait()
        return self._client if refresh == self.refresh else None

    def close(self) -> None:
        """Wait for the page fetches, then close the client's connections."""
        self._pool.shutdown(wait=True)
        if self._client is not None:
            self._client.close()


def root_names(raw: RawWorkspace) -> list[str]:
    """The names the workspace's members and groups depend on directly (members left out)."""
    members = {canonical_name(str(m.project.get("name", ""))) for m in raw.members}
    found: dict[str, None] = {}
    for text in _requirement_texts(raw):
        match = _NAME.match(text)
        if match and canonical_name(match.group(1)) not in members:
            found[canonical_name(match.group(1))] = None
    return list(found)[:MAX_PAGES]


def _requirement_texts(raw: RawWorkspace) -> Iterable[str]:
    tables: list[Any] = [raw.root_data.get("dependency-groups")]
    for member in raw.members:
        project = member.project
        tables += [project.get("dependencies"), project.get("optional-dependencies"),
                   member.data.get("dependency-groups")]
    for table in tables:
        values = table.values() if isinstance(table, dict) else [table]
        for value in values:
            if isinstance(value, list):
                yield from (item for item in value if isinstance(item, str))
