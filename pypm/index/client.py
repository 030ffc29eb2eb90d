"""The index client: fetches project pages from indexes and find-links, and metadata.

With the ``offline`` setting it reads only the cache and local (``file:``) locations: index
pages as last stored (a 404 is stored too), core metadata by file hash, and the sizes and
hashes learned before; what is not there is one error naming it (as uv's ``--offline``)."""

from __future__ import annotations

import contextlib
import hashlib
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name

from pypm.config import Settings, expanded_path
from pypm.errors import IndexClientError
from pypm.fsutil import file_sha256
from pypm.index.credentials import remember_settings_credentials
from pypm.index.file_facts import FileFacts, FileFactsCache, local_facts, local_path
from pypm.index.links import FileLink
from pypm.index.metadata import DistMetadata, checked_metadata
from pypm.index.metadata_cache import MetadataCache
from pypm.index.page_cache import CachedPage, PageCache
from pypm.index.pages import ACCEPT, parse_html_page, parse_page
from pypm.index.transport_policy import check_transport
from pypm.index.urls import redact, strip_credentials, uses_tls, with_credentials

if TYPE_CHECKING:
    from types import ModuleType

    import httpx

    from pypm.index.http import Reply

#: One thread at a time imports the HTTP stack (the first request may come from any of the
#: resolver's threads): two threads importing httpx's modules at once can make CPython's
#: import locks report a deadlock.
_HTTP_IMPORT = threading.Lock()


def _http_stack() -> ModuleType:
    """:mod:`pypm.index.http` (with httpx), imported on the first request."""
    with _HTTP_IMPORT:
        from pypm.index import http, lazy_wheel  # noqa: F401 - lazy_wheel: imported here, once

        return http


def _offline_hint(settings: Settings) -> str:
    """What to do about a file or page an offline run lacks, naming where ``offline`` was set."""
    return f"run it once online first; {settings.describe('offline')}"


