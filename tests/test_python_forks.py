"""Forks by Requires-Python: each Python gets the newest release it can use.

With ``requires-python = ">=3.10"`` and a dependency whose newest release needs 3.12, the
lock holds that release for 3.12+ and the newest older one for 3.10-3.11, each under a
marker; a sync on either Python installs the right one. A release with an upper bound
(``<3.12``) is not given to the Pythons above it.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import tomllib
from packaging.markers import Marker

from pypm.testing import DistSpec
from pypm.testing.builders import wheel_from_installed
from tests.test_lock_sync import installed
from tests.workspaces import write_project

PYTHONS = {minor: shutil.which(f"python3.{minor}") for minor in (10, 11, 12)}


def lock_entries(root: Path) -> dict[str, list[tuple[str, str | None]]]:
    data = tomllib.loads((root / "pylock.toml").read_text())
    entries: dict[str, list[tuple[str, str | None]]] = {}
    for package in data["packages"]:
        entries.setdefault(package["name"], []).append((package.get("version"), package.get("marker")))
    return {name: sorted(values) for name, values in entries.items()}


def fork_markers(root: Path) -> list[str]:
    """The fork markers the lock records for the next lock."""
    return tomllib.loads((root / "pylock.toml").read_text())["tool"]["pypm"].get("fork-markers", [])


def version_for(root: Path, name: str, python: str) -> list[str]:
    """The versions of ``name`` whose marker holds for ``python`` (x.y.z) on Linux."""
    env = {"python_full_version": python, "python_version": ".".join(python.split(".")[:2]),
           "sys_platform": "linux", "platform_system": "Linux", "os_name": "posix"}
    return [version for version, marker in lock_entries(root)[name] if marker is None or Marker(marker).evaluate(env)]


@pytest.fixture
def forked_index(make_index):
    return make_index([
        DistSpec("alpha", "1.0", requires_python=">=3.8"),
        DistSpec("alpha", "1.5", requires_python=">=3.9"),
        DistSpec("alpha", "2.0", requires_python=">=3.12", requires=["beta"]),
        DistSpec("beta", "1.0"),
        DistSpec("capped", "1.0", requires_python=">=3.8"),
        DistSpec("capped", "2.0", requires_python=">=3.8,<3.12"),
    ])


def test_newest_release_for_each_python(tmp_path: Path, forked_index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.10")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": forked_index.url})
    for python, expected in {"3.10.0": ["1.5"], "3.11.4": ["1.5"], "3.12.0": ["2.0"], "3.13.1": ["2.0"]}.items():
        assert version_for(root, "alpha", python) == expected, (python, lock_entries(root))
    # beta only comes with alpha 2.0, so only where alpha 2.0 is installed
    assert version_for(root, "beta", "3.12.0") == ["1.0"] and version_for(root, "beta", "3.11.0") == []


def test_upper_bound_keeps_a_release_from_the_pythons_above_it(tmp_path: Path, forked_index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["capped"], requires_python=">=3.10")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": forked_index.url})
    assert version_for(root, "capped", "3.11.0") == ["2.0"]
    assert version_for(root, "capped", "3.12.0") == ["1.0"]


def test_single_python_range_does_not_fork(tmp_path: Path, forked_index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.12")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": forked_index.url})
    assert lock_entries(root)["alpha"] == [("2.0", None)]
    assert fork_markers(root) == []


def test_relock_keeps_the_forks(tmp_path: Path, forked_index, run_pypm) -> None:
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.10")
    env = {"PYPM_INDEX_URL": forked_index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    before = (root / "pylock.toml").read_text()
    run_pypm("lock", "--upgrade", cwd=root, env_extra=env)
    assert (root / "pylock.toml").read_text() == before


@pytest.mark.parametrize("minor", [10, 11, 12])
def test_sync_installs_the_release_for_its_python(tmp_path: Path, forked_index, run_pypm, minor: int) -> None:
    python = PYTHONS[minor]
    if python is None:
        pytest.skip(f"python3.{minor} is not installed on this machine")
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.10")
    env = {"PYPM_INDEX_URL": forked_index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    run_pypm("sync", "--python", f"3.{minor}", cwd=root, env_extra=env)
    venv_python = root / ".venv" / "bin" / "python"
    code = "import importlib.metadata as m; print(m.version('alpha'))"
    out = subprocess.run([venv_python, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ("2.0" if minor >= 12 else "1.5")


@pytest.mark.parametrize("minor", [10, 11, 12])
def test_uv_installs_the_same_from_the_forked_lock(tmp_path: Path, forked_index, run_pypm, minor: int) -> None:
    """`uv pip install -r pylock.toml` picks the same entries as `pypm sync` on each Python."""
    uv = pytest.importorskip("uv")
    python = PYTHONS[minor]
    if python is None:
        pytest.skip(f"python3.{minor} is not installed on this machine")
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.10")
    with (root / "pyproject.toml").open("a") as pyproject:  # uv builds the project: give it a backend
        pyproject.write('description = "A forked project"\n\n[build-system]\nrequires = ["flit_core>=3.2"]\n'
                        'build-backend = "flit_core.buildapi"\n')
    (root / "proj.py").write_text('"""proj"""\n')
    forked_index.add(wheel_from_installed("flit_core", tmp_path))
    env = {"PYPM_INDEX_URL": forked_index.url}
    run_pypm("lock", "sync", "--python", f"3.{minor}", cwd=root, env_extra=env)
    uv_env = {"UV_CACHE_DIR": str(tmp_path / "uv-cache"), "UV_NO_CONFIG": "1", "PATH": "/usr/bin:/bin",
              "UV_PYTHON_DOWNLOADS": "never"}
    venv = tmp_path / "uv-venv"
    base = subprocess.run([root / ".venv" / "bin" / "python", "-c", "import sys; print(sys._base_executable)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([uv.find_uv_bin(), "venv", "-q", "--python", base, str(venv)], check=True, env=uv_env)
    result = subprocess.run([uv.find_uv_bin(), "pip", "install", "--python", str(venv / "bin" / "python"),
                             "--index-url", forked_index.url, "-r", str(root / "pylock.toml")],
                            capture_output=True, text=True, env=uv_env)
    assert result.returncode == 0, result.stderr
    by_uv, by_pypm = installed(venv), installed(root / ".venv")
    assert by_uv == by_pypm
    assert by_uv.get("alpha") == ("2.0" if minor >= 12 else "1.5") and ("beta" in by_uv) == (minor >= 12)


def test_conflict_inside_a_fork_names_the_fork(tmp_path: Path, make_index, run_pypm) -> None:
    """alpha 2.0 (3.12+) needs gamma>=2, which does not exist: the 3.12+ fork cannot
    resolve, and the error says which fork."""
    index = make_index([
        DistSpec("alpha", "1.0", requires_python=">=3.8"),
        DistSpec("alpha", "2.0", requires_python=">=3.12", requires=["gamma>=2"]),
        DistSpec("gamma", "1.0"),
    ])
    root = write_project(tmp_path / "p", ["alpha==2.0; python_version >= '3.12'", "alpha; python_version < '3.12'"],
                         requires_python=">=3.10")
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "gamma" in lines[0] and "in the fork where" in lines[0], result.stderr


def test_relock_after_a_change_keeps_the_forked_versions(tmp_path: Path, make_index, run_pypm) -> None:
    """Least churn with forks: after a new release, a re-lock for another reason keeps
    each fork's locked version."""
    specs = [DistSpec("alpha", "1.5", requires_python=">=3.9"),
             DistSpec("alpha", "2.0", requires_python=">=3.12"), DistSpec("beta", "1.0")]
    index = make_index(specs)
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.10")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    forks = fork_markers(root)
    assert sorted(forks) == ["python_full_version < '3.12'", "python_full_version >= '3.12'"], forks
    newer = make_index([*specs, DistSpec("alpha", "1.6", requires_python=">=3.9"),
                        DistSpec("alpha", "2.1", requires_python=">=3.12")])
    write_project(root, ["alpha", "beta"], requires_python=">=3.10")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": newer.url})
    assert version_for(root, "alpha", "3.10.0") == ["1.5"] and version_for(root, "alpha", "3.12.0") == ["2.0"]
    assert fork_markers(root) == forks
    run_pypm("lock", "--upgrade", cwd=root, env_extra={"PYPM_INDEX_URL": newer.url})
    assert version_for(root, "alpha", "3.10.0") == ["1.6"] and version_for(root, "alpha", "3.12.0") == ["2.1"]


