"""The per-release JSON of an index that offers it, as PyPI does
(``GET {base}/pypi/{name}/{version}/json``): its ``vulnerabilities`` field lists the OSV
advisories of that release (``id``, ``aliases``, ``summary``, ``fixed_in``,
``withdrawn``), already matched by the index. ``pypm audit`` falls back to it when the
OSV service cannot be used; an index that does not answer it (a 404, no such field) makes
the fallback fail, never "no vulnerabilities".
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from packaging.version import InvalidVersion, Version

from pypm.advisories.model import Release, ServiceError, Vulnerability
from pypm.index.http import Unreachable, fetch, make_http_client, redact, uses_tls

if TYPE_CHECKING:
    import httpx

#: Releases asked at once.
THREADS = 8
SIMPLE = "/simple"


def json_api_base(index_url: str) -> str | None:
    """``https://pypi.org/simple/`` -> ``https://pypi.org/pypi``: where an index whose
    simple API ends in ``/simple/`` keeps its JSON API, as PyPI lays them out (None for
    any other index URL)."""
    trimmed = index_url.rstrip("/")
    return trimmed[: -len(SIMPLE)] + "/pypi" if trimmed.endswith(SIMPLE) else None


class PerReleaseJson:
    """Each release asked of the JSON API of the index it was locked from."""

    def __init__(self, bases: dict[Release, str]) -> None:
        self.bases = bases

    def describe(self) -> str:
        """``per-release JSON of BASE``."""
        return f"per-release JSON of {', '.join(sorted({redact(base) for base in self.bases.values()}))}"

    def lookup(self, releases: list[Release]) -> dict[Release, list[Vulnerability]]:
        """Ask for every release side by side; any that cannot be answered fails the lookup."""
        missing = [release for release in releases if release not in self.bases]
        if missing:
            raise ServiceError(f"{missing[0].name} {missing[0].version} was not locked from an index with a JSON API")
        client = make_http_client(expect_tls=uses_tls(self.bases[release] for release in releases))
        try:
            with ThreadPoolExecutor(THREADS) as pool:
                answers = list(pool.map(lambda release: self._release(client, release), releases))
        finally:
            client.close()
        return {release: hits for release, hits in zip(releases, answers, strict=True) if hits}

    def _release(self, client: httpx.Client, release: Release) -> list[Vulnerability]:
        base = self.bases[release]
        url = f"{base}/{quote(release.name)}/{quote(str(release.version))}/json"
        where = f"the index at {redact(base)}"
        try:
            reply = fetch(client, url, headers={"Accept": "application/json"})
        except Unreachable as exc:
            raise ServiceError(f"cannot reach {where}: {exc}") from None
        if reply.status_code == 404:
            raise ServiceError(f"{where} has no per-release JSON (HTTP 404 for {release.name} {release.version})")
        if reply.status_code != 200:
            raise ServiceError(f"{where} answered HTTP {reply.status_code} for {release.name} {release.version}")
        try:
            listed = json.loads(reply.content).get("vulnerabilities")
        except (ValueError, UnicodeDecodeError, AttributeError):
            listed = None
        if not isinstance(listed, list):
            raise ServiceError(f"{where} lists no vulnerabilities field for {release.name} {release.version}")
        return [found for entry in listed if (found := _vulnerability(entry, release)) is not None]


def _vulnerability(entry: Any, release: Release) -> Vulnerability | None:
    """One entry of the field (None for a withdrawn or unreadable one)."""
    if not isinstance(entry, dict) or not isinstance(entry.get("id"), str) or entry.get("withdrawn"):
        return None
    aliases = tuple(alias for alias in entry.get("aliases") or () if isinstance(alias, str))
    fixed = tuple(sorted({version for text in entry.get("fixed_in") or () if (version := _version(text)) is not None}))
    nearest = next((version for version in fixed if version > release.version), None)
    summary = entry.get("summary") if isinstance(entry.get("summary"), str) else ""
    return Vulnerability(entry["id"], aliases, summary or "", fixed, nearest)


def _version(text: Any) -> Version | None:
    try:
        return Version(text) if isinstance(text, str) else None
    except InvalidVersion:
        return None
