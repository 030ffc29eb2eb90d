"""Credentials for indexes: from index URLs (user:password@), netrc, or keyring.

Credentials are kept in memory per host and never written to the lock or shown in
messages (see :func:`pypm.index.client.redact`).
"""

from __future__ import annotations

import netrc
import os
import threading
from collections.abc import Generator
from pathlib import Path

import httpx

from pypm.index.credentials import known_credentials, remember, remember_url_credentials

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


class IndexAuth(httpx.Auth):
    """Adds known (URL) or netrc credentials as HTTP Basic auth (httpx's ``BasicAuth`` and
    ``NetRCAuth``); on 401 asks keyring once and retries."""

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
        host = request.url.host
        if "Authorization" not in request.headers:
            known = known_credentials(host)
            if known is not None:
                request = _authorize(httpx.BasicAuth(*known), request)
            elif (from_netrc := self._netrc_auth()) is not None:
                request = _authorize(from_netrc, request)
        response = yield request
        if response.status_code == 401 and "Authorization" not in request.headers:
            found = _keyring_credentials(str(request.url), host)
            if found is not None:
                remember(host, found)
                request = _authorize(httpx.BasicAuth(*found), request)
                yield request
