"""``--frozen``/``--locked`` for named environments and PEP 723 scripts: the lock is
installed as it is and never written (uv's flags); real local index, real venvs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec

SCRIPT = '''# /// script
# dependencies = ["alpha"]
# ///
import alpha

print("alpha", alpha.__version__)
'''


@pytest.fixture
def env(tmp_path: Path, make_index) -> dict[str, str]:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "2.0")])
    return {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(tmp_path / "cache"),
            "PYPM_ENVS_DIR": str(tmp_path / "envs")}


def stale_tools(tmp_path: Path, env: dict[str, str], run_pypm) -> Path:
    """Environment ``tools`` (alpha) whose pyproject.toml now also asks for beta."""
    run_pypm("env", "create", "tools", "alpha", cwd=tmp_path, env_extra=env)
    pyproject = tmp_path / "envs" / "tools" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace('"alpha>=1.0"', '"alpha>=1.0", "beta"'))
    return tmp_path / "envs" / "tools" / "pylock.toml"


IMPORTS = ("python", "-c", "import alpha, importlib.util as u; print(u.find_spec('beta') is None)")


@pytest.mark.parametrize("command", [["run", "--env", "tools", "--frozen", *IMPORTS],
                                     ["shell", "--env", "tools", "--frozen"]])
def test_frozen_installs_an_environment_lock_as_it_is(tmp_path, env, run_pypm, command) -> None:
    lock = stale_tools(tmp_path, env, run_pypm)
    before = lock.read_bytes()
    shell = tmp_path / "fakeshell"
    shell.write_text("#!/bin/sh\nexec python -c \"import alpha, importlib.util as u; "
                     "print(u.find_spec('beta') is None)\"\n")
    shell.chmod(0o755)
    result = run_pypm(*command, cwd=tmp_path, env_extra={**env, "SHELL": str(shell)})
    assert lock.read_bytes() == before, "--frozen never writes the lock"
    assert result.stdout.strip().splitlines()[-1] == "True", "the lock as it was: no beta"


def test_locked_refuses_a_stale_environment_lock(tmp_path, env, run_pypm) -> None:
    lock = stale_tools(tmp_path, env, run_pypm)
    before = lock.read_bytes()
    result = run_pypm("run", "--env", "tools", "--locked", *IMPORTS, cwd=tmp_path, env_extra=env, check=False)
    assert result.returncode == 1 and "out of date" in result.stderr, result.stderr
    assert lock.read_bytes() == before
    # it names the environment's lock and a way out: `pypm lock` would lock another project
    line = result.stderr.strip().splitlines()[-1]
    assert f"{lock} (environment tools)" in line and "without --locked" in line and "`pypm lock`" not in line


def write_locked_script(tmp_path: Path, env: dict[str, str], run_pypm) -> Path:
    """``s.py`` with ``s.py.lock`` (alpha), then its block also asks for beta."""
    script = tmp_path / "s.py"
    script.write_text(SCRIPT)
    run_pypm("lock", "--script", "s.py", cwd=tmp_path, env_extra=env)
    script.write_text(SCRIPT.replace('["alpha"]', '["alpha", "beta"]'))
    return tmp_path / "s.py.lock"


def test_frozen_runs_a_script_from_its_lock_as_it_is(tmp_path, env, run_pypm) -> None:
    lock = write_locked_script(tmp_path, env, run_pypm)
    before = lock.read_bytes()
    result = run_pypm("run", "--frozen", "s.py", cwd=tmp_path, env_extra=env)
    assert result.stdout.strip() == "alpha 1.0"
    assert lock.read_bytes() == before, "--frozen never writes the script's lock"


def test_locked_refuses_a_stale_script_lock_and_ignores_a_missing_one(tmp_path, env, run_pypm) -> None:
    lock = write_locked_script(tmp_path, env, run_pypm)
    before = lock.read_bytes()
    result = run_pypm("run", "--locked", "s.py", cwd=tmp_path, env_extra=env, check=False)
    assert result.returncode == 1 and "s.py.lock is out of date" in result.stderr, result.stderr
    assert lock.read_bytes() == before
    lock.unlink()
    result = run_pypm("run", "--locked", "s.py", cwd=tmp_path, env_extra=env)
    assert result.stdout.strip() == "alpha 1.0" and "--locked is ignored" in result.stderr, result.stderr
    assert not lock.exists()
