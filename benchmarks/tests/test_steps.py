"""Preparing and running steps with a fake tool whose commands are shell one-liners."""

from __future__ import annotations

import os
from pathlib import Path

from benchmarks.runner import run_matrix
from benchmarks.steps import Workspace
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
        return [["sh", "-c", 'test -f lock.txt && mkdir -p .venv && touch "$CACHE/wheels"']]

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
