"""``offline`` is honoured by ``pypm lock``: index pages, metadata, sizes and hashes come
from the cache only, and what the cache lacks is one error naming it. The index server's
request log proves that no request is made."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from pypm.testing import DistSpec, build_wheel
from tests.workspaces import write_project

OFFLINE = {"PYPM_OFFLINE": "1"}


def project_with(root: Path, dependencies: list[str]) -> Path:
    return write_project(root, dependencies)


def locked(root: Path) -> dict[str, str]:
    return {p["name"]: p.get("version") for p in tomllib.loads((root / "pylock.toml").read_text())["packages"]}


def one_error_line(result) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_offline_lock_with_an_empty_cache_fails_clearly(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url, **OFFLINE}, check=False)
    line = one_error_line(result)
    assert line.startswith("error: offline, and the index page of 'alpha' is not in the cache"), line
    assert index.url in line and "PYPM_OFFLINE" in line
    assert index.requests == [], "offline must not touch the network"
    assert not (root / "pylock.toml").exists()


@pytest.mark.parametrize("flavour", ["json", "html"])
def test_offline_relock_with_upgrade_works_from_the_cache(tmp_path, make_index, run_pypm, flavour) -> None:
    """HTML pages carry no sizes: those learned online are recalled offline too."""
    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0")], flavour=flavour)
    root = project_with(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    online = (root / "pylock.toml").read_text()
    index.add(build_wheel(DistSpec("alpha", "2.0"), tmp_path / "new"))  # unknown to the cache
    index.clear_requests()
    (root / "pylock.toml").unlink()
    run_pypm("lock", "--upgrade", cwd=root, env_extra={**env, **OFFLINE})
    assert index.requests == [], [r.path for r in index.requests]
    assert locked(root) == {"proj": None, "alpha": "1.0", "beta": "1.0"}
    assert (root / "pylock.toml").read_text() == online
    run_pypm("lock", "--upgrade", cwd=root, env_extra=env)  # online again: the new release
    assert locked(root)["alpha"] == "2.0"


def test_offline_flag_on_the_command_line(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    line = one_error_line(run_pypm("lock", "--offline", cwd=root, env_extra={"PYPM_INDEX_URL": index.url},
                                   check=False))
    assert "offline, and the index page of 'alpha' is not in the cache" in line
    assert index.requests == []


def test_offline_names_the_new_dependency_the_cache_lacks(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("gamma", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    project_with(root, ["alpha", "gamma"])
    index.clear_requests()
    line = one_error_line(run_pypm("lock", cwd=root, env_extra={**env, **OFFLINE}, check=False))
    assert "offline, and the index page of 'gamma' is not in the cache" in line
    assert index.requests == []


def test_offline_remembers_which_index_lacked_a_project(tmp_path, make_index, run_pypm) -> None:
    """``alpha`` is only on the extra index: the primary's 404 is stored, so offline knows."""
    primary = make_index([DistSpec("other", "1.0")])
    extra = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": primary.url, "PYPM_EXTRA_INDEX_URL": extra.url}
    run_pypm("lock", cwd=root, env_extra=env)
    primary.stop()
    extra.stop()
    run_pypm("lock", "--upgrade", cwd=root, env_extra={**env, **OFFLINE})
    assert locked(root)["alpha"] == "1.0"


def test_offline_upgrade_chooses_among_cached_versions(tmp_path, make_index, run_pypm) -> None:
    """Versions whose metadata the cache lacks are passed over offline, not an error."""
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("alpha", "2.0")], flavour="html",
                       metadata_files=False, support_ranges=False)
    root = project_with(tmp_path / "p", ["alpha<2"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    project_with(root, ["alpha"])  # 2.0 is now allowed, but its metadata was never read
    index.stop()
    run_pypm("lock", "--upgrade", cwd=root, env_extra={**env, **OFFLINE})
    assert locked(root)["alpha"] == "1.0"
