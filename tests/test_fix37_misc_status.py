"""``pypm status`` refuses the groups and extras ``pypm sync`` refuses, with the same line."""

from __future__ import annotations

from pathlib import Path

from pypm.testing import DistSpec
from pypm.testing.plugin import MakeIndex, RunPypm
from tests.workspaces import replace_in, write_project


def test_status_refuses_an_unknown_group_or_extra_as_sync_does(tmp_path: Path, make_index: MakeIndex,
                                                               run_pypm: RunPypm) -> None:
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")]).url}
    root = write_project(tmp_path / "proj", ["alpha"], dev=["beta"])
    with (root / "pyproject.toml").open("a") as file:
        file.write('\n[project.optional-dependencies]\ncli = ["beta"]\n')
    run_pypm("lock", cwd=root, env_extra=env)
    for option in (["--extra", "nope"], ["--group", "nope"], ["--only-group", "nope"], ["--extra", "proj:nope"]):
        status = run_pypm("status", *option, cwd=root, env_extra=env, check=False)
        sync = run_pypm("sync", *option, cwd=root, env_extra=env, check=False)
        assert (status.returncode, status.stdout) == (2, ""), option
        assert status.stderr.splitlines()[-1] == sync.stderr.splitlines()[-1] and sync.returncode == 2, option
    assert not (root / ".venv").exists()
    known = run_pypm("status", "--extra", "cli", "--group", "dev", cwd=root, env_extra=env)
    assert "sync: would run" in known.stdout
    # an extra added since the lock: a sync re-locks first (fine), a frozen sync refuses it
    replace_in(root / "pyproject.toml", 'cli = ["beta"]', 'cli = ["beta"]\nnew = ["beta"]')
    assert run_pypm("status", "--extra", "new", cwd=root, env_extra=env).returncode == 0
    frozen = run_pypm("status", "--frozen", "--extra", "new", cwd=root, env_extra=env, check=False)
    frozen_sync = run_pypm("sync", "--frozen", "--extra", "new", cwd=root, env_extra=env, check=False)
    assert frozen.returncode == frozen_sync.returncode == 2
    assert frozen.stderr.splitlines()[-1] == frozen_sync.stderr.splitlines()[-1] == (
        "error: unknown extra 'new' (extras in the lock: cli)")


def test_status_frozen_on_a_malformed_lock_says_what_sync_says(tmp_path: Path, make_index: MakeIndex,
                                                                run_pypm: RunPypm) -> None:
    """A lock whose ``extras`` is not an array: one error line, as ``sync --frozen`` gives,
    not an internal error (nor the letters of a string taken as extras)."""
    env = {"PYPM_INDEX_URL": make_index([DistSpec("alpha", "1.0")]).url}
    root = write_project(tmp_path / "proj", ["alpha"])
    for extras in ("5", '"dev-tools"'):
        (root / "pylock.toml").write_text(f'lock-version = "1.0"\ncreated-by = "x"\nextras = {extras}\n')
        status = run_pypm("status", "--frozen", "--extra", "dev-tools", cwd=root, env_extra=env, check=False)
        sync = run_pypm("sync", "--frozen", "--extra", "dev-tools", cwd=root, env_extra=env, check=False)
        assert status.returncode == sync.returncode == 1, (status.stderr, sync.stderr)
        assert status.stderr.splitlines() == sync.stderr.splitlines(), extras
        assert "not a valid PEP 751 lock" in status.stderr
