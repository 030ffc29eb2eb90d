"""What a member's lock entry and editable install depend on, as cheap signatures.

A member's *signature* covers its whole ``pyproject.toml`` (so ``[project.scripts]``,
``[project.entry-points]``, ``[build-system]`` and the backend's ``[tool.*]`` table all
count), its ``setup.py`` and ``setup.cfg`` when present, and, when the member declares
``dynamic`` fields that change what gets installed (:data:`RESULT_FIELDS`), the size and
modification time of every file under its source directory: ``src/`` when it has one,
else the package directory (and module) named after the project. That is pypm's default
and the files directly in the member's directory (``pylock.toml`` aside). That is pypm's
default for what uv calls ``cache-keys`` (uv keys on ``pyproject.toml``, ``setup.py`` and
``setup.cfg`` by default and lets a project add files): the backend computes such fields
from files that live there (``__version__`` in ``__init__.py``, a ``VERSION`` or
``requirements.txt`` file, ...). Hidden directories (``.git``, ``.venv``, tool caches),
hidden files at the member's top, ``__pycache__`` and ``*.egg-info`` or ``*.dist-info``
directories (which backends and Python write themselves) do not count; a hidden file
inside a package does (backends such as flit pack it).

The metadata a backend prepared for a dynamic member is cached per signature in the
workspace's ``.pypm/`` directory, so the lock's input hash can include it without running
the backend again (:func:`cached_metadata`). Import-light: this is on the no-op path.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, NamedTuple

from pypm.workspace.discovery import RawMember, RawWorkspace, canonical_name

#: ``dynamic`` fields whose value changes the installed result or the lock.
RESULT_FIELDS = frozenset({
    "version", "dependencies", "optional-dependencies", "requires-python", "scripts", "gui-scripts", "entry-points",
})
#: ``dynamic`` fields whose value changes the lock (a dynamic version does not: the lock leaves it out).
LOCK_FIELDS = frozenset({"dependencies", "optional-dependencies", "requires-python"})
BUILD_FILES = ("setup.py", "setup.cfg")
METADATA_DIR = "member-metadata-v1"
STATE_DIR = ".pypm"
LOCK_FILE = "pylock.toml"
VENV_DIR = ".venv"
_SKIPPED_DIRS = ("__pycache__",)
_SKIPPED_SUFFIXES = (".egg-info", ".dist-info")
_TOP_OUTPUT_DIRS = frozenset({"dist", "build", "node_modules"})  # build outputs at a project's top


class PreparedMetadata(NamedTuple):
    """A dynamic member's core metadata as its backend prepared it (the ``METADATA`` and
    ``entry_points.txt`` files of ``prepare_metadata_for_build_editable``)."""

    metadata: bytes
    entry_points: bytes = b""

    @property
    def digest(self) -> str:
        """sha256 over both files: what an editable build of the member is cached by."""
        return hashlib.sha256(self.metadata + b"\0" + self.entry_points).hexdigest()


def dynamic_fields(member: RawMember) -> frozenset[str]:
    """The member's ``dynamic`` fields that change the lock or the installed result."""
    dynamic = member.project.get("dynamic")
    if not isinstance(dynamic, list):
        return frozenset()
    return frozenset(field for field in dynamic if isinstance(field, str)) & RESULT_FIELDS


def source_dirs(member: RawMember) -> list[Path]:
    """Where the backend reads dynamic fields from: ``src/``, else the package directory
    and module named after the project (``acme-core`` -> ``acme_core/``, ``acme_core.py``)."""
    src = member.path / "src"
    if src.is_dir():
        return [src]
    name = canonical_name(str(member.project.get("name", ""))).replace("-", "_")
    return [member.path / name, member.path / f"{name}.py"] if name else []


def member_signature(member: RawMember) -> str:
    """sha256 of what the member's install depends on (see the module docstring)."""
    digest = hashlib.sha256(json.dumps(member.data, sort_keys=True, default=str).encode())
    for name in BUILD_FILES:
        try:
            digest.update(b"\0" + name.encode() + b"\0" + (member.path / name).read_bytes())
        except OSError:
            continue
    if dynamic_fields(member):
        for entry in _source_files(member):
            digest.update(entry.encode())
    return digest.hexdigest()


