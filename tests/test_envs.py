"""Named shared environments (``pypm env``): real local index, real store, real venvs."""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec


@pytest.fixture
def env(tmp_path: Path, make_index) -> dict[str, str]:
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "2.0")])
    return {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(tmp_path / "cache"),
            "PYPM_ENVS_DIR": str(tmp_path / "envs")}


def site_file(envs: Path, name: str, relative: str) -> Path:
    (found,) = (envs / name / ".venv").glob(f"lib/python3*/site-packages/{relative}")
    return found


def test_two_environments_share_the_store_and_removing_one_keeps_the_other(tmp_path, env, run_pypm) -> None:
    envs = tmp_path / "envs"
    run_pypm("env", "create", "one", "alpha", cwd=tmp_path, env_extra=env)
    run_pypm("env", "create", "two", "alpha", "beta", cwd=tmp_path, env_extra=env)
    assert run_pypm("env", "list", cwd=tmp_path, env_extra=env).stdout.splitlines() == [
        f"one\t{envs / 'one'}", f"two\t{envs / 'two'}"]
    first, second = site_file(envs, "one", "alpha/__init__.py"), site_file(envs, "two", "alpha/__init__.py")
    assert first.stat().st_ino == second.stat().st_ino, "one installation, linked into both"
    assert "alpha>=1.0" in (envs / "one" / "pyproject.toml").read_text()
    run_pypm("env", "remove", "one", cwd=tmp_path, env_extra=env)
    assert not (envs / "one").exists()
    result = run_pypm("run", "--env", "two", "python", "-c", "import alpha, beta; print(alpha.__version__)",
                      cwd=tmp_path, env_extra=env)
    assert result.stdout.strip() == "1.0"


def test_add_to_a_named_and_to_the_default_environment(tmp_path, env, run_pypm) -> None:
    envs = tmp_path / "envs"
    run_pypm("env", "create", "tools", cwd=tmp_path, env_extra=env)
    added = run_pypm("add", "--env", "tools", "beta", cwd=tmp_path, env_extra=env).stderr
    assert "Added beta>=2.0 to dependencies of environment tools" in added, added
    assert "Synced environment tools: 1 installed" in added and "pylock.toml" not in added, added
    assert "beta>=2.0" in (envs / "tools" / "pyproject.toml").read_text()
    assert site_file(envs, "tools", "beta/__init__.py").is_file()
    run_pypm("add", "--global", "alpha", cwd=tmp_path, env_extra=env)
    assert "alpha>=1.0" in (envs / "default" / "pyproject.toml").read_text()
    assert run_pypm("env", "path", cwd=tmp_path, env_extra=env).stdout.strip() == str(envs / "default")
    run_pypm("remove", "--env", "tools", "beta", cwd=tmp_path, env_extra=env)
    assert not list((envs / "tools" / ".venv").glob("lib/python3*/site-packages/beta"))


@pytest.mark.parametrize(("args", "code", "fragment"), [
    (["env", "create", "bad name"], 2, "is not an environment name"),
    (["env", "remove", "missing"], 2, "no environment named 'missing'"),
    (["env", "create", "broken", "nothing-like-this"], 1, "nothing-like-this"),
    (["run", "--env", "missing", "python"], 2, "no environment named"),
    (["add", "--env", "x", "--package", "p", "alpha"], 2, "--package"),
    (["add", "--env", "x", "--group", "lint", "alpha"], 2, "cannot take --group"),
    (["remove", "--env", "x", "--optional", "fast", "alpha"], 2, "cannot take --optional"),
    (["env", "list", "--python", "3.11"], 2, "`pypm env list` takes no --python"),
])
def test_environment_mistakes_are_one_line(tmp_path, env, run_pypm, args, code, fragment) -> None:
    if "--env" in args and "missing" not in args:
        run_pypm("env", "create", "x", cwd=tmp_path, env_extra=env)
    result = run_pypm(*args, cwd=tmp_path, env_extra=env, check=False)
    assert result.returncode == code and fragment in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "envs" / "broken").exists(), "a failed create leaves nothing behind"


def test_remove_deletes_only_what_pypm_made(tmp_path, env, run_pypm) -> None:
    mine = tmp_path / "envs" / "mine"
    mine.mkdir(parents=True)
    (mine / "notes.txt").write_text("the user's own file")
    result = run_pypm("env", "remove", "mine", cwd=tmp_path, env_extra=env, check=False)
    assert result.returncode == 2 and (mine / "notes.txt").read_text() == "the user's own file"
    taken = run_pypm("env", "create", "mine", cwd=tmp_path, env_extra=env, check=False)
    assert taken.returncode == 2 and sorted(p.name for p in mine.iterdir()) == ["notes.txt"]


def test_an_environment_never_touches_the_workspace_the_variables_name(tmp_path, env, run_pypm) -> None:
    from tests.workspaces import write_project

    project = write_project(tmp_path / "proj", ["beta"])
    before = (project / "pyproject.toml").read_bytes()
    run_pypm("env", "create", "tools", "alpha", cwd=project, env_extra={**env, "PYPM_WORKSPACE_ROOT": str(project)})
    assert (project / "pyproject.toml").read_bytes() == before
    assert not (project / "pylock.toml").exists() and not (project / ".venv").exists()
    assert (tmp_path / "envs" / "tools" / "pylock.toml").is_file()


def test_env_names_are_checked_whole_and_run_no_sync_takes_no_sync_option(tmp_path, env, run_pypm) -> None:
    envs = tmp_path / "envs"
    refused = run_pypm("env", "create", "nl\n", cwd=tmp_path, env_extra=env, check=False)
    assert refused.returncode == 2 and len(refused.stderr.strip().splitlines()) == 1, refused.stderr
    assert not envs.exists() or list(envs.iterdir()) == []
    run_pypm("env", "create", "tools", cwd=tmp_path, env_extra=env)
    (envs / "bad name").mkdir()
    (envs / "bad name" / ".pypm-env").write_text("")  # not a name pypm gives: not listed, and no failure
    assert run_pypm("env", "list", cwd=tmp_path, env_extra=env).stdout.splitlines() == [f"tools\t{envs / 'tools'}"]
    marker = tmp_path / "ran"
    for option in ("--dry-run", "--reinstall", "--upgrade"):
        result = run_pypm("run", "--env", "tools", "--no-sync", option, "--", "python", "-c",
                          f"open({str(marker)!r}, 'w')", cwd=tmp_path, env_extra=env, check=False)
        assert result.returncode == 2 and f"cannot be combined with {option}" in result.stderr, result.stderr
    assert not marker.exists(), "nothing ran"
