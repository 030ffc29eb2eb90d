"""audit-gate: a pypm plugin that refuses a lock naming a denied package.

At ``post-lock`` it reads ``[tool.audit-gate] deny`` from the workspace root's config file
(``pyproject.toml`` or ``pypm-workspace.toml``)::

    [tool.audit-gate]
    deny = ["badpkg", "oldlib<2.0"]

Each entry is a PEP 508 requirement: a bare name denies every version of that project, a
name with a version specifier denies the versions the specifier matches (pre-releases
included). When the new lock names a denied package the hook raises, so pypm stops with
exit code 3 and puts ``pylock.toml`` back as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if TYPE_CHECKING:
    from pypm.plugins import HookContext, Registry

TABLE = "audit-gate"
EXAMPLE = 'deny = ["badpkg", "oldlib<2.0"]'


class AuditGateError(Exception):
    """A denied package is locked, or the deny list cannot be read."""


def plugin(registry: Registry) -> None:
    """Register the ``post-lock`` check on pypm's registry."""
    registry.hook("post-lock", check_lock)


def check_lock(context: HookContext) -> int:
    """Raise :class:`AuditGateError` naming every locked package the deny list matches."""
    deny = read_deny_list(context)
    locked = context.result.locked if context.result is not None else ()
    hits = denied(locked, deny)
    if hits:
        raise AuditGateError(f"denied by [tool.{TABLE}] in {context.config_file.name}: {', '.join(hits)}")
    return 0


def read_deny_list(context: HookContext) -> list[Requirement]:
    """The parsed ``[tool.audit-gate] deny`` entries (none when the table is absent)."""
    where = f"[tool.{TABLE}] in {context.config_file.name}"
    table = context.tool_table(TABLE)
    if not isinstance(table, dict):
        raise AuditGateError(f"{where} must be a table, e.g. {EXAMPLE}")
    entries = table.get("deny", [])
    if not isinstance(entries, list) or not all(isinstance(entry, str) for entry in entries):
        raise AuditGateError(f"{where}: deny must be a list of requirement strings, e.g. {EXAMPLE}")
    return [parse_entry(entry, where) for entry in entries]


def parse_entry(entry: str, where: str) -> Requirement:
    """One deny entry as a requirement: a name and an optional version specifier only."""
    try:
        requirement = Requirement(entry)
    except InvalidRequirement as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "invalid"
        raise AuditGateError(f"{where}: deny entry {entry!r} is not a PEP 508 requirement ({reason})") from None
    # The lock is universal and records no extras or URLs, so a marker, an extra or a URL
    # could not be checked against it: refused rather than silently ignored.
    if requirement.marker is not None or requirement.extras or requirement.url:
        raise AuditGateError(f"{where}: deny entry {entry!r} may only be a name and a version specifier "
                             f"(no extras, markers or URLs), e.g. {EXAMPLE}")
    return requirement


def denied(locked: Iterable[str], deny: list[Requirement]) -> list[str]:
    """``name version (entry)`` for every locked package (``name==version``, or a bare
    name for a directory) that a deny entry matches."""
    hits = []
    for row in locked:
        name, _, version = row.partition("==")
        for requirement in deny:
            if _matches(requirement, name, version or None):
                hits.append(f"{name} {version or '(directory)'} ({requirement})")
                break
    return hits


def _matches(requirement: Requirement, name: str, version: str | None) -> bool:
    """Does ``requirement`` deny this package? A bare name denies every version; a
    specifier only versions it contains, so an entry with no version (a directory) or a
    version PEP 440 cannot compare escapes a specifier but not a bare name."""
    if canonicalize_name(requirement.name) != canonicalize_name(name):
        return False
    if not requirement.specifier:
        return True
    if version is None:
        return False
    try:
        parsed = Version(version)
    except InvalidVersion:
        return False
    # prereleases=True: a deny list must also catch "badpkg 1.5rc1" for "badpkg<2"; PEP 440's
    # exclusive-ordering rule still keeps "2.0rc1" out of "<2".
    return requirement.specifier.contains(parsed, prereleases=True)
