"""OSV advisories as pypm reads them (https://ossf.github.io/osv-schema/): only what
``pypm audit`` uses, the PyPI part of each record, and the one error of this package.

An advisory lists ``affected`` packages, each named by ecosystem and name, with ``ranges``
(events: ``introduced``, ``fixed``, ``last_affected``, ``limit``) and explicit ``versions``.
Only ``PyPI`` entries and ``ECOSYSTEM`` ranges are kept: ``GIT`` ranges name commits and
``SEMVER`` ranges are not PEP 440, so neither can be compared with a locked version.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pypm.errors import PypmError

#: The OSV ecosystem of packages from Python package indexes.
PYPI = "PyPI"
EVENT_KINDS = ("introduced", "fixed", "last_affected", "limit")


class AdvisoryError(PypmError):
    """The advisories could not be read or asked for: the audit cannot be done (exit 2,
    never a silent "no vulnerabilities")."""

    exit_code = 2


class ServiceError(AdvisoryError):
    """An online source was unreachable or answered something unusable."""


class Event(NamedTuple):
    """One event of a range: its kind (one of :data:`EVENT_KINDS`) and version text."""

    kind: str
    version: str


@dataclass(frozen=True)
class Affected:
    """The versions of one PyPI package an advisory covers: its ``ECOSYSTEM`` ranges
    (each a list of events) and its explicit version list."""

    name: NormalizedName
    ranges: tuple[tuple[Event, ...], ...]
    versions: tuple[str, ...]


@dataclass(frozen=True)
class Advisory:
    """One OSV record: id, aliases (CVE, GHSA...), summary, whether it was withdrawn, and
    its PyPI packages."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    withdrawn: bool
    affected: tuple[Affected, ...]


class Release(NamedTuple):
    """A locked release: PEP 503 name and version."""

    name: NormalizedName
    version: Version


@dataclass(frozen=True)
class Vulnerability:
    """One advisory as it applies to one release: its fixed versions (every ``fixed``
    event for that package, ascending) and the lowest of them above the release that the
    advisory does not cover itself (None: no fix known)."""

    id: str
    aliases: tuple[str, ...]
    summary: str
    fixed: tuple[Version, ...]
    nearest_fix: Version | None

    def known_as(self, name: str) -> bool:
        """True when ``name`` is this advisory's id or one of its aliases (any case)."""
        return name.casefold() in {self.id.casefold(), *(alias.casefold() for alias in self.aliases)}


class AdvisorySource(Protocol):
    """Where vulnerabilities come from: a local database, a service, an index."""

    def describe(self) -> str:
        """What was asked, for the summary line (``OSV database PATH``...)."""
        ...

    def lookup(self, releases: list[Release]) -> dict[Release, list[Vulnerability]]:
        """The vulnerabilities of each release (releases with none may be left out);
        raises :class:`AdvisoryError` when the source cannot answer for all of them."""
        ...


def parse_advisory(data: Any, where: str) -> Advisory:
    """The advisory in an OSV JSON document (``where`` names it in errors); raises
    :class:`AdvisoryError` for a document that is not an OSV record."""
    if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
        raise AdvisoryError(f"{where} is not an OSV advisory (it has no id)",
                            hint="give OSV JSON records, as osv.dev and the PyPA advisory database export them")
    affected = data.get("affected", [])
    if not isinstance(affected, list):
        raise AdvisoryError(f"{where}: 'affected' is not a list", hint="the file is not a valid OSV record")
    return Advisory(
        id=data["id"],
        aliases=tuple(alias for alias in _list(data.get("aliases")) if isinstance(alias, str)),
        summary=data.get("summary") if isinstance(data.get("summary"), str) else "",
        withdrawn=bool(data.get("withdrawn")),
        affected=tuple(entry for item in affected if (entry := _affected(item, where)) is not None),
    )


def _affected(item: Any, where: str) -> Affected | None:
    """A PyPI ``affected`` entry (None for another ecosystem's)."""
    package = item.get("package") if isinstance(item, dict) else None
    if not isinstance(package, dict):
        return None
    if package.get("ecosystem") != PYPI or not isinstance(package.get("name"), str):
        return None
    ranges = tuple(events for entry in _list(item.get("ranges")) if (events := _range(entry, where)) is not None)
    if item.get("versions") is not None and not isinstance(item["versions"], list):
        raise AdvisoryError(f"{where}: 'versions' of an affected entry must be a list, not {item['versions']!r}",
                            hint="the file is not a valid OSV record")
    versions = tuple(version for version in _list(item.get("versions")) if isinstance(version, str))
    return Affected(canonicalize_name(package["name"]), ranges, versions)


def _range(entry: Any, where: str) -> tuple[Event, ...] | None:
    """An ``ECOSYSTEM`` range's events (None for ``GIT``, ``SEMVER`` and unknown types)."""
    if not isinstance(entry, dict) or entry.get("type") != "ECOSYSTEM":
        return None
    if not isinstance(entry.get("events"), list) or not entry["events"]:
        raise AdvisoryError(f"{where}: an ECOSYSTEM range must hold a list of events, not {entry.get('events')!r}",
                            hint="the file is not a valid OSV record")
    events = []
    for event in entry["events"]:
        kinds = [kind for kind in EVENT_KINDS if isinstance(event, dict) and isinstance(event.get(kind), str)]
        if len(kinds) != 1:
            raise AdvisoryError(f"{where}: a range event must hold one of {', '.join(EVENT_KINDS)}, not {event!r}",
                                hint="the file is not a valid OSV record")
        events.append(Event(kinds[0], event[kinds[0]]))
    return tuple(events)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
