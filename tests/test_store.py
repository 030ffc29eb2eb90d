"""The shared store: wheels whose members escape their entry are refused, cache prune and
clean beside running syncs break none of them, crash leftovers are pruned, and a store
file edited through a hardlink is found by `cache verify` and repaired by the next sync."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import stat
import subprocess
import sys
import textwrap
import time
import zipfile
from pathlib import Path

import pytest
import tomllib

from pypm.testing import DistSpec
from pypm.testing._archive import render_record
from tests.test_installer import assert_matches, project, store_is_sound
from tests.test_lock_sync import installed, site_packages

MiB = 1024 * 1024
DEPTH_TO_TMP = 7  # <tmp>/pypm-env-*/cache/store-v1/<ab>/.unpack-*/files/purelib


# ---------------------------------------------------------------------------------------
# Containment


def write_wheel(dest: Path, name: str, members: dict[str, bytes] | None = None,
                symlinks: dict[str, str] | None = None, entry_points: str = "",
                executable: frozenset[str] = frozenset()) -> Path:
    """A wheel of ``name`` 1.0 with these members (and members stored as symlinks, and
    ``executable`` ones with mode 755), RECORD listing them all, so that only pypm's own
    checks can refuse it."""
    members, symlinks = members or {}, symlinks or {}
    dist_info = f"{name}-1.0.dist-info"
    files = {f"{name}/__init__.py": b"VALUE = 1\n", **members, **{k: v.encode() for k, v in symlinks.items()}}
    files[f"{dist_info}/METADATA"] = f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n\n".encode()
    files[f"{dist_info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    if entry_points:
        files[f"{dist_info}/entry_points.txt"] = entry_points.encode()
    files[f"{dist_info}/RECORD"] = render_record(files, f"{dist_info}/RECORD")
    path = dest / f"{name}-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            info = zipfile.ZipInfo(member, date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3
            mode = (stat.S_IFLNK | 0o777) if member in symlinks else (stat.S_IFREG | 0o644)
            if member in executable:
                mode |= 0o111
            info.external_attr = mode << 16
            archive.writestr(info, data)
    return path


def escaping_members(tmp_path: Path) -> dict[str, dict]:
    """Each way out of the store: name -> write_wheel keyword arguments."""
    up = "../" * DEPTH_TO_TMP
    return {
        "dotdot": {"members": {f"{up}escaped-dotdot.txt": b"x"}},
        "absolute": {"members": {f"{tmp_path}/escaped-absolute.txt": b"x"}},
        "drive-letter": {"members": {"C:/escaped-drive.txt": b"x"}},
        "symlink": {"symlinks": {"evil/etc": "/etc"}, "members": {"evil/etc/pypm-escaped.txt": b"x"}},
        "data-scheme": {"members": {f"evil-1.0.data/purelib/{up}escaped-data.txt": b"x"}},
        "script-name": {"entry_points": f"[console_scripts]\n{up}escaped-script = evil:main\n"},
        "directory-itself": {"members": {"evil/..": b"x"}},
    }


def snapshot(root: Path, skip: tuple[Path, ...]) -> set[Path]:
    """Every path under ``root`` except those under ``skip``."""
    found = set()
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = [d for d in subdirs if Path(directory, d) not in skip]
        found.update(Path(directory, name) for name in subdirs + files)
    return found


@pytest.mark.parametrize("way", ["dotdot", "absolute", "drive-letter", "symlink", "data-scheme", "script-name",
                                 "directory-itself"])
def test_wheel_escaping_the_store_is_refused(tmp_path, make_index, run_pypm, pypm_env, way) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    write_wheel(index.files_dir, "evil", **escaping_members(tmp_path)[way])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha", "evil"])
    run_pypm("lock", cwd=root, env_extra=env)
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    before = snapshot(tmp_path, skip=(cache, root / ".venv"))

    result = run_pypm("sync", cwd=root, env_extra=env, check=False)

    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len([line for line in lines if line.startswith("error:")]) == 1 and "Traceback" not in result.stderr
    assert lines[-1].startswith("error: refused to install evil-1.0-py3-none-any.whl: "), lines[-1]
    parsed_lock = root / ".pypm" / "pylock.toml.parsed.json"  # pypm's own: the lock read in a fast form
    after = snapshot(tmp_path, skip=(cache, root / ".venv")) - {parsed_lock}
    assert after == before - {parsed_lock}, "a file was written outside the store"
    assert not [p for p in tmp_path.rglob("*escaped*")], "an escaping member was written somewhere"
    assert not Path("/etc/pypm-escaped.txt").exists()
    assert not list((cache / "store-v1").glob("*/.unpack-*")), "the refused unpack left its directory"
    assert "evil" not in installed(root / ".venv")


def test_member_normalised_inside_its_entry_is_installed(tmp_path, make_index, run_pypm) -> None:
    """``..`` that stays inside the scheme directory is no escape: installed at its normal path."""
    index = make_index([])
    write_wheel(index.files_dir, "fine", {"fine/sub/../data.txt": b"inside\n"})
    root = project(tmp_path / "p", ["fine"])
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    site = site_packages(root / ".venv")[0]
    assert (site / "fine/data.txt").read_text() == "inside\n"
    assert_matches(root / ".venv", {"fine": "1.0", "p": "1.0"})


@pytest.mark.skipif(os.name == "nt", reason="Windows launchers are always made by installer")
def test_an_entry_unpacked_before_scripts_were_stored_gains_their_code(tmp_path, make_index, run_pypm,
                                                                        pypm_env) -> None:
    """A store entry whose manifest has no ``script_code`` (unpacked by an earlier pypm)
    still gets its scripts (from installer), and its manifest gains the code then, so the
    next sync that links it does without installer."""
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": "def main():\n    print('hi')\n"},
                                 entry_points={"alpha-cli": "alpha:main"})])
    env = {**pypm_env, "PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "proj", ["alpha"])
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    from pypm.store.layout import STORE

    [manifest] = [found for found in (Path(env["PYPM_CACHE_DIR"]) / STORE).glob("*/*/pypm-manifest.json")
                  if json.loads(found.read_text())["dist_info"].startswith("alpha-")]
    data = json.loads(manifest.read_text())
    written = data.pop("script_code")
    assert len(written) == 1 and "from alpha import main" in written[0], written
    manifest.write_text(json.dumps(data))
    code = ("import sys; from pypm.cli.main import main; code = main(['sync', '-q']); "
            "print(code, 'installer' in sys.modules)")
    for imported in (True, False):
        shutil.rmtree(root / ".venv")
        out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                             check=True)
        assert out.stdout.strip() == f"0 {imported}", out.stderr
        assert subprocess.run([str(root / ".venv/bin/alpha-cli")], capture_output=True, text=True,
                              check=True).stdout == "hi\n"
        assert json.loads(manifest.read_text())["script_code"] == written


def test_unpacked_entry_records_what_is_on_disk(tmp_path) -> None:
    """The manifest of a fresh unpack holds each file's real size, sha256 and mtime (taken
    while it was written) and its mode: a wrong mtime would make every later sync repair
    the entry, a wrong hash would go into every environment's RECORD."""
    import base64
    import hashlib

    from pypm.store.unpack import unpack_to_temp

    big = os.urandom(3 * MiB + 17)  # several reads of the copy loop
    tool = "sized-1.0.data/scripts/tool"
    members = {"sized/big.bin": big, "sized/empty.txt": b"", tool: b"#!/bin/sh\necho hi\n"}
    wheel = write_wheel(tmp_path, "sized", members, executable=frozenset({tool}))
    previous = os.umask(0o022)
    try:
        entry = unpack_to_temp(wheel, tmp_path / "store")
    finally:
        os.umask(previous)
    assert entry.mtimes is not None and len(entry.mtimes) == len(entry.files)
    seen = {}
    for stored, mtime in zip(entry.files, entry.mtimes, strict=True):
        path = entry.source(stored)
        data = path.read_bytes()
        status = path.stat()
        assert stored.size == len(data) == status.st_size, stored
        expected = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).decode().rstrip("=")
        assert stored.hash == f"sha256={expected}", stored
        assert mtime == status.st_mtime_ns, stored
        assert stored.executable == (stored.path == "tool"), stored
        if os.name != "nt":  # Windows has no such modes
            assert stat.S_IMODE(status.st_mode) == (0o755 if stored.executable else 0o644), stored  # umask 022
        seen[(stored.scheme, stored.path)] = data
    assert seen[("purelib", "sized/big.bin")] == big
    assert seen[("purelib", "sized/empty.txt")] == b""
    assert seen[("scripts", "tool")].startswith(b"#!/bin/sh")


