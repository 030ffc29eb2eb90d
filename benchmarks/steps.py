"""The benchmark steps: what each one measures and how its precondition is prepared.

A :class:`Workspace` is one tool's copy of one project with its own cache. Preparing a
step (deleting the lock, the cache, ``.venv``; or running the lock/sync once so that a
warm or no-op step has something to be warm or no-op about) happens outside the timed
region; the flags on the workspace remember what the last commands left behind.

``warm-sync-new-project`` syncs a second copy of the project (a fresh directory next to the
first, with the first copy's lock) while the tool's cache is warm from syncing the first:
the case a shared store (pypm's hardlinks) is for.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.timing import Sample, run_quiet, run_sample
from benchmarks.toolenv import ToolEnv
from benchmarks.tools import Adapter

__all__ = ["NEW_PROJECT_STEP", "STEPS", "STEP_TITLES", "Workspace", "PrepareError"]

STEP_TITLES: dict[str, str] = {
    "cold-lock": "cold lock (no cache, no lock)",
    "warm-lock": "warm lock (cache warm, lock deleted)",
    "noop-lock": "no-op lock (lock up to date)",
    "cold-sync": "cold sync (lock present, no cache, no .venv)",
    "warm-sync": "warm sync (cache warm, no .venv)",
    "warm-sync-new-project": "warm sync of a new copy (cache warm from another copy, no .venv)",
    "noop-sync": "no-op sync (all installed)",
    "noop-lock-sync": "no-op lock + sync (`pypm lock sync` vs `uv sync`: one call each)",
    "version": "`--version`",
}
STEPS = tuple(STEP_TITLES)
NEW_PROJECT_STEP = "warm-sync-new-project"


class PrepareError(RuntimeError):
    """An untimed set-up command failed, so the step cannot be measured."""


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


@dataclass
class Workspace:
    """One tool on one project: a private copy, a private cache, and what state they are in."""

    adapter: Adapter
    tool: ToolEnv
    project: Path
    cache: Path
    env: dict[str, str]
    python: Path
    timeout: float = 900.0
    locked: bool = False
    lock_cache_warm: bool = False
    sync_cache_warm: bool = False
    synced: bool = False
    new_copies: int = 0  # how many second copies were made (each one goes in a directory of its own)
    notes: list[str] = field(default_factory=list)

    # --- state changes -------------------------------------------------------------
    def drop_lock(self) -> None:
        """Delete the lock file(s)."""
        for name in self.adapter.lock_files:
            _remove(self.project / name)
        self.locked = self.synced = False

    def drop_cache(self) -> None:
        """Empty the tool's cache directory."""
        _remove(self.cache)
        self.cache.mkdir(parents=True)
        self.lock_cache_warm = self.sync_cache_warm = False

    def drop_venv(self) -> None:
        """Delete ``.venv``."""
        _remove(self.project / self.adapter.venv)
        self.synced = False

    def drop_state(self) -> None:
        """Delete project-local state that a fresh clone would not have (e.g. ``.pypm/``)."""
        for name in self.adapter.state_paths:
            _remove(self.project / name)

    def new_copy(self) -> Path:
        """The latest second copy of the project (``<home>/new-<n>/<project dir name>``)."""
        return self.project.parent / f"new-{self.new_copies}" / self.project.name

    def make_new_copy(self) -> Path:
        """Copy the project to a new directory as a fresh clone would have it: every file (the
        lock included) but ``.venv`` and the project state; the previous second copy is deleted."""
        if self.new_copies:
            _remove(self.new_copy().parent)
        self.new_copies += 1
        target = self.new_copy()
        skip = {self.adapter.venv, *self.adapter.state_paths}
        top = str(self.project)
        shutil.copytree(
            self.project, target, symlinks=True, ignore=lambda d, names: [n for n in names if d == top and n in skip]
        )
        return target

    def cwd(self, step: str) -> Path:
        """Where ``step``'s timed commands run: the second copy for the new-project step."""
        return self.new_copy() if step == NEW_PROJECT_STEP else self.project

    def _quiet(self, commands: list[list[str]], what: str, cwd: Path | None = None) -> None:
        ok, tail = run_quiet(commands, cwd or self.project, self.env, self.timeout)
        if not ok:
            raise PrepareError(f"preparing ({what}) failed:\n{tail}")

    def ensure_locked(self) -> None:
        """Lock (untimed) unless the lock is known to be current."""
        if not self.locked:
            self._quiet(self.adapter.lock(self.tool), "lock")
            self.locked = self.lock_cache_warm = True

    def ensure_synced(self) -> None:
        """Sync (untimed) unless ``.venv`` is known to match the lock."""
        self.ensure_locked()
        if not self.synced:
            if not (self.project / self.adapter.venv).exists():
                self._quiet(self.adapter.before_sync(self.tool, self.python), "venv")
            self._quiet(self.adapter.sync(self.tool, self.python), "sync")
            self.synced = self.sync_cache_warm = True

    # --- steps -----------------------------------------------------------------------
    def prepare(self, step: str) -> None:
        """Bring the workspace into the state ``step`` starts from (raises PrepareError)."""
        if step == "cold-lock":
            self.drop_venv()
            self.drop_lock()
            self.drop_state()
            self.drop_cache()
        elif step == "warm-lock":
            if not self.lock_cache_warm:
                self.ensure_locked()
            self.drop_lock()
        elif step == "noop-lock":
            self.ensure_locked()
        elif step in ("cold-sync", "warm-sync"):
            self.ensure_locked()
            if step == "cold-sync":
                self.drop_state()
                self.drop_cache()
            elif not self.sync_cache_warm:
                self.ensure_synced()
            self.drop_venv()
            self._quiet(self.adapter.before_sync(self.tool, self.python), "venv")
        elif step == NEW_PROJECT_STEP:
            if not self.sync_cache_warm:
                self.ensure_synced()  # a sync of the first copy fills the cache
            self.ensure_locked()
            copy = self.make_new_copy()
            self._quiet(self.adapter.before_sync(self.tool, self.python), "venv", cwd=copy)
        elif step in ("noop-sync", "noop-lock-sync"):
            self.ensure_synced()

    def commands(self, step: str) -> list[list[str]]:
        """The timed commands of ``step``."""
        if step == NEW_PROJECT_STEP:
            return self.adapter.sync(self.tool, self.python)
        if step.endswith("-lock"):
            return self.adapter.lock(self.tool)
        if step.endswith("-lock-sync"):
            return self.adapter.lock_sync(self.tool, self.python)
        if step.endswith("-sync"):
            return self.adapter.sync(self.tool, self.python)
        if step == "version":
            return self.adapter.version(self.tool)
        raise ValueError(f"unknown step {step!r}")

    def run(self, step: str) -> Sample:
        """Time ``step`` (already prepared) and update what the workspace knows."""
        os.sync()  # flush the previous sample's writes (and the deletions) outside the timed region
        sample = run_sample(self.commands(step), self.cwd(step), self.env, self.timeout)
        if step.endswith("-lock"):  # (the new-project step leaves the first copy as it was)
            self.locked = self.lock_cache_warm = sample.ok
            self.synced = self.synced and sample.ok
        elif step.endswith("sync"):
            self.synced = sample.ok
            if step.endswith("-lock-sync"):
                self.locked = sample.ok
            self.sync_cache_warm = self.sync_cache_warm or sample.ok
        return sample
