"""The TLS context of pypm's HTTP client (:mod:`pypm.index.tls`): made in a thread, or only
when a TLS connection is opened, and still the verifying context httpx would make."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import certifi
import httpx
import pytest

from pypm.errors import ConfigError
from pypm.index.http import make_http_client, uses_tls
from pypm.index.tls import DeferredTLSContext
from pypm.testing.plugin import RunPypm
from tests.workspaces import write_project


@pytest.fixture
def untrusted_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No SSL_CERT_FILE/SSL_CERT_DIR from outside: certifi's bundle unless a test sets one."""
    monkeypatch.delenv("SSL_CERT_FILE", raising=False)
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    return monkeypatch


@pytest.mark.parametrize("expect_tls", [True, False])
def test_the_client_verifies_servers_with_the_certificates_httpx_would_trust(
        https_index: tuple[str, Path], untrusted_env: pytest.MonkeyPatch, expect_tls: bool) -> None:
    """Made in a thread or at the first TLS connection, the context verifies: a self-signed
    server is refused under certifi's bundle and accepted once SSL_CERT_FILE holds its
    certificate (httpx's rule)."""
    url, cert = https_index
    with make_http_client(expect_tls=expect_tls) as client, pytest.raises(httpx.ConnectError, match="CERTIFICATE"):
        client.get(url)
    untrusted_env.setenv("SSL_CERT_FILE", str(cert))
    with make_http_client(expect_tls=expect_tls) as client:
        response = client.get(url)
    assert response.status_code == 200


def test_certificates_load_only_when_first_needed_unless_expected(
        tmp_path: Path, untrusted_env: pytest.MonkeyPatch) -> None:
    """Not started, the context reads SSL_CERT_FILE at its first use (so a file that is
    gone by then fails, in one line naming it); started, it has read it already."""
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(Path(certifi.where()).read_bytes())
    untrusted_env.setenv("SSL_CERT_FILE", str(bundle))
    started, deferred = DeferredTLSContext(start=True), DeferredTLSContext(start=False)
    started.context()  # (waits for the thread)
    bundle.unlink()
    assert started.check_hostname is True  # attributes are the real context's
    with pytest.raises(ConfigError) as failure:
        deferred.context()
    assert f"SSL_CERT_FILE={bundle}" in failure.value.one_line()
    assert "\n" not in failure.value.one_line()


def test_uses_tls_looks_at_the_scheme_only() -> None:
    assert uses_tls(["http://127.0.0.1:8080/simple/", "https://pypi.org/simple/"])
    assert not uses_tls(["http://127.0.0.1:8080/simple/", "file:///srv/wheels", "/srv/wheels"])
    assert not uses_tls([])


def test_a_run_against_an_http_index_reads_no_certificates(
        tmp_path: Path, workspace_env: dict[str, str], run_pypm: RunPypm) -> None:
    """Locking and syncing from an http:// index (a local mirror) never loads a CA bundle:
    an unreadable SSL_CERT_FILE does not matter to it."""
    root = write_project(tmp_path / "proj", ["alpha"])
    env = {**workspace_env, "SSL_CERT_FILE": str(tmp_path / "missing.pem"), "SSL_CERT_DIR": ""}
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert (root / "pylock.toml").is_file()


@pytest.fixture
def tcp_listener() -> Iterator[int]:
    """A port that accepts TCP connections and says nothing (TLS would start there)."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server.getsockname()[1]
    finally:
        stop.set()
        thread.join(timeout=10)
        for connection in accepted:
            connection.close()
        server.close()


def test_unreadable_certificates_fail_a_tls_index_in_one_line(
        tmp_path: Path, tcp_listener: int, run_pypm: RunPypm) -> None:
    """An https index with SSL_CERT_FILE pointing nowhere: one line naming the variable and
    what to do, exit 1, no traceback."""
    root = write_project(tmp_path / "proj", ["alpha"])
    missing = tmp_path / "missing.pem"
    env = {"PYPM_INDEX_URL": f"https://127.0.0.1:{tcp_listener}/simple/", "SSL_CERT_FILE": str(missing),
           "SSL_CERT_DIR": ""}
    proc = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert f"cannot load the certificates to verify TLS servers with from SSL_CERT_FILE={missing}" in lines[0]
    assert "point SSL_CERT_FILE or SSL_CERT_DIR at a readable CA bundle" in lines[0]


def test_a_stand_in_made_without_init_raises_attribute_error() -> None:
    """copy and pickle make objects without ``__init__``: looking up an attribute then
    must fail plainly, not recurse through ``__getattr__``."""
    bare = object.__new__(DeferredTLSContext)
    with pytest.raises(AttributeError):
        _ = bare.check_hostname


_EXIT_WHILE_LOADING = """
import sys, time
import httpx
from pypm.index.tls import DeferredTLSContext
DeferredTLSContext(start=True)
time.sleep(float(sys.argv[1]))
"""


def test_a_process_that_exits_while_the_certificates_load_exits_cleanly(tmp_path: Path) -> None:
    """A command that fails before its first request exits while the thread is still in
    OpenSSL loading the bundle. As a daemon thread it was cut off mid-load by OpenSSL's
    exit-time cleanup: SIGSEGV in 5-40% of such exits (CI once, in `pypm audit`). The exits
    here fall inside the load: delays are fractions of the time it takes on this machine."""
    import subprocess
    import sys
    import time

    started = time.perf_counter()
    httpx.create_ssl_context()
    load = time.perf_counter() - started
    script = tmp_path / "exit_while_loading.py"
    script.write_text(_EXIT_WHILE_LOADING)
    codes = []
    for fraction in (0.1, 0.25, 0.4, 0.55, 0.7, 0.85) * 4:
        done = subprocess.run([sys.executable, str(script), f"{load * fraction:.4f}"],
                              capture_output=True, text=True, timeout=60)
        codes.append(done.returncode)
    assert codes == [0] * len(codes), f"exit codes {codes} (load takes {load * 1000:.0f} ms)"
