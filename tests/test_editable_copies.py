"""A second copy of a workspace (another checkout, a CI workspace) links the editable
members' store entries the first copy made: pypm's own editable wheel holds nothing of
the member's location, and each environment gets its ``.pth`` written fresh."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.test_lock_sync import site_packages

IMPORT = "import {0}, sys; sys.stdout.write({0}.__file__)"


def _copy(workspace: Path, target: Path) -> Path:
    shutil.copytree(workspace, target, ignore=shutil.ignore_patterns(".venv", ".pypm"))
    return target


def _cache_listing(cache: Path, kind: str) -> set[str]:
    """The editable wheels (``*.whl``) or store entries (their directories) in the cache."""
    if kind == "wheels":
        return {str(p.relative_to(cache)) for p in (cache / "editable-wheels-v1").rglob("*.whl")}
    return {p.name for p in (cache / "store-v1").glob("*/*") if p.is_dir()}


def _imported_from(root: Path, module: str = "lib") -> Path:
    python = root / ".venv" / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    out = subprocess.run([str(python), "-c", IMPORT.format(module)], capture_output=True, text=True, check=True,
                         cwd=root.parent)
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


BUILD_MANY = """
import sys
from pathlib import Path
from pypm.install.editable import pth_wheel
from pypm.workspace.discovery import find_workspace
from pypm.workspace.model import validate_workspace
member = validate_workspace(find_workspace(Path(sys.argv[1]))).members["proj"]
for _ in range(int(sys.argv[3])):
    for built in Path(sys.argv[2]).rglob("*.whl"):  # each round builds it again, both copies at once
        built.unlink(missing_ok=True)
    pth_wheel(member, Path(sys.argv[2]))
"""


def test_copies_building_the_editable_wheel_at_once_each_get_a_whole_one(tmp_path: Path) -> None:
    """Two copies of a project (two checkouts syncing side by side) build pypm's editable
    wheel into the same cache folder: neither fails, and the wheel left is whole."""
    copies = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "pyproject.toml").write_text(
            '[project]\nname = "proj"\nversion = "1.0"\nrequires-python = ">=3.10"\ndependencies = []\n')
        copies.append(tmp_path / name)
    root = tmp_path / "editables"
    runs = [subprocess.Popen([sys.executable, "-c", BUILD_MANY, str(copy), str(root), "150"], stderr=subprocess.PIPE,
                             text=True) for copy in copies]
    failures = [run.communicate()[1] for run in runs if run.wait() != 0]
    assert not failures, failures[0][-800:]
    wheels = list(root.rglob("*.whl"))
    assert len(wheels) == 1, "one wheel for both copies"
    with zipfile.ZipFile(wheels[0]) as archive:
        assert archive.testzip() is None
    assert [p.name for p in wheels[0].parent.iterdir()] == [wheels[0].name], "no temp file left"


def test_a_member_that_takes_the_src_layout_later_is_synced_again(tmp_path: Path, pypm_env, make_index,
                                                                  run_pypm) -> None:
    """The ``.pth`` names ``src/`` or the member's directory: moving the code into ``src/``
    changes what a sync installs, on the fast path and on the full check alike."""
    env = {"PYPM_INDEX_URL": make_index([]).url}
    root = tmp_path / "proj"
    (root / "proj").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[project]\nname = "proj"\nversion = "1.0"\nrequires-python = ">=3.10"\ndependencies = []\n')
    (root / "proj" / "__init__.py").write_text("X = 1\n")
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert "All up to date" in run_pypm("sync", cwd=root, env_extra=env).stderr  # a verdict is recorded
    (root / "src").mkdir()
    shutil.move(root / "proj", root / "src" / "proj")
    assert "All up to date" not in run_pypm("sync", cwd=root, env_extra=env).stderr
    assert _imported_from(root, "proj").parent == root / "src" / "proj"
    shutil.move(root / "src" / "proj", root / "proj")
    (root / "src").rmdir()
    shutil.rmtree(root / ".pypm")  # the full check, with no verdict
    assert "All up to date" not in run_pypm("sync", cwd=root, env_extra=env).stderr
    assert _imported_from(root, "proj").parent == root / "proj"
