"""Which URLs pypm reads index pages from: https, ``file:``, and plain http only on this
machine (loopback) or on a host the ``allow-insecure-host`` setting names.

A page read over plain http can be altered on the way, and with it the hashes a lock
records for every file, so pypm refuses it (as pip ignores an http index that is not a
``--trusted-host``); a page that redirects from https to an http URL is refused alike.
Files themselves are checked against the hashes the pages gave, whatever their scheme.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from pypm.errors import IndexClientError

LOOPBACK_NAMES = frozenset({"localhost"})


def is_loopback(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def insecure_host_allowed(url: str, allowed: list[str]) -> bool:
    """Is a plain-http ``url`` on loopback or on a host (``host`` or ``host:port``) of ``allowed``?"""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if is_loopback(host):
        return True
    for entry in allowed:
        name, port = _host_and_port(entry.strip().lower())
        if name == host and (not port or str(parts.port) == port):
            return True
    return False


def _host_and_port(entry: str) -> tuple[str, str]:
    """``host``, ``host:port``, ``::1``, ``[::1]:8080`` -> (host, port or "")."""
    if entry.startswith("[") and "]:" in entry:
        name, port = entry[1:].split("]:", 1)
        return name, port
    if entry.count(":") == 1:
        name, port = entry.split(":")
        return name, port
    return entry.strip("[]"), ""


def check_transport(url: str, allowed: list[str], what: str) -> None:
    """Raise :class:`IndexClientError` for a plain-http ``url`` pypm may not read ``what`` from."""
    if urlsplit(url).scheme.lower() != "http" or insecure_host_allowed(url, allowed):
        return
    from pypm.index.urls import redact

    host = urlsplit(url).hostname or url
    raise IndexClientError(
        f"refusing the {what} {redact(url)}: plain http can be altered on the way",
        hint=f"use its https:// URL, or add {host} to the allow-insecure-host setting (PYPM_ALLOW_INSECURE_HOST)",
    )
