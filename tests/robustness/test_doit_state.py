"""doit's state database in ``.pypm`` is pypm's own: when it is corrupt or cannot be saved,
pypm resets it and says so, and no doit traceback ever reaches the user.

``lock`` and ``sync`` alone run without doit (pypm.graph.direct); these projects have a
user task after ``lock``, and the runs name it, so doit drives them."""

from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import pytest

from tests.robustness import fs_faults
from tests.robustness.conftest import Scene, pyproject_text

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="mounts and RLIMIT_FSIZE are POSIX tools")

RESET = "pypm state in .pypm was corrupt and has been reset"
TASK = '\n[tool.pypm.tasks]\ncheck = { cmd = "python -c pass", deps = ["lock"] }\n'
GRAPH = ("lock", "check")  # a run doit drives: lock, then the user's task


def db(scene: Scene) -> Path:
    return scene.root / ".pypm" / "doit.sqlite3"


def locked_with_state(scene: Scene) -> None:
    """A project whose lock was made through the task graph (so doit's database exists)."""
    scene.start("project")
    with (scene.root / "pyproject.toml").open("a") as stream:
        stream.write(TASK)
    assert scene.run(*GRAPH).returncode == 0
    assert db(scene).stat().st_size > 0


def relock(scene: Scene, *deps: str) -> None:
    (scene.root / "pyproject.toml").write_text(pyproject_text(list(deps)) + TASK)


def assert_sound(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("select count(*) from doit").fetchone()[0] >= 1


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database\n" * 100)


def torn_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[4096:8192] = b"\xff" * 4096  # the header survives; the table's pages do not
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("damage", [garbage, torn_pages], ids=["garbage", "torn-pages"])
def test_corrupt_state_is_reset_and_the_run_succeeds(damage, scene: Scene) -> None:
    locked_with_state(scene)
    damage(db(scene))
    relock(scene, "alpha", "beta")

    proc = scene.run(*GRAPH)

    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr
    assert RESET in proc.stderr.splitlines()
    assert "beta" in (scene.root / "pylock.toml").read_text()
    assert_sound(db(scene))
    again = scene.run(*GRAPH)
    assert RESET not in again.stderr  # reset once, sound since


def test_status_resets_a_corrupt_state_too(scene: Scene) -> None:
    locked_with_state(scene)
    garbage(db(scene))

    proc = scene.run("status")

    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.splitlines() == [RESET]
    assert proc.stdout.startswith("lock: up to date")


def test_state_that_cannot_be_saved_is_reset_after_the_work_is_done(scene: Scene) -> None:
    locked_with_state(scene)
    relock(scene, "alpha", "beta")
    state = scene.root / ".pypm"
    if fs_faults.can_mount():
        keep = {p.name: p.read_bytes() for p in state.iterdir()}
        scene.undo.append(fs_faults.mount_small_tmpfs(state, 64 * 1024))
        for name, data in keep.items():
            (state / name).write_bytes(data)
        filler = fs_faults.fill(state)
    else:
        scene.preexec = fs_faults.file_size_limit(4096)  # the database may not grow (EFBIG)

    proc = scene.run(*GRAPH)

    assert proc.returncode == 0, proc.stderr
    assert "beta" in (scene.root / "pylock.toml").read_text()  # the operation itself was done
    [line] = [line for line in proc.stderr.splitlines() if "pypm state" in line]
    assert line.startswith("pypm state in .pypm could not be") and line.endswith("and has been reset"), line
    assert "Traceback" not in proc.stderr and "error" not in proc.stderr.lower().replace("i/o error", "")
    if fs_faults.can_mount():
        still_full = scene.run(*GRAPH, "--upgrade")
        assert still_full.returncode == 1
        assert still_full.stderr.splitlines()[-1] == (
            f"error: no space left on device while writing {db(scene)}: free space on that disk")
        filler.unlink()
    else:
        scene.preexec = None
    relock(scene, "alpha")
    assert scene.run(*GRAPH).returncode == 0
    assert_sound(db(scene))
