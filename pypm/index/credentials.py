"""Credentials known for index locations, kept in memory only (import-light: no httpx).

Credentials apply to their origin (scheme, host, port) and below a URL path prefix, as
uv's credentials cache (realm + URL prefix) and its index "root URL" do: an index URL's
prefix is its path without a last ``simple/`` (or devpi's ``+simple/``) segment, so that
the files the index serves next to it (``<root>/files/...``) get them too. Where several
prefixes match a request, the longest wins; credentials given for ``https://host`` are
never sent to ``http://host`` or to another port."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import unquote, urlsplit

#: (scheme, host, port) of a URL: the origin credentials are bound to
Origin = tuple[str, str, int]

_DEFAULT_PORTS = {"http": 80, "https": 443}

_known: dict[Origin, dict[str, tuple[str, str]]] = {}
_configured: set[tuple[str, str]] = set()  # (scheme, host) of every index and find-links location
_guard = threading.Lock()


def origin_of(url: str) -> Origin | None:
    """The (scheme, host, port) of ``url``; None when it has no host or a bad port."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    try:
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        return None
    return (scheme, parts.hostname, port) if parts.hostname else None


def auth_prefix(url: str) -> str:
    """The path under which ``url``'s credentials apply: its directory, without a last
    ``simple`` or ``+simple`` segment (uv's index root URL)."""
    path = urlsplit(url).path or "/"
    if not path.endswith("/"):
        head, _, last = path.rpartition("/")
        path = f"{head}/" if "." in last else f"{path}/"
    head, _, last = path[:-1].rpartition("/")
    if last.lower() in ("simple", "+simple"):
        return f"{head}/"
    return path


def remember_url_credentials(url: str) -> None:
    """Record an index or find-links location: its ``user:password`` (if any) for its
    origin and path prefix, and its scheme and host for netrc (:func:`netrc_allowed`)."""
    parts = urlsplit(url)
    if parts.hostname:
        with _guard:
            _configured.add((parts.scheme.lower(), parts.hostname))
    if parts.username is not None:
        remember(url, (unquote(parts.username), unquote(parts.password or "")), auth_prefix(url))


def remember_settings_credentials(settings: Any) -> None:
    """:func:`remember_url_credentials` for every index and find-links URL of ``settings``:
    what installs locked files (a sync, a bundle) carries no credentials in those URLs, as
    the lock never records them."""
    for url in [*settings.index_urls, *settings.find_links]:
        remember_url_credentials(url)


def remember(url: str, credentials: tuple[str, str], prefix: str = "/") -> None:
    """Record credentials for ``url``'s origin, for paths under ``prefix``."""
    origin = origin_of(url)
    if origin is not None:
        with _guard:
            _known.setdefault(origin, {})[prefix] = credentials


def known_credentials(url: str) -> tuple[str, str] | None:
    """Credentials recorded for the longest path prefix of ``url`` on its origin, if any."""
    origin = origin_of(url)
    with _guard:
        entries = _known.get(origin) if origin is not None else None
        if not entries:
            return None
        path = urlsplit(url).path or "/"
        matching = [prefix for prefix in entries if path.startswith(prefix)]
        return entries[max(matching, key=len)] if matching else None


def origin_credentials(url: str) -> tuple[str, str] | None:
    """The one set of credentials recorded for ``url``'s origin, whatever the path; None
    when there is none or several (which one a path outside every prefix needs is then
    unknown). Used after a 401, 403 or 404, as uv falls back to its realm's credentials."""
    origin = origin_of(url)
    with _guard:
        found = set((_known.get(origin) or {}).values()) if origin is not None else set()
    return found.pop() if len(found) == 1 else None


def netrc_allowed(url: str) -> bool:
    """May netrc credentials (which name a host only) be sent to ``url``? Over https,
    yes; over plain http only to a host an index or find-links location names with
    ``http://`` itself (the user chose cleartext for that host)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "https":
        return True
    with _guard:
        return (scheme, parts.hostname or "") in _configured
