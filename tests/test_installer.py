"""The installer: shared store with hardlinks, link modes, resumable downloads, tampered
files, crash safety under SIGKILL, parallel syncs on one cache, Ctrl-C, sync flags."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from base64 import urlsafe_b64encode
from pathlib import Path

import pytest

from pypm.testing import DistSpec, build_wheel
from tests.test_lock_sync import installed, site_packages
from tests.workspaces import write, write_project

MiB = 1024 * 1024
SMALL = [DistSpec(f"pkg{i}", "1.0", requires=[f"pkg{i + 1}"] if i < 11 else []) for i in range(12)]
MEDIUM = [DistSpec("medium", "1.0", pad_bytes=3 * MiB), DistSpec("medium2", "1.0", pad_bytes=2 * MiB)]


def project(root: Path, dependencies: list[str], dev: list[str] = ()) -> Path:
    return write_project(root, dependencies, name=root.name, requires_python=">=3.10", dev=list(dev))


def popen_pypm(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.Popen:
    # A job started in the background inherits SIGINT as ignored, and Python then installs
    # no Ctrl-C handler: restore the default so the child behaves as under a terminal.
    return subprocess.Popen([sys.executable, "-m", "pypm", *args], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def assert_matches(venv: Path, expected: dict[str, str]) -> None:
    """Exactly the expected dists, every file of every RECORD present, no leftovers."""
    assert installed(venv) == expected
    for site in site_packages(venv):
        leftovers = [p.name for p in site.iterdir() if p.name.endswith((".pypm-tmp", ".pypm-removing"))]
        assert not leftovers, leftovers
        for record in site.glob("*.dist-info/RECORD"):
            for line in record.read_text().splitlines():
                path = Path(os.path.normpath(site / line.split(",")[0]))
                assert path.exists(), f"{path} listed in {record} is missing"


def store_is_sound(cache: Path) -> None:
    """Every file of every store entry still has the hash its manifest records."""
    entries = list((cache / "store-v1").glob("*/*/pypm-manifest.json"))
    assert entries
    for manifest in entries:
        data = json.loads(manifest.read_text())
        for scheme, path, recorded, size, _executable in data["files"]:
            content = (manifest.parent / "files" / scheme / path).read_bytes()
            digest = urlsafe_b64encode(hashlib.sha256(content).digest()).decode().rstrip("=")
            assert recorded == f"sha256={digest}" and size == len(content), f"corrupt store file {path}"


def test_two_projects_share_one_installation(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "2.0", pad_bytes=MiB)])
    env = {"PYPM_INDEX_URL": index.url}
    first = project(tmp_path / "one", ["alpha", "beta"])
    second = project(tmp_path / "two", ["alpha", "beta"])
    for root in (first, second):
        run_pypm("sync", cwd=root, env_extra=env)
    one = next(site_packages(first / ".venv")[0].glob("beta/_pad.bin"))
    two = next(site_packages(second / ".venv")[0].glob("beta/_pad.bin"))
    assert one.stat().st_ino == two.stat().st_ino, "both environments link the same store file"
    record = (site_packages(first / ".venv")[0] / "beta-2.0.dist-info/RECORD").read_text()
    assert "beta/_pad.bin,sha256=" in record
    assert (site_packages(first / ".venv")[0] / "beta-2.0.dist-info/INSTALLER").read_text() == "pypm\n"
    info = run_pypm("cache", "info", cwd=first, env_extra=env).stdout
    assert "2 entries shared by several" in info
    saved = info.split("saved by sharing: ")[1].split()[0]
    assert float(saved) >= 1.0 and "MiB" in info.split("saved by sharing: ")[1]


@pytest.mark.parametrize("mode", ["copy", "symlink"])
def test_link_modes(tmp_path, make_index, run_pypm, mode) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", "--link-mode", mode, cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    module = site_packages(root / ".venv")[0] / "alpha/__init__.py"
    assert module.is_symlink() == (mode == "symlink")
    if mode == "copy":
        assert module.stat().st_nlink == 1
    out = run_pypm("run", "python", "-c", "import alpha; print(alpha.__version__)", cwd=root,
                   env_extra={"PYPM_INDEX_URL": index.url, "PYPM_LINK_MODE": mode})
    assert out.stdout.strip() == "1.0"


@pytest.mark.skipif(not Path("/dev/shm").is_dir() or os.stat("/dev/shm").st_dev == os.stat("/tmp").st_dev,
                    reason="needs a cache on another filesystem")
def test_hardlink_falls_back_to_copy_across_filesystems(tmp_path, make_index, run_pypm) -> None:
    import shutil
    import tempfile

    index = make_index([DistSpec("alpha", "1.0")])
    cache = Path(tempfile.mkdtemp(dir="/dev/shm", prefix="pypm-test-cache-"))
    try:
        root = project(tmp_path / "p", ["alpha"])
        run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(cache)})
        module = site_packages(root / ".venv")[0] / "alpha/__init__.py"
        assert module.stat().st_nlink == 1 and not module.is_symlink()
        assert [p.read_text().strip() for p in (cache / "link-modes-v1").iterdir()] == ["copy"]
    finally:
        shutil.rmtree(cache, ignore_errors=True)


def test_large_download_resumes_after_kill(tmp_path, make_index, run_pypm, pypm_env) -> None:
    index = make_index([DistSpec("big", "1.0", pad_bytes=50 * MiB)], rate_limit=25 * MiB)
    env = {**pypm_env, "PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["big"])
    run_pypm("lock", cwd=root, env_extra=env)
    partial = Path(env["PYPM_CACHE_DIR"]) / "partial-v1"
    process = popen_pypm(["sync"], root, env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        parts = list(partial.glob("*.part")) if partial.is_dir() else []
        if parts and parts[0].stat().st_size > 10 * MiB:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    kept = parts[0].stat().st_size
    assert 10 * MiB < kept < 50 * MiB
    index.clear_requests()
    run_pypm("sync", cwd=root, env_extra=env)
    ranges = [r.headers.get("range") for r in index.requests if r.path.startswith("/files/big-")]
    assert ranges == [f"bytes={kept}-"], "the second sync continued where the first stopped"
    assert installed(root / ".venv") == {"big": "1.0", "p": "1.0"}
    assert not list(partial.glob("*.part"))


def test_tampered_wheel_on_the_index_is_refused(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra=env)
    import tomllib

    lock = tomllib.loads(root.joinpath("pylock.toml").read_text())
    (alpha,) = [p for p in lock["packages"] if p["name"] == "alpha"]
    expected = alpha["wheels"][0]["hashes"]["sha256"]
    build_wheel(DistSpec("alpha", "1.0", files={"alpha/__init__.py": "EVIL = True\n"}), index.files_dir)
    result = run_pypm("sync", cwd=root, env_extra=env, check=False)
    assert result.returncode != 0 and "Traceback" not in result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("error: alpha-1.0-py3-none-any.whl: sha256 mismatch: expected ")
    assert f"expected {expected}, got " in line
    assert "alpha" not in installed(root / ".venv")
    cache = Path(run_pypm("cache", "dir", cwd=root, env_extra=env).stdout.strip())
    assert not list(cache.glob("wheels-v1/*/*/alpha-*.whl")) and not list(cache.glob("partial-v1/*.part"))


def test_tampered_wheel_in_the_cache_is_refused(tmp_path, make_index, run_pypm) -> None:
    import shutil

    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    cache = Path(run_pypm("cache", "dir", cwd=root, env_extra=env).stdout.strip())
    shutil.rmtree(cache / "store-v1")
    shutil.rmtree(root / ".venv")
    (cached,) = cache.glob("wheels-v1/*/*/alpha-1.0-py3-none-any.whl")
    cached.write_bytes(cached.read_bytes()[:-10] + b"0123456789")
    result = run_pypm("sync", cwd=root, env_extra=env, check=False)
    assert result.returncode != 0
    assert "in the cache is corrupt" in result.stderr.strip().splitlines()[-1]
    assert "alpha" not in installed(root / ".venv") and not cached.exists()
    run_pypm("sync", cwd=root, env_extra=env)
    assert installed(root / ".venv")["alpha"] == "1.0"


def test_sync_survives_sigkill_at_any_point(tmp_path, make_index, run_pypm, pypm_env) -> None:
    index = make_index([*SMALL, *MEDIUM, DistSpec("devonly", "1.0", pad_bytes=MiB)], rate_limit=40 * MiB)
    env = {**pypm_env, "PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["pkg0", "medium", "medium2"], dev=["devonly"])
    run_pypm("lock", cwd=root, env_extra=env)
    full = {f"pkg{i}": "1.0" for i in range(12)} | {"medium": "1.0", "medium2": "1.0", "p": "1.0"}
    selections = [([], full | {"devonly": "1.0"}), (["--no-dev"], full)]
    for attempt in range(20):
        args, expected = selections[attempt % 2]
        if attempt % 5 == 4:
            import shutil

            shutil.rmtree(root / ".venv", ignore_errors=True)
        process = popen_pypm(["sync", *args], root, env)
        time.sleep(0.03 + 0.04 * attempt)
        process.send_signal(signal.SIGKILL)
        process.wait()
        run_pypm("sync", *args, cwd=root, env_extra=env)
        assert_matches(root / ".venv", expected)
    store_is_sound(Path(env["PYPM_CACHE_DIR"]))


def test_eight_parallel_syncs_share_one_cache(tmp_path, make_index, pypm_env) -> None:
    index = make_index([*SMALL, *MEDIUM])
    env = {**pypm_env, "PYPM_INDEX_URL": index.url}
    roots = [project(tmp_path / f"p{i}", ["pkg0", "medium", "medium2"]) for i in range(8)]
    processes = [popen_pypm(["sync"], root, env) for root in roots]
    for process in processes:
        out, err = process.communicate(timeout=300)
        assert process.returncode == 0, err
    expected = {f"pkg{i}": "1.0" for i in range(12)} | {"medium": "1.0", "medium2": "1.0"}
    for root in roots:
        assert_matches(root / ".venv", expected | {root.name: "1.0"})
    store_is_sound(Path(env["PYPM_CACHE_DIR"]))
    inodes = {next(site_packages(r / ".venv")[0].glob("medium/_pad.bin")).stat().st_ino for r in roots}
    assert len(inodes) == 1


def test_ctrl_c_stops_downloads_cleanly(tmp_path, make_index, run_pypm, pypm_env) -> None:
    index = make_index([DistSpec("big", "1.0", pad_bytes=20 * MiB)], rate_limit=5 * MiB)
    env = {**pypm_env, "PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["big"])
    run_pypm("lock", cwd=root, env_extra=env)
    process = popen_pypm(["sync"], root, env)
    partial = Path(env["PYPM_CACHE_DIR"]) / "partial-v1"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (partial.is_dir() and any(
            p.stat().st_size > MiB for p in partial.glob("*.part"))):
        time.sleep(0.02)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert time.monotonic() - started < 5, "Ctrl-C must stop the downloads promptly"
    assert process.returncode == 130
    assert err.strip().splitlines()[-1] == "error: interrupted" and "Traceback" not in err
    cache = Path(env["PYPM_CACHE_DIR"])
    assert not list(cache.rglob(".unpack-*")) and not list(cache.rglob(".download-*"))
    assert not (root / ".venv" / ".pypm-sync.json").exists()


def test_offline_frozen_and_locked(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra=env)
    result = run_pypm("sync", "--offline", cwd=root, env_extra=env, check=False)
    assert result.returncode != 0
    assert "offline, and not in the cache: alpha-1.0-py3-none-any.whl" in result.stderr
    run_pypm("sync", cwd=root, env_extra=env)
    (root / ".venv").rename(root / "old-venv")
    run_pypm("sync", "--offline", cwd=root, env_extra=env)
    assert installed(root / ".venv")["alpha"] == "1.0"

    text = (root / "pyproject.toml").read_text().replace('["alpha"]', '["alpha", "beta"]')
    (root / "pyproject.toml").write_text(text)
    lock_before = (root / "pylock.toml").read_bytes()
    locked = run_pypm("sync", "--locked", cwd=root, env_extra=env, check=False)
    assert locked.returncode != 0 and "out of date" in locked.stderr
    run_pypm("sync", "--frozen", cwd=root, env_extra=env)
    assert (root / "pylock.toml").read_bytes() == lock_before
    assert "beta" not in installed(root / ".venv")
    run_pypm("sync", cwd=root, env_extra=env)
    assert installed(root / ".venv")["beta"] == "1.0"


def test_pep660_editable_member(tmp_path, make_index, run_pypm) -> None:
    from pypm.testing.builders import wheel_from_installed

    index = make_index([DistSpec("alpha", "1.0")])
    index.add(wheel_from_installed("flit_core", tmp_path))
    root = tmp_path / "proj"
    write(root / "pyproject.toml", """
        [project]
        name = "proj"
        version = "1.0"
        description = "a flit project"
        dependencies = ["alpha"]

        [build-system]
        requires = ["flit_core>=3.9,<5"]
        build-backend = "flit_core.buildapi"
    """)
    write(root / "proj/__init__.py", "VALUE = 1\n")
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("sync", cwd=root, env_extra=env)
    site = site_packages(root / ".venv")[0]
    direct_url = json.loads((site / "proj-1.0.dist-info/direct_url.json").read_text())
    assert direct_url["dir_info"] == {"editable": True}
    assert "Generator: flit" in (site / "proj-1.0.dist-info/WHEEL").read_text()
    assert not list(site.glob("_pypm_editable_*.pth")), "the backend's editable wheel, not pypm's fallback"
    write(root / "proj/__init__.py", "VALUE = 2\n")
    out = run_pypm("run", "python", "-c", "import proj; print(proj.VALUE)", cwd=root, env_extra=env)
    assert out.stdout.strip() == "2"


def test_venv_is_recreated_for_another_python(tmp_path, make_index, run_pypm) -> None:
    """`--python` makes .venv from another interpreter; it sticks for plain syncs (as with
    uv) until another `--python` is given."""
    from tests.test_lock_sync import PY310

    assert PY310, "this test needs a Python 3.10 interpreter (pyenv or PATH)"
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    code = "import sys; print(sys.version_info[:2])"
    run_pypm("sync", "--python", str(PY310[-1]), cwd=root, env_extra=env)
    assert run_pypm("run", "--python", str(PY310[-1]), "python", "-c", code, cwd=root,
                    env_extra=env).stdout.strip() == "(3, 10)"
    run_pypm("sync", cwd=root, env_extra=env)
    assert run_pypm("run", "python", "-c", code, cwd=root, env_extra=env).stdout.strip() == "(3, 10)"
    moved = root.rename(root.with_name("moved"))  # made again at its new place, from the same Python
    assert "up to date" not in run_pypm("sync", cwd=moved, env_extra=env).stderr.lower()
    assert run_pypm("run", "python", "-c", code, cwd=moved, env_extra=env).stdout.strip() == "(3, 10)"
    root = moved.rename(root)
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    run_pypm("sync", "--python", running, cwd=root, env_extra=env)
    expected = f"({sys.version_info.major}, {sys.version_info.minor})"
    assert run_pypm("run", "python", "-c", code, cwd=root, env_extra=env).stdout.strip() == expected
    assert installed(root / ".venv")["alpha"] == "1.0"


def test_shell_and_python_list(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project(tmp_path / "p", ["alpha"])
    listing = run_pypm("python", "list", cwd=root).stdout
    assert f"{sys.version_info.major}.{sys.version_info.minor}." in listing
    script = tmp_path / "fake-shell"
    script.write_text('#!/bin/sh\necho "in $VIRTUAL_ENV"\nexit 7\n')
    script.chmod(0o755)
    result = run_pypm("shell", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, "SHELL": str(script)}, check=False)
    assert result.returncode == 7
    assert result.stdout.strip() == f"in {root / '.venv'}"


def test_same_version_with_another_file_is_replaced(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    build_wheel(DistSpec("alpha", "1.0", files={"alpha/__init__.py": "__version__ = 'rebuilt'\n"}), index.files_dir)
    run_pypm("lock", "--refresh", cwd=root, env_extra=env)
    run_pypm("sync", cwd=root, env_extra=env)
    out = run_pypm("run", "python", "-c", "import alpha; print(alpha.__version__)", cwd=root, env_extra=env)
    assert out.stdout.strip() == "rebuilt"


def test_a_moved_or_copied_project_gets_its_environment_made_again(tmp_path, make_index, run_pypm) -> None:
    """A ``.venv`` names its place (script shebangs, the editable ``.pth``, pypm's
    description): moved or copied with its project, it is made again by the next sync
    (never "up to date"), and the copy imports its own tree, not the original's."""
    tool = DistSpec("tool", "1.0", entry_points={"tool": "tool:main"},
                    files={"tool/__init__.py": "def main():\n    print('tool ran')\n"})
    env = {"PYPM_INDEX_URL": make_index([tool]).url}
    first = project(tmp_path / "first", ["tool"])
    (first / "here.py").write_text("import pathlib\nprint(pathlib.Path(__file__).parent.name)\n")
    run_pypm("sync", cwd=first, env_extra=env)
    shutil.copytree(first, tmp_path / "copy", symlinks=True)
    moved = tmp_path / "moved"
    first.rename(moved)
    for root in (moved, tmp_path / "copy"):
        result = run_pypm("sync", cwd=root, env_extra=env)
        assert "up to date" not in result.stderr.lower(), result.stderr
        assert run_pypm("run", "python", "-c", "import here", cwd=root, env_extra=env).stdout.strip() == root.name
        assert run_pypm("run", "tool", cwd=root, env_extra=env).stdout.strip() == "tool ran"
        assert run_pypm("verify", cwd=root, env_extra=env).returncode == 0
        assert "up to date" in run_pypm("sync", cwd=root, env_extra=env).stderr.lower()
