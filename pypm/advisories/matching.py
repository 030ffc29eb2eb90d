"""Whether an OSV advisory covers a release, and which versions fix it, with PEP 440
ordering (``packaging.version``) as the ``PyPI`` ecosystem defines it.

A range is evaluated as the OSV schema describes: its events sorted by version
(``introduced: "0"`` before everything), then walked, each event whose version the release
has reached setting the state: ``introduced`` -> affected, ``fixed`` -> not affected,
``last_affected`` (once passed) -> not affected. ``limit`` events bound the whole range: a
release at or above every limit is not affected (``"*"`` means no limit). A release is
also covered when it is in the explicit ``versions`` list.
"""

from __future__ import annotations

from collections.abc import Iterable

from packaging.version import InvalidVersion, Version

from pypm import ui
from pypm.advisories.model import Advisory, Affected, Event, Release, Vulnerability

#: ``introduced: "0"`` means "from the first release on" (lower than any version,
#: ``0.dev0`` included).
FIRST = "0"
#: ``limit: "*"`` means "no limit".
NO_LIMIT = "*"
#: For events at the same version: introduced first, so a range can still close there.
_KIND_ORDER = {"introduced": 0, "last_affected": 1, "fixed": 2, "limit": 3}


def is_affected(advisory: Advisory, release: Release) -> bool:
    """True when any PyPI entry of ``advisory`` for the release's name covers its version."""
    return any(_covers(entry, release.version, advisory.id) for entry in _entries(advisory, release))


def vulnerability(advisory: Advisory, release: Release) -> Vulnerability:
    """``advisory`` as it applies to ``release``: its fixed versions for that package and
    the nearest one above the release."""
    fixed = fixed_versions(advisory, release)
    return Vulnerability(advisory.id, advisory.aliases, advisory.summary, fixed, nearest_fix(advisory, release, fixed))


def fixed_versions(advisory: Advisory, release: Release) -> tuple[Version, ...]:
    """Every ``fixed`` event of the advisory's ranges for the release's name, ascending."""
    found = {parsed for entry in _entries(advisory, release) for events in entry.ranges for event in events
             if event.kind == "fixed" and (parsed := _version(event.version, advisory.id)) is not None}
    return tuple(sorted(found))


def nearest_fix(advisory: Advisory, release: Release, fixed: Iterable[Version]) -> Version | None:
    """The lowest of ``fixed`` above the release that the advisory does not cover (a
    ``fixed`` event of one range may lie inside another range)."""
    above = sorted(version for version in fixed if version > release.version)
    return next((version for version in above if not is_affected(advisory, Release(release.name, version))), None)


def in_range(version: Version, events: tuple[Event, ...], advisory_id: str = "") -> bool:
    """Does the range of ``events`` cover ``version`` (see the module's docstring)? An
    event whose version is not PEP 440 is read so that it cannot hide the advisory (a
    warning says so): an ``introduced`` one as ``"0"``, a closing one (``fixed``,
    ``last_affected``, ``limit``) as not closing the range."""
    parsed: list[tuple[str, Version | str]] = []
    for event in events:
        at = _event_version(event, advisory_id)
        if at is None:
            _warn_unreadable(advisory_id, event)
            if event.kind == "introduced":
                parsed.append(("introduced", FIRST))
            continue
        parsed.append((event.kind, at))
    limits = [at for kind, at in parsed if kind == "limit" and at != NO_LIMIT]
    if limits and not any(version < limit for limit in limits):
        return False
    affected = False
    for kind, at in sorted(((k, a) for k, a in parsed if k != "limit"), key=_event_key):
        if kind == "introduced":
            affected = affected or at == FIRST or version >= at
        elif kind == "fixed" and version >= at:
            affected = False
        elif kind == "last_affected" and version > at:
            affected = False
    return affected


_WARNED: set[tuple[str, str]] = set()


def _warn_unreadable(advisory_id: str, event: Event) -> None:
    """Say once per advisory and version text how an unreadable event version is read."""
    if (advisory_id, event.version) in _WARNED:
        return
    _WARNED.add((advisory_id, event.version))
    how = "from the first release on" if event.kind == "introduced" else "as not closing its range"
    ui.warning(f"{advisory_id}: {event.kind} version {event.version!r} is not a PEP 440 version; read {how}, "
               "so the advisory is not missed")


def _covers(entry: Affected, version: Version, advisory_id: str) -> bool:
    if any(in_range(version, events, advisory_id) for events in entry.ranges):
        return True
    return any(listed == version for text in entry.versions if (listed := _version(text, advisory_id)) is not None)


def _entries(advisory: Advisory, release: Release) -> list[Affected]:
    return [entry for entry in advisory.affected if entry.name == release.name]


def _event_version(event: Event, advisory_id: str) -> Version | str | None:
    """The event's version; the texts ``"0"`` (introduced) and ``"*"`` (limit) as they are."""
    if (event.kind, event.version) in (("introduced", FIRST), ("limit", NO_LIMIT)):
        return event.version
    return _version(event.version, advisory_id)


def _event_key(pair: tuple[str, Version | str | None]) -> tuple[int, Version | None, int]:
    kind, at = pair
    return (0, None, 0) if at == FIRST else (1, at if isinstance(at, Version) else None, _KIND_ORDER[kind])


def _version(text: str, advisory_id: str) -> Version | None:
    try:
        return Version(text)
    except InvalidVersion:
        ui.detail(f"{advisory_id}: {text!r} is not a PEP 440 version")
        return None
