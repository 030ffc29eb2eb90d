"""A new environment's ``requires-python`` floor comes from the interpreter the ``python``
setting names (a path, a command or a version), for ``env create`` and ``add --global``
alike; real local index, real venvs, a second installed CPython."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from pypm.install.venv import find_base_python
from pypm.testing import DistSpec


def older_python() -> Path:
    """An installed CPython older than the one running the tests (asserted, no silent skip)."""
    for minor in range(sys.version_info.minor - 1, 7, -1):
        try:
            return find_base_python(f"3.{minor}")
        except Exception:  # noqa: BLE001 - not installed: try the next one
            continue
    raise AssertionError("this test needs a second, older CPython installed (pyenv or on PATH)")


@pytest.fixture
def env(tmp_path: Path, make_index) -> dict[str, str]:
    index = make_index([DistSpec("alpha", "1.0")])
    return {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(tmp_path / "cache"),
            "PYPM_ENVS_DIR": str(tmp_path / "envs")}


def venv_version(environment: Path) -> str:
    return json.loads((environment / ".venv" / ".pypm-interpreter.json").read_text())["version"]


@pytest.mark.parametrize("command", [["env", "create", "old", "alpha"], ["add", "--global", "alpha"]])
def test_a_python_path_sets_the_floor_of_a_new_environment(tmp_path, env, run_pypm, command) -> None:
    python = older_python()
    run_pypm(*command, "--python", str(python), cwd=tmp_path, env_extra=env)
    environment = tmp_path / "envs" / ("old" if "create" in command else "default")
    version = venv_version(environment)
    assert not version.startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    floor = ".".join(version.split(".")[:2])
    assert f'requires-python = ">={floor}"' in (environment / "pyproject.toml").read_text()


def test_a_python_naming_no_interpreter_creates_nothing(tmp_path, env, run_pypm) -> None:
    result = run_pypm("env", "create", "gone", "--python", str(tmp_path / "nothing" / "python3"),
                      cwd=tmp_path, env_extra=env, check=False)
    assert result.returncode != 0 and "--python" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "envs" / "gone").exists()
