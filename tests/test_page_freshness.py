"""How long a cached index page is reused: the server's Cache-Control when it sends one,
else the ``index-page-ttl`` setting; ``--refresh`` and ``--upgrade`` ask the index again.
Real index server on 127.0.0.1, real ``pypm lock`` processes."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec, build_wheel
from tests.test_lock_behaviour import lock, packages, project_with


def page_requests(index) -> dict[str, list[int]]:
    """Project page path -> the status of each request for it since the last clear."""
    seen: dict[str, list[int]] = {}
    for record in index.requests:
        if record.path.startswith("/simple/"):
            seen.setdefault(record.path, []).append(record.status)
    return seen


def relock_with_beta(run_pypm, root: Path, index, *args: str, env: dict | None = None) -> dict[str, list[int]]:
    """Change the inputs (add beta) so that ``lock`` resolves again; the page requests it made."""
    project_with(root, ["alpha", "beta"])
    index.clear_requests()
    lock(run_pypm, root, index, *args, env=env)
    return page_requests(index)


def test_a_page_sent_without_cache_headers_is_reused_until_an_upgrade(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index)
    build_wheel(DistSpec("alpha", "2.0"), index.files_dir)  # published after the first lock

    assert relock_with_beta(run_pypm, root, index) == {"/simple/beta/": [200]}, "alpha's page is still fresh"
    assert packages(root)["alpha"]["version"] == "1.0"

    index.clear_requests()
    lock(run_pypm, root, index, "--upgrade-package", "alpha")
    assert page_requests(index) == {"/simple/alpha/": [200]}, "only the upgraded package's page is asked for"
    assert packages(root)["alpha"]["version"] == "2.0"

    build_wheel(DistSpec("beta", "2.0"), index.files_dir)
    index.clear_requests()
    lock(run_pypm, root, index, "--upgrade")
    assert page_requests(index) == {"/simple/alpha/": [304], "/simple/beta/": [200]}
    assert packages(root)["beta"]["version"] == "2.0"


def test_index_page_ttl_zero_revalidates_every_page(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_PAGE_TTL": "0"}
    lock(run_pypm, root, index, env=env)
    assert relock_with_beta(run_pypm, root, index, env=env) == {"/simple/alpha/": [304], "/simple/beta/": [200]}


def test_a_shorter_ttl_later_makes_pages_stored_under_a_longer_one_stale(tmp_path, make_index, run_pypm) -> None:
    """The setting is that of the run reading a page, not of the run that stored it."""
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index, env={"PYPM_INDEX_PAGE_TTL": "600"})
    requests = relock_with_beta(run_pypm, root, index, env={"PYPM_INDEX_PAGE_TTL": "0"})
    assert requests == {"/simple/alpha/": [304], "/simple/beta/": [200]}


@pytest.mark.parametrize(("cache_control", "ttl", "alpha_asked"), [
    ("no-cache", "600", True),
    ("max-age=0", "600", True),
    ("public, max-age=3600", "0", False),
])
def test_the_servers_cache_control_beats_the_setting(
    tmp_path, make_index, run_pypm, cache_control: str, ttl: str, alpha_asked: bool
) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")], page_cache_control=cache_control)
    root = project_with(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_PAGE_TTL": ttl}
    lock(run_pypm, root, index, env=env)
    requests = relock_with_beta(run_pypm, root, index, env=env)
    assert ("/simple/alpha/" in requests) is alpha_asked, requests
    assert requests.get("/simple/alpha/", [304]) == [304]


def test_refresh_asks_for_every_page_again(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha", "beta"])
    lock(run_pypm, root, index)
    index.clear_requests()
    lock(run_pypm, root, index, "--refresh")
    assert page_requests(index) == {"/simple/alpha/": [304], "/simple/beta/": [304]}


def test_a_relock_from_fresh_pages_makes_no_http_client(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """A re-lock that finds every page fresh and every metadata cached asks nothing of the
    index and does not even load the HTTP stack (httpx and its client cost ~0.1 s)."""
    import subprocess
    import sys

    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index)
    project_with(root, ["alpha", "beta"])  # a changed input: resolved again, not recalled
    index.clear_requests()
    code = "import sys; from pypm.cli.main import main; code = main(['lock']); print(code, 'httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env={**pypm_env, "PYPM_INDEX_URL": index.url},
                         capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "0 False", out.stdout + out.stderr
    assert index.requests == []
    assert set(packages(root)) >= {"alpha", "beta"}
