"""The lock's input hash: everything that decides what ``pypm lock`` produces.

Computed from raw TOML only, so the fast freshness check needs no heavy imports.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pypm.config import Settings
from pypm.workspace.discovery import RawWorkspace

INPUT_FORMAT = 1
_PROJECT_KEYS = ("name", "version", "requires-python", "dependencies", "optional-dependencies", "dynamic")


def lock_inputs(raw: RawWorkspace, settings: Settings) -> dict[str, Any]:
    """The JSON-able structure whose hash is recorded in the lock."""
    members = []
    for member in raw.members:
        project = member.project
        members.append({
            "path": member.path.relative_to(raw.root).as_posix() or ".",
            "project": {key: project.get(key) for key in _PROJECT_KEYS},
            "dependency-groups": member.data.get("dependency-groups"),
        })
    members.sort(key=lambda item: item["path"])
    return {
        "format": INPUT_FORMAT,
        "members": members,
        "root-groups": raw.root_data.get("dependency-groups"),
        "settings": settings.lock_inputs(),
    }


def input_hash(raw: RawWorkspace, settings: Settings) -> str:
    """sha256 hex digest of :func:`lock_inputs` in canonical JSON."""
    canonical = json.dumps(lock_inputs(raw, settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
