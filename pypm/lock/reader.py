"""Read ``pylock.toml``: the quick input-hash peek and the full validated model."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pypm.errors import LockError

_HASH_LINE = re.compile(rb'^input-hash\s*=\s*"([0-9a-f]{64})"\s*$', re.MULTILINE)
_PACKAGES = b"\n[[packages]]"


def read_input_hash(path: Path) -> str | None:
    """The input hash recorded in the lock's ``[tool.pypm]`` table, read from the header
    only (it is written before ``[[packages]]``); None when absent or unreadable."""
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError:
        return None
    end = head.find(_PACKAGES)
    section = head if end < 0 else head[:end]
    if b"[tool.pypm]" not in section:
        return None
    match = _HASH_LINE.search(section, section.index(b"[tool.pypm]"))
    return match.group(1).decode() if match else None


def load_lock_data(path: Path) -> dict[str, Any]:
    """Parse the lock's TOML; a clear error when it is missing or malformed."""
    from pypm.tomlfile import read_toml

    if not path.exists():
        raise LockError(f"{path} does not exist", hint="run `pypm lock` first")
    return read_toml(path, LockError)


def read_lock(path: Path) -> Any:
    """The lock as a validated :class:`packaging.pylock.Pylock`."""
    from packaging.pylock import Pylock, PylockValidationError

    data = load_lock_data(path)
    try:
        return Pylock.from_dict(data)
    except PylockValidationError as exc:
        raise LockError(f"{path}: not a valid PEP 751 lock: {exc}", hint="run `pypm lock` to rewrite it") from None
