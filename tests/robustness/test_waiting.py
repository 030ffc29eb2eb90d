"""A second pypm in the same project waits for the first one's lock, and says so (with the
first one's pid) after a second instead of hanging silently."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.robustness.conftest import Scene
from tests.robustness.lying_index import SLOW_SECONDS

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses POSIX process handling")


def _while_a_slow_lock_holds_the_project(
    scene: Scene, *args: str,
) -> tuple[int, float, subprocess.CompletedProcess[str]]:
    """Run ``pypm ARGS`` while another pypm's ``lock`` (against an index that answers
    slowly, then 404) holds the project: that pid, how long the run took, its result."""
    slow_env = {**scene.env, "PYPM_INDEX_URL": scene.world.liar.url("slow-404")}
    first = subprocess.Popen([sys.executable, "-m", "pypm", "lock"], cwd=scene.root, env=slow_env, text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
    try:
        pid_file = scene.root / ".pypm" / "graph.lock.pid"
        deadline = time.monotonic() + 30
        while not (pid_file.is_file() and pid_file.read_text().strip() == str(first.pid)):
            assert time.monotonic() < deadline and first.poll() is None, "the first pypm never took the lock"
            time.sleep(0.05)
        started = time.monotonic()
        second = scene.run(*args)
        waited = time.monotonic() - started
    finally:
        _, first_err = first.communicate(timeout=60)
    assert first.returncode == 1 and "alpha" in first_err  # the slow index answered 404 in the end
    return first.pid, waited, second


def test_second_pypm_says_it_waits_for_the_first_and_then_runs(scene: Scene) -> None:
    scene.start("project")
    pid, waited, second = _while_a_slow_lock_holds_the_project(scene, "lock")
    assert second.returncode == 0, second.stderr
    lines = second.stderr.splitlines()
    assert lines[0] == f"waiting for another pypm in this project (pid {pid})…", second.stderr
    assert waited > SLOW_SECONDS / 2  # it really waited for the first one
    assert (scene.root / "pylock.toml").is_file()


def test_add_waits_for_the_pypm_that_holds_the_project(scene: Scene) -> None:
    """``pypm add`` edits pyproject.toml and writes the lock under the project's lock too."""
    scene.start("project")
    pid, waited, added = _while_a_slow_lock_holds_the_project(scene, "add", "beta", "--no-sync")
    assert added.returncode == 0, added.stderr
    assert added.stderr.splitlines()[0] == f"waiting for another pypm in this project (pid {pid})…", added.stderr
    assert waited > SLOW_SECONDS / 2
    assert "beta>=1.0" in (scene.root / "pyproject.toml").read_text()


def test_no_waiting_line_when_nobody_holds_the_lock(scene: Scene) -> None:
    scene.start("project")
    proc = scene.run("lock")
    assert proc.returncode == 0
    assert "waiting" not in proc.stderr
