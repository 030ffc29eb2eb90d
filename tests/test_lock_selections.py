"""What a lock selects, recorded by the lock's sha256 (:mod:`pypm.lock.selections`): a
later sync of the same bytes reads it back instead of validating and selecting again."""

from __future__ import annotations

import hashlib
import json
import shutil
from datetime import datetime, timezone
from pathlib import Path

import pytest
import tomli_w
import tomllib
from packaging.pylock import PackageDirectory, PackageSdist, PackageVcs, PackageWheel

from pypm.lock.selections import SelectionRecord, read_record, selection_key, write_record
from pypm.store.layout import LOCK_SELECTIONS
from pypm.testing.plugin import RunPypm
from tests.test_lock_sync import installed
from tests.workspaces import write_project


def record_path(cache: Path, root: Path) -> Path:
    """Where the record of ``root``'s lock is kept."""
    return cache / LOCK_SELECTIONS / f"{hashlib.sha256((root / 'pylock.toml').read_bytes()).hexdigest()}.json"


def new_copy(root: Path, where: Path) -> Path:
    """A second checkout of the project: its pyproject and lock, no .venv."""
    where.mkdir()
    for name in ("pyproject.toml", "pylock.toml"):
        shutil.copy(root / name, where / name)
    return where


@pytest.fixture
def synced(tmp_path: Path, workspace_env: dict[str, str], run_pypm: RunPypm) -> Path:
    """A project needing alpha 2 (so beta too) and gamma, locked and synced once."""
    root = write_project(tmp_path / "first", ["alpha>=2", "gamma"])
    run_pypm("lock", "sync", cwd=root, env_extra=workspace_env)
    return root


def test_a_sync_records_what_the_lock_selects(synced: Path, pypm_env: dict[str, str]) -> None:
    record = json.loads(record_path(Path(pypm_env["PYPM_CACHE_DIR"]), synced).read_text())
    assert record["sha256"] == hashlib.sha256((synced / "pylock.toml").read_bytes()).hexdigest()
    assert record["requires-python"] == ">=3.11"
    [chosen] = record["selections"].values()
    assert sorted((c["name"], c["version"], c["kind"]) for c in chosen) == [
        ("alpha", "2.0", "wheel"), ("beta", "1.1", "wheel"), ("gamma", "1.0", "wheel"), ("proj", "None", "directory")]


def test_a_new_copy_installs_the_recorded_selection(
        synced: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str],
        run_pypm: RunPypm) -> None:
    """The record is what the next sync of those bytes installs (shown by taking gamma out
    of it), and a lock with other bytes is selected afresh."""
    path = record_path(Path(pypm_env["PYPM_CACHE_DIR"]), synced)
    record = json.loads(path.read_text())
    [key] = record["selections"]
    record["selections"][key] = [c for c in record["selections"][key] if c["name"] != "gamma"]
    path.write_text(json.dumps(record))
    copy = new_copy(synced, tmp_path / "second")
    run_pypm("sync", "--frozen", cwd=copy, env_extra=workspace_env)
    assert installed(copy / ".venv") == {"alpha": "2.0", "beta": "1.1", "proj": "1.0"}
    edited = new_copy(synced, tmp_path / "third")
    with (edited / "pylock.toml").open("a") as lock:
        lock.write("\n# a comment makes other bytes\n")
    run_pypm("sync", "--frozen", cwd=edited, env_extra=workspace_env)
    assert installed(edited / ".venv") == {"alpha": "2.0", "beta": "1.1", "gamma": "1.0", "proj": "1.0"}


def test_a_damaged_record_is_selected_afresh(
        synced: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str],
        run_pypm: RunPypm) -> None:
    path = record_path(Path(pypm_env["PYPM_CACHE_DIR"]), synced)
    record = json.loads(path.read_text())
    [key] = record["selections"]
    record["selections"][key] = [{"name": "alpha", "kind": "wheel"}]  # no version, no fields
    path.write_text(json.dumps(record))
    copy = new_copy(synced, tmp_path / "second")
    run_pypm("sync", "--frozen", cwd=copy, env_extra=workspace_env)
    assert installed(copy / ".venv") == {"alpha": "2.0", "beta": "1.1", "gamma": "1.0", "proj": "1.0"}
    path.write_text("{not json")
    copy = new_copy(synced, tmp_path / "third")
    run_pypm("sync", "--frozen", cwd=copy, env_extra=workspace_env)
    assert installed(copy / ".venv") == {"alpha": "2.0", "beta": "1.1", "gamma": "1.0", "proj": "1.0"}


