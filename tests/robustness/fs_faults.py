"""Real read-only and full filesystems for tests, with the best mechanism this machine has.

Read-only: a read-only bind mount (root with mount rights), else ``chattr -R +i`` (root
without them: the immutable flag binds root too), else ``chmod -R a-w`` (not root: then
permissions bind). Full: a small tmpfs (root with mount rights), else ``RLIMIT_FSIZE`` set
in the child process, with ``SIGXFSZ`` ignored so writes past the limit fail with EFBIG.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

Undo = Callable[[], None]


def _run(*cmd: str) -> bool:
    return subprocess.run(cmd, capture_output=True).returncode == 0


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


@cache
def can_mount() -> bool:
    """True when this process may mount (root with CAP_SYS_ADMIN, mount(8) present)."""
    if os.environ.get("PYPM_TEST_NO_MOUNT") == "1" or not _is_root() or shutil.which("mount") is None:
        return False
    probe = Path(tempfile.mkdtemp(prefix="pypm-mount-probe-"))
    try:
        if not _run("mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)):
            return False
        _run("umount", str(probe))
        return True
    finally:
        probe.rmdir()


@cache
def can_chattr() -> bool:
    """True when ``chattr +i`` works on this machine's temp filesystem (root only)."""
    if not _is_root() or shutil.which("chattr") is None:
        return False
    probe = Path(tempfile.mkdtemp(prefix="pypm-chattr-probe-"))
    try:
        if not _run("chattr", "+i", str(probe)):
            return False
        _run("chattr", "-i", str(probe))
        return True
    finally:
        probe.rmdir()


def read_only_mechanism() -> str:
    """The mechanism :func:`make_read_only` uses here: ``mount``, ``chattr`` or ``chmod``."""
    if can_mount():
        return "mount"
    if can_chattr():
        return "chattr"
    return "chmod"


def make_read_only(path: Path) -> Undo:
    """Make ``path`` (a directory) and everything under it unwritable; return the undo."""
    mechanism = read_only_mechanism()
    target = str(path)
    if mechanism == "mount":
        assert _run("mount", "--bind", target, target), f"bind mount of {target} failed"
        if not _run("mount", "-o", "remount,ro,bind", target):
            _run("umount", target)
            raise AssertionError(f"read-only remount of {target} failed")
        return lambda: _unmount(target)
    tree = [str(p) for p in [path, *path.rglob("*")] if not p.is_symlink()]  # links have no flags or modes
    if mechanism == "chattr":
        _run_checked("chattr", "+i", *tree)
        return lambda: _run_checked("chattr", "-i", *tree)
    modes = {Path(p): Path(p).stat().st_mode for p in tree}
    for p, mode in modes.items():
        p.chmod(mode & ~0o222)

    def undo() -> None:
        for p, mode in modes.items():
            p.chmod(mode)

    return undo


def _run_checked(*cmd: str) -> None:
    assert _run(*cmd), f"{' '.join(cmd)} failed"


def _unmount(target: str) -> None:
    if not _run("umount", target):
        _run_checked("umount", "-l", target)


def mount_small_tmpfs(path: Path, size_bytes: int) -> Undo:
    """Mount a tmpfs of ``size_bytes`` on the (empty) directory ``path``; return the undo."""
    path.mkdir(parents=True, exist_ok=True)
    _run_checked("mount", "-t", "tmpfs", "-o", f"size={size_bytes}", "tmpfs", str(path))
    return lambda: _unmount(str(path))


def resize_tmpfs(path: Path, size_bytes: int) -> None:
    """Give the tmpfs at ``path`` a new size (freeing space without touching its files)."""
    _run_checked("mount", "-o", f"remount,size={size_bytes}", str(path))


def fill(directory: Path, leave_bytes: int = 0) -> Path:
    """Write a filler file in ``directory`` until the filesystem is full (less ``leave_bytes``)."""
    filler = directory / "filler.bin"
    free = shutil.disk_usage(directory).free
    with filler.open("wb") as out:
        try:
            out.write(b"\0" * max(0, free - leave_bytes))
            out.flush()
        except OSError:
            pass
    return filler


def file_size_limit(limit_bytes: int) -> Callable[[], None]:
    """A ``preexec_fn`` capping every file the child writes at ``limit_bytes`` (EFBIG past it)."""
    import resource

    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, limit_bytes))

    return apply
