"""Cheap signals of a ``.venv``'s state: its interpreter and the directories of its
site-packages and scripts. The sync stamp (:mod:`pypm.operations.stamp`) records them and
the no-op verdict (:mod:`pypm.graph.noop_verdict`) re-checks them.

Imports only ``os`` (no ``pathlib``, ``hashlib``, ``typing``, not even ``json`` until a
file is read): the repeated no-op runs on this module alone.
"""

from __future__ import annotations

import os

from pypm.install.venv_place import describes_this_venv

TYPE_CHECKING = False  # typing's import is a tenth of a no-op
if TYPE_CHECKING:
    from typing import Any

try:  # the builtin sha256 module: hashlib's import loads OpenSSL, ~3 ms of a no-op
    from _sha256 import sha256  # Python <= 3.11
except ImportError:  # pragma: no cover - the module's name since 3.12
    try:
        from _sha2 import sha256
    except ImportError:  # an interpreter built without the builtin hashes
        from hashlib import sha256

#: ``pypm.install.venv.INFO_FILE`` (that module is not imported here: it pulls in
#: subprocess and dataclasses, too slow for the no-op path; a test keeps the two equal).
INTERPRETER_INFO = ".pypm-interpreter.json"
_SKIPPED = "__pycache__"

__all__ = [
    "INTERPRETER_INFO", "environment_state", "environment_unchanged", "interpreter_state",
    "read_interpreter_info", "sha256", "store_state", "venv_matches_stamp",
]


def read_interpreter_info(venv: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The description pypm keeps of ``.venv``'s interpreter, None when there is none or
    it describes an environment at another place (the project was moved or copied)."""
    import json

    try:
        with open(os.path.join(venv, INTERPRETER_INFO), encoding="utf-8") as file:
            info = json.load(file)
    except (OSError, ValueError):
        return None
    if not isinstance(info, dict) or not isinstance(info.get("scheme"), dict):
        return None
    return info if describes_this_venv(info, venv) else None



def interpreter_state(info: dict[str, Any]) -> dict[str, Any] | None:
    """``.venv``'s interpreter (where its link leads now: one pointed elsewhere is a
    change) and the base Python it was made from; None when either no longer exists (a
    dangling link to an uninstalled Python)."""
    try:
        os.stat(info["executable"])  # follows the link to the base interpreter
        runs = os.path.realpath(info["executable"])
        base = os.path.realpath(info.get("base") or info["executable"])
        stat = os.stat(base)
    except (OSError, KeyError, TypeError, ValueError):
        return None
    return {"base": base, "base-file": [stat.st_ino, stat.st_size, stat.st_mtime_ns], "version": info.get("version"),
            "runs": runs}


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
    return sha256("\0".join(names).encode()).hexdigest()[:16]


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


def store_state(store: str) -> int | None:
    """The inode of the store directory ``.venv``'s files link into (``symlink`` mode),
    None when it is not there."""
    try:
        return os.stat(store).st_ino
    except OSError:
        return None


def venv_matches_stamp(info: dict[str, Any] | None, recorded: dict[str, Any]) -> bool:
    """True when the interpreter ``info`` describes (:func:`read_interpreter_info`), the
    directories of its environment and, in ``symlink`` mode, the store its files link into
    still look as the stamp ``recorded`` says (the part of the stamp that is not about its
    inputs)."""
    state = interpreter_state(info) if info is not None else None
    if state is None or recorded.get("interpreter") != state:
        return False
    inputs = recorded.get("inputs")
    store = inputs.get("store") if isinstance(inputs, dict) else None
    if store is not None and store_state(store) != recorded.get("store"):
        return False
    return environment_unchanged(recorded.get("environment"))
