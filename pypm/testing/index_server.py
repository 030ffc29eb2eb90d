"""A real HTTP package index (PEP 503 / PEP 691) served from a directory, for tests."""

from __future__ import annotations

import hashlib
import shutil
import socket
import struct
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote, unquote, urlsplit

from packaging.utils import NormalizedName, canonicalize_name

from pypm.testing import _pages
from pypm.testing._catalog import Catalog, IndexedFile
from pypm.testing._faults import BodyFaults, Fault, FaultPlan
from pypm.testing._http import UNSATISFIABLE, CaseInsensitiveHeaders, RequestRecord, etag_matches, parse_range

__all__ = ["Fault", "FaultPlan", "IndexServer", "RequestRecord"]

_CHUNK = 1 << 16


class _Dropped(Exception):
    """A fault cut the answer short: close the connection."""


class _Handler(BaseHTTPRequestHandler):
    """Request handler; all state lives on the owning :class:`IndexServer`."""

    protocol_version = "HTTP/1.1"
    server_version = "pypm-test-index/1.0"
    timeout = 60
    disable_nagle_algorithm = True  # small keep-alive responses must not wait for ACKs
    owner: IndexServer  # set on the per-server subclass
    _fault: Fault | None = None
    _body_faults: BodyFaults = BodyFaults(None)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from base
        """Stay quiet."""

    def send_response(self, code: int, message: str | None = None) -> None:
        """Send the status line and record the request before anything reaches the client."""
        raw = getattr(self, "headers", None)
        headers = CaseInsensitiveHeaders((k.lower(), v) for k, v in (raw.items() if raw is not None else ()))
        method, target = getattr(self, "command", None) or "", getattr(self, "path", None) or ""
        self.owner._record(RequestRecord(method, target, headers, code, time.monotonic()))
        super().send_response(code, message)

    def end_headers(self) -> None:
        """Add a fault's extra headers, then end the header block."""
        for key, value in (self._fault.headers if self._fault is not None else {}).items():
            self.send_header(key, value)
        super().end_headers()

    def _body(self, data: bytes) -> None:
        """Write body bytes, applying the request's stall / drop fault."""
        view = memoryview(data)
        while True:
            allowed, event = self._body_faults.split(len(view))
            self.wfile.write(view[:allowed])
            self._body_faults.sent += allowed
            view = view[allowed:]
            if event == "drop":
                raise _Dropped
            if event is None:
                return
            self.owner._stopping.wait(self._fault.stall_seconds if self._fault is not None else 0)

    def _reset(self) -> None:
        """Answer nothing and close the connection with a TCP reset."""
        self.owner._record(RequestRecord(self.command, self.path, CaseInsensitiveHeaders(
            (k.lower(), v) for k, v in self.headers.items()), 0, time.monotonic()))
        linger = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        self.server.reset_on_close.add(self.connection)  # type: ignore[attr-defined]
        self.close_connection = True

    def do_GET(self) -> None:
        """Serve a GET."""
        self._dispatch(head=False)

    def do_HEAD(self) -> None:
        """Serve a HEAD."""
        self._dispatch(head=True)

    def _dispatch(self, *, head: bool) -> None:
        path = unquote(urlsplit(self.path).path)
        self._fault = fault = self.owner.faults.take(self.command, path)
        self._body_faults = BodyFaults(fault)
        try:
            if fault is not None and fault.reset:
                self._reset()
            elif fault is not None and fault.status is not None:
                extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
                self._plain(fault.status, f"injected fault: HTTP {fault.status}", head=head, headers=extra)
            elif path == "/simple":
                self._redirect("/simple/")
            elif path == "/simple/":
                self._index_page(None, head=head)
            elif path.startswith("/simple/"):
                name = path[len("/simple/") :].rstrip("/")
                canonical = canonicalize_name(name)
                if "/" in name or not name:
                    self._plain(404, "Not Found", head=head)
                elif name != canonical or not path.endswith("/"):
                    self._redirect(f"/simple/{quote(canonical)}/")
                else:
                    self._index_page(canonical, head=head)
            elif path.startswith("/files/") and "/" not in path[len("/files/") :]:
                self._file(path[len("/files/") :], head=head)
            else:
                self._plain(404, "Not Found", head=head)
        except (BrokenPipeError, ConnectionResetError, _Dropped):
            self.close_connection = True

    def _plain(self, status: int, text: str, *, head: bool, headers: dict[str, str] | None = None) -> None:
        body = (text + "\n").encode("utf-8")
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self._body(body)

    def _redirect(self, location: str) -> None:
        self._plain(301, f"Moved to {location}", head=self.command == "HEAD", headers={"Location": location})

    def _index_page(self, project: NormalizedName | None, *, head: bool) -> None:
        owner = self.owner
        if owner.flavour == "json":
            ctype = _pages.negotiate(self.headers.get("Accept"))
        else:  # a plain PEP 503 server: no content negotiation at all
            ctype = _pages.TEXT_HTML_TYPE
        as_json = ctype == _pages.JSON_TYPE
        projects = owner._catalog.projects()
        if project is None:
            names = list(projects)
            body = _pages.project_list_json(names) if as_json else _pages.project_list_html(names)
        elif project not in projects:
            self._plain(404, f"No such project: {project}", head=head)
            return
        else:
            render = _pages.project_json if as_json else _pages.project_html
            body = render(
                project, projects[project], owner.files_url, metadata_files=owner.metadata_files, yanked=owner.yanked
            )
        if not as_json:
            ctype = f"{ctype}; charset=utf-8"
        etag = '"' + hashlib.sha256(ctype.encode() + b"\0" + body).hexdigest()[:32] + '"'
        if etag_matches(self.headers.get("If-None-Match"), etag):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Vary", "Accept")
            self._page_cache_control()
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Vary", "Accept")
        self._page_cache_control()
        self.end_headers()
        if not head:
            self._body(body)

    def _page_cache_control(self) -> None:
        if self.owner.page_cache_control is not None:
            self.send_header("Cache-Control", self.owner.page_cache_control)

    def _file(self, filename: str, *, head: bool) -> None:
        owner = self.owner
        if filename.endswith(".whl.metadata"):
            info = owner._catalog.find(filename[: -len(".metadata")])
            if not owner.metadata_files or info is None or info.metadata is None:
                self._plain(404, "Not Found", head=head)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(len(info.metadata)))
            self.send_header("ETag", f'"{info.metadata_sha256}"')
            self.end_headers()
            if not head:
                self._body(info.metadata)
            return
        found = owner._catalog.find(filename)
        if found is None:
            self._plain(404, "Not Found", head=head)
            return
        self._send_dist(found, head=head)

    def _send_dist(self, info: IndexedFile, *, head: bool) -> None:
        etag = f'"{info.sha256}"'
        size = info.size
        span: tuple[int, int] | None = None
        range_header = self.headers.get("Range")
        if self.owner.support_ranges and range_header is not None:
            if_range = self.headers.get("If-Range")
            if if_range is None or if_range.strip() == etag:
                span = parse_range(range_header, size)
        if span == UNSATISFIABLE:
            self._plain(416, "Range Not Satisfiable", head=head, headers={"Content-Range": f"bytes */{size}"})
            return
        if span is None and etag_matches(self.headers.get("If-None-Match"), etag):
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        start, end = span if span is not None else (0, size - 1)
        self.send_response(206 if span is not None else 200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(end - start + 1))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(info.mtime, usegmt=True))
        self.send_header("Accept-Ranges", "bytes" if self.owner.support_ranges else "none")
        if span is not None:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if head:
            return
        remaining = end - start + 1
        with info.path.open("rb") as fh:
            fh.seek(start)
            while remaining > 0:
                chunk = fh.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                self._body(chunk)
                remaining -= len(chunk)
                if self.owner.rate_limit:
                    time.sleep(len(chunk) / self.owner.rate_limit)


