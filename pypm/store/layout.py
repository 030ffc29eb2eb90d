"""Where things live in the cache directory (one place that knows the layout)."""

from __future__ import annotations

from pathlib import Path

from pypm.errors import LockError

WHEELS = "wheels-v1"
STORE = "store-v1"
BUILT = "built-wheels-v1"
SDIST_METADATA = "sdist-metadata-v1"
METADATA = "metadata-v2"  # each file after a line with its sha256 (pypm.index.metadata_cache)
PAGES = "index-pages-v1"
BUILD_ENVS = "build-envs-v1"
EDITABLES = "editable-wheels-v1"
TREE_WHEELS = "tree-wheels-v1"  # wheels built from path dependencies' trees, per directory
PARTIAL = "partial-v1"
LINK_MODES = "link-modes-v1"
METADATA_BY_URL = "metadata-by-url-v2"  # metadata of files the index gives no hash for
#: Where earlier pypm stored bare METADATA files: read offline only (their bytes cannot be
#: checked), never changed (an older pypm sharing the cache still uses them); removed by clean.
LEGACY_METADATA, LEGACY_METADATA_BY_URL = "metadata-v1", "metadata-by-url-v1"
FILE_FACTS = "file-facts-v1"  # sizes and hashes learned for files (offline locks need them)
RESOLUTIONS = "resolutions-v1"  # locks by resolution inputs, with the pages they read (pypm.lock.memo)
LOCK_PARSES = "lock-parses-v1"  # pylock.toml files parsed, as JSON by their sha256 (pypm.lock.reader)
LOCK_SELECTIONS = "lock-selections-v1"  # what locks select per environment, by their sha256 (pypm.lock.selections)
SHARED_FILES = "dist-info-files-v1"  # dist-info files every environment has alike (pypm.store.shared_files)
BUILD_LOGS = "build-logs-v1"  # what build backends printed, one file per dist, version and kind (pypm.build.log)
SCRIPT_ENVS = "script-envs"  # PEP 723 scripts' environments (pypm.operations.script)
SYNC_REPLAYS = "sync-replays-v1"  # how full syncs made .venv, to make it again (pypm.graph.sync_replay)
#: Every directory pypm makes in the cache (``cache clean`` removes these and nothing else).
CACHE_DIRS = (WHEELS, STORE, BUILT, SDIST_METADATA, METADATA, PAGES, BUILD_ENVS, EDITABLES, TREE_WHEELS, PARTIAL,
              LINK_MODES, METADATA_BY_URL, FILE_FACTS, RESOLUTIONS,
              LOCK_PARSES, LOCK_SELECTIONS, SHARED_FILES, BUILD_LOGS, SCRIPT_ENVS, LEGACY_METADATA,
              LEGACY_METADATA_BY_URL, SYNC_REPLAYS)
#: Directories of environments: their files are not pypm's temp files, whatever their names
ENVIRONMENT_DIRS = (BUILD_ENVS, SCRIPT_ENVS)

UNPACK_PREFIX = ".unpack-"  # a wheel being unpacked (or an entry set aside), beside the entries
CACHE_TRASH_PREFIX = ".pypm-trash-"  # in the cache dir: one of the directories above being deleted
LINKS_SUFFIX = ".links"  # beside an entry: one record per environment that links it
TEMP_SUFFIX = ".tmp"  # pypm.fsutil's atomic writes: ``.<name>.<random>.tmp`` beside the file


_HEX_DIGITS = frozenset("0123456789abcdef")
_DAMAGED_LOCK = "a lock names its files and hashes: run `pypm lock` to rewrite it"


def is_sha256_hex(text: str) -> bool:
    """True for a sha256 digest in hex (64 lowercase hex digits): a store entry's name."""
    return len(text) == 64 and _HEX_DIGITS.issuperset(text)


def checked_sha256(sha256: str) -> str:
    """``sha256`` when it is a sha256 digest in hex (64 lowercase hex digits), as every
    cache path made from one needs; else a one-line error. A hash comes from a lock, which
    a cloned repository brings: ``../../x`` must never become a path to write or delete."""
    if not is_sha256_hex(sha256):
        raise LockError(f"not a sha256 digest in hex: {sha256[:80]!r}", hint=_DAMAGED_LOCK)
    return sha256


def checked_file_name(name: str) -> str:
    """``name`` when it is a plain file name (no directory part, not ``.`` or ``..``), as
    the cache keeps a file under; else a one-line error (the name comes from a lock)."""
    if not name or name in (".", "..") or "/" in name or "\\" in name or "\0" in name or ":" in name:
        raise LockError(f"not a plain file name: {name[:80]!r}", hint=_DAMAGED_LOCK)
    return name


def store_entry(cache_dir: Path, sha256: str) -> Path:
    """The unpacked store entry of the wheel with this sha256."""
    return cache_dir.joinpath(STORE, checked_sha256(sha256)[:2], sha256)  # one join, not three (called often)


def entry_links(entry_root: Path) -> Path:
    """The directory of link records of a store entry."""
    return entry_root.parent / f"{entry_root.name}{LINKS_SUFFIX}"


def entry_repair_lock(entry_root: Path) -> Path:
    """The file lock that lets one process at a time repair a store entry."""
    return entry_root.parent / f"{entry_root.name}.lock"


def partial_download(cache_dir: Path, sha256: str) -> Path:
    """Where a download in progress keeps its bytes (resumable)."""
    return cache_dir / PARTIAL / f"{checked_sha256(sha256)}.part"


def partial_download_lock(part: Path) -> Path:
    """The file lock a download holds while it writes ``part`` (pypm.install.download)."""
    return part.with_name(part.name + ".lock")
