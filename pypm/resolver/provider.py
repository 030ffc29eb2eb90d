"""The resolvelib provider: finds candidates on the index and reads their dependencies.

Universal mode: a requirement is followed when its marker holds in at least one sampled
environment; every edge's marker (extras stripped) is recorded for the lock's markers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from typing import Any

from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider

from pypm.errors import ResolutionError
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.resolver.candidates import Candidate, Req
from pypm.resolver.markers import EnvironmentSpace, strip_extra
from pypm.resolver.tags import tags_mask
from pypm.workspace.project import Member

Edge = tuple[str, "Marker | None"]


def make_req(requirement: Requirement, parent: str | None) -> Req:
    """Turn a PEP 508 requirement into a :class:`Req`."""
    if requirement.url:
        raise ResolutionError(
            f"{parent or 'the workspace'} requires {requirement}: direct URL requirements are not supported",
            hint="depend on a name from the index, or add the project as a workspace member",
        )
    return Req(
        name=canonicalize_name(requirement.name),
        specifier=requirement.specifier,
        extras=frozenset(canonicalize_name(e) for e in requirement.extras),
        marker=requirement.marker,
        parent=parent,
        text=str(requirement),
    )


class PypmProvider(AbstractProvider):  # type: ignore[misc]
    """resolvelib provider over an :class:`IndexClient` and the workspace members."""

    def __init__(
        self,
        client: IndexClient,
        members: Mapping[NormalizedName, Member],
        space: EnvironmentSpace,
        lowest_python: Version | None,
        preferences: Mapping[NormalizedName, Version],
        prefetch: Executor | None = None,
    ) -> None:
        self.client = client
        self.members = members
        self.space = space
        self.lowest_python = lowest_python
        self.preferences = preferences
        self.prefetch = prefetch
        self.edges: dict[tuple[str, Version], list[Edge]] = {}
        self._versions: dict[NormalizedName, dict[Version, list[FileLink]]] = {}

    # -- resolvelib contract -------------------------------------------------
    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        return requirement_or_candidate.key

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, bool, bool, str]:
        infos = list(information[identifier])
        pinned = any(str(s).startswith("==") for info in infos for s in info.requirement.specifier)
        causes = {c.requirement.name for c in backtrack_causes}
        name = identifier.split("[")[0]
        return (name not in self.members, name not in causes, not pinned, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate]:
        reqs = list(requirements[identifier])
        bad = {c.version for c in incompatibilities[identifier]}
        name = reqs[0].name
        extras = reqs[0].extras
        if name in self.members:
            member = self.members[name]
            version = member.version or Version("0")
            return [] if version in bad else [Candidate(name, version, extras, member=member)]
        return [
            Candidate(name, version, extras, files)
            for version, files in self._ordered(name, reqs)
            if version not in bad
        ]

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if candidate.member is not None:
            return candidate.member.version is None or requirement.specifier.contains(
                candidate.version, prereleases=True
            )
        return requirement.specifier.contains(candidate.version, prereleases=True)

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        deps: list[Req] = []
        edges: list[Edge] = []
        if candidate.extras:
            base = Req(candidate.name, SpecifierSet(f"=={candidate.version}"), parent=candidate.key)
            deps.append(base)
            edges.append((base.key, None))
        for requirement in self._requirements(candidate):
            req = make_req(requirement, f"{candidate.name} {candidate.version}")
            deps.append(req)
            edges.append((req.key, strip_extra(requirement.marker)))
        self.edges[(candidate.key, candidate.version)] = edges
        for req in deps:
            self._warm(req.name)
        return deps

    # -- helpers -------------------------------------------------------------
    def _requirements(self, candidate: Candidate) -> Iterable[Requirement]:
        if candidate.member is not None:
            member = candidate.member
            if candidate.extras:
                return [r for e in candidate.extras for r in member.optional_dependencies.get(e, [])]
            return member.dependencies
        metadata = self.client.metadata(self._metadata_file(candidate))
        wanted = sorted(candidate.extras) if candidate.extras else [""]
        selected = []
        for requirement in metadata.requires_dist:
            marker = requirement.marker
            mentions_extra = marker is not None and "extra" in str(marker)
            if candidate.extras and not mentions_extra:
                continue
            if any(self.space.mask(marker, extra) for extra in wanted):
                selected.append(requirement)
        return selected

    def _metadata_file(self, candidate: Candidate) -> FileLink:
        wheels = candidate.wheels
        if not wheels:
            raise ResolutionError(f"{candidate.name} {candidate.version} has no wheel")
        with_metadata = [w for w in wheels if w.metadata is not None]
        return (with_metadata or wheels)[0]

    def _warm(self, name: NormalizedName) -> None:
        """Fetch a project's page (and its best wheel's metadata) ahead of need."""
        if self.prefetch is None or name in self.members or name in self._versions:
            return
        self.prefetch.submit(self._warm_now, name)

    def _warm_now(self, name: NormalizedName) -> None:
        try:
            versions = self._all_versions(name)
            for version in sorted(versions, reverse=True)[:1]:
                self.client.metadata(self._metadata_file(Candidate(name, version, files=versions[version])))
        except Exception:  # noqa: BLE001 - a failed warm-up is retried for real later
            pass

    def _all_versions(self, name: NormalizedName) -> dict[Version, list[FileLink]]:
        cached = self._versions.get(name)
        if cached is not None:
            return cached
        by_version: dict[Version, list[FileLink]] = defaultdict(list)
        for link in self.client.project_files(name):
            parsed = link.parsed
            if parsed is None or parsed[0] != name or not self._file_usable(link):
                continue
            by_version[parsed[1]].append(link)
        usable = {v: files for v, files in by_version.items() if any(f.is_wheel for f in files)}
        self._versions[name] = usable
        return usable

    def _file_usable(self, link: FileLink) -> bool:
        spec = link.python_specifier
        if spec is not None and self.lowest_python is not None:
            if not spec.contains(self.lowest_python, prereleases=True):
                return False
        if link.is_wheel:
            parsed = link.parsed
            return parsed is not None and tags_mask(parsed[2], self.space.environments) != 0
        return True

    def _ordered(self, name: NormalizedName, reqs: list[Req]) -> list[tuple[Version, list[FileLink]]]:
        versions = self._all_versions(name)
        combined = SpecifierSet()
        for req in reqs:
            combined &= req.specifier
        allowed = set(combined.filter(versions))
        chosen = []
        for version in sorted(allowed, reverse=True):
            files = versions[version]
            if all(f.yanked is not None for f in files) and not any(r.pins(version) for r in reqs):
                continue
            chosen.append((version, [f for f in files if f.yanked is None] or files))
        preferred = self.preferences.get(name)
        chosen.sort(key=lambda item: item[0] != preferred)
        return chosen

    def available_versions(self, name: NormalizedName) -> list[Version]:
        """Every usable version of ``name`` (for error messages)."""
        return sorted(self._all_versions(name))
