"""``pypm audit``: every locked release checked against known vulnerabilities (OSV
advisories), for every environment the lock serves or only this interpreter's, and the
plan and report of ``--fix`` (which re-locks each affected package at its nearest fixed
version; the command line runs that lock under the project's graph lock).

Sources (:mod:`pypm.advisories`): a local OSV database (``--db``), else the OSV service,
falling back to the per-release JSON of the index each release was locked from when the
service cannot be used. A source that cannot answer stops the audit (exit 2); it never
reads as "no vulnerabilities".
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pypm import ui
from pypm.advisories.model import AdvisoryError, AdvisorySource, Release, ServiceError, Vulnerability

if TYPE_CHECKING:
    from packaging.markers import Marker

ALL_ENVIRONMENTS = "all environments"


@dataclass(frozen=True)
class LockedEntry:
    """A package entry of the lock that has a version: the release, its marker (None:
    every environment) and the index it came from (None: find-links)."""

    release: Release
    marker: str | None
    index: str | None


@dataclass(frozen=True)
class Finding:
    """A vulnerability of a locked release, and the markers of the lock entries holding
    that release (None: every environment)."""

    release: Release
    vulnerability: Vulnerability
    markers: tuple[str | None, ...]

    @property
    def environments(self) -> str:
        """``all environments``, or the marker(s) of the environments that install it."""
        if None in self.markers or not self.markers:
            return ALL_ENVIRONMENTS
        texts = [marker for marker in self.markers if marker]
        return texts[0] if len(texts) == 1 else " or ".join(f"({text})" for text in texts)


@dataclass
class AuditReport:
    """What an audit found: the source asked, how many releases, the findings, the ids
    that ``--ignore`` dropped and the scope (``all`` or ``current``)."""

    source: str
    releases: int
    findings: list[Finding]
    ignored: list[str] = field(default_factory=list)
    scope: str = "all"


@dataclass(frozen=True)
class FixPlan:
    """``--fix``: the version to prefer for each affected package (its nearest fixed
    version), and the releases with an advisory that names no fix above them."""

    targets: dict[NormalizedName, Version]
    unfixable: list[Finding]

    @property
    def prefer(self) -> tuple[tuple[str, str], ...]:
        """The targets as a :class:`~pypm.operations.lock_request.LockRequest` ``prefer``."""
        return tuple((name, str(version)) for name, version in sorted(self.targets.items()))


def locked_entries(lock_path: Path, current: bool = False) -> list[LockedEntry]:
    """The lock's entries that have a version (members, which are directories, have
    none); with ``current``, only those whose marker holds for this interpreter."""
    from pypm.lock.reader import read_lock

    lock = read_lock(lock_path)
    features = _features(lock)
    entries = []
    for package in lock.packages:
        if package.version is None:
            continue
        if current and package.marker is not None and not _holds_here(package.marker, features):
            continue
        release = Release(canonicalize_name(package.name), package.version)
        entries.append(LockedEntry(release, str(package.marker) if package.marker else None, package.index))
    return entries


def _features(lock: Any) -> dict[str, set[str]]:
    """Every extra and dependency group the lock names (at the top or in a marker): this
    interpreter may install any selection of them, so ``--current`` counts them all in."""
    from pypm.resolver.markers import named_features

    extras, groups = set(lock.extras or ()), set(lock.dependency_groups or ())
    for package in lock.packages:
        named = named_features(str(package.marker or ""))
        extras |= named["extras"]
        groups |= named["dependency_groups"]
    return {"extras": extras, "dependency_groups": groups}


def _holds_here(marker: Marker, features: dict[str, set[str]]) -> bool:
    """Does ``marker`` hold for the Python running pypm (with every feature on)? A marker
    that cannot be evaluated counts as holding: better audited than skipped."""
    from packaging.markers import default_environment

    environment: dict[str, Any] = {**default_environment(), **features}
    try:
        return marker.evaluate(environment, context="lock_file")
    except Exception:  # noqa: BLE001 - an unevaluable marker is audited, not dropped
        return True


#: The online services ``--service`` names (each a factory of its client).
SERVICES = ("osv",)


def open_source(db: Path | None, entries: list[LockedEntry], offline: bool, service: str = "osv") -> AdvisorySource:
    """The local database at ``db``, else the online ``service`` (with the index fallback)."""
    from pypm.advisories.osv_db import OsvDatabase
    from pypm.advisories.osv_service import OsvService

    if db is not None:
        return OsvDatabase.load(db)
    if offline:
        raise AdvisoryError("pypm is offline (the offline setting), and the OSV service is on the network",
                            hint="audit a local OSV database with --db PATH")
    if service not in SERVICES:
        raise AdvisoryError(f"no advisory service {service!r}", hint=f"services: {', '.join(SERVICES)}")
    return OnlineSource(OsvService(), _json_bases(entries))


def _json_bases(entries: list[LockedEntry]) -> dict[Release, str]:
    """Each release's per-release JSON base, from the index it was locked from."""
    from pypm.advisories.pypi_json import json_api_base

    bases = {}
    for entry in entries:
        base = json_api_base(entry.index) if entry.index else None
        if base is not None:
            bases[entry.release] = base
    return bases


