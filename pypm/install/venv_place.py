"""Whether an environment's description names the place the environment is at (imports
only ``os``: the no-op verdict runs on it)."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def describes_this_venv(info: dict[str, Any], venv: str | os.PathLike[str]) -> bool:
    """True when ``info`` (pypm's description of an environment's interpreter and scheme)
    was written for the environment at ``venv``. A project moved or copied elsewhere keeps
    a ``.venv`` whose scripts, ``.pth`` files and description still name the old place:
    it must be made again (uv's environments cannot move either)."""
    scheme = info.get("scheme")
    prefix = scheme.get("data") if isinstance(scheme, dict) else None
    try:
        return isinstance(prefix, str) and _place(prefix) == _place(venv)
    except (OSError, ValueError):
        return False


def _place(path: str | os.PathLike[str]) -> str:
    """A path as the filesystem resolves it (links followed; case folded where the
    platform ignores case, as Windows does)."""
    return os.path.normcase(os.path.realpath(path))