def test_a_record_gives_back_the_sources_it_was_given(tmp_path: Path) -> None:
    uploaded = datetime(2026, 11, 1, 12, 30, tzinfo=timezone.utc)
    chosen = [
        ("alpha", "2.0", PackageWheel(name="alpha-2.0-py3-none-any.whl", url="https://x/alpha-2.0-py3-none-any.whl",
                                      size=10, upload_time=uploaded, hashes={"sha256": "a" * 64})),
        ("beta", "1.1", PackageSdist(path="dists/beta-1.1.tar.gz", hashes={"sha256": "b" * 64})),
        ("proj", "None", PackageDirectory(path=".", editable=True)),
    ]
    record = SelectionRecord("c" * 64, ">=3.11")
    key = selection_key({"python_version": "3.12"}, ["cp312-cp312-linux_x86_64"], {"groups": []})
    record.add(key, chosen)
    write_record(tmp_path, record)
    found = read_record(tmp_path, "c" * 64)
    assert found is not None and found.requires_python == ">=3.11"
    assert found.chosen(key) == chosen
    assert found.chosen(selection_key({"python_version": "3.13"}, ["cp312-cp312-linux_x86_64"], {"groups": []})) is None
    assert read_record(tmp_path, "d" * 64) is None
    (tmp_path / LOCK_SELECTIONS / f"{'d' * 64}.json").write_bytes((tmp_path / LOCK_SELECTIONS / f"{'c' * 64}.json")
                                                                  .read_bytes())
    assert read_record(tmp_path, "d" * 64) is None  # a record names the bytes it is for


def test_a_source_kind_a_record_does_not_hold_is_not_recorded() -> None:
    record = SelectionRecord("c" * 64, None)
    vcs = PackageVcs(type="git", url="https://example.invalid/gamma.git", commit_id="a" * 40)
    assert record.add("k", [("gamma", "1.0", vcs)]) is False
    assert record.selections == {}


def test_a_lock_with_a_vcs_source_fails_in_one_line(
        synced: Path, tmp_path: Path, workspace_env: dict[str, str], run_pypm: RunPypm) -> None:
    copy = new_copy(synced, tmp_path / "second")
    data = tomllib.loads((copy / "pylock.toml").read_text())
    [gamma] = [p for p in data["packages"] if p["name"] == "gamma"]
    for key in ("wheels", "sdist", "index"):
        gamma.pop(key, None)
    gamma["vcs"] = {"type": "git", "url": "https://example.invalid/gamma.git", "commit-id": "a" * 40}
    (copy / "pylock.toml").write_text(tomli_w.dumps(data))
    proc = run_pypm("sync", "--frozen", cwd=copy, env_extra=workspace_env, check=False)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr.strip().splitlines() == ["error: gamma: pypm cannot install this kind of locked source yet"]


def test_a_record_with_a_damaged_requires_python_falls_back_to_the_lock(
        synced: Path, tmp_path: Path, workspace_env: dict[str, str], pypm_env: dict[str, str],
        run_pypm: RunPypm) -> None:
    path = record_path(Path(pypm_env["PYPM_CACHE_DIR"]), synced)
    record = json.loads(path.read_text())
    record["requires-python"] = ">=3.11,,not a specifier"
    path.write_text(json.dumps(record))
    copy = new_copy(synced, tmp_path / "second")
    proc = run_pypm("sync", "--frozen", cwd=copy, env_extra=workspace_env)
    assert "Traceback" not in proc.stderr
    assert installed(copy / ".venv") == {"alpha": "2.0", "beta": "1.1", "gamma": "1.0", "proj": "1.0"}
