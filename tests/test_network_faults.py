"""Network faults, injected by the test index: downloads dropped or stalled half-way are
resumed (Range + If-Range) in the same run; pages and metadata are retried on 5xx, 429
(Retry-After), refused and reset connections; a download that keeps failing ends in one
error line; the HTTP client really applies its limits and HTTP/2."""

from __future__ import annotations

import hashlib
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from email.utils import formatdate
from pathlib import Path

import pytest

from pypm.index.http import make_http_client
from pypm.index.retry import MAX_RETRY_AFTER, RetryPolicy, parse_retry_after
from pypm.index.urls import redact, strip_credentials
from pypm.testing import DistSpec, build_wheel
from pypm.testing.index_server import Fault, IndexServer
from tests.test_installer import project
from tests.test_lock_sync import installed

MiB = 1024 * 1024
BIG = "big-1.0-py3-none-any.whl"


def locked(tmp_path: Path, make_index, run_pypm, specs: list[DistSpec], deps: list[str], **server):
    """A locked project on a fresh index: (index, project root, env)."""
    index = make_index(specs, **server)
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", deps)
    run_pypm("lock", cwd=root, env_extra=env)
    index.clear_requests()
    return index, root, env


def requests_for(index: IndexServer, path: str) -> list:
    return [r for r in index.requests if r.path.split("?")[0] == path]


def assert_one_error_line(result: subprocess.CompletedProcess[str], starts: str) -> str:
    assert result.returncode == 1, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line.lower()]
    assert len(errors) == 1 and errors[0] == result.stderr.strip().splitlines()[-1], result.stderr
    assert errors[0].startswith(starts), errors[0]
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    return errors[0]


@pytest.mark.parametrize("ranges", [True, False], ids=["ranges", "no-ranges"])
def test_download_dropped_half_way_resumes_in_the_same_run(tmp_path, make_index, run_pypm, ranges) -> None:
    specs = [DistSpec("big", "1.0", pad_bytes=4 * MiB)]
    index, root, env = locked(tmp_path, make_index, run_pypm, specs, ["big"], support_ranges=ranges)
    wheel = (index.files_dir / BIG).read_bytes()
    half = len(wheel) // 2
    index.faults.add(Fault(f"/files/{BIG}", drop_after=half))
    result = run_pypm("sync", cwd=root, env_extra=env)
    downloads = requests_for(index, f"/files/{BIG}")
    resumed = 206 if ranges else 200  # a server without ranges sends it all again: start over
    assert [(r.status, r.headers.get("range")) for r in downloads] == [(200, None), (resumed, f"bytes={half}-")]
    assert downloads[1].headers.get("if-range") == f'"{hashlib.sha256(wheel).hexdigest()}"'
    assert {r.headers.get("accept-encoding") for r in downloads} == {"identity"}
    assert installed(root / ".venv")["big"] == "1.0"
    assert "Downloaded 1 file (4.0 MiB)" in result.stderr


def test_download_stalled_half_way_times_out_and_resumes(tmp_path, make_index, run_pypm) -> None:
    index, root, env = locked(tmp_path, make_index, run_pypm, [DistSpec("big", "1.0", pad_bytes=4 * MiB)], ["big"])
    half = (index.files_dir / BIG).stat().st_size // 2
    index.faults.add(Fault(f"/files/{BIG}", stall_after=half, stall_seconds=120))
    started = time.monotonic()
    run_pypm("sync", cwd=root, env_extra={**env, "PYPM_HTTP_TIMEOUT": "1"}, timeout=60)
    assert time.monotonic() - started < 30, "the stall is detected by the 1 s read timeout"
    downloads = requests_for(index, f"/files/{BIG}")
    assert [(r.status, r.headers.get("range")) for r in downloads] == [(200, None), (206, f"bytes={half}-")]
    assert "if-range" in downloads[1].headers
    assert installed(root / ".venv")["big"] == "1.0"


def test_page_answering_500_twice_then_200_locks(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0")],
                       faults=[Fault("/simple/alpha/", status=500, times=2), Fault("/simple/beta/", status=503)])
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert [r.status for r in requests_for(index, "/simple/alpha/")] == [500, 500, 200]
    assert [r.status for r in requests_for(index, "/simple/beta/")] == [503, 200]
    assert 'name = "beta"' in (root / "pylock.toml").read_text()


