"""Workspace-scoped extras: two members may each declare an extra of the same name.

PEP 751 extras are names for the whole lock (``'cli' in extras``). When several members
declare ``cli``, the lock also offers ``<member>-cli`` for each, and each member's extra
dependencies are marked ``'cli' in extras or '<member>-cli' in extras``: ``--extra cli``
installs every member's ``cli``, ``--extra MEMBER:cli`` (or the lock's ``<member>-cli``)
only that member's.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import tomllib
from packaging.pylock import Pylock

from pypm.testing import DistSpec
from tests.workspaces import write


@pytest.fixture
def extras_index(make_index):
    return make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0"), DistSpec("gamma", "1.0"),
                       DistSpec("base", "1.0")])


def extras_workspace(root: Path, *, web_needs: str = "base") -> Path:
    """Members ``api`` (extra ``cli`` -> alpha), ``worker`` (extra ``cli`` -> beta, extra
    ``docs`` -> gamma) and ``web`` (depends on ``web_needs``)."""
    write(root / "pyproject.toml", """
        [tool.pypm.workspace]
        members = ["packages/*"]
    """)
    members = {
        "api": ("[]", 'cli = ["alpha"]'),
        "worker": ("[]", 'cli = ["beta"]\ndocs = ["gamma"]'),
        "web": (f'["{web_needs}"]', ""),
    }
    for name, (dependencies, extras) in members.items():
        text = (f'[project]\nname = "{name}"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
                f"dependencies = {dependencies}\n")
        if extras:
            text += f"\n[project.optional-dependencies]\n{extras}\n"
        (root / "packages" / name).mkdir(parents=True, exist_ok=True)
        (root / "packages" / name / "pyproject.toml").write_text(text)
    return root


def lock_of(root: Path) -> dict:
    data = tomllib.loads((root / "pylock.toml").read_text())
    Pylock.from_dict(data)  # a valid PEP 751 lock
    return data


def marker_of(data: dict, name: str) -> str | None:
    (entry,) = [p for p in data["packages"] if p["name"] == name]
    return entry.get("marker")


def installed(root: Path) -> set[str]:
    code = "import importlib.metadata as m; print('\\n'.join(d.metadata['Name'] for d in m.distributions()))"
    out = subprocess.run([root / ".venv" / "bin" / "python", "-c", code], capture_output=True, text=True, check=True)
    return {line.strip() for line in out.stdout.splitlines()} & {"alpha", "beta", "gamma", "base"}


def test_the_lock_scopes_an_extra_several_members_declare(tmp_path: Path, extras_index, run_pypm) -> None:
    root = extras_workspace(tmp_path / "ws")
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": extras_index.url})
    data = lock_of(root)
    assert data["extras"] == ["api-cli", "cli", "docs", "worker-cli"]
    assert marker_of(data, "alpha") == "('api-cli' in extras or 'cli' in extras)"
    assert marker_of(data, "beta") == "('cli' in extras or 'worker-cli' in extras)"
    assert marker_of(data, "gamma") == "'docs' in extras", "an extra one member declares keeps its plain name"


@pytest.mark.parametrize(("extras", "expected"), [
    ([], {"base"}),
    (["--extra", "cli"], {"alpha", "beta", "base"}),
    (["--extra", "api:cli"], {"alpha", "base"}),
    (["--extra", "worker:CLI"], {"beta", "base"}),
    (["--extra", "worker-cli"], {"beta", "base"}),
    (["--extra", "worker:docs"], {"gamma", "base"}),
    (["--all-extras"], {"alpha", "beta", "gamma", "base"}),
])
def test_sync_installs_the_chosen_members_extras(tmp_path: Path, extras_index, run_pypm, extras, expected) -> None:
    root = extras_workspace(tmp_path / "ws")
    run_pypm("lock", "sync", *extras, cwd=root, env_extra={"PYPM_INDEX_URL": extras_index.url})
    assert installed(root) == expected


@pytest.mark.parametrize("asked", ["api:docs", "nobody:cli", "nothing"])
def test_an_extra_no_member_has_is_a_usage_error(tmp_path: Path, extras_index, run_pypm, asked) -> None:
    root = extras_workspace(tmp_path / "ws")
    env = {"PYPM_INDEX_URL": extras_index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    result = run_pypm("sync", "--extra", asked, cwd=root, env_extra=env, check=False)
    assert result.returncode == 2, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and asked in result.stderr, result.stderr
    assert not (root / ".venv").exists()


def test_a_member_needing_another_members_extra_gets_only_that_one(tmp_path: Path, extras_index, run_pypm) -> None:
    """web depends on api[cli]: alpha is needed without any extra chosen, beta (worker's
    cli) is not."""
    root = extras_workspace(tmp_path / "ws", web_needs="api[cli]")
    run_pypm("lock", "sync", cwd=root, env_extra={"PYPM_INDEX_URL": extras_index.url})
    assert marker_of(lock_of(root), "alpha") is None
    assert installed(root) == {"alpha"}


def test_a_scoped_name_that_is_also_an_extra_is_refused(tmp_path: Path, extras_index, run_pypm) -> None:
    root = extras_workspace(tmp_path / "ws")
    pyproject = root / "packages" / "worker" / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + 'api-cli = ["gamma"]\n')
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": extras_index.url}, check=False)
    assert result.returncode == 1, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "'api-cli'" in result.stderr, result.stderr
    assert not (root / "pylock.toml").exists()
