"""uv installs the lock pypm writes for workspace-example, and installs the same set."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from pypm.testing.builders import wheel_from_installed
from tests.test_lock_sync import installed

uv = pytest.importorskip("uv")
EXAMPLE = Path(__file__).resolve().parent.parent / "workspace-example"

# Stand-ins for the public packages workspace-example depends on (offline test).
PUBLIC_STANDINS = [
    DistSpec("attrs", "24.2.0"),
    DistSpec("idna", "3.10"),
    DistSpec("tomli", "2.2.1"),
    DistSpec("pytest", "8.3.3", requires=["iniconfig", "exceptiongroup>=1; python_version < '3.11'"]),
    DistSpec("iniconfig", "2.0.0"),
    DistSpec("exceptiongroup", "1.2.2"),
    # the rest of the example's dev group (its lint and build tasks)
    DistSpec("ruff", "0.8.0"),
    DistSpec("build", "1.2.2", requires=["packaging>=19.1", "pyproject_hooks",
                                         "tomli>=1.1.0; python_version < '3.11'"]),
    DistSpec("packaging", "24.2"),
    DistSpec("pyproject-hooks", "1.2.0"),
]


def copy_example(target: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", ".pypm", "pylock.toml", "__pycache__", ".pytest_cache", "dist")
    return Path(shutil.copytree(EXAMPLE, target, ignore=ignore))


def test_uv_installs_pypm_lock_of_workspace_example(tmp_path: Path, make_index, run_pypm) -> None:
    index = make_index(PUBLIC_STANDINS)
    index.add(wheel_from_installed("flit_core", tmp_path))  # build backend of the members
    project = copy_example(tmp_path / "example")
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", "sync", cwd=project, env_extra=env)
    pypm_set = installed(project / ".venv")

    uv_bin = uv.find_uv_bin()
    venv = tmp_path / "uv-venv"
    uv_env = {"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1", "PATH": "/usr/bin:/bin"}
    subprocess.run([uv_bin, "venv", "-q", "--python", sys.executable, str(venv)], check=True, env=uv_env)
    result = subprocess.run(
        [uv_bin, "pip", "install", "--python", str(venv / "bin" / "python"),
         "--index-url", index.url, "-r", str(project / "pylock.toml")],
        capture_output=True, text=True, env=uv_env,
    )
    assert result.returncode == 0, result.stderr
    assert installed(venv) == pypm_set
    assert {"acme-app", "acme-core", "acme-utils", "attrs", "idna", "pytest"} <= set(pypm_set)
