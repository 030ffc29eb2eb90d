"""The index client against servers that misbehave or are shared: credentials bound to
their origin and path, pages and metadata of the wrong shape, caches that were damaged,
servers without HEAD or ranges. Each server here is a real ``http.server`` answering what
the test scripts (the test index of :mod:`pypm.testing` is too well-behaved for these)."""

from __future__ import annotations

import base64
import hashlib
import json
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import tomllib

from pypm.errors import IndexClientError
from pypm.index import credentials
from pypm.index.pages import parse_html_page, parse_json_page
from pypm.testing import DistSpec, build_wheel
from tests.workspaces import write_project

Handler = Callable[[BaseHTTPRequestHandler], None]


class Scripted:
    """A real HTTP(S) server on 127.0.0.1 whose every answer ``handle(request)`` writes;
    ``log`` holds (method, path, headers) of each request."""

    def __init__(self, handle: Handler, tls: ssl.SSLContext | None = None) -> None:
        log: list[tuple[str, str, dict[str, str]]] = []
        self.log = log

        class _Request(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - base signature
                """Quiet."""

            def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
                log.append(("GET", self.path, dict(self.headers)))
                handle(self)

            def do_HEAD(self) -> None:  # noqa: N802 - the name http.server calls
                log.append(("HEAD", self.path, dict(self.headers)))
                handle(self)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Request)
        self.httpd.daemon_threads = True
        if tls is not None:
            self.httpd.socket = tls.wrap_socket(self.httpd.socket, server_side=True)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        scheme = "https" if tls is not None else "http"
        self.base = f"{scheme}://127.0.0.1:{self.httpd.server_port}"

    def stop(self) -> None:
        """Stop serving."""
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=10)


def answer(request: BaseHTTPRequestHandler, status: int, body: bytes = b"", ctype: str = "text/html",
           headers: dict[str, str] | None = None) -> None:
    """Send a complete answer (no body for HEAD)."""
    request.send_response(status)
    request.send_header("Content-Type", ctype)
    request.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        request.send_header(key, value)
    request.end_headers()
    if request.command != "HEAD":
        request.wfile.write(body)