class IndexClient:
    """Looks projects up on the configured indexes (first index with the project wins)
    and find-links locations, and fetches core metadata, caching it by file hash."""

    def __init__(self, settings: Settings, cache_dir: Path | None = None, refresh: bool = False,
                 refresh_packages: frozenset[str] = frozenset()) -> None:
        self.index_urls = settings.index_base_urls
        self.find_links = settings.find_links
        self._find_links_source = settings.describe("find-links")
        self.allowed_insecure = list(settings["allow-insecure-host"])
        for url in self.index_urls:
            check_transport(url, self.allowed_insecure, "index")
        for url in self.find_links:
            check_transport(url, self.allowed_insecure, "find-links page")
        remember_settings_credentials(settings)
        self.cache_dir = cache_dir
        self.refresh = refresh
        self.refresh_packages = frozenset(canonicalize_name(name) for name in refresh_packages)
        self.offline = bool(settings["offline"])
        self.offline_hint = _offline_hint(settings)
        self.pages = PageCache(cache_dir, settings["index-page-ttl"])
        self.facts = FileFactsCache(cache_dir)
        self.stored_metadata = MetadataCache(cache_dir)
        self._http: httpx.Client | None = None  # made on the first request (see :attr:`http`)
        self._http_guard = threading.Lock()
        self._pages: dict[NormalizedName, list[FileLink]] = {}
        self._page_locks: dict[NormalizedName, threading.Lock] = {}
        self._metadata: dict[str, DistMetadata] = {}
        self._metadata_locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._flat_links: list[FileLink] | None = None
        #: page URL (without credentials) -> sha256 of the body each project page had when
        #: read ("" for a 404): what a remembered resolution depends on (pypm.lock.memo)
        self.consulted: dict[str, str] = {}
        #: False once a page came from somewhere without a stored copy to compare later
        #: (a ``file:`` index, find-links)
        self.memoizable = not self.find_links

    @classmethod
    def for_urls(
        cls, index_urls: list[str], find_links: list[str] | None = None, cache_dir: Path | None = None,
        offline: bool = False,
    ) -> IndexClient:
        """A client for explicit index URLs (no settings needed)."""
        values = {"index-url": index_urls[0], "extra-index-url": index_urls[1:], "find-links": find_links or [],
                  "offline": offline}
        return cls(Settings(values), cache_dir)

    @property
    def http(self) -> httpx.Client:
        """The HTTP client, made (and httpx imported: ~0.1 s) on the first request: a lock
        answered from fresh cached pages and metadata never needs one."""
        with self._http_guard:
            if self._http is None:
                self._http = _http_stack().make_http_client(expect_tls=uses_tls([*self.index_urls, *self.find_links]))
            return self._http

    def close(self) -> None:
        """Close the HTTP connections (if any were made)."""
        with self._http_guard:
            if self._http is not None:
                self._http.close()

    def forget(self) -> None:
        """Drop the pages and metadata read so far (a resolution that is over needs them no
        more; for a 200-package lock they are tens of megabytes): what was consulted stays."""
        self._pages.clear()
        self._metadata.clear()
        self._flat_links = None

    def project_files(self, name: NormalizedName) -> list[FileLink]:
        """Every file for ``name``: from the first index that knows it, plus find-links."""
        with self._guard:
            lock = self._page_locks.setdefault(name, threading.Lock())
        with lock:
            if name not in self._pages:
                links = self._from_indexes(name)
                links.extend(link for link in self._find_links() if _link_name(link) == name)
                self._pages[name] = links
            return self._pages[name]

    def _from_indexes(self, name: NormalizedName) -> list[FileLink]:
        for index_url in self.index_urls:
            links = self._fetch_page(index_url, name)
            if links is not None:
                return links
        return []

    def _fetch_page(self, index_url: str, name: NormalizedName) -> list[FileLink] | None:
        page_url = f"{index_url}{name}/"
        if page_url.startswith("file:"):
            self.memoizable = False
            return _read_file_page(page_url, index_url)
        cached = self.pages.get(page_url)
        if self.offline:
            links = _offline_page(cached, page_url, index_url, name, self.offline_hint)
            self.consulted[strip_credentials(page_url)] = "" if cached is None else cached.body_digest()
            return links
        if cached is not None and cached.missing:
            cached = None  # a 404 is remembered for offline runs only
        if cached is not None and cached.is_fresh() and not self._must_revalidate(name):
            self.consulted[strip_credentials(page_url)] = cached.body_digest()
            return parse_page(cached.body, cached.content_type, cached.base(page_url), index_url)
        response = self._get_page(page_url, index_url, cached)
        if response.status_code == 304 and cached is not None:
            self.pages.refresh(cached, dict(response.headers), response.url)
            self.consulted[strip_credentials(page_url)] = cached.body_digest()
            return parse_page(cached.body, cached.content_type, response.url, index_url)  # where it is now
        if response.status_code == 404:
            self.pages.put_missing(page_url)
            self.consulted[strip_credentials(page_url)] = ""
            return None
        if response.status_code >= 400:
            raise IndexClientError(
                f"the index {redact(index_url)} answered HTTP {response.status_code} for {name!r}",
                hint=_status_hint(response),
            )
        content_type = response.headers.get("Content-Type", "text/html")
        links = parse_page(response.content, content_type, str(response.url), index_url)
        self.pages.put(page_url, response.content, dict(response.headers), response.url)
        self.consulted[strip_credentials(page_url)] = hashlib.sha256(response.content).hexdigest()
        return links

    def _get_page(self, page_url: str, index_url: str, cached: CachedPage | None) -> Reply:
        """GET a project page, conditional on the stored copy's validators."""
        http = _http_stack()
        headers = {"Accept": ACCEPT, **(cached.validators() if cached is not None else {})}
        try:
            response = http.fetch(self.http, page_url, headers=headers)
        except http.Unreachable as exc:
            raise IndexClientError(
                f"cannot reach the index {redact(index_url)}: {exc}",
                hint="check index-url and your network",
            ) from None
        check_transport(response.url, self.allowed_insecure, f"index page (redirected from {redact(page_url)})")
        return response

    def current_digests(self, page_urls: list[str]) -> dict[str, str]:
        """Each page's (URL as in :attr:`consulted`) body digest as the index has it now ("" for a 404), revalidating
        the stored copies in parallel (a 304 refreshes them); pages that cannot be
        checked (an error, offline without a copy) are left out."""
        from concurrent.futures import ThreadPoolExecutor

        def current(page_url: str) -> tuple[str, str | None]:
            cached = self.pages.get(page_url)
            if self.offline:
                return page_url, None if cached is None else cached.body_digest()
            if cached is not None and cached.missing:
                cached = None
            try:
                response = self._get_page(page_url, page_url, cached)
            except IndexClientError:
                return page_url, None
            if response.status_code == 304 and cached is not None:
                self.pages.refresh(cached, dict(response.headers), response.url)
                return page_url, cached.body_digest()
            if response.status_code == 404:
                self.pages.put_missing(page_url)
                return page_url, ""
            if response.status_code >= 400:
                return page_url, None
            self.pages.put(page_url, response.content, dict(response.headers), response.url)
            return page_url, hashlib.sha256(response.content).hexdigest()

        real = {with_credentials(url, self.index_urls): url for url in page_urls}
        with ThreadPoolExecutor(max_workers=min(16, max(1, len(page_urls)))) as pool:
            found = dict(pool.map(current, real))
        return {real[url]: digest for url, digest in found.items() if digest is not None}

    def answers_locally(self, name: NormalizedName) -> bool:
        """True when :meth:`project_files` answers ``name`` without a request: read
        already, offline, or the first index's stored page fresh (with no find-links
        locations to read and no refresh asked for it)."""
        if name in self._pages or self.offline:
            return True
        if self.find_links or not self.index_urls or self._must_revalidate(name):
            return False
        page_url = f"{self.index_urls[0]}{name}/"
        return page_url.startswith("file:") or self.pages.fresh_digest(page_url) is not None

    def _must_revalidate(self, name: NormalizedName) -> bool:
        return self.refresh or name in self.refresh_packages

    def _find_links(self) -> list[FileLink]:
        if self._flat_links is None:
            links: list[FileLink] = []
            for location in self.find_links:
                links.extend(self._read_find_links(location))
            self._flat_links = links
        return self._flat_links

    def _read_find_links(self, location: str) -> list[FileLink]:
        if location.startswith(("http://", "https://")):
            return self._find_links_page(location)
        # ~ and ~user expanded, as pip reads a find-links path and pypm reads cache-dir
        directory = local_path(location) if location.startswith("file:") else expanded_path(location, "find-links")
        if not directory.is_dir():
            raise IndexClientError(f"find-links location {location} is not a directory or URL",
                                   hint=f"it comes from {self._find_links_source}")
        return [
            FileLink(filename=p.name, url=p.resolve().as_uri(), index_url=location,
                     sha256=file_sha256(p), size=p.stat().st_size)
            for p in sorted(directory.iterdir())
            if p.name.endswith((".whl", ".tar.gz", ".zip"))
        ]

    def _find_links_page(self, location: str) -> list[FileLink]:
        """A find-links HTML page: fetched and stored, or (offline) as last stored."""
        if self.offline:
            cached = self.pages.get(location)
            if cached is None or cached.missing:
                raise IndexClientError(f"offline, and the find-links page {redact(location)} is not in the cache",
                                       hint=self.offline_hint)
            return parse_html_page(cached.body.decode("utf-8", "replace"), cached.base(location), location)
        http = _http_stack()
        try:
            response = http.fetch(self.http, location)
        except http.Unreachable as exc:
            raise IndexClientError(f"cannot read find-links page {redact(location)}: {exc}") from None
        check_transport(response.url, self.allowed_insecure, f"find-links page (redirected from {redact(location)})")
        if response.status_code >= 400:
            raise IndexClientError(
                f"cannot read find-links page {redact(location)}: HTTP {response.status_code}",
                hint=_status_hint(response),
            )
        self.pages.put(location, response.content, dict(response.headers), response.url)
        return parse_html_page(response.content.decode("utf-8", "replace"), response.url, location)

    def fill_sizes(self, resolution: Any) -> None:
        """Complete missing sizes (HEAD) and hashes (download) of locked wheels, in parallel."""
        from concurrent.futures import ThreadPoolExecutor

        todo = [
            (package, index)
            for package in resolution.entries
            for index, link in enumerate(package.files)
            if link.size is None or not link.sha256
        ]
        if not todo:
            return
        with ThreadPoolExecutor(8) as pool:
            completed = list(pool.map(lambda item: self._complete(item[0].files[item[1]]), todo))
        for (package, index), link in zip(todo, completed, strict=True):
            package.files[index] = link

    def _complete(self, link: FileLink) -> FileLink:
        """The link with its size and sha256: read from a local file, recalled from the
        cache, or asked of the server (HEAD for the size, a download for the hash)."""
        from dataclasses import replace

        if link.url.startswith("file:"):
            facts = local_facts(link.url, link.filename)
        else:
            facts = self.facts.get(link.url)
            # recalled facts hold for the hash the page gives; with no hash, only offline
            if facts is None or facts.sha256 != (link.sha256 or (facts.sha256 if self.offline else None)):
                facts = self._learn_facts(link)
                self.facts.put(link.url, facts)
        if link.sha256 and facts.sha256 != link.sha256:
            raise IndexClientError(f"{link.filename}: sha256 does not match the index's hash",
                                   hint="the file changed on the index; retry with --refresh")
        return replace(link, size=facts.size, sha256=facts.sha256)

    def _learn_facts(self, link: FileLink) -> FileFacts:
        """Size (and sha256) of a file from its server: with the page's hash, a HEAD's
        Content-Length; where HEAD is refused or gives none, a one-byte range's total
        (``Content-Range``); else, and for a file the page gives no hash for, a download."""
        if self.offline:
            raise IndexClientError(f"offline, and the size of {link.filename} is not in the cache",
                                   hint=self.offline_hint)
        http = _http_stack()
        try:
            if link.sha256:
                response = http.fetch(self.http, link.url, method="HEAD", headers=http.IDENTITY)
                size = _content_length(response) if response.status_code < 400 else None
                if size is not None:
                    return FileFacts(size, link.sha256)
                response = http.fetch(self.http, link.url, headers={**http.IDENTITY, "Range": "bytes=0-0"}, raw=True)
                total = _range_total(response) if response.status_code == 206 else None
                if total is not None:
                    return FileFacts(total, link.sha256)
            if not link.sha256 or response.status_code != 200:  # else the range was ignored: the whole file came
                response = http.fetch(self.http, link.url, headers=http.IDENTITY, raw=True)
        except http.Unreachable as exc:
            raise IndexClientError(f"cannot read size of {link.filename}: {exc}") from None
        _raise_for_status(response, f"cannot download {link.filename}")
        return FileFacts(len(response.content), hashlib.sha256(response.content).hexdigest())

    def metadata(self, link: FileLink) -> DistMetadata:
        """Core metadata of a wheel: PEP 658 file, else range requests, else download.
        Threads asking for the same file at once (the resolver and its prefetch) share
        one fetch, so one that is being retried is not fetched twice."""
        with self._guard:
            lock = self._metadata_locks.setdefault(link.url, threading.Lock())
        with lock:
            if link.url not in self._metadata:
                self._metadata[link.url] = self._load_metadata(link)
            return self._metadata[link.url]

    def knows_facts(self, link: FileLink) -> bool:
        """True when the lock can record this file's size and hash without the network."""
        if link.url.startswith("file:") or (link.size is not None and link.sha256):
            return True
        facts = self.facts.get(link.url)
        return facts is not None and (not link.sha256 or facts.sha256 == link.sha256)

    def has_metadata(self, link: FileLink) -> bool:
        """True when this wheel's metadata can be read without the network."""
        return (link.url.startswith("file:") or link.url in self._metadata
                or self.stored_metadata.has(link, offline=self.offline))

    def _load_metadata(self, link: FileLink) -> DistMetadata:
        """The wheel's metadata: as stored (when it still reads and checks), else fetched,
        parsed and checked against the file name, and only then stored."""
        stored = self.stored_metadata.get(link)
        if stored is not None:
            try:
                return checked_metadata(stored, link.filename)
            except IndexClientError:
                self.stored_metadata.drop(link)  # it no longer checks: fetched again
        if self.offline and not link.url.startswith("file:"):
            legacy = self.stored_metadata.get_legacy(link)  # an earlier pypm's: better than nothing offline
            if legacy is not None:
                with contextlib.suppress(IndexClientError):
                    return checked_metadata(legacy, link.filename)
            raise IndexClientError(f"offline, and the metadata of {link.filename} is not in the cache",
                                   hint=self.offline_hint)
        data = self._fetch_metadata_bytes(link)
        metadata = checked_metadata(data, link.filename)
        self.stored_metadata.put(link, data)
        return metadata

    def _fetch_metadata_bytes(self, link: FileLink) -> bytes:
        if link.url.startswith("file:"):  # a local wheel: read here, without the HTTP stack
            from pypm.index.metadata import metadata_from_wheel

            with open(local_path(link.url), "rb") as handle:
                return metadata_from_wheel(handle, link.filename)
        http = _http_stack()
        from pypm.index.lazy_wheel import fetch_wheel_metadata

        try:
            if link.metadata is not None:
                response = http.fetch(self.http, link.url + ".metadata", headers=http.IDENTITY, raw=True)
                if response.status_code == 200:
                    _check_hash(response.content, link.metadata, link.filename + ".metadata")
                    return response.content
            return fetch_wheel_metadata(self.http, link.url, link.filename)
        except http.Unreachable as exc:
            raise IndexClientError(f"cannot fetch metadata of {link.filename}: {exc}",
                                   hint="the index did not answer; run the command again") from None


