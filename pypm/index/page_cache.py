"""HTTP cache for index pages in the cache dir: fresh by Cache-Control max-age (``no-cache``:
never), a page sent without max-age for ``index-page-ttl`` seconds (RFC 9111's heuristic
freshness; the default is PyPI's own max-age), then revalidated with ETag / Last-Modified
(a 304 reuses the stored body). A page's lifetime is worked out when it is read: the
max-age its server sent, or the ``index-page-ttl`` of the run reading it (so a later run
that sets a shorter one sees pages stored under a longer one as stale). A 404 is recorded
too, so an offline run knows which index did not have a project; online, such a record
is never trusted (the project may have appeared since)."""

from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass
from pathlib import Path

from pypm.fsutil import atomic_write_bytes
from pypm.index.urls import strip_credentials
from pypm.store.layout import PAGES

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*(\d+)", re.IGNORECASE)


def _max_age(control: str) -> int | None:
    """The lifetime Cache-Control gives (0 for ``no-cache``), None when it gives none."""
    if "no-cache" in control.lower() or "no-store" in control.lower():
        return 0
    match = _MAX_AGE.search(control)
    return int(match.group(1)) if match else None


@dataclass
class CachedPage:
    """A stored page: body, content type, validators and when it stops being fresh."""

    url: str
    body: bytes
    content_type: str
    etag: str | None
    last_modified: str | None
    fresh_until: float
    missing: bool = False
    digest: str | None = None  # sha256 of the body, recorded with it
    final_url: str | None = None  # where a redirect ended (credentials removed), if it was elsewhere

    def base(self, url: str) -> str:
        """The URL the page's relative links are read against: where it was finally served
        from (after redirects), else ``url`` (the page's own, with any credentials)."""
        return self.final_url or url

    def body_digest(self) -> str:
        """sha256 of the body ("" for a recorded 404)."""
        if self.missing:
            return ""
        return self.digest or hashlib.sha256(self.body).hexdigest()

    def is_fresh(self) -> bool:
        """True while Cache-Control max-age says the page needs no revalidation."""
        return time.time() < self.fresh_until

    def validators(self) -> dict[str, str]:
        """Conditional request headers for revalidation."""
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers


class PageCache:
    """Index pages stored under ``<cache>/index-pages-v1/``, keyed by URL and Accept."""

    def __init__(self, cache_dir: Path | None, default_ttl: int = 0) -> None:
        self.root = cache_dir / PAGES if cache_dir is not None else None
        self.default_ttl = default_ttl

    def _paths(self, url: str) -> tuple[Path, Path] | None:
        if self.root is None:
            return None
        key = hashlib.sha256(url.encode()).hexdigest()
        base = self.root / key[:2] / key
        return base.with_suffix(".json"), base.with_suffix(".body")

    def get(self, url: str) -> CachedPage | None:
        """The stored page for ``url``, if any: a body that no longer hashes to the sha256
        recorded with it (cut short, damaged) counts as none."""
        paths = self._paths(url)
        if paths is None or not paths[0].is_file() or not paths[1].is_file():
            return None
        try:
            meta = json.loads(paths[0].read_text("utf-8"))
            body = paths[1].read_bytes()
            if isinstance(meta.get("sha256"), str) and hashlib.sha256(body).hexdigest() != meta["sha256"]:
                return None
            final_url = meta.get("final_url")
            return CachedPage(url, body, meta["content_type"], meta.get("etag"),
                              meta.get("last_modified"), self._fresh_until(meta),
                              bool(meta.get("missing", False)), meta.get("sha256"),
                              final_url if isinstance(final_url, str) else None)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None

    def _fresh_until(self, meta: dict[str, object]) -> float:
        """When the page recorded by ``meta`` stops being fresh: stored at + the server's
        max-age, or + this run's default for a page sent without one. A record without a
        time of storage (written by an older pypm) is stale."""
        stored_at = meta.get("stored_at")
        if not isinstance(stored_at, (int, float)):
            return 0.0
        max_age = meta.get("max_age")
        return float(stored_at) + (max_age if isinstance(max_age, int) else self.default_ttl)

    def fresh_digest(self, url: str) -> str | None:
        """The recorded body digest of the page stored for ``url`` while it is fresh
        (reads only the small record, not the body); None when stale, absent or a 404."""
        paths = self._paths(url)
        if paths is None:
            return None
        try:
            meta = json.loads(paths[0].read_bytes())
            fresh = time.time() < self._fresh_until(meta) and not meta.get("missing")
            digest = meta.get("sha256")
        except (OSError, ValueError, TypeError, AttributeError):
            return None
        return digest if fresh and isinstance(digest, str) else None

    def put(self, url: str, body: bytes, headers: dict[str, str], final_url: str | None = None) -> None:
        """Store a 200 response when the server allows caching (``final_url``: where
        redirects led, the base of its relative links)."""
        paths = self._paths(url)
        control = headers.get("cache-control", "")
        if paths is None or "no-store" in control.lower():
            return
        atomic_write_bytes(paths[1], body)
        self._write_meta(paths[0], headers, control, hashlib.sha256(body).hexdigest(), _moved(url, final_url))

    def put_missing(self, url: str) -> None:
        """Record that the index answered 404 for ``url`` (read only by offline runs)."""
        paths = self._paths(url)
        if paths is not None:
            atomic_write_bytes(paths[1], b"")
            atomic_write_bytes(paths[0], json.dumps({"content_type": "", "missing": True}).encode())

    def refresh(self, page: CachedPage, headers: dict[str, str], final_url: str | None = None) -> None:
        """Record a 304: new freshness (and validators, if sent; ``final_url``: where the
        revalidation's redirects led)."""
        paths = self._paths(page.url)
        if paths is not None:
            # the stored body's type stays: a 304 is about that body, and some servers send
            # a default Content-Type with it (text/html for a JSON page)
            merged = {"etag": page.etag or "", "last-modified": page.last_modified or "", **headers,
                      "content-type": page.content_type}
            moved = _moved(page.url, final_url) if final_url is not None else page.final_url
            self._write_meta(paths[0], merged, headers.get("cache-control", ""), page.body_digest(), moved)

    def _write_meta(self, path: Path, headers: dict[str, str], control: str, digest: str,
                    final_url: str | None = None) -> None:
        meta = {
            "content_type": headers.get("content-type", "text/html"),
            "etag": headers.get("etag") or None,
            "last_modified": headers.get("last-modified") or None,
            "stored_at": time.time(),
            "max_age": _max_age(control),
            "sha256": digest,
            **({"final_url": final_url} if final_url else {}),
        }
        atomic_write_bytes(path, json.dumps(meta).encode())


def _moved(url: str, final_url: str | None) -> str | None:
    """``final_url`` without credentials (it is written to disk) when a redirect led away
    from ``url``; None when the page was served where it was asked for."""
    if final_url is None:
        return None
    final = strip_credentials(final_url)
    return final if final != strip_credentials(url) else None
