"""A local snapshot of the public index: built once, served on 127.0.0.1 (PEP 691/658/503)."""

from __future__ import annotations

from benchmarks.snapshot.server import SnapshotServer
from benchmarks.snapshot.store import Snapshot

__all__ = ["Snapshot", "SnapshotServer"]
