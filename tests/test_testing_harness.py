"""Tests for the pypm.testing harness: dist builders, local index server, pytest plugin."""

from __future__ import annotations

import csv
import hashlib
import http.client
import io
import json
import os
import re
import subprocess
import sys
import tarfile
import textwrap
import urllib.request
import zipfile
from email.parser import BytesHeaderParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import pytest
from installer import install
from installer.destinations import SchemeDictionaryDestination
from installer.sources import WheelFile
from packaging.requirements import Requirement

import pypm
from pypm.testing import DistSpec, IndexServer, build_sdist, build_wheel
from pypm.testing._archive import record_hash
from pypm.testing._http import UNSATISFIABLE, parse_range
from pypm.testing.builders import wheel_from_installed
from pypm.testing.plugin import MakeIndex, RunPypm

JSON_ACCEPT = "application/vnd.pypi.simple.v1+json"
PIP_ACCEPT = "application/vnd.pypi.simple.v1+json, application/vnd.pypi.simple.v1+html; q=0.1, text/html; q=0.01"
SPEC = DistSpec(
    "Foo_Bar",
    "1.2",
    requires=["attrs>=20"],
    extras={"fast": ["ujson; python_version < '4'", "orjson"]},
    requires_python=">=3.8",
    entry_points={"foo-bar": "foo_bar:main"},
)


def _install(wheel: Path, root: Path) -> dict[str, Path]:
    """Install ``wheel`` with the installer library into a scheme under ``root``."""
    scheme = {key: root / key for key in ("purelib", "platlib", "headers", "scripts", "data")}
    kind: Literal["posix", "win-amd64"] = "win-amd64" if os.name == "nt" else "posix"
    dest = SchemeDictionaryDestination({k: str(v) for k, v in scheme.items()}, sys.executable, kind)
    with WheelFile.open(wheel) as source:
        source.validate_record()
        install(source, dest, {"INSTALLER": b"pypm-tests\n"})
    return scheme


def _python(code: str, pythonpath: Path) -> str:
    """Run ``code`` in a fresh interpreter with ``pythonpath`` first on sys.path."""
    env = {**os.environ, "PYTHONPATH": str(pythonpath)}
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return proc.stdout.strip()


def _metadata(raw: bytes) -> tuple[dict[str, str], list[str]]:
    """Parse core metadata into (single-valued headers, Requires-Dist list)."""
    msg = BytesHeaderParser().parsebytes(raw)
    return dict(msg.items()), msg.get_all("Requires-Dist") or []


