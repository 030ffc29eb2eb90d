"""The lock's input hash: everything that decides what ``pypm lock`` produces.

That is each member's name, version, ``requires-python``, dependencies, extras and groups,
the root's groups, the settings that steer the resolver and the ``plugins`` list (whose
``post-lock`` hooks must have passed for the lock to be up to date); for a member whose
dependencies or ``requires-python`` are ``dynamic``, the values its build backend gave
(cached by :mod:`pypm.workspace.member_sources`), and the dynamic version of a member that
another member requires with a version specifier (the lock is only valid while that
version satisfies it). What only changes the *installed* result (scripts, entry points,
``[build-system]``, any other dynamic version, the link mode, the interpreter) is not here:
the sync stamp (:mod:`pypm.operations.stamp`) covers it.

Computed from raw TOML and small cache files only, so the fast freshness check needs no
heavy imports.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from typing import Any

from pypm.config import Settings
from pypm.workspace.discovery import RawMember, RawWorkspace, canonical_name, relative_posix
from pypm.workspace.member_sources import LOCK_FIELDS, cached_metadata, dynamic_fields, member_signature

INPUT_FORMAT = 1
_PROJECT_KEYS = ("name", "version", "requires-python", "dependencies", "optional-dependencies", "dynamic")
#: A requirement's name, then (after extras) the first character of a version specifier.
_CONSTRAINED = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[[^\]]*\])?\s*([<>=!~(]?)")


def lock_inputs(raw: RawWorkspace, settings: Settings) -> dict[str, Any]:
    """The JSON-able structure whose hash is recorded in the lock."""
    members = []
    constrained = _version_constrained(raw)
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
        if "version" in dynamic_fields(member) and canonical_name(str(project.get("name", ""))) in constrained:
            entry["dynamic-version"] = _dynamic_version(raw, member)  # only then: older hashes hold
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


def _dynamic_version(raw: RawWorkspace, member: RawMember) -> str | dict[str, str]:
    """The version the backend gave (as :func:`_dynamic_lock_fields`, unresolved when it
    has not been asked since the member changed)."""
    signature = member_signature(member)
    record = cached_metadata(raw.root, member, signature)
    if record is None:
        return {"unresolved": signature}
    metadata = str(record.get("metadata", ""))
    return next((line[len("Version:"):].strip() for line in metadata.splitlines() if line.startswith("Version:")), "")


def _version_constrained(raw: RawWorkspace) -> set[str]:
    """Names that some requirement of the workspace gives a version specifier."""
    names = set()
    for text in _requirement_texts(raw):
        match = _CONSTRAINED.match(text)
        if match is not None and match.group(2):
            names.add(canonical_name(match.group(1)))
    return names


def _requirement_texts(raw: RawWorkspace) -> Iterator[str]:
    """Every requirement string of every member (dependencies, extras, groups) and of the
    root's groups (no parsing: the fast freshness check runs this)."""
    lists: list[Any] = [raw.root_data.get("dependency-groups")]
    for member in raw.members:
        project = member.project
        optional = project.get("optional-dependencies")
        lists += [project.get("dependencies"), member.data.get("dependency-groups"),
                  *(optional.values() if isinstance(optional, dict) else [])]
    for entries in lists:
        if isinstance(entries, dict):  # dependency-groups: group -> list
            entries = [item for group in entries.values() if isinstance(group, list) for item in group]
        if isinstance(entries, list):
            yield from (item for item in entries if isinstance(item, str))


def input_hash(raw: RawWorkspace, settings: Settings) -> str:
    """sha256 hex digest of :func:`lock_inputs` in canonical JSON."""
    canonical = json.dumps(lock_inputs(raw, settings), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()
