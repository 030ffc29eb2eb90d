"""Cache maintenance as plain functions (``pypm cache ...``). Whatever deletes from the
store holds the store's exclusive lock, so it never runs while a sync unpacks or links."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pypm.config import load_settings
from pypm.errors import PypmError

if TYPE_CHECKING:
    from pypm.workspace.discovery import RawWorkspace


class DamagedStoreError(PypmError):
    """``cache verify`` found store entries whose files changed."""


def cache_dir_for(start: Path) -> Path:
    """The cache dir of the workspace found from ``start``, or the user's default where
    there is no project. A project that does not load is an error, not the default: its
    settings may name another cache (uv too stops at a pyproject.toml it cannot parse)."""
    raw = workspace_or_none(start)
    if raw is None:
        return load_settings({}).cache_dir
    return load_settings(raw.tool_table, raw.config_file).cache_dir


def workspace_or_none(start: Path) -> RawWorkspace | None:
    """The raw workspace found from ``start``; None when there is no project at all (no
    workspace root variable, and from ``start`` up no ``pypm-workspace.toml`` and no
    ``pyproject.toml`` that is a project's or pypm's: one holding only other tools'
    settings, as a monorepo's ruff configuration, does not count, as uv skips a
    ``pyproject.toml`` without its own table). One that is there but does not load raises
    its error."""
    from pypm.workspace.discovery import PYPROJECT, WORKSPACE_FILE, find_workspace, root_override

    try:
        return find_workspace(start)
    except (PypmError, OSError):
        here = start.resolve()
        if root_override() is None and not any(_is_pypms(folder / PYPROJECT) or (folder / WORKSPACE_FILE).exists()
                                               for folder in (here, *here.parents)):
            return None
        raise


def _is_pypms(pyproject: Path) -> bool:
    """Whether ``pyproject`` could make a pypm project: it has ``[project]`` or
    ``[tool.pypm]``, or it is there but cannot be read as TOML (its error is the one to show)."""
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text("utf-8"))
    except FileNotFoundError:
        return False
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return True
    tool = data.get("tool")
    return "project" in data or (isinstance(tool, dict) and "pypm" in tool)


def _existing_cache(cache_dir: Path) -> bool:
    """True when the cache directory exists; raise when something else is in its place."""
    if cache_dir.is_dir():
        return True
    if cache_dir.exists() or cache_dir.is_symlink():
        raise PypmError(f"the cache dir {cache_dir} is a file where a directory is expected",
                        hint="move it out of the way or set PYPM_CACHE_DIR")
    return False


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GiB"


def _waiting() -> None:
    from pypm import ui

    ui.info("Waiting for the pypm processes using the cache to finish...")


def _disk_usage(top: Path) -> int:
    """Bytes of the files under ``top`` (links are not followed, nor counted)."""
    import os
    import stat

    total = 0
    for directory, _subdirs, files in os.walk(top):
        for name in files:
            try:
                found = os.lstat(os.path.join(directory, name))
            except OSError:
                continue
            if stat.S_ISREG(found.st_mode):
                total += found.st_size
    return total


def describe(cache_dir: Path, verbose: bool = False) -> str:
    """A few lines about the cache: size, store entries, environments linking them, savings."""
    from pypm.store.lock import shared_store_lock
    from pypm.store.registry import CacheInfo, cache_info

    if _existing_cache(cache_dir):
        with shared_store_lock(cache_dir):
            info = cache_info(cache_dir)
        total = _disk_usage(cache_dir)
    else:
        info, total = CacheInfo(environments={}), 0
    envs = info.environments or {}
    shared = sum(1 for count in envs.values() if count > 1)
    lines = [
        f"cache: {cache_dir} ({_human(total)} on disk)",
        f"store: {info.entries} unpacked wheels, {_human(info.bytes_in_store)}",
        f"linked: {sum(envs.values())} installs in environments; {shared} entries shared by several",
        f"saved by sharing: {_human(info.bytes_saved)}",
    ]
    if verbose:
        lines.extend(f"  {name[:16]}  {count} environment(s)" for name, count in sorted(envs.items()))
    return "\n".join(lines)


def prune(cache_dir: Path) -> str:
    """Remove store entries and shared dist-info files no environment uses, entries left
    without their manifest, and what crashes left: unpack directories, directories an
    interrupted ``cache clean`` was deleting, partial downloads no download is writing,
    stale temp files."""
    from pypm.store.leftovers import remove_partial_downloads, remove_stale_temps, remove_store_leftovers
    from pypm.store.lock import exclusive_store_lock
    from pypm.store.registry import is_complete, store_entries
    from pypm.store.registry import prune as prune_store
    from pypm.store.shared_files import prune_shared
    from pypm.trash import remove_tree

    if not _existing_cache(cache_dir):
        return f"Nothing to prune: {cache_dir} does not exist"
    with exclusive_store_lock(cache_dir, on_wait=_waiting):
        _forget_symlinked_environments([e for e in store_entries(cache_dir) if not is_complete(e)])
        entries = prune_store(cache_dir)
        shared = prune_shared(cache_dir)
        leftovers = remove_store_leftovers(cache_dir)
        leftovers += sum(not remove_tree(trash) for trash in _cache_trash(cache_dir))
    partial = remove_partial_downloads(cache_dir)
    temps = remove_stale_temps(cache_dir)
    return (f"Removed {entries} unused store entries, {shared} unused shared dist-info files, "
            f"{leftovers} store leftovers, "
            f"{partial} partial download files and {temps} stale temp files")


def clean(cache_dir: Path) -> str:
    """Delete everything pypm keeps in the cache, once no sync is using it. The lock
    database stays (deleting it while another process waits on it would break the
    lock), and so does anything in the directory that pypm did not make. Each directory
    is moved aside before it is deleted: an interrupted clean leaves it whole or gone
    (the next clean or prune deletes what it left aside). Says what it removed; a part
    it could not remove is an error (after the rest is removed)."""
    from pypm.store.layout import CACHE_DIRS
    from pypm.store.lock import exclusive_store_lock, is_lock_file
    from pypm.store.registry import store_entries

    if not _existing_cache(cache_dir):
        return f"Nothing to remove: {cache_dir} does not exist"
    failures: list[OSError] = []
    size = 0
    with exclusive_store_lock(cache_dir, on_wait=_waiting):
        forgotten = _forget_symlinked_environments(store_entries(cache_dir), outside=cache_dir)
        for path in [*_cache_trash(cache_dir), *(cache_dir / name for name in CACHE_DIRS)]:
            if path.is_dir() and not path.is_symlink():
                before = _disk_usage(path)
                errors, left = _remove_directory(path, move=not _is_cache_trash(path))
                size += before - left
                failures += errors
        kept = [p.name for p in cache_dir.iterdir() if not is_lock_file(p.name) and not _is_cache_trash(p)]
    if failures:
        raise _clean_failed(cache_dir, failures, size)
    note = f"; left {len(kept)} entries pypm did not make: {', '.join(sorted(kept)[:3])}" if kept else ""
    if forgotten:
        note += (f"; {forgotten} environment{'s' if forgotten != 1 else ''} linked files in symlink mode: "
                 "the next sync there installs them again")
    return f"Removed {_human(size)} from {cache_dir}{note}"


def _remove_directory(path: Path, move: bool = True) -> tuple[list[OSError], int]:
    """Move one of pypm's directories aside (unless ``move`` is False: it is aside
    already), then delete it: (the errors, bytes left)."""
    from pypm.store.layout import CACHE_TRASH_PREFIX
    from pypm.trash import remove_tree, set_aside

    try:
        aside = set_aside(path, CACHE_TRASH_PREFIX) if move else path
    except OSError:
        aside = path  # it cannot be moved (its parent is read-only, a mount point...): deleted where it is
    if aside is None:
        return [], 0
    errors = remove_tree(aside)
    return errors, _disk_usage(aside) if errors else 0


def _cache_trash(cache_dir: Path) -> list[Path]:
    """The directories an interrupted ``cache clean`` was deleting."""
    return [path for path in cache_dir.iterdir() if _is_cache_trash(path)]


def _is_cache_trash(path: Path) -> bool:
    from pypm.store.layout import CACHE_TRASH_PREFIX

    return path.name.startswith(CACHE_TRASH_PREFIX) and path.is_dir() and not path.is_symlink()


def _clean_failed(cache_dir: Path, failures: list[OSError], size: int) -> PypmError:
    """The one error for a clean that could not remove everything."""
    first = failures[0]
    where = f": {first.filename}" if first.filename else ""
    more = f" (and {len(failures) - 1} more)" if len(failures) > 1 else ""
    return PypmError(f"removed {_human(size)} from {cache_dir}, but could not remove everything: "
                     f"{first.strerror or first}{where}{more}",
                     hint="fix the permissions there and run `pypm cache clean` again")


def _forget_symlinked_environments(entries: list[Path], outside: Path | None = None) -> int:
    """Remove the sync stamp of each environment whose files are symbolic links into these
    store ``entries`` (about to be deleted: the links break with them): its next sync
    then checks every file and installs the broken packages again, where it would have
    said "up to date". Returns how many, not counting environments inside ``outside``
    (the cache's own, deleted with it). A stamp is pypm's own file in a ``.venv`` that has
    ``pyvenv.cfg``."""
    import json

    from pypm.operations.stamp import stamp_path
    from pypm.store.registry import environment_of, live_links

    environments = set()
    for entry in entries:
        for pointer in live_links(entry):
            try:
                mode = json.loads(pointer.read_text("utf-8")).get("link-mode")
            except (OSError, ValueError, AttributeError):
                continue
            venv = environment_of(pointer)
            if mode == "symlink" and venv is not None:
                environments.add(venv)
    for venv in environments:
        try:
            stamp_path(venv).unlink(missing_ok=True)
        except OSError:
            continue
    if outside is not None:
        environments = {venv for venv in environments if not venv.resolve().is_relative_to(outside.resolve())}
    return len(environments)


def verify(cache_dir: Path) -> tuple[int, list[str]]:
    """Re-hash every file of the store: (entries checked, one line per damaged entry).
    Each damaged entry is marked (under the store's exclusive lock, once the hashing that
    syncs may run beside is done) so that the next sync that installs it unpacks it afresh
    from its wheel and relinks the environments sharing it; environments themselves are
    not this command's to change."""
    from pypm.store.integrity import verify_store
    from pypm.store.lock import exclusive_store_lock, shared_store_lock
    from pypm.store.repair import mark_for_repair

    if not _existing_cache(cache_dir):
        return 0, []
    with shared_store_lock(cache_dir):
        checked, damaged = verify_store(cache_dir)
    if damaged:
        with exclusive_store_lock(cache_dir, on_wait=_waiting):
            for damage in damaged:
                mark_for_repair(damage.entry)
    return checked, [damage.line() for damage in damaged]


def damaged_error(checked: int, lines: list[str]) -> DamagedStoreError:
    """The one error ``cache verify`` ends with when it found damage."""
    return DamagedStoreError(
        f"{len(lines)} of {checked} store entries changed since they were unpacked (files edited in an environment"
        " that hardlinks them)",
        hint="the next `pypm sync` that installs them unpacks them afresh and relinks every environment sharing them;"
        " to force it, run `pypm sync --reinstall-package NAME` in a project that uses them",
    )
