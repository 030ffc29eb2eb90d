"""Universal resolution, checked against what uv 0.13.9 locks for the same index: forks
do not hand their choices to one another, a release's ``Requires-Python`` splits the
Pythons whichever candidate it is, and a dependency is followed only where the path to it
can hold."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.test_python_forks import lock_entries
from tests.workspaces import write_project


def _lock(run_pypm, root: Path, url: str, *args: str) -> dict[str, list[tuple[str, str | None]]]:
    run_pypm(*(args or ("lock",)), cwd=root, env_extra={"PYPM_INDEX_URL": url})
    return lock_entries(root)


# -- 1. a fork's choices are not preferences of the forks after it --------------------

def test_a_forks_versions_are_not_preferred_in_the_next_fork(tmp_path: Path, make_index, run_pypm) -> None:
    """The win32 fork needs ``vv<2`` (through ``xx 2.0``); the other fork does not, and
    gets ``vv 2.0`` (it got 1.0: the first fork's choice was preferred in the second)."""
    index = make_index([DistSpec("xx", "1.0"), DistSpec("xx", "2.0", requires=["vv<2"]),
                        DistSpec("vv", "1.0"), DistSpec("vv", "2.0")])
    root = write_project(tmp_path / "p", ["xx>=2; sys_platform == 'win32'", "xx<2; sys_platform != 'win32'", "vv"],
                         requires_python=">=3.9")
    assert _lock(run_pypm, root, index.url)["vv"] == [("1.0", "sys_platform == 'win32'"),
                                                      ("2.0", "sys_platform != 'win32'")]


def test_adding_to_a_lock_forked_by_python_gives_each_fork_its_newest(tmp_path: Path, make_index,
                                                                    run_pypm) -> None:
    """A lock split at 3.11 (``newpkg 2.0`` needs it) resolves its recorded forks again
    after ``add newdep``: the fork below 3.11, solved first, chose ``newdep 1.0`` and the
    fork from 3.11 took that over, so 3.11+ got 1.0 where a fresh lock gives 2.0."""
    index = make_index([DistSpec("newpkg", "1.0"), DistSpec("newpkg", "2.0", requires_python=">=3.11"),
                        DistSpec("newdep", "1.0"), DistSpec("newdep", "2.0", requires_python=">=3.11")])
    root = write_project(tmp_path / "p", ["newpkg"], requires_python=">=3.9")
    _lock(run_pypm, root, index.url)
    added = _lock(run_pypm, root, index.url, "add", "--no-sync", "newdep")
    expected = [("1.0", "python_full_version < '3.11'"), ("2.0", "python_full_version >= '3.11'")]
    assert added["newdep"] == expected
    assert added["newpkg"] == expected
    fresh = write_project(tmp_path / "fresh", ["newpkg", "newdep"], requires_python=">=3.9")
    assert _lock(run_pypm, fresh, index.url) == added


def test_a_relock_of_forks_keeps_each_forks_versions(tmp_path: Path, make_index, run_pypm) -> None:
    """Least churn still holds per fork: with newer releases on the index, a re-lock keeps
    what each fork had locked (its own versions, not another fork's)."""
    specs = [DistSpec("xx", "1.0"), DistSpec("xx", "2.0", requires=["vv<2"]),
             DistSpec("vv", "1.0"), DistSpec("vv", "2.0")]
    root = write_project(tmp_path / "p", ["xx>=2; sys_platform == 'win32'", "xx<2; sys_platform != 'win32'", "vv"],
                         requires_python=">=3.9")
    before = _lock(run_pypm, root, make_index(specs).url)
    newer = make_index([*specs, DistSpec("vv", "1.5"), DistSpec("vv", "2.5"), DistSpec("xx", "1.5")])
    assert _lock(run_pypm, root, newer.url) == before
    upgraded = _lock(run_pypm, root, newer.url, "lock", "--upgrade")
    assert upgraded["vv"] == [("1.5", "sys_platform == 'win32'"), ("2.5", "sys_platform != 'win32'")]


# -- 2. a release is split by its Requires-Python whichever candidate it is ----------

def _numpy_bound_index(make_index):  # type: ignore[no-untyped-def]
    """a 3.0 needs numpy>=2; a 2.0 needs Python 3.10; a 1.0 serves every Python."""
    return make_index([DistSpec("a", "1.0"), DistSpec("a", "2.0", requires_python=">=3.10"),
                       DistSpec("a", "3.0", requires=["numpy>=2"]), DistSpec("numpy", "1.0"),
                       DistSpec("numpy", "2.0")])


def test_a_release_tried_after_a_newer_one_failed_forks_by_its_python(tmp_path: Path, make_index,
                                                                       run_pypm) -> None:
    """``a 3.0`` is ruled out by ``numpy<2``; the next, ``a 2.0``, needs 3.10: the Pythons
    from 3.10 get it (every Python got ``a 1.0``: only a first choice split the Pythons)."""
    root = write_project(tmp_path / "p", ["a", "numpy<2"], requires_python=">=3.9")
    assert _lock(run_pypm, root, _numpy_bound_index(make_index).url)["a"] == [
        ("1.0", "python_full_version < '3.10'"), ("2.0", "python_full_version >= '3.10'")]


def test_a_dependency_for_newer_pythons_gets_the_release_they_can_use(tmp_path: Path, make_index,
                                                                      run_pypm) -> None:
    """Only Python 3.12+ needs ``a``: it gets ``a 2.0`` (for 3.10+), as with uv 0.13.9."""
    root = write_project(tmp_path / "p", ["a; python_version >= '3.12'", "numpy<2"], requires_python=">=3.9")
    assert _lock(run_pypm, root, _numpy_bound_index(make_index).url)["a"] == [("2.0", "python_version >= '3.12'")]


def test_a_requires_python_only_the_metadata_gives_forks_too(tmp_path: Path, make_index, run_pypm) -> None:
    """A find-links folder says nothing of Requires-Python: the one in ``a 2.0``'s metadata,
    read when it is tried after ``a 3.0`` failed, forks the Pythons as the index's would."""
    from pypm.testing import build_wheel

    links = tmp_path / "links"
    links.mkdir()
    for spec in [DistSpec("a", "1.0"), DistSpec("a", "2.0", requires_python=">=3.10"),
                 DistSpec("a", "3.0", requires=["numpy>=2"]), DistSpec("numpy", "1.0"), DistSpec("numpy", "2.0")]:
        build_wheel(spec, links)
    root = write_project(tmp_path / "p", ["a", "numpy<2"], requires_python=">=3.9")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": make_index([]).url, "PYPM_FIND_LINKS": str(links)})
    assert lock_entries(root)["a"] == [("1.0", "python_full_version < '3.10'"),
                                       ("2.0", "python_full_version >= '3.10'")]


# -- 6. a dependency is followed only where the path to its parent can hold -----------

def _path_index(make_index):  # type: ignore[no-untyped-def]
    """x needs ``y<2`` below Python 3.11; zz needs x (everywhere)."""
    return make_index([DistSpec("x", "1.0", requires=["y<2; python_version < '3.11'"]), DistSpec("y", "1.0"),
                       DistSpec("y", "2.0"), DistSpec("zz", "1.0", requires=["x"])])


def test_a_dependency_no_path_to_its_parent_can_need_binds_nothing(tmp_path: Path, make_index, run_pypm) -> None:
    """Only 3.12+ needs x, so x's ``y<2; python_version < '3.11'`` never applies: y gets
    2.0, as with uv 0.13.9 (it got 1.0: the marker was checked against the whole lock)."""
    root = write_project(tmp_path / "p", ["x; python_version >= '3.12'", "y"], requires_python=">=3.9")
    assert _lock(run_pypm, root, _path_index(make_index).url)["y"] == [("2.0", None)]


def test_a_dependency_left_out_is_followed_once_another_path_needs_it(tmp_path: Path, make_index,
                                                                      run_pypm) -> None:
    """x is pinned for 3.12+ first; zz, pinned after it, needs x on every Python, so
    x's ``y<2`` binds on 3.9-3.10 after all: no Python gets y 2.0 with x's requirement unmet."""
    root = write_project(tmp_path / "p", ["x; python_version >= '3.12'", "y", "zz"], requires_python=">=3.9")
    entries = _lock(run_pypm, root, _path_index(make_index).url)
    assert entries["x"] == [("1.0", None)]
    assert entries["y"] == [("1.0", None)]


# -- 9. python -m pypm.scenarios reads required_environments as pypm lock does --------

def _run_scenario(text: str):  # type: ignore[no-untyped-def]
    from pypm.scenarios.model import parse_scenario
    from pypm.scenarios.runner import run_scenario

    return run_scenario(parse_scenario(text))


_WIN_ONLY = """
[packages.win-only.versions."1.0.0"]
sdist = false
wheel_tags = ["py3-none-win_amd64"]

[packages.anywhere.versions."1.0.0"]
"""


def test_a_scenarios_required_environments_do_not_limit_the_lock() -> None:
    """Linux is required, not the only environment: the Windows-only dependency is locked
    (it was left out: the required environments were taken as the lock's limits)."""
    outcome = _run_scenario("""
name = "required-env-not-a-limit"
[resolver_options]
universal = true
required_environments = ['sys_platform == "linux"']
[root]
requires = ["win-only; sys_platform == 'win32'", "anywhere"]
requires_python = ">=3.12"
[expected]
satisfiable = true
[expected.packages]
win-only = "1.0.0"
anywhere = "1.0.0"
""" + _WIN_ONLY)
    assert outcome.passed, outcome.reason


def test_a_scenarios_required_environment_without_a_file_is_unsatisfiable() -> None:
    """``win-only`` has no file for Linux, which is required: as ``pypm lock`` says, no lock
    (it passed as resolved: the required environments were never checked)."""
    outcome = _run_scenario("""
name = "required-env-missing-wheel"
[resolver_options]
universal = true
required_environments = ['sys_platform == "linux"', 'sys_platform == "win32"']
[root]
requires = ["win-only"]
requires_python = ">=3.12"
[expected]
satisfiable = false
""" + _WIN_ONLY)
    assert outcome.passed, outcome.reason


def test_a_scenario_fails_on_a_locked_package_it_does_not_expect() -> None:
    outcome = _run_scenario("""
name = "unexpected-extra-package"
[root]
requires = ["a"]
[expected]
satisfiable = true
[expected.packages]
a = "1.0.0"
[packages.a.versions."1.0.0"]
requires = ["b"]
[packages.b.versions."1.0.0"]
""")
    assert not outcome.passed
    assert outcome.reason == "expected nothing else (also locked: b==1.0.0)"


# -- 4. environments and required-environments beyond the sampled platforms -----------

def _platform_index(make_index):  # type: ignore[no-untyped-def]
    """anywhere: a pure wheel; x86only: wheels for x86-64 Linux and Windows, arm64 macOS."""
    return make_index([DistSpec("anywhere", "1.0")] + [
        DistSpec("x86only", "1.0", tag=tag)
        for tag in ("py3-none-manylinux_2_17_x86_64", "py3-none-win_amd64", "py3-none-macosx_11_0_arm64")])


@pytest.mark.parametrize("limit", ["sys_platform == 'freebsd'", "implementation_name == 'pypy'"])
def test_an_environments_limit_no_sample_is_in_is_locked_for(tmp_path: Path, make_index, run_pypm,
                                                             limit: str) -> None:
    """A lock for FreeBSD (or PyPy) only is made, as uv makes it (it failed: no sampled
    platform is in the limit, and the error said requires-python allowed no Python)."""
    root = write_project(tmp_path / "p", ["anywhere"], requires_python=">=3.9", tool=f'environments = ["{limit}"]')
    assert _lock(run_pypm, root, _platform_index(make_index).url)["anywhere"] == [("1.0", None)]


def test_a_required_environment_no_sample_is_in_is_checked(tmp_path: Path, make_index, run_pypm) -> None:
    """Windows on ARM is required and x86only has no wheel for it: the lock fails, as uv's
    (it passed with a warning that even said to set required-environments)."""
    marker = "sys_platform == 'win32' and platform_machine == 'ARM64'"
    root = write_project(tmp_path / "p", ["x86only"], requires_python=">=3.9",
                         tool=f'required-environments = ["{marker}"]')
    done = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": _platform_index(make_index).url}, check=False)
    assert done.returncode == 1, done.stderr
    assert "x86only 1.0 has no wheel or sdist for win32 ARM64" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1 and not (root / "pylock.toml").exists()


def test_a_required_environment_a_wheel_serves_locks(tmp_path: Path, make_index, run_pypm) -> None:
    """Windows on x86-64 is served by x86only's win_amd64 wheel: no error."""
    marker = "sys_platform == 'win32' and platform_machine == 'AMD64'"
    root = write_project(tmp_path / "p", ["x86only"], requires_python=">=3.9",
                         tool=f'required-environments = ["{marker}"]')
    assert _lock(run_pypm, root, _platform_index(make_index).url)["x86only"] == [("1.0", None)]


# -- 5. wheels for PyPy and musl Linux count as usable ---------------------------------

def test_a_release_with_only_pypy_wheels_is_locked_for_pypy(tmp_path: Path, make_index, run_pypm) -> None:
    """``pypyonly 1.0`` has one ``pp310-pypy310_pp73`` wheel: PyPy gets it, as from uv 0.13.9
    (0.9 was locked without a word: no sampled CPython can use the wheel)."""
    index = make_index([DistSpec("pypyonly", "0.9"),
                        DistSpec("pypyonly", "1.0", tag="pp310-pypy310_pp73-manylinux_2_17_x86_64")])
    root = write_project(tmp_path / "p", ["pypyonly; implementation_name == 'pypy'"], requires_python=">=3.9")
    assert _lock(run_pypm, root, index.url)["pypyonly"] == [("1.0", "implementation_name == 'pypy'")]


def test_a_release_with_only_musllinux_wheels_is_locked(tmp_path: Path, make_index, run_pypm) -> None:
    """A musllinux wheel installs on musl Linux, which the lock serves: the release is
    locked, as uv locks it (pypm said no usable version), with a warning for glibc Linux."""
    index = make_index([DistSpec("musl", "1.0", tag="py3-none-musllinux_1_2_x86_64")])
    root = write_project(tmp_path / "p", ["musl; sys_platform == 'linux'"], requires_python=">=3.9")
    done = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert lock_entries(root)["musl"] == [("1.0", "sys_platform == 'linux'")]
    assert "warning: musl 1.0 has no file for linux aarch64, linux x86_64" in done.stderr


def test_the_variants_a_sampled_linux_cpython_stands_for() -> None:
    from packaging.tags import parse_tag

    from pypm.resolver.environments import target_environment
    from pypm.resolver.tags import tags_mask, unsampled_variants

    (linux,) = target_environment("3.10", "linux")
    pypy, musl, pypy_musl = unsampled_variants([linux], pypy=True)
    assert unsampled_variants([linux], pypy=False) == [musl]

    def serves(tag: str, env: dict[str, str]) -> bool:
        return tags_mask(frozenset(parse_tag(tag)), [env]) != 0

    assert serves("pp310-pypy310_pp73-manylinux_2_17_x86_64", pypy)
    assert not serves("pp310-pypy310_pp73-manylinux_2_17_x86_64", linux)
    assert not serves("cp310-cp310-manylinux_2_17_x86_64", pypy)
    assert serves("pp310-none-any", pypy) and serves("py3-none-any", pypy)
    assert serves("cp310-cp310-musllinux_1_2_x86_64", musl) and not serves("cp310-cp310-musllinux_1_2_x86_64", linux)
    assert not serves("cp310-cp310-manylinux_2_17_x86_64", musl)
    assert serves("pp310-pypy310_pp73-musllinux_1_1_x86_64", pypy_musl)
