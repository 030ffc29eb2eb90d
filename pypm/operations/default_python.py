"""The default ``requires-python`` of a workspace that declares none: a lock made then is
for ``>=`` the minor of the Python a sync would use (as uv defaults it), so it is current
only while it still admits the Python a sync would use now. A later ``sync --python 3.10``
after a lock made under 3.12 re-locks for ``>=3.10`` instead of refusing a bound the
project never declared (uv re-resolves when its default ``requires-python`` changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pypm.workspace.discovery import RawWorkspace


def declares_requires_python(raw: RawWorkspace) -> bool:
    """Whether some member gives ``requires-python`` (or has its backend give it)."""
    for member in raw.members:
        dynamic = member.project.get("dynamic")
        if "requires-python" in member.project or (isinstance(dynamic, list) and "requires-python" in dynamic):
            return True
    return False


def default_python_served(raw: RawWorkspace, settings: Any, venv: Path, lock_path: Path) -> bool:
    """True unless the workspace declares no ``requires-python`` and the lock's recorded
    one leaves out the Python a sync would use now (``--python``, ``.venv``'s, else the
    running one): then the lock must be made again for the new default."""
    return declares_requires_python(raw) or lock_admits(lock_path, sync_python_version(venv, settings))


def lock_admits(lock_path: Path, version: str) -> bool:
    """Whether the lock's recorded ``requires-python`` admits Python ``version`` (an
    unreadable lock counts as admitting it: what reads it reports it, and re-makes it)."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    from pypm.errors import PypmError
    from pypm.lock.reader import load_lock_data

    try:
        recorded = load_lock_data(lock_path).get("requires-python")
        allowed = SpecifierSet(recorded) if isinstance(recorded, str) else SpecifierSet()
    except (PypmError, InvalidSpecifier):
        return True
    return allowed.contains(version, prereleases=True)


def sync_python_version(venv: Path, settings: Any) -> str:
    """The version (at least ``X.Y``) of the Python a sync would use: the ``python``
    setting itself when it is a version (``3.12``, ``3.12.1``: no interpreter has to run to
    say it), else what :func:`pypm.install.venv.python_version_for` finds."""
    import re

    requested = settings["python"]
    if isinstance(requested, str) and re.fullmatch(r"3\.\d+(\.\d+)?", requested):
        return requested
    from pypm.install.venv import python_version_for

    return python_version_for(venv, settings)
