"""``pypm audit``: locked versions against a fixture OSV database (a directory and a zip of
it), against a local HTTP server speaking the OSV API (and playing PyPI's per-release JSON
for the fallback), ``--json``, ``--ignore``, ``--current``, ``--fix``, and the failures that
must end the audit with exit 2 rather than read as "no vulnerabilities"."""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import tomllib
from packaging.pylock import Pylock
from packaging.utils import canonicalize_name
from packaging.version import Version

from pypm.advisories.matching import in_range, is_affected, nearest_fix
from pypm.advisories.model import Advisory, AdvisoryError, Affected, Event, Release, parse_advisory
from pypm.testing import DistSpec
from tests.workspaces import write_project

FIXTURES = Path(__file__).parent / "fixtures" / "osv"
ON_WINDOWS = sys.platform == "win32"
SPECS = [DistSpec("alpha", "1.0"), DistSpec("alpha", "1.1"), DistSpec("alpha", "2.0"),
         DistSpec("beta", "1.0"), DistSpec("beta", "2.0")]
FORKED = ["alpha==1.0", "beta==1.0; sys_platform == 'win32'", "beta==2.0; sys_platform != 'win32'"]
ALPHA_ROW = ["alpha", "1.0", "PYSEC-2099-1 (CVE-2099-0001, GHSA-aaaa-bbbb-cccc)", "fixed in 1.1", "[all environments]"]


def records() -> dict[str, dict[str, Any]]:
    """The fixture advisories by id."""
    return {path.stem: json.loads(path.read_text()) for path in FIXTURES.rglob("*.json")}


class FakeOsv:
    """A local server speaking the OSV API (querybatch, one vuln per page so that page
    tokens are followed; vulns/{id}), PyPI's per-release JSON (``/pypi/N/V/json``) when
    given ``pypi``, and relaying every other path to ``upstream`` (a package index)."""

    def __init__(self, table: dict[tuple[str, str], list[str]], mode: str = "ok",
                 pypi: dict[tuple[str, str], list[dict[str, Any]]] | None = None, upstream: str | None = None) -> None:
        self.table, self.mode, self.pypi, self.upstream = table, mode, pypi, upstream
        self.records = records()
        self.paths: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        """The server's base URL."""
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
                return None

            def do_POST(self) -> None:
                fake.paths.append(self.path)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if fake.mode == "500":
                    self._send(500, b"internal error")
                elif fake.mode == "garbage":
                    self._send(200, b"<html>not the OSV API</html>")
                elif self.path != "/v1/querybatch":
                    self._send(404, b"no such endpoint")
                else:
                    self._json({"results": [fake.page(query) for query in json.loads(body)["queries"]]})

            def do_GET(self) -> None:
                fake.paths.append(self.path)
                parts = self.path.strip("/").split("/")
                if self.path.startswith("/v1/vulns/") and parts[-1] in fake.records:
                    self._json(fake.records[parts[-1]])
                elif parts[0] == "pypi" and fake.pypi is not None and len(parts) == 4:
                    self._json({"info": {"name": parts[1], "version": parts[2]},
                                "vulnerabilities": fake.pypi.get((parts[1], parts[2]), [])})
                elif fake.upstream and parts[0] == "simple":
                    self._relay()
                else:
                    self._send(404, b"not found")

            def _relay(self) -> None:
                request = urllib.request.Request(fake.upstream + self.path,
                                                 headers={"Accept": self.headers.get("Accept", "*/*")})
                try:
                    with urllib.request.urlopen(request) as answer:
                        self._send(answer.status, answer.read(), answer.headers.get("Content-Type", "text/html"))
                except urllib.error.HTTPError as exc:
                    self._send(exc.code, exc.read())

            def _json(self, document: Any) -> None:
                self._send(200, json.dumps(document).encode(), "application/json")

            def _send(self, status: int, body: bytes, ctype: str = "text/plain") -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler

    def page(self, query: dict[str, Any]) -> dict[str, Any]:
        """One result: the next of the release's ids, and a token when more follow."""
        ids = self.table.get((query["package"]["name"], query["version"]), [])
        assert query["package"]["ecosystem"] == "PyPI"
        start = int(query.get("page_token") or 0)
        vulns = [{"id": i, "modified": "2099-01-01T00:00:00Z"} for i in ids[start:start + 1]]
        result: dict[str, Any] = {"vulns": vulns}
        if start + 1 < len(ids):
            result["next_page_token"] = str(start + 1)
        return result

    def stop(self) -> None:
        """Shut the server down."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_osv() -> Iterator[Any]:
    """A factory of :class:`FakeOsv` servers, stopped at teardown."""
    servers: list[FakeOsv] = []

    def start(*args: Any, **kwargs: Any) -> FakeOsv:
        servers.append(FakeOsv(*args, **kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def index_env(make_index) -> dict[str, str]:
    """An index with alpha 1.0, 1.1, 2.0 and beta 1.0, 2.0."""
    return {"PYPM_INDEX_URL": make_index(SPECS).url}


def locked(run_pypm, root: Path, deps: list[str], env: dict[str, str]) -> Path:
    """A project at ``root`` requiring ``deps``, locked."""
    write_project(root, deps)
    run_pypm("lock", cwd=root, env_extra=env)
    return root


def closed_port_url() -> str:
    """The URL of a local port nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def rows(stdout: str) -> list[list[str]]:
    """The findings' lines, each split into its cells (two spaces or more apart)."""
    return [re.split(r"\s{2,}", line) for line in stdout.splitlines()]