def _request(
    server: IndexServer, path: str, headers: dict[str, str] | None = None, method: str = "GET"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """Raw request (no redirect following); returns (status, headers, body)."""
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read()
    finally:
        conn.close()


def _fetch_json(url: str) -> dict[str, Any]:
    """GET a PEP 691 JSON page with urllib."""
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": JSON_ACCEPT})) as resp:
        assert resp.headers["Content-Type"] == JSON_ACCEPT
        page: dict[str, Any] = json.load(resp)
        return page


# ---------------------------------------------------------------- builders


def test_wheel_installs_and_module_imports(tmp_path: Path) -> None:
    """A built wheel installs with `installer` and its module imports in a fresh interpreter."""
    wheel = build_wheel(SPEC, tmp_path / "dist")
    assert wheel.name == "foo_bar-1.2-py3-none-any.whl"
    scheme = _install(wheel, tmp_path / "env")
    assert _python("import foo_bar; print(foo_bar.__version__)", scheme["purelib"]) == "1.2"
    assert (scheme["scripts"] / "foo-bar").is_file()
    assert (scheme["purelib"] / "foo_bar-1.2.dist-info" / "entry_points.txt").is_file()


def test_wheel_record_hashes_and_sizes(tmp_path: Path) -> None:
    """RECORD lists every entry with a correct hash and size; its own line is empty."""
    wheel = build_wheel(SPEC, tmp_path)
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        rows = list(csv.reader(io.StringIO(zf.read("foo_bar-1.2.dist-info/RECORD").decode())))
        assert names[-1] == "foo_bar-1.2.dist-info/RECORD"
        assert sorted(row[0] for row in rows) == sorted(names)
        for path, digest, size in rows:
            if path.endswith("/RECORD"):
                assert (digest, size) == ("", "")
                continue
            data = zf.read(path)
            assert digest == record_hash(data) and int(size) == len(data)
            assert re.fullmatch(r"sha256=[A-Za-z0-9_-]{43}", digest)


def test_wheel_metadata_and_wheel_file(tmp_path: Path) -> None:
    """File name, WHEEL tags/purelib flag and METADATA fields follow the spec."""
    spec = DistSpec("Foo.Bar_baz", "2.0", tag="cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64")
    wheel = build_wheel(spec, tmp_path)
    assert wheel.name == "foo_bar_baz-2.0-cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    with zipfile.ZipFile(wheel) as zf:
        wheel_txt = zf.read("foo_bar_baz-2.0.dist-info/WHEEL").decode()
        assert "foo_bar_baz/__init__.py" in zf.namelist()
    assert "Root-Is-Purelib: false" in wheel_txt
    assert sorted(re.findall(r"^Tag: (.*)$", wheel_txt, re.M)) == [
        "cp311-cp311-manylinux2014_x86_64",
        "cp311-cp311-manylinux_2_17_x86_64",
    ]
    with zipfile.ZipFile(build_wheel(SPEC, tmp_path)) as zf:
        assert "Root-Is-Purelib: true" in zf.read("foo_bar-1.2.dist-info/WHEEL").decode()
        headers, requires = _metadata(zf.read("foo_bar-1.2.dist-info/METADATA"))
    assert (headers["Metadata-Version"], headers["Name"], headers["Version"]) == ("2.1", "Foo_Bar", "1.2")
    assert headers["Requires-Python"] == ">=3.8" and headers["Provides-Extra"] == "fast"
    parsed = [Requirement(r) for r in requires]
    assert [r.name for r in parsed] == ["attrs", "ujson", "orjson"]
    ujson = parsed[1]
    assert ujson.marker is not None
    assert ujson.marker.evaluate({"extra": "fast"}) and not ujson.marker.evaluate({"extra": "other"})
    assert str(parsed[0]) == "attrs>=20"


def test_custom_files_and_padding(tmp_path: Path) -> None:
    """`files` replaces the generated module; `pad_bytes` adds incompressible data."""
    spec = DistSpec("pad", "1.0", files={"padmod.py": "X = 1\n"}, pad_bytes=200_000)
    wheel = build_wheel(spec, tmp_path)
    assert wheel.stat().st_size > 200_000  # padding is incompressible
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        assert "padmod.py" in names and "pad/__init__.py" not in names
        assert len(zf.read("pad/_pad.bin")) == 200_000
    other = build_wheel(DistSpec("pad", "1.1", pad_bytes=64), tmp_path)
    with zipfile.ZipFile(wheel) as a, zipfile.ZipFile(other) as b:
        assert a.read("pad/_pad.bin")[:64] != b.read("pad/_pad.bin")


def test_builds_are_deterministic(tmp_path: Path) -> None:
    """The same spec gives byte-identical wheels and sdists."""
    spec = DistSpec("det", "0.1", requires=["a"], pad_bytes=1000)
    for builder in (build_wheel, build_sdist):
        first = builder(spec, tmp_path / "one").read_bytes()
        assert builder(spec, tmp_path / "two").read_bytes() == first
    with zipfile.ZipFile(build_wheel(spec, tmp_path)) as zf:
        assert {info.date_time for info in zf.infolist()} == {(1980, 1, 1, 0, 0, 0)}
    assert build_wheel(DistSpec("det", "0.2"), tmp_path).read_bytes() != build_wheel(spec, tmp_path).read_bytes()


def test_sdist_layout_and_flit_build(tmp_path: Path) -> None:
    """The sdist unpacks to a project flit_core.buildapi can build into a wheel."""
    sdist = build_sdist(SPEC, tmp_path / "dist")
    assert sdist.name == "foo_bar-1.2.tar.gz"
    with tarfile.open(sdist) as tar:
        names = tar.getnames()
        if hasattr(tarfile, "data_filter"):
            tar.extractall(tmp_path / "src", filter="data")
        else:  # Python without extraction filters (< 3.10.12)
            tar.extractall(tmp_path / "src")  # noqa: S202 - our own archive
    assert {"foo_bar-1.2/PKG-INFO", "foo_bar-1.2/pyproject.toml", "foo_bar-1.2/foo_bar/__init__.py"} <= set(names)
    src = tmp_path / "src" / "foo_bar-1.2"
    assert "flit_core.buildapi" in (src / "pyproject.toml").read_text()
    out = tmp_path / "out"
    out.mkdir()
    code = "import sys, flit_core.buildapi as b; print(b.build_wheel(sys.argv[1]))"
    proc = subprocess.run([sys.executable, "-c", code, str(out)], cwd=src, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    built = out / proc.stdout.strip().splitlines()[-1]
    with zipfile.ZipFile(built) as zf:
        assert zf.read("foo_bar/__init__.py").decode().endswith('__version__ = "1.2"\n')
        meta_name = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        headers, requires = _metadata(zf.read(meta_name))
    assert headers["Version"] == "1.2" and headers["Requires-Python"] == ">=3.8"
    assert {Requirement(r).name for r in requires} == {"attrs", "ujson", "orjson"}


def test_wheel_from_installed_flit_core(tmp_path: Path) -> None:
    """An installed distribution re-packs into an installable, reproducible wheel."""
    wheel = wheel_from_installed("flit_core", tmp_path / "dist")
    assert wheel.name.startswith("flit_core-") and wheel.name.endswith("-none-any.whl")
    scheme = _install(wheel, tmp_path / "env")
    location = _python("import flit_core.buildapi as b; print(b.__file__)", scheme["purelib"])
    assert Path(location).is_relative_to(scheme["purelib"])
    assert wheel_from_installed("flit_core", tmp_path / "again").read_bytes() == wheel.read_bytes()


# ---------------------------------------------------------------- index server


@pytest.fixture
def index(make_index: MakeIndex) -> IndexServer:
    """Serve a JSON-flavoured index with two wheels, an sdist and a yanked release."""
    specs = [SPEC, DistSpec("Foo_Bar", "1.0"), DistSpec("other", "3.0", requires_python="<4,>=3.9")]
    return make_index(specs, sdists=[SPEC], yanked={"foo_bar-1.0-py3-none-any.whl": "broken build"})


def test_json_project_page_matches_served_files(index: IndexServer) -> None:
    """PEP 691/700 JSON fields agree with the bytes the server serves."""
    page = _fetch_json(index.url + "foo-bar/")
    assert page["meta"]["api-version"] == "1.1" and page["name"] == "foo-bar"
    assert page["versions"] == ["1.0", "1.2"]
    files = {f["filename"]: f for f in page["files"]}
    assert set(files) == {"foo_bar-1.0-py3-none-any.whl", "foo_bar-1.2-py3-none-any.whl", "foo_bar-1.2.tar.gz"}
    for entry in files.values():
        assert entry["url"].startswith(index.files_url)
        with urllib.request.urlopen(entry["url"]) as resp:
            data = resp.read()
        assert hashlib.sha256(data).hexdigest() == entry["hashes"]["sha256"]
        assert entry["size"] == len(data)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", entry["upload-time"])
    new = files["foo_bar-1.2-py3-none-any.whl"]
    assert new["requires-python"] == ">=3.8" and new["yanked"] is False
    assert files["foo_bar-1.2.tar.gz"]["requires-python"] == ">=3.8"
    assert "core-metadata" not in files["foo_bar-1.2.tar.gz"]
    assert files["foo_bar-1.0-py3-none-any.whl"]["yanked"] == "broken build"
    with urllib.request.urlopen(new["url"] + ".metadata") as resp:
        metadata = resp.read()
    assert hashlib.sha256(metadata).hexdigest() == new["core-metadata"]["sha256"]
    assert new["data-dist-info-metadata"] == new["core-metadata"]
    with urllib.request.urlopen(new["url"]) as resp, zipfile.ZipFile(io.BytesIO(resp.read())) as zf:
        assert zf.read("foo_bar-1.2.dist-info/METADATA") == metadata
    listing = _fetch_json(index.url)
    assert [p["name"] for p in listing["projects"]] == ["foo-bar", "other"]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "text/html"),
        (PIP_ACCEPT, JSON_ACCEPT),
        ("application/vnd.pypi.simple.v1+json; q=0.1, text/html", "text/html"),
        ("application/vnd.pypi.simple.latest+json", JSON_ACCEPT),
        ("application/vnd.pypi.simple.v1+html", "application/vnd.pypi.simple.v1+html"),
        ("image/png", "text/html"),
    ],
)
def test_content_negotiation(index: IndexServer, accept: str | None, expected: str) -> None:
    """The JSON flavour negotiates the media type from Accept and its q-values."""
    status, headers, _ = _request(index, "/simple/other/", {"Accept": accept} if accept else {})
    assert status == 200 and headers["Content-Type"].split(";")[0] == expected


