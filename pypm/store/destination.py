"""The store's destination for pypa/installer: a wheel's files written under a store
entry's ``files/<scheme>`` directories, with installer's containment check, and what the
entry's manifest records of them (see :mod:`pypm.store.unpack`, which imports this module
only when it unpacks a wheel)."""

from __future__ import annotations

import base64
import errno
import hashlib
import os
import posixpath
from pathlib import Path
from typing import Any, BinaryIO

from installer.destinations import SchemeDictionaryDestination
from installer.records import Hash, RecordEntry
from installer.utils import SCHEME_NAMES, Scheme

from pypm.store.entry import FILES, StoredFile, StoreEntry
from pypm.store.link import script_code
from pypm.store.unpack import UNSAFE_HINT, UnsafeWheelError, executable_mode, faster_inflate

#: Bytes read from a wheel member at a time while it is written into the store.
_COPY_CHUNK = 1 << 20
#: How a member's file is created: new only (an existing one is refused), binary on Windows,
#: not inherited by child processes.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)


def _write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to ``fd`` (``os.write`` may write less than it is given)."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


class StoreDestination(SchemeDictionaryDestination):
    """installer's destination, one directory per scheme under ``<entry>/files``. Scripts
    keep their ``#!python`` shebang (the store serves every interpreter: link.py rewrites
    it per environment) and no RECORD is written (link.py writes one per environment)."""

    def __init__(self, root: Path, wheel_name: str) -> None:
        files = root / FILES
        super().__init__({name: str(files / name) for name in SCHEME_NAMES}, interpreter="python",
                         script_kind="posix")
        self.root = root
        self.wheel_name = wheel_name
        self.files: list[StoredFile] = []
        self.scripts: list[tuple[str, str, str, str]] = []
        self.script_code: list[str] = []
        self.root_scheme = ""
        self.dist_info = ""
        self.mtimes: list[int] = []
        self._made: set[str] = set()  # parent directories that exist

    def write_script(self, name: str, module: str, attr: str, section: Any) -> RecordEntry:
        """Record an entry-point script (written per environment); its name must name a file
        inside the scripts directory (the check members get, :meth:`_inside`)."""
        self._inside(Scheme("scripts"), name, "entry-point script")
        self.scripts.append((name, module, attr, section))
        # linking puts the environment's shebang line before it without importing installer
        self.script_code.append(script_code(name, module, attr, str(section)))
        return RecordEntry(name, None, None)

    def write_file(
        self, scheme: Scheme, path: str | os.PathLike[str], stream: BinaryIO, is_executable: bool
    ) -> RecordEntry:
        """Write one file (:meth:`write_to_fs`: a member escaping its directory is refused)
        and remember it for the manifest."""
        relative = posixpath.normpath(os.fspath(path))
        record = self.write_to_fs(scheme, relative, stream, is_executable)
        self.files.append(StoredFile(str(scheme), relative, str(record.hash_), int(record.size or 0), is_executable))
        return record

    def write_to_fs(self, scheme: Scheme, path: str, stream: BinaryIO, is_executable: bool) -> RecordEntry:
        """installer's ``write_to_fs`` with its checks, in fewer steps per file (a wheel has
        thousands; r150's unpack spent a sixth of its CPU here): the containment check on
        strings (``abspath`` then the directory as prefix, which installer's docs name as the
        safe way), an existing file refused by an exclusive create rather than a ``stat``
        first (``os.open``: a file object costs ~10 µs more per member), each parent
        directory made once, the copy in 1 MiB reads, and the file's
        mtime taken from its open descriptor where the OS has it final there (the manifest
        records it). An executable gets its mode from :func:`executable_mode`, not from
        installer's helper, which reads the umask by setting it to 0 and back: with unpack
        threads running, a file or directory another thread created meanwhile got mode
        777/666."""
        target = self._inside(scheme, path, "member")
        parent = os.path.dirname(target)
        if parent not in self._made:
            os.makedirs(parent, exist_ok=True)
            self._made.add(parent)
        digest, size = hashlib.sha256(), 0
        faster_inflate(stream)
        try:
            fd = os.open(target, _NEW_FILE, 0o666)  # as open(target, "xb") makes it, without its io objects
        except FileExistsError:  # named as in the wheel, not by its path in the cache
            raise FileExistsError(errno.EEXIST, "File exists", path) from None
        try:
            while chunk := stream.read(_COPY_CHUNK):
                digest.update(chunk)
                _write_all(fd, chunk)
                size += len(chunk)
            status = os.fstat(fd) if os.name != "nt" else None
        finally:
            os.close(fd)
        # POSIX updates the mtime at each write; Windows only when the last writing handle
        # closes (Microsoft's "File Times"), so there the stat comes after the close.
        status = status or os.stat(target)
        self.mtimes.append(status.st_mtime_ns)  # a chmod changes the ctime, not the mtime
        if is_executable:
            os.chmod(target, executable_mode(status.st_mode))
        encoded = base64.urlsafe_b64encode(digest.digest()).decode("ascii").rstrip("=")
        return RecordEntry(path, Hash("sha256", encoded), size)

    def _inside(self, scheme: Scheme, path: str, what: str) -> str:
        """The absolute path of ``path`` in ``scheme``'s directory, which it must be strictly
        inside: installer's containment check on strings (``abspath``, then the directory as
        prefix), stricter in refusing the directory itself; else a one-line refusal of the
        ``what`` (member, entry-point script)."""
        base = os.path.abspath(self.scheme_dict[scheme])
        target = os.path.abspath(os.path.join(base, path))
        if not target.startswith(base + os.sep):
            raise UnsafeWheelError(f"refused to install {self.wheel_name}: {what} {path!r} would be written outside"
                                   f" its {scheme} directory", hint=UNSAFE_HINT)
        return target

    def finalize_installation(self, scheme: Scheme, record_file_path: str, records: Any) -> None:
        """Remember the root scheme and the dist-info directory (no RECORD in the store)."""
        self.root_scheme = str(scheme)
        self.dist_info = record_file_path.split("/")[0]

    def entry(self) -> StoreEntry:
        """The unpacked entry, with the mtimes its files were written with."""
        return StoreEntry(self.root, self.root_scheme, self.dist_info, self.files, self.scripts, self.mtimes,
                          self.script_code)