def error_lines(stderr: str) -> list[str]:
    """The lines of stderr (each must be the one error line in the failure tests)."""
    return [line for line in stderr.splitlines() if line.strip()]


# --- the local database ---------------------------------------------------------------


def test_database_finds_the_planted_advisory_in_every_environment(tmp_path, run_pypm, index_env) -> None:
    root = locked(run_pypm, tmp_path / "proj", FORKED, index_env)
    proc = run_pypm("audit", "--db", FIXTURES, cwd=root, env_extra=index_env, check=False)
    assert proc.returncode == 1, proc.stderr
    assert rows(proc.stdout) == [  # not beta 2.0, not the npm advisory, not the withdrawn one
        ALPHA_ROW,
        ["beta", "1.0", "GHSA-beta-0000-0001 (CVE-2099-0003)", "fixed in 2.0", '[sys_platform == "win32"]'],
    ]
    first, second = proc.stdout.splitlines()
    assert first.index("fixed in") == second.index("fixed in")  # columns aligned
    assert f"Found 2 known vulnerabilities in 2 of 3 locked packages (OSV database {FIXTURES})" in proc.stderr


def test_current_audits_only_what_this_interpreter_installs(tmp_path, run_pypm, index_env) -> None:
    root = locked(run_pypm, tmp_path / "proj", FORKED, index_env)
    proc = run_pypm("audit", "--db", FIXTURES, "--current", cwd=root, env_extra=index_env, check=False)
    assert proc.returncode == 1
    assert ("GHSA-beta-0000-0001" in proc.stdout) is ON_WINDOWS
    assert "PYSEC-2099-1" in proc.stdout
    assert "in 1 of 2 locked packages (for this interpreter)" in proc.stderr


def test_the_fixed_version_is_clean_in_a_zipped_database(tmp_path, run_pypm, index_env) -> None:
    archive = tmp_path / "osv.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in sorted(FIXTURES.rglob("*.json")):
            zipped.write(path, path.name)
    root = locked(run_pypm, tmp_path / "proj", ["alpha==1.1", "beta==2.0"], index_env)
    proc = run_pypm("audit", "--db", archive, cwd=root, env_extra=index_env)
    assert proc.stdout == ""
    assert f"No known vulnerabilities in 2 locked packages (OSV database {archive})" in proc.stderr
    vulnerable = locked(run_pypm, tmp_path / "old", ["alpha==1.0"], index_env)
    assert run_pypm("audit", "--db", archive, cwd=vulnerable, env_extra=index_env, check=False).returncode == 1


