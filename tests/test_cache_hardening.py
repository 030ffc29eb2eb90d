"""``pypm cache`` and the store after what goes wrong: an interrupted prune or clean, a store
file changed with its size and mtime kept, a project that does not load, a cache dir that
is a dangling link or holds a lock file sync cannot open, a removal that fails. Real
parts only: the CLI in a subprocess, a local index, files changed on disk."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.test_installer import project, store_is_sound
from tests.test_lock_sync import site_packages

MANIFEST = "pypm-manifest.json"


def entry_of(cache: Path, root: Path, name: str = "alpha") -> Path:
    """The store entry ``name`` 1.0 was linked from in this project's environment."""
    pointer = site_packages(root / ".venv")[0] / f"{name}-1.0.dist-info/pypm-store.json"
    sha = json.loads(pointer.read_text())["store"]
    return cache / "store-v1" / sha[:2] / sha


def imports(run_pypm, root: Path, env: dict[str, str], code: str) -> str:
    """What ``python -c code`` prints in the project's environment."""
    return run_pypm("run", "python", "-c", code, cwd=root, env_extra=env).stdout


def make_undeletable(path: Path) -> Callable[[Path], None]:
    """Make the entries of directory ``path`` (or the file ``path``) impossible to remove
    or write, also for root: the immutable attribute (``chattr +i``) as root, no write
    permission otherwise; skips the test where neither is possible. Returns what undoes
    it, given where ``path`` is by then."""
    if os.name != "posix":
        pytest.skip("POSIX permissions")
    if os.geteuid() == 0:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", str(path)], capture_output=True).returncode != 0:
            pytest.skip("needs chattr +i (root ignores permissions)")
        return lambda where: subprocess.run([chattr, "-i", str(where)], check=True) and None
    mode = path.stat().st_mode
    path.chmod(0o555 if path.is_dir() else 0o444)
    return lambda where: where.chmod(mode)


@contextlib.contextmanager
def undeletable(path: Path) -> Iterator[None]:
    """:func:`make_undeletable` while the block runs (``path`` stays where it is)."""
    undo = make_undeletable(path)
    try:
        yield
    finally:
        undo(path)


# ---------------------------------------------------------------------------------------
# 1. An entry left without its manifest (what an interrupted delete leaves)


def _synced(tmp_path: Path, make_index, run_pypm, specs: list[DistSpec]) -> tuple[Path, dict[str, str]]:
    index = make_index(specs)
    env = {"PYPM_INDEX_URL": index.url}
    root = project(tmp_path / "p", [spec.name for spec in specs])
    run_pypm("sync", cwd=root, env_extra=env)
    return root, env