@pytest.fixture
def serve() -> Iterator[Callable[..., Scripted]]:
    """``serve(handle, tls=None)``: a started :class:`Scripted` server, stopped at teardown."""
    servers: list[Scripted] = []

    def start(handle: Handler, tls: ssl.SSLContext | None = None) -> Scripted:
        servers.append(Scripted(handle, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def tls_pair(https_index: tuple[str, Path]) -> tuple[ssl.SSLContext, Path]:
    """A server TLS context for 127.0.0.1 and its certificate: the key and certificate
    conftest's ``https_index`` made (its own server is not used)."""
    _, cert = https_index
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, cert.with_name("key.pem"))
    return context, cert


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def anchor(href: str, filename: str, extra: str = "") -> bytes:
    return f'<html><body><a href="{href}"{extra}>{filename}</a></body></html>'.encode()


def locked_names(root: Path) -> set[str]:
    return {p["name"] for p in tomllib.loads((root / "pylock.toml").read_text())["packages"]}


def locked_wheel(root: Path, name: str) -> dict:
    """The first wheel the lock records for package ``name``."""
    (package,) = [p for p in tomllib.loads((root / "pylock.toml").read_text())["packages"] if p["name"] == name]
    return package["wheels"][0]


def one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    """The single ``error:`` line of a failed run (exit 1, no traceback, no internal error)."""
    assert result.returncode == 1, (result.returncode, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "internal error" not in lines[0]
    return lines[0]


def guarded_page(serve: Callable[..., Scripted], password: str, page: str, href: str, wheel: Path,
                 tls: ssl.SSLContext | None = None, denied: int = 401) -> Scripted:
    """A server that wants ``user:password`` (else ``denied``: 401, or 403/404 as servers
    that hide private files answer): ``page`` links ``href`` (with the wheel's sha256), any
    other path is the wheel; ``{base}`` in ``href`` is the server's own address."""
    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("Authorization") != basic("user", password):
            return answer(request, denied, headers={"WWW-Authenticate": 'Basic realm="x"'} if denied == 401 else {})
        if request.path == page:
            link = href.replace("{base}", server.base)
            return answer(request, 200, anchor(f"{link}#sha256={sha256(wheel)}", wheel.name))
        return answer(request, 200, wheel.read_bytes(), "application/octet-stream")

    server = serve(handle, tls)
    return server


# -- credentials: bound to their origin and path prefix ----------------------------------


@pytest.mark.parametrize("source", ["url", "netrc"])
def test_https_credentials_never_go_to_plain_http_on_the_same_host(
        tmp_path, serve, tls_pair, run_pypm, source) -> None:
    """An https index's credentials (from its URL, or netrc's for its host) are not sent to
    a file link on ``http://`` the same host, another port: they would cross in cleartext."""
    context, cert = tls_pair
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "wheels")
    plain = serve(lambda r: answer(r, 200, wheel.read_bytes(), "application/octet-stream"))
    tls = guarded_page(serve, "SECRET", "/simple/foo/", f"{plain.base}/files/{wheel.name}", wheel, context)
    env = {"SSL_CERT_FILE": str(cert), "PYPM_INDEX_URL": f"{tls.base}/simple/"}
    if source == "url":
        env["PYPM_INDEX_URL"] = f"{tls.base.replace('https://', 'https://user:SECRET@')}/simple/"
    else:
        netrc = tmp_path / "netrc"
        netrc.write_text("machine 127.0.0.1 login user password SECRET\n")
        netrc.chmod(0o600)
        env["NETRC"] = str(netrc)
    root = write_project(tmp_path / "p", ["foo"])
    run_pypm("lock", cwd=root, env_extra=env)
    run_pypm("sync", cwd=root, env_extra=env)
    assert plain.log, "the file server was not asked"
    assert [headers.get("Authorization") for _, _, headers in plain.log] == [None] * len(plain.log)


def test_two_indexes_on_one_host_keep_their_own_credentials(tmp_path, serve, run_pypm) -> None:
    """``/a/simple/`` and ``/b/simple/`` on one server with different credentials: each
    index (and the files under its root ``/a/``, ``/b/``) gets its own, in lock and sync."""
    wheels = {name: build_wheel(DistSpec(name, "1.0"), tmp_path / "wheels") for name in ("foo", "bar")}
    accounts = {"/a/": ("alice", "PA", "foo"), "/b/": ("bob", "PB", "bar")}

    def handle(request: BaseHTTPRequestHandler) -> None:
        for prefix, (user, password, name) in accounts.items():
            if request.path.startswith(prefix):
                if request.headers.get("Authorization") != basic(user, password):
                    return answer(request, 401, headers={"WWW-Authenticate": 'Basic realm="x"'})
                wheel = wheels[name]
                if request.path == f"{prefix}simple/{name}/":
                    return answer(request, 200, anchor(f"../../files/{wheel.name}#sha256={sha256(wheel)}", wheel.name))
                if request.path == f"{prefix}files/{wheel.name}":
                    return answer(request, 200, wheel.read_bytes(), "application/octet-stream")
        return answer(request, 404)

    server = serve(handle)
    env = {"PYPM_INDEX_URL": server.base.replace("http://", "http://alice:PA@") + "/a/simple/",
           "PYPM_EXTRA_INDEX_URL": server.base.replace("http://", "http://bob:PB@") + "/b/simple/"}
    root = write_project(tmp_path / "p", ["foo", "bar"])
    run_pypm("lock", cwd=root, env_extra=env)
    run_pypm("sync", cwd=root, env_extra=env)
    assert {"foo", "bar"} <= locked_names(root)
    assert not [path for _, path, headers in server.log if "Authorization" not in headers and "files" in path]


def test_credentials_prefer_the_longest_prefix_of_their_own_origin() -> None:
    """The lookup itself: origin (scheme, host, port) first, then the longest path prefix;
    an index's prefix is its URL without the last ``simple/``."""
    credentials.remember_url_credentials("https://u1:p1@creds.example:8443/simple/")
    credentials.remember_url_credentials("https://u2:p2@creds.example:8443/team/+simple/")
    assert credentials.known_credentials("https://creds.example:8443/files/x.whl") == ("u1", "p1")
    assert credentials.known_credentials("https://creds.example:8443/team/files/x.whl") == ("u2", "p2")
    assert credentials.known_credentials("http://creds.example:8443/files/x.whl") is None
    assert credentials.known_credentials("https://creds.example/files/x.whl") is None
    assert credentials.origin_credentials("https://creds.example:8443/other/") is None  # two: ambiguous


@pytest.mark.parametrize("denied", [401, 403, 404])
def test_files_elsewhere_on_the_origin_get_its_only_credentials_after_a_denial(tmp_path, serve, run_pypm,
                                                                               denied) -> None:
    """A file outside the index's prefix on the same origin (``/packages/`` for an index at
    ``/pypi/simple/``) is asked without credentials, and again with the origin's only
    ones when the server answers 401, 403 or 404 (GitLab hides private files behind 404;
    uv's auth middleware retries with its realm's credentials after all three)."""
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "wheels")
    server = guarded_page(serve, "pw", "/pypi/simple/foo/", f"{{base}}/packages/{wheel.name}", wheel, denied=denied)
    root = write_project(tmp_path / "p", ["foo"])
    env = {"PYPM_INDEX_URL": server.base.replace("http://", "http://user:pw@") + "/pypi/simple/"}
    run_pypm("lock", cwd=root, env_extra=env)
    assert "foo" in locked_names(root)
    run_pypm("sync", cwd=root, env_extra=env)  # a new process: the lock's URL carries no credentials


def guarded_find_links(tmp_path: Path, serve: Callable[..., Scripted]) -> dict[str, str]:
    """Settings for a wheel ``foo 1.0`` found only on a find-links page that wants
    ``user:SECRET`` (given in its URL) beside an index that has nothing."""
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "wheels")
    links = guarded_page(serve, "SECRET", "/wheels/", wheel.name, wheel)
    empty = serve(lambda request: answer(request, 404))
    return {"PYPM_INDEX_URL": f"{empty.base}/simple/",
            "PYPM_FIND_LINKS": links.base.replace("http://", "http://user:SECRET@") + "/wheels/"}


def test_sync_sends_the_credentials_of_a_find_links_page(tmp_path, serve, run_pypm) -> None:
    """A wheel found on a find-links page with ``user:password@`` is downloaded by sync with
    them (the lock records its URL without credentials, as for an index's files)."""
    env = guarded_find_links(tmp_path, serve)
    root = write_project(tmp_path / "p", ["foo"])
    run_pypm("lock", cwd=root, env_extra=env)
    assert "SECRET" not in (root / "pylock.toml").read_text()
    run_pypm("sync", cwd=root, env_extra=env)  # a new process: only the settings carry the credentials


# -- project pages of the wrong shape ----------------------------------------------------


def test_an_error_about_a_page_never_shows_the_password(tmp_path, serve, run_pypm) -> None:
    """A page that is not the JSON its content type says is one error naming the page,
    with the password of the index URL masked."""
    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.headers.get("Authorization") != basic("user", "SECRET"):
            return answer(request, 401, headers={"WWW-Authenticate": 'Basic realm="x"'})
        return answer(request, 200, b"<html>Maintenance</html>", "application/vnd.pypi.simple.v1+json")

    server = serve(handle)
    root = write_project(tmp_path / "p", ["foo"])
    result = run_pypm("lock", cwd=root, check=False,
                      env_extra={"PYPM_INDEX_URL": server.base.replace("http://", "http://user:SECRET@") + "/simple/"})
    line = one_error_line(result)
    assert "SECRET" not in result.stderr + result.stdout and "malformed JSON page" in line, line


GOOD_SHA = "ab" * 32
WHEEL = "foo-1.0-py3-none-any.whl"


@pytest.mark.parametrize("change", [
    {"requires-python": 5}, {"size": "big"}, {"size": -1}, {"size": True}, {"filename": 5}, {"url": None},
    {"hashes": {"sha256": 5}}, {"hashes": {"sha256": "../../../escape"}}, {"hashes": []}, {"yanked": 3},
    {"core-metadata": "yes"}, {"upload-time": 7}, {"url": "//[broken/x.whl"},
], ids=str)
def test_a_json_file_entry_of_the_wrong_shape_is_one_error_naming_the_page(change) -> None:
    entry = {"filename": WHEEL, "url": f"/files/{WHEEL}", "hashes": {"sha256": GOOD_SHA}, **change}
    body = json.dumps({"meta": {"api-version": "1.0"}, "name": "foo", "files": [entry]}).encode()
    with pytest.raises(IndexClientError, match="malformed file entry") as caught:
        parse_json_page(body, "https://user:SECRET@example.org/simple/foo/", "https://example.org/simple/")
    assert "example.org/simple/foo/" in caught.value.one_line() and "SECRET" not in caught.value.one_line()


@pytest.mark.parametrize("body", [b'{"files": null}', b'{"files": 5}', b"[1]", b"null", b'{"name": "foo"}', b"<html>"])
def test_a_json_page_without_a_files_list_is_one_error_naming_the_page(body) -> None:
    with pytest.raises(IndexClientError, match="example.org/simple/foo/: the index returned a malformed JSON page"):
        parse_json_page(body, "https://example.org/simple/foo/", "https://example.org/simple/")


def test_a_page_with_files_null_fails_the_lock_with_one_line(tmp_path, serve, run_pypm) -> None:
    server = serve(lambda request: answer(request, 200, b'{"meta": {"api-version": "1.0"}, "files": null}',
                                          "application/vnd.pypi.simple.v1+json"))
    root = write_project(tmp_path / "p", ["foo"])
    result = run_pypm("lock", cwd=root, check=False, env_extra={"PYPM_INDEX_URL": f"{server.base}/simple/"})
    assert "malformed JSON page" in one_error_line(result)


def test_html_anchors_that_are_not_usable_links_are_skipped() -> None:
    """An href that is not a URL, or a ``#sha256=`` that is not 64 hex digits (it would name
    cache paths), is skipped, as pip skips them; the page's other files stay."""
    page = (f'<a href="http://[broken/foo-0.1.tar.gz">old</a><a href="/f/foo-0.2.tar.gz#sha256=../../x">x</a>'
            f'<a href="/f/{WHEEL}#sha256={GOOD_SHA}">{WHEEL}</a>')
    links = parse_html_page(page, "https://example.org/simple/foo/", "https://example.org/simple/")
    assert [(link.filename, link.sha256) for link in links] == [(WHEEL, GOOD_SHA)]