def _source_files(member: RawMember) -> list[str]:
    """``path size mtime`` of each counted file: in the member's directory itself, and
    under its source directories."""
    rows = _top_level_files(member.path)
    for top in source_dirs(member):
        try:
            stat = top.stat()
        except OSError:
            continue
        if not top.is_dir():
            rows.append(f"\0{top.name} {stat.st_size} {stat.st_mtime_ns}")
            continue
        for directory, dirs, files in os.walk(top):
            dirs[:] = sorted(d for d in dirs if not _skipped(d))
            for name in sorted(files):
                path = os.path.join(directory, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                rows.append(f"\0{os.path.relpath(path, member.path)} {stat.st_size} {stat.st_mtime_ns}")
    return rows


def _top_level_files(directory: Path) -> list[str]:
    rows = []
    try:
        with os.scandir(directory) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                if entry.name.startswith(".") or entry.name == LOCK_FILE or not entry.is_file():
                    continue
                stat = entry.stat()
                rows.append(f"\0{entry.name} {stat.st_size} {stat.st_mtime_ns}")
    except OSError:
        pass
    return rows


def _skipped(name: str) -> bool:
    """Is the directory ``name`` left out of a digest: what Python and backends write, and
    hidden ones (``.git``, ``.venv``, tool caches, wherever they are)?"""
    return name.startswith(".") or name in _SKIPPED_DIRS or name.endswith(_SKIPPED_SUFFIXES)


def source_root(path: Path) -> Path:
    """The directory an editable install of the project at ``path`` puts on ``sys.path``
    (pypm's own ``.pth``): ``src/`` when the project uses that layout."""
    src = path / "src"
    return src if src.is_dir() else path


def install_signature(member: RawMember, workspace: RawWorkspace) -> str:
    """What the member's install in ``.venv`` depends on: its :func:`member_signature`
    (for an editable one, also whether it has the ``src/`` layout its ``.pth`` names: a
    ``src/`` made or removed later changes that line), and for a member installed from a
    wheel built from its tree (a path dependency that is not editable),
    :func:`source_tree_digest` of that tree, since any edit in it changes what is installed."""
    signature = member_signature(member)
    if member.editable:
        return f"{signature}:src" if source_root(member.path) != member.path else signature
    return f"{signature}:{source_tree_digest(member.path, other_trees(member.path, workspace))}"


def other_trees(directory: Path, workspace: RawWorkspace) -> set[str]:
    """Absolute paths the tree digest of the member at ``directory`` leaves out: the other
    members' directories and the workspace's ``.venv``."""
    excluded = {os.path.abspath(m.path) for m in workspace.members if m.path != directory}
    excluded.add(os.path.abspath(workspace.root / VENV_DIR))
    return excluded


def source_tree_digest(directory: Path, excluded: set[str] | frozenset[str] = frozenset()) -> str:
    """sha256 over the relative path, size and mtime of every file a wheel of the project
    at ``directory`` is built from: all of it but hidden directories, hidden files at its
    top, byte-code, ``__pycache__``, ``*.egg-info``, ``pylock.toml``, the
    ``dist``/``build``/``node_modules`` directories at its top (not ``src/x/build/``) and
    the ``excluded`` absolute paths (other members, the environment, an output file inside
    it)."""
    top = os.path.abspath(directory)
    digest = hashlib.sha256()
    for here, dirs, files in os.walk(top):
        at_top = here == top
        dirs[:] = sorted(d for d in dirs if not _skipped(d) and os.path.join(here, d) not in excluded
                         and not (at_top and d in _TOP_OUTPUT_DIRS))
        for name in sorted(files):
            path = os.path.join(here, name)
            if (at_top and name.startswith(".")) or name.endswith(".pyc") or name == LOCK_FILE or path in excluded:
                continue
            try:
                info = os.stat(path)
            except OSError:
                continue
            relative = os.path.relpath(path, top).replace(os.sep, "/")
            digest.update(f"{relative}\0{info.st_size}\0{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def metadata_cache_file(root: Path, signature: str) -> Path:
    """Where the metadata prepared for a member with this signature is kept."""
    return root / STATE_DIR / METADATA_DIR / f"{signature}.json"


def cached_metadata(root: Path, member: RawMember, signature: str | None = None) -> dict[str, Any] | None:
    """The cache record of the member's prepared metadata (``metadata``, ``entry-points``
    and ``lock-fields``), None when its backend has not been asked since it last changed."""
    path = metadata_cache_file(root, signature or member_signature(member))
    try:
        record = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("lock-fields"), dict) else None