class OnlineSource:
    """The OSV service; when it cannot be used, the per-release JSON of the indexes."""

    def __init__(self, service: AdvisorySource, bases: dict[Release, str]) -> None:
        self.service = service
        self.bases = bases
        self.used: AdvisorySource = service

    def describe(self) -> str:
        """The source that answered the last lookup."""
        return self.used.describe()

    def lookup(self, releases: list[Release]) -> dict[Release, list[Vulnerability]]:
        """Ask the service; on a :class:`ServiceError`, the fallback (its failure is
        reported with the service's, as one line)."""
        from pypm.advisories.pypi_json import PerReleaseJson

        try:
            found = self.service.lookup(releases)
        except ServiceError as exc:
            if not self.bases:
                raise
            fallback = PerReleaseJson(self.bases)
            try:
                found = fallback.lookup(releases)
            except ServiceError as second:
                raise ServiceError(exc.message, hint=f"the fallback failed too: {second.message}; {exc.hint}") from None
            ui.warning(f"{exc.message}; used the {fallback.describe()} instead")
            self.used = fallback
            return found
        self.used = self.service
        return found


def audit(entries: list[LockedEntry], source: AdvisorySource, ignore: tuple[str, ...] = (),
          scope: str = "all") -> AuditReport:
    """Look every distinct locked release up in ``source``; drop the advisories named (by
    id or alias) in ``ignore``."""
    markers: dict[Release, list[str | None]] = {}
    for entry in entries:
        markers.setdefault(entry.release, []).append(entry.marker)
    releases = sorted(markers)
    found = source.lookup(releases) if releases else {}
    findings, ignored = [], []
    for release in releases:
        for vulnerability in sorted(found.get(release, ()), key=lambda v: v.id):
            if any(vulnerability.known_as(name) for name in ignore):
                ignored.append(vulnerability.id)
                continue
            findings.append(Finding(release, vulnerability, tuple(dict.fromkeys(markers[release]))))
    return AuditReport(source.describe(), len(releases), findings, sorted(set(ignored)), scope)


def finding_row(finding: Finding) -> tuple[str, str, str, str, str]:
    """The cells of one finding: name, version, ``ID (aliases)``, ``fixed in ...``,
    ``[environments]``."""
    vulnerability = finding.vulnerability
    aliases = f" ({', '.join(vulnerability.aliases)})" if vulnerability.aliases else ""
    fixed = f"fixed in {', '.join(map(str, vulnerability.fixed))}" if vulnerability.fixed else "no fix known"
    return (finding.release.name, str(finding.release.version), f"{vulnerability.id}{aliases}", fixed,
            f"[{finding.environments}]")