def _without_manifest(tmp_path: Path, make_index, run_pypm, cache: Path) -> tuple[Path, dict[str, str], Path]:
    """A project with alpha and beta synced, alpha's store entry then left without its
    manifest (what an interrupted delete of its directory leaves): (root, env, entry)."""
    root, env = _synced(tmp_path, make_index, run_pypm, [DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    entry = entry_of(cache, root)
    (entry / MANIFEST).unlink()
    return root, env, entry


def test_a_sync_unpacks_afresh_an_entry_left_without_its_manifest(tmp_path, make_index, run_pypm, pypm_env) -> None:
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    root, env, entry = _without_manifest(tmp_path, make_index, run_pypm, cache)

    result = run_pypm("sync", "--reinstall", cwd=root, env_extra=env, check=False)
    assert result.returncode == 0, result.stderr
    assert (entry / MANIFEST).is_file()
    assert imports(run_pypm, root, env, "import alpha, beta; print('ok')") == "ok\n"
    store_is_sound(cache)
    shutil.rmtree(root / ".venv")
    run_pypm("sync", cwd=root, env_extra=env)


def test_verify_and_prune_see_an_entry_without_its_manifest(tmp_path, make_index, run_pypm, pypm_env) -> None:
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    root, env, entry = _without_manifest(tmp_path, make_index, run_pypm, cache)

    verified = run_pypm("cache", "verify", cwd=root, env_extra=env, check=False)
    assert verified.returncode == 1, verified.stderr
    assert f"damaged: store entry {entry.name[:12]}: its manifest is missing" in verified.stdout
    info = run_pypm("cache", "info", cwd=root, env_extra=env).stdout
    assert "store: 3 unpacked wheels" in info  # alpha's remains count as one

    pruned = run_pypm("cache", "prune", cwd=root, env_extra=env)
    assert "Removed 1 unused store entries" in pruned.stderr
    assert not entry.exists()
    assert not list(entry.parent.glob(".unpack-*"))
    assert run_pypm("cache", "verify", cwd=root, env_extra=env).returncode == 0
    run_pypm("sync", "--reinstall", cwd=root, env_extra=env)
    assert imports(run_pypm, root, env, "import alpha, beta; print('ok')") == "ok\n"
    store_is_sound(cache)


def _files_of_huge() -> dict[str, str]:
    return {f"huge/sub{d}/m{i}.py": f"X = {i}\n" for d in range(10) for i in range(300)} | {
        "huge/__init__.py": "", **{f"huge/sub{d}/__init__.py": "" for d in range(10)}}


def _kill_once_deleting(command: list[str], env: dict[str, str], watched: list[Path]) -> None:
    """Run ``command`` and SIGKILL it the moment one of ``watched`` is gone (the deletion
    has begun; thousands of files are still to go)."""
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while all(os.path.lexists(path) for path in watched) and proc.poll() is None:
            assert time.monotonic() < deadline, "nothing was deleted"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
@pytest.mark.parametrize("action", ["prune", "clean"])
def test_a_killed_prune_or_clean_leaves_no_half_deleted_entry(tmp_path, make_index, run_pypm, pypm_env,
                                                               action) -> None:
    """A prune or clean killed while it deletes an entry of 3000 files leaves the entry
    whole or gone (it is moved aside first), never a directory a sync cannot replace."""
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    root, env = _synced(tmp_path, make_index, run_pypm, [DistSpec("huge", "1.0", files=_files_of_huge())])
    entry = entry_of(cache, root, "huge")
    shutil.rmtree(root / ".venv")  # unused: prune deletes it
    watched = [entry / "files/purelib/huge" / f"sub{d}" for d in range(10)] + [entry / MANIFEST]
    _kill_once_deleting([sys.executable, "-m", "pypm", "cache", action], {**pypm_env, **env}, watched)

    left = [path for path in watched if os.path.lexists(path)]
    assert left in ([], watched), f"a half-deleted entry: {len(left)} of {len(watched)} parts left"
    result = run_pypm("sync", cwd=root, env_extra=env, check=False)
    assert result.returncode == 0, result.stderr
    assert imports(run_pypm, root, env, "import huge.sub9.m299 as m; print(m.X)") == "299\n"
    store_is_sound(cache)


def test_prune_deletes_nothing_a_linked_bucket_leads_to(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """A store bucket that is a symlink leads out of the store: what it points at looks
    like unused entries but is not pypm's to delete."""
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    root, env = _synced(tmp_path, make_index, run_pypm, [DistSpec("alpha", "1.0")])
    outside = tmp_path / "elsewhere"
    lookalike = outside / ("f" * 64)
    (lookalike / "files").mkdir(parents=True)
    (lookalike / MANIFEST).write_text("{}")
    (lookalike / "files" / "precious.txt").write_text("mine")
    (cache / "store-v1" / "ff").symlink_to(outside, target_is_directory=True)

    result = run_pypm("cache", "prune", cwd=root, env_extra=env)
    assert "Removed 0 unused store entries" in result.stderr
    assert (lookalike / "files" / "precious.txt").read_text() == "mine"
    assert (lookalike / MANIFEST).is_file()


def test_only_prune_drops_the_records_of_environments_that_left(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """``cache info`` and ``cache verify`` share the store with syncs: they read an entry's
    link records but delete none (a sync reinstalling the package may be keeping the very
    record that looks stale); ``cache prune``, alone in the store, drops the stale ones."""
    from pypm.store.layout import entry_links

    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    index = make_index([DistSpec("alpha", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    one, two = project(tmp_path / "one", ["alpha"]), project(tmp_path / "two", ["alpha"])
    for root in (one, two):
        run_pypm("sync", cwd=root, env_extra=env)
    records = entry_links(entry_of(cache, one))
    assert len(list(records.iterdir())) == 2
    shutil.rmtree(two / ".venv")

    assert "linked: 2 installs" in run_pypm("cache", "info", cwd=one, env_extra=env).stdout  # alpha and one
    run_pypm("cache", "verify", cwd=one, env_extra=env)
    assert len(list(records.iterdir())) == 2, "a command holding the shared lock deleted a link record"
    assert "Removed 1 unused store entries" in run_pypm("cache", "prune", cwd=one, env_extra=env).stderr  # two's own
    assert len(list(records.iterdir())) == 1


# ---------------------------------------------------------------------------------------
# 8. What clean removes, and says it removed


def test_clean_removes_the_environments_of_scripts(tmp_path, make_index, run_pypm, pypm_env) -> None:
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}
    script = tmp_path / "tool.py"
    script.write_text('# /// script\n# dependencies = ["alpha"]\n# ///\nimport alpha\nprint("ran")\n')
    assert run_pypm("run", str(script), cwd=tmp_path, env_extra=env).stdout == "ran\n"
    assert (cache / "script-envs").is_dir()

    cleaned = run_pypm("cache", "clean", cwd=tmp_path, env_extra=env)
    assert "did not make" not in cleaned.stderr, cleaned.stderr
    assert not (cache / "script-envs").exists()
    assert run_pypm("run", str(script), cwd=tmp_path, env_extra=env).stdout == "ran\n"


def test_a_clean_that_cannot_remove_a_file_says_so_and_counts_only_what_went(tmp_path, make_index, run_pypm,
                                                                            pypm_env) -> None:
    from pypm.store.layout import CACHE_DIRS

    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    root, env = _synced(tmp_path, make_index, run_pypm, [DistSpec("alpha", "1.0", pad_bytes=3 * 1024 * 1024)])
    stuck = cache / "metadata-v1" / "stuck"
    stuck.mkdir(parents=True)
    (stuck / "kept.bin").write_bytes(b"\0" * 2 * 1024 * 1024)
    undo = make_undeletable(stuck)
    try:
        result = run_pypm("cache", "clean", cwd=root, env_extra=env, check=False)
    finally:
        undo(next(iter(cache.glob("*/stuck")), None) or next(cache.glob(".pypm-trash-*/*/stuck")))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: removed ") and "Traceback" not in result.stderr
    assert "could not remove everything" in lines[0] and "kept.bin" in lines[0], lines[0]
    removed = float(lines[0].split("removed ")[1].split(" MiB")[0])
    assert 6.0 <= removed < 7.0, lines[0]  # the wheel and its unpacked files (3 MiB each), not the 2 MiB left
    assert "(and" not in lines[0]  # the directories that stay with it are no failures of their own
    assert not any((cache / name).exists() for name in CACHE_DIRS)  # set aside, then deleted as far as it went

    again = run_pypm("cache", "clean", cwd=root, env_extra=env)
    assert "Removed 2.0 MiB" in again.stderr and "did not make" not in again.stderr, again.stderr
    shutil.rmtree(root / ".venv")
    run_pypm("sync", cwd=root, env_extra=env)


# ---------------------------------------------------------------------------------------
# 2. Damage that keeps each file's size and mtime


PRISTINE = "VALUE = 'pristine'\n"
TAMPERED = "VALUE = 'TAMPERED'\n"


def _tamper_keeping_size_and_mtime(path: Path) -> None:
    """Write into ``path`` in place (the inode every hardlink shares), same size, and
    put its mtime back: only hashing can tell."""
    before = path.stat()
    assert len(TAMPERED) == len(PRISTINE) == before.st_size
    with path.open("r+") as handle:
        handle.write(TAMPERED)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _alpha_file(root: Path) -> Path:
    return site_packages(root / ".venv")[0] / "alpha/__init__.py"


def _two_sharing_projects(tmp_path: Path, make_index, run_pypm) -> tuple[Path, Path, dict[str, str]]:
    index = make_index([DistSpec("alpha", "1.0", files={"alpha/__init__.py": PRISTINE})])
    env = {"PYPM_INDEX_URL": index.url}
    one, two = project(tmp_path / "one", ["alpha"]), project(tmp_path / "two", ["alpha"])
    for root in (one, two):
        run_pypm("sync", cwd=root, env_extra=env)
    _tamper_keeping_size_and_mtime(_alpha_file(one))
    assert _alpha_file(two).read_text() == TAMPERED  # through the store
    return one, two, env


@pytest.mark.parametrize("how", ["fresh-venv", "reinstall-package"])
def test_what_cache_verify_finds_the_next_sync_that_installs_it_repairs(tmp_path, make_index, run_pypm, pypm_env,
                                                                       how) -> None:
    """`cache verify` marks the damaged entry; as its hint says, the next sync that
    installs it (a new .venv, or --reinstall-package where `pypm verify` said modified)
    unpacks it afresh and relinks every environment sharing it."""
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    one, two, env = _two_sharing_projects(tmp_path, make_index, run_pypm)
    verified = run_pypm("cache", "verify", cwd=one, env_extra=env, check=False)
    assert verified.returncode == 1 and "damaged: alpha 1.0" in verified.stdout, verified.stderr
    assert "modified" in run_pypm("verify", cwd=two, env_extra=env, check=False).stdout + \
        run_pypm("verify", cwd=two, env_extra=env, check=False).stderr

    if how == "fresh-venv":
        shutil.rmtree(one / ".venv")
        synced = run_pypm("sync", cwd=one, env_extra=env)
    else:
        synced = run_pypm("sync", "--reinstall-package", "alpha", cwd=two, env_extra=env)
    assert "Repaired alpha-1.0-py3-none-any.whl in the store: 1 changed file(s) unpacked afresh" in synced.stderr
    for root in (one, two):
        assert _alpha_file(root).read_text() == PRISTINE, root.name
        assert run_pypm("verify", cwd=root, env_extra=env).returncode == 0
    assert run_pypm("cache", "verify", cwd=one, env_extra=env).returncode == 0
    store_is_sound(cache)
    assert "run `pypm sync --reinstall-package NAME` in a project that uses them" in verified.stderr


def test_reinstall_package_rehashes_its_store_entry(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """`pypm verify` says a package is modified and hints `pypm sync --reinstall-package`:
    that re-hashes the package's store entry (the usual check compares sizes and mtimes,
    which this edit kept) and repairs it, in every environment sharing it."""
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    one, two, env = _two_sharing_projects(tmp_path, make_index, run_pypm)
    checked = run_pypm("verify", cwd=two, env_extra=env, check=False)
    assert checked.returncode != 0 and "--reinstall-package alpha" in checked.stdout + checked.stderr

    synced = run_pypm("sync", "--reinstall-package", "alpha", cwd=two, env_extra=env)
    assert "Repaired alpha-1.0-py3-none-any.whl in the store: 1 changed file(s) unpacked afresh" in synced.stderr
    for root in (one, two):
        assert _alpha_file(root).read_text() == PRISTINE, root.name
    store_is_sound(cache)


# ---------------------------------------------------------------------------------------
# 6. Which cache


def _filled_cache(pypm_env: dict[str, str]) -> Path:
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    (cache / "metadata-v1").mkdir(parents=True, exist_ok=True)
    (cache / "metadata-v1" / "kept").write_text("x")
    return cache


@pytest.mark.parametrize("broken", ["toml-typo", "member-without-pyproject"])
@pytest.mark.parametrize("action", ["clean", "prune", "dir"])
def test_a_project_that_does_not_load_is_an_error_not_the_default_cache(tmp_path, run_pypm, pypm_env, broken,
                                                                       action) -> None:
    cache = _filled_cache(pypm_env)
    root = tmp_path / "p"
    root.mkdir()
    if broken == "toml-typo":
        (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1.0\n\n[tool.pypm]\n'
                                             'cache-dir = "mine"\n')
    else:
        (root / "pkgs" / "a").mkdir(parents=True)
        (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1.0"\n\n[tool.pypm]\n'
                                             'cache-dir = "mine"\nworkspace = { members = ["pkgs/*"] }\n')
    result = run_pypm("cache", action, cwd=root, check=False)
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "pyproject.toml" in lines[0], lines
    assert result.stdout == ""
    assert (cache / "metadata-v1" / "kept").is_file()


def test_outside_any_project_the_default_cache_is_used(tmp_path, run_pypm, pypm_env) -> None:
    cache = _filled_cache(pypm_env)
    assert run_pypm("cache", "dir", cwd=tmp_path).stdout.strip() == str(cache)
    run_pypm("cache", "clean", cwd=tmp_path)
    assert not (cache / "metadata-v1").exists()


def test_under_another_tools_pyproject_the_default_cache_is_used(tmp_path, run_pypm, pypm_env) -> None:
    """A ``pyproject.toml`` holding only other tools' settings (a monorepo root's ruff
    table) is no project: cache commands below it use the default cache, as outside any
    project (it was the error "no [project] table and no workspace members")."""
    cache = _filled_cache(pypm_env)
    (tmp_path / "repo" / "sub").mkdir(parents=True)
    (tmp_path / "repo" / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert run_pypm("cache", "dir", cwd=tmp_path / "repo" / "sub").stdout.strip() == str(cache)


def test_a_cache_dir_option_under_an_unknown_home_is_refused(tmp_path, run_pypm) -> None:
    result = run_pypm("cache", "--cache-dir", "~nobody-here-pypm/x", "dir", cwd=tmp_path, check=False)
    assert result.returncode == 2 and "cannot be found" in result.stderr and "internal error" not in result.stderr


def test_an_empty_cache_dir_option_is_refused(tmp_path, run_pypm, pypm_env) -> None:
    cache = _filled_cache(pypm_env)
    for action in ("info", "clean"):
        result = run_pypm("cache", "--cache-dir", "", action, cwd=tmp_path, check=False)
        assert result.returncode == 2, (result.stdout, result.stderr)
        assert result.stderr.strip().splitlines()[-1].startswith("error: --cache-dir")
    assert (cache / "metadata-v1" / "kept").is_file()


# ---------------------------------------------------------------------------------------
# 7. doctor's cache row says what sync will find


def _doctor_cache_row(run_pypm, root: Path, env: dict[str, str], *args: str) -> dict:
    from tests.test_doctor import by_check, doctor_json

    document, _ = doctor_json(run_pypm, root, *args, env=env)
    return by_check(document)["cache"][0]


def test_doctor_fails_a_cache_dir_that_is_a_dangling_link(tmp_path, make_index, run_pypm) -> None:
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}
    root = project(tmp_path / "p", ["alpha"])
    link = tmp_path / "cache-link"
    link.symlink_to(tmp_path / "gone", target_is_directory=True)
    row = _doctor_cache_row(run_pypm, root, env, "--cache-dir", str(link))
    assert row["status"] == "fail", row
    assert row["message"] == (f"{link} (from --cache-dir) is a symbolic link to {tmp_path / 'gone'}, which does"
                              " not exist")
    assert run_pypm("sync", "--cache-dir", str(link), cwd=root, env_extra=env, check=False).returncode != 0
    assert link.is_symlink() and not (tmp_path / "gone").exists()  # doctor changed nothing


@pytest.mark.parametrize("blocked", ["store.flock", "store-v1", "store-v1/bucket"])
def test_doctor_fails_a_cache_whose_lock_file_or_store_sync_cannot_write(tmp_path, make_index, run_pypm, pypm_env,
                                                                         blocked) -> None:
    """What `sudo pypm sync` leaves to root: doctor probes the lock file (opened for
    writing, as every sync opens it) and the store's directories (a file created in each,
    as an unpack creates one), not only the top directory, and changes nothing."""
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}
    root = project(tmp_path / "p", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    assert _doctor_cache_row(run_pypm, root, env)["status"] == "ok"
    path = entry_of(cache, root).parent if blocked == "store-v1/bucket" else cache / blocked

    def state() -> object:
        return sorted(p.name for p in path.iterdir()) if path.is_dir() else path.read_bytes()

    before = state()
    with undeletable(path):
        row = _doctor_cache_row(run_pypm, root, env)
        synced = run_pypm("sync", "--reinstall", cwd=root, env_extra=env, check=False)
    assert row["status"] == "fail", row
    shown = path.relative_to(cache)
    expected = (f"its lock file {shown} cannot be opened for writing" if blocked == "store.flock"
                else f"{shown} is not writable")
    assert expected in row["message"], row
    assert state() == before
    if blocked == "store.flock":
        assert synced.returncode != 0, synced.stderr


def _waiting_on_a_lock(pid: int) -> bool:
    """Whether process ``pid`` sleeps in the kernel waiting for a file lock (Linux)."""
    try:
        return "lock" in Path(f"/proc/{pid}/wchan").read_text()
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="sees a process wait on a lock through /proc")
def test_a_clean_while_a_symlink_sync_waits_leaves_no_fresh_stamp_over_dangling_links(
        tmp_path, make_index, run_pypm, pypm_env) -> None:
    """A sync waits for the store's lock before it reads ``.venv``'s stamp and plans: a
    `cache clean` that holds the lock first (deleting the store and the stamps of symlinked
    environments) is seen, and what it deleted is installed again. The sync used to plan
    first, then wait, and wrote a fresh stamp over links into the deleted store."""
    from pypm.fsutil import exclusive_flock
    from pypm.operations.cache import _forget_symlinked_environments
    from pypm.store.layout import CACHE_DIRS
    from pypm.store.registry import store_entries
    from tests.workspaces import replace_in, write_project

    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("gamma", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.10", tool='link-mode = "symlink"')
    run_pypm("sync", cwd=root, env_extra=env)
    replace_in(root / "pyproject.toml", '"alpha"]', '"alpha", "gamma"]')
    run_pypm("lock", cwd=root, env_extra=env)
    with exclusive_flock(cache / "store.flock", lambda: None):
        sync = subprocess.Popen([sys.executable, "-m", "pypm", "sync"], cwd=root, env={**pypm_env, **env},
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 60
        while not _waiting_on_a_lock(sync.pid):
            assert sync.poll() is None and time.monotonic() < deadline, sync.stdout.read() if sync.stdout else ""
            time.sleep(0.05)
        _forget_symlinked_environments(store_entries(cache), outside=cache)  # what `cache clean` does under it
        for name in CACHE_DIRS:
            shutil.rmtree(cache / name, ignore_errors=True)
    output, _ = sync.communicate(timeout=120)
    assert sync.returncode == 0, output
    code = "import alpha, gamma; print(alpha.__file__ is not None, gamma.__file__ is not None)"
    assert imports(run_pypm, root, env, code).split() == ["True", "True"]