class _Anchors(HTMLParser):
    """Collect (attrs, text) of every <a> tag."""

    def __init__(self) -> None:
        super().__init__()
        self.anchors: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Record anchor attributes."""
        if tag == "a":
            self.anchors.append(dict(attrs))


def _anchors(body: bytes) -> dict[str, dict[str, str | None]]:
    """Map the last path segment of each anchor's href to its attributes."""
    parser = _Anchors()
    parser.feed(body.decode())
    return {str(a["href"]).split("#")[0].rstrip("/").rsplit("/", 1)[-1]: a for a in parser.anchors}


def test_html_flavour_page(make_index: MakeIndex) -> None:
    """The HTML flavour serves PEP 503 anchors with hash, requires-python, yank and metadata data."""
    server = make_index([SPEC, DistSpec("Foo_Bar", "1.0")], flavour="html", yanked={"foo-bar==1.0": "bad"})
    status, headers, body = _request(server, "/simple/foo-bar/", {"Accept": PIP_ACCEPT})
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    anchors = _anchors(body)
    new = anchors["foo_bar-1.2-py3-none-any.whl"]
    assert new["data-requires-python"] == ">=3.8" and "&gt;" in body.decode()
    assert "data-yanked" not in new and anchors["foo_bar-1.0-py3-none-any.whl"]["data-yanked"] == "bad"
    with urllib.request.urlopen(str(new["href"]).split("#")[0]) as resp:
        data = resp.read()
    assert str(new["href"]).endswith("#sha256=" + hashlib.sha256(data).hexdigest())
    _, _, metadata = _request(server, "/files/foo_bar-1.2-py3-none-any.whl.metadata")
    expected = f"sha256={hashlib.sha256(metadata).hexdigest()}"
    assert new["data-core-metadata"] == new["data-dist-info-metadata"] == expected
    assert list(_anchors(_request(server, "/simple/")[2])) == ["foo-bar"]


