"""Interpreters as they are found on real machines: programs named like Python that are
not one, version requests with a patch release, interpreters named plain ``python``, and
a relative ``python`` setting. Each case runs pypm on real executables."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from pypm.install.venv import find_base_python
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


# --------------------------------------------------------------------------- 3: version requests


def other_python() -> tuple[Path, str]:
    """An installed interpreter that is not the running one (pyenv or PATH: asserted, no
    silent skip), and its full version."""
    minor = sys.version_info[1] + 1
    path = find_base_python(f"3.{minor}")
    version = subprocess.run([str(path), "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    return path, version


def venv_python_version(root: Path) -> str:
    return json.loads((root / ".venv" / ".pypm-interpreter.json").read_text())["version"]


def test_a_full_version_matches_an_interpreter_named_plain_python(tmp_path, make_index, run_pypm) -> None:
    """``--python X.Y.Z`` (pypm's own hint suggests it) finds an interpreter named ``python``
    (a python.org install on Windows is python.exe) whose version it is; no ``pythonX.Y``
    is on PATH and no version manager's directory is there to find it by name."""
    base, version = other_python()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").symlink_to(base)
    root = write_project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url, "HOME": str(tmp_path / "home"),
           "PYENV_ROOT": str(tmp_path / "no-pyenv"), "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])}
    run_pypm("sync", "--python", version, cwd=root, env_extra=env)
    assert venv_python_version(root) == version
    assert "All up to date" in run_pypm("sync", "--python", version, cwd=root, env_extra=env).stderr
    (bin_dir / f"python{version.rsplit('.', 1)[0]}").symlink_to(base)  # named, but not that patch release
    missing = version.rsplit(".", 1)[0] + ".99"
    line = one_error_line(run_pypm("sync", "--python", missing, cwd=root, env_extra=env, check=False))
    assert f"no Python interpreter found for {missing!r}" in line
    assert venv_python_version(root) == version


def test_a_python_version_file_with_a_patch_release_finds_the_pyenv_install(tmp_path, make_index, run_pypm) -> None:
    """``pyenv local`` writes ``3.12.1`` into ``.python-version``: the pyenv directory of
    that version is found by its name, although ``python3.12`` is not on PATH."""
    base, version = other_python()
    if base.parent.parent.parent.name != "versions":
        pytest.fail(f"{base} is not a pyenv install; this test needs one")
    root = write_project(tmp_path / "p", ["alpha"])
    (root / ".python-version").write_text(f"{version}\n")
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url,
           "PYENV_ROOT": str(base.parent.parent.parent.parent), "PATH": os.pathsep.join(["/usr/bin", "/bin"])}
    run_pypm("sync", cwd=root, env_extra=env)
    assert venv_python_version(root) == version


@pytest.mark.parametrize("request_", ["3.14rc1", "3.13.0rc2", "3.12+debug", "3.13d"])
def test_a_version_form_pypm_does_not_match_is_refused_where_an_interpreter_is_needed(tmp_path, make_index, run_pypm,
                                                                                        request_) -> None:
    """A pre-release or debug request (as ``pyenv local`` may write it) is refused by the
    sync that looks for an interpreter, with one line; a lock, which needs none, is made."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = write_project(tmp_path / "p", ["alpha"])
    (root / ".python-version").write_text(f"{request_}\n")
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    result = run_pypm("sync", cwd=root, env_extra=env, check=False)
    assert result.returncode == 1
    line = one_error_line(result)
    assert f"Python {request_!r}: pypm matches versions such as 3.13 or 3.13.1 (and 3.13t)" in line, line


def test_a_free_threaded_request_finds_its_command(tmp_path, make_index, run_pypm) -> None:
    """``3.13t`` (what ``pyenv local 3.13t`` writes) is the command ``python3.13t``, as
    python.org names the free-threaded build; it was refused whatever the command (lock too)."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.10")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    (bin_dir / f"python{minor}t").symlink_to(Path(sys.executable).resolve())  # stands in for the build
    (root / ".python-version").write_text(f"{minor}t\n")
    env = {"PYPM_INDEX_URL": index.url, "PATH": os.pathsep.join([str(bin_dir), "/usr/bin", "/bin"])}
    run_pypm("sync", cwd=root, env_extra=env)
    assert venv_python_version(root).startswith(minor)


# --------------------------------------------------------------------------- 9: a relative path in a file


def test_a_relative_python_in_the_project_file_is_read_from_that_file(tmp_path, make_index, run_pypm) -> None:
    """``python = "tools/python"`` in ``[tool.pypm]`` names ``<project>/tools/python`` from a
    subdirectory and with ``--project`` too (as ``find-links`` is anchored); the venv
    records it as an absolute path."""
    base, version = other_python()
    root = write_project(tmp_path / "p", ["alpha"], tool='python = "tools/python"')
    (root / "tools").mkdir()
    (root / "tools" / "python").symlink_to(base)
    (root / "src").mkdir()
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}
    run_pypm("sync", cwd=root / "src", env_extra=env)
    assert venv_python_version(root) == version
    info = json.loads((root / ".venv" / ".pypm-interpreter.json").read_text())
    assert info["base"] == str(root / "tools" / "python")
    assert "All up to date" in run_pypm("--project", "p", "sync", cwd=tmp_path, env_extra=env).stderr
    assert "All up to date" in run_pypm("sync", cwd=root, env_extra=env).stderr
