"""PEP 751 exactness of the written lock: markers decided over every environment the lock
serves, no version on source-tree (workspace member) entries, and dependency tables that
name one package entry each when a name is locked at several versions."""

from __future__ import annotations

from pathlib import Path

import tomllib
from packaging.pylock import Pylock

from pypm.testing import DistSpec
from tests.workspaces import write_project


def lock(run_pypm, root: Path, index, *args: str) -> dict:
    """Lock ``root``; return the lock's data after checking that it is a valid PEP 751 lock."""
    run_pypm("lock", *args, cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    data = tomllib.loads((root / "pylock.toml").read_text())
    Pylock.from_dict(data).validate()
    return data


def entries(data: dict, name: str) -> list[dict]:
    return [p for p in data["packages"] if p["name"] == name]


def only(data: dict, name: str) -> dict:
    (entry,) = entries(data, name)
    return entry


def test_a_marker_every_sample_satisfies_is_kept(tmp_path, make_index, run_pypm) -> None:
    """No sampled environment is Cygwin, but the lock serves Cygwin too."""
    index = make_index([DistSpec("alpha", "1.0", requires=["gamma; sys_platform != 'cygwin'"]), DistSpec("beta", "1.0"),
                        DistSpec("gamma", "1.0")])
    root = write_project(tmp_path / "p", ["alpha", "beta; sys_platform != 'cygwin'"])
    data = lock(run_pypm, root, index)
    assert only(data, "beta")["marker"] == "sys_platform != 'cygwin'"
    assert only(data, "gamma")["marker"] == "sys_platform != 'cygwin'"
    assert "marker" not in only(data, "alpha")


def test_markers_are_simplified_against_requires_python(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec(name, "1.0") for name in ("old", "new", "linux-new", "always")])
    root = write_project(tmp_path / "p", [
        "old; python_version < '3.11'", "new; python_version >= '3.11'",
        "linux-new; python_version >= '3.9' and sys_platform == 'linux'", "always; python_full_version >= '3.10'",
    ], requires_python=">=3.10")
    data = lock(run_pypm, root, index)
    assert only(data, "old")["marker"] == "python_version < '3.11'"
    assert only(data, "new")["marker"] == "python_version >= '3.11'"
    assert only(data, "linux-new")["marker"] == "sys_platform == 'linux'", "requires-python already says >=3.9"
    assert "marker" not in only(data, "always")


def test_environment_limits_keep_rare_platforms_out(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("rare", "1.0"), DistSpec("alpha", "1.0")])
    root = write_project(tmp_path / "p", ["alpha; sys_platform == 'linux'", "rare; sys_platform == 'freebsd'"],
                         tool="environments = [\"sys_platform == 'linux'\"]")
    data = lock(run_pypm, root, index)
    assert data["environments"] == ["sys_platform == 'linux'"]
    assert not entries(data, "rare")
    assert "marker" not in only(data, "alpha"), "the lock is only used where sys_platform == 'linux'"


def test_dependencies_for_environments_no_sample_covers_are_locked(tmp_path, make_index, run_pypm) -> None:
    index = make_index([
        DistSpec("alpha", "1.0", requires=["rare; sys_platform == 'freebsd'",
                                           "pypy-only; platform_python_implementation == 'PyPy'"]),
        DistSpec("rare", "1.0"), DistSpec("pypy-only", "1.0"), DistSpec("direct", "1.0"),
    ])
    root = write_project(tmp_path / "p", ["alpha", "direct; sys_platform == 'freebsd'"])
    data = lock(run_pypm, root, index)
    assert only(data, "direct")["marker"] == "sys_platform == 'freebsd'"
    assert only(data, "rare")["marker"] == "sys_platform == 'freebsd'"
    assert only(data, "pypy-only")["marker"] == "platform_python_implementation == 'PyPy'"


def test_workspace_members_have_no_version(tmp_path, make_index, run_pypm) -> None:
    """PEP 751: the version "MUST NOT be included ... when a source tree is used"."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = write_project(tmp_path / "p", ["alpha"])
    data = lock(run_pypm, root, index)
    member = only(data, "proj")
    assert member["directory"] == {"path": ".", "editable": True}
    assert "version" not in member
    assert only(data, "alpha")["version"] == "1.0"
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert list(root.glob(".venv/lib/python3*/site-packages/proj-1.0.dist-info")), "installed with its own version"


def test_dependencies_on_a_forked_name_carry_the_version(tmp_path, make_index, run_pypm) -> None:
    """A name locked at two versions: each dependency table identifies one entry (PEP 751
    ``dependencies``: enough keys for a key-by-key match without ambiguity)."""
    index = make_index([
        DistSpec("alpha", "1.0"), DistSpec("alpha", "2.0"), DistSpec("beta", "1.0"),
        DistSpec("wrapper", "1.0", requires=["alpha", "beta"]),
    ])
    root = write_project(tmp_path / "p", ["alpha>=2; sys_platform == 'linux'", "alpha<2; sys_platform != 'linux'",
                                          "wrapper"])
    data = lock(run_pypm, root, index)
    assert sorted((p["version"], p["marker"]) for p in entries(data, "alpha")) == [
        ("1.0", "sys_platform != 'linux'"), ("2.0", "sys_platform == 'linux'")]
    both = [{"name": "alpha", "version": "1.0"}, {"name": "alpha", "version": "2.0"}]
    assert only(data, "wrapper")["dependencies"] == [*both, {"name": "beta"}]
    assert only(data, "proj")["dependencies"] == [*both, {"name": "wrapper"}]
    versions = {(p["name"], p.get("version")) for p in data["packages"]}
    for package in data["packages"]:
        for dependency in package.get("dependencies", []):
            matches = [v for n, v in versions if n == dependency["name"] and dependency.get("version", v) == v]
            assert len(matches) == 1, (package["name"], dependency)
