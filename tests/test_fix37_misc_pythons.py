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


def test_python_list_reports_a_broken_pyproject(tmp_path: Path, run_pypm: RunPypm) -> None:
    """Invalid TOML, an invalid requires-python and a bad [tool.pypm] setting are one error
    line each (exit 1), as for other commands; a pyproject.toml for other tools only, or
    none, lists every interpreter, and a project marks those its requires-python allows."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(sys.executable)
    env = {"PATH": str(bin_dir), "HOME": str(tmp_path / "home"), "PYENV_ROOT": str(tmp_path / "pyenv")}
    version = ".".join(str(part) for part in sys.version_info[:3])
    project = '[project]\nname = "x"\nversion = "1"\n'
    broken = {
        "toml": ("[project\n", "invalid TOML"),
        "requires-python": (project + 'requires-python = ">=3.x"\n', "'>=3.x' is not a version specifier"),
        "setting": (project + "[tool.pypm]\nindex-url = 5\n", "setting 'index-url' must be a non-empty string"),
    }
    for name, (text, message) in broken.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyproject.toml").write_text(text)
        proc = run_pypm("python", "list", cwd=tmp_path / name, env_extra=env, check=False)
        assert (proc.returncode, proc.stdout) == (1, ""), name
        assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("error: ") and message in proc.stderr
    fitting = f"* {version:<10} {bin_dir / 'python3'}"
    for name, text, line in (("tools-only", "[tool.black]\nline-length = 100\n", fitting),
                             ("fits", project + f'requires-python = ">={version}"\n', fitting),
                             ("needs-4", project + 'requires-python = ">=4"\n', "  " + fitting[2:])):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyproject.toml").write_text(text)
        proc = run_pypm("python", "list", cwd=tmp_path / name, env_extra=env)
        assert proc.stdout.splitlines() == [line], name
