"""The lock's input hash: everything that decides what ``pypm lock`` produces.

That is each member's name, version, ``requires-python``, dependencies, extras and groups,
the root's groups, the settings that steer the resolver and the ``plugins`` list (whose
``post-lock`` hooks must have passed for the lock to be up to date); for a member whose
dependencies or ``requires-python`` are ``dynamic``, the values its build backend gave
(cached by :mod:`pypm.workspace.member_sources`). What only changes the *installed* result
(scripts, entry points, ``[build-system]``, a dynamic version, the link mode, the
interpreter) is not here: the sync stamp (:mod:`pypm.operations.stamp`) covers it.

Computed from raw TOML and small cache files only, so the fast freshness check needs no
heavy imports.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pypm.config import Settings
from pypm.workspace.discovery import RawMember, RawWorkspace, relative_posix
from pypm.workspace.member_sources import LOCK_FIELDS, cached_metadata, dynamic_fields, member_signature

INPUT_FORMAT = 1
_PROJECT_KEYS = ("name", "version", "requires-python", "dependencies", "optional-dependencies", "dynamic")


def lock_inputs(raw: RawWorkspace, settings: Settings) -> dict[str, Any]:
    """The JSON-able structure whose hash is recorded in the lock."""
    members = []
    for member in raw.members:
        project = member.project
        entry = {
            "path": relative_posix(member.path, raw.root),
            "project": {key: project.get(key) for key in _PROJECT_KEYS},
            "dependency-groups": member.data.get("dependency-groups"),
        }
        if not member.editable:  # the lock's directory entry says so (only then: older hashes hold)
            entry["editable"] = False
        if dynamic_fields(member) & LOCK_FIELDS:
            entry["dynamic-metadata"] = _dynamic_lock_fields(raw, member)
        members.append(entry)
    members.sort(key=lambda item: item["path"])
    inputs = {
        "format": INPUT_FORMAT,
        "members": members,
        "root-groups": raw.root_data.get("dependency-groups"),
        "settings": settings.lock_inputs(),
    }
    if raw.tool_table.get("plugins"):  # a new gate re-checks the lock (only then: older hashes hold)
        inputs["plugins"] = raw.tool_table["plugins"]
    return inputs


def _dynamic_lock_fields(raw: RawWorkspace, member: RawMember) -> dict[str, Any]:
    """What the backend said about the member's dynamic dependencies and Python range;
    when it has not been asked since the member changed, a value that matches no lock
    (so the lock is stale until ``pypm lock`` asks it)."""
    signature = member_signature(member)
    record = cached_metadata(raw.root, member, signature)
    if record is None:
        return {"unresolved": signature}
    return dict(record["lock-fields"])


def input_hash(raw: RawWorkspace, settings: Settings) -> str:
    """sha256 hex digest of :func:`lock_inputs` in canonical JSON."""
    canonical = json.dumps(lock_inputs(raw, settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
