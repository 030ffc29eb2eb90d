"""The pre-release policies. The default, ``if-necessary-or-explicit`` (uv's, which the shared
resolver scenarios expect): a pre-release is chosen only when every version of the package
is one or the workspace's own requirement names one; when only a pre-release would satisfy
a range, the error says how to opt in. ``if-necessary`` is PEP 440's rule: also when no
final release satisfies the requirements. ``explicit``: only when named."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from pypm.testing import DistSpec
from tests.workspaces import write, write_project


def project_with(root: Path, dependencies: list[str]) -> Path:
    return write_project(root, dependencies)


def locked(root: Path) -> dict[str, str]:
    data = tomllib.loads((root / "pylock.toml").read_text())
    return {p["name"]: p.get("version") for p in data["packages"]}


def lock(run_pypm, root: Path, index, *args: str):
    return run_pypm("lock", *args, cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)


def one_error_line(result) -> str:
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in result.stderr, result.stderr
    return lines[0]


CASES = [
    # (requirement, versions on the index, chosen version or None for "cannot lock")
    ("alpha", ["1.0b1", "1.0rc1"], "1.0rc1"),  # every version is a pre-release: the newest of them
    ("alpha>=1.0b2", ["1.0b1", "1.0rc1"], "1.0rc1"),
    ("alpha", ["1.0", "2.0b1"], "1.0"),  # a final release exists: no pre-release
    ("alpha>=1.5", ["1.0", "2.0", "2.1b1"], "2.0"),
    ("alpha<2", ["1.0", "2.0a1", "3.0"], "1.0"),  # PEP 440: <2 excludes 2.0's pre-releases
    ("alpha>=2.0b1", ["1.0", "2.0", "2.1b1"], "2.1b1"),  # named explicitly by the workspace: newest
    # Only a pre-release would satisfy, but final releases exist: no opt-in, no pre-release.
    # uv's documented if-necessary(-or-explicit), which the shared resolver scenarios expect
    # (prereleases/package-only-prereleases-in-range and the transitive-prerelease-* ones).
    ("alpha>=2", ["1.0", "2.1b1"], None),
]


@pytest.mark.parametrize(("requirement", "versions", "expected"), CASES, ids=[f"{r}:{v}" for r, v, _ in CASES])
def test_default_takes_prereleases_only_when_all_are_or_asked_for(
    tmp_path, make_index, run_pypm, requirement, versions, expected
):
    index = make_index([DistSpec("alpha", v) for v in versions])
    root = project_with(tmp_path / "p", [requirement])
    result = lock(run_pypm, root, index)
    if expected is None:
        line = one_error_line(result)
        assert "alpha" in line and "pre-release" in line, line
        return
    assert result.returncode == 0, result.stderr
    assert locked(root)["alpha"] == expected


MODE_CASES = [
    # (mode, requirement, versions on the index, chosen version or None)
    ("if-necessary", "alpha>=2", ["1.0", "2.1b1"], "2.1b1"),  # PEP 440: no final satisfies
    ("if-necessary", "alpha", ["1.0", "2.1b1"], "1.0"),  # a final satisfies: no pre-release
    ("if-necessary", "alpha", ["1.0b1", "1.0rc1"], "1.0rc1"),
    ("if-necessary", "alpha>=2.0b1", ["1.0", "2.0", "2.1b1"], "2.1b1"),
    ("explicit", "alpha>=2.0b1", ["1.0", "2.0", "2.1b1"], "2.1b1"),
    ("explicit", "alpha", ["1.0b1", "1.0rc1"], None),  # all pre-releases, none named
    ("explicit", "alpha>=2", ["1.0", "2.1b1"], None),
    ("if-necessary-or-explicit", "alpha>=2", ["1.0", "2.1b1"], None),
    ("allow", "alpha", ["1.0", "2.1b1"], "2.1b1"),
    ("disallow", "alpha", ["1.0b1", "1.0rc1"], None),
]


@pytest.mark.parametrize(("mode", "requirement", "versions", "expected"), MODE_CASES,
                         ids=[f"{m}:{r}:{v}" for m, r, v, _ in MODE_CASES])
def test_each_policy(tmp_path, make_index, run_pypm, mode, requirement, versions, expected) -> None:
    index = make_index([DistSpec("alpha", v) for v in versions])
    root = project_with(tmp_path / "p", [requirement])
    result = lock(run_pypm, root, index, "--prerelease", mode)
    if expected is None:
        assert "alpha" in one_error_line(result)
        return
    assert result.returncode == 0, result.stderr
    assert locked(root)["alpha"] == expected


def test_prerelease_setting_from_the_environment(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("alpha", "2.1b1")])
    root = project_with(tmp_path / "p", ["alpha>=2"])
    env = {"PYPM_INDEX_URL": index.url, "PYPM_PRERELEASE": "if-necessary"}
    result = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert result.returncode == 0, result.stderr
    assert locked(root)["alpha"] == "2.1b1"


def test_transitive_prerelease_needs_an_opt_in(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("beta", "1.0", requires=["alpha>=2"]), DistSpec("alpha", "1.0"),
                        DistSpec("alpha", "2.1rc1")])
    root = project_with(tmp_path / "p", ["beta"])
    assert "--prerelease if-necessary" in one_error_line(lock(run_pypm, root, index))
    assert lock(run_pypm, root, index, "--prerelease", "if-necessary").returncode == 0
    assert locked(root) == {"proj": None, "beta": "1.0", "alpha": "2.1rc1"}


def test_disallow_never_falls_back(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("alpha", "2.1b1")])
    root = project_with(tmp_path / "p", ["alpha>=2"])
    line = one_error_line(lock(run_pypm, root, index, "--prerelease", "disallow"))
    assert "'alpha'" in line and "alpha>=2" in line


def test_prerelease_below_the_bound_is_explained(tmp_path, make_index, run_pypm) -> None:
    """``alpha>=2`` with only ``2.0b1``: 2.0b1 sorts before 2.0 (PEP 440), so nothing
    satisfies it whatever the policy; the error says so and how to ask for it."""
    index = make_index([DistSpec("alpha", "2.0b1")])
    root = project_with(tmp_path / "p", ["alpha>=2"])
    line = one_error_line(lock(run_pypm, root, index))
    assert "available: 2.0b1" in line
    assert "2.0b1 is a pre-release of 2.0 and sorts before it (PEP 440)" in line and "alpha>=2.0b1" in line
    assert not (root / "pylock.toml").exists()
    write(root / "pyproject.toml", (root / "pyproject.toml").read_text().replace("alpha>=2", "alpha>=2.0b1"))
    assert lock(run_pypm, root, index).returncode == 0
    assert locked(root)["alpha"] == "2.0b1"
