"""The sync stamp: a file in ``.venv`` saying which lock and selection it matches.

Written last by a sync and removed first, so a crashed sync never looks up to date.
Import-light: the fast freshness check reads it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pypm.operations.selection import Selection

STAMP_FILE = ".pypm-sync.json"


def stamp_path(venv: Path) -> Path:
    """The file that marks ``.venv`` as matching the lock."""
    return venv / STAMP_FILE


def stamp_content(lock_bytes: bytes, selection: Selection, python: str | None) -> dict[str, Any]:
    """What the stamp records: the lock's hash, the selection and the requested Python."""
    return {
        "lock-sha256": hashlib.sha256(lock_bytes).hexdigest(),
        "selection": selection.key(),
        "python": python,
    }


def stamp_matches(venv: Path, lock_path: Path, selection: Selection, python: str | None) -> bool:
    """True when the stamp says ``.venv`` already matches this lock and selection."""
    try:
        recorded = json.loads(stamp_path(venv).read_text("utf-8"))
        expected = stamp_content(lock_path.read_bytes(), selection, python)
    except (OSError, ValueError):
        return False
    return recorded == expected
