"""A dependency whose only release is an sdist locks (PEP 517 metadata) and syncs (built wheel)."""

from __future__ import annotations

from pathlib import Path

import tomllib

from pypm.testing import DistSpec
from pypm.testing.builders import wheel_from_installed
from tests.test_lock_sync import installed
from tests.workspaces import write


def test_sdist_only_dependency_locks_and_syncs(tmp_path: Path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("beta", "1.0")], sdists=[DistSpec("onlysdist", "2.0", requires=["beta"])])
    index.add(wheel_from_installed("flit_core", tmp_path))
    project = tmp_path / "proj"
    write(project / "pyproject.toml", """
        [project]
        name = "proj"
        version = "1.0"
        requires-python = ">=3.10"
        dependencies = ["onlysdist"]
    """)
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=project, env_extra=env)
    packages = {p["name"]: p for p in tomllib.loads((project / "pylock.toml").read_text())["packages"]}
    entry = packages["onlysdist"]
    assert entry["sdist"]["name"] == "onlysdist-2.0.tar.gz"
    assert len(entry["sdist"]["hashes"]["sha256"]) == 64 and entry["sdist"]["size"] > 0
    assert "wheels" not in entry
    assert packages["beta"]["version"] == "1.0", "dependencies come from the sdist's metadata"

    run_pypm("sync", cwd=project, env_extra=env)
    assert installed(project / ".venv")["onlysdist"] == "2.0"
    out = run_pypm("run", "python", "-c", "import onlysdist; print(onlysdist.__version__)", cwd=project, env_extra=env)
    assert out.stdout.strip() == "2.0"