def _link_name(link: FileLink) -> str | None:
    parsed = link.parsed
    return parsed[0] if parsed else None


def _offline_page(cached: CachedPage | None, page_url: str, index_url: str,
                  name: NormalizedName, offline_hint: str) -> list[FileLink] | None:
    """A project page as last stored (None: the index had no such project then)."""
    if cached is None:
        raise IndexClientError(f"offline, and the index page of {name!r} is not in the cache",
                               hint=f"{redact(index_url)} was not read for it yet; {offline_hint}")
    if cached.missing:
        return None
    return parse_page(cached.body, cached.content_type, cached.base(page_url), index_url)


def _read_file_page(page_url: str, index_url: str) -> list[FileLink] | None:
    """A project page of a local PEP 503 tree: ``<index>/<name>/index.html`` (None when
    the project has no directory there)."""
    page = local_path(page_url) / "index.html"
    if not page.is_file():
        return None
    try:
        text = page.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else exc.strerror or str(exc)
        raise IndexClientError(f"cannot read the index page {page}: {reason}") from None
    return parse_html_page(text, page.as_uri(), index_url)


def _content_length(response: Reply) -> int | None:
    """The Content-Length of an answer, None when absent or not a number."""
    value = response.headers.get("Content-Length", "")
    return int(value) if value.isdigit() else None


def _range_total(response: Reply) -> int | None:
    """The whole file's size a 206 gives in ``Content-Range: bytes 0-0/TOTAL`` (None: ``*``)."""
    from pypm.index.lazy_wheel import content_range

    return content_range(response)[1]


def _check_hash(data: bytes, expected: str, what: str) -> None:
    if expected and hashlib.sha256(data).hexdigest() != expected:
        raise IndexClientError(f"{what}: sha256 does not match the index's hash", hint="retry with --refresh")


def _raise_for_status(response: Reply, what: str) -> None:
    if response.status_code >= 400:
        raise IndexClientError(f"{what}: HTTP {response.status_code} from {redact(response.url)}",
                               hint=_status_hint(response))


def _status_hint(response: Reply) -> str | None:
    """What to do about an error status (a transient one was already retried)."""
    from pypm.index.retry import DEFAULT_POLICY, is_transient_status

    if is_transient_status(response.status_code):
        return f"still failing after {DEFAULT_POLICY.attempts} tries; the index may be down or throttling, try later"
    if response.status_code in (401, 403):
        return "check the index credentials (URL, netrc or keyring)"
    return None

