"""Small filesystem helpers: atomic writes, so nothing half-written is ever left behind."""

from __future__ import annotations

import contextlib
import hashlib
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".tmp"
_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)


def temp_name(path: Path) -> str:
    """A fresh name for a temp file beside ``path``: ``.<name>.<random>.tmp``."""
    return f".{path.name}.{os.urandom(6).hex()}{TEMP_SUFFIX}"


def is_temp_of(candidate: str, path: Path) -> bool:
    """True when ``candidate`` (a file name) is one of :func:`atomic_write_bytes`'s temp
    files for ``path``."""
    prefix = f".{path.name}."
    if not (candidate.startswith(prefix) and candidate.endswith(TEMP_SUFFIX)):
        return False
    token = candidate[len(prefix) : -len(TEMP_SUFFIX)]
    return 0 < len(token) <= 16 and all(ch in _TOKEN_CHARS for ch in token)  # also mkstemp's names of old


def remove_stale_temps(path: Path) -> list[Path]:
    """Delete temp files of ``path`` left by a writer that was killed before its rename.

    Call it only while holding the lock that serialises writers of ``path`` (for the
    project's files: the graph lock), so no live writer's temp file is taken.
    """
    try:
        names = os.listdir(path.parent)
    except OSError:
        return []
    removed = []
    for name in names:
        if is_temp_of(name, path):
            stale = path.parent / name
            try:
                stale.unlink()
            except OSError:
                continue
            removed.append(stale)
    return removed


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a temp file beside ``path``, then rename it into place.

    A new file gets the permissions the umask gives (0644 usually, not ``mkstemp``'s
    0600); a rewritten file keeps its own. On any failure the temp file is removed, and an
    OSError names ``path`` (a write that fills the disk names no file by itself).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    old_mode = _mode_of(path)
    try:
        temp, fd = _create_temp(path)
    except OSError as exc:
        raise _naming(exc, path) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            if old_mode is not None:
                os.chmod(temp, old_mode)
            handle.write(data)
        os.replace(temp, path)
    except OSError as exc:
        temp.unlink(missing_ok=True)
        raise _naming(exc, path) from None
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _create_temp(path: Path) -> tuple[Path, int]:
    """Create a new temp file beside ``path`` (mode 0o666 less the umask); return it and
    its descriptor."""
    while True:
        temp = path.with_name(temp_name(path))
        try:
            return temp, os.open(temp, _CREATE, 0o666)
        except FileExistsError:
            continue


def _mode_of(path: Path) -> int | None:
    """The permission bits of the file at ``path``, or None when there is none."""
    try:
        return path.stat().st_mode & 0o7777
    except OSError:
        return None


def _naming(exc: OSError, path: Path) -> OSError:
    """The same error (same errno, so the same OSError subclass) naming ``path``."""
    if exc.errno is None:
        return exc
    return OSError(exc.errno, exc.strerror, str(path))


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def file_size(path: Path) -> int:
    """The size of a file in bytes; 0 when it cannot be read (gone, not there yet)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8, ``\\n`` line ends)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def write_user_file(path: Path, data: bytes) -> None:
    """Replace the user's file ``path`` (a ``pyproject.toml``, a script) atomically. When
    ``path`` is a symbolic link, the file it leads to is replaced and the link kept, as
    uv's edits write through it; pypm's own files are written with
    :func:`atomic_write_bytes`, which replaces a link."""
    atomic_write_bytes(Path(os.path.realpath(path)) if path.is_symlink() else path, data)


@contextmanager
def restored_on_failure(path: Path) -> Iterator[None]:
    """Run the block; when it raises, put ``path`` back as it was before it (removed
    when it did not exist; a symbolic link made again, and the file it leads to given
    back its bytes), so a failed operation leaves the user's file untouched."""
    link = os.readlink(path) if path.is_symlink() else None
    try:
        before: bytes | None = path.read_bytes()
    except FileNotFoundError:
        before = None
    try:
        yield
    except BaseException:
        if link is not None and not (path.is_symlink() and os.readlink(path) == link):
            _put_link_back(path, link)
        try:
            now: bytes | None = path.read_bytes()
        except FileNotFoundError:
            now = None
        if now != before:
            if before is None:
                path.unlink(missing_ok=True)
            else:
                write_user_file(path, before)
        raise


def _put_link_back(path: Path, link: str) -> None:
    """Make ``path`` the symbolic link to ``link`` again (atomically, over what is there);
    where that cannot be done (Windows without the privilege) the bytes are put back alone,
    and the failure being reported is not hidden by this one."""
    temp = path.with_name(temp_name(path))
    try:
        os.symlink(link, temp)
        os.replace(temp, path)
    except OSError:
        temp.unlink(missing_ok=True)


@contextmanager
def exclusive_flock(path: Path, on_wait: Callable[[], None], notice_after: float = 0.0) -> Iterator[None]:
    """Hold ``flock(LOCK_EX)`` on ``path`` (created when missing; POSIX only). When another
    process holds it ``notice_after`` seconds later (polling until then), ``on_wait()`` is
    called once and the wait goes on. Released on exit, or when the process dies."""
    import fcntl
    import time

    descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = time.monotonic() + notice_after
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    on_wait()
                    fcntl.flock(descriptor, fcntl.LOCK_EX)
                    break
                time.sleep(0.05)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)
    finally:
        os.close(descriptor)


def is_digest_record(name: str) -> bool:
    """``<64 hex>.json``: a record pypm names by a sha256 (resolutions, parsed locks)."""
    return len(name) == 69 and name.endswith(".json")


def keep_most_recent(directory: Path, count: int, is_ours: Callable[[str], bool]) -> None:
    """Remove all but the ``count`` most recently modified files of ``directory`` whose
    names ``is_ours`` accepts (pypm's own records: other files are never touched)."""
    try:
        with os.scandir(directory) as entries:
            ours = [entry for entry in entries if is_ours(entry.name) and entry.is_file(follow_symlinks=False)]
        if len(ours) <= count:
            return
        ours.sort(key=lambda entry: entry.stat().st_mtime_ns)
    except OSError:
        return
    for entry in ours[: len(ours) - count]:
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
