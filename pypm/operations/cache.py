"""Cache maintenance as plain functions (``pypm cache ...``)."""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from pypm.config import load_settings


def cache_dir_for(options: argparse.Namespace) -> Path:
    """The cache dir of the workspace at ``--project``/cwd, or the user's default outside one."""
    from pypm.cli.parser import start_dir
    from pypm.errors import WorkspaceError
    from pypm.workspace.discovery import find_workspace

    try:
        raw = find_workspace(start_dir(options))
        return load_settings(raw.tool_table, raw.config_file).cache_dir
    except WorkspaceError:
        return load_settings({}).cache_dir


def _human(size: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:.1f} {unit}" if unit != "B" else f"{int(size)} B"
        size /= 1024
    return f"{size:.1f} GiB"


def describe(cache_dir: Path, verbose: bool = False) -> str:
    """A few lines about the cache: size, store entries, environments linking them, savings."""
    from pypm.store.registry import cache_info

    info = cache_info(cache_dir)
    total = sum(p.stat().st_size for p in cache_dir.rglob("*") if p.is_file()) if cache_dir.is_dir() else 0
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
    """Remove store entries no environment uses, and stale partial downloads."""
    from pypm.store.layout import PARTIAL
    from pypm.store.registry import prune as prune_store

    removed = prune_store(cache_dir)
    partial = cache_dir / PARTIAL
    leftovers = 0
    if partial.is_dir():
        for path in partial.iterdir():
            if path.suffix in (".part", ".json"):
                path.unlink(missing_ok=True)
                leftovers += 1
    return f"Removed {removed} unused store entries and {leftovers} partial download files"


def clean(cache_dir: Path) -> str:
    """Delete the whole cache."""
    if cache_dir.is_dir():
        shutil.rmtree(cache_dir)
    return f"Removed {cache_dir}"