def _zlib_ng_required() -> bool:
    """Does pypm's own metadata require zlib-ng on this interpreter and platform?"""
    from importlib.metadata import requires

    from packaging.requirements import Requirement

    found = [Requirement(text) for text in requires("pypm") or [] if text.startswith("zlib-ng")]
    assert found, "pypm's metadata names zlib-ng"
    return found[0].marker is None or found[0].marker.evaluate()


def test_deflated_members_are_inflated_by_zlib_ng_to_the_same_bytes(tmp_path) -> None:
    """A deflated member nothing has read yet gets zlib-ng's inflate and gives the bytes
    zlib gives; a stored member, or one already read from, is left to zipfile."""
    import zlib

    from pypm.store.unpack import faster_inflate

    if not _zlib_ng_required():
        pytest.skip("zlib-ng is not a dependency of pypm on this platform")
    assert importlib.util.find_spec("zlib_ng") is not None, "zlib-ng is a dependency of pypm here"
    texts = {"a.txt": b"some text, " * 50_000, "b.bin": os.urandom(200_000) + b"\0" * 100_000}
    path = tmp_path / "members.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in texts.items():
            archive.writestr(name, data)
        archive.writestr(zipfile.ZipInfo("stored.txt"), b"plain")
    with zipfile.ZipFile(path) as archive:
        for name, data in texts.items():
            with archive.open(name) as stream:
                assert faster_inflate(stream)
                assert type(stream._decompressor).__module__.startswith("zlib_ng")
                assert stream.read() == data  # and zipfile's CRC check passed
        with archive.open("stored.txt") as stream:
            assert not faster_inflate(stream) and stream.read() == b"plain"
        with archive.open("a.txt") as stream:
            stream.read(10)
            assert not faster_inflate(stream)
            assert isinstance(stream._decompressor, type(zlib.decompressobj(-15)))
            assert stream.read() == texts["a.txt"][10:]


@pytest.mark.parametrize("damage", ["deflate-stream", "crc"])
def test_wheel_with_damaged_compressed_data_is_refused_in_one_line(tmp_path, make_index, run_pypm, damage) -> None:
    """A member whose deflate data is damaged (the inflater fails) or whose bytes do not
    match their CRC: one line naming the wheel, exit 1, no traceback."""
    index = make_index([])
    data = bytes(range(256)) * 400 if damage == "crc" else os.urandom(4000) + b"a" * 50_000
    path = index.files_dir / "broken-1.0-py3-none-any.whl"
    members = {"broken/__init__.py": b"", "broken/blob.bin": data,
               "broken-1.0.dist-info/METADATA": b"Metadata-Version: 2.1\nName: broken\nVersion: 1.0\n\n",
               "broken-1.0.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: t\nRoot-Is-Purelib: true\n"
                                             b"Tag: py3-none-any\n"}
    members["broken-1.0.dist-info/RECORD"] = render_record(members, "broken-1.0.dist-info/RECORD")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        info = archive.getinfo("broken/blob.bin")
        if damage == "crc":  # a valid stream; the central directory (what readers check) gets a wrong CRC
            info.CRC ^= 0x5A5A
    if damage == "deflate-stream":  # the stream's own bytes
        raw = bytearray(path.read_bytes())
        start = info.header_offset + 30 + len(info.filename.encode())
        for offset in range(start + 5, start + 2000, 7):
            raw[offset] ^= 0xFF
        path.write_bytes(bytes(raw))
    root = project(tmp_path / "p", ["broken"])
    result = run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: cannot install broken-1.0-py3-none-any.whl: "), last


def test_members_that_normalise_to_one_file_are_refused_naming_it(tmp_path, make_index, run_pypm) -> None:
    """``dup/a.py`` and ``dup/./a.py`` (both in RECORD) are one file: refused, named as in
    the wheel, not by its path in the cache."""
    index = make_index([])
    write_wheel(index.files_dir, "dup", {"dup/a.py": b"one\n", "dup/./a.py": b"two\n"})
    root = project(tmp_path / "p", ["dup"])
    result = run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert result.returncode == 1, result.stderr
    last = result.stderr.strip().splitlines()[-1]
    expected = "error: cannot install dup-1.0-py3-none-any.whl: it holds the same file twice (dup/a.py)"
    assert last.startswith(expected), last