def test_a_url_urllib_cannot_split_is_still_redacted_not_a_crash() -> None:
    """A file URL from a page (``http://[broken/``) reaches messages through ``redact``:
    it masks what looks like credentials instead of raising ValueError."""
    from pypm.index.urls import redact, strip_credentials

    assert redact("http://u:SECRET@[broken/x.whl") == "http://***@[broken/x.whl"
    assert strip_credentials("http://u:SECRET@[broken/x.whl") == "http://[broken/x.whl"
    assert redact("http://[broken/x.whl") == "http://[broken/x.whl"


# -- core metadata: UTF-8, checked against its wheel, cached only when good ----------------


@pytest.mark.parametrize("header", ["Requires-Dist: bar ; extra == 'caf\u00e9'", "Summary: caf\u00e9 cr\u00e8me",
                                    "Author: J\u00fcrgen", "Requires-Python: >=3.8\u00a0"])
def test_core_metadata_is_read_as_utf8(header) -> None:
    from pypm.index.metadata import parse_metadata

    data = f"Metadata-Version: 2.1\nName: foo\nVersion: 1.0\n{header}\n\nDescription \u00e9\n".encode()
    parsed = parse_metadata(data, WHEEL)
    assert (parsed.name, str(parsed.version)) == ("foo", "1.0")


