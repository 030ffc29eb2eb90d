"""A second copy of a workspace (another checkout, a CI workspace) links the editable
members' store entries the first copy made: pypm's own editable wheel holds nothing of
the member's location, and each environment gets its ``.pth`` written fresh."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.test_lock_sync import site_packages

IMPORT_LIB = "import lib, sys; sys.stdout.write(lib.__file__)"


def _copy(workspace: Path, target: Path) -> Path:
    shutil.copytree(workspace, target, ignore=shutil.ignore_patterns(".venv", ".pypm"))
    return target


def _cache_listing(cache: Path, kind: str) -> set[str]:
    """The editable wheels (``*.whl``) or store entries (their directories) in the cache."""
    if kind == "wheels":
        return {str(p.relative_to(cache)) for p in (cache / "editable-wheels-v1").rglob("*.whl")}
    return {p.name for p in (cache / "store-v1").glob("*/*") if p.is_dir()}


def _imported_from(root: Path) -> Path:
    python = root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    out = subprocess.run([str(python), "-c", IMPORT_LIB], capture_output=True, text=True, check=True, cwd=root.parent)
    return Path(out.stdout)


def test_a_second_copy_links_the_members_store_entries_and_its_own_path(
    synced_workspace: Path, workspace_env: dict[str, str], pypm_env: dict[str, str], run_pypm
) -> None:
    cache = Path(pypm_env["PYPM_CACHE_DIR"])
    wheels, entries = _cache_listing(cache, "wheels"), _cache_listing(cache, "store")
    assert wheels, "the members' editable wheels are in the cache"
    second = _copy(synced_workspace, synced_workspace.parent / "second")
    run_pypm("sync", cwd=second, env_extra=workspace_env)
    assert _cache_listing(cache, "wheels") == wheels, "no editable wheel built for the second copy"
    assert _cache_listing(cache, "store") == entries, "no store entry unpacked for the second copy"
    assert _imported_from(second) == second / "packages/lib/src/lib/__init__.py"
    assert _imported_from(synced_workspace) == synced_workspace / "packages/lib/src/lib/__init__.py"
    pth = site_packages(second / ".venv")[0] / "_pypm_editable_lib.pth"
    assert pth.read_text() == f"{second / 'packages/lib/src'}\n"
    assert pth.stat().st_nlink == 1, "written for this environment, not linked from the store"
    record = next(site_packages(second / ".venv")[0].glob("lib-*.dist-info")) / "RECORD"
    assert "_pypm_editable_lib.pth,sha256=" in record.read_text(), "RECORD lists it, so removal removes it"
    assert "All up to date" in run_pypm("lock", "sync", cwd=second, env_extra=workspace_env).stderr


def test_a_moved_copy_points_at_its_new_place_and_removal_takes_the_pth(
    synced_workspace: Path, workspace_env: dict[str, str], run_pypm
) -> None:
    moved = synced_workspace.parent / "moved"
    shutil.move(synced_workspace, moved)
    run_pypm("sync", cwd=moved, env_extra=workspace_env)
    assert _imported_from(moved) == moved / "packages/lib/src/lib/__init__.py"
    site = site_packages(moved / ".venv")[0]
    assert (site / "_pypm_editable_lib.pth").read_text() == f"{moved / 'packages/lib/src'}\n"
    run_pypm("sync", "--no-install-project", cwd=moved, env_extra=workspace_env)
    assert not (site / "_pypm_editable_lib.pth").exists()
    assert not list(site.glob("lib-*.dist-info"))
