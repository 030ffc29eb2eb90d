"""Serve a :class:`Snapshot` over HTTP on 127.0.0.1 from a daemon thread.

Routes: ``/simple/`` (project list), ``/simple/<name>/`` (PEP 691 JSON or PEP 503 HTML by
``Accept``; non-normalized names redirect), ``/files/<filename>`` (downloaded files, with
ETag/304 and single byte ranges) and ``/files/<wheel>.metadata`` (PEP 658). Pages carry an
ETag and answer ``If-None-Match`` with 304, like the public index (no ``Cache-Control``).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from benchmarks.snapshot import pages
from benchmarks.snapshot.store import Snapshot

__all__ = ["SnapshotServer", "canonical_name"]

_CHUNK = 1 << 16
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def canonical_name(name: str) -> str:
    """PEP 503 normalization."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    tags = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in tags or etag in tags


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "bench-snapshot/1.0"
    owner: SnapshotServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
        """Stay quiet."""

    def do_GET(self) -> None:
        """Serve a GET."""
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        """Serve a HEAD."""
        self._dispatch(head=True)

    def _dispatch(self, *, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        try:
            if path in ("/simple", "/simple/"):
                self._page(None, head)
            elif path.startswith("/simple/"):
                name = path[len("/simple/") :].strip("/")
                canonical = canonical_name(name)
                if not name or "/" in name:
                    self._status(404, head)
                elif name != canonical or not path.endswith("/"):
                    self._status(301, head, {"Location": f"/simple/{quote(canonical)}/"})
                else:
                    self._page(canonical, head)
            elif path.startswith("/files/"):
                self._file(path[len("/files/") :], head)
            else:
                self._status(404, head)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _status(self, code: int, head: bool, headers: dict[str, str] | None = None) -> None:
        body = f"{code}\n".encode()
        self.owner.count(code, self.path)
        self.send_response(code)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _send_bytes(self, body: bytes, ctype: str, etag: str, head: bool) -> None:
        if _etag_matches(self.headers.get("If-None-Match"), etag):
            self.owner.count(304, self.path)
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Vary", "Accept")
            self.end_headers()
            return
        self.owner.count(200, self.path)
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Vary", "Accept")
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def _page(self, name: str | None, head: bool) -> None:
        snap, ctype = self.owner.snapshot, pages.negotiate(self.headers.get("Accept"))
        if name is not None and name not in snap.projects:
            self._status(404, head)
            return
        as_json = ctype == pages.JSON_TYPE
        if name is None:
            body = pages.index_json(snap) if as_json else pages.index_html(snap)
        elif as_json:
            body = pages.project_json(snap, name, self.owner.files_url)
        else:
            body = pages.project_html(snap, name, self.owner.files_url)
        etag = '"' + hashlib.sha256(ctype.encode() + b"\0" + body).hexdigest()[:32] + '"'
        self._send_bytes(body, ctype if as_json else ctype + "; charset=utf-8", etag, head)

    def _file(self, filename: str, head: bool) -> None:
        snap = self.owner.snapshot
        if filename.endswith(".metadata"):
            meta = snap.metadata(filename[: -len(".metadata")])
            if meta is None:
                self.owner.missing(filename)
                self._status(404, head)
            else:
                self._send_bytes(meta[0], "application/octet-stream", f'"{meta[1]}"', head)
            return
        path = snap.file_path(filename)
        if path is None:
            self.owner.missing(filename)
            self._status(404, head)
            return
        self._send_file(path, head)

    def _send_file(self, path: Path, head: bool) -> None:
        size = path.stat().st_size
        etag = '"' + self.owner.file_etag(path) + '"'
        start, end, code = 0, size - 1, 200
        match = _RANGE.match(self.headers.get("Range", "").strip())
        if match and (self.headers.get("If-Range") in (None, etag)):
            first, last = match.groups()
            if first:
                start, end = int(first), min(int(last), size - 1) if last else size - 1
            elif last:
                start = max(size - int(last), 0)
            if start > end or start >= size:
                self._status(416, head, {"Content-Range": f"bytes */{size}"})
                return
            code = 206
        elif _etag_matches(self.headers.get("If-None-Match"), etag):
            self._send_bytes(b"", "application/octet-stream", etag, head)
            return
        self.owner.count(code, self.path)
        self.send_response(code)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", etag)
        self.send_header("Accept-Ranges", "bytes")
        if code == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        remaining = end - start + 1
        with path.open("rb") as fh:
            fh.seek(start)
            while remaining > 0:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                self.wfile.write(chunk)
                remaining -= len(chunk)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 64

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hang up."""


class SnapshotServer:
    """A running HTTP view of a snapshot; use as a context manager or start()/stop()."""

    def __init__(self, snapshot: Snapshot) -> None:
        """Wrap ``snapshot`` (not started yet)."""
        self.snapshot = snapshot
        self.status_counts: Counter[int] = Counter()
        self.missing_files: Counter[str] = Counter()
        self._etags: dict[Path, str] = {}
        self._lock = threading.Lock()
        self._httpd: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """The simple index URL (``http://127.0.0.1:PORT/simple/``)."""
        return f"{self.base_url}/simple/"

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        if self._httpd is None:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self._httpd.server_port}"

    @property
    def files_url(self) -> str:
        """Absolute base URL of the files."""
        return f"{self.base_url}/files/"

    def count(self, code: int, path: str) -> None:
        """Record a response status."""
        with self._lock:
            self.status_counts[code] += 1

    def missing(self, filename: str) -> None:
        """Record a request for a file the snapshot does not hold."""
        with self._lock:
            self.missing_files[filename] += 1

    def file_etag(self, path: Path) -> str:
        """The sha256 of a served file (computed once)."""
        with self._lock:
            cached = self._etags.get(path)
        if cached is None:
            digest = hashlib.sha256()
            with path.open("rb") as fh:
                for chunk in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(chunk)
            cached = digest.hexdigest()
            with self._lock:
                self._etags[path] = cached
        return cached

    def start(self) -> SnapshotServer:
        """Bind a free port on 127.0.0.1 and serve from a daemon thread."""
        if self._httpd is None:
            handler = type("_Bound", (_Handler,), {"owner": self})
            self._httpd = _Server(("127.0.0.1", 0), handler)
            self._thread = threading.Thread(target=self._httpd.serve_forever, name="bench-index", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is not None:
            httpd.shutdown()
            httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> SnapshotServer:
        """Start serving."""
        return self.start()

    def __exit__(self, *exc: object) -> None:
        """Stop serving."""
        self.stop()
