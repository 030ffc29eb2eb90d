"""The OSV service (https://google.github.io/osv.dev/api/): ``POST /v1/querybatch`` with
every release (at most :data:`BATCH_SIZE` a request, following ``next_page_token``), which
answers advisory ids only, then ``GET /v1/vulns/{id}`` for each id once, side by side.

The base URL is ``https://api.osv.dev``, or ``PYPM_OSV_URL`` (a mirror, a test server).
The service matches the versions (it knows more than the records, e.g. commits); the
records give the aliases and the fixed versions. No answer, an HTTP error or an answer
that is not the API's shape is one :class:`ServiceError`, never "no vulnerabilities".
"""

from __future__ import annotations

import json
import os
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from pypm.advisories.matching import vulnerability
from pypm.advisories.model import PYPI, Advisory, AdvisoryError, Release, ServiceError, Vulnerability, parse_advisory
from pypm.index.http import Unreachable, fetch, make_http_client, redact, uses_tls

if TYPE_CHECKING:
    import httpx

    from pypm.index.http import Reply

URL_ENV = "PYPM_OSV_URL"
DEFAULT_URL = "https://api.osv.dev"
#: The most queries the service takes in one querybatch request.
BATCH_SIZE = 1000
#: Rounds of ``next_page_token`` followed before the answer is called unusable.
MAX_PAGES = 100
#: Advisory records fetched at once.
DETAIL_THREADS = 8
HINT = f"check the network, set {URL_ENV} to a reachable OSV mirror, or audit offline with --db PATH"


def service_url() -> str:
    """``PYPM_OSV_URL`` (without a trailing ``/``), else https://api.osv.dev."""
    url = os.environ.get(URL_ENV, "").strip() or DEFAULT_URL
    if not url.startswith(("http://", "https://")):
        raise AdvisoryError(f"{URL_ENV} must be an http(s) URL, not {redact(url)!r}",
                            hint=f"e.g. {URL_ENV}={DEFAULT_URL}, or unset it")
    return url.rstrip("/")


class OsvService:
    """The OSV API at one base URL."""

    def __init__(self, base: str | None = None) -> None:
        self.base = base or service_url()

    def describe(self) -> str:
        """``OSV service URL``."""
        return f"OSV service {redact(self.base)}"

    def lookup(self, releases: list[Release]) -> dict[Release, list[Vulnerability]]:
        """Ask for every release, then fetch each advisory found once."""
        client = make_http_client(expect_tls=uses_tls([self.base]))  # every request is under the base
        try:
            ids = self._query_all(client, releases)
            unique = sorted({advisory_id for found in ids.values() for advisory_id in found})
            with ThreadPoolExecutor(DETAIL_THREADS) as pool:
                records = dict(zip(unique, pool.map(lambda i: self._record(client, i), unique), strict=True))
        finally:
            client.close()
        return {release: hits for release, found in ids.items()
                if (hits := [vulnerability(records[i], release) for i in found if not records[i].withdrawn])}

    def _query_all(self, client: httpx.Client, releases: list[Release]) -> dict[Release, list[str]]:
        """Each release's advisory ids, in batches, following page tokens."""
        ids: dict[Release, list[str]] = {release: [] for release in releases}
        pending: list[tuple[Release, str | None]] = [(release, None) for release in releases]
        for _round in range(MAX_PAGES):
            if not pending:
                return ids
            more: list[tuple[Release, str | None]] = []
            for start in range(0, len(pending), BATCH_SIZE):
                batch = pending[start:start + BATCH_SIZE]
                for (release, _token), result in zip(batch, self._query(client, batch), strict=True):
                    ids[release].extend(i for i in result[0] if i not in ids[release])
                    if result[1]:
                        more.append((release, result[1]))
            pending = more
        raise self._error(f"kept sending next_page_token after {MAX_PAGES} pages")

    def _query(self, client: httpx.Client, batch: list[tuple[Release, str | None]]) -> list[tuple[list[str], str]]:
        """One querybatch request: per query, its ids and its next page token ("" when none)."""
        queries = [{"package": {"name": release.name, "ecosystem": PYPI}, "version": str(release.version),
                    **({"page_token": token} if token else {})} for release, token in batch]
        body = json.dumps({"queries": queries}).encode()
        answer = self._json(_post(client, f"{self.base}/v1/querybatch", body), "querybatch")
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list) or len(results) != len(batch):
            raise self._error("answered querybatch without one result per query")
        return [self._result(result) for result in results]

    def _result(self, result: Any) -> tuple[list[str], str]:
        if not isinstance(result, dict):
            raise self._error("answered querybatch with a result that is not an object")
        vulns, token = result.get("vulns", []), result.get("next_page_token") or ""
        if not isinstance(vulns, list) or not isinstance(token, str) or not all(
                isinstance(v, dict) and isinstance(v.get("id"), str) and v["id"] for v in vulns):
            raise self._error("answered querybatch with vulns that are not a list of ids")
        return [v["id"] for v in vulns], token

    def _record(self, client: httpx.Client, advisory_id: str) -> Advisory:
        """``GET /v1/vulns/{id}``, parsed."""
        url = f"{self.base}/v1/vulns/{quote(advisory_id, safe='')}"
        answer = self._json(_get(client, url), f"vulns/{advisory_id}")
        try:
            return parse_advisory(answer, f"{self.describe()}: {advisory_id}")
        except AdvisoryError as exc:
            raise self._error(f"answered vulns/{advisory_id} with a record that is not OSV ({exc.message})") from None

    def _json(self, reply: Reply | Unreachable, what: str) -> Any:
        if isinstance(reply, Unreachable):
            raise ServiceError(f"cannot reach the {self.describe()}: {reply}", hint=HINT)
        if reply.status_code != 200:
            raise self._error(f"answered {what} with HTTP {reply.status_code}")
        try:
            return json.loads(reply.content)
        except (ValueError, UnicodeDecodeError):
            raise self._error(f"answered {what} with something that is not JSON") from None

    def _error(self, problem: str) -> ServiceError:
        return ServiceError(f"the {self.describe()} {problem}", hint=HINT)


def _get(client: httpx.Client, url: str) -> Reply | Unreachable:
    try:
        return fetch(client, url, headers={"Accept": "application/json"})
    except Unreachable as exc:
        return exc


def _post(client: httpx.Client, url: str, body: bytes) -> Reply | Unreachable:
    """POST ``body`` as JSON, with :func:`fetch`'s retries (querybatch only reads)."""
    try:
        return fetch(client, url, method="POST", content=body,
                     headers={"Accept": "application/json", "Content-Type": "application/json"})
    except Unreachable as exc:
        return exc
