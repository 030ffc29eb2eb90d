"""Build logs: everything a build backend prints (stdout and stderr, for every hook of one
build) is kept in the cache, one file per distribution, version and kind of build, which
the next such build overwrites; with -v it is shown as it comes. A failed build's one-line
error names its log."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

from pypm import ui
from pypm.store.layout import BUILD_LOGS


class BuildLog:
    """The output of one build (``kind``: ``wheel``, ``editable``, ``metadata``...) of the
    source tree ``source``, kept at :attr:`path` in the cache, named by ``stem`` (the
    distribution and version); ``label`` names the build in messages."""

    def __init__(self, cache_dir: Path, stem: str, kind: str, label: str, source: Path) -> None:
        self.path = cache_dir / BUILD_LOGS / f"{stem}-{kind}.log"
        self.label = label
        self.source = source
        self._chunks: list[bytes] = [f"# pypm build log: {label} ({kind}) from {source}\n".encode()]
        self._guard = threading.Lock()

    def add(self, data: bytes | str) -> None:
        """Append ``data`` to the log (and show it with -v)."""
        chunk = data.encode(errors="replace") if isinstance(data, str) else data
        with self._guard:
            self._chunks.append(chunk)
        if ui.verbosity() >= 1:
            sys.stderr.write(chunk.decode(errors="replace"))
            sys.stderr.flush()

    def runner(self, cmd: Sequence[str], cwd: str | None = None,
               extra_environ: Mapping[str, str] | None = None) -> None:
        """A pyproject-hooks subprocess runner: runs the hook with stdout and stderr into
        this log; a non-zero exit raises :class:`subprocess.CalledProcessError` with the
        hook's output, as ``quiet_subprocess_runner`` does."""
        env = {**os.environ, **(extra_environ or {})}
        self.add(f"## hook {cmd[-2] if len(cmd) >= 2 else '?'}\n")
        lines: list[bytes] = []
        with subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL) as process:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                self.add(line)
        if process.returncode:
            raise subprocess.CalledProcessError(process.returncode, list(cmd), b"".join(lines))

    def last_line(self) -> str | None:
        """The last non-empty line the backend printed, if any."""
        with self._guard:
            text = b"".join(self._chunks[1:]).decode(errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("## hook ")]
        return lines[-1] if lines else None

    @property
    def hint(self) -> str:
        """What to read for the details."""
        return f"see the build log at {self.path}"

    def write(self) -> None:
        """Keep the log in the cache (replacing the last one of the same build); a log that
        cannot be written is not worth failing a build for."""
        from pypm.fsutil import atomic_write_bytes

        with self._guard:
            data = b"".join(self._chunks)
        try:
            atomic_write_bytes(self.path, data)
        except OSError:
            return
        ui.detail(f"Build log of {self.label}: {self.path}")

    @contextmanager
    def kept(self) -> Iterator[BuildLog]:
        """This log, written to the cache when the block ends, however it ends."""
        try:
            yield self
        finally:
            self.write()