def test_json_lists_every_finding_and_ignore_drops_one_by_alias(tmp_path, run_pypm, index_env) -> None:
    root = locked(run_pypm, tmp_path / "proj", FORKED, index_env)
    proc = run_pypm("audit", "--db", FIXTURES, "--json", cwd=root, env_extra=index_env, check=False)
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    assert document["packages"] == 3 and document["scope"] == "all"
    alpha, beta = document["vulnerabilities"]
    assert alpha == {"name": "alpha", "version": "1.0", "id": "PYSEC-2099-1",
                     "aliases": ["CVE-2099-0001", "GHSA-aaaa-bbbb-cccc"], "summary": "alpha before 1.1 lets anyone in",
                     "fixed": ["1.1"], "nearest_fix": "1.1", "environments": ["all environments"]}
    assert beta["environments"] == ['sys_platform == "win32"'] and beta["nearest_fix"] == "2.0"
    proc = run_pypm("audit", "--db", FIXTURES, "--ignore", "cve-2099-0001", "--ignore", "GHSA-beta-0000-0001",
                    cwd=root, env_extra=index_env)
    assert proc.stdout == ""
    assert "No known vulnerabilities in 3 locked packages" in proc.stderr
    assert "ignored GHSA-beta-0000-0001, PYSEC-2099-1" in proc.stderr


def test_database_problems_end_the_audit_with_exit_2(tmp_path, run_pypm, index_env) -> None:
    root = locked(run_pypm, tmp_path / "proj", ["alpha==1.0"], index_env)
    yaml_db = tmp_path / "yaml-db" / "vulns" / "alpha"
    yaml_db.mkdir(parents=True)
    (yaml_db / "PYSEC-2099-1.yaml").write_text("id: PYSEC-2099-1\n")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "PYSEC-1.json").write_text("{not json")
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {yaml_db.parent.parent: "is a YAML advisory, and pypm reads OSV JSON only",
             broken: "is not JSON", empty: "holds no OSV advisory", tmp_path / "missing": "no OSV database at"}
    for db, message in cases.items():
        proc = run_pypm("audit", "--db", db, cwd=root, env_extra=index_env, check=False)
        assert proc.returncode == 2, proc.stderr
        assert error_lines(proc.stderr) == [proc.stderr.strip()] and message in proc.stderr
        assert proc.stderr.startswith("error: ") and "Traceback" not in proc.stderr
    proc = run_pypm("audit", "--service", "snyk", cwd=root, env_extra=index_env, check=False)
    assert proc.returncode == 2 and "invalid choice: 'snyk'" in proc.stderr
    (root / "pylock.toml").unlink()
    proc = run_pypm("audit", "--db", FIXTURES, cwd=root, env_extra=index_env, check=False)
    assert proc.returncode == 2 and "pylock.toml does not exist" in proc.stderr


# --- --fix ----------------------------------------------------------------------------


def test_fix_moves_to_the_nearest_fixed_version_and_the_lock_stays_valid(tmp_path, run_pypm, index_env) -> None:
    root = write_project(tmp_path / "proj", ["alpha==1.0"])
    run_pypm("lock", cwd=root, env_extra=index_env)
    write_project(root, ["alpha>=1.0"])  # the lock keeps 1.0 (least churn); 1.1 and 2.0 are allowed
    run_pypm("lock", cwd=root, env_extra=index_env)
    proc = run_pypm("audit", "--db", FIXTURES, "--fix", cwd=root, env_extra=index_env)
    assert rows(proc.stdout) == [ALPHA_ROW]
    assert "alpha: 1.0 -> 1.1" in proc.stderr  # the nearest fix, not the newest (2.0)
    assert "No known vulnerabilities in 1 locked package" in proc.stderr
    data = tomllib.loads((root / "pylock.toml").read_text())
    Pylock.from_dict(data).validate()
    assert [(p["name"], p.get("version")) for p in data["packages"]] == [("alpha", "1.1"), ("proj", None)]
    run_pypm("lock", "--check", cwd=root, env_extra=index_env)
    run_pypm("audit", "--db", FIXTURES, cwd=root, env_extra=index_env)


def test_fix_reports_what_the_requirements_keep_back(tmp_path, run_pypm, index_env) -> None:
    root = locked(run_pypm, tmp_path / "proj", ["alpha==1.0"], index_env)
    proc = run_pypm("audit", "--db", FIXTURES, "--fix", "--json", cwd=root, env_extra=index_env, check=False)
    assert proc.returncode == 1
    document = json.loads(proc.stdout)
    assert document["fix"] == [{"name": "alpha", "from": "1.0", "to": "1.0", "wanted": "1.1", "moved": False}]
    assert [v["id"] for v in document["vulnerabilities"]] == ["PYSEC-2099-1"]
    run_pypm("lock", "--check", cwd=root, env_extra=index_env)


# --- the OSV service ------------------------------------------------------------------


