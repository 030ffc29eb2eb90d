"""How an operating-system error becomes the one line a user reads (``pypm.errors.os_error``),
from errors that real file operations raise."""

from __future__ import annotations

import errno
import subprocess
import sys
from pathlib import Path

import pytest

from pypm.errors import FileSystemError, os_error
from tests.robustness import fs_faults

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX errno values and RLIMIT_FSIZE")


def raised(action) -> OSError:
    with pytest.raises(OSError) as caught:
        action()
    return caught.value


def test_a_file_where_a_directory_belongs(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("x")
    exc = raised(lambda: (tmp_path / "cache").mkdir())
    expected = f"{tmp_path / 'cache'} is a file where a directory is expected: move it out of the way"
    assert os_error(exc).one_line() == expected


def test_a_file_in_the_middle_of_a_path_is_the_one_named(tmp_path: Path) -> None:
    (tmp_path / "cache").write_text("x")
    exc = raised(lambda: (tmp_path / "cache" / "pages" / "0a").mkdir(parents=True))
    line = os_error(exc, cache_dir=str(tmp_path / "cache")).one_line()
    assert line == (f"{tmp_path / 'cache'} is a file where a directory is expected: move it out of the way, "
                    "or set PYPM_CACHE_DIR to a directory that works")


def test_a_directory_where_a_file_belongs(tmp_path: Path) -> None:
    (tmp_path / "pylock.toml").mkdir()
    exc = raised(lambda: (tmp_path / "pylock.toml").open("wb"))
    assert os_error(exc).message == f"{tmp_path / 'pylock.toml'} is a directory where a file is expected"


def test_read_only_and_permission_denied_say_make_it_writable(tmp_path: Path) -> None:
    path = str(tmp_path / "x")
    read_only = os_error(OSError(errno.EROFS, "Read-only file system", path))
    denied = os_error(OSError(errno.EACCES, "Permission denied", path), cache_dir=str(tmp_path))
    assert read_only.one_line() == f"read-only file system: {path}: make it writable"
    assert denied.one_line() == (f"permission denied: {path}: make it writable for this user, "
                                 "or set PYPM_CACHE_DIR to a directory that works")


def test_a_full_disk_names_the_destination_of_a_copy(tmp_path: Path) -> None:
    exc = OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "src"), None, str(tmp_path / "dst"))
    assert os_error(exc).one_line() == (
        f"no space left on device while writing {tmp_path / 'dst'}: free space or set PYPM_CACHE_DIR")


FILL = """
import sys
from pypm.errors import os_error
def save(path, data):
    with open(path, "wb") as out:
        out.write(data)
        out.flush()
try:
    save(sys.argv[1], b"x" * (4 << 20))
except OSError as exc:
    assert exc.filename is None  # a failed write() names no file
    print(os_error(exc).one_line())
"""


def test_a_write_that_fills_the_disk_is_named_from_the_file_being_written(tmp_path: Path) -> None:
    target = tmp_path / "disk" / "big.bin"
    target.parent.mkdir()
    preexec, undo = None, None
    if fs_faults.can_mount():
        undo = fs_faults.mount_small_tmpfs(target.parent, 1 << 20)
    else:
        preexec = fs_faults.file_size_limit(1 << 20)
    try:
        proc = subprocess.run([sys.executable, "-c", FILL, str(target)], capture_output=True, text=True,
                              preexec_fn=preexec, timeout=60)
    finally:
        if undo is not None:
            undo()
    assert proc.stdout.strip() == f"no space left on device while writing {target}: free space or set PYPM_CACHE_DIR"


def test_other_errors_still_make_one_line_with_the_path(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    error = os_error(raised(lambda: loop.open("rb")))
    assert isinstance(error, FileSystemError)
    assert error.one_line() == f"too many levels of symbolic links: {loop}: check the path and try again"
