"""Leftovers and modes: a pypm killed just before it renames a file into place leaves a temp
file that the next run removes; the files pypm writes for the user get the umask's modes.

The kill is real: pypm runs under an audit hook that sends the process SIGKILL when it is
about to rename its temp file onto the target (the ``os.rename`` audit event that
``os.replace`` raises), so the temp file is complete and the rename never happens.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pypm.fsutil import atomic_write_bytes, is_temp_of, remove_stale_temps, temp_name
from tests.robustness.conftest import Scene, pyproject_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and umask are POSIX")

KILL_BEFORE_RENAME = """
import os, signal, sys
target = sys.argv[1]
def hook(event, args):
    if event == "os.rename" and os.path.basename(str(args[1])) == target:
        os.kill(os.getpid(), signal.SIGKILL)
sys.addaudithook(hook)
from pypm.cli.main import main
sys.exit(main(sys.argv[2:]))
"""


def killed_before_rename(scene: Scene, target: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run pypm ``args``, killed (SIGKILL) as it is about to rename a temp file onto ``target``."""
    return subprocess.run([sys.executable, "-c", KILL_BEFORE_RENAME, target, *args], cwd=scene.root, env=scene.env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def temps(directory: Path, name: str) -> list[str]:
    return sorted(p.name for p in directory.iterdir() if is_temp_of(p.name, directory / name))


def test_lock_killed_before_its_rename_leaves_a_temp_file_the_next_run_removes(scene: Scene) -> None:
    scene.start("project")

    proc = killed_before_rename(scene, "pylock.toml", "lock")

    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert not (scene.root / "pylock.toml").exists()
    assert len(temps(scene.root, "pylock.toml")) == 1  # the kill really came between write and rename
    scene.run("lock")
    assert (scene.root / "pylock.toml").is_file()
    assert temps(scene.root, "pylock.toml") == []


def test_sync_killed_before_writing_its_stamp_leaves_nothing_after_the_next_sync(scene: Scene) -> None:
    scene.start("locked")

    proc = killed_before_rename(scene, ".pypm-sync.json", "sync", "--frozen")

    venv = scene.root / ".venv"
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    assert len(temps(venv, ".pypm-sync.json")) == 1
    done = scene.run("sync", "--frozen")
    assert done.returncode == 0, done.stderr
    assert (venv / ".pypm-sync.json").is_file()
    assert temps(venv, ".pypm-sync.json") == []


def test_files_written_for_the_user_follow_the_umask(scene: Scene) -> None:
    scene.start("project")
    scene.preexec = lambda: os.umask(0o022)
    assert scene.run("sync").returncode == 0
    venv = scene.root / ".venv"
    for path in (scene.root / "pylock.toml", venv / ".pypm-sync.json", venv / ".pypm-interpreter.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path

    (scene.root / "pylock.toml").unlink()
    scene.preexec = lambda: os.umask(0o002)
    assert scene.run("lock").returncode == 0
    assert stat.S_IMODE((scene.root / "pylock.toml").stat().st_mode) == 0o664


def test_a_rewritten_lock_keeps_the_mode_the_user_gave_it(scene: Scene) -> None:
    scene.start("locked")
    lock = scene.root / "pylock.toml"
    lock.chmod(0o640)
    (scene.root / "pyproject.toml").write_text(pyproject_text(["alpha", "beta"]))

    assert scene.run("lock").returncode == 0

    assert "beta" in lock.read_text()
    assert stat.S_IMODE(lock.stat().st_mode) == 0o640


def test_atomic_write_creates_with_the_umask_and_leaves_no_temp(tmp_path: Path) -> None:
    old = os.umask(0o027)
    try:
        atomic_write_bytes(tmp_path / "sub" / "file.txt", b"data")
    finally:
        os.umask(old)
    target = tmp_path / "sub" / "file.txt"
    assert target.read_bytes() == b"data"
    assert stat.S_IMODE(target.stat().st_mode) == 0o640
    assert [p.name for p in target.parent.iterdir()] == ["file.txt"]


def test_atomic_write_failure_names_the_target_and_removes_its_temp(tmp_path: Path) -> None:
    target = tmp_path / "pylock.toml"
    target.mkdir()  # renaming a file onto a directory fails: EISDIR

    with pytest.raises(IsADirectoryError) as caught:
        atomic_write_bytes(target, b"data")

    assert caught.value.filename == str(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pylock.toml"]


def test_only_temp_files_of_the_given_path_are_stale(tmp_path: Path) -> None:
    target = tmp_path / "pylock.toml"
    ours = [temp_name(target), ".pylock.toml.k3j_x9ab.tmp"]  # today's names and mkstemp's of old
    others = [".pylock.toml.tmp", ".pylock.toml.a.b.tmp", "pylock.toml.abc.tmp", ".other.toml.abcdef.tmp",
              ".pylock.toml.ABCDEF.tmp", "notes.txt"]
    for name in ours + others:
        (tmp_path / name).write_text("x")

    removed = remove_stale_temps(target)

    assert sorted(p.name for p in removed) == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)