def test_a_lock_reads_a_wheel_whose_metadata_is_not_ascii(tmp_path, make_index, run_pypm) -> None:
    marker = 'bar ; platform_machine == "\u00fc"'
    index = make_index([DistSpec("foo", "1.0", requires=[marker]), DistSpec("bar", "1.0")])
    root = write_project(tmp_path / "p", ["foo"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert "foo" in locked_names(root)


def metadata_server(serve: Callable[..., Scripted], tmp_path: Path, served: dict[str, bytes]) -> tuple[Scripted, Path]:
    """An index of foo 1.0 (requiring bar) and bar 1.0 whose PEP 658 file for foo is
    ``served["foo"]`` (the wheel's own METADATA while that key is absent)."""
    from pypm.index.metadata import metadata_from_wheel

    wheels = {name: build_wheel(DistSpec(name, "1.0", requires=["bar"] if name == "foo" else []), tmp_path / "wh")
              for name in ("foo", "bar")}

    def handle(request: BaseHTTPRequestHandler) -> None:
        for name, wheel in wheels.items():
            if request.path == f"/simple/{name}/":
                extra = ' data-core-metadata="true"'
                return answer(request, 200, anchor(f"/files/{wheel.name}#sha256={sha256(wheel)}", wheel.name, extra))
            if request.path == f"/files/{wheel.name}.metadata":
                with wheel.open("rb") as handle:
                    body = served.get(name) or metadata_from_wheel(handle, wheel.name)
                return answer(request, 200, body, "application/octet-stream")
            if request.path == f"/files/{wheel.name}":
                return answer(request, 200, wheel.read_bytes(), "application/octet-stream")
        return answer(request, 404)

    return serve(handle), wheels["foo"]


@pytest.mark.parametrize("lie", [
    b"Metadata-Version: 2.1\nName: somethingelse\nVersion: 1.0\nRequires-Dist: bar\n\n",
    b"Metadata-Version: 2.1\nName: foo\nVersion: 9.9\n\n",
], ids=["name", "version"])
def test_metadata_naming_another_project_or_version_is_refused(tmp_path, serve, run_pypm, lie) -> None:
    """As uv (NameMismatch / VersionMismatch): a wheel's metadata must name its file's
    project and version, and what is refused is not stored."""
    server, _ = metadata_server(serve, tmp_path, {"foo": lie})
    root = write_project(tmp_path / "p", ["foo"])
    cache = tmp_path / "cache"
    env = {"PYPM_INDEX_URL": f"{server.base}/simple/", "PYPM_CACHE_DIR": str(cache)}
    line = one_error_line(run_pypm("lock", cwd=root, check=False, env_extra=env))
    assert "foo-1.0-py3-none-any.whl: its metadata is for" in line and "not foo 1.0" in line, line
    assert not [path for path in cache.rglob("*.METADATA") if b"9.9" in path.read_bytes()
                or b"somethingelse" in path.read_bytes()]


def test_an_error_page_served_as_metadata_is_not_cached(tmp_path, serve, run_pypm) -> None:
    """A 200 HTML page in place of the PEP 658 file fails the lock, and once the server is
    right again the next lock (same cache) reads the real metadata."""
    served = {"foo": b"<html><body><h1>Service Unavailable</h1></body></html>"}
    server, _ = metadata_server(serve, tmp_path, served)
    root = write_project(tmp_path / "p", ["foo"])
    env = {"PYPM_INDEX_URL": f"{server.base}/simple/", "PYPM_CACHE_DIR": str(tmp_path / "cache")}
    assert "metadata has an invalid version" in one_error_line(run_pypm("lock", cwd=root, check=False, env_extra=env))
    served.clear()
    run_pypm("lock", cwd=root, env_extra=env)
    assert {"foo", "bar"} <= locked_names(root)


@pytest.mark.parametrize("damage", ["truncated", "older-pypm-html"])
def test_a_damaged_metadata_cache_file_is_fetched_again(tmp_path, serve, run_pypm, damage) -> None:
    """A stored METADATA cut short (it still parses, without its Requires-Dist) or an error
    page an older pypm stored unchecked is not trusted: the metadata is fetched again."""
    server, foo = metadata_server(serve, tmp_path, {})
    cache = tmp_path / "cache"
    env = {"PYPM_INDEX_URL": f"{server.base}/simple/", "PYPM_CACHE_DIR": str(cache)}
    run_pypm("lock", cwd=write_project(tmp_path / "p", ["foo"]), env_extra=env)
    (stored,) = cache.rglob(f"{sha256(foo)}.METADATA")
    if damage == "truncated":
        stored.write_bytes(stored.read_bytes().split(b"Requires-Dist")[0])
    else:
        stored.write_bytes(b"<html><body>Service Unavailable</body></html>")
    root = write_project(tmp_path / "p2", ["foo>=0.1"])
    run_pypm("lock", cwd=root, env_extra=env)
    assert {"foo", "bar"} <= locked_names(root)
    assert b"Requires-Dist: bar" in stored.read_bytes()


# -- the page cache: where a page came from, and whether it is still whole -----------------


def test_a_cached_page_reads_its_relative_links_against_where_it_was_redirected(tmp_path, serve, run_pypm) -> None:
    """``/simple/foo/`` redirects to ``/mirror/simple/foo/`` whose links are relative: read
    from the cache (fresh, or revalidated with a 304), they resolve against the mirror's
    URL as when fetched."""
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "wheels")

    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.path == "/simple/foo/":
            return answer(request, 302, headers={"Location": "/mirror/simple/foo/"})
        if request.path == "/mirror/simple/foo/" and request.headers.get("If-None-Match") == '"v1"':
            return answer(request, 304, headers={"ETag": '"v1"'})
        if request.path == "/mirror/simple/foo/":
            body = anchor(f"files/{wheel.name}#sha256={sha256(wheel)}", wheel.name)
            return answer(request, 200, body, headers={"ETag": '"v1"'})
        if request.path == f"/mirror/simple/foo/files/{wheel.name}":
            return answer(request, 200, wheel.read_bytes(), "application/octet-stream")
        return answer(request, 404)

    server = serve(handle)
    env = {"PYPM_INDEX_URL": f"{server.base}/simple/", "PYPM_CACHE_DIR": str(tmp_path / "cache")}
    first = write_project(tmp_path / "p1", ["foo"])
    run_pypm("lock", cwd=first, env_extra=env)
    second = write_project(tmp_path / "p2", ["foo>=0.5"])  # another project: its lock reads the stored page
    run_pypm("lock", cwd=second, env_extra=env)
    third = write_project(tmp_path / "p3", ["foo>=0.6"])
    run_pypm("lock", "--refresh", cwd=third, env_extra=env)  # revalidated: a 304 through the redirect
    assert [path for _, path, headers in server.log if headers.get("If-None-Match")] == [
        "/simple/foo/", "/mirror/simple/foo/"]
    for root in (first, second, third):
        assert locked_wheel(root, "foo")["url"] == f"{server.base}/mirror/simple/foo/files/{wheel.name}"


def test_a_file_link_with_a_query_string_is_named_by_its_path(tmp_path, serve, run_pypm) -> None:
    """``/files/foo-1.0-py3-none-any.whl?sig=abc``: the file name is the path's last part
    (uv strips the query too); the URL keeps the query, which the server may need."""
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "wheels")

    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.path == "/simple/foo/":
            return answer(request, 200, anchor(f"/files/{wheel.name}?sig=a/b#sha256={sha256(wheel)}", wheel.name))
        if request.path == f"/files/{wheel.name}?sig=a/b":
            return answer(request, 200, wheel.read_bytes(), "application/octet-stream")
        return answer(request, 404)

    server = serve(handle)
    root = write_project(tmp_path / "p", ["foo"])
    run_pypm("lock", "sync", cwd=root, env_extra={"PYPM_INDEX_URL": f"{server.base}/simple/"})
    locked = locked_wheel(root, "foo")
    assert (locked["name"], locked["url"]) == (wheel.name, f"{server.base}/files/{wheel.name}?sig=a/b")


# -- servers without HEAD, ranges or whole zip data ----------------------------------------


