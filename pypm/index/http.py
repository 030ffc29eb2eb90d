"""pypm's HTTP client and its retrying request: one place for the user agent, timeouts,
connection limits, HTTP/2, index credentials and the retry loop (see
:mod:`pypm.index.retry` for the policy; credentials in URLs: :mod:`pypm.index.urls`)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import httpx

from pypm import __version__, ui
from pypm.errors import ConfigError
from pypm.index.auth import IndexAuth
from pypm.index.retry import DEFAULT_POLICY, RetryPolicy, is_transient_status
from pypm.index.urls import redact, redact_text, uses_tls

#: Seconds without a byte before a request is given up (and retried): a stalled
#: connection is detected by this read timeout. Like uv's ``UV_HTTP_TIMEOUT``.
TIMEOUT_ENV = "PYPM_HTTP_TIMEOUT"
DEFAULT_TIMEOUT = 30.0
CONNECT_TIMEOUT = 10.0
LIMITS = httpx.Limits(max_connections=16, max_keepalive_connections=16)

#: Downloads and range requests ask for the bytes as stored: offsets and hashes are
#: about the file, not a compressed rendering of it (pip does the same).
IDENTITY = {"Accept-Encoding": "identity"}



def http_timeout() -> float:
    """The read timeout in seconds: ``PYPM_HTTP_TIMEOUT`` if set, else 30."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{TIMEOUT_ENV} must be a positive number of seconds, not {raw!r}",
                          hint=f"e.g. {TIMEOUT_ENV}=30, or unset it")
    return value


def make_http_client(http2: bool = True, expect_tls: bool = True) -> httpx.Client:
    """An httpx client with pypm's user agent, timeouts, connection limits, HTTP/2 where the
    ``h2`` package is installed (unless ``http2`` is False), index credentials and
    redirects. No custom transport: httpx ignores ``http2`` and ``limits`` when one is
    passed, and env proxies too; retries are :func:`fetch`'s.

    The CA certificates load in a thread from now on (:mod:`pypm.index.tls`), or, with
    ``expect_tls`` False (every URL the caller knows of is ``http://``: a mirror on the
    local network), only if a TLS connection is ever opened (a redirect to https).
    """
    from pypm.index.tls import DeferredTLSContext

    timeout = http_timeout()
    return httpx.Client(
        http2=http2 and _http2_available(),
        verify=DeferredTLSContext(start=expect_tls),  # type: ignore[arg-type]  # a stand-in (pypm.index.tls)
        timeout=httpx.Timeout(timeout, connect=min(CONNECT_TIMEOUT, timeout)),
        limits=LIMITS,
        follow_redirects=True,
        auth=IndexAuth(),
        headers={"User-Agent": f"pypm/{__version__}"},
    )


def _http2_available() -> bool:
    """HTTP/2 (negotiated over TLS where the server offers it) needs the ``h2`` package."""
    import importlib.util

    return importlib.util.find_spec("h2") is not None


@dataclass(frozen=True)
class Reply:
    """A complete answer: status, headers, final URL and the whole body."""

    status_code: int
    headers: httpx.Headers
    url: str
    content: bytes


class Unreachable(Exception):
    """No answer came (connection refused, reset or timed out), after every retry."""

    def __init__(self, reason: str, attempts: int) -> None:
        tries = f" (tried {attempts} times)" if attempts > 1 else ""
        super().__init__(f"{reason}{tries}")
        self.reason = reason
        self.attempts = attempts


def is_transient_error(exc: Exception) -> bool:
    """True for failures another try may not meet: timeouts, refused or reset
    connections, a peer closing mid-answer. Not for a bad URL or scheme."""
    return isinstance(exc, (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError))


def fetch(
    client: httpx.Client,
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    raw: bool = False,
    content: bytes | None = None,
    policy: RetryPolicy = DEFAULT_POLICY,
    sleep: Callable[[float], None] = time.sleep,
) -> Reply:
    """Send a request (with ``content`` as its body, e.g. a POST's) and read the whole body
    of the answer (``raw``: as sent, not content-decoded),
    retrying transient failures per ``policy``. Returns the last answer, which is still
    a transient status (e.g. 503) when every retry got one; raises :class:`Unreachable`
    when no answer came."""
    failures = 0
    fresh: httpx.Client | None = None  # after a protocol error: a new HTTP/1.1 connection for the retries
    try:
        while True:
            try:
                reply = _send(fresh or client, method, url, headers, raw, content)
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                if not is_transient_error(exc) or failures >= policy.retries:
                    raise Unreachable(describe_error(exc), failures + 1) from None
                if isinstance(exc, httpx.RemoteProtocolError) and fresh is None:
                    # an HTTP/2 stream reset (or a peer that broke the protocol) may come
                    # again on the pooled connection: the retries do not reuse it
                    fresh = make_http_client(http2=False, expect_tls=uses_tls([url]))
                failures += 1
                wait, reason = policy.delay(failures), describe_error(exc)
            else:
                if not is_transient_status(reply.status_code) or failures >= policy.retries:
                    return reply
                failures += 1
                wait, reason = policy.delay(failures, reply.headers.get("Retry-After")), f"HTTP {reply.status_code}"
            ui.detail(f"{method} {redact(url)}: {reason}; retry {failures} of {policy.retries} in {wait:.1f}s")
            sleep(wait)
    finally:
        if fresh is not None:
            fresh.close()


def _send(client: httpx.Client, method: str, url: str, headers: Mapping[str, str] | None, raw: bool,
          content: bytes | None = None) -> Reply:
    with client.stream(method, url, headers=dict(headers or {}), content=content) as response:
        body = b"".join(response.iter_raw()) if raw else response.read()
        return Reply(response.status_code, response.headers, str(response.url), body)


def describe_error(exc: BaseException) -> str:
    """A short, credential-free reason for a failed request."""
    if isinstance(exc, httpx.ReadTimeout):
        return f"no data for {http_timeout():g}s (the connection stalled; {TIMEOUT_ENV} sets this timeout)"
    if isinstance(exc, httpx.ConnectTimeout):
        return f"connecting timed out after {min(CONNECT_TIMEOUT, http_timeout()):g}s"
    if isinstance(exc, httpx.RemoteProtocolError) and "StreamReset" in str(exc):
        return "the server reset the HTTP/2 stream"
    text = str(exc).splitlines()[0] if str(exc) else ""
    name = type(exc).__name__
    return redact_text(f"{name}: {text}" if text else name)
