"""A workspace that declares no ``requires-python`` locks for ``>=`` the Python a sync would
use (pypm/operations/default_python.py), ``.venv``'s when there is one: the no-op verdict
(pypm/graph/noop_verdict.py) observes that Python for ``lock`` too, so a ``.venv`` removed
or no longer complete is seen as the full check sees it."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from pypm.install.venv import find_base_python
from pypm.testing import DistSpec

UP_TO_DATE = "All up to date"
pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="symlinks need a privilege on Windows")


@pytest.mark.parametrize(("operation", "damage"), [
    ("lock", ".venv"), ("lock", ".venv/pyvenv.cfg"), ("sync", ".venv/pyvenv.cfg"),
    ("lock", "base"),  # the link .venv was made from is removed: .venv's interpreter dangles
])
def test_python_of_venv_sets_the_default_the_verdict_checks(
        tmp_path: Path, make_index, run_pypm, operation: str, damage: str) -> None:
    newer = find_base_python(f"3.{sys.version_info[1] + 1}")  # installed here: asserted, no silent skip
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\ndependencies = ["alpha"]\n')
    base = tmp_path / "bin/python"
    base.parent.mkdir()
    base.symlink_to(newer)
    run_pypm("sync", "--python", base, cwd=root, env_extra=env)
    newer_floor = f'requires-python = ">=3.{sys.version_info[1] + 1}"'
    assert newer_floor in (root / "pylock.toml").read_text()
    run_pypm(operation, cwd=root, env_extra=env)  # (sync: the stamp's python setting is none now)
    assert UP_TO_DATE in run_pypm(operation, cwd=root, env_extra=env).stderr  # the full check records
    assert UP_TO_DATE in run_pypm(operation, cwd=root, env_extra=env).stderr  # the verdict
    if damage == ".venv":
        shutil.rmtree(root / damage)
    else:
        (base if damage == "base" else root / damage).unlink()
    result = run_pypm(operation, cwd=root, env_extra=env)  # the default is the running Python's again
    assert UP_TO_DATE not in result.stderr
    assert f'requires-python = ">=3.{sys.version_info[1]}"' in (root / "pylock.toml").read_text()
