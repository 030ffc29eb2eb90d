"""Interpreter discovery skips PATH directories it cannot list."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from pypm.testing.plugin import RunPypm


def test_python_list_skips_path_directories_that_cannot_be_listed(tmp_path: Path, run_pypm: RunPypm) -> None:
    """Listing a PATH directory can fail with any OSError: PermissionError for an
    execute-only directory (``chmod 311``; root lists it anyway, so as root that entry
    fails nothing), ENAMETOOLONG for a name longer than the system takes (fails for root
    too), NotADirectoryError for a file, a dangling symlink. Each is skipped and the
    interpreter in the next directory is still found."""
    unreadable = tmp_path / "noread"
    unreadable.mkdir()
    unreadable.chmod(0o311)
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    dangling = tmp_path / "dangling"
    dangling.symlink_to(tmp_path / "missing")
    too_long = str(tmp_path / ("x" * 300))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    path = os.pathsep.join([str(unreadable), str(a_file), str(dangling), too_long, str(bin_dir)])
    version = ".".join(str(part) for part in sys.version_info[:3])
    try:
        proc = run_pypm("python", "list", cwd=tmp_path, env_extra={"PATH": path}, check=False)
    finally:
        unreadable.chmod(0o755)
    assert proc.returncode == 0, proc.stderr
    assert f"{version:<10} {bin_dir / 'python3'}" in proc.stdout
