"""Lock semantics: universal files, environments, least churn, upgrades, --check,
pre-releases, yanked releases, index priority, find-links, HTTP caching, credentials."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib
from packaging.pylock import Pylock

from pypm.testing import DistSpec, build_wheel
from tests.workspaces import replace_in, write, write_project

PLATFORM_TAGS = [
    "cp310-cp310-manylinux_2_17_x86_64", "cp311-cp311-manylinux_2_17_x86_64",
    "cp311-cp311-macosx_11_0_arm64", "cp311-cp311-win_amd64", "cp312-cp312-manylinux_2_17_x86_64",
    "cp311-cp311-manylinux_2_17_aarch64", "cp311-cp311-macosx_10_9_x86_64",
    "cp312-cp312-macosx_11_0_arm64", "cp312-cp312-macosx_10_9_x86_64", "cp312-cp312-win_amd64",
    "cp312-cp312-manylinux_2_17_aarch64",
]


def project_with(root: Path, dependencies: list[str], extra_tool: str = "", requires_python: str = ">=3.11") -> Path:
    return write_project(root, dependencies, requires_python=requires_python, tool=extra_tool)


def packages(root: Path) -> dict[str, dict]:
    return {p["name"]: p for p in tomllib.loads((root / "pylock.toml").read_text())["packages"]}


def lock(run_pypm, root: Path, index, *args: str, check: bool = True, env: dict | None = None):
    return run_pypm("lock", *args, cwd=root, env_extra={"PYPM_INDEX_URL": index.url, **(env or {})}, check=check)


def one_error_line(result) -> str:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def test_universal_lock_keeps_every_usable_wheel_and_the_sdist(tmp_path, make_index, run_pypm) -> None:
    specs = [DistSpec("native", "1.0", tag=tag) for tag in PLATFORM_TAGS]
    index = make_index(specs, sdists=[DistSpec("native", "1.0")])
    root = project_with(tmp_path / "p", ["native"])
    lock(run_pypm, root, index)
    entry = packages(root)["native"]
    names = sorted(w["name"] for w in entry["wheels"])
    assert len(names) == len(PLATFORM_TAGS) - 1, "the cp310 wheel serves no allowed Python"
    assert not any("cp310" in n for n in names)
    assert entry["sdist"]["name"] == "native-1.0.tar.gz"
    Pylock.from_dict(tomllib.loads((root / "pylock.toml").read_text())).validate()


def test_missing_platform_warns_unless_environments_limit_the_lock(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("linuxonly", "1.0", tag="py3-none-manylinux_2_17_x86_64")])
    root = project_with(tmp_path / "p", ["linuxonly"])
    result = lock(run_pypm, root, index)
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == ["warning: linuxonly 1.0 has no file for darwin arm64, darwin x86_64, linux aarch64, "
                        "win32 AMD64; a sync there will fail (set required-environments to make this an error)"]
    assert [p["name"] for p in tomllib.loads((root / "pylock.toml").read_text())["packages"]] == ["linuxonly", "proj"]
    limit = "sys_platform == 'linux' and platform_machine == 'x86_64'"
    replace_in(root / "pyproject.toml", "[tool.pypm]", f'[tool.pypm]\nenvironments = ["{limit}"]')
    assert "warning" not in lock(run_pypm, root, index).stderr
    data = tomllib.loads((root / "pylock.toml").read_text())
    assert data["environments"] == ["sys_platform == 'linux' and platform_machine == 'x86_64'"]
    assert [p["name"] for p in data["packages"]] == ["linuxonly", "proj"]


def test_relocking_is_byte_identical(tmp_path, make_index, run_pypm) -> None:
    from tests.workspaces import INDEX_SPECS, make_workspace

    index = make_index(INDEX_SPECS)
    root = make_workspace(tmp_path / "ws")
    lock(run_pypm, root, index)
    first = (root / "pylock.toml").read_bytes()
    lock(run_pypm, root, index, "--refresh")
    assert (root / "pylock.toml").read_bytes() == first
    (root / "pylock.toml").unlink()
    lock(run_pypm, root, index)
    assert (root / "pylock.toml").read_bytes() == first


def test_least_churn_and_targeted_upgrades(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0"), DistSpec("gamma", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index)
    for spec in [DistSpec("alpha", "2.0", requires=["beta"]), DistSpec("beta", "2.0"), DistSpec("gamma", "2.0")]:
        index.add(build_wheel(spec, tmp_path / "new"))
    replace_in(root / "pyproject.toml", '"alpha"]', '"alpha", "gamma"]')
    lock(run_pypm, root, index)
    got = {name: p.get("version") for name, p in packages(root).items()}
    assert got["alpha"] == "1.0" and got["beta"] == "1.0", "locked versions are kept"
    assert got["gamma"] == "2.0", "a new dependency takes the newest version"
    before = (root / "pylock.toml").read_text()
    lock(run_pypm, root, index, "--upgrade-package", "alpha")
    got = {name: p.get("version") for name, p in packages(root).items()}
    assert (got["alpha"], got["beta"]) == ("2.0", "1.0")
    changed = {line for line in set(before.splitlines()) ^ set((root / "pylock.toml").read_text().splitlines())}
    assert changed and all("alpha" in line or "sha256" in line or "size" in line or line.startswith("version")
                           or line.startswith("content-hash") for line in changed), changed
    lock(run_pypm, root, index, "--upgrade")
    assert packages(root)["beta"]["version"] == "2.0"


def test_check_reports_a_stale_lock_without_writing(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    assert one_error_line(lock(run_pypm, root, index, "--check", check=False)).endswith("(run `pypm lock` first)")
    lock(run_pypm, root, index)
    assert lock(run_pypm, root, index, "--check").returncode == 0
    replace_in(root / "pyproject.toml", '"alpha"]', '"alpha", "beta"]')
    before = (root / "pylock.toml").read_bytes()
    assert "out of date" in one_error_line(lock(run_pypm, root, index, "--check", check=False))
    assert (root / "pylock.toml").read_bytes() == before


@pytest.mark.parametrize(
    ("available", "args", "expected"),
    [
        (["1.0", "2.0b1"], [], "1.0"),
        (["1.0", "2.0b1"], ["--prerelease", "allow"], "2.0b1"),
        (["2.0b1"], [], "2.0b1"),
        (["2.0b1"], ["--prerelease", "disallow"], None),
    ],
)
def test_prereleases(tmp_path, make_index, run_pypm, available, args, expected) -> None:
    index = make_index([DistSpec("alpha", v) for v in available])
    root = project_with(tmp_path / "p", ["alpha"])
    result = lock(run_pypm, root, index, *args, check=False)
    if expected is None:
        assert "alpha" in one_error_line(result)
    else:
        assert result.returncode == 0, result.stderr
        assert packages(root)["alpha"]["version"] == expected


def test_yanked_releases(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("alpha", "2.0")], yanked={"alpha==2.0": "broken"})
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index)
    assert packages(root)["alpha"]["version"] == "1.0"
    replace_in(root / "pyproject.toml", '"alpha"', '"alpha==2.0"')
    lock(run_pypm, root, index)
    assert packages(root)["alpha"]["version"] == "2.0", "a yanked release may be pinned with =="
    replace_in(root / "pyproject.toml", '"alpha==2.0"', '"alpha>1"')
    assert "alpha" in one_error_line(lock(run_pypm, root, index, check=False))


@pytest.mark.parametrize(
    ("dependencies", "fragment"),
    [
        (["no-such-project"], "no usable version of 'no-such-project'"),
        (["alpha>=5"], "no version of 'alpha' satisfies"),
        (["alpha>=1", "alpha<1"], "'alpha'"),
        (["alpha @ https://example.invalid/alpha-1.0.tar.gz"], "direct URL requirements are not supported"),
    ],
)
def test_unsatisfiable_inputs_give_one_line(tmp_path, make_index, run_pypm, dependencies, fragment) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", dependencies)
    assert fragment in one_error_line(lock(run_pypm, root, index, check=False))
    assert not (root / "pylock.toml").exists()


def test_conflict_between_members_names_both(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("alpha", "2.0")])
    root = tmp_path / "ws"
    write(root / "pyproject.toml", '[tool.pypm.workspace]\nmembers = ["a", "b"]\n')
    python = 'requires-python = ">=3.10"\n'  # (without it a warning says which Python the lock is for)
    write(root / "a/pyproject.toml", '[project]\nname = "a"\nversion = "1"\ndependencies = ["alpha>=2"]\n' + python)
    write(root / "b/pyproject.toml", '[project]\nname = "b"\nversion = "1"\ndependencies = ["alpha<2"]\n' + python)
    line = one_error_line(lock(run_pypm, root, index, check=False))
    assert "a 1 requires alpha>=2" in line and "b 1 requires alpha<2" in line


class _BrokenIndex:
    """An index that answers every request with ``status`` and ``body``."""

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        import http.server
        import threading

        answer = (status, body, content_type)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self.send_response(answer[0])
                self.send_header("Content-Type", answer[2])
                self.send_header("Content-Length", str(len(answer[1])))
                self.end_headers()
                self.wfile.write(answer[1])

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/simple/"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize(
    ("status", "body", "content_type", "fragment"),
    [
        (500, b"oops", "text/plain", "answered HTTP 500"),
        (200, b"{not json", "application/vnd.pypi.simple.v1+json", "malformed JSON page"),
        (200, b'{"files": [{"nofilename": 1}]}', "application/vnd.pypi.simple.v1+json", "malformed file entry"),
    ],
)
def test_index_errors_give_one_line(tmp_path, run_pypm, status, body, content_type, fragment) -> None:
    broken = _BrokenIndex(status, body, content_type)
    try:
        root = project_with(tmp_path / "p", ["alpha"])
        result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": broken.url}, check=False)
        assert fragment in one_error_line(result)
    finally:
        broken.server.shutdown()


def test_index_down_gives_one_line(tmp_path, run_pypm) -> None:
    root = project_with(tmp_path / "p", ["alpha"])
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": "http://127.0.0.1:9/simple/"}, check=False)
    assert "cannot reach the index" in one_error_line(result)


def test_first_index_with_the_project_wins(tmp_path, make_index, run_pypm) -> None:
    private = make_index([DistSpec("alpha", "1.0")])
    public = make_index([DistSpec("alpha", "9.0"), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha", "beta"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": private.url, "PYPM_EXTRA_INDEX_URL": public.url})
    got = packages(root)
    assert got["alpha"]["version"] == "1.0" and got["alpha"]["index"] == private.url
    assert got["beta"]["index"] == public.url


def test_find_links_directory(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    links = tmp_path / "links"
    build_wheel(DistSpec("local-only", "3.0"), links)
    root = project_with(tmp_path / "p", ["alpha", "local-only"])
    run_pypm("lock", "sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, "PYPM_FIND_LINKS": str(links)})
    entry = packages(root)["local-only"]
    assert entry["version"] == "3.0" and entry["wheels"][0]["url"].startswith("file://")
    assert len(entry["wheels"][0]["hashes"]["sha256"]) == 64


def test_index_pages_are_revalidated_from_the_cache(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index)
    index.clear_requests()
    lock(run_pypm, root, index, "--refresh")
    pages = [r for r in index.requests if r.path.startswith("/simple/alpha")]
    assert pages and all(r.headers.get("if-none-match") for r in pages)
    assert {r.status for r in pages} == {304}


def test_credentials_are_sent_but_never_written(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    secret_url = index.url.replace("http://", "http://alice:s3cret@")
    root = project_with(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": secret_url})
    assert any(r.headers.get("authorization", "").startswith("Basic ") for r in index.requests)
    index.clear_requests()
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": secret_url})  # a new process downloads
    downloads = [r for r in index.requests if r.path.startswith("/files/alpha-")]
    assert downloads and all(r.headers.get("authorization", "").startswith("Basic ") for r in downloads)
    text = (root / "pylock.toml").read_text()
    assert "s3cret" not in text and "alice" not in text


def test_conflicting_markers_fork_the_lock(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("alpha", "2.0"), DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha>=2; sys_platform == 'linux'", "alpha<2; sys_platform != 'linux'",
                                         "beta"])
    run_pypm("lock", "sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    data = tomllib.loads((root / "pylock.toml").read_text())
    Pylock.from_dict(data).validate()
    alphas = sorted((p["version"], p["marker"]) for p in data["packages"] if p["name"] == "alpha")
    assert alphas == [("1.0", "sys_platform != 'linux'"), ("2.0", "sys_platform == 'linux'")]
    (beta,) = [p for p in data["packages"] if p["name"] == "beta"]
    assert "marker" not in beta, "a package both forks agree on needs no marker"
    import sys

    from tests.test_lock_sync import installed

    expected = "2.0" if sys.platform == "linux" else "1.0"
    assert installed(root / ".venv")["alpha"] == expected


def test_netrc_credentials_are_used(tmp_path, make_index, run_pypm) -> None:
    import base64

    index = make_index([DistSpec("alpha", "1.0")])
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login bob password hunter2\n")
    netrc.chmod(0o600)
    root = project_with(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, "NETRC": str(netrc)})
    expected = "Basic " + base64.b64encode(b"bob:hunter2").decode()
    assert index.requests and all(r.headers.get("authorization") == expected for r in index.requests)
    assert "hunter2" not in (root / "pylock.toml").read_text()


def test_each_index_page_is_read_once_per_lock(tmp_path: Path, make_index, run_pypm) -> None:
    """A lock reads each project page once: the resolver's prefetch and the resolver share
    one fetch per page, and forks reuse what an earlier fork read."""
    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0"),
                        DistSpec("gamma", "2.0")])
    root = write_project(tmp_path / "proj", ["alpha", "gamma"], dev=["beta"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    pages = sorted(r.path for r in index.requests if r.path.startswith("/simple/"))
    assert pages == ["/simple/alpha/", "/simple/beta/", "/simple/gamma/"], pages


def test_relative_find_links_in_the_project_are_read_from_its_directory(tmp_path, make_index, run_pypm) -> None:
    """`find-links = ["wheels"]` in [tool.pypm] means the project's wheels/, wherever pypm
    runs from (as uv reads relative paths in its configuration)."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha", "local-only"], extra_tool='find-links = ["wheels"]')
    build_wheel(DistSpec("local-only", "3.0"), root / "wheels")
    (root / "src").mkdir()
    run_pypm("lock", cwd=root / "src", env_extra={"PYPM_INDEX_URL": index.url})
    assert packages(root)["local-only"]["version"] == "3.0"