def test_wheel_holding_a_file_twice_is_refused_in_one_line(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """A wheel whose zip names one member twice (RECORD lists it once, so installer's
    RECORD check finds the second): the unpack stops with one line that names the member
    and not the cache's path, and leaves nothing in the store."""
    index = make_index([])
    wheel = write_wheel(index.files_dir, "twice", {"twice/data.txt": b"first\n"})
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("twice/data.txt", b"second\n")
    root = project(tmp_path / "p", ["twice"])
    result = run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last == ("error: cannot install twice-1.0-py3-none-any.whl: twice/data.txt is not mentioned in RECORD"
                    " (the wheel does not match its own RECORD; nothing from it was installed)"), last
    store = Path(pypm_env["PYPM_CACHE_DIR"]) / "store-v1"
    assert not list(store.glob("*/.unpack-*")) and not list(store.glob("*/*/pypm-manifest.json"))


# ---------------------------------------------------------------------------------------
# Cache maintenance beside running syncs

LOOP = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from pypm.operations import cache

    action, cache_dir, stop = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
    rounds = 0
    while not stop.exists():
        getattr(cache, action)(cache_dir)
        rounds += 1
        time.sleep(0.005)
    print(rounds)
""")


@pytest.mark.parametrize("action", ["prune", "clean"])
def test_prune_and_clean_beside_syncs_break_none(tmp_path, make_index, run_pypm, pypm_env, action) -> None:
    specs = [DistSpec(f"pkg{i}", "1.0") for i in range(6)] + [DistSpec("medium", "1.0", pad_bytes=2 * MiB)]
    index = make_index(specs)
    env = {**pypm_env, "PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", [s.name for s in specs])
    run_pypm("lock", cwd=root, env_extra=env)
    stop = tmp_path / "stop"
    loop = subprocess.Popen([sys.executable, "-c", LOOP, action, env["PYPM_CACHE_DIR"], str(stop)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    failures = []
    try:
        for attempt in range(10):
            shutil.rmtree(root / ".venv", ignore_errors=True)  # every round unpacks (or links) afresh
            result = run_pypm("sync", cwd=root, env_extra=env, check=False)
            python = root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
            imported = result.returncode == 0 and subprocess.run(
                [str(python), "-c", "import medium, " + ", ".join(f"pkg{i}" for i in range(6))]).returncode == 0
            if not imported:
                failures.append((attempt, result.returncode, result.stderr.strip().splitlines()[-1:]))
    finally:
        stop.touch()
        out, err = loop.communicate(timeout=120)
    assert loop.returncode == 0, err
    print(f"{action}: {10 - len(failures)}/10 syncs succeeded beside {out.strip()} {action} runs")
    assert not failures, failures
    assert int(out) >= 10, f"the {action} loop ran only {out.strip()} times beside the syncs"


# ---------------------------------------------------------------------------------------
# Crash leftovers


def test_prune_removes_crash_leftovers_but_nothing_in_use(tmp_path, make_index, run_pypm, pypm_env) -> None:
    from filelock import FileLock

    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha", "beta"])
    run_pypm("sync", cwd=root, env_extra=env)
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    entries = sorted((cache / "store-v1").glob("*/*/pypm-manifest.json"))
    assert len(entries) == 3  # alpha, beta and the project's editable
    bucket = entries[0].parent.parent
    unpack = bucket / ".unpack-killed"
    (unpack / "files/purelib/big").mkdir(parents=True)
    (unpack / "files/purelib/big/blob.bin").write_bytes(b"\0" * MiB)
    manifest_temp = entries[0].parent / ".pypm-manifest.json.0123abcd.tmp"
    manifest_temp.write_text("{")
    partial = cache / "partial-v1"
    partial.mkdir(exist_ok=True)
    dead, live = partial / ("d" * 64 + ".part"), partial / ("e" * 64 + ".part")
    for part in (dead, live):
        part.write_bytes(b"partial")
        part.with_suffix(".json").write_text("{}")
    old_temp, new_temp = cache / "metadata-v1/ab/.x.METADATA.aa11.tmp", cache / "metadata-v1/ab/.y.METADATA.bb22.tmp"
    old_temp.parent.mkdir(parents=True)
    old_temp.write_text("old")
    new_temp.write_text("new")
    two_days_ago = time.time() - 2 * 86400
    os.utime(old_temp, (two_days_ago, two_days_ago))

    with FileLock(str(live) + ".lock"):  # a download of this file is running
        result = run_pypm("cache", "prune", cwd=root, env_extra=env)

    assert ("Removed 0 unused store entries, 0 unused shared dist-info files, 2 store leftovers, "
            "2 partial download files and 1 stale temp files") in result.stderr
    assert not unpack.exists() and not manifest_temp.exists()
    assert not dead.exists() and not dead.with_suffix(".json").exists()
    assert live.exists() and live.with_suffix(".json").exists()
    assert not old_temp.exists() and new_temp.exists()
    assert len(list((cache / "store-v1").glob("*/*/pypm-manifest.json"))) == 3
    store_is_sound(cache)
    assert run_pypm("run", "python", "-c", "import alpha, beta", cwd=root, env_extra=env).returncode == 0

    shared = list((cache / "dist-info-files-v1").glob("*/*"))
    assert len(shared) == 2  # INSTALLER and REQUESTED, alike everywhere
    shutil.rmtree(root / ".venv")
    result = run_pypm("cache", "prune", cwd=root, env_extra=env)
    assert f"Removed 3 unused store entries, {len(shared)} unused shared dist-info files" in result.stderr
    assert not list((cache / "store-v1").glob("*/*/pypm-manifest.json"))
    assert not list((cache / "dist-info-files-v1").glob("*/*"))


def test_clean_keeps_the_lock_and_what_pypm_did_not_make(tmp_path, make_index, run_pypm, pypm_env) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    (cache / "notes.txt").write_text("mine")
    result = run_pypm("cache", "clean", cwd=root, env_extra=env)
    assert "left 1 entries pypm did not make: notes.txt" in result.stderr
    lock_file = "store.flock" if os.name == "posix" else "store.lock.db"
    assert sorted(p.name for p in cache.iterdir()) == ["notes.txt", lock_file]
    assert run_pypm("run", "python", "-c", "import alpha", cwd=root, env_extra=env).returncode == 0
    shutil.rmtree(root / ".venv")
    run_pypm("sync", cwd=root, env_extra=env)
    assert installed(root / ".venv")["alpha"] == "1.0"


_HOLD_STORE = """
import sys, threading, time
from pathlib import Path
from pypm.store.lock import shared_store_lock
cache = Path(sys.argv[1])
with shared_store_lock(cache):
    inner = threading.Thread(target=lambda: shared_store_lock(cache).__enter__())  # reentrant, also in threads
    inner.start(); inner.join()
    print("held", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_prune_waits_for_the_processes_sharing_the_store(tmp_path, run_pypm, pypm_env) -> None:
    """Two processes share the store lock at once; ``cache prune`` waits until both have
    let it go (and says so)."""
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    holders = [subprocess.Popen([sys.executable, "-c", _HOLD_STORE, str(cache), seconds], stdout=subprocess.PIPE,
                                text=True) for seconds in ("1", "2")]
    try:
        assert [h.stdout.readline() for h in holders] == ["held\n", "held\n"]  # both hold it at once
        result = run_pypm("cache", "prune", cwd=tmp_path)
        assert "Waiting for the pypm processes using the cache to finish" in result.stderr
        assert all(h.poll() is not None for h in holders), "prune ran while a process held the store"
    finally:
        for holder in holders:
            holder.kill()
            holder.wait()
    assert "Waiting" not in run_pypm("cache", "prune", cwd=tmp_path).stderr


def test_cache_help_describes_each_action(tmp_path, run_pypm) -> None:
    out = run_pypm("cache", "--help", cwd=tmp_path).stdout
    for action in ("dir", "info", "prune", "clean", "verify"):
        assert any(line.split()[:1] == [action] and len(line.split()) > 3 for line in out.splitlines()), action
    result = run_pypm("cache", "shrink", cwd=tmp_path, check=False)
    assert result.returncode == 2 and result.stderr.strip().splitlines()[-1].startswith("error: ")


# ---------------------------------------------------------------------------------------
# Integrity: an edit through a hardlink


def _value(root: Path) -> str:
    return (site_packages(root / ".venv")[0] / "alpha/__init__.py").read_text()


def test_edited_file_is_found_by_verify_and_repaired_by_the_next_sync(tmp_path, make_index, run_pypm,
                                                                     pypm_env) -> None:
    pristine = "VALUE = 'pristine'\n"
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": pristine, "alpha/other.py": "X = 1\n"}),
                        DistSpec("beta", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    one, two, three = (project(tmp_path / name, ["alpha", "beta"]) for name in ("one", "two", "three"))
    copied = project(tmp_path / "copied", ["alpha"])
    for root in (one, two):
        run_pypm("sync", cwd=root, env_extra=env)
    run_pypm("sync", "--link-mode", "copy", cwd=copied, env_extra=env)
    copied_file = site_packages(copied / ".venv")[0] / "alpha/__init__.py"
    copied_inode = copied_file.stat().st_ino
    assert run_pypm("cache", "verify", cwd=one, env_extra=env).returncode == 0

    edited = site_packages(one / ".venv")[0] / "alpha/__init__.py"
    with edited.open("r+") as handle:  # in place, as an editor without atomic saves does
        handle.write("VALUE = 'EDITED!!!'\n")
    assert _value(two) == "VALUE = 'EDITED!!!'\n", "the edit reached the other environment through the store"

    result = run_pypm("cache", "verify", cwd=one, env_extra=env, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert result.stdout.splitlines() == [
        f"damaged: alpha 1.0 (store entry {_entry_of(cache, one).name[:12]}): 1 of 4 files changed: alpha/__init__.py;"
        " linked into 3 environments"]
    assert result.stderr.strip().splitlines()[-1].startswith("error: 1 of 5 store entries changed since they were")

    synced = run_pypm("sync", cwd=three, env_extra=env)
    assert ("Repaired alpha-1.0-py3-none-any.whl in the store: 1 changed file(s) unpacked afresh; 2 file(s)"
            " relinked in 2 environment(s) sharing them") in synced.stderr
    for root in (one, two, three):
        assert _value(root) == pristine, root.name
        out = run_pypm("run", "python", "-c", "import alpha; print(alpha.VALUE)", cwd=root, env_extra=env).stdout
        assert out.strip() == "pristine"
    store_file = _entry_of(cache, one) / "files/purelib/alpha/__init__.py"
    inodes = {(site_packages(r / ".venv")[0] / "alpha/__init__.py").stat().st_ino for r in (one, two, three)}
    assert inodes == {store_file.stat().st_ino}, "every environment links the fresh store file again"
    assert copied_file.read_text() == pristine and copied_file.stat().st_ino == copied_inode, "a copy is its own"
    assert run_pypm("cache", "verify", cwd=one, env_extra=env).returncode == 0
    store_is_sound(cache)


def test_a_repair_relinks_only_files_inside_the_environment(tmp_path, make_index, run_pypm) -> None:
    """A RECORD row leading out of ``.venv`` to a hardlink of the damaged store file (the
    user's own) is not replaced by the repair; the environment's own file is."""
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": "VALUE = 'pristine'\n"})])
    env = {"PYPM_INDEX_URL": index.url}
    one, two = project(tmp_path / "one", ["alpha"]), project(tmp_path / "two", ["alpha"])
    run_pypm("sync", cwd=one, env_extra=env)
    linked = site_packages(one / ".venv")[0] / "alpha/__init__.py"
    outside = tmp_path / "keep" / "mine.py"
    outside.parent.mkdir()
    os.link(linked, outside)
    record = next(site_packages(one / ".venv")[0].glob("alpha-1.0.dist-info")) / "RECORD"
    row = os.path.relpath(outside, record.parent.parent).replace(os.sep, "/")
    record.write_text(record.read_text() + f"{row},,\n")
    with linked.open("r+") as handle:
        handle.write("VALUE = 'EDITED!!!'\n")
    kept = outside.stat().st_ino

    synced = run_pypm("sync", cwd=two, env_extra=env)
    assert "1 file(s) relinked in 1 environment(s)" in synced.stderr, synced.stderr
    assert _value(one) == "VALUE = 'pristine'\n"
    assert outside.stat().st_ino == kept and outside.read_text() == "VALUE = 'EDITED!!!'\n", "the user's file"


def test_alike_dist_info_files_are_linked_from_one_copy_and_an_edit_is_not_spread(
        tmp_path, make_index, run_pypm, pypm_env) -> None:
    """INSTALLER and REQUESTED are the same in every environment: hardlinked from one copy
    in the cache. RECORD and the store pointer (what uninstall, prune and repair read) are
    each environment's own; a shared copy edited in place is replaced, not linked on."""
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("gamma", "1.0", entry_points={"gamma-cli": "gamma:main"})])
    env = {"PYPM_INDEX_URL": index.url}
    one, two, three, copied = (project(tmp_path / name, ["alpha", "gamma"]) for name in ("one", "two", "three", "c"))
    for root in (one, two):
        run_pypm("sync", cwd=root, env_extra=env)
    run_pypm("sync", "--link-mode", "copy", cwd=copied, env_extra=env)

    def info(root: Path, dist: str, name: str) -> Path:
        return site_packages(root / ".venv")[0] / f"{dist}-1.0.dist-info" / name

    for name in ("INSTALLER", "REQUESTED"):
        assert info(one, "alpha", name).stat().st_ino == info(two, "alpha", name).stat().st_ino, name
        assert info(copied, "alpha", name).stat().st_nlink == 1, f"{name}: copy mode shares nothing"
    for name in ("RECORD", "pypm-store.json"):
        assert info(one, "alpha", name).stat().st_nlink == 1, f"{name} is this environment's own"

    with info(one, "alpha", "INSTALLER").open("r+") as handle:  # in place, through one environment's link
        handle.write("edit\n")
    run_pypm("sync", cwd=three, env_extra=env)
    assert info(three, "alpha", "INSTALLER").read_text() == "pypm\n"
    assert info(three, "alpha", "INSTALLER").stat().st_ino != info(one, "alpha", "INSTALLER").stat().st_ino
    assert run_pypm("verify", cwd=three, env_extra=env).returncode == 0
    result = run_pypm("verify", cwd=two, env_extra=env, check=False)
    assert result.returncode == 1 and "INSTALLER" in result.stdout + result.stderr


def test_a_shared_copy_at_the_link_limit_is_replaced_by_a_fresh_one(tmp_path) -> None:
    """A shared dist-info copy linked as often as the filesystem allows (ext4: 65,000) is
    replaced by a new copy, which the next environment links: no error, and no fallback
    to a file of its own for every later environment."""
    import errno

    from pypm.store.shared_files import place_shared, shared_copy

    cache, scratch = tmp_path / "cache", tmp_path / "scratch"
    scratch.mkdir()
    full = shared_copy(cache, b"pypm\n")
    for count in range(70_000):
        try:
            os.link(full, scratch / str(count))
        except OSError as exc:
            assert exc.errno == errno.EMLINK, exc
            break
    else:
        pytest.skip(f"{tmp_path}'s filesystem allows more than 70,000 links to one file")
    saturated = os.stat(full).st_ino
    for name in ("one", "two"):
        place_shared(str(tmp_path / name), b"pypm\n", cache)
    one, two = (os.stat(tmp_path / name) for name in ("one", "two"))
    assert one.st_ino == two.st_ino != saturated, "both link the fresh copy"
    assert os.stat(full).st_ino == one.st_ino and one.st_nlink == 3
    assert (tmp_path / "one").read_bytes() == b"pypm\n"


def test_a_wheels_own_installer_file_is_left_out_and_the_store_stays_intact(
        tmp_path, make_index, run_pypm, pypm_env) -> None:
    """A wheel that ships INSTALLER and REQUESTED in its dist-info (some do): the
    environment gets pypm's own (as pip writes its own), the store file is not written
    through, and RECORD lists each file once."""
    wheel = write_wheel(tmp_path, "repack", members={"repack-1.0.dist-info/INSTALLER": b"pip\n",
                                                     "repack-1.0.dist-info/REQUESTED": b"by hand\n"})
    links = tmp_path / "links"
    links.mkdir()
    shutil.move(str(wheel), links / wheel.name)
    root = project(tmp_path / "proj", ["repack"])
    env = {"PYPM_INDEX_URL": make_index([]).url, "PYPM_FIND_LINKS": str(links)}
    for root_ in (root, project(tmp_path / "other", ["repack"])):
        result = run_pypm("sync", cwd=root_, env_extra=env, check=False)
        assert result.returncode == 0, result.stderr
    dist_info = site_packages(root / ".venv")[0] / "repack-1.0.dist-info"
    assert (dist_info / "INSTALLER").read_text() == "pypm\n"
    assert (dist_info / "REQUESTED").read_text() == ""
    rows = [line.split(",")[0] for line in (dist_info / "RECORD").read_text().splitlines()]
    assert len(rows) == len(set(rows))
    assert run_pypm("cache", "verify", cwd=root, env_extra=env).returncode == 0
    assert run_pypm("verify", cwd=root, env_extra=env).returncode == 0


def test_manifest_without_mtimes_gets_them_once(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """A store unpacked by an older pypm (no mtimes in the manifests) is trusted once: the
    next sync that links an entry records its mtimes, and from then on edits are found."""
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": "VALUE = 'pristine'\n"})])
    env = {"PYPM_INDEX_URL": index.url}
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    one, two, three = (project(tmp_path / name, ["alpha"]) for name in ("one", "two", "three"))
    run_pypm("sync", cwd=one, env_extra=env)
    manifest = _entry_of(cache, one) / "pypm-manifest.json"
    data = json.loads(manifest.read_text())
    assert len(data.pop("mtime_ns")) == len(data["files"])
    manifest.write_text(json.dumps(data))

    run_pypm("sync", cwd=two, env_extra=env)
    recorded = json.loads(manifest.read_text())["mtime_ns"]
    store_file = _entry_of(cache, one) / "files/purelib/alpha/__init__.py"
    assert recorded[[f[1] for f in data["files"]].index("alpha/__init__.py")] == store_file.stat().st_mtime_ns

    with (site_packages(one / ".venv")[0] / "alpha/__init__.py").open("r+") as handle:
        handle.write("VALUE = 'EDITED!!!'\n")  # same size: only the mtime tells
    synced = run_pypm("sync", cwd=three, env_extra=env)
    assert "Repaired alpha-1.0-py3-none-any.whl in the store" in synced.stderr
    assert all(_value(root) == "VALUE = 'pristine'\n" for root in (one, two, three))


def _entry_of(cache: Path, root: Path) -> Path:
    """The store entry alpha was linked from in this project's environment."""
    pointer = site_packages(root / ".venv")[0] / "alpha-1.0.dist-info/pypm-store.json"
    sha = json.loads(pointer.read_text())["store"]
    return cache / "store-v1" / sha[:2] / sha


def test_clean_removes_every_cache_directory_pypm_writes(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """Every directory a lock and a sync create in the cache is one `cache clean` knows."""
    from pypm.store.layout import CACHE_DIRS
    from pypm.store.lock import is_lock_file

    index = make_index([DistSpec("alpha", "1.0")], flavour="html")
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    root = tmp_path / "p"
    (root).mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "p"\nversion = "1.0"\nrequires-python = ">=3.10"\ndependencies = ["alpha"]\n')
    run_pypm("lock", "sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    made = {p.name for p in cache.iterdir() if not is_lock_file(p.name)}
    assert made and made <= set(CACHE_DIRS), sorted(made - set(CACHE_DIRS))
    run_pypm("cache", "clean", cwd=root)
    assert [p.name for p in cache.iterdir() if not is_lock_file(p.name)] == []


def test_link_records_are_symlinks_and_older_file_records_still_count(tmp_path) -> None:
    """A record names the dist-info pointer of an environment that links the entry; records
    written as files by an older pypm are read too, and a dead one is dropped."""
    import json as _json

    from pypm.store.layout import entry_links
    from pypm.store.registry import STORE_POINTER, live_links, register_link

    entry = tmp_path / "store-v1" / "ab" / "abcdef"
    entry.mkdir(parents=True)
    pointers = []
    for env in ("one", "two", "gone"):
        dist_info = tmp_path / env / "alpha-1.0.dist-info"
        dist_info.mkdir(parents=True)
        (dist_info / STORE_POINTER).write_text(_json.dumps({"store": entry.name}))
        pointers.append(dist_info / STORE_POINTER)
    register_link(entry, pointers[0])
    register_link(entry, pointers[0])  # again: still one record
    records = list(entry_links(entry).iterdir())
    assert len(records) == 1 and records[0].is_symlink()
    (entry_links(entry) / "legacy").write_text(str(pointers[1].resolve()))
    register_link(entry, pointers[2])
    pointers[2].unlink()  # that environment removed the package
    assert sorted(live_links(entry)) == sorted(p.resolve() for p in pointers[:2])
    assert len(list(entry_links(entry).iterdir())) == 2, "the dead record is dropped"


def test_entries_that_share_a_top_level_name_are_linked_in_one_group() -> None:
    """What may be linked side by side: entries sharing a top-level directory (purelib and
    platlib are one), a data directory or a script name are one group, in their order."""
    from pypm.store.entry import StoredFile, StoreEntry
    from pypm.store.link import independent_groups

    def entry(name: str, *paths: str, scripts: tuple[str, ...] = ()) -> StoreEntry:
        files = [StoredFile(*path.split(":", 1), "sha256=x", 1, False) for path in paths]
        return StoreEntry(Path(name), "purelib", f"{name}-1.dist-info", files,
                          [(script, "m", "f", "console") for script in scripts])

    entries = [
        entry("a", "purelib:ns/a.py", "purelib:a-1.dist-info/METADATA"),
        entry("b", "platlib:ns/b.py"),                      # ns/ again, from platlib
        entry("c", "purelib:c/__init__.py", "data:share/c.txt"),
        entry("d", "purelib:d.py", "data:share/d.txt"),     # share/ with c
        entry("e", "purelib:e.py", scripts=("tool",)),
        entry("f", "purelib:f.py", scripts=("tool",)),      # the same script name as e
        entry("g", "purelib:g.py", "purelib:g2.py", "purelib:g3.py", "purelib:g4.py", "purelib:g5.py"),
    ]
    assert independent_groups(entries) == [[6], [2, 3], [0, 1], [4, 5]]  # most files first


def test_side_by_side_linking_installs_everything_and_the_later_of_two_clashing_files_wins(
    tmp_path, make_index, run_pypm
) -> None:
    """Many packages (a namespace spread over eight, two that ship the same file) linked by
    several threads: every file of every RECORD is there each time, the namespace imports
    whole, and the clash ends as a one-by-one install ends it (the later package's file)."""
    specs = [DistSpec(f"ns-part{i}", "1.0", files={f"ns/part{i}.py": f"N = {i}\n"}) for i in range(8)]
    specs += [DistSpec(f"solo{i}", "1.0") for i in range(8)]
    specs += [DistSpec(f"clash-{x}", "1.0", files={f"clash_{x}/__init__.py": "", "shared_dir/data.txt": x})
              for x in ("a", "b")]
    env = {"PYPM_INDEX_URL": make_index(specs).url}
    root = project(tmp_path / "p", [spec.name for spec in specs])
    code = "import ns.part0, ns.part7, pathlib, shared_dir; print(open(shared_dir.__path__[0] + '/data.txt').read())"
    for _ in range(4):
        shutil.rmtree(root / ".venv", ignore_errors=True)
        run_pypm("sync", cwd=root, env_extra=env)
        assert_matches(root / ".venv", {**{spec.name: "1.0" for spec in specs}, "p": "1.0"})
        assert run_pypm("run", "python", "-c", code, cwd=root, env_extra=env).stdout.strip() == "b"


@pytest.mark.parametrize("scripts", [False, True], ids=["no-scripts", "entry-point"])
def test_linking_stored_entries_imports_installer_only_for_scripts(tmp_path, make_index, run_pypm, pypm_env,
                                                                     scripts) -> None:
    """A sync that only links entries already in the store (a new .venv, the cache warm)
    reads their manifests: pypa/installer (and the ``email`` package it pulls in) is not
    imported, not even to write entry-point scripts on POSIX (their code is in the
    manifest; on Windows installer makes the launchers); the environment is complete
    either way, its script runs."""
    entry_points = {"alpha-cli": "alpha:main"} if scripts else {}
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": "def main():\n    print('hi')\n"},
                                 entry_points=entry_points)])
    env = {**pypm_env, "PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "proj", ["alpha"])
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    shutil.rmtree(root / ".venv")
    code = ("import sys; from pypm.cli.main import main; code = main(['sync', '-q']); "
            "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'installer', 'email'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True, check=True)
    imported = "['email', 'installer']" if scripts and os.name == "nt" else "[]"
    assert out.stdout.strip() == f"0 {imported}", out.stderr
    venv_python = root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    check = "import alpha; from importlib.metadata import version; assert version('proj') == '1.0'"
    assert subprocess.run([str(venv_python), "-c", check], check=False).returncode == 0
    script = root / ".venv" / ("Scripts/alpha-cli.exe" if os.name == "nt" else "bin/alpha-cli")
    assert script.exists() == scripts
    if scripts:
        assert subprocess.run([str(script)], capture_output=True, text=True, check=True).stdout == "hi\n"


def test_stored_entries_are_linked_without_their_wheels_and_a_repair_fetches_its_own(
        tmp_path, make_index, run_pypm, pypm_env) -> None:
    """A sync links entries already in the store without their wheels in the cache (no
    download, online or offline, as uv links from its cache); the wheel is fetched only to
    repair its entry, and offline that fails in one line naming it."""
    pristine = "VALUE = 'pristine'\n"
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": pristine}), DistSpec("beta", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    one, two, three = (project(tmp_path / name, ["alpha", "beta"]) for name in ("one", "two", "three"))
    run_pypm("sync", cwd=one, env_extra=env)
    shutil.rmtree(cache / "wheels-v1")

    index.clear_requests()
    run_pypm("sync", cwd=two, env_extra=env)
    run_pypm("sync", "--offline", cwd=three, env_extra=env)
    assert not [r.path for r in index.requests if r.path.startswith("/files/")], "nothing was downloaded"
    assert not (cache / "wheels-v1").exists() or not list((cache / "wheels-v1").rglob("*.whl"))
    for root in (two, three):
        assert installed(root / ".venv") == {"alpha": "1.0", "beta": "1.0", root.name: "1.0"}

    edited = site_packages(one / ".venv")[0] / "alpha/__init__.py"
    with edited.open("r+") as handle:  # in place, through the hardlink: the store entry is damaged
        handle.write("VALUE = 'EDITED!!!'\n")
    shutil.rmtree(three / ".venv")
    offline = run_pypm("sync", "--offline", cwd=three, env_extra=env, check=False)
    assert offline.returncode != 0 and "Traceback" not in offline.stderr
    assert offline.stderr.strip().splitlines()[-1].startswith(
        "error: offline, and not in the cache: alpha-1.0-py3-none-any.whl (run it once online first")

    index.clear_requests()
    synced = run_pypm("sync", cwd=three, env_extra=env)
    assert "Repaired alpha-1.0-py3-none-any.whl in the store" in synced.stderr
    fetched = [r.path for r in index.requests if r.path.startswith("/files/")]
    assert fetched and all("alpha-1.0" in path for path in fetched), fetched
    for root in (one, two, three):
        assert _value(root) == pristine, root.name
    store_is_sound(cache)


def test_a_repair_that_cannot_get_its_wheel_fails_before_the_sync_removes_anything(
        tmp_path, make_index, run_pypm, pypm_env) -> None:
    """The wheel a damaged store entry needs for its repair is fetched before the sync's
    first change to a .venv that has packages: offline, without the wheel, the sync fails
    in one line and the package it was to reinstall is still installed."""
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": "VALUE = 'pristine'\n"}),
                        DistSpec("beta", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    one = project(tmp_path / "one", ["alpha", "beta"])
    run_pypm("sync", cwd=one, env_extra=env)
    shutil.rmtree(cache / "wheels-v1")
    edited = site_packages(one / ".venv")[0] / "alpha/__init__.py"
    with edited.open("r+") as handle:  # in place, through the hardlink: the store entry is damaged
        handle.write("VALUE = 'EDITED!!!'\n")
    before = installed(one / ".venv")

    failed = run_pypm("sync", "--offline", "--reinstall-package", "alpha", cwd=one, env_extra=env, check=False)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith(
        "error: offline, and not in the cache: alpha-1.0-py3-none-any.whl (run it once online first")
    assert installed(one / ".venv") == before == {"alpha": "1.0", "beta": "1.0", "one": "1.0"}
    assert _value(one) == "VALUE = 'EDITED!!!'\n"  # the user's edit, untouched

    index.clear_requests()
    synced = run_pypm("sync", "--reinstall-package", "alpha", cwd=one, env_extra=env)
    assert "Repaired alpha-1.0-py3-none-any.whl in the store" in synced.stderr
    fetched = [r.path for r in index.requests if r.path.startswith("/files/")]
    assert fetched and all("alpha-1.0" in path for path in fetched), fetched
    assert installed(one / ".venv") == before and _value(one) == "VALUE = 'pristine'\n"
    store_is_sound(cache)


def _forge(lock_path: Path, old: str, new: str) -> None:
    """Replace ``old`` by ``new`` in the lock and give it a content hash that holds again,
    as anyone who edits a lock in a repository can."""
    import re

    from pypm.lock.reader import CONTENT_HASH_PLACEHOLDER, content_hash

    text = lock_path.read_text().replace(old, new)
    zeroed = re.sub(r'content-hash = "[0-9a-f]{64}"', f'content-hash = "{CONTENT_HASH_PLACEHOLDER}"', text)
    digest = content_hash(zeroed.encode())
    lock_path.write_text(zeroed.replace(f'content-hash = "{CONTENT_HASH_PLACEHOLDER}"', f'content-hash = "{digest}"'))


@pytest.mark.parametrize("forged", ["../../victim/config", "absolute"])
def test_a_lock_whose_hash_or_file_name_is_a_path_is_refused_before_anything_is_touched(
        tmp_path, make_index, run_pypm, pypm_env, forged) -> None:
    """A lock's sha256 becomes paths in the cache: one that is a path (``../..``,
    absolute) is refused in one line, and the files it points at (the download's ``.part``
    and ``.json``, a wheel) are left as they were."""
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    victim = cache.parent / "victim"
    victim.mkdir()
    names = ("config.json", "config.part", "config", "alpha-1.0-py3-none-any.whl")
    mine = {name: f"{name} is mine\n" for name in names}
    for name, text in mine.items():
        (victim / name).write_text(text)
    lock_path = root / "pylock.toml"
    digest = tomllib.loads(lock_path.read_text())["packages"][0]["wheels"][0]["hashes"]["sha256"]
    _forge(lock_path, digest, forged if forged != "absolute" else str(victim / "config"))
    shutil.rmtree(cache / "wheels-v1")
    shutil.rmtree(root / ".venv")

    failed = run_pypm("sync", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), failed.stderr
    assert {path.name: path.read_text() for path in victim.iterdir()} == mine


@pytest.mark.parametrize("name", ["../alpha-1.0-py3-none-any.whl", "a/alpha-1.0-py3-none-any.whl",
                                  "..", "", "C:alpha-1.0-py3-none-any.whl", "a\\alpha-1.0-py3-none-any.whl"])
def test_a_file_name_with_a_directory_part_gets_no_cache_path(tmp_path, name) -> None:
    """packaging refuses such wheel names in a lock; the cache refuses them from anywhere."""
    from pypm.errors import LockError
    from pypm.install.download import FileToFetch, cache_path

    with pytest.raises(LockError, match="not a plain file name"):
        cache_path(tmp_path, FileToFetch(name, "http://example.invalid/x", "0" * 64))
    assert cache_path(tmp_path, FileToFetch("alpha-1.0-py3-none-any.whl", "http://x", "0" * 64)).name == (
        "alpha-1.0-py3-none-any.whl")


def _old(path: Path) -> Path:
    """``path`` untouched for three days (past any staleness threshold of prune)."""
    three_days_ago = time.time() - 3 * 86400
    os.utime(path, (three_days_ago, three_days_ago), follow_symlinks=False)
    return path


def test_prune_deletes_nothing_of_the_users_in_a_cache_dir_they_share(tmp_path, make_index, run_pypm,
                                                                       pypm_env) -> None:
    """The cache directory may be one the user keeps files in (``cache-dir`` can name any
    directory): prune looks for stale temp files only in pypm's own directories."""
    index = make_index([DistSpec("alpha", "1.0")])
    shared = tmp_path / "shared"
    env = {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(shared)}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    (shared / "docs/pypm-wheel-notes").mkdir(parents=True)
    mine = [_old(shared / "docs/pypm-wheel-notes"), _old(_write(shared / "docs/.thesis.docx.tmp")),
            _old(_write(shared / "work/.download-list.txt")), _old(_write(shared / "report.tmp"))]
    ours = _old(_write(shared / "metadata-v1/ab/.x.METADATA.aa11.tmp"))

    result = run_pypm("cache", "prune", cwd=root, env_extra=env)
    assert "1 stale temp files" in result.stderr
    assert all(path.exists() for path in mine) and not ours.exists()


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")
def test_no_sweep_follows_a_symlink_out_of_the_cache_or_the_environment(tmp_path, make_index, run_pypm,
                                                                         pypm_env) -> None:
    """A link put into pypm's directories (the shared dist-info copies, the store, the
    partial downloads, an environment's trash) deletes nothing where it points."""
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    user = tmp_path / "user"
    files = [_write(user / "photos/img1.jpg"), _write(user / "proj/build.lock"),
             _write(user / "proj/.unpack-cfg/settings"), _write(user / "proj/sub/.notes.abc.tmp"),
             _write(user / "downloads/" / ("f" * 64 + ".part")), _write(user / "report/report.pdf")]
    (cache / "dist-info-files-v1/yy").symlink_to(user / "photos")
    (cache / "store-v1/zy").symlink_to(user / "proj")
    shutil.rmtree(cache / "partial-v1", ignore_errors=True)
    (cache / "partial-v1").symlink_to(user / "downloads")
    (root / ".venv/.pypm-trash").symlink_to(user / "report")

    run_pypm("cache", "prune", cwd=root, env_extra=env)
    run_pypm("sync", "--reinstall", cwd=root, env_extra=env)
    assert [path for path in files if not path.exists()] == []
    assert installed(root / ".venv")["alpha"] == "1.0"


def _write(path: Path, text: str = "mine\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")
@pytest.mark.parametrize("link_mode", ["copy", "hardlink"])
def test_installing_never_writes_through_a_link_the_user_made(tmp_path, make_index, run_pypm, link_mode) -> None:
    """Files the user linked where a package's files go (a symlink, a second hard link)
    are replaced, not written through, in copy mode too; a directory that is a symlink is
    refused in one line. What the links pointed at stays as it was."""
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": "A = 1\n", "alpha/data.txt": "data\n"})])
    env = {"PYPM_INDEX_URL": index.url, "PYPM_LINK_MODE": link_mode}
    root = project(tmp_path / "p", [])
    run_pypm("sync", cwd=root, env_extra=env)
    site = site_packages(root / ".venv")[0]
    user = tmp_path / "user"
    mine, hard = _write(user / "mine.py", "MY CODE\n"), _write(user / "hard.txt", "MY DATA\n")
    (site / "alpha").mkdir()
    (site / "alpha/__init__.py").symlink_to(mine)
    os.link(hard, site / "alpha/data.txt")
    project(root, ["alpha"])
    run_pypm("lock", cwd=root, env_extra=env)
    run_pypm("sync", cwd=root, env_extra=env)
    assert (mine.read_text(), hard.read_text()) == ("MY CODE\n", "MY DATA\n")
    assert (site / "alpha/__init__.py").read_text() == "A = 1\n" and not (site / "alpha/__init__.py").is_symlink()

    shutil.rmtree(site / "alpha")
    for dist_info in site.glob("alpha-*.dist-info"):
        shutil.rmtree(dist_info)
    developed = _write(user / "dev/alpha/__init__.py", "MY DEV CODE\n").parent
    (site / "alpha").symlink_to(developed)
    failed = run_pypm("sync", "--reinstall-package", "alpha", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 1 and "Traceback" not in failed.stderr
    assert failed.stderr.strip().splitlines()[-1].startswith("error: ")
    assert "is a symbolic link: pypm does not install through one" in failed.stderr
    assert sorted(p.name for p in developed.iterdir()) == ["__init__.py"]
    assert (developed / "__init__.py").read_text() == "MY DEV CODE\n"


@pytest.mark.parametrize("foreign", ["a second version beside", "the same version, another installer's"])
def test_a_package_another_installer_put_into_the_environment_is_installed_again(
        tmp_path, make_index, run_pypm, foreign) -> None:
    """pip run inside .venv: a dist-info of another version beside pypm's, or pypm's copy
    replaced by one of the same version from another wheel. The sync is not up to date:
    the locked wheel is installed again, from its store entry, alone under its name."""
    index = make_index([DistSpec("alpha", "2.0", files={"alpha/__init__.py": "V = 2\n"})])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    site = site_packages(root / ".venv")[0]
    ours = site / "alpha-2.0.dist-info"
    (site / "alpha/__init__.py").unlink()
    _write(site / "alpha/__init__.py", "V = 'pip'\n")
    if foreign == "a second version beside":
        other = site / "alpha-1.0.dist-info"
        other.mkdir()
        (other / "METADATA").write_text("Metadata-Version: 2.1\nName: alpha\nVersion: 1.0\n")
        (other / "RECORD").write_text("alpha/__init__.py,,\nalpha-1.0.dist-info/METADATA,,\n"
                                      "alpha-1.0.dist-info/RECORD,,\n")
    else:  # what pip leaves: its own INSTALLER, no store pointer, a RECORD of what it wrote
        (ours / "pypm-store.json").unlink()
        (ours / "INSTALLER").unlink()
        (ours / "INSTALLER").write_text("pip\n")
        rows = (ours / "RECORD").read_text().splitlines()
        (ours / "RECORD").write_text("".join(f"{row}\n" for row in rows if "pypm-store.json" not in row))

    synced = run_pypm("sync", cwd=root, env_extra=env)
    assert "1 installed" in synced.stderr, synced.stderr
    assert (site / "alpha/__init__.py").read_text() == "V = 2\n"
    assert sorted(p.name for p in site.glob("alpha-*.dist-info")) == ["alpha-2.0.dist-info"]
    assert "All up to date" in run_pypm("sync", cwd=root, env_extra=env).stderr


def test_clean_leaves_no_symlinked_environment_up_to_date(tmp_path, make_index, run_pypm) -> None:
    """In symlink mode an environment's files point into the store: after `cache clean`
    its next sync installs them again instead of saying it is up to date."""
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": "V = 1\n"})])
    env = {"PYPM_INDEX_URL": index.url, "PYPM_LINK_MODE": "symlink"}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    assert "All up to date" in run_pypm("sync", cwd=root, env_extra=env).stderr
    cleaned = run_pypm("cache", "clean", cwd=root, env_extra=env)
    assert "1 environment linked files in symlink mode" in cleaned.stderr
    synced = run_pypm("sync", cwd=root, env_extra=env)
    assert "All up to date" not in synced.stderr and "Synced .venv: 2 installed" in synced.stderr  # alpha, p
    assert run_pypm("run", "python", "-c", "import alpha; print(alpha.V)", cwd=root, env_extra=env).stdout == "1\n"


@pytest.mark.skipif(sys.platform == "win32", reason="a POSIX venv's interpreter is a symlink")
def test_an_interpreter_link_pointed_at_another_program_is_not_up_to_date(tmp_path, make_index, run_pypm) -> None:
    """`.venv/bin/python` pointed at another program: the sync does not say up to date,
    and it makes the environment again around its own Python."""
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": "V = 1\n"})])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    python = root / ".venv/bin/python"
    other = shutil.which("true")
    assert other is not None
    python.unlink()
    python.symlink_to(other)
    synced = run_pypm("sync", cwd=root, env_extra=env)
    assert "All up to date" not in synced.stderr
    checked = subprocess.run([str(python), "-c", "import alpha; print(alpha.V)"], capture_output=True, text=True)
    assert checked.stdout == "1\n", checked.stderr


def test_a_lock_with_upper_case_hashes_installs_and_is_then_up_to_date(tmp_path, make_index, run_pypm) -> None:
    """An earlier pypm wrote an index's upper-case sha256 into locks whose content hash
    holds: ``pypm lock`` keeps such a lock (it is current), so ``sync`` must install it,
    not send the user to a ``pypm lock`` that changes nothing."""
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("lock", cwd=root, env_extra=env)
    lock_path = root / "pylock.toml"
    digest = tomllib.loads(lock_path.read_text())["packages"][0]["wheels"][0]["hashes"]["sha256"]
    _forge(lock_path, digest, digest.upper())
    assert "up to date" in run_pypm("lock", cwd=root, env_extra=env).stderr.lower()
    run_pypm("sync", cwd=root, env_extra=env)
    assert installed(root / ".venv").get("alpha") == "1.0"
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr
