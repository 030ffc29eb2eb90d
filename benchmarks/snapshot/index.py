"""Choose the index for a run: the public one, or the local snapshot (built when needed) served here."""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import WORK_DIR
from benchmarks.snapshot.build import build_snapshot
from benchmarks.snapshot.server import SnapshotServer
from benchmarks.snapshot.store import Snapshot
from benchmarks.sources import find_project
from benchmarks.toolenv import ensure_tool

__all__ = ["RunIndex", "open_index", "needs_build", "SNAPSHOT_DIR"]

SNAPSHOT_DIR = WORK_DIR / "snapshot"


@dataclass
class RunIndex:
    """The index a run uses: its URL and, for the snapshot, the server that answers it."""

    mode: str
    url: str
    server: SnapshotServer | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        """What the JSON result records about the index (incl. files asked for but not held)."""
        info: dict[str, Any] = {"mode": self.mode, "url": self.url, **self.extra}
        if self.server is not None:
            info["responses"] = {str(k): v for k, v in sorted(self.server.status_counts.items())}
            info["missing_files"] = dict(self.server.missing_files)
        return info


def needs_build(root: Path, wanted: dict[str, Path]) -> bool:
    """Whether the snapshot in ``root`` lacks a project of ``wanted`` or has an outdated one."""
    try:
        covers = json.loads((root / "index.json").read_text()).get("covers", {})
    except (OSError, ValueError):
        return True
    for label, path in wanted.items():
        if covers.get(label) != hashlib.sha256(path.read_bytes()).hexdigest():
            return True
    return False


@contextmanager
def open_index(
    args: argparse.Namespace, sources: dict[str, Path], python: Path, log: Callable[[str], None] = print
) -> Iterator[RunIndex]:
    """Yield the run's index; for ``--index local`` build the snapshot if needed and serve it."""
    if args.index == "public":
        yield RunIndex("public", args.index_url)
        return
    wanted = {label: path / "pyproject.toml" for label, path in sources.items()}
    if args.rebuild_snapshot or needs_build(SNAPSHOT_DIR, wanted):
        try:  # keep what the snapshot already covers, so switching projects does not shrink it
            old = json.loads((SNAPSHOT_DIR / "index.json").read_text()).get("covers", {})
        except (OSError, ValueError):
            old = {}
        for label in old:
            found = find_project(label, args.projects_dir)
            if label not in wanted and found is not None:
                wanted[label] = found / "pyproject.toml"
        uv = ensure_tool("uv", log=log).exe("uv")
        build_snapshot(SNAPSHOT_DIR, wanted, uv=uv, index_url=args.index_url, python=str(python), log=log)
    snapshot = Snapshot.load(SNAPSHOT_DIR)
    listed, present = snapshot.file_count()
    extra = {
        "snapshot": str(SNAPSHOT_DIR),
        "projects": len(snapshot.projects),
        "files_listed": listed,
        "files_downloaded": present,
        "covers": sorted(snapshot.covers),
    }
    with SnapshotServer(snapshot) as server:
        log(f"local index {server.url}: {len(snapshot.projects)} projects, {present}/{listed} files held")
        yield RunIndex("local", server.url, server, extra)
