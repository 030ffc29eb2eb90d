"""Credentials known for index hosts, kept in memory only (import-light: no httpx)."""

from __future__ import annotations

import threading
from urllib.parse import unquote, urlsplit

_known: dict[str, tuple[str, str]] = {}
_guard = threading.Lock()


def remember_url_credentials(url: str) -> None:
    """Record ``user:password`` from an index URL for its host."""
    parts = urlsplit(url)
    if parts.username is not None and parts.hostname:
        remember(parts.hostname, (unquote(parts.username), unquote(parts.password or "")))


def remember(host: str, credentials: tuple[str, str]) -> None:
    """Record credentials for ``host``."""
    with _guard:
        _known[host] = credentials


def known_credentials(host: str) -> tuple[str, str] | None:
    """Credentials recorded for ``host``, if any."""
    with _guard:
        return _known.get(host)