def test_metadata_files_disabled(make_index: MakeIndex) -> None:
    """With metadata_files off there are no core-metadata attributes and no .metadata files."""
    server = make_index([SPEC], flavour="html", metadata_files=False)
    anchors = _anchors(_request(server, "/simple/foo-bar/")[2])
    assert "data-core-metadata" not in anchors["foo_bar-1.2-py3-none-any.whl"]
    assert _request(server, "/files/foo_bar-1.2-py3-none-any.whl.metadata")[0] == 404


def test_range_requests(index: IndexServer) -> None:
    """Range requests give 206 + Content-Range; a stale If-Range gives the whole file."""
    path = "/files/foo_bar-1.2-py3-none-any.whl"
    status, headers, full = _request(index, path)
    assert status == 200 and headers["Accept-Ranges"] == "bytes" and int(headers["Content-Length"]) == len(full)
    etag, size = headers["ETag"], len(full)
    status, headers, part = _request(index, path, {"Range": "bytes=0-9"})
    assert (status, part, headers["Content-Range"]) == (206, full[:10], f"bytes 0-9/{size}")
    assert _request(index, path, {"Range": "bytes=-22"})[2] == full[-22:]
    assert _request(index, path, {"Range": "bytes=100-"})[2] == full[100:]
    assert _request(index, path, {"Range": "bytes=5-9", "If-Range": etag})[:1] == (206,)
    status, _, body = _request(index, path, {"Range": "bytes=5-9", "If-Range": '"stale"'})
    assert (status, body) == (200, full)
    assert _request(index, path, {"Range": f"bytes={size}-"})[0] == 416
    status, headers, body = _request(index, path, method="HEAD")
    assert (status, body, headers["Content-Length"]) == (200, b"", str(size))


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", (0, 9)),
        ("bytes=5-", (5, 99)),
        ("bytes=90-200", (90, 99)),
        ("bytes=-10", (90, 99)),
        ("bytes=-500", (0, 99)),
        ("bytes=-0", UNSATISFIABLE),
        ("bytes=100-", UNSATISFIABLE),
        ("bytes=9-3", None),
        ("bytes=0-1,5-6", None),
        ("items=0-1", None),
        ("bytes=a-b", None),
    ],
)
def test_parse_range(header: str, expected: tuple[int, int] | None) -> None:
    """Range header parsing covers the byte-range forms."""
    assert parse_range(header, 100) == expected


