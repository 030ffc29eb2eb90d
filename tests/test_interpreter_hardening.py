"""Interpreters as they are found on real machines: programs named like Python that are
not one, version requests with a patch release, interpreters named plain ``python``, and
a relative ``python`` setting. Each case runs pypm on real executables."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from pypm.testing import DistSpec
from tests.test_settings_override import one_error_line
from tests.workspaces import write_project


def executable(path: Path, text: str) -> Path:
    """A script at ``path`` that the system runs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


# --------------------------------------------------------------------------- 2: not a Python


def test_a_program_named_python_that_is_not_one_is_skipped_by_python_list(tmp_path, run_pypm) -> None:
    fake = executable(tmp_path / "fake" / "python3.12", "#!/bin/sh\necho garbage\n")
    executable(tmp_path / "fake" / "python3", "#!/bin/sh\nprintf '\\377\\376x'\n")
    env = {"PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    listed = run_pypm("python", "list", cwd=tmp_path, env_extra=env)
    assert str(fake.parent) not in listed.stdout and "garbage" not in listed.stdout
    assert listed.stdout.strip(), "the real interpreters are still listed"


def test_python_naming_a_program_that_is_not_python_is_one_error_line(tmp_path, make_index, run_pypm) -> None:
    root = write_project(tmp_path / "p", [])
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}
    for text in ("#!/bin/sh\nprintf '\\377\\376x'\n", "#!/bin/sh\nprintf '\\377\\376x' >&2\nexit 3\n"):
        program = executable(tmp_path / "bin" / "not-python", text)
        result = run_pypm("sync", "--python", str(program), cwd=root, env_extra=env, check=False)
        assert result.returncode == 1
        assert f"{program} is not a usable Python interpreter" in one_error_line(result)
        assert not (root / ".venv").exists()


def test_sync_choosing_a_python_for_requires_python_skips_one_that_is_not(tmp_path, make_index, run_pypm) -> None:
    fake = executable(tmp_path / "fake" / "python3.99", "#!/bin/sh\necho garbage\n")
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.12")
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url,
           "PATH": f"{fake.parent}{os.pathsep}{os.environ['PATH']}"}
    run_pypm("sync", cwd=root, env_extra=env)
    info = (root / ".venv" / ".pypm-interpreter.json").read_text()
    assert str(fake) not in info and '"version": "3.' in info