class _QuietServer(ThreadingHTTPServer):
    """Threading server that never prints tracebacks for dropped connections."""

    daemon_threads = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reset_on_close: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def shutdown_request(self, request: Any) -> None:
        """Close the connection; one marked for a reset is closed without a FIN first."""
        if request in self.reset_on_close:
            self.close_request(request)
        else:
            super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Swallow handler errors (clients hanging up mid-response, etc.)."""


class IndexServer:
    """Serve the dist files in ``files_dir`` as a simple index on 127.0.0.1.

    ``flavour`` is ``"json"`` (PEP 691 with HTML fallback by content
    negotiation) or ``"html"`` (PEP 503 only). ``yanked`` maps a file name (or
    ``"<canonical name>==<version>"``) to a yank reason. The directory is
    re-scanned on every request, so files added later are visible.

    ``page_cache_control``: a ``Cache-Control`` value sent with every index page (by
    default none, as the mirror this project is tested against sends none).

    ``faults`` (and ``server.faults``, a :class:`FaultPlan` that tests may add to
    while the server runs) inject network failures; see :class:`Fault`. ``port``
    binds a given port instead of a free one (0).
    """

    def __init__(
        self,
        files_dir: Path,
        flavour: str = "json",
        *,
        metadata_files: bool = True,
        yanked: dict[str, str] | None = None,
        support_ranges: bool = True,
        rate_limit: int | None = None,
        page_cache_control: str | None = None,
        faults: Iterable[Fault] = (),
        port: int = 0,
    ) -> None:
        """Configure the server (it is not started yet); ``rate_limit`` caps the bytes
        per second of each file download (to test interrupted downloads)."""
        if flavour not in ("json", "html"):
            raise ValueError(f"unknown flavour {flavour!r}; expected 'json' or 'html'")
        self.files_dir = Path(files_dir)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.flavour = flavour
        self.metadata_files = metadata_files
        self.yanked: dict[str, str] = dict(yanked or {})
        self.support_ranges = support_ranges
        self.rate_limit = rate_limit
        self.page_cache_control = page_cache_control
        self.faults = FaultPlan(faults)
        self.port = port
        self.requests: list[RequestRecord] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._catalog = Catalog(self.files_dir)
        self._httpd: _QuietServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT`` (the server must be running)."""
        if self._httpd is None:
            raise RuntimeError("IndexServer is not running; call start() first")
        return f"http://127.0.0.1:{self._httpd.server_port}"

    @property
    def url(self) -> str:
        """The simple index URL to hand to pypm (``.../simple/``)."""
        return f"{self.base_url}/simple/"

    @property
    def files_url(self) -> str:
        """Base URL of the file downloads (``.../files/``)."""
        return f"{self.base_url}/files/"

    def start(self) -> IndexServer:
        """Bind a random free port and serve in a daemon thread; returns self."""
        if self._httpd is not None:
            return self
        handler = type("_BoundHandler", (_Handler,), {"owner": self})
        self._stopping.clear()
        self._httpd = _QuietServer(("127.0.0.1", self.port), handler)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="pypm-test-index", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and release the port (idempotent)."""
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        self._stopping.set()  # ends injected stalls
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> IndexServer:
        """Start the server."""
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Stop the server."""
        self.stop()

    def _record(self, record: RequestRecord) -> None:
        """Append to the request log (thread-safe)."""
        with self._lock:
            self.requests.append(record)

    def clear_requests(self) -> None:
        """Forget all logged requests."""
        with self._lock:
            self.requests.clear()

    def add(self, path: Path) -> None:
        """Copy a dist file into ``files_dir`` atomically (visible on the next request)."""
        target = self.files_dir / Path(path).name
        tmp = target.with_name(target.name + ".part")
        shutil.copyfile(path, tmp)
        tmp.replace(target)
