"""Download progress: a rich display (bytes, one bar per file) when stderr is a terminal,
one plain summary line otherwise, nothing with -q. rich is imported only to draw."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from pypm import ui


class DownloadProgress:
    """Thread-safe progress reporting for a batch of downloads."""

    def __init__(self, items: list[Any], announce: bool = True) -> None:
        self.count = len(items)
        self.total = sum(item.size or 0 for item in items)
        self.received = 0  # bytes that came over the network, retries included
        self.arrived = 0  # files now complete in the cache
        self.arrived_bytes = 0
        self.started_at = time.monotonic()
        self._lock = threading.Lock()
        self._tasks: dict[str, Any] = {}
        self._rich: Any = None
        self.announce = announce
        if announce and ui.verbosity() >= 0 and sys.stderr.isatty():
            self._start_rich()

    def _start_rich(self) -> None:
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TransferSpeedColumn

        self._rich = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
                              TransferSpeedColumn(), transient=True)
        self._overall = self._rich.add_task(f"Downloading {self.count} files", total=self.total or None)
        self._rich.start()

    def started(self, item: Any, already: int) -> None:
        """A file's transfer began (``already`` bytes were kept from an earlier attempt)."""
        if self._rich is not None:
            with self._lock:
                if item.filename not in self._tasks:
                    self._tasks[item.filename] = self._rich.add_task(item.filename, total=item.size)
                self._rich.update(self._tasks[item.filename], completed=already)

    def advance(self, item: Any, size: int) -> None:
        """``size`` more bytes of ``item`` arrived."""
        with self._lock:
            self.received += size
            if self._rich is not None:
                self._rich.advance(self._tasks[item.filename], size)
                self._rich.advance(self._overall, size)

    def finished(self, item: Any, size: int) -> None:
        """``item`` arrived: it is complete (``size`` bytes) and in the cache."""
        with self._lock:
            self.arrived += 1
            self.arrived_bytes += size
            if self._rich is not None:
                task = self._tasks.pop(item.filename, None)
                if task is not None:
                    self._rich.remove_task(task)

    def close(self) -> None:
        """Stop drawing and print the one-line summary of the files that arrived (none if
        none did: a failed batch ends with its error line instead)."""
        if self._rich is not None:
            self._rich.stop()
        if not self.arrived:
            return
        seconds = time.monotonic() - self.started_at
        say = ui.info if self.announce else ui.detail
        files = "file" if self.arrived == 1 else "files"
        say(f"Downloaded {self.arrived} {files} ({self.arrived_bytes / 1048576:.1f} MiB) in {seconds:.2f}s")