@pytest.mark.parametrize("packages_value", ["5", "1979-05-27"])
def test_an_old_lock_whose_packages_are_not_an_array_is_locked_afresh(tmp_path, make_index, run_pypm,
                                                                      packages_value) -> None:
    """A hand-edited ``pylock.toml`` whose ``packages`` is no array gives no preferences
    (as one that does not parse); ``lock`` and ``sync`` make a new one (was exit 70)."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    (root / "pylock.toml").write_text(f'lock-version = "1.0"\ncreated-by = "hand"\npackages = {packages_value}\n')
    lock(run_pypm, root, index)
    assert packages(root)["alpha"]["version"] == "1.0"
    (root / "pylock.toml").write_text(f'lock-version = "1.0"\ncreated-by = "hand"\npackages = {packages_value}\n')
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert packages(root)["alpha"]["version"] == "1.0"


@pytest.mark.parametrize(("args", "fragment"), [
    (["lock", "-P", "alpha==2.0"], "--upgrade-package takes a package name, not 'alpha==2.0'"),
    (["lock", "--upgrade-package", "alpha>=2"], "--upgrade-package takes a package name, not 'alpha>=2'"),
    (["lock", "-P", "alpha_"], "--upgrade-package 'alpha_' is not a valid package name"),
    (["sync", "--reinstall-package", "alpha==1.0"], "--reinstall-package takes a package name, not 'alpha==1.0'"),
])
def test_a_package_option_takes_a_name_only(tmp_path, make_index, run_pypm, args, fragment) -> None:
    """``-P 'alpha==2.0'`` matched no name and was silently ignored (exit 0, nothing
    upgraded): anything but a name is a command-line mistake."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    result = run_pypm(*args, cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert result.returncode == 2 and fragment in one_error_line(result)


