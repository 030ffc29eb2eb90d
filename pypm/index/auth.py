"""Credentials for indexes: from index URLs (user:password@), netrc, or keyring.

Credentials are kept in memory per origin and path prefix
(:mod:`pypm.index.credentials`) and never written to the lock or shown in messages (see
:func:`pypm.index.urls.redact`).
"""

from __future__ import annotations

import netrc
import os
import threading
from collections.abc import Generator
from pathlib import Path

import httpx

from pypm.index.credentials import (
    known_credentials,
    netrc_allowed,
    origin_credentials,
    remember,
    remember_url_credentials,
)

__all__ = ["IndexAuth", "remember_url_credentials"]


def _netrc_auth() -> httpx.Auth | None:
    """httpx's netrc lookup over ``$NETRC`` or ``~/.netrc``; None when there is no such
    file or it cannot be parsed (then no credentials come from it, as before)."""
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    if not path.is_file():
        return None
    try:
        return httpx.NetRCAuth(str(path))
    except (netrc.NetrcParseError, OSError):
        return None


def _keyring_credentials(url: str, host: str) -> tuple[str, str] | None:
    try:
        import keyring  # optional: used only when installed
    except ImportError:
        return None
    for service in (url, host):
        try:
            credential = keyring.get_credential(service, None)
        except Exception:  # noqa: BLE001 - a broken keyring backend means "no credentials"
            return None
        if credential is not None:
            return credential.username, credential.password
    return None


def _authorize(auth: httpx.Auth, request: httpx.Request) -> httpx.Request:
    """``request`` as ``auth`` prepares it (Basic and netrc auth add a header, then yield)."""
    return next(auth.auth_flow(request))


#: Answers to a request sent without credentials after which the origin's are tried.
_DENIED = (401, 403, 404)


class IndexAuth(httpx.Auth):
    """Adds credentials as HTTP Basic auth (httpx's ``BasicAuth`` and ``NetRCAuth``): those
    in the request's URL, else those known for its origin and longest path prefix, else
    netrc's for its host (over https, or over http to a host configured with http); on a
    401, 403 or 404 tries the origin's only known credentials (after a 401, else keyring's)
    and retries."""

    def __init__(self) -> None:
        self._netrc: httpx.Auth | None = None
        self._netrc_read = False
        self._guard = threading.Lock()

    def _netrc_auth(self) -> httpx.Auth | None:
        with self._guard:
            if not self._netrc_read:
                self._netrc, self._netrc_read = _netrc_auth(), True
            return self._netrc

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        url = str(request.url)
        if "Authorization" not in request.headers:
            known = _url_credentials(request.url) or known_credentials(url)
            if known is not None:
                request = _authorize(httpx.BasicAuth(*known), request)
            elif netrc_allowed(url) and (from_netrc := self._netrc_auth()) is not None:
                request = _authorize(from_netrc, request)
        response = yield request
        if response.status_code in _DENIED and "Authorization" not in request.headers:
            # As uv's auth middleware: a 403 or 404 may hide a private file too (GitLab
            # answers 404), so the origin's credentials are tried after those as well;
            # keyring (a slower lookup) is asked only after a 401.
            found = origin_credentials(url)
            if found is None and response.status_code == 401:
                found = _keyring_credentials(url, request.url.host)
            if found is not None:
                response = yield _authorize(httpx.BasicAuth(*found), request)
                if response.status_code < 400:
                    remember(url, found)  # for the origin: its next requests send them at once


def _url_credentials(url: httpx.URL) -> tuple[str, str] | None:
    """``user:password`` written in the request's URL (httpx ignores them when a client
    has an ``auth``): they win, as in uv."""
    return (url.username, url.password) if url.username or url.password else None
