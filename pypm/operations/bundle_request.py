"""What the user asked of one ``pypm bundle`` run (import-light: the graph context holds it)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class BundleRequest(NamedTuple):
    """``output``: the archive path (None: the default under ``dist/``); ``with_python``:
    pack the interpreter; ``platform``: a platform tag for another target than ``.venv``'s."""

    output: Path | None = None
    with_python: bool = False
    platform: str | None = None