def ranged(request: BaseHTTPRequestHandler, data: bytes, total: str | None = None) -> None:
    """Answer ``bytes=a-b`` / ``bytes=-n`` with a 206 (``total`` in place of the real size,
    e.g. ``*``), or the whole file without a Range header."""
    spec = request.headers.get("Range", "")
    if not spec.startswith("bytes="):
        return answer(request, 200, data, "application/octet-stream")
    first, _, last = spec[len("bytes="):].partition("-")
    start = len(data) - int(last) if not first else int(first)
    end = min(int(last) if first and last else len(data) - 1, len(data) - 1)
    span = f"bytes {start}-{end}/{total or len(data)}"
    return answer(request, 206, data[start:end + 1], "application/octet-stream", {"Content-Range": span})


@pytest.mark.parametrize("head", ["405", "no-length"])
@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_a_lock_learns_sizes_where_head_is_refused_or_says_nothing(tmp_path, serve, run_pypm, head, ranges) -> None:
    """PEP 503 pages give no size: a server that refuses HEAD (405) or sends no
    Content-Length gets a one-byte range request for the size, else the file is downloaded
    (as for a file without a hash) — the lock records the real size either way."""
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "wheels")
    data = wheel.read_bytes()

    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.path == "/simple/foo/":
            return answer(request, 200, anchor(f"/files/{wheel.name}#sha256={sha256(wheel)}", wheel.name))
        if request.command == "HEAD" and head == "405":
            return answer(request, 405)
        if request.command == "HEAD":
            request.send_response(200)
            request.send_header("Transfer-Encoding", "chunked")
            return request.end_headers()
        return ranged(request, data) if ranges else answer(request, 200, data, "application/octet-stream")

    server = serve(handle)
    root = write_project(tmp_path / "p", ["foo"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": f"{server.base}/simple/"})
    assert locked_wheel(root, "foo")["size"] == len(data)
    if ranges:
        assert ("GET", "bytes=0-0") in [(method, headers.get("Range")) for method, _, headers in server.log]


def damaged_wheel(source: Path, damage: str) -> bytes:
    """``source`` rewritten with deflated members, then its METADATA's data broken
    (``zlib``) or flagged as encrypted (``encrypted``)."""
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(source) as given, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as rewritten:
        for info in given.infolist():
            rewritten.writestr(info.filename, given.read(info.filename))
    data = bytearray(out.getvalue())
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as archive:
        info = next(i for i in archive.infolist() if i.filename.endswith(".dist-info/METADATA"))
    if damage == "zlib":
        start = info.header_offset + 30 + len(info.filename) + len(info.extra)
        data[start:start + 8] = b"\xff" * 8
    else:
        data[info.header_offset + 6] |= 1  # the local header's flag; then the central directory's
        central = bytes(data).find(b"PK\x01\x02")
        while central >= 0:
            length = int.from_bytes(data[central + 28:central + 30], "little")
            if data[central + 46:central + 46 + length] == info.filename.encode():
                data[central + 8] |= 1
            central = bytes(data).find(b"PK\x01\x02", central + 4)
    return bytes(data)


@pytest.mark.parametrize("damage", ["zlib", "encrypted"])
def test_a_damaged_wheel_is_one_error_not_an_internal_error(tmp_path, run_pypm, damage) -> None:
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "built")
    links = tmp_path / "links"
    links.mkdir()
    (links / wheel.name).write_bytes(damaged_wheel(wheel, damage))
    root = write_project(tmp_path / "p", ["foo"], tool=f'find-links = ["{links}"]\nindex-url = "file:///nonexistent/"')
    line = one_error_line(run_pypm("lock", cwd=root, check=False))
    assert line.startswith(f"error: {wheel.name}: not a valid wheel"), line


def test_upper_case_hex_digests_are_locked_lower_case(tmp_path, serve, run_pypm) -> None:
    """``#sha256=ABCD...`` (hex is hex in either case) is locked in lower case, which sync
    then accepts; JSON hashes and PEP 658 metadata hashes alike."""
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "wheels")
    upper = sha256(wheel).upper()
    server = serve(lambda request: answer(request, 200, anchor(f"/files/{wheel.name}#sha256={upper}", wheel.name))
                   if request.path == "/simple/foo/" else answer(request, 200, wheel.read_bytes(), "application/zip"))
    root = write_project(tmp_path / "p", ["foo"])
    env = {"PYPM_INDEX_URL": f"{server.base}/simple/"}
    run_pypm("lock", cwd=root, env_extra=env)
    assert locked_wheel(root, "foo")["hashes"]["sha256"] == sha256(wheel)
    run_pypm("sync", cwd=root, env_extra=env)
    entry = {"filename": WHEEL, "url": f"/f/{WHEEL}", "hashes": {"sha256": GOOD_SHA.upper()},
             "core-metadata": {"sha256": GOOD_SHA.upper()}}
    (link,) = parse_json_page(json.dumps({"files": [entry]}).encode(), "https://example.org/simple/foo/", "x")
    assert (link.sha256, link.metadata) == (GOOD_SHA, GOOD_SHA)


