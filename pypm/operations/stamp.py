"""The sync stamp: a file in ``.venv`` recording what the environment was synced from and
how it looked when the sync finished. ``.venv`` is up to date only while all of it holds:

- *inputs*: the lock's sha256, the selection (groups, extras), the ``python`` and
  ``link-mode`` settings in effect (wherever they came from: option, ``PYPM_*`` variable,
  ``[tool.pypm]``, ``.python-version``, user settings file; with no ``python`` setting a
  complete ``.venv`` is kept whatever made it, as :func:`pypm.install.venv.project_venv`
  does, so the interpreter pypm runs on is no input), and each member's signature
  (:func:`pypm.workspace.member_sources.member_signature`: its whole pyproject, so scripts,
  entry points and ``[build-system]``, and the sources of a dynamic member);
- *interpreter*: ``.venv``'s interpreter still runs (a link to a base Python that was
  uninstalled does not), and its base interpreter is the same file (real path, inode,
  size, mtime) with the same version;
- *environment*: cheap signals of ``.venv``'s own state, recorded for site-packages, the
  scripts directory and each directory directly in site-packages (packages, dist-info):
  inode, mtime and a digest of the names inside (``__pycache__`` left out). A changed mtime
  costs one listing; only a changed listing or inode makes ``.venv`` stale. So a deleted or
  added package, dist-info, script or top-level module file is seen; an edit deeper inside
  a package is not (``pypm sync`` repairs it when it runs for any other reason).

The stamp is removed before a sync's first change and written last, so a crashed sync
never looks up to date. Import-light: the fast freshness check reads it.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from pypm.config import Settings
from pypm.operations.selection import Selection
from pypm.workspace.discovery import RawWorkspace
from pypm.workspace.member_sources import member_signature

STAMP_FILE = ".pypm-sync.json"
STAMP_FORMAT = 2
#: ``pypm.install.venv.INFO_FILE`` (that module is not imported here: it pulls in
#: subprocess and dataclasses, too slow for the no-op path; a test keeps the two equal).
INTERPRETER_INFO = ".pypm-interpreter.json"
_SKIPPED = "__pycache__"


def stamp_path(venv: Path) -> Path:
    """The file that marks ``.venv`` as matching the lock."""
    return venv / STAMP_FILE


def sync_inputs(lock_bytes: bytes, selection: Selection, settings: Settings, raw: RawWorkspace) -> dict[str, Any]:
    """What a sync's result depends on besides ``.venv`` itself (see the module docstring)."""
    return {
        "format": STAMP_FORMAT,
        "lock-sha256": hashlib.sha256(lock_bytes).hexdigest(),
        "selection": selection.key(),
        "python": settings["python"],
        "link-mode": settings["link-mode"],
        "members": {
            member.path.relative_to(raw.root).as_posix() or ".": member_signature(member) for member in raw.members
        },
    }


def read_interpreter_info(venv: Path) -> dict[str, Any] | None:
    """The description pypm keeps of ``.venv``'s interpreter, None when there is none."""
    try:
        info = json.loads((venv / INTERPRETER_INFO).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and isinstance(info.get("scheme"), dict) else None


def interpreter_state(info: dict[str, Any]) -> dict[str, Any] | None:
    """``.venv``'s interpreter and the base Python it was made from; None when either no
    longer exists (a dangling link to an uninstalled Python)."""
    try:
        os.stat(info["executable"])  # follows the link to the base interpreter
        base = os.path.realpath(info.get("base") or info["executable"])
        stat = os.stat(base)
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return {"base": base, "base-file": [stat.st_ino, stat.st_size, stat.st_mtime_ns], "version": info.get("version")}


def _watched_dirs(info: dict[str, Any]) -> list[str]:
    """site-packages (purelib, platlib), each directory directly inside it, and scripts."""
    scheme = info["scheme"]
    sites = list(dict.fromkeys(str(scheme[key]) for key in ("purelib", "platlib") if key in scheme))
    watched = [*sites, str(scheme["scripts"])] if "scripts" in scheme else list(sites)
    for site in sites:
        try:
            with os.scandir(site) as entries:
                watched.extend(e.path for e in entries if e.name != _SKIPPED and e.is_dir(follow_symlinks=False))
        except OSError:
            continue
    return watched


def _names_digest(directory: str) -> str:
    names = sorted(name for name in os.listdir(directory) if name != _SKIPPED)
    return hashlib.sha256("\0".join(names).encode()).hexdigest()[:16]


def environment_state(info: dict[str, Any]) -> dict[str, list[Any]]:
    """The environment's cheap signals: path -> [inode, mtime_ns, names digest]."""
    state: dict[str, list[Any]] = {}
    for directory in _watched_dirs(info):
        try:
            stat = os.stat(directory)
            state[directory] = [stat.st_ino, stat.st_mtime_ns, _names_digest(directory)]
        except OSError:
            continue
    return state


def environment_unchanged(recorded: Any) -> bool:
    """True when every recorded directory is still there with the same inode and, if its
    mtime moved (Python adding ``__pycache__``, say), the same names inside."""
    if not isinstance(recorded, dict) or not recorded:
        return False
    for directory, signal in recorded.items():
        try:
            inode, mtime, names = signal
            stat = os.stat(directory)
            if stat.st_ino != inode or (stat.st_mtime_ns != mtime and _names_digest(directory) != names):
                return False
        except (OSError, ValueError, TypeError):
            return False
    return True


def stamp_content(
    venv: Path, lock_bytes: bytes, selection: Selection, settings: Settings, raw: RawWorkspace
) -> dict[str, Any]:
    """The stamp a sync writes once ``.venv`` is complete."""
    info = read_interpreter_info(venv) or {}
    return {
        "inputs": sync_inputs(lock_bytes, selection, settings, raw),
        "interpreter": interpreter_state(info) if info else None,
        "environment": environment_state(info) if info else {},
    }


def read_stamp(venv: Path) -> dict[str, Any] | None:
    """The recorded stamp, None when missing or unreadable."""
    try:
        recorded = json.loads(stamp_path(venv).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return recorded if isinstance(recorded, dict) else None


def stamp_matches(venv: Path, lock_path: Path, selection: Selection, settings: Settings, raw: RawWorkspace) -> bool:
    """True when the stamp says ``.venv`` already matches this lock, selection, settings,
    members, interpreter and its own recorded state (cheapest checks first)."""
    recorded = read_stamp(venv)
    if recorded is None:
        return False
    try:
        lock_bytes = lock_path.read_bytes()
    except OSError:
        return False
    if recorded.get("inputs") != sync_inputs(lock_bytes, selection, settings, raw):
        return False
    info = read_interpreter_info(venv)
    state = interpreter_state(info) if info is not None else None
    if state is None or recorded.get("interpreter") != state:
        return False
    return environment_unchanged(recorded.get("environment"))
