"""A full disk: a sync on a small, full filesystem ends with one clear line (no traceback),
and the next sync after freeing space works. pypm's atomic writes leave nothing behind.

The filesystem is a real tmpfs where this machine may mount (root); elsewhere every file
the run writes is capped by RLIMIT_FSIZE (SIGXFSZ ignored, so writes fail with EFBIG,
which pypm reports like a full disk).
"""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from tests.robustness import fs_faults
from tests.robustness.conftest import MiB, Scene

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="mounts and RLIMIT_FSIZE are POSIX tools")

def fill_cache(scene: Scene, room: int) -> Path | None:
    """Make the cache a full filesystem with ``room`` bytes free; return the filler file to
    delete to free space (None under RLIMIT_FSIZE, where dropping the limit frees it)."""
    if not fs_faults.can_mount():
        scene.preexec = fs_faults.file_size_limit(room)
        return None
    scene.undo.append(fs_faults.mount_small_tmpfs(scene.cache, 16 * MiB))
    return fs_faults.fill(scene.cache, leave_bytes=room)


def installed(venv: Path) -> list[str]:
    return sorted(p.name for p in venv.glob("lib/python*/site-packages/*.dist-info"))


def test_sync_on_a_full_disk_says_so_in_one_line_and_the_next_sync_after_freeing_space_works(scene: Scene) -> None:
    scene.start("locked-beta")  # beta's wheel is 2 MiB
    filler = fill_cache(scene, room=MiB)

    failed = scene.run("sync")

    lines = failed.stderr.splitlines()
    assert failed.returncode == 1
    assert "Traceback" not in failed.stderr and "internal error" not in failed.stderr
    assert [line for line in lines if line.startswith("error:")] == lines[-1:]
    assert "no space left on device" in lines[-1].lower() and str(scene.cache) in lines[-1], lines[-1]
    assert not (scene.root / ".venv").exists()  # the half-made environment was taken back
    assert not list(scene.cache.rglob("*.tmp")) and not list(scene.root.rglob("*.tmp"))

    if filler is not None:
        filler.unlink()
    scene.preexec = None
    done = scene.run("sync")

    assert done.returncode == 0, done.stderr
    assert installed(scene.root / ".venv") == ["alpha-1.0.dist-info", "beta-1.0.dist-info", "proj-1.0.dist-info"]


WRITE = """
import sys
from pathlib import Path
from pypm.fsutil import atomic_write_bytes
try:
    atomic_write_bytes(Path(sys.argv[1]), b"x" * int(sys.argv[2]))
except OSError as exc:
    print(exc.errno, exc.filename)
"""


def test_atomic_write_on_a_full_disk_names_the_file_and_leaves_the_old_one(tmp_path: Path) -> None:
    directory = tmp_path / "disk"
    directory.mkdir()
    preexec = None
    if fs_faults.can_mount():
        undo = fs_faults.mount_small_tmpfs(directory, MiB)
    else:
        undo, preexec = None, fs_faults.file_size_limit(64 * 1024)
    try:
        target = directory / "pylock.toml"
        target.write_text("old lock\n")
        proc = subprocess.run([sys.executable, "-c", WRITE, str(target), str(2 * MiB)], capture_output=True,
                              text=True, preexec_fn=preexec, timeout=60)
        code, name = proc.stdout.split()
        assert int(code) in (errno.ENOSPC, errno.EFBIG) and name == str(target), proc.stdout + proc.stderr
        assert sorted(p.name for p in directory.iterdir()) == ["pylock.toml"]  # the temp file is gone
        assert target.read_text() == "old lock\n"
    finally:
        if undo is not None:
            undo()
