"""``pypm doctor``'s network checks: the OpenSSL in use, TLS verification per https host,
and each index and find-links location answering (one GET each, in parallel, with pypm's
own HTTP client: its credentials, proxies and trust)."""

from __future__ import annotations

import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from pypm.index.tls import trust_source
from pypm.operations.doctor_model import CheckResult, Target, error_result

PROBE_TIMEOUT = 5.0  # seconds per index request


@dataclass
class _Probe:
    """What one GET of an index or find-links page found (the body is not read)."""

    url: str
    status: int = 0
    error: str = ""  # no answer: why
    tls: str = ""  # the TLS version negotiated (https)
    tls_error: str = ""  # the server's certificate (or the handshake) was refused: why
    seconds: float = 0.0


def check_openssl(target: Target) -> list[CheckResult]:
    """The OpenSSL pypm's Python uses, and the certificates pypm trusts."""
    try:
        import ssl
    except ImportError:
        return [CheckResult("openssl", "fail", "pypm's Python has no ssl module, so https indexes cannot be used",
                            "run pypm on a Python built with OpenSSL")]
    return [CheckResult("openssl", "ok", f"{ssl.OPENSSL_VERSION} (pypm's Python {sys.version.split()[0]}), trusting"
                                         f" {trust_source()}")]


def check_network(target: Target) -> list[CheckResult]:
    """Each index and find-links location answers (one GET each, in parallel, with pypm's
    HTTP client: its credentials, proxies and trust); TLS verifies for each https host."""
    from pypm.errors import PypmError

    settings = target.settings
    indexes = settings.index_base_urls
    links = settings.find_links
    from pypm.index.transport_policy import insecure_host_allowed

    allowed = list(settings["allow-insecure-host"])
    remote = [] if settings["offline"] else [u for u in (*indexes, *links) if u.startswith("https://") or (
        u.startswith("http://") and insecure_host_allowed(u, allowed))]  # never send credentials where pypm won't
    try:
        probes = _probe_all(list(dict.fromkeys(remote)))
    except PypmError as exc:  # e.g. a bad PYPM_HTTP_TIMEOUT
        return [error_result("index", exc)]
    offline = (f"not contacted: {settings.describe('offline')}" if settings["offline"]
               else "not contacted: plain http, which pypm refuses")
    tls = _tls_results({url: probes.get(url, _Probe(url)) for url in (*indexes, *links)
                        if url.startswith(("http://", "https://"))}, allowed)
    return [*tls, *(_location_result("index", url, probes, offline) for url in indexes),
            *(_location_result("find-links", entry, probes, offline) for entry in links)]


def _probe_all(urls: list[str]) -> dict[str, _Probe]:
    """GET every URL at once, each with a short timeout and no retries."""
    if not urls:
        return {}
    import httpx

    from pypm.index.auth import remember_url_credentials
    from pypm.index.http import make_http_client

    for url in urls:
        remember_url_credentials(url)
    client = make_http_client()
    client.timeout = httpx.Timeout(PROBE_TIMEOUT)
    with client, ThreadPoolExecutor(max_workers=min(8, len(urls))) as pool:
        return dict(zip(urls, pool.map(lambda url: _probe(client, url), urls), strict=True))


def _probe(client: Any, url: str) -> _Probe:
    """One GET of ``url``: the status (and TLS version) of the answer, or why none came."""
    import httpx

    from pypm.index.http import describe_error
    from pypm.index.pages import ACCEPT

    probe, began = _Probe(url), time.monotonic()
    try:
        with client.stream("GET", url, headers={"Accept": ACCEPT}) as response:
            probe.status, probe.tls = response.status_code, _tls_version(response)
    except httpx.TimeoutException:
        probe.error = f"no answer within {PROBE_TIMEOUT:g}s"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        probe.tls_error = _tls_refusal(exc)
        probe.error = f"TLS failed: {probe.tls_error}" if probe.tls_error else describe_error(exc)
    probe.seconds = time.monotonic() - began
    return probe


def _tls_version(response: Any) -> str:
    """The TLS version of the connection an answer came over ("" without TLS)."""
    stream = response.extensions.get("network_stream")
    ssl_object = stream.get_extra_info("ssl_object") if stream is not None else None
    return (ssl_object.version() or "") if ssl_object is not None else ""


