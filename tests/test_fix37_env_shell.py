"""``pypm shell`` with a ``SHELL`` that names no program: one line blaming the variable (not
"add the package that provides it"), and for a path before any lock or sync. Real local
index, real venvs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.test_installer import project


@pytest.fixture
def root_and_env(tmp_path: Path, make_index) -> tuple[Path, dict[str, str]]:
    index = make_index([DistSpec("alpha", "1.0")])
    return project(tmp_path / "p", ["alpha"]), {"PYPM_INDEX_URL": index.url}


def test_a_shell_path_that_does_not_exist_is_the_variables_mistake(root_and_env, run_pypm) -> None:
    root, env = root_and_env
    result = run_pypm("shell", cwd=root, env_extra={**env, "SHELL": "/bin/nonexistent-zsh"}, check=False)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines == ["error: the SHELL variable names /bin/nonexistent-zsh, which is no program pypm can run "
                     "(set SHELL to the path of your shell (e.g. /bin/bash), or unset it)"], result.stderr
    assert not (root / ".venv").exists() and not (root / "pylock.toml").exists(), "checked before any work"


def test_a_shell_name_found_nowhere_is_the_variables_mistake(root_and_env, run_pypm) -> None:
    root, env = root_and_env
    result = run_pypm("shell", cwd=root, env_extra={**env, "SHELL": "nonexistent-zsh"}, check=False)
    assert result.returncode == 1, result.stderr
    assert "error: the SHELL variable names nonexistent-zsh" in result.stderr, result.stderr
    assert "add the package" not in result.stderr