def test_relock_keeps_forked_versions_of_a_group_only_package(tmp_path: Path, make_index, run_pypm) -> None:
    """The old lock's entries of a package only a dependency group needs carry
    ``'dev' in dependency_groups`` in their markers: a re-lock places them by the
    environment part of the marker (it once failed: the resolver evaluated the marker
    without a selection)."""
    specs = [DistSpec("alpha", "1.5", requires_python=">=3.9"),
             DistSpec("alpha", "2.0", requires_python=">=3.12"), DistSpec("beta", "1.0")]
    root = write_project(tmp_path / "p", [], requires_python=">=3.10", dev=["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": make_index(specs).url})
    assert [m for _, m in lock_entries(root)["alpha"]] == [
        "'dev' in dependency_groups and python_full_version < '3.12'",
        "'dev' in dependency_groups and python_full_version >= '3.12'"], lock_entries(root)
    newer = make_index([*specs, DistSpec("alpha", "1.6", requires_python=">=3.9"),
                        DistSpec("alpha", "2.1", requires_python=">=3.12")])
    write_project(root, ["beta"], requires_python=">=3.10", dev=["alpha"])
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": newer.url})
    assert [v for v, _ in lock_entries(root)["alpha"]] == ["1.5", "2.0"], lock_entries(root)


