"""Credentials for indexes: from index URLs (user:password@), netrc, or keyring.

Credentials are kept in memory per host and never written to the lock or shown in
messages (see :func:`pypm.index.client.redact`).
"""

from __future__ import annotations

import base64
import netrc
import os
from collections.abc import Generator
from pathlib import Path

import httpx

from pypm.index.credentials import known_credentials, remember, remember_url_credentials

__all__ = ["IndexAuth", "basic_header", "remember_url_credentials"]


def _netrc_credentials(host: str) -> tuple[str, str] | None:
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    if not path.is_file():
        return None
    try:
        entry = netrc.netrc(str(path)).authenticators(host)
    except (netrc.NetrcParseError, OSError):
        return None
    return (entry[0], entry[2] or "") if entry else None


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


def basic_header(username: str, password: str) -> str:
    """An HTTP Basic ``Authorization`` header value."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


class IndexAuth(httpx.Auth):
    """Adds known or netrc credentials; on 401 asks keyring once and retries."""

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        host = request.url.host
        if "Authorization" not in request.headers:
            known = known_credentials(host) or _netrc_credentials(host)
            if known is not None:
                request.headers["Authorization"] = basic_header(*known)
        response = yield request
        if response.status_code == 401 and "Authorization" not in request.headers:
            found = _keyring_credentials(str(request.url), host)
            if found is not None:
                remember(host, found)
                request.headers["Authorization"] = basic_header(*found)
                yield request
