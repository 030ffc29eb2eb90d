"""``pypm env create NAME PATH`` refuses a path dependency as ``pypm add --env`` does (an
environment has no project directory a path could be read against); real local index."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec


@pytest.fixture
def env(tmp_path: Path, make_index) -> dict[str, str]:
    index = make_index([DistSpec("alpha", "1.0")])
    return {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(tmp_path / "cache"),
            "PYPM_ENVS_DIR": str(tmp_path / "envs")}


@pytest.mark.parametrize("relative", [True, False])
def test_env_create_refuses_a_path_dependency(tmp_path, env, run_pypm, relative) -> None:
    lib = tmp_path / "libs" / "foo"
    lib.mkdir(parents=True)
    (lib / "pyproject.toml").write_text('[project]\nname = "foo"\nversion = "1.0"\n')
    given = "./libs/foo" if relative else str(lib)
    created = run_pypm("env", "create", "t2", "alpha", given, cwd=tmp_path, env_extra=env, check=False)
    added = run_pypm("add", "--global", given, cwd=tmp_path, env_extra=env, check=False)
    for result in (created, added):
        assert result.returncode == 2, result.stderr
        assert f"an environment holds requirements only, not a path dependency such as {given}" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "envs" / "t2").exists(), "nothing is created"
