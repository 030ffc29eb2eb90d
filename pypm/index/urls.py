"""Credentials in URLs, without the HTTP stack: what is written to disk carries none,
what is shown has them masked, what is requested gets the index's back.

httpx parses a URL's user information where there is one (``user:password@``); this
module imports it only then, so that a lock answered from the cache never loads the HTTP
client (:mod:`pypm.index.client` makes its connection pool on the first request)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

_URL = re.compile(r"https?://[^\s'\"<>]+")
_USERINFO = re.compile(r"//[^/?#@]*@")


def uses_tls(urls: Iterable[str]) -> bool:
    """True when any of ``urls`` is ``https://`` (what
    :func:`pypm.index.http.make_http_client`'s ``expect_tls`` asks)."""
    return any(url.startswith("https:") for url in urls)


def _without_userinfo(url: str, username: str | None) -> str:
    """``url`` with its ``user:password@`` replaced by ``username@`` (or removed)."""
    try:
        netloc = urlsplit(url).netloc
    except ValueError:  # not splittable (``http://[broken/``): what looks like user information goes
        return _USERINFO.sub(f"//{username}@" if username else "//", url, count=1)
    if "@" not in netloc:
        return url
    import httpx

    try:
        return str(httpx.URL(url).copy_with(username=username, password=None))
    except (httpx.InvalidURL, ValueError):  # what httpx refuses to parse, urllib still can
        parts = urlsplit(url)
        host = parts.netloc.rsplit("@", 1)[1]
        return urlunsplit(parts._replace(netloc=f"{username}@{host}" if username else host))


def strip_credentials(url: str) -> str:
    """The URL without any user:password part (for what is written to disk)."""
    return _without_userinfo(url, None)


def with_credentials(url: str, index_urls: list[str]) -> str:
    """``url`` (written to disk without credentials) with those of the index it is under
    put back, so that requests and cache keys are the ones the index client uses."""
    for index_url in index_urls:
        bare = strip_credentials(index_url)
        if bare != index_url and url.startswith(bare):
            return index_url + url[len(bare):]
    return url


def redact(url: str) -> str:
    """The URL with any user:password part shown as ``***``, for messages."""
    return _without_userinfo(url, "***")


def redact_text(text: str) -> str:
    """``text`` with every URL in it redacted."""
    return _URL.sub(lambda match: redact(match.group(0)), text)