def test_ranges_can_be_disabled(make_index: MakeIndex) -> None:
    """support_ranges=False ignores Range."""
    server = make_index([SPEC], support_ranges=False)
    status, headers, body = _request(server, "/files/foo_bar-1.2-py3-none-any.whl", {"Range": "bytes=0-9"})
    assert status == 200 and len(body) > 10 and headers.get("Accept-Ranges") != "bytes"


def test_etag_revalidation(index: IndexServer) -> None:
    """Index pages honour If-None-Match with 304 until the content changes."""
    status, headers, _ = _request(index, "/simple/foo-bar/", {"Accept": JSON_ACCEPT})
    etag = headers["ETag"]
    assert _request(index, "/simple/foo-bar/", {"Accept": JSON_ACCEPT, "If-None-Match": etag})[:1] == (304,)
    assert _request(index, "/simple/foo-bar/", {"If-None-Match": etag})[0] == 200  # HTML has another ETag
    index.add(build_wheel(DistSpec("foo-bar", "1.3"), Path(index.files_dir).parent / "late"))
    status, _, body = _request(index, "/simple/foo-bar/", {"Accept": JSON_ACCEPT, "If-None-Match": etag})
    assert status == 200 and "1.3" in json.loads(body)["versions"]


def test_redirect_and_404(index: IndexServer) -> None:
    """Non-normalised names redirect like PyPI; unknown projects and files are 404."""
    status, headers, _ = _request(index, "/simple/Foo_Bar/")
    assert status == 301 and headers["Location"] == "/simple/foo-bar/"
    assert _request(index, "/simple/foo-bar")[1]["Location"] == "/simple/foo-bar/"
    with urllib.request.urlopen(index.url + "FOO.bar") as resp:  # urllib follows the redirect
        assert resp.url == index.url + "foo-bar/"
    assert _request(index, "/simple/nope/")[0] == 404
    assert _request(index, "/files/nope-1.0.tar.gz")[0] == 404


