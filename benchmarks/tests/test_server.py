"""The snapshot server answers PEP 691 JSON, PEP 503 HTML and PEP 658 metadata from a tiny snapshot."""

from __future__ import annotations

import hashlib
import io
import json
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.snapshot import Snapshot, SnapshotServer
from benchmarks.snapshot.build import choose_downloads
from benchmarks.snapshot.pages import JSON_TYPE, negotiate
from benchmarks.snapshot.store import FORMAT, metadata_name

METADATA = b"Metadata-Version: 2.1\nName: demo-pkg\nVersion: 1.0\n"


def _wheel_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("demo_pkg/__init__.py", "")
        zf.writestr("demo_pkg-1.0.dist-info/METADATA", METADATA)
    return buf.getvalue()


def _entry(filename: str, data: bytes) -> dict[str, object]:
    return {
        "filename": filename,
        "hashes": {"sha256": hashlib.sha256(data).hexdigest()},
        "size": len(data),
        "requires-python": ">=3.10",
        "yanked": False,
        "upload-time": None,
        "version": "1.0",
    }


@pytest.fixture
def server(tmp_path: Path) -> Iterator[SnapshotServer]:
    wheel = _wheel_bytes()
    (tmp_path / "files").mkdir()
    (tmp_path / "metadata").mkdir()
    (tmp_path / "files" / "demo_pkg-1.0-py3-none-any.whl").write_bytes(wheel)
    (tmp_path / "metadata" / metadata_name("demo-pkg", "1.0")).write_bytes(METADATA)
    files = [
        _entry("demo_pkg-1.0-py3-none-any.whl", wheel),
        _entry("demo_pkg-1.0-cp311-cp311-win_amd64.whl", b"not downloaded"),
        _entry("demo_pkg-1.0.tar.gz", b"sdist not downloaded"),
    ]
    index = {"format": FORMAT, "covers": {}, "projects": {"demo-pkg": {"versions": ["1.0"], "files": files}}}
    (tmp_path / "index.json").write_text(json.dumps(index))
    with SnapshotServer(Snapshot.load(tmp_path)) as srv:
        yield srv


def _get(url: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def test_pep691_page_with_pep658_metadata(server: SnapshotServer) -> None:
    status, headers, body = _get(server.url + "demo-pkg/", Accept=JSON_TYPE)
    assert status == 200 and headers["Content-Type"] == JSON_TYPE
    page = json.loads(body)
    assert page["meta"]["api-version"] == "1.1" and page["versions"] == ["1.0"]
    by_name = {f["filename"]: f for f in page["files"]}
    digest = hashlib.sha256(METADATA).hexdigest()
    assert by_name["demo_pkg-1.0-py3-none-any.whl"]["core-metadata"] == {"sha256": digest}
    # the METADATA of the downloaded wheel serves the other wheels of the version too
    assert by_name["demo_pkg-1.0-cp311-cp311-win_amd64.whl"]["core-metadata"] == {"sha256": digest}
    assert "core-metadata" not in by_name["demo_pkg-1.0.tar.gz"]
    status, _, meta = _get(by_name["demo_pkg-1.0-cp311-cp311-win_amd64.whl"]["url"] + ".metadata")
    assert status == 200 and hashlib.sha256(meta).hexdigest() == digest


def test_html_fallback_and_redirect(server: SnapshotServer) -> None:
    status, headers, body = _get(server.url + "Demo_Pkg/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert b'data-core-metadata="sha256=' in body and b'data-requires-python="&gt;=3.10"' in body
    status, _, body = _get(server.url, Accept=JSON_TYPE)
    assert json.loads(body)["projects"] == [{"name": "demo-pkg"}]


def test_etag_304_files_and_missing(server: SnapshotServer) -> None:
    _, headers, _ = _get(server.url + "demo-pkg/", Accept=JSON_TYPE)
    status, _, body = _get(server.url + "demo-pkg/", Accept=JSON_TYPE, **{"If-None-Match": headers["ETag"]})
    assert status == 304 and body == b""
    wheel_url = server.files_url + "demo_pkg-1.0-py3-none-any.whl"
    status, headers, body = _get(wheel_url)
    assert status == 200 and body == _wheel_bytes()
    assert headers["ETag"] == f'"{hashlib.sha256(body).hexdigest()}"'
    status, _, part = _get(wheel_url, Range="bytes=0-9")
    assert status == 206 and part == body[:10]
    assert _get(server.files_url + "demo_pkg-1.0.tar.gz")[0] == 404
    assert _get(server.url + "nope/")[0] == 404
    assert server.missing_files == {"demo_pkg-1.0.tar.gz": 1}


def test_negotiate() -> None:
    assert negotiate(None) == "text/html"
    assert negotiate(f"{JSON_TYPE}, text/html;q=0.01") == JSON_TYPE
    assert negotiate(f"text/html, {JSON_TYPE};q=0.5") == "text/html"


def test_choose_downloads_prefers_installable_wheels() -> None:
    from packaging.tags import Tag

    rank = {Tag("cp311", "cp311", "manylinux_2_28_x86_64"): 0, Tag("py3", "none", "any"): 5}
    files = [
        {"filename": "a-1.0-cp311-cp311-manylinux_2_28_x86_64.whl", "size": 9},
        {"filename": "a-1.0-cp311-cp311-win_amd64.whl", "size": 5},
        {"filename": "a-1.0.tar.gz", "size": 1},
    ]
    assert [f["filename"] for f in choose_downloads(files, rank)] == ["a-1.0-cp311-cp311-manylinux_2_28_x86_64.whl"]
    assert [f["filename"] for f in choose_downloads(files[1:], rank)] == ["a-1.0-cp311-cp311-win_amd64.whl"]
    assert [f["filename"] for f in choose_downloads(files[2:], rank)] == ["a-1.0.tar.gz"]