def _tls_refusal(exc: BaseException) -> str:
    """Why TLS failed, when the request failed in TLS ("" for other failures)."""
    import ssl

    seen: BaseException | None = exc
    for _ in range(10):  # the exception chain httpx and httpcore build is short
        if seen is None:
            break
        if isinstance(seen, ssl.SSLCertVerificationError):
            return f"certificate verify failed: {seen.verify_message}"
        if isinstance(seen, ssl.SSLError):
            return seen.reason or str(seen)
        seen = seen.__cause__ or seen.__context__
    text = str(exc)
    return text.splitlines()[0] if "CERTIFICATE_VERIFY_FAILED" in text or text.startswith("[SSL") else ""


def _tls_results(probes: dict[str, _Probe], allowed: list[str]) -> list[CheckResult]:
    """One ``tls`` line per host: verified, refused, plain http (refused by pypm unless
    loopback or ``allowed``), or not reached."""
    from urllib.parse import urlsplit

    from pypm.index.transport_policy import insecure_host_allowed, is_loopback

    results, seen = [], set()
    for url, probe in probes.items():
        parts = urlsplit(url)
        where = f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)
        if (parts.scheme, where) in seen:
            continue
        seen.add((parts.scheme, where))
        if parts.scheme == "http":
            if is_loopback(parts.hostname or ""):
                results.append(CheckResult("tls", "info", f"{where}: plain http on this machine, no TLS"))
            elif insecure_host_allowed(url, allowed):
                results.append(CheckResult("tls", "warn", f"{where}: plain http (allow-insecure-host): pages and files"
                                           " travel unencrypted and unverified", "use the index's https:// URL"))
            else:
                results.append(CheckResult("tls", "fail", f"{where}: plain http, which pypm refuses",
                                           f"use the https:// URL, or add {parts.hostname} to allow-insecure-host"))
        elif probe.tls_error:
            results.append(CheckResult("tls", "fail", f"{where}: {probe.tls_error}",
                                       f"pypm trusts {trust_source()}; behind a proxy or a private CA, set"
                                       " SSL_CERT_FILE to a bundle holding its certificate"))
        elif probe.tls:
            results.append(CheckResult("tls", "ok", f"{where}: certificate verified ({probe.tls})"))
        else:
            results.append(CheckResult("tls", "info", f"{where}: not checked: {probe.error or 'no TLS connection'}"))
    return results


def _location_result(check: str, entry: str, probes: dict[str, _Probe], offline: str) -> CheckResult:
    """The line of one index URL or find-links entry (credentials never shown)."""
    from pypm.config import expanded_path
    from pypm.errors import ConfigError
    from pypm.index.file_facts import local_path
    from pypm.index.http import redact

    shown = redact(entry)
    if entry.startswith(("http://", "https://")):
        probe = probes.get(entry)
        return _answer_result(check, shown, probe) if probe is not None else CheckResult(check, "info",
                                                                                           f"{shown}: {offline}")
    try:  # ~ and ~user expanded, as the index client reads a find-links path
        directory = local_path(entry) if entry.startswith("file:") else expanded_path(entry, check)
    except ConfigError as error:
        return error_result(check, error)
    if directory.is_dir():
        return CheckResult(check, "ok", f"{shown}: a local directory")
    return CheckResult(check, "fail", f"{shown}: {directory} is not a directory", f"check the {check} setting")


def _answer_result(check: str, shown: str, probe: _Probe) -> CheckResult:
    """The line for what a probe of ``shown`` found."""
    if probe.error:
        return CheckResult(check, "fail", f"{shown} cannot be reached: {probe.error}",
                           f"check the {check} setting, your network and proxy (HTTPS_PROXY)")
    took = f"HTTP {probe.status} in {probe.seconds:.2f}s"
    if probe.status < 400:
        return CheckResult(check, "ok", f"{shown} answers ({took})")
    if probe.status in (401, 403):
        return CheckResult(check, "fail", f"{shown} refuses pypm ({took}): credentials are missing or wrong",
                           "give them in the URL (user:password@), ~/.netrc or keyring")
    if probe.status == 404 and check == "index":
        return CheckResult(check, "warn", f"{shown} has no page at its root ({took}); project pages may still work",
                           "check that the URL is the index's simple/ root")
    return CheckResult(check, "fail", f"{shown} answered {took}", f"check the {check} setting")
