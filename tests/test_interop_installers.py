"""pip (>= 26.1) and uv install exactly what pypm's own sync installs from a pypm lock with
extras, groups and marker-gated packages; packaging.pylock validates every lock pypm writes.

pip cannot install the lock's workspace members (PEP 751 ``directory`` entries: pip's
pylock support requires hashes, which a directory has none of), so both installers get
the lock without its member entries and pypm syncs with ``--no-install-project``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
import tomllib
from packaging.pylock import Pylock

from tests.test_lock_sync import PY310, installed
from tests.workspaces import INDEX_SPECS, make_workspace

uv = pytest.importorskip("uv")
PYTHONS = [Path(sys.executable)] + PY310[-1:]


def without_members(lock_path: Path) -> Path:
    data = tomllib.loads(lock_path.read_text())
    data["packages"] = [p for p in data["packages"] if "directory" not in p]
    target = lock_path.with_name("pylock.nomembers.toml")
    target.write_text(tomli_w.dumps(data))
    return target


def pip_version() -> tuple[int, ...]:
    import pip

    return tuple(int(part) for part in pip.__version__.split(".")[:2])


@pytest.mark.parametrize("python", PYTHONS, ids=lambda p: p.name)
def test_pip_and_uv_install_what_pypm_installs(tmp_path, make_index, run_pypm, python: Path) -> None:
    index = make_index(INDEX_SPECS)
    root = make_workspace(tmp_path / "ws")
    env = {"PYPM_INDEX_URL": index.url, "PYPM_PYTHON": str(python)}
    run_pypm("lock", "sync", "--extra", "cli", "--no-install-project", cwd=root, env_extra=env)
    Pylock.from_dict(tomllib.loads((root / "pylock.toml").read_text())).validate()
    pypm_set = installed(root / ".venv")
    assert {"alpha", "beta", "gamma", "devtool", "extrapkg"} <= set(pypm_set)
    assert ("tomli" in pypm_set) == python.name.startswith("python3.10")
    lock = without_members(root / "pylock.toml")

    if pip_version() >= (26, 1):
        pip_venv = tmp_path / "pip-venv"
        subprocess.run([str(python), "-m", "venv", "--without-pip", str(pip_venv)], check=True)
        subprocess.run(
            [sys.executable, "-m", "pip", "--python", str(pip_venv / "bin" / "python"), "install", "-q",
             "--no-cache-dir", "-r", f"{lock}[cli]"],
            check=True, capture_output=True, text=True,
        )
        assert installed(pip_venv) == pypm_set
    else:  # pragma: no cover - the test extra pins pip>=26.1
        pytest.fail("the test environment needs pip >= 26.1")

    uv_venv = tmp_path / "uv-venv"
    uv_env = {"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1", "PATH": "/usr/bin:/bin"}
    subprocess.run([uv.find_uv_bin(), "venv", "-q", "--python", str(python), str(uv_venv)], check=True, env=uv_env)
    subprocess.run(
        [uv.find_uv_bin(), "pip", "install", "-q", "--python", str(uv_venv / "bin" / "python"),
         "-r", str(lock), "--extra", "cli"],
        check=True, env=uv_env,
    )
    assert installed(uv_venv) == pypm_set
