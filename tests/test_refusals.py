"""What pypm refuses: plain-http pages from hosts nobody allowed, locked files without
hashes; and what it never shows: the credentials in index URLs (a planted password is
looked for in every output and every file pypm writes in the project). Real servers."""

from __future__ import annotations

import functools
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from pypm.testing.builders import build_wheel
from tests.workspaces import write_project

PASSWORD = "Pl4nted-s3cret-pw"


@pytest.fixture
def lan_find_links(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A plain-http find-links page (a directory listing holding gamma's wheel) served on
    every interface and reached by this machine's host name, which is not a loopback
    literal: (URL, host)."""
    files = tmp_path / "lan-files"
    files.mkdir()
    build_wheel(DistSpec("gamma", "1.0"), files)
    handler = functools.partial(_QuietHandler, directory=str(files))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host = socket.gethostname()
    yield f"http://{host}:{server.server_address[1]}/", host
    server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_a_plain_http_index_on_another_host_is_refused(tmp_path, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha"])
    refused = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": "http://pypi.example.org/simple/"},
                       check=False)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "error: refusing the index http://pypi.example.org/simple/: plain http can be altered on the way "
        "(use its https:// URL, or add pypi.example.org to the allow-insecure-host setting "
        "(PYPM_ALLOW_INSECURE_HOST))")
    allowed = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": "http://pypi.example.org/simple/",
                                                    "PYPM_ALLOW_INSECURE_HOST": "pypi.example.org"}, check=False)
    assert allowed.returncode == 1 and "refusing" not in allowed.stderr and "cannot reach" in allowed.stderr
    assert not (root / "pylock.toml").exists()


def test_plain_http_find_links_need_their_host_allowed(tmp_path, make_index, run_pypm, lan_find_links) -> None:
    url, host = lan_find_links
    index = make_index([DistSpec("alpha", "1.0")])  # plain http on 127.0.0.1: loopback is allowed
    root = write_project(tmp_path / "p", ["alpha", "gamma"])
    env = {"PYPM_INDEX_URL": index.url, "PYPM_FIND_LINKS": url}
    refused = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert refused.returncode == 1 and f"refusing the find-links page {url}" in refused.stderr
    assert f"add {host} to the allow-insecure-host setting" in refused.stderr
    run_pypm("lock", "sync", cwd=root, env_extra={**env, "PYPM_ALLOW_INSECURE_HOST": host})
    port = url.rstrip("/").rsplit(":", 1)[1]
    (root / "pylock.toml").unlink()
    wrong_port = run_pypm("lock", cwd=root, env_extra={**env, "PYPM_ALLOW_INSECURE_HOST": f"{host}:{int(port) + 1}"},
                          check=False)
    assert wrong_port.returncode == 1 and "refusing the find-links page" in wrong_port.stderr
    run_pypm("lock", cwd=root, env_extra={**env, "PYPM_ALLOW_INSECURE_HOST": f"{host}:{port}"})


def test_a_locked_file_without_a_hash_is_refused(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = write_project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    lock = root / "pylock.toml"
    text = lock.read_text()
    table = "[packages.wheels.hashes]\nsha256 = "
    assert table in text
    start = text.index(table)
    lock.write_text(text[:start] + text[text.index("\n", start + len(table)) + 1:])
    assert "sha256" not in lock.read_text()
    refused = run_pypm("sync", "--frozen", cwd=root, env_extra=env, check=False)
    assert refused.returncode != 0 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert "hash" in refused.stderr and "Traceback" not in refused.stderr
    assert not (root / ".venv").exists() or not list((root / ".venv").glob("lib/python3*/site-packages/alpha"))


def test_a_planted_password_never_shows(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """Every command's output (verbose), every --json document, every error, every file
    pypm writes in the project and the remembered resolutions omit the password of the
    index URL."""
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0", requires=["alpha"])])
    secret_url = index.url.replace("http://", f"http://alice:{PASSWORD}@")
    root = write_project(tmp_path / "p", ["beta"])
    env = {"PYPM_INDEX_URL": secret_url}
    outputs = []
    for args in (["-v", "lock"], ["-v", "sync"], ["tree"], ["why", "alpha"], ["export", "--format", "requirements.txt"],
                 ["export", "--format", "pylock", "-o", "pylock.exported.toml"], ["-v", "outdated"], ["status"],
                 ["lock", "--check"], ["doctor", "--json"], ["-v", "lock", "--upgrade"], ["run", "python", "-c", "1"]):
        done = run_pypm(*args, cwd=root, env_extra=env, check=False)
        outputs.append((args, done.stdout + done.stderr))
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    down = {"PYPM_INDEX_URL": f"http://alice:{PASSWORD}@127.0.0.1:{port}/simple/", "PYPM_HTTP_TIMEOUT": "2"}
    failed = run_pypm("-v", "lock", "--upgrade", cwd=root, env_extra=down, check=False)
    assert failed.returncode != 0
    outputs.append((["lock with the index down"], failed.stdout + failed.stderr))
    document = json.loads(run_pypm("doctor", "--json", cwd=root, env_extra=env, check=False).stdout)
    assert document["checks"], "doctor's --json document was produced"
    for args, text in outputs:
        assert PASSWORD not in text, (args, text)
    assert f"http://***@127.0.0.1:{port}/simple/" in failed.stderr, "the URL is named, its credentials masked"
    written = [p for p in root.rglob("*") if p.is_file() and ".venv" not in p.parts or p.name in (
        "direct_url.json", ".pypm-sync.json", ".pypm-interpreter.json")]
    assert any(p.name == "pylock.toml" for p in written) and any(p.name == "pylock.exported.toml" for p in written)
    records = list((Path(pypm_env["PYPM_CACHE_DIR"]) / "resolutions-v1").rglob("*.json"))
    assert records, "the lock was remembered"
    for path in [*written, *records]:
        assert PASSWORD.encode() not in path.read_bytes(), path