def test_a_default_requires_python_follows_the_python_of_the_sync(tmp_path, make_index, run_pypm) -> None:
    """No member declares requires-python: the lock made under 3.11 is for >=3.11, so a
    later ``sync --python 3.10`` re-locks for >=3.10 (as uv re-resolves when its default
    changes) instead of refusing a bound the project never declared; then it is current."""
    from tests.test_lock_sync import PY310, installed

    assert PY310, "this test needs a Python 3.10 interpreter (pyenv or PATH)"
    index = make_index([DistSpec("newpkg", "1.0"), DistSpec("newpkg", "2.0", requires_python=">=3.11")])
    root = tmp_path / "p"
    write(root / "pyproject.toml", '[project]\nname = "p"\nversion = "1"\ndependencies = ["newpkg"]\n')
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("sync", cwd=root, env_extra=env)
    assert tomllib.loads((root / "pylock.toml").read_text())["requires-python"] == ">=3.11"
    older = run_pypm("sync", "--python", str(PY310[0]), cwd=root, env_extra=env, check=False)
    assert older.returncode == 0, older.stderr
    assert tomllib.loads((root / "pylock.toml").read_text())["requires-python"] == ">=3.10"
    assert installed(root / ".venv")["newpkg"] == "1.0"
    again = run_pypm("sync", "--python", str(PY310[0]), cwd=root, env_extra=env)
    assert "All up to date" in again.stderr, again.stderr


def test_a_find_links_directory_under_home_is_expanded(tmp_path, make_index, run_pypm) -> None:
    """``find-links = ["~/wheels"]`` is the user's directory, as pip reads it (pypm looked
    for a directory literally named ``~``)."""
    index = make_index([DistSpec("alpha", "1.0")])
    home = tmp_path / "home"
    build_wheel(DistSpec("local-only", "3.0"), home / "wheels")
    root = project_with(tmp_path / "p", ["local-only"], extra_tool='find-links = ["~/wheels"]')
    lock(run_pypm, root, index, env={"HOME": str(home)})
    assert packages(root)["local-only"]["version"] == "3.0"


def test_the_default_requires_python_of_a_version_request_runs_no_interpreter(tmp_path) -> None:
    """``python = "3.12"`` (``.python-version``) gives the default bound by itself: no
    interpreter is found and run for it on every freshness check (one that is not even
    installed is named by the sync that needs it, not here)."""
    from pypm.config import load_settings
    from pypm.operations.default_python import sync_python_version

    assert sync_python_version(tmp_path / ".venv", load_settings({"python": "3.99"})) == "3.99"
    assert sync_python_version(tmp_path / ".venv", load_settings({"python": "3.98.1"})) == "3.98.1"
