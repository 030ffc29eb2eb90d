"""A tiny package index on 127.0.0.1 that lies: every answer is wrong in one named way.

The first path segment picks the lie: ``http://127.0.0.1:PORT/<lie>/simple/`` is an index
that tells it for every page, ``.../<lie>/files/<name>`` serves the real file ``<name>``
(from ``files_dir``) with that lie. Lies that concern pages leave files alone and the
reverse, so a lock can point at ``<lie>/files/`` to test downloads.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
GARBAGE = bytes(range(256)) * 8
SLOW_SECONDS = 4.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: LyingIndex

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from base
        """Stay quiet."""

    def do_GET(self) -> None:
        """Split ``/<lie>/<rest>`` and tell that lie."""
        parts = unquote(urlsplit(self.path).path).split("/", 2)
        lie, rest = (parts[1], "/" + parts[2]) if len(parts) == 3 else ("", self.path)
        handler = PAGE_LIES.get(lie) if rest.startswith("/simple") else FILE_LIES.get(lie)
        try:
            if handler is None:
                self.answer(404, b"no such lie\n", "text/plain")
            else:
                handler(self, lie, rest)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def answer(self, status: int, body: bytes, content_type: str, length: int | None = None,
               headers: dict[str, str] | None = None) -> None:
        """Send a response whose Content-Length may claim more than ``body`` (then close)."""
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body) if length is None else length))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)
        if length is not None and length != len(body):
            self.close_connection = True

    def project_json(self, lie: str, rest: str, files: list[dict[str, Any]]) -> bytes:
        name = rest.strip("/").split("/")[-1]
        return json.dumps({"meta": {"api-version": "1.0"}, "name": name, "files": files}).encode()

    def real_file(self, rest: str) -> bytes | None:
        name = rest.rsplit("/", 1)[-1]
        path = self.owner.files_dir / name
        return path.read_bytes() if "/" not in name and path.is_file() else None


def _page(body: bytes, content_type: str = JSON_TYPE, status: int = 200,
          headers: dict[str, str] | None = None) -> Callable[..., None]:
    def tell(handler: _Handler, lie: str, rest: str) -> None:
        handler.answer(status, body, content_type, headers=headers)

    return tell


def _slow_404(handler: _Handler, lie: str, rest: str) -> None:
    """Take :data:`SLOW_SECONDS` to say 404 (keeps a pypm busy, holding its project lock)."""
    time.sleep(SLOW_SECONDS)
    handler.answer(404, b"Not Found\n", "text/plain")


def _truncated_page(handler: _Handler, lie: str, rest: str) -> None:
    body = handler.project_json(lie, rest, [])
    handler.answer(200, body[: len(body) // 2], JSON_TYPE, length=len(body) + 4096)


def _redirect_loop(handler: _Handler, lie: str, rest: str) -> None:
    handler.answer(302, b"", "text/plain", headers={"Location": f"/{lie}{rest}"})


def _garbage_wheel_listed(handler: _Handler, lie: str, rest: str) -> None:
    """A wheel whose listed sha256 is right, but whose bytes are not a zip."""
    entry = {"filename": "alpha-1.0-py3-none-any.whl", "url": f"/{lie}/files/alpha-1.0-py3-none-any.whl",
             "hashes": {"sha256": hashlib.sha256(GARBAGE).hexdigest()}, "size": len(GARBAGE)}
    handler.answer(200, handler.project_json(lie, rest, [entry]), JSON_TYPE)


def _bad_metadata_listed(handler: _Handler, lie: str, rest: str) -> None:
    """A wheel with a PEP 658 metadata file that is garbage (its hash matches the garbage)."""
    entry = {"filename": "alpha-1.0-py3-none-any.whl", "url": f"/{lie}/files/alpha-1.0-py3-none-any.whl",
             "hashes": {"sha256": "0" * 64}, "core-metadata": {"sha256": hashlib.sha256(GARBAGE).hexdigest()}}
    handler.answer(200, handler.project_json(lie, rest, [entry]), JSON_TYPE)


def _files_of_wrong_shape(handler: _Handler, lie: str, rest: str) -> None:
    handler.answer(200, handler.project_json(lie, rest, [{"filename": 5, "url": None, "hashes": "x"}]), JSON_TYPE)


def _invalid_filenames(handler: _Handler, lie: str, rest: str) -> None:
    entries = [{"filename": name, "url": f"/{lie}/files/{name}", "hashes": {"sha256": "0" * 64}}
               for name in ("alpha-not.a.version-py3-none-any.whl", "alpha.whl", "alpha-1.0.tar.xz.exe")]
    handler.answer(200, handler.project_json(lie, rest, entries), JSON_TYPE)


PAGE_LIES: dict[str, Callable[[_Handler, str, str], None]] = {
    "garbage-json": _page(b'{"name": "alpha", "files": [{"filename": '),
    "json-not-an-object": _page(b'["alpha", 1, null]'),
    "json-files-not-a-list": _page(b'{"meta": {"api-version": "1.0"}, "name": "alpha", "files": "all of them"}'),
    "json-file-entries-wrong": _files_of_wrong_shape,
    "json-nested-deeply": _page(b"[" * 200_000 + b"]" * 200_000),
    "json-api-version-999": _page(b'{"meta": {"api-version": "999.0"}, "name": "alpha", "files": []}'),
    "html-no-links": _page(b"<html><body><h1>Nothing to see</h1></body></html>", "text/html"),
    "html-not-utf8": _page(GARBAGE, "text/html; charset=utf-8"),
    "wrong-content-type": _page(GARBAGE, "image/png"),
    "empty-body": _page(b""),
    "truncated-page": _truncated_page,
    "404-everything": _page(b"Not Found\n", "text/plain", 404),
    "403-everything": _page(b"Forbidden\n", "text/plain", 403),
    # Retry-After: 0 keeps pypm's retries of a 5xx from sleeping (the test stays fast)
    "500-everything": _page(b"Internal Server Error\n", "text/plain", 500, {"Retry-After": "0"}),
    "redirect-loop": _redirect_loop,
    "slow-404": _slow_404,
    "wheel-not-a-zip": _garbage_wheel_listed,
    "metadata-garbage": _bad_metadata_listed,
    "invalid-filenames": _invalid_filenames,
}


def _file_truncated(handler: _Handler, lie: str, rest: str) -> None:
    data = handler.real_file(rest)
    if data is None:
        handler.answer(404, b"Not Found\n", "text/plain")
    else:
        handler.answer(200, data[: len(data) // 2], "application/octet-stream", length=len(data))


def _file_garbage(handler: _Handler, lie: str, rest: str) -> None:
    if rest.endswith(".metadata"):
        handler.answer(200, GARBAGE, "application/octet-stream")
        return
    data = handler.real_file(rest)
    size = len(data) if data is not None else len(GARBAGE)
    handler.answer(200, (GARBAGE * (size // len(GARBAGE) + 1))[:size], "application/octet-stream")


FILE_LIES: dict[str, Callable[[_Handler, str, str], None]] = {
    "truncated-file": _file_truncated,
    "garbage-file": _file_garbage,
    "html-instead-of-file": _page(b"<html><body>Please log in</body></html>", "text/html"),
    "404-everything": _page(b"Not Found\n", "text/plain", 404),
    "wheel-not-a-zip": _file_garbage,
    "metadata-garbage": _file_garbage,
}


class LyingIndex:
    """Serve the lies on ``127.0.0.1`` in a daemon thread; ``url(lie)`` is an index URL."""

    def __init__(self, files_dir: Path) -> None:
        self.files_dir = files_dir
        handler = type("Handler", (_Handler,), {"owner": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, lie: str) -> str:
        """The simple-index URL that tells ``lie``."""
        return f"{self.base_url}/{lie}/simple/"

    def files_url(self, lie: str) -> str:
        """The files URL prefix that tells ``lie``."""
        return f"{self.base_url}/{lie}/files/"

    def start(self) -> LyingIndex:
        """Start serving."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
