"""``pypm sandbox``: a command (or the user's shell) run with ``.venv`` activated in a fresh
temporary directory that is removed afterwards, or in a directory the user names (kept);
with ``no_network`` it runs in new user and network namespaces (Linux), so it cannot
reach the network, not even 127.0.0.1 (the new namespace's loopback stays down).

Plain functions: no doit, no CLI. Only the user's command runs in the namespaces; pypm's
own work (locking, syncing) happens before, outside them.

The temporary directory is removed when the command exits, when pypm is interrupted
(Ctrl-C reaches the command, which is in pypm's foreground process group; pypm stays to
clean up) and when pypm gets SIGTERM or SIGHUP (passed on to the command; pypm waits
for it, cleans up and exits 128+N). On Windows only Ctrl-C and Ctrl-Break can be waited
out: the console delivers them to the command too, and a process ended by
``TerminateProcess`` (Windows' SIGTERM) gets no chance to clean up.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path

from pypm import ui
from pypm.errors import PypmError, UsageError
from pypm.operations.run import venv_command
from pypm.operations.supervise import Supervisor

PREFIX = "pypm-sandbox-"
CLONE_NEWUSER = 0x10000000  # <linux/sched.h>
CLONE_NEWNET = 0x40000000
#: What the namespaces' setup failed at, as the child reports it (see _isolation).
_STEPS = ("unshare", "setgroups", "uid_map", "gid_map")


class SandboxError(PypmError):
    """The sandbox could not be set up."""


def check_directory(directory: Path) -> None:
    """Refuse a ``-d DIR`` that is, or lies below, something other than a directory (a
    command-line mistake, exit 2)."""
    for path in (directory, *directory.parents):
        if path.exists() or path.is_symlink():  # the nearest that exists decides
            if not path.is_dir():
                raise UsageError(f"-d {directory}: {path} is not a directory",
                                 hint="name a directory (made when missing), or leave -d out for a temporary one")
            return


def check_network_isolation() -> None:
    """Refuse ``no_network`` where there are no Linux user and network namespaces."""
    if not sys.platform.startswith("linux"):
        raise SandboxError(f"--no-network needs Linux user and network namespaces, which {sys.platform} does not have",
                           hint="run without --no-network, or on Linux")


def run_sandboxed(venv: Path, command: list[str], directory: Path | None = None, no_network: bool = False,
                  shell: bool = False) -> int:
    """Run ``command`` with ``venv`` activated in a new temporary directory (removed
    afterwards) or in ``directory`` (made when missing, never removed); return its exit
    code (128+N when a signal N ended it, or ended pypm). ``shell``: the command is the
    user's interactive shell (said so in the start line)."""
    argv, env = venv_command(venv, command, "e.g. `pypm sandbox -- python`; without one your shell starts")
    if no_network:
        check_network_isolation()
    supervisor = Supervisor()
    with supervisor.handling_signals():  # until the sandbox is gone: a SIGTERM then still waits for it
        root, owned = _sandbox_directory(directory)
        try:
            ui.info(_start_line(root, owned, no_network, argv if shell else None, venv))
            code = supervisor.run(lambda: _start(argv, root, env, no_network))
        finally:
            if owned:
                _clean_up(root)
    return code if supervisor.fatal is None else 128 + supervisor.fatal


def _sandbox_directory(directory: Path | None) -> tuple[Path, bool]:
    """(the sandbox, whether pypm made it and so removes it)."""
    if directory is None:
        return Path(tempfile.mkdtemp(prefix=PREFIX)).resolve(), True
    check_directory(directory)
    directory.mkdir(parents=True, exist_ok=True)
    return directory.resolve(), False


def _start_line(root: Path, owned: bool, no_network: bool, shell: list[str] | None, venv: Path) -> str:
    """``Sandbox: DIR (removed on exit)``, and for a shell what starts and how to leave."""
    fate = "removed on exit" if owned else "kept"
    line = f"Sandbox: {root} ({fate}{'; no network' if no_network else ''})"
    if shell:
        line += f"; starting {shell[0]} with {venv} activated, `exit` returns"
    return line


