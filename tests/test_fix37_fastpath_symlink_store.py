"""``link-mode = "symlink"``: ``.venv``'s files are links into the store, so the sync stamp
records which store (pypm/operations/stamp.py) and the stamp and the no-op verdict check it
is still the directory the sync linked from (pypm/operations/venv_state.py): a cache moved,
deleted or made anew leaves dangling links that the next sync installs again."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pypm.interpreter import venv_python
from pypm.testing import DistSpec
from tests.workspaces import write_project

UP_TO_DATE = "All up to date"


@pytest.mark.parametrize("change", ["moved", "deleted", "made anew"])
def test_store_of_a_symlinked_venv_gone_makes_it_stale(
        tmp_path: Path, make_index, run_pypm, pypm_env, change: str) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    root = write_project(tmp_path / "p", ["alpha"], tool='link-mode = "symlink"')
    run_pypm("sync", cwd=root, env_extra=env)
    assert UP_TO_DATE in run_pypm("sync", cwd=root, env_extra=env).stderr  # the full check records
    assert UP_TO_DATE in run_pypm("sync", cwd=root, env_extra=env).stderr  # the verdict
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    if change == "moved":
        shutil.move(cache, tmp_path / "moved-cache")
        env["PYPM_CACHE_DIR"] = str(tmp_path / "moved-cache")
    else:
        shutil.rmtree(cache)
    if change == "made anew":  # another project's sync makes the store again, without alpha
        run_pypm("sync", cwd=write_project(tmp_path / "other", ["beta"], tool='link-mode = "symlink"'),
                 env_extra=env)
    result = run_pypm("sync", cwd=root, env_extra=env)
    assert UP_TO_DATE not in result.stderr
    # (with dangling links alpha is still a namespace package: its __init__.py is what goes)
    imported = subprocess.run([str(venv_python(root / ".venv")), "-c", "import alpha; print(alpha.__version__)"],
                              capture_output=True)
    assert imported.returncode == 0, imported.stderr
    assert UP_TO_DATE in run_pypm("sync", cwd=root, env_extra=env).stderr