def test_request_log(index: IndexServer) -> None:
    """Every request is logged with method, path, headers and status."""
    index.clear_requests()
    _request(index, "/simple/Foo_Bar/", {"Accept": JSON_ACCEPT, "X-Test": "yes"})
    _request(index, "/files/foo_bar-1.2.tar.gz", method="HEAD")
    log = [(r.method, r.path, r.status) for r in index.requests]
    assert log == [("GET", "/simple/Foo_Bar/", 301), ("HEAD", "/files/foo_bar-1.2.tar.gz", 200)]
    assert index.requests[0].headers["x-test"] == "yes" and index.requests[0].headers.get("Accept") == JSON_ACCEPT
    index.clear_requests()
    assert index.requests == []


def test_server_lifecycle(tmp_path: Path) -> None:
    """The server binds 127.0.0.1 on start and reports misuse."""
    with IndexServer(tmp_path / "files", "html") as server:
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/simple/", server.url)
        assert _request(server, "/simple/")[0] == 200
    with pytest.raises(RuntimeError):
        server.url  # noqa: B018
    with pytest.raises(ValueError):
        IndexServer(tmp_path, "xml")


# ---------------------------------------------------------------- pytest plugin


def test_pypm_env_isolation(pypm_env: dict[str, str]) -> None:
    """pypm_env points the cache and config at the temp dir."""
    assert pypm_env["NO_COLOR"] == "1"
    assert Path(pypm_env["PYPM_CACHE_DIR"]).is_dir()
    assert not Path(pypm_env["PYPM_CONFIG_FILE"]).exists()
    assert {k for k in pypm_env if k.startswith("PYPM_")} == {"PYPM_CACHE_DIR", "PYPM_CONFIG_FILE"}


def test_run_pypm_with_fake_cli(run_pypm: RunPypm, tmp_path: Path) -> None:
    """run_pypm passes args, cwd and env, and fails the test on a non-zero exit when checking."""
    fake = tmp_path / "fake" / "pypm"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "__main__.py").write_text(
        "import json, os, sys\n"
        "print(json.dumps({'args': sys.argv[1:], 'cwd': os.getcwd(), 'cache': os.environ['PYPM_CACHE_DIR']}))\n"
        "print('oops', file=sys.stderr)\n"
        "sys.exit(int(os.environ.get('FAKE_RC', '0')))\n"
    )
    work = tmp_path / "work"
    work.mkdir()
    extra = {"PYTHONPATH": str(fake.parent)}
    proc = run_pypm("install", Path("x y"), cwd=work, env_extra=extra)
    out = json.loads(proc.stdout)
    assert out["args"] == ["install", "x y"] and Path(out["cwd"]) == work and proc.stderr == "oops\n"
    assert run_pypm("boom", cwd=work, env_extra={**extra, "FAKE_RC": "3"}, check=False).returncode == 3
    with pytest.raises(pytest.fail.Exception, match=r"(?s)status 3.*--- stderr ---\noops"):
        run_pypm("boom", cwd=work, env_extra={**extra, "FAKE_RC": "3"})


def test_network_marker_and_env_scrubbing(tmp_path: Path) -> None:
    """Network tests are skipped unless enabled; outer PYPM_* variables are dropped."""
    (tmp_path / "test_inner.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.network
            def test_online():
                pass

            def test_env(pypm_env):
                assert "PYPM_LEAK" not in pypm_env
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if k != "PYPM_TEST_NETWORK"}
    env["PYPM_LEAK"] = "1"
    env["PYTHONPATH"] = os.pathsep.join([str(Path(pypm.__file__).resolve().parents[1]), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "pytest", "-p", "pypm.testing.plugin", "-q", "-rs", "test_inner.py"]

    def run(*extra: str, **env_extra: str) -> str:
        """Run the inner pytest session; return its combined output."""
        proc = subprocess.run([*cmd, *extra], cwd=tmp_path, env={**env, **env_extra}, capture_output=True, text=True)
        return proc.stdout + proc.stderr

    assert "1 passed, 1 skipped" in run()
    assert "2 passed" in run("--run-network")
    assert "2 passed" in run(PYPM_TEST_NETWORK="1")
    assert "network: needs internet access" in run("--markers")