@pytest.mark.parametrize("answer_ranges", ["unknown-total", "416", "garbage"])
def test_metadata_falls_back_to_the_whole_wheel_when_ranges_cannot_be_read(
        tmp_path, serve, run_pypm, answer_ranges) -> None:
    """A server whose 206 answers say ``bytes a-b/*``, or that answers 416, or whose ranges
    do not hold the file's bytes: the wheel is downloaded whole and its METADATA read."""
    wheel = build_wheel(DistSpec("foo", "1.0", requires=["bar"], pad_bytes=200_000), tmp_path / "wheels")
    bar = build_wheel(DistSpec("bar", "1.0"), tmp_path / "wheels")
    data = wheel.read_bytes()

    def handle(request: BaseHTTPRequestHandler) -> None:
        for name, file in (("foo", wheel), ("bar", bar)):
            if request.path == f"/simple/{name}/":
                return answer(request, 200, anchor(f"/files/{file.name}#sha256={sha256(file)}", file.name))
        if request.path == f"/files/{bar.name}":
            return answer(request, 200, bar.read_bytes(), "application/octet-stream")
        if "Range" not in request.headers or request.command == "HEAD":
            return answer(request, 200, data, "application/octet-stream")
        if answer_ranges == "416":
            return answer(request, 416, headers={"Content-Range": f"bytes */{len(data)}"})
        return ranged(request, data if answer_ranges == "unknown-total" else bytes(len(data)),
                      "*" if answer_ranges == "unknown-total" else None)

    server = serve(handle)
    root = write_project(tmp_path / "p", ["foo"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": f"{server.base}/simple/"})
    assert {"foo", "bar"} <= locked_names(root)
    wheel_gets = [head.get("Range") for method, path, head in server.log if method == "GET" and wheel.name in path]
    assert None in wheel_gets, "the wheel was not downloaded whole"


@pytest.mark.parametrize("flavour", ["json", "html"])
def test_a_stored_page_cut_short_is_not_trusted(tmp_path, make_index, run_pypm, flavour) -> None:
    """A stored page body that no longer hashes to the sha256 recorded with it is read
    again from the index (it failed as a malformed page, or lost files)."""
    index = make_index([DistSpec("foo", "1.0"), DistSpec("foo", "2.0")], flavour=flavour)
    cache = tmp_path / "cache"
    env = {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(cache)}
    run_pypm("lock", cwd=write_project(tmp_path / "p1", ["foo"]), env_extra=env)
    bodies = list(cache.rglob("*.body"))
    assert bodies
    for body in bodies:
        body.write_bytes(body.read_bytes()[: body.stat().st_size // 2])
    root = write_project(tmp_path / "p2", ["foo>=0.1"])
    run_pypm("lock", cwd=root, env_extra=env)
    assert locked_wheel(root, "foo")["name"] == "foo-2.0-py3-none-any.whl"


@pytest.mark.parametrize(("keys", "expected"), [
    ({"dist-info-metadata": {"sha256": GOOD_SHA}}, GOOD_SHA),
    ({"dist-info-metadata": True}, ""),
    ({"core-metadata": False, "dist-info-metadata": True}, None),
    ({"core-metadata": {"sha256": GOOD_SHA}, "dist-info-metadata": False}, GOOD_SHA),
    ({"data-dist-info-metadata": {"sha256": GOOD_SHA}}, GOOD_SHA),
], ids=["legacy-hash", "legacy-true", "new-key-wins-false", "new-key-wins-hash", "html-attribute-name"])
def test_pep714_reads_core_metadata_then_the_legacy_dist_info_metadata_key(keys, expected) -> None:
    entry = {"filename": WHEEL, "url": f"/f/{WHEEL}", "hashes": {"sha256": GOOD_SHA}, **keys}
    (link,) = parse_json_page(json.dumps({"files": [entry]}).encode(), "https://example.org/simple/foo/", "x")
    assert link.metadata == expected


def test_a_null_yanked_is_not_yanked() -> None:
    """``"yanked": null`` (as some indexes write it) is read as not yanked, as pip reads it;
    it failed the whole page, blaming the entry's sha256."""
    entry = {"filename": WHEEL, "url": f"/f/{WHEEL}", "hashes": {"sha256": GOOD_SHA}, "yanked": None}
    (link,) = parse_json_page(json.dumps({"files": [entry]}).encode(), "https://example.org/simple/foo/", "x")
    assert link.yanked is None


# -- smaller things: media type case, a 304's Content-Type, a damaged download record ------


def test_the_pep691_media_type_is_matched_without_regard_to_case() -> None:
    from pypm.index.pages import parse_page

    body = json.dumps({"files": [{"filename": WHEEL, "url": f"/f/{WHEEL}", "hashes": {"sha256": GOOD_SHA}}]}).encode()
    media_type = "Application/VND.PyPI.Simple.v1+JSON; charset=utf-8"
    (link,) = parse_page(body, media_type, "https://example.org/simple/foo/", "x")
    assert link.filename == WHEEL


def test_a_304_with_another_content_type_keeps_the_stored_pages_type(tmp_path, serve, run_pypm) -> None:
    """A server that sends ``Content-Type: text/html`` with its 304 for a JSON page: the
    stored body is still JSON, and a later run reads it as such."""
    wheel = build_wheel(DistSpec("foo", "1.0"), tmp_path / "wheels")
    page = json.dumps({"meta": {"api-version": "1.0"}, "files": [
        {"filename": wheel.name, "url": f"/files/{wheel.name}", "hashes": {"sha256": sha256(wheel)}}]}).encode()

    def handle(request: BaseHTTPRequestHandler) -> None:
        if request.path == "/simple/foo/" and request.headers.get("If-None-Match") == '"p1"':
            return answer(request, 304, ctype="text/html", headers={"ETag": '"p1"'})
        if request.path == "/simple/foo/":
            return answer(request, 200, page, "application/vnd.pypi.simple.v1+json", {"ETag": '"p1"'})
        return answer(request, 200, wheel.read_bytes(), "application/octet-stream")

    server = serve(handle)
    env = {"PYPM_INDEX_URL": f"{server.base}/simple/", "PYPM_CACHE_DIR": str(tmp_path / "cache")}
    run_pypm("lock", cwd=write_project(tmp_path / "p1", ["foo"]), env_extra=env)
    run_pypm("lock", "--refresh", cwd=write_project(tmp_path / "p2", ["foo>=0.1"]), env_extra=env)
    root = write_project(tmp_path / "p3", ["foo>=0.2"])  # reads the stored page, fresh
    run_pypm("lock", cwd=root, env_extra=env)
    assert locked_wheel(root, "foo")["name"] == wheel.name


def test_a_download_record_that_is_not_a_json_object_is_ignored(tmp_path, make_index, run_pypm) -> None:
    """The record kept next to a partial download (``<sha>.json``) damaged into a JSON list:
    the download starts over instead of failing with an internal error."""
    from pypm.store.layout import partial_download

    index = make_index([DistSpec("foo", "1.0")])
    cache = tmp_path / "cache"
    env = {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(cache)}
    root = write_project(tmp_path / "p", ["foo"])
    run_pypm("lock", cwd=root, env_extra=env)
    part = partial_download(cache, locked_wheel(root, "foo")["hashes"]["sha256"])
    part.parent.mkdir(parents=True, exist_ok=True)
    part.write_bytes(b"PK")
    part.with_suffix(".json").write_text("[1, 2]")
    run_pypm("sync", cwd=root, env_extra=env)


def test_bundle_sends_the_credentials_of_the_settings(tmp_path, serve, run_pypm) -> None:
    """A bundle whose sync is up to date still downloads a locked wheel the cache lost: with
    the credentials of the find-links (or index) URL, which the lock does not record; it
    sent none (HTTP 401)."""
    env = guarded_find_links(tmp_path, serve)
    root = write_project(tmp_path / "p", ["foo"])
    run_pypm("sync", "--no-install-project", cwd=root, env_extra=env)
    run_pypm("cache", "clean", cwd=root, env_extra=env)  # .venv keeps its files: its sync stays up to date
    bundled = run_pypm("bundle", "--no-install-project", cwd=root, env_extra=env)
    assert "Synced" not in bundled.stderr and "Downloaded 1 file" in bundled.stderr, bundled.stderr
    assert list((root / "dist").glob("*.tar.gz"))


def test_an_earlier_pypms_metadata_cache_is_read_offline_and_never_changed(tmp_path, make_index, run_pypm,
                                                                             pypm_env) -> None:
    """Metadata files are stored with their digest in ``metadata-v2``; ``metadata-v1``, where
    an earlier pypm sharing the cache keeps bare files, is never changed (that pypm read the
    new format as an invalid version), and offline it still serves a lock."""
    import shutil

    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0")])
    root = write_project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    stored = sorted((cache / "metadata-v2").rglob("*.METADATA"))
    assert len(stored) == 2 and not (cache / "metadata-v1").exists()
    for path in stored:  # what an earlier pypm would have stored: the bare bytes, in metadata-v1
        legacy = cache / "metadata-v1" / path.relative_to(cache / "metadata-v2")
        legacy.parent.mkdir(parents=True, exist_ok=True)
        legacy.write_bytes(path.read_bytes().split(b"\n", 1)[1])
    before = {path: path.read_bytes() for path in (cache / "metadata-v1").rglob("*.METADATA")}
    shutil.rmtree(cache / "metadata-v2")
    shutil.rmtree(cache / "resolutions-v1")
    (root / "pylock.toml").unlink()
    run_pypm("lock", "--offline", cwd=root, env_extra=env)
    assert locked_names(root) >= {"alpha", "beta"}
    run_pypm("lock", "--refresh", cwd=root, env_extra=env)
    assert {path: path.read_bytes() for path in (cache / "metadata-v1").rglob("*.METADATA")} == before