def test_service_finds_the_advisory_following_pages_and_fetching_each_record_once(
        tmp_path, run_pypm, index_env, fake_osv) -> None:
    server = fake_osv({("alpha", "1.0"): ["PYSEC-2099-1", "PYSEC-2099-2"], ("beta", "1.0"): ["GHSA-beta-0000-0001"]})
    env = {**index_env, "PYPM_OSV_URL": server.url}
    root = locked(run_pypm, tmp_path / "proj", FORKED, index_env)
    proc = run_pypm("audit", "--service", "osv", cwd=root, env_extra=env, check=False)
    assert proc.returncode == 1, proc.stderr
    assert rows(proc.stdout)[0] == ALPHA_ROW  # the withdrawn PYSEC-2099-2 is left out
    assert rows(proc.stdout)[1][2] == "GHSA-beta-0000-0001 (CVE-2099-0003)"
    assert len(rows(proc.stdout)) == 2
    assert f"in 2 of 3 locked packages (OSV service {server.url})" in proc.stderr
    assert server.paths.count("/v1/querybatch") == 2  # the second asks for alpha's next page
    details = sorted(path for path in server.paths if path.startswith("/v1/vulns/"))
    assert details == ["/v1/vulns/GHSA-beta-0000-0001", "/v1/vulns/PYSEC-2099-1", "/v1/vulns/PYSEC-2099-2"]
    fixed = locked(run_pypm, tmp_path / "fixed", ["alpha==1.1"], index_env)
    proc = run_pypm("audit", cwd=fixed, env_extra=env)
    assert f"No known vulnerabilities in 1 locked package (OSV service {server.url})" in proc.stderr


def test_fix_through_the_service(tmp_path, run_pypm, index_env, fake_osv) -> None:
    server = fake_osv({("alpha", "1.0"): ["PYSEC-2099-1"]})
    root = write_project(tmp_path / "proj", ["alpha==1.0"])
    run_pypm("lock", cwd=root, env_extra=index_env)
    write_project(root, ["alpha"])
    run_pypm("lock", cwd=root, env_extra=index_env)
    proc = run_pypm("audit", "--fix", cwd=root, env_extra={**index_env, "PYPM_OSV_URL": server.url})
    assert "alpha: 1.0 -> 1.1" in proc.stderr
    run_pypm("lock", "--check", cwd=root, env_extra=index_env)


@pytest.mark.parametrize(("mode", "message"), [
    ("down", "cannot reach the OSV service"),
    ("500", "answered querybatch with HTTP 500"),
    ("garbage", "answered querybatch with something that is not JSON"),
])
def test_an_unusable_service_is_one_line_and_exit_2(tmp_path, run_pypm, index_env, fake_osv, mode, message) -> None:
    url = closed_port_url() if mode == "down" else fake_osv({}, mode=mode).url
    root = locked(run_pypm, tmp_path / "proj", ["alpha==1.0"], index_env)
    proc = run_pypm("audit", cwd=root, env_extra={**index_env, "PYPM_OSV_URL": url}, check=False)
    assert proc.returncode == 2
    assert error_lines(proc.stderr) == [proc.stderr.strip()], proc.stderr
    assert proc.stderr.startswith("error: ") and message in proc.stderr
    assert "the fallback failed too" in proc.stderr  # the test index has no per-release JSON
    assert "No known vulnerabilities" not in proc.stderr + proc.stdout


