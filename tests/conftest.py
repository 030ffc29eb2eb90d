"""Test configuration: pypm's own pytest plugin serves local indexes and runs the CLI."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.workspaces import INDEX_SPECS, make_workspace

pytest_plugins = ["pypm.testing.plugin"]


@pytest.fixture
def workspace_env(make_index) -> dict[str, str]:
    """``PYPM_INDEX_URL`` of an index serving tests/workspaces.py's packages (and ``delta``)."""
    return {"PYPM_INDEX_URL": make_index([*INDEX_SPECS, DistSpec("delta", "1.0")]).url}


@pytest.fixture
def synced_workspace(tmp_path: Path, workspace_env: dict[str, str], run_pypm) -> Path:
    """The two-member workspace of tests/workspaces.py, locked and synced, and a no-op."""
    root = make_workspace(tmp_path / "ws")
    run_pypm("lock", "sync", cwd=root, env_extra=workspace_env)
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=workspace_env).stderr
    return root


class _Simple(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        body = b"<html><body></body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - signature from the base class
        """Quiet."""


@pytest.fixture
def https_index(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A local https server with a certificate made by ``openssl`` for 127.0.0.1: (URL, certificate)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip("needs the openssl command to make a certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Simple)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_port}/simple/", cert
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
