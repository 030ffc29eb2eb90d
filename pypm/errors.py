"""The exception hierarchy: every error pypm reports to a user is a :class:`PypmError`."""

from __future__ import annotations


class PypmError(Exception):
    """Root of all pypm errors; ``str()`` is the one-line message shown to the user.

    ``hint`` tells the user what to do about it; ``exit_code`` is the process exit status.
    """

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def one_line(self) -> str:
        """Return the message and hint joined into the single line printed on stderr."""
        text = " ".join(self.message.split())
        if self.hint:
            text = f"{text} ({' '.join(self.hint.split())})"
        return text


class UsageError(PypmError):
    """The command line itself is wrong."""

    exit_code = 2


class ConfigError(PypmError):
    """A settings value or file is invalid."""


class WorkspaceError(PypmError):
    """The workspace layout or a member's ``pyproject.toml`` is invalid."""


class NoWorkspaceError(WorkspaceError):
    """No workspace here: no ``pyproject.toml`` at the start or above, or only one that is
    no pypm project (neither ``[project]`` nor a workspace table: another tool's)."""


class IndexClientError(PypmError):
    """The package index could not be reached or answered with something unusable."""


class ResolutionError(PypmError):
    """No set of versions satisfies the requirements."""


class LockError(PypmError):
    """The lockfile is missing, stale where it must not be, or malformed."""


class InstallError(PypmError):
    """Creating the environment or installing into it failed."""


class BuildError(PypmError):
    """A PEP 517 build failed, or built something other than what was asked for."""


class HashMismatchError(InstallError):
    """A downloaded file's sha256 differs from the one recorded for it."""


class FileSystemError(PypmError):
    """The operating system refused a file operation: full disk, read-only or permission
    denied, or a path of the wrong kind (a file where a directory belongs, or the reverse).

    The hint is joined with ``": "`` (``no space left on device while writing X: free space
    or set PYPM_CACHE_DIR``), the shape the user sees for every operating-system error.
    """

    def one_line(self) -> str:
        """The message and what to do, joined by a colon."""
        text = " ".join(self.message.split())
        return f"{text}: {' '.join(self.hint.split())}" if self.hint else text


# errno names, looked up with getattr: not every platform defines all of them.
_NO_SPACE = ("ENOSPC", "EFBIG", "EDQUOT")
_NOT_ALLOWED = ("EACCES", "EPERM", "EROFS")
_KIND = ("ENOTDIR", "EISDIR", "EEXIST")
_CACHE_HINT = "set PYPM_CACHE_DIR"


def _errno_in(exc: OSError, names: tuple[str, ...]) -> bool:
    import errno

    return exc.errno is not None and exc.errno in {getattr(errno, name, None) for name in names}


def _wrong_kind(exc: OSError, path: str) -> str | None:
    """Describe the part of ``path`` whose kind caused ``exc``, or None when none did."""
    import errno
    from pathlib import Path

    candidate = Path(path)
    if exc.errno == errno.EISDIR:
        return f"{candidate} is a directory where a file is expected" if candidate.is_dir() else None
    if exc.errno == errno.EEXIST:  # mkdir where a file is
        return f"{candidate} is a file where a directory is expected" if candidate.is_file() else None
    for part in (candidate, *candidate.parents):  # ENOTDIR: the first part that is not a directory
        if part.is_symlink() and not part.exists():
            return f"{part} is a broken symbolic link"
        if part.exists():
            return None if part.is_dir() else f"{part} is a file where a directory is expected"
    return None


def is_disk_full(exc: OSError) -> bool:
    """True when a write failed for want of space (ENOSPC, EFBIG, EDQUOT)."""
    return _errno_in(exc, _NO_SPACE)


def os_error(exc: OSError, path: str | None = None, cache_dir: str | None = None) -> FileSystemError:
    """Translate an :class:`OSError` into one line naming the path and what to do.

    ``path`` overrides the path the exception carries (a write that fills the disk carries
    none: then the file open in the failing frame names it); a path inside ``cache_dir``
    adds moving the cache as a way out.
    """
    import errno

    where = path or _written_path(exc) or _file_in_traceback(exc) or "a file"
    in_cache = bool(cache_dir) and _is_within(where, str(cache_dir))
    elsewhere = f", or {_CACHE_HINT} to a directory that works" if in_cache else ""
    if _errno_in(exc, _NO_SPACE):
        return FileSystemError(f"no space left on device while writing {where}", hint=f"free space or {_CACHE_HINT}")
    if _errno_in(exc, ("EROFS",)):
        return FileSystemError(f"read-only file system: {where}", hint=f"make it writable{elsewhere}")
    if _errno_in(exc, _NOT_ALLOWED):
        return FileSystemError(f"permission denied: {where}", hint=f"make it writable for this user{elsewhere}")
    if _errno_in(exc, _KIND) and (described := _wrong_kind(exc, where)):
        return FileSystemError(described, hint=f"move it out of the way{elsewhere}")
    if exc.errno == errno.ENOENT:
        return FileSystemError(f"no such file or directory: {where}", hint="check the path")
    if exc.errno == getattr(errno, "ENOEXEC", None):
        return FileSystemError(f"{where} is not a program this system can run", hint="check the path")
    reason = (exc.strerror or type(exc).__name__).lower()
    return FileSystemError(f"{reason}: {where}", hint="check the path and try again")


def _is_within(path: str, directory: str) -> bool:
    from pathlib import Path

    try:
        return Path(path).resolve().is_relative_to(Path(directory).resolve())
    except (OSError, ValueError):
        return False


def _file_in_traceback(exc: BaseException) -> str | None:
    """The name of the file open for writing in the innermost frame of ``exc``'s traceback
    that has one: ``handle.write()`` failing on a full disk raises an OSError naming no file."""
    import io
    import traceback

    frames = [frame for frame, _line in traceback.walk_tb(exc.__traceback__)]
    for frame in reversed(frames):
        for value in frame.f_locals.values():
            name, mode = getattr(value, "name", None), getattr(value, "mode", "")
            if isinstance(value, io.IOBase) and isinstance(name, str) and any(c in str(mode) for c in "wax+"):
                return name
    return None


def _written_path(exc: OSError) -> str | None:
    """The path an OSError is about: the destination of a copy or rename (``filename2``)
    when the disk is full, else ``filename``."""
    names = (exc.filename2, exc.filename) if _errno_in(exc, _NO_SPACE) else (exc.filename, exc.filename2)
    for name in names:
        if isinstance(name, (str, bytes)) or hasattr(name, "__fspath__"):
            import os

            return os.fsdecode(name)
    return None


class PluginError(PypmError):
    """A plugin failed to load, or one of its hooks stopped the run (exit code 3)."""

    exit_code = 3