def test_falls_back_to_the_per_release_json_of_the_index(tmp_path, run_pypm, make_index, fake_osv) -> None:
    upstream = make_index(SPECS)
    pypi = {("alpha", "1.0"): [{"id": "PYSEC-2099-1", "aliases": ["CVE-2099-0001"], "summary": None,
                                "fixed_in": ["1.1"], "withdrawn": None, "link": "https://osv.dev/PYSEC-2099-1"},
                               {"id": "PYSEC-2099-2", "aliases": [], "fixed_in": [], "withdrawn": "2099-02-01"}]}
    index = fake_osv({}, pypi=pypi, upstream=upstream.base_url)
    env = {"PYPM_INDEX_URL": f"{index.url}/simple/", "PYPM_OSV_URL": closed_port_url()}
    root = locked(run_pypm, tmp_path / "proj", ["alpha==1.0", "beta==2.0"], env)
    assert f'index = "{index.url}/simple/"' in (root / "pylock.toml").read_text()
    proc = run_pypm("audit", cwd=root, env_extra=env, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.splitlines() == ["alpha  1.0  PYSEC-2099-1 (CVE-2099-0001)  fixed in 1.1  [all environments]"]
    assert "cannot reach the OSV service" in proc.stderr
    assert f"used the per-release JSON of {index.url}/pypi instead" in proc.stderr
    assert f"in 1 of 2 locked packages (per-release JSON of {index.url}/pypi)" in proc.stderr
    assert {"/pypi/alpha/1.0/json", "/pypi/beta/2.0/json"} <= set(index.paths)


# --- matching (pure functions) ----------------------------------------------------------


def advisory(*ranges: tuple[Event, ...], versions: tuple[str, ...] = ()) -> Advisory:
    """An advisory for ``pkg`` with these ECOSYSTEM ranges and versions."""
    return Advisory("TEST-1", (), "", False, (Affected(canonicalize_name("pkg"), ranges, versions),))


def release(version: str) -> Release:
    """``pkg`` at ``version``."""
    return Release(canonicalize_name("pkg"), Version(version))


def test_range_events_are_walked_in_version_order() -> None:
    events = (Event("fixed", "2.1"), Event("introduced", "2.0"), Event("fixed", "1.1"), Event("introduced", "0"))
    assert [in_range(Version(v), events) for v in ("0.dev0", "1.0", "1.1rc1", "1.1", "1.5", "2.0", "2.0.5", "2.1")] \
        == [True, True, True, False, False, True, True, False]


def test_last_affected_limit_and_version_lists() -> None:
    last = (Event("introduced", "1.0"), Event("last_affected", "1.4"))
    assert [in_range(Version(v), last) for v in ("0.9", "1.0", "1.4", "1.4.1")] == [False, True, True, False]
    limited = (Event("introduced", "0"), Event("limit", "3.0"))
    assert in_range(Version("2.9"), limited) and not in_range(Version("3.0"), limited)
    assert in_range(Version("9.0"), (Event("introduced", "0"), Event("limit", "*")))
    listed = advisory(versions=("1.0", "1.2"))
    assert is_affected(listed, release("1.0.0")) and not is_affected(listed, release("1.1"))


def test_a_version_that_is_not_pep_440_never_hides_an_advisory() -> None:
    """``fixed: "abc"`` cannot close the range, and ``introduced: "abc"`` opens it from the
    first release: the release is reported (with a warning), never silently passed."""
    assert in_range(Version("2.19.0"), (Event("introduced", "0"), Event("fixed", "abc")), "X")
    assert in_range(Version("0.1"), (Event("introduced", "abc"), Event("fixed", "3.0")), "X")
    assert not in_range(Version("3.0"), (Event("introduced", "abc"), Event("fixed", "3.0")), "X")


@pytest.mark.parametrize("affected", [
    {"ranges": [{"type": "ECOSYSTEM", "events": "nope"}]},
    {"ranges": [{"type": "ECOSYSTEM"}]},
    {"ranges": [{"type": "ECOSYSTEM", "events": [{"introduced": "0"}]}], "versions": "1.0"},
])
def test_malformed_events_or_versions_are_refused(affected: dict) -> None:
    record = {"id": "X-1", "affected": [{"package": {"ecosystem": "PyPI", "name": "pkg"}, **affected}]}
    with pytest.raises(AdvisoryError, match="list of events|must be a list"):
        parse_advisory(record, "fixture")


def test_the_nearest_fix_is_above_the_release_and_outside_every_range() -> None:
    split = advisory((Event("introduced", "0"), Event("fixed", "1.1")),
                     (Event("introduced", "1.0"), Event("fixed", "1.3")))
    assert nearest_fix(split, release("1.0"), (Version("1.1"), Version("1.3"))) == Version("1.3")
    assert nearest_fix(split, release("1.3"), (Version("1.1"), Version("1.3"))) is None


def test_only_pypi_entries_and_ecosystem_ranges_are_read() -> None:
    parsed = parse_advisory(records()["PYSEC-2099-1"], "fixture")
    assert [entry.name for entry in parsed.affected] == ["alpha"]
    assert parsed.affected[0].ranges == ((Event("introduced", "0"), Event("fixed", "1.1")),)
    assert parse_advisory(records()["NPM-2099-1"], "fixture").affected == ()
    assert parse_advisory(records()["PYSEC-2099-2"], "fixture").withdrawn
