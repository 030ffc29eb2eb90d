"""Preparing and running steps with a fake tool whose commands are shell one-liners."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from benchmarks.runner import run_matrix
from benchmarks.steps import NEW_PROJECT_STEP, PrepareError, Workspace
from benchmarks.toolenv import ToolEnv
from benchmarks.tools import Adapter


class Fake(Adapter):
    """lock writes lock.txt (and a cache entry); sync makes .venv; --version may fail."""

    def __init__(self, *, broken_sync: bool = False) -> None:
        super().__init__("fake", ("lock.txt",), (".state",))
        self.broken_sync = broken_sync

    def lock(self, tool: ToolEnv) -> list[list[str]]:
        return [["sh", "-c", 'echo locked > lock.txt && mkdir -p .state && touch "$CACHE/lock-data"']]

    def sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        if self.broken_sync:
            return [["sh", "-c", "echo 'error: sdists are not supported' >&2; exit 3"]]
        # needs the lock and the untimed venv preparation; fills the cache and notes where it ran
        script = (
            'test -f lock.txt && test -f .before-sync && mkdir -p .venv && touch "$CACHE/wheels"'
            ' && pwd >> "$CACHE/synced-in"'
        )
        return [["sh", "-c", script]]

    def before_sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        return [["touch", ".before-sync"]]

    def version(self, tool: ToolEnv) -> list[list[str]]:
        return [["true"]]


def _workspace(tmp_path: Path, **kwargs: bool) -> Workspace:
    project, cache = tmp_path / "project", tmp_path / "cache"
    project.mkdir()
    cache.mkdir()
    env = {"PATH": os.environ["PATH"], "CACHE": str(cache)}
    return Workspace(Fake(**kwargs), ToolEnv("fake", tmp_path / "tool"), project, cache, env, Path("python3"), 30)


def test_cold_lock_removes_everything(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    ws.prepare("noop-sync")  # locks and syncs, untimed
    assert (ws.project / "lock.txt").exists() and (ws.project / ".venv").is_dir()
    ws.prepare("cold-lock")
    assert not (ws.project / "lock.txt").exists() and not (ws.project / ".venv").exists()
    assert not (ws.project / ".state").exists() and list(ws.cache.iterdir()) == []
    sample = ws.run("cold-lock")
    assert sample.ok and sample.wall > 0 and sample.max_rss_kib > 0
    assert ws.locked and ws.lock_cache_warm


def test_warm_sync_keeps_cache_and_drops_venv(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    ws.prepare("warm-sync")
    assert (ws.cache / "wheels").exists() and not (ws.project / ".venv").exists()
    assert ws.run("warm-sync").ok and ws.synced


def test_failures_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, broken_sync=True)
    samples = run_matrix({"r0": [ws]}, ["cold-sync", "noop-sync", "version"], runs=2, warmup=1, log=lambda _: None)
    by_step = {(s["step"], s["rep"]): s for s in samples}
    assert len(samples) == 9
    cold = by_step[("cold-sync", 1)]
    assert not cold["ok"] and cold["returncode"] == 3 and "sdists" in cold["stderr_tail"]
    noop = by_step[("noop-sync", 0)]  # preparing it needs a sync, which fails
    assert not noop["ok"] and noop["wall"] is None and "preparing (sync) failed" in noop["stderr_tail"]
    assert by_step[("version", 2)]["ok"] and not by_step[("version", 2)]["warmup"]


def _synced_in(ws: Workspace) -> list[str]:
    return (ws.cache / "synced-in").read_text().split()


def test_new_project_step_syncs_a_fresh_copy_with_a_warm_cache(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    (ws.project / "pyproject.toml").write_text("[project]\n")
    ws.prepare(NEW_PROJECT_STEP)
    copy = ws.new_copy()
    assert copy != ws.project and copy.name == ws.project.name
    # the cache was filled by a sync of the first copy, untimed
    assert (ws.cache / "wheels").exists() and _synced_in(ws) == [str(ws.project)]
    # a fresh clone of the first copy: its files and lock, no .venv and no project state
    assert (copy / "lock.txt").read_text() == "locked\n" and (copy / "pyproject.toml").read_text() == "[project]\n"
    assert not (copy / ".venv").exists() and not (copy / ".state").exists()
    assert (copy / ".before-sync").exists()  # the untimed venv preparation ran in the copy
    assert ws.cwd(NEW_PROJECT_STEP) == copy and ws.cwd("warm-sync") == ws.project
    sample = ws.run(NEW_PROJECT_STEP)
    assert sample.ok and (copy / ".venv").is_dir()
    assert _synced_in(ws) == [str(ws.project), str(copy)]
    assert ws.synced and ws.sync_cache_warm  # the first copy is as it was


def test_each_repetition_gets_a_new_directory_and_drops_the_last(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    ws.prepare(NEW_PROJECT_STEP)
    first = ws.new_copy()
    assert ws.run(NEW_PROJECT_STEP).ok
    ws.prepare(NEW_PROJECT_STEP)
    second = ws.new_copy()
    assert second != first and not first.exists() and not (second / ".venv").exists()
    assert ws.run(NEW_PROJECT_STEP).ok
    assert _synced_in(ws) == [str(ws.project), str(first), str(second)]  # one untimed sync only


def test_new_project_step_after_a_cold_lock_warms_the_cache_first(tmp_path: Path) -> None:
    ws = _workspace(tmp_path)
    ws.prepare("noop-sync")
    ws.prepare("cold-lock")  # empties the cache and deletes the lock
    assert ws.run("cold-lock").ok and not (ws.cache / "wheels").exists()
    ws.prepare(NEW_PROJECT_STEP)
    assert (ws.cache / "wheels").exists() and (ws.new_copy() / "lock.txt").exists()


def test_new_project_step_cannot_be_prepared_without_a_working_sync(tmp_path: Path) -> None:
    ws = _workspace(tmp_path, broken_sync=True)
    with pytest.raises(PrepareError, match="preparing \\(sync\\) failed"):
        ws.prepare(NEW_PROJECT_STEP)
    samples = run_matrix({"r0": [ws]}, [NEW_PROJECT_STEP], runs=1, warmup=0, log=lambda _: None)
    assert not samples[0]["ok"] and "sdists are not supported" in samples[0]["stderr_tail"]