def summary(report: AuditReport) -> str:
    """The closing line: what was found, in how many releases, from which source."""
    where = " (for this interpreter)" if report.scope == "current" else ""
    count = report.releases
    packages = f"{count} locked package{'' if count == 1 else 's'}{where}"
    ignored = f"; ignored {', '.join(report.ignored)}" if report.ignored else ""
    if not report.findings:
        return f"No known vulnerabilities in {packages} ({report.source}){ignored}"
    affected = len({finding.release for finding in report.findings})
    found = len(report.findings)
    return (f"Found {found} known vulnerabilit{'y' if found == 1 else 'ies'} in {affected} of {packages}"
            f" ({report.source}){ignored}")


def report_document(report: AuditReport) -> dict[str, Any]:
    """The report as plain data, for ``--json``."""
    return {
        "source": report.source,
        "scope": report.scope,
        "packages": report.releases,
        "vulnerabilities": [_finding_document(finding) for finding in report.findings],
        "ignored": report.ignored,
    }


def _finding_document(finding: Finding) -> dict[str, Any]:
    vulnerability = finding.vulnerability
    return {
        "name": finding.release.name,
        "version": str(finding.release.version),
        "id": vulnerability.id,
        "aliases": list(vulnerability.aliases),
        "summary": vulnerability.summary,
        "fixed": [str(version) for version in vulnerability.fixed],
        "nearest_fix": str(vulnerability.nearest_fix) if vulnerability.nearest_fix else None,
        "environments": [marker or ALL_ENVIRONMENTS for marker in finding.markers],
    }


def to_json(document: dict[str, Any]) -> str:
    """The JSON text of a document (indented, keys in the order given)."""
    return json.dumps(document, indent=2)


def plan_fix(report: AuditReport) -> FixPlan:
    """Each affected package's target: the highest of its advisories' nearest fixes (one
    version fixing them all, the least move that does), over every locked version of it."""
    targets: dict[NormalizedName, Version] = {}
    unfixable = []
    for finding in report.findings:
        fix = finding.vulnerability.nearest_fix
        if fix is None:
            unfixable.append(finding)
            continue
        name = finding.release.name
        targets[name] = max(fix, targets.get(name, fix))
    return FixPlan(targets, unfixable)


def locked_versions(lock_path: Path) -> dict[NormalizedName, tuple[str, ...]]:
    """name -> its locked versions (members left out)."""
    from pypm.lock.reader import load_lock_data
    from pypm.operations.lock import package_versions

    return {canonicalize_name(name): versions for name, versions in package_versions(load_lock_data(lock_path)).items()}


def fix_lines(plan: FixPlan, before: dict[NormalizedName, tuple[str, ...]],
              after: dict[NormalizedName, tuple[str, ...]]) -> tuple[list[str], list[dict[str, Any]]]:
    """``name: 1.0 -> 1.1`` for each package that moved, a line for each that could not
    (and each with no fix known); and the same as data for ``--json``."""
    lines, moves = [], []
    for name, target in sorted(plan.targets.items()):
        old, new = ", ".join(before.get(name, ())), ", ".join(after.get(name, ()))
        if old != new:
            lines.append(f"{name}: {old} -> {new}")
            moves.append({"name": name, "from": old, "to": new, "wanted": str(target), "moved": True})
        else:
            lines.append(f"{name}: stays at {old}; the lock could not take {target} (a requirement excludes it, "
                         "or the index does not offer it)")
            moves.append({"name": name, "from": old, "to": new, "wanted": str(target), "moved": False})
    for finding in plan.unfixable:
        release = finding.release
        lines.append(f"{release.name}: {finding.vulnerability.id} names no fixed version above {release.version}")
        moves.append({"name": release.name, "from": str(release.version), "to": str(release.version),
                      "wanted": None, "moved": False})
    return lines, moves
