"""The sync stamp: a file in ``.venv`` recording what the environment was synced from and
how it looked when the sync finished. ``.venv`` is up to date only while all of it holds:

- *inputs*: the lock's sha256, the selection (groups, extras), the ``python`` and
  ``link-mode`` settings in effect (wherever they came from: option, ``PYPM_*`` variable,
  ``[tool.pypm]``, ``.python-version``, user settings file; for a ``python`` setting that
  is a path or a command name, also the interpreter it leads to now; with no setting a
  complete ``.venv`` is kept whatever made it, as :func:`pypm.install.venv.project_venv`
  does, so the interpreter pypm runs on is no input), and each member's signature
  (:func:`pypm.workspace.member_sources.install_signature`: its whole pyproject, so
  scripts, entry points and ``[build-system]``, the sources of a dynamic member, and every
  file of a path dependency installed from a wheel built from its tree);
- *store*: in ``symlink`` mode, the store the files link into (in the inputs: the
  ``cache-dir`` setting's) is still the directory the sync linked from (its inode), so a
  cache moved, deleted or made anew is seen;
- *interpreter*: ``.venv``'s interpreter still runs (a link to a base Python that was
  uninstalled does not), and its base interpreter is the same file (real path, inode,
  size, mtime) with the same version;
- *environment*: cheap signals of ``.venv``'s own state, recorded for site-packages, the
  scripts directory and each directory directly in site-packages (packages, dist-info):
  inode, mtime and a digest of the names inside (``__pycache__`` left out). A changed mtime
  costs one listing; only a changed listing or inode makes ``.venv`` stale. So a deleted or
  added package, dist-info, script or top-level module file is seen; an edit or a deletion
  deeper inside a package is not, and a sync that runs for another reason keeps that
  package as it is (it checks kept packages' files only when these signals changed):
  ``pypm verify`` finds such a change, ``pypm sync --reinstall-package NAME`` repairs it.

The stamp is removed before a sync's first change and written last, so a crashed sync
never looks up to date. Import-light: the fast freshness check reads it.

It also records ``merkle-root``: the Merkle root of the installed files as their RECORD
files list them (:mod:`pypm.install.merkle`, :func:`pypm.install.record_check.recorded_root`),
which ``pypm verify`` recomputes from the files themselves. It is no part of freshness.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pypm.config import Settings, is_version_request
from pypm.operations.selection import Selection
from pypm.operations.venv_state import (
    environment_state,
    interpreter_state,
    read_interpreter_info,
    store_state,
    venv_matches_stamp,
)
from pypm.workspace.discovery import RawWorkspace, relative_posix
from pypm.workspace.member_sources import install_signature

STAMP_FILE = ".pypm-sync.json"
STAMP_FORMAT = 2


def stamp_path(venv: Path) -> Path:
    """The file that marks ``.venv`` as matching the lock."""
    return venv / STAMP_FILE


def sync_inputs(lock_bytes: bytes, selection: Selection, settings: Settings, raw: RawWorkspace) -> dict[str, Any]:
    """What a sync's result depends on besides ``.venv`` itself (see the module docstring),
    and the ``plugins`` list when there is one (a new ``post-sync`` gate checks again)."""
    plugins = raw.tool_table.get("plugins")
    return {**({"plugins": plugins} if plugins else {}),
        "format": STAMP_FORMAT,
        "lock-sha256": hashlib.sha256(lock_bytes).hexdigest(),
        "selection": selection.key(),
        "python": settings["python"],
        **_python_found(settings["python"]),
        "link-mode": settings["link-mode"],
        **_linked_store(settings),
        "members": {
            relative_posix(member.path, raw.root): install_signature(member, raw) for member in raw.members
        },
    }


def _python_found(requested: str | None) -> dict[str, str]:
    """``python-found``: the interpreter a ``python`` setting that is a path or a command name
    leads to now, as the path :func:`pypm.install.venv.project_venv` compares with the one
    ``.venv`` was made from (a relative path from the working directory, a command from
    PATH: another one there makes another ``.venv``); an error's text when it names none
    (the sync reports it). Nothing for no setting or a version (``3.12``): a ``.venv`` of
    that version is kept whichever Python made it. Resolving runs no interpreter."""
    if not requested or is_version_request(requested):
        return {}
    from pypm.errors import PypmError
    from pypm.install.venv import find_base_python

    try:
        return {"python-found": str(find_base_python(requested))}
    except PypmError as exc:
        return {"python-found": f"error: {exc.message}"}


def _linked_store(settings: Settings) -> dict[str, str]:
    """``store``: in ``symlink`` mode, the store ``.venv``'s files link into (its files are
    there only while it is: a cache moved or deleted leaves the links dangling); nothing in
    the other modes, whose files are ``.venv``'s own."""
    if settings["link-mode"] != "symlink":
        return {}
    from pypm.store.layout import STORE

    return {"store": str(settings.cache_dir / STORE)}


def stamp_content(venv: Path, inputs: dict[str, Any], leaves_of: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The stamp a sync writes once ``.venv`` is complete (``inputs``: :func:`sync_inputs`
    as they were before the sync read anything, so an edit made while it ran is seen as
    one by the next; ``leaves_of``: the Merkle leaves of the RECORDs the sync just wrote,
    by dist-info)."""
    from pypm.install.record_check import recorded_root

    info = read_interpreter_info(venv) or {}
    return {
        **({"store": store_state(inputs["store"])} if "store" in inputs else {}),
        "inputs": inputs,
        "interpreter": interpreter_state(info) if info else None,
        "environment": environment_state(info) if info else {},
        "merkle-root": recorded_root(info["scheme"], leaves_of) if info else None,
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
    return venv_matches_stamp(read_interpreter_info(venv), recorded)
