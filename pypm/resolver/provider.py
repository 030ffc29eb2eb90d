"""The resolvelib provider: finds candidates on the index and reads their dependencies.

A requirement is followed when its marker holds in at least one target environment
(one environment for a platform-specific resolution, many for a universal lock); every
edge's marker (extras stripped) is recorded so the lock can give each package a marker.

Requires-Python splits (uv's default ``requires-python`` fork strategy): when a version
the resolver is about to try (its locked version, its newest, or an older one after newer
ones failed) supports only some of the Pythons this resolution serves, the provider records its ``Requires-Python`` in
:attr:`PypmProvider.python_splits` and stops the resolution (:class:`PythonSplitFound`); the
caller forks by that range at once, as uv forks as soon as it meets such a release, so each
Python gets the newest version it can use and no work goes into a result that would be
thrown away. Upper bounds count for the split (a release for ``<3.13`` is not given to 3.13);
where no release supports a Python at all, the newest is taken as uv does, which ignores
upper bounds.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor
from functools import partial
from typing import Any

from packaging.markers import InvalidMarker, Marker
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version
from resolvelib import AbstractProvider

from pypm.errors import ResolutionError
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.index.metadata import DistMetadata
from pypm.resolver.candidates import Candidate, Req, identifier
from pypm.resolver.markers import Condition, EnvironmentSpace, add_condition, python_marker, strip_extra
from pypm.resolver.options import ResolverOptions
from pypm.resolver.tags import TagMasks, unsampled_variants
from pypm.workspace.project import Member

Edge = tuple[str, "Marker | None"]
#: Versions to keep when they still fit: a package's locked version, or its locked versions
#: when the lock forked it (each fork then keeps the newest one it can use).
Preferences = Mapping[NormalizedName, "Version | frozenset[Version]"]


class PlacedVersions(frozenset):  # type: ignore[type-arg]
    """The versions a forked lock holds for one name, each with the marker of its entry
    (None: everywhere), so that each fork prefers the versions locked for it."""

    markers: dict[Version, str | None]

    def __new__(cls, markers: dict[Version, str | None]) -> PlacedVersions:
        placed = super().__new__(cls, markers)
        placed.markers = dict(markers)
        return placed
PYTHON = NormalizedName("<python>")
SdistMetadata = Callable[[FileLink], DistMetadata]


def make_req(requirement: Requirement, parent: str | None, first_party: bool = True,
             reach: frozenset[Condition] | None = None) -> Req:
    """Turn a PEP 508 requirement into a :class:`Req` (``first_party``: asked for by the
    workspace or the user, rather than by a package from the index; ``reach``: see
    :attr:`Req.reach`)."""
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
        first_party=first_party,
        reach=reach,
    )


def lower_bounds(spec: SpecifierSet | None) -> SpecifierSet | None:
    """Only the lower-bound clauses of a ``requires-python`` (upper bounds are ignored:
    they are usually guesses and would make old interpreters' locks unsatisfiable)."""
    if spec is None:
        return None
    kept = [str(s) for s in spec if s.operator in (">", ">=", "~=")]
    return SpecifierSet(",".join(kept)) if kept else None


class PythonSplitFound(Exception):
    """A release supports only part of the Pythons being resolved for: raised out of
    resolvelib so the caller forks by :attr:`PypmProvider.python_splits` right away."""


_WARM_TRIES = 30  # versions looked at for a warm-up guess; the resolver itself looks further


class PypmProvider(AbstractProvider):  # type: ignore[misc]
    """resolvelib provider over an :class:`IndexClient` and the workspace members."""

    def __init__(
        self,
        client: IndexClient,
        members: Mapping[NormalizedName, Member],
        space: EnvironmentSpace,
        lowest_python: Version,
        preferences: Preferences,
        options: ResolverOptions,
        sdist_metadata: SdistMetadata | None = None,
        prefetch: Executor | None = None,
        releases: dict[NormalizedName, dict[Version, list[FileLink]]] | None = None,
        unsplittable: frozenset[str] = frozenset(),
        prune: bool = True,
    ) -> None:
        """``releases``: a cache of each project's files by version, shared by the
        resolutions of one lock's forks (what the index lists does not depend on the fork).
        ``unsplittable``: ``Requires-Python`` ranges a split by was tried and divided nothing.
        ``prune``: leave out a dependency whose marker no path to its parent can hold with
        (see :attr:`skipped`)."""
        self.unsplittable = unsplittable
        self.prune = prune
        #: (identifier, version) -> the edges (child identifier, marker) left out of its
        #: dependencies because no path seen to it could hold with their markers: the
        #: caller checks them against the paths of the result (a requirement added after a
        #: pin is not seen by it).
        self.skipped: dict[tuple[str, Version], list[Edge]] = {}
        self._through_memo: dict[tuple[frozenset[Condition], str], frozenset[Condition]] = {}
        self.client = client
        self.members = members
        self.space = space
        self.lowest_python = lowest_python
        self.preferences = preferences
        self.options = options
        self.sdist_metadata = sdist_metadata
        self.prefetch = prefetch
        self.edges: dict[tuple[str, Version], list[Edge]] = {}
        self._versions: dict[NormalizedName, dict[Version, list[FileLink]]] = {} if releases is None else releases
        self._tag_masks = TagMasks(space.environments)
        self._variant_masks: TagMasks | None = None  # see _serves_unsampled
        self._python_ok: dict[str, bool] = {}
        self.pythons = frozenset(Version(env["python_full_version"]) for env in space.environments)
        self._served: dict[str, frozenset[Version]] = {}
        self._splits: dict[str, bool] = {}  # requires-python -> splits this resolution's Pythons?
        #: ``Requires-Python`` ranges that split this resolution's Pythons, each with the
        #: release that asked for it (``name version``).
        self.python_splits: dict[str, str] = {}
        self._release_python: dict[tuple[NormalizedName, Version], str] = {}
        self._usable_files: dict[tuple[NormalizedName, Version], list[FileLink]] = {}
        self._warming: set[NormalizedName] = set()
        self._warm_guard = threading.Lock()
        #: identifiers some requirement with an ``==`` clause was about (see :meth:`_preference`)
        self._exactly_required: set[str] = set()
        #: id(specifier) -> (the specifier, kept so its id is not reused; version -> whether
        #: it admits the version): resolvelib asks again for every pin on every round
        self._admits: dict[int, tuple[SpecifierSet, dict[Version, bool]]] = {}

    # -- resolvelib contract -------------------------------------------------
    def identify(self, requirement_or_candidate: Req | Candidate) -> str:
        key = requirement_or_candidate.key
        if isinstance(requirement_or_candidate, Req) and requirement_or_candidate.exact:
            self._exactly_required.add(key)
        return key

    def narrow_requirement_selection(
        self,
        identifiers: Iterable[str],
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> list[str]:
        """The one identifier :meth:`get_preference` ranks first: resolvelib then pins it
        without asking for each name's preference on every round (~49,000 calls on a
        150-package lock with forks), and the choice, so the resolution, is the same."""
        causes = {cause.requirement.name for cause in backtrack_causes}
        return [min(identifiers, key=lambda identifier: self._preference(identifier, information, causes))]

    def get_preference(
        self,
        identifier: str,
        resolutions: Mapping[str, Candidate],
        candidates: Mapping[str, Iterator[Candidate]],
        information: Mapping[str, Iterator[Any]],
        backtrack_causes: Sequence[Any],
    ) -> tuple[bool, bool, bool, bool, str]:
        return self._preference(identifier, information, {c.requirement.name for c in backtrack_causes})

    def _preference(self, identifier: str, information: Mapping[str, Iterator[Any]],
                    causes: set[str]) -> tuple[bool, bool, bool, bool, str]:
        """Python first, then workspace members, names in the last conflict, names some
        requirement pins exactly, then by name (the identifier keeps the order total)."""
        # resolvelib identifies every requirement before it enters a criterion's information
        pinned = identifier in self._exactly_required and any(
            info.requirement.exact for info in information[identifier])
        name = identifier.split("[")[0]
        return (name != PYTHON, name not in self.members, name not in causes, not pinned, identifier)

    def find_matches(
        self,
        identifier: str,
        requirements: Mapping[str, Iterator[Req]],
        incompatibilities: Mapping[str, Iterator[Candidate]],
    ) -> list[Candidate] | Callable[[], Iterator[Candidate]]:
        reqs = list(requirements[identifier])
        bad = {c.version for c in incompatibilities[identifier]}
        name, extras = reqs[0].name, reqs[0].extras
        if name == PYTHON:
            ok = all(r.specifier.contains(self.lowest_python, prereleases=True) for r in reqs)
            return [Candidate(PYTHON, self.lowest_python)] if ok else []
        if name in self.members:
            member = self.members[name]
            version = member.version or Version("0")
            fits = member.version is None or all(r.specifier.contains(version, prereleases=True) for r in reqs)
            if not fits or version in bad:
                return []
            return [Candidate(name, version, extras, member=member, reach=self._reach(reqs))]
        return partial(self._matches, name, extras, reqs, bad)

    def _matches(self, name: NormalizedName, extras: frozenset[str], reqs: list[Req],
                 bad: set[Version]) -> Iterator[Candidate]:
        reach = self._reach(reqs)
        for version, files in self._ordered(name, reqs):
            if version not in bad:
                yield Candidate(name, version, extras, files, reach=reach)

    def _reach(self, reqs: list[Req]) -> frozenset[Condition]:
        """Where the requirements on one name hold (empty: everywhere)."""
        if not self.prune:
            return frozenset()
        found: set[Condition] = set()
        for req in reqs:
            reach = req.reach if req.reach is not None else self._through(frozenset(), strip_extra(req.marker))
            if not reach or Condition() in reach:
                return frozenset()
            for condition in reach:
                add_condition(found, condition)
        return frozenset(found)

    def _through(self, reach: frozenset[Condition], marker: Marker | None) -> frozenset[Condition]:
        """The paths of ``reach`` (empty: everywhere) that can hold with ``marker``, each
        extended by it (empty when none can)."""
        if marker is None:
            return reach or frozenset({Condition()})
        key = (reach, self.space.text(marker))
        found = self._through_memo.get(key)
        if found is None:
            conditions: set[Condition] = set()
            for condition in reach or (Condition(),):
                extended = condition.extend(self.space, marker)
                if extended is not None:
                    add_condition(conditions, extended)
            found = self._through_memo[key] = frozenset(conditions)
        return found

    def is_satisfied_by(self, requirement: Req, candidate: Candidate) -> bool:
        if candidate.member is not None and candidate.member.version is None:
            return True
        specifier = requirement.specifier
        known = self._admits.get(id(specifier))
        if known is None or known[0] is not specifier:
            known = self._admits[id(specifier)] = (specifier, {})
        admits = known[1].get(candidate.version)
        if admits is None:
            admits = known[1][candidate.version] = specifier.contains(candidate.version, prereleases=True)
        return admits

    def get_dependencies(self, candidate: Candidate) -> list[Req]:
        if candidate.name == PYTHON:
            return []
        deps: list[Req] = []
        edges: list[Edge] = []
        if candidate.extras:
            base = Req(candidate.name, SpecifierSet(f"=={candidate.version}"), parent=candidate.key,
                       reach=candidate.reach or None)
            deps.append(base)
            edges.append((base.key, None))
        requirements, python = self._requirements(candidate)
        if python is not None:  # the metadata's, where the index gave none
            self._note_split(str(python), f"{candidate.name} {candidate.version}")
        python = lower_bounds(python)
        if python is not None and not python.contains(self.lowest_python, prereleases=True):
            deps.append(Req(PYTHON, python, parent=f"{candidate.name} {candidate.version}"))
        skipped: list[Edge] = []
        for requirement in requirements:
            marker = strip_extra(requirement.marker)
            # Followed only where a path to the parent can hold with its marker: ``y<2;
            # python_version < '3.11'`` of a package only 3.12+ needs binds nothing, as in uv.
            reach = self._through(candidate.reach, marker) if self.prune else None
            if reach is not None and not reach:
                name = canonicalize_name(requirement.name)
                skipped.append((identifier(name, frozenset(map(canonicalize_name, requirement.extras))), marker))
                continue
            req = make_req(requirement, f"{candidate.name} {candidate.version}", candidate.member is not None, reach)
            deps.append(req)
            edges.append((req.key, marker))
        self.edges[(candidate.key, candidate.version)] = edges
        self.skipped[(candidate.key, candidate.version)] = skipped
        for req in deps:
            self.warm(req.name)
        return deps

    def path_markers(self, keys: Iterable[str]) -> list[Marker]:
        """The markers on the edges of every path seen into the identifiers ``keys``
        (each once, in the order found): where none of a path's markers holds, nothing
        reached through it is needed."""
        into: dict[str, list[tuple[str, Marker | None]]] = {}
        for (parent_key, _), edges in self.edges.items():
            for child_key, marker in edges:
                into.setdefault(child_key, []).append((parent_key, marker))
        markers: dict[str, Marker] = {}
        seen: set[str] = set()
        todo = list(keys)
        while todo:
            key = todo.pop()
            if key in seen:
                continue
            seen.add(key)
            for parent_key, marker in into.get(key, ()):
                if marker is not None:
                    markers.setdefault(str(marker), marker)
                todo.append(parent_key)
        return list(markers.values())

    # -- metadata ------------------------------------------------------------
    def _requirements(self, candidate: Candidate) -> tuple[Iterable[Requirement], SpecifierSet | None]:
        if candidate.member is not None:
            member = candidate.member
            if candidate.extras:
                wanted = [r for e in candidate.extras for r in member.optional_dependencies.get(e, [])]
            else:
                wanted = member.dependencies
            return [r for r in wanted if self.space.possible(r.marker)], None
        metadata = self.metadata(candidate.name, candidate.files)
        wanted = sorted(candidate.extras) if candidate.extras else [""]
        selected = []
        for requirement in metadata.requires_dist:
            marker = requirement.marker
            mentions_extra = marker is not None and "extra" in self.space.text(marker)
            if candidate.extras and not mentions_extra:
                continue
            if any(self.space.possible(marker, extra) for extra in wanted):
                selected.append(requirement)
        return selected, metadata.requires_python

    def metadata(self, name: NormalizedName, files: list[FileLink]) -> DistMetadata:
        """Metadata of one version: from a wheel when there is one, else from the sdist."""
        wheels = [f for f in files if f.is_wheel]
        if wheels:
            return self.client.metadata(self._metadata_wheel(wheels))
        sdists = [f for f in files if not f.is_wheel]
        if not sdists or self.sdist_metadata is None:
            raise ResolutionError(f"{files[0].filename if files else name}: no wheel and no buildable sdist")
        return self.sdist_metadata(sdists[0])

    def _metadata_wheel(self, wheels: list[FileLink]) -> FileLink:
        """The wheel whose metadata stands for its version's: one with a PEP 658 file if
        any; offline, one whose metadata the cache has (any wheel of the version will do)."""
        with_metadata = [w for w in wheels if w.metadata is not None]
        choice = (with_metadata or wheels)[0]
        if self.client.offline:
            choice = next((w for w in wheels if self.client.has_metadata(w)), choice)
        return choice

    def warm(self, name: NormalizedName) -> None:
        """Fetch a project's page and its likely version's metadata ahead of need, then
        warm that version's dependencies too, so pages arrive in parallel.

        What needs no request (the page read already or fresh in the cache, and the likely
        version's metadata cached) is not handed to a prefetch thread: its dependencies are
        warmed from here. A thread would only do that work beside the resolver's, taking
        the GIL from it (r150, every page and metadata cached: ~1.9 -> ~1.7 s a lock)."""
        if self.prefetch is None or name in self.members or name == PYTHON:
            return
        with self._warm_guard:
            if name in self._warming:
                return
            self._warming.add(name)
        if self.client.answers_locally(name):
            try:
                files = self._likely_files(name)
                if not files or self.client.has_metadata(self._metadata_wheel(files)):
                    self._warm_dependencies(name, files)
                    return
            except Exception:  # noqa: BLE001 - a failed warm-up is retried for real later
                return
        self.prefetch.submit(self._warm_now, name)

    def _warm_now(self, name: NormalizedName) -> None:
        try:
            self._warm_dependencies(name, self._likely_files(name))
        except Exception:  # noqa: BLE001 - a failed warm-up is retried for real later
            pass

    def _warm_dependencies(self, name: NormalizedName, files: list[FileLink]) -> None:
        """Warm what the version of ``files`` (its wheels; none: nothing) needs here."""
        if not files:
            return
        for requirement in self.metadata(name, files).requires_dist:
            marker = requirement.marker
            if (marker is None or "extra" not in self.space.text(marker)) and self.space.possible(marker):
                self.warm(canonicalize_name(requirement.name))

    def _likely_files(self, name: NormalizedName) -> list[FileLink]:
        """The usable wheels of the version :meth:`_ordered` will most likely try first:
        a preferred version, else the newest final release, that every Python of this
        resolution can use (a fork of older Pythons warms the releases it will take,
        not the newer ones another fork chose)."""
        versions = self._all_versions(name)
        finals = sorted((v for v in versions if not v.is_prerelease), reverse=True) or sorted(versions, reverse=True)
        preferred = sorted(self._preferred(name) & versions.keys(), reverse=True)
        for version in [*preferred, *finals][:_WARM_TRIES]:
            if self._served_by(self._version_python(name, version)) != self.pythons:
                continue
            wheels = [f for f in self._usable(name, version) if f.is_wheel]
            if wheels:
                return wheels
        return []

    # -- candidates ----------------------------------------------------------
    def _all_versions(self, name: NormalizedName) -> dict[Version, list[FileLink]]:
        """Every file on the project's page grouped by version (usability not checked)."""
        cached = self._versions.get(name)
        if cached is not None:
            return cached
        by_version: dict[Version, list[FileLink]] = defaultdict(list)
        for link in self.client.project_files(name):
            parsed = link.parsed  # packaging's parse_wheel_filename / parse_sdist_filename, memoised
            if parsed is not None:
                by_version[parsed[1]].append(link)
        self._versions[name] = dict(by_version)
        return self._versions[name]

    def _usable(self, name: NormalizedName, version: Version) -> list[FileLink]:
        """The files of one version this resolution can use (checked once, on demand)."""
        key = (name, version)
        usable = self._usable_files.get(key)
        if usable is None:
            files = self._all_versions(name).get(version, [])
            usable = self._usable_files[key] = [f for f in files if self._file_usable(name, f)]
        return usable

    def _file_usable(self, name: NormalizedName, link: FileLink) -> bool:
        if link.requires_python and not self._python_allows(link.requires_python):
            return False
        parsed = link.parsed
        if parsed is None or parsed[0] != name:
            return False
        if link.is_wheel:
            return self.options.may_use_wheels(name) and (
                self._tag_masks(parsed[2]) != 0 or self._serves_unsampled(parsed[2]))
        return self.options.may_build(name) and self.sdist_metadata is not None

    def _serves_unsampled(self, tags: frozenset[Tag]) -> bool:
        """Do ``tags`` serve an environment of this universal lock no sample is (PyPy where
        its region holds it, musl Linux)? uv's universal resolution takes such a wheel too.
        A resolution for given environments (no region) has none such."""
        if self._variant_masks is None:
            universal = self.space.domain is not None
            pypy = universal and self.space.possible(Marker("implementation_name == 'pypy'"))
            self._variant_masks = TagMasks(unsampled_variants(self.space.environments, pypy) if universal else [])
        return self._variant_masks(tags) != 0

    def _python_allows(self, requires_python: str) -> bool:
        """Does a file's ``requires-python`` (lower bounds only) admit the lowest Python?"""
        allowed = self._python_ok.get(requires_python)
        if allowed is None:
            from packaging.specifiers import InvalidSpecifier

            try:
                spec = lower_bounds(SpecifierSet(requires_python))
            except InvalidSpecifier:
                spec = None
            allowed = spec is None or spec.contains(self.lowest_python, prereleases=True)
            self._python_ok[requires_python] = allowed
        return allowed

    def _ordered(self, name: NormalizedName, reqs: list[Req]) -> Iterator[tuple[Version, list[FileLink]]]:
        """Allowed versions, best first (the locked one first), each with its usable
        files; lazily, so usually only the newest versions' files are examined."""
        versions = self._all_versions(name)
        combined = SpecifierSet()
        for req in reqs:
            combined &= req.specifier
        allowed = self._prerelease_order(sorted(combined.filter(versions, prereleases=True), reverse=True), reqs,
                                         all(version.is_prerelease for version in versions))
        preferred = self._preferred(name)
        if preferred and self.options.keeps_locked(name):
            allowed.sort(key=lambda version: version not in preferred)
        # Releases for every Python here, or for a part to fork by, first, in the order
        # above; the rest (for no Python here: a locked version another fork serves; an
        # upper bound, for a part that cannot be split off) after them: when nothing else
        # does, the order stands (uv ignores upper bounds).
        allowed.sort(key=lambda version: not self._servable(self._version_python(name, version)))
        for version in allowed:
            # A release for only some of the Pythons forks them, whichever candidate it is
            # (the newest, or one reached after newer ones failed), as uv forks when the
            # version it picks has such a Requires-Python: the Pythons that can use it get it
            # (here its files are not usable: they are checked against the lowest Python).
            self._note_split(self._version_python(name, version), f"{name} {version}")
            files = self._usable(name, version)
            if not files or not self._readable(files):
                continue
            if all(f.yanked is not None for f in files) and not any(r.first_party and r.pins(version) for r in reqs):
                continue
            yield version, [f for f in files if f.yanked is None] or files

    def _servable(self, requires_python: str) -> bool:
        """Does a release for ``requires_python`` serve every Python here, or a part of
        them this resolution can fork by (:meth:`_note_split`)?"""
        if not requires_python:
            return True
        served = self._served_by(requires_python)
        if served == self.pythons:
            return True
        return requires_python not in self.unsplittable and self._splittable(requires_python, served)

    def _splittable(self, requires_python: str, served: frozenset[Version]) -> bool:
        """Some, not all, of this resolution's Pythons are in ``requires_python``."""
        found = self._splits.get(requires_python)
        if found is None:
            found = self._splits[requires_python] = served != self.pythons and (
                bool(served) or self._splits_a_sampled_minor(requires_python))
        return found

    def _preferred(self, name: NormalizedName) -> frozenset[Version]:
        value = self.preferences.get(name)
        if value is None:
            return frozenset()
        if isinstance(value, PlacedVersions):  # a forked lock: the versions locked where this fork is
            here = frozenset(v for v, marker in value.markers.items() if self._placed_here(marker))
            return here or frozenset(value)
        return value if isinstance(value, frozenset) else frozenset({value})

    def _placed_here(self, marker: str | None) -> bool:
        if marker is None:
            return True
        try:
            return self.space.possible(Marker(marker))
        except InvalidMarker:
            return True

    def _version_python(self, name: NormalizedName, version: Version) -> str:
        """The ``Requires-Python`` the index gives for a release's files ("" when none or
        when its files disagree)."""
        key = (name, version)
        found = self._release_python.get(key)
        if found is None:
            values = {f.requires_python for f in self._all_versions(name).get(version, []) if f.requires_python}
            found = self._release_python[key] = values.pop() if len(values) == 1 else ""
        return found

    def _served_by(self, requires_python: str) -> frozenset[Version]:
        """The Pythons of this resolution that ``requires_python`` (bounds in full) admits."""
        served = self._served.get(requires_python)
        if served is None:
            from packaging.specifiers import InvalidSpecifier

            try:
                spec = SpecifierSet(requires_python)
            except InvalidSpecifier:
                spec = SpecifierSet()
            served = self._served[requires_python] = frozenset(
                python for python in self.pythons if spec.contains(python, prereleases=True)
            )
        return served

    def _note_split(self, requires_python: str, release: str) -> None:
        """Record a ``Requires-Python`` that admits some, not all, of this resolution's
        Pythons, and stop the resolution (:class:`PythonSplitFound`)."""
        if requires_python and requires_python not in self.python_splits and requires_python not in self.unsplittable:
            # no sample served, yet part of the domain is (``>=3.11.5`` in a fork of 3.11.x
            # whose sample is 3.11.0): split too, the caller makes an environment for that part
            if self._splittable(requires_python, self._served_by(requires_python)):
                self.python_splits[requires_python] = release
                raise PythonSplitFound(requires_python)

    def _splits_a_sampled_minor(self, requires_python: str) -> bool:
        """A range no sample is in, starting inside a sampled minor (``>=3.11.5`` with 3.11.0
        sampled) and able to hold in the domain; not one for a Python above every sample."""
        minors = {python.release[:2] for python in self.pythons}
        try:
            inside = any(s.operator in (">=", ">") and Version(s.version).release[:2] in minors
                         for s in SpecifierSet(requires_python))
        except ValueError:  # InvalidSpecifier and InvalidVersion are ValueErrors
            return False
        return inside and self._may_hold(requires_python)

    def _may_hold(self, requires_python: str) -> bool:
        """Can a Python of this resolution's domain satisfy ``requires_python`` (bounds in full)?"""
        from packaging.markers import InvalidMarker
        from packaging.specifiers import InvalidSpecifier

        try:
            return bool(SpecifierSet(requires_python)) and self.space.possible(python_marker(requires_python))
        except (InvalidSpecifier, InvalidMarker):
            return False

    def _readable(self, files: list[FileLink]) -> bool:
        """Can this version be locked? Offline, only when a wheel's metadata is in the
        cache (or the version has only sdists, which the build frontend reads) and every
        file's size and hash are known, so an offline lock chooses among what the cache
        holds, as uv's ``--offline`` does."""
        if not self.client.offline:
            return True
        wheels = [f for f in files if f.is_wheel]
        readable = not wheels or any(self.client.has_metadata(w) for w in wheels)
        return readable and all(self.client.knows_facts(f) for f in files)

    def _prerelease_order(self, newest_first: list[Version], reqs: list[Req], only_prereleases: bool) -> list[Version]:
        """The pre-release policy applied to versions that satisfy every requirement.

        - ``allow``: every version; ``disallow``: final releases only;
        - ``explicit``: pre-releases too when one of the workspace's own requirements names
          one (``>=2.0b1``), as uv's ``explicit``;
        - ``if-necessary-or-explicit`` (the default, uv's default): also when every version
          of the package is a pre-release (``only_prereleases``). The shared resolver
          scenarios (the known answers pypm must match) expect this: with a final release
          available, a pre-release needs an opt-in even when only it would satisfy a range;
        - ``if-necessary``: PEP 440's rule, also when no final release satisfies the
          requirements (``alpha>=2`` with ``1.0`` and ``2.1b1`` takes ``2.1b1``). uv's mode
          of that name stops at ``only_prereleases``; PEP 440 comes first here."""
        mode = self.options.prereleases
        finals = [version for version in newest_first if not version.is_prerelease]
        if mode == "allow":
            return newest_first
        if mode == "disallow":
            return finals
        explicit = any(r.first_party and any(s.prereleases for s in r.specifier) for r in reqs)
        wanted = {
            "explicit": explicit,
            "if-necessary": explicit or only_prereleases or not finals,
        }.get(mode, explicit or only_prereleases)
        return newest_first if wanted else finals

    def available_versions(self, name: NormalizedName) -> list[Version]:
        """Every usable version of ``name`` (for error messages)."""
        return sorted(v for v in self._all_versions(name) if self._usable(name, v))