def test_a_version_chosen_in_several_forks_keeps_every_forks_files(tmp_path: Path, make_index, run_pypm) -> None:
    """``wheely 1.0`` serves both Python forks (split by alpha): its entry lists the wheels
    for the Pythons of each fork, not only those of the fork that locked it first."""
    wheels = [f"cp3{minor}-cp3{minor}-manylinux_2_17_x86_64" for minor in (10, 11, 12, 13)]
    index = make_index([
        DistSpec("alpha", "1.5", requires_python=">=3.9"),
        DistSpec("alpha", "2.0", requires_python=">=3.12"),
        *(DistSpec("wheely", "1.0", tag=tag) for tag in wheels),
    ])
    root = write_project(tmp_path / "p", ["alpha", "wheely"], requires_python=">=3.10")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    data = tomllib.loads((root / "pylock.toml").read_text())
    assert len(fork_markers(root)) == 2
    (entry,) = [p for p in data["packages"] if p["name"] == "wheely"]
    tags = sorted(w["name"].split("-", 2)[2].removesuffix(".whl") for w in entry["wheels"])
    assert tags == wheels, tags


def test_a_patch_level_requires_python_forks_inside_the_minor(tmp_path: Path, make_index, run_pypm) -> None:
    """beta 2.0 needs 3.11.5: 3.11.5 and later get it, 3.11.0-3.11.4 keep 1.0 (the samples
    hold only 3.11.0, so the fork [3.11.5, 3.12) is resolved for an environment made for it)."""
    index = make_index([DistSpec("beta", "1.0", requires_python=">=3.8"),
                        DistSpec("beta", "2.0", requires_python=">=3.11.5")])
    root = write_project(tmp_path / "p", ["beta"], requires_python=">=3.10")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    expected = {"3.10.9": ["1.0"], "3.11.0": ["1.0"], "3.11.4": ["1.0"], "3.11.5": ["2.0"], "3.11.14": ["2.0"],
                "3.12.0": ["2.0"], "3.14.1": ["2.0"]}
    for python, versions in expected.items():
        assert version_for(root, "beta", python) == versions, (python, lock_entries(root))


def test_a_patch_level_bound_inside_a_fork_of_one_minor_forks_it(tmp_path: Path, make_index, run_pypm) -> None:
    """alpha forks the lock at 3.11 and 3.12; inside the 3.11 fork (sampled at 3.11.0) beta
    2.0 needs 3.11.5: that fork splits again, so 3.11.5+ get beta 2.0 (as uv locks it)."""
    index = make_index([DistSpec("alpha", "1.5", requires_python=">=3.9"),
                        DistSpec("alpha", "2.0", requires_python=">=3.11"),
                        DistSpec("alpha", "3.0", requires_python=">=3.12"),
                        DistSpec("beta", "1.0", requires_python=">=3.8"),
                        DistSpec("beta", "2.0", requires_python=">=3.11.5")])
    root = write_project(tmp_path / "p", ["alpha", "beta"], requires_python=">=3.10")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    expected = {"3.10.9": ("1.5", "1.0"), "3.11.0": ("2.0", "1.0"), "3.11.4": ("2.0", "1.0"),
                "3.11.5": ("2.0", "2.0"), "3.11.14": ("2.0", "2.0"), "3.12.0": ("3.0", "2.0")}
    for python, (alpha, beta) in expected.items():
        found = (version_for(root, "alpha", python), version_for(root, "beta", python))
        assert found == ([alpha], [beta]), (python, lock_entries(root))


def test_no_requires_python_locks_for_the_python_in_use(tmp_path: Path, make_index, run_pypm) -> None:
    """No member declares requires-python: the lock is for ``>=`` the running Python's
    minor, with a warning (uv: "Defaulting to `>=3.X`"), not for every Python since 3.8,
    whose forks a package with only recent releases could not serve."""
    import sys

    index = make_index([DistSpec("recent", "1.0", requires_python=">=3.10")])
    root = tmp_path / "p"
    root.mkdir()
    (root / "pyproject.toml").write_text('[project]\nname = "p"\nversion = "1"\ndependencies = ["recent"]\n')
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    minor = f"{sys.version_info.major}.{sys.version_info.minor}"
    assert f"warning: no requires-python in the workspace: locking for >={minor}" in result.stderr, result.stderr
    lock = tomllib.loads((root / "pylock.toml").read_text())
    assert lock["requires-python"] == f">={minor}" and lock_entries(root)["recent"] == [("1.0", None)]
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
