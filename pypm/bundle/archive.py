"""Write a staged bundle directory as a byte-reproducible ``.tar.gz``: entries sorted by
path, every mtime the bundle's epoch, uid/gid 0 with no user or group names, modes 0o755
(directories and executables) or 0o644, and a gzip header without file name or time
(``SOURCE_DATE_EPOCH``'s rules, https://reproducible-builds.org/docs/archives/).
A terminal shows a progress bar while large bundles are packed."""

from __future__ import annotations

import gzip
import os
import stat
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from pypm import ui

#: gzip level: 6 is gzip's own default, a fair trade between size and time for wheels
#: (which are zip files already) and an interpreter's files.
COMPRESSION = 6
_PROGRESS_FROM = 64 * 1024 * 1024  # bytes: smaller bundles pack too fast to need a bar


def write_archive(staging: Path, destination: Path, epoch: int) -> None:
    """Pack every entry under ``staging`` into ``destination`` (which must not exist yet)."""
    with open(destination, "xb") as raw:
        write_archive_to(staging, raw, epoch)


def write_archive_to(staging: Path, raw: BinaryIO, epoch: int) -> None:
    """Pack every entry under ``staging`` into the open binary file ``raw`` (left open)."""
    entries = sorted(_entries(staging))
    total = sum(size for _, _, size in entries)
    with gzip.GzipFile(
        filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=COMPRESSION
    ) as zipped, tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar, _Progress(total) as bar:
        for relative, path, _size in entries:
            info = _member(relative, path, epoch)
            if info.isreg():
                with path.open("rb") as handle:
                    tar.addfile(info, _Counted(handle, bar))
            else:
                tar.addfile(info)


def _entries(staging: Path) -> Iterator[tuple[str, Path, int]]:
    """(POSIX path, path, size) of every directory, file and link under ``staging``."""
    for directory, dirs, files in os.walk(staging):
        base = Path(directory)
        for name in [*dirs, *files]:
            path = base / name
            relative = path.relative_to(staging).as_posix()
            info = path.lstat()
            yield relative, path, info.st_size if stat.S_ISREG(info.st_mode) else 0


def _member(relative: str, path: Path, epoch: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(relative)
    info.mtime = epoch
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    mode = path.lstat().st_mode
    if stat.S_ISLNK(mode):
        info.type, info.linkname, info.mode = tarfile.SYMTYPE, os.readlink(path), 0o777
    elif stat.S_ISDIR(mode):
        info.type, info.mode = tarfile.DIRTYPE, 0o755
    else:
        info.size = path.stat().st_size
        info.mode = 0o755 if mode & stat.S_IXUSR else 0o644
    return info


class _Counted:
    """A file whose reads advance the progress bar (tarfile copies in chunks)."""

    def __init__(self, handle: Any, bar: _Progress) -> None:
        self.handle = handle
        self.bar = bar

    def read(self, size: int = -1) -> bytes:
        """Read and count ``size`` bytes."""
        data = self.handle.read(size)
        self.bar.advance(len(data))
        return data


class _Progress:
    """A rich bar of bytes packed, on a terminal, for bundles of 64 MiB or more."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._rich: Any = None

    def __enter__(self) -> _Progress:
        if self.total >= _PROGRESS_FROM and ui.verbosity() >= 0 and sys.stderr.isatty():
            from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

            self._rich = Progress(TextColumn("Packing"), BarColumn(), DownloadColumn(), transient=True)
            self._task = self._rich.add_task("pack", total=self.total)
            self._rich.start()
        return self

    def advance(self, size: int) -> None:
        """``size`` more bytes were packed."""
        if self._rich is not None and size:
            self._rich.advance(self._task, size)

    def __exit__(self, *exc: object) -> None:
        if self._rich is not None:
            self._rich.stop()
