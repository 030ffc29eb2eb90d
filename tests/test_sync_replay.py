"""A copy of a project (or the project after ``rm -rf .venv``) gets its ``.venv`` made from
the recipe a full sync left in the cache (pypm.graph.sync_replay): the same environment a
full sync makes at that place, byte for byte; and no recipe is used where anything it
depended on differs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pypm.graph.replay_build import STAMP_FILE as BUILD_STAMP_FILE
from pypm.graph.sync_replay import BUILDING_MARKER, BUILDING_PREFIX, KEPT_RECIPES, RECIPES
from pypm.operations.stamp import STAMP_FILE
from pypm.store.layout import CACHE_DIRS, SYNC_REPLAYS

pytestmark = pytest.mark.skipif(os.name != "posix", reason="recipes are recorded on POSIX only")

REPLAY = "import sys; from pypm.graph.sync_replay import replay_sync; sys.exit(0 if replay_sync(True) else 3)"


def _copy(root: Path, target: Path) -> Path:
    shutil.copytree(root, target, ignore=shutil.ignore_patterns(".venv", ".pypm"))
    return target


def _replayed(root: Path, pypm_env: dict[str, str], env: dict[str, str]) -> bool:
    """Whether the replay alone (no full sync behind it) made ``.venv``."""
    done = subprocess.run([sys.executable, "-c", REPLAY], cwd=root, env={**pypm_env, **env}, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode in (0, 3), done.stderr
    return done.returncode == 0


def _tree(venv: Path) -> dict[str, tuple[object, ...]]:
    """Every path of ``venv``: kind, mode, link target or bytes, and whether it is a hard
    link (from the store); the stamp parsed, without the inodes and mtimes it records."""
    found: dict[str, tuple[object, ...]] = {}
    for here, dirs, files in os.walk(venv):
        for name in [*dirs, *files]:
            path = Path(here, name)
            info = path.lstat()
            relative = path.relative_to(venv).as_posix()
            if path.is_symlink():
                found[relative] = ("symlink", os.readlink(path))
            elif path.is_dir():
                found[relative] = ("dir", info.st_mode)
            elif relative == STAMP_FILE:
                stamp = json.loads(path.read_text("utf-8"))
                found[relative] = ("stamp", stamp["inputs"], stamp["interpreter"], sorted(stamp["environment"]),
                                   stamp["merkle-root"])
            else:
                found[relative] = ("file", info.st_mode, info.st_nlink > 1, path.read_bytes())
    return found


@pytest.fixture
def recorded(synced_workspace: Path, workspace_env: dict[str, str], pypm_env: dict[str, str], run_pypm) -> Path:
    """The synced workspace whose ``.venv`` a plain ``pypm sync`` made afresh (the recipe)."""
    shutil.rmtree(synced_workspace / ".venv")
    run_pypm("sync", cwd=synced_workspace, env_extra=workspace_env)
    assert list((Path(pypm_env["PYPM_CACHE_DIR"]) / RECIPES).glob("*.marshal")), "the full sync kept a recipe"
    return synced_workspace


def test_a_copy_gets_the_environment_a_full_sync_makes_there(
    recorded: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str], run_pypm
) -> None:
    copy = _copy(recorded, tmp_path / "copy")
    assert _replayed(copy, pypm_env, workspace_env)
    replayed = _tree(copy / ".venv")
    assert "All up to date" in run_pypm("lock", "sync", cwd=copy, env_extra=workspace_env).stderr
    assert "no differences" in run_pypm("verify", cwd=copy, env_extra=workspace_env).stderr
    hello = subprocess.run([str(copy / ".venv/bin/app-hello")], capture_output=True, text=True, check=True)
    assert hello.stdout.strip(), "the entry point script runs with the copy's interpreter"
    lib = subprocess.run([str(copy / ".venv/bin/python"), "-c", "import lib, sys; sys.stdout.write(lib.__file__)"],
                         capture_output=True, text=True, check=True, cwd=tmp_path)
    assert lib.stdout == str(copy / "packages/lib/src/lib/__init__.py")
    shutil.rmtree(copy / ".venv")
    run_pypm("sync", "-v", cwd=copy, env_extra=workspace_env)  # an option: the full sync, never a replay
    assert _tree(copy / ".venv") == replayed


def test_the_fast_path_replays_and_says_what_a_sync_says(
    recorded: Path, tmp_path: Path, workspace_env: dict[str, str], run_pypm
) -> None:
    copy = _copy(recorded, tmp_path / "copy")
    done = run_pypm("sync", cwd=copy, env_extra={**workspace_env, "PYTHONPROFILEIMPORTTIME": "1"})
    assert "pypm.graph.replay_build" in done.stderr
    assert "pypm.operations.sync" not in done.stderr, "no full sync ran"
    assert "Synced .venv: " in done.stderr
    assert (copy / ".pypm/direct-runs").read_text() == "sync\n", "noted as a sync, as the full run notes it"


def test_the_copy_is_registered_as_linking_its_store_entries(
    recorded: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str]
) -> None:
    copy = _copy(recorded, tmp_path / "copy")
    assert _replayed(copy, pypm_env, workspace_env)
    store = Path(pypm_env["PYPM_CACHE_DIR"]) / "store-v1"
    targets = {os.readlink(link) for link in store.glob("*/*.links/*")}
    pointers = {str(p) for p in (copy / ".venv").glob("lib/*/site-packages/*.dist-info/pypm-store.json")}
    assert pointers and pointers <= targets


def test_a_changed_store_file_leaves_the_work_to_the_full_sync(
    recorded: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str], run_pypm
) -> None:
    installed = next((recorded / ".venv").glob("lib/*/site-packages/alpha/__init__.py"))
    os.utime(installed, ns=(1, 1))  # the store file (a hard link of it) now differs from its manifest
    copy = _copy(recorded, tmp_path / "copy")
    assert not _replayed(copy, pypm_env, workspace_env)
    assert not (copy / ".venv").exists()
    assert not list(copy.glob(f"{BUILDING_PREFIX}*")), "its half-built directory is gone"
    run_pypm("sync", cwd=copy, env_extra=workspace_env)
    assert "no differences" in run_pypm("verify", cwd=copy, env_extra=workspace_env).stderr


def test_a_changed_member_or_a_workspace_above_means_no_replay(
    recorded: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str]
) -> None:
    edited = _copy(recorded, tmp_path / "edited")
    with (edited / "packages/lib/pyproject.toml").open("a") as file:
        file.write("# a comment changes the file\n")
    assert not _replayed(edited, pypm_env, workspace_env)
    outer = tmp_path / "outer"
    (outer).mkdir()
    (outer / "pyproject.toml").write_text("[project]\nname = 'outer'\nversion = '1'\n")
    inner = _copy(recorded, outer / "inner")
    assert not _replayed(inner, pypm_env, workspace_env)
    assert _replayed(_copy(recorded, tmp_path / "plain"), pypm_env, workspace_env), "the same copy elsewhere replays"


def test_an_existing_venv_is_never_replaced(
    recorded: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str]
) -> None:
    copy = _copy(recorded, tmp_path / "copy")
    (copy / ".venv").mkdir()
    (copy / ".venv/mine.txt").write_text("the user's")
    assert not _replayed(copy, pypm_env, workspace_env)
    assert (copy / ".venv/mine.txt").read_text() == "the user's"


def test_an_unfinished_replay_is_removed_and_nothing_else(
    recorded: Path, tmp_path: Path, workspace_env: dict[str, str], run_pypm
) -> None:
    copy = _copy(recorded, tmp_path / "copy")
    killed = copy / f"{BUILDING_PREFIX}12345"
    (killed / "lib").mkdir(parents=True)
    (killed / BUILDING_MARKER).write_bytes(b"")
    unmarked = copy / f"{BUILDING_PREFIX}999"
    unmarked.mkdir()
    (unmarked / "keep.txt").write_text("not pypm's")
    run_pypm("sync", cwd=copy, env_extra=workspace_env)
    assert not killed.exists(), "a killed replay's directory (its marker inside) is removed under the graph lock"
    assert (unmarked / "keep.txt").read_text() == "not pypm's"
    assert not (copy / ".venv" / BUILDING_MARKER).exists()


def test_no_recipe_where_settings_live_in_the_project(
    synced_workspace: Path, workspace_env: dict[str, str], pypm_env: dict[str, str], run_pypm
) -> None:
    pyproject = synced_workspace / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.pypm]\nlink-mode = "hardlink"\n')
    run_pypm("lock", cwd=synced_workspace, env_extra=workspace_env)
    shutil.rmtree(synced_workspace / ".venv")
    run_pypm("sync", cwd=synced_workspace, env_extra=workspace_env)
    assert not list((Path(pypm_env["PYPM_CACHE_DIR"]) / RECIPES).glob("*.marshal"))


def test_the_names_kept_twice_agree() -> None:
    assert BUILD_STAMP_FILE == STAMP_FILE
    assert RECIPES == SYNC_REPLAYS
    assert SYNC_REPLAYS in CACHE_DIRS, "cache clean removes the recipes"


def test_only_the_most_recent_recipes_are_kept(
    recorded: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str], run_pypm
) -> None:
    recipes = Path(pypm_env["PYPM_CACHE_DIR"]) / RECIPES
    for index in range(KEPT_RECIPES + 2):  # each settings variable value is another recipe
        shutil.rmtree(recorded / ".venv")
        run_pypm("sync", cwd=recorded, env_extra={**workspace_env, "PYPM_UNUSED_MARK": str(index)})
    assert len(list(recipes.glob("*.marshal"))) == KEPT_RECIPES