def _start(argv: list[str], cwd: Path, env: dict[str, str], no_network: bool) -> subprocess.Popen[bytes]:
    """Start the command; with ``no_network`` in new user and network namespaces, set up in
    the child between fork and exec (a failure is reported before anything runs)."""
    if not no_network:
        return subprocess.Popen(argv, cwd=cwd, env=env)
    unshare = _unshare_function()
    report_read, report_write = os.pipe()  # the child writes "STEP ERRNO" here when setup fails
    try:
        setup = _isolation(unshare, report_write, os.geteuid(), os.getegid())
        try:
            # preexec_fn: the namespaces are the child's alone, made between fork and exec
            return subprocess.Popen(argv, cwd=cwd, env=env, preexec_fn=setup)
        except (OSError, subprocess.SubprocessError):
            os.close(report_write)
            report_write = -1
            report = os.read(report_read, 64).decode("ascii", "replace").split()
            if len(report) == 2 and report[0] in _STEPS and report[1].isdigit():
                raise _namespace_error(report[0], int(report[1])) from None
            raise
    finally:
        os.close(report_read)
        if report_write >= 0:
            os.close(report_write)


def _unshare_function() -> Callable[[int], None]:
    """``os.unshare`` (Python 3.12+), else the C library's ``unshare`` through ctypes;
    looked up before the fork, so the child only calls it."""
    if hasattr(os, "unshare"):
        return os.unshare
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    try:
        c_unshare = libc.unshare
    except AttributeError:
        raise SandboxError("--no-network needs unshare(2), which this C library does not have",
                           hint="run without --no-network") from None

    def unshare(flags: int) -> None:
        if c_unshare(flags) != 0:
            number = ctypes.get_errno()
            raise OSError(number, os.strerror(number))

    return unshare


def _isolation(unshare: Callable[[int], None], report: int, uid: int, gid: int) -> Callable[[], None]:
    """What the child runs before exec: new user and network namespaces, with the user
    (and group) mapped to itself, so files made in the sandbox keep their owner and no
    privilege is needed where the kernel allows unprivileged user namespaces."""

    def setup() -> None:
        step = "unshare"
        try:
            unshare(CLONE_NEWUSER | CLONE_NEWNET)
            step = "setgroups"  # must be denied before an unprivileged process writes gid_map
            with suppress(FileNotFoundError):  # before Linux 3.19 there is no such file
                _write_proc("/proc/self/setgroups", "deny")
            step = "uid_map"
            _write_proc("/proc/self/uid_map", f"{uid} {uid} 1")
            step = "gid_map"
            _write_proc("/proc/self/gid_map", f"{gid} {gid} 1")
        except OSError as exc:
            os.write(report, f"{step} {exc.errno or 0}".encode("ascii"))
            raise

    return setup


def _write_proc(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


def _namespace_error(step: str, number: int) -> SandboxError:
    """One line saying why the namespaces could not be made, and what to do."""
    import errno

    reason = os.strerror(number).lower()
    hint = "or run without --no-network"
    if number in (errno.EPERM, errno.EACCES):
        hint = ("allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1, "
                "kernel.apparmor_restrict_unprivileged_userns=0, or a container's seccomp profile), " + hint)
    elif number in (errno.ENOSPC, errno.EUSERS):
        hint = f"raise sysctl user.max_user_namespaces, {hint}"
    elif number == errno.EINVAL:
        hint = f"use a kernel with user and network namespaces, {hint}"
    what = "create user and network namespaces" if step == "unshare" else f"write /proc/self/{step} in them"
    return SandboxError(f"--no-network: cannot {what}: {reason}", hint=hint)


def _clean_up(root: Path) -> None:
    """Remove the sandbox pypm made; a failure is one warning (the command's exit code stays)."""
    try:
        _remove_tree(root)
    except OSError as exc:
        ui.warning(f"could not remove the sandbox {root}: {(exc.strerror or str(exc)).lower()} (remove it by hand)")


def _remove_tree(root: Path) -> None:
    """Remove ``root`` and everything in it, also what the command made read-only; a
    symbolic link is removed, never followed."""
    if root.is_symlink():  # the command replaced it with a link: remove the link only
        root.unlink()
        return
    try:
        shutil.rmtree(root)
    except OSError:
        if not root.exists():  # the command removed it itself
            return
        _make_removable(root)
        shutil.rmtree(root)


def _make_removable(root: Path) -> None:
    """Give the user full rights on every directory under ``root`` (and, on Windows, make
    read-only files writable), links excluded: their targets are not the sandbox's."""
    with suppress(OSError):
        os.chmod(root, stat.S_IRWXU)
    for parent, directories, files in os.walk(root):
        for name in [*directories, *(files if os.name == "nt" else [])]:
            path = os.path.join(parent, name)
            if not os.path.islink(path):
                with suppress(OSError):
                    os.chmod(path, stat.S_IRWXU)
