"""The TLS context pypm's HTTP clients verify servers with, made off the critical path.

httpx makes its context when a client is made: ``create_ssl_context()`` loads the CA bundle
(``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's), 35-60 ms on the benchmark
machine, before the first request can start. OpenSSL loads the bundle without holding the
GIL, so :class:`DeferredTLSContext` has it made in a thread while the process goes on,
or, for a client whose URLs are all ``http://`` (a local mirror), only if a TLS connection
is ever opened. httpx takes any object as its ``verify`` context and httpcore only calls
its methods (``set_alpn_protocols``, ``wrap_socket``, ``wrap_bio``), so this object stands
in for the context: every attribute is the real context's, once it is made.
"""

from __future__ import annotations

import os
import ssl
import threading
from typing import Any

from pypm.errors import ConfigError


class DeferredTLSContext:
    """httpx's verifying context, made in a thread (``start``) or at its first use."""

    def __init__(self, start: bool) -> None:
        self._made = threading.Lock()
        self._context: ssl.SSLContext | None = None
        self._error: str | None = None
        self._thread: threading.Thread | None = None
        if start:
            # Not a daemon: the interpreter joins it before exiting. A process that ended
            # while it was still loading (an early error) crashed with SIGSEGV now and then:
            # OpenSSL's exit-time cleanup freed what the thread was using.
            self._thread = threading.Thread(target=self._make, name="pypm-tls", daemon=False)
            self._thread.start()

    def _make(self) -> None:
        import httpx

        try:
            self._context = httpx.create_ssl_context()
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._error = str(exc) or type(exc).__name__

    def context(self) -> ssl.SSLContext:
        """The real context (waiting for it, or making it now); ConfigError when the
        certificates cannot be loaded."""
        with self._made:
            if self._thread is not None:
                self._thread.join()
            elif self._context is None and self._error is None:
                self._make()
        if self._context is None:
            raise ConfigError(f"cannot load the certificates to verify TLS servers with from {trust_source()}:"
                              f" {self._error}", hint="point SSL_CERT_FILE or SSL_CERT_DIR at a readable CA bundle,"
                              " or unset them to use certifi's")
        return self._context

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # own attributes not set yet (a copy in the making), or dunders
            raise AttributeError(name)
        return getattr(self.context(), name)


def trust_source() -> str:
    """Where pypm's HTTP client takes the CA certificates from (httpx's rule:
    ``SSL_CERT_FILE``, else ``SSL_CERT_DIR``, else certifi's bundle)."""
    for name in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if os.environ.get(name):
            return f"{name}={os.environ[name]}"
    return "certifi's CA bundle"