def test_429_waits_as_long_as_retry_after_says(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")], faults=[Fault("/simple/alpha/", status=429, retry_after="2")])
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    first, second = requests_for(index, "/simple/alpha/")
    assert (first.status, second.status) == (429, 200)
    assert second.time - first.time >= 1.9, "Retry-After: 2 is longer than the first backoff (0.5 s)"


def test_retry_after_is_capped_and_backoff_bounded() -> None:
    policy = RetryPolicy()
    assert policy.delay(1, "3600") == MAX_RETRY_AFTER == 30.0
    assert policy.delay(1, "1") == 1.0
    in_a_minute = formatdate(time.time() + 60, usegmt=True)
    assert 55 < parse_retry_after(in_a_minute) <= 60 and policy.delay(1, in_a_minute) == 30.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert sum(policy.delay(n, "soon") for n in range(1, policy.retries + 1)) <= 3.5 * 1.1


def test_metadata_file_answering_5xx_then_200(tmp_path, make_index, run_pypm) -> None:
    name = "alpha-1.0-py3-none-any.whl"
    index = make_index([DistSpec("alpha", "1.0")], faults=[Fault(f"/files/{name}.metadata", status=503)])
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    fetched = requests_for(index, f"/files/{name}.metadata")
    assert [r.status for r in fetched] == [503, 200]
    assert {r.headers.get("accept-encoding") for r in fetched} == {"identity"}
    assert not requests_for(index, f"/files/{name}"), "the .metadata file was retried, not replaced by ranges"


def test_range_requests_into_the_wheel_answering_5xx_then_206(tmp_path, make_index, run_pypm) -> None:
    name = "alpha-1.0-py3-none-any.whl"
    index = make_index([DistSpec("alpha", "1.0", pad_bytes=MiB)], metadata_files=False,
                       faults=[Fault(f"/files/{name}", status=502, times=2)])
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    fetched = requests_for(index, f"/files/{name}")
    assert [r.status for r in fetched][:3] == [502, 502, 206] and {r.status for r in fetched[2:]} == {206}
    assert all(r.headers.get("range") for r in fetched), "only range requests, no full download"
    assert {r.headers.get("accept-encoding") for r in fetched} == {"identity"}


def test_page_connection_reset_is_retried(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")], faults=[Fault("/simple/alpha/", reset=True, times=2)])
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert [r.status for r in requests_for(index, "/simple/alpha/")] == [0, 0, 200]


def test_page_cut_short_is_retried_on_a_new_connection(tmp_path, make_index, run_pypm) -> None:
    """A page answer cut short (httpx: RemoteProtocolError) twice: the retries go through a
    fresh connection (an HTTP/2 stream reset would come again on the pooled one) and lock."""
    index = make_index([DistSpec("alpha", "1.0")], faults=[Fault("/simple/alpha/", drop_after=10, times=2)])
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert len(requests_for(index, "/simple/alpha/")) == 3


def test_an_http2_stream_reset_is_described_in_words() -> None:
    """What a user reads instead of httpx's ``<StreamReset stream_id:131, ...>``."""
    import httpx

    from pypm.index.http import describe_error

    reset = httpx.RemoteProtocolError("<StreamReset stream_id:131, error_code:1, remote_reset:True>")
    assert describe_error(reset) == "the server reset the HTTP/2 stream"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_index_refusing_connections_until_it_comes_up(tmp_path, pypm_env) -> None:
    files = tmp_path / "files"
    build_wheel(DistSpec("alpha", "1.0"), files)
    port = _free_port()
    root = project(tmp_path / "p", ["alpha"])
    env = {**pypm_env, "PYPM_INDEX_URL": f"http://127.0.0.1:{port}/simple/"}
    process = subprocess.Popen([sys.executable, "-m", "pypm", "-v", "lock"], cwd=root, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    seen = []
    server = IndexServer(files, port=port)
    try:
        for line in process.stderr:  # nothing listens yet: wait for the first refused try
            seen.append(line)
            if "retry 1 of 3" in line:
                break
        assert "ConnectError" in seen[-1], seen
        server.start()
        _, rest = process.communicate(timeout=60)
    finally:
        server.stop()
        process.kill()
    assert process.returncode == 0, "".join(seen) + rest
    assert [r.status for r in requests_for(server, "/simple/alpha/")] == [200]
    assert 'name = "alpha"' in (root / "pylock.toml").read_text()


def test_unreachable_index_is_one_error_line(tmp_path, run_pypm) -> None:
    port = _free_port()
    root = project(tmp_path / "p", ["alpha"])
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": f"http://127.0.0.1:{port}/simple/"},
                      check=False)
    line = assert_one_error_line(result, f"error: cannot reach the index http://127.0.0.1:{port}/simple/: ")
    assert "(tried 4 times)" in line


@pytest.mark.parametrize("fault", [Fault(f"/files/{BIG}", status=503, times=None),
                                   Fault(f"/files/{BIG}", drop_after=0, times=None)], ids=["503", "dropped"])
def test_download_that_keeps_failing_ends_in_one_error_line(tmp_path, make_index, run_pypm, fault) -> None:
    specs = [DistSpec("big", "1.0", pad_bytes=MiB), DistSpec("small", "1.0")]
    index, root, env = locked(tmp_path, make_index, run_pypm, specs, ["big", "small"])
    index.faults.add(fault)
    result = run_pypm("sync", cwd=root, env_extra=env, check=False)
    line = assert_one_error_line(result, f"error: cannot download {BIG} from {index.files_url}{BIG}: ")
    assert "(tried 4 times)" in line
    assert len(requests_for(index, f"/files/{BIG}")) == 4
    assert "Downloaded 1 file (" in result.stderr, "small arrived; big did not"
    cache = Path(run_pypm("cache", "dir", cwd=root, env_extra=env).stdout.strip())
    wheels = [p.name for p in (cache / "wheels-v1").rglob("*") if p.is_file()]
    assert wheels == ["small-1.0-py3-none-any.whl"], wheels


def test_download_summary_counts_only_files_that_arrived(tmp_path, make_index, run_pypm) -> None:
    specs = [DistSpec("alpha", "1.0"), DistSpec("beta", "1.0"), DistSpec("gamma", "1.0")]
    index, root, env = locked(tmp_path, make_index, run_pypm, specs, ["alpha", "beta", "gamma"])
    result = run_pypm("sync", cwd=root, env_extra=env)
    assert "Downloaded 3 files (" in result.stderr
    (root / ".venv").rename(tmp_path / "old-venv")
    index.clear_requests()
    again = run_pypm("sync", cwd=root, env_extra=env)
    assert "Downloaded" not in again.stderr and not [r for r in index.requests if r.path.startswith("/files/")]


def test_mislabelled_content_encoding_is_not_decoded(tmp_path, make_index, run_pypm) -> None:
    """A server labelling a wheel (or its metadata) ``Content-Encoding: gzip`` while sending
    it as stored: the bytes are hashed as they came, so the file still matches its hash."""
    gzip = {"Content-Encoding": "gzip"}
    index = make_index([DistSpec("alpha", "1.0")], faults=[Fault("/files/*.whl.metadata", headers=gzip)])
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    index.faults.add(Fault("/files/*.whl", headers=gzip))
    run_pypm("sync", cwd=root, env_extra=env)
    assert installed(root / ".venv")["alpha"] == "1.0"
    assert index.faults.pending() == 0, "both faults were served"


def test_http_client_applies_its_connection_limit_and_http2(tmp_path, make_index) -> None:
    index = make_index([DistSpec("alpha", "1.0")], faults=[Fault("/simple/", stall_after=0, stall_seconds=4,
                                                                 times=None)])
    with make_http_client() as client, ThreadPoolExecutor(24) as pool:
        assert client._transport._pool._http2 is True  # httpx drops http2= when given a transport
        answers = [pool.submit(client.get, index.url) for _ in range(24)]
        deadline = time.monotonic() + 3
        while len(index.requests) < 16 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the first 16 answers stall for 4 s: nothing else may start meanwhile
        assert len(index.requests) == 16, "at most 16 connections at once; the rest wait in the pool"
        assert all(answer.result(timeout=30).status_code == 200 for answer in answers)
    assert len(index.requests) == 24


def test_invalid_http_timeout_is_one_error_line(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project(tmp_path / "p", ["alpha"])
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, "PYPM_HTTP_TIMEOUT": "soon"},
                      check=False)
    assert_one_error_line(result, "error: PYPM_HTTP_TIMEOUT must be a positive number of seconds, not 'soon'")


def test_credentials_are_stripped_and_redacted_with_httpx_urls() -> None:
    assert strip_credentials("https://u:p%40ss@example.com:8080/simple/?x=1") == "https://example.com:8080/simple/?x=1"
    assert redact("https://token@example.com/simple/") == "https://***@example.com/simple/"
    assert redact("https://u:p@example.com/a@b/") == "https://***@example.com/a@b/"
    untouched = "https://example.com/a%7Eb/c d/"
    assert strip_credentials(untouched) == untouched and redact(untouched) == untouched



def test_download_progressing_each_try_is_bounded_and_the_next_run_continues(tmp_path, make_index, run_pypm) -> None:
    from pypm.install.download import MAX_ATTEMPTS

    index, root, env = locked(tmp_path, make_index, run_pypm, [DistSpec("big", "1.0", pad_bytes=2 * MiB)], ["big"])
    index.faults.add(Fault(f"/files/{BIG}", drop_after=100_000, times=None))
    result = run_pypm("sync", cwd=root, env_extra=env, check=False)
    kept = MAX_ATTEMPTS * 100_000
    line = assert_one_error_line(result, f"error: cannot download {BIG} ")
    assert f"(tried {MAX_ATTEMPTS} times)" in line and f"the {kept} bytes received are kept" in line
    ranges = [r.headers.get("range") for r in requests_for(index, f"/files/{BIG}")]
    assert ranges == [None] + [f"bytes={n * 100_000}-" for n in range(1, MAX_ATTEMPTS)]
    index.faults.clear()
    index.clear_requests()
    run_pypm("sync", cwd=root, env_extra=env)
    assert [r.headers.get("range") for r in requests_for(index, f"/files/{BIG}")] == [f"bytes={kept}-"]
    assert installed(root / ".venv")["big"] == "1.0"
