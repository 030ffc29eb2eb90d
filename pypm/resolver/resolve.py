"""Resolve a workspace: root requirements in, locked packages with markers out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import InvalidVersion, Version
from resolvelib import BaseReporter
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from pypm.errors import ResolutionError
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.resolver.candidates import Candidate, Req
from pypm.resolver.environments import lowest_python, universal_environments
from pypm.resolver.forks import Fork, split_environments
from pypm.resolver.marker_algebra import conjunction_text
from pypm.resolver.markers import (
    Condition,
    EnvironmentSpace,
    add_condition,
    atoms_mask,
    can_hold,
    feature_extra,
    feature_group,
    python_marker,
    render_marker,
    strip_extra,
)
from pypm.resolver.options import ResolverOptions
from pypm.resolver.pin_memo import PinMemoResolution
from pypm.resolver.provider import PYTHON, Preferences, PypmProvider, PythonSplitFound, SdistMetadata, make_req
from pypm.resolver.tags import tags_mask
from pypm.workspace.discovery import relative_posix
from pypm.workspace.model import Workspace
from pypm.workspace.project import Member

MAX_ROUNDS = 20000
#: Threads fetching pages and metadata ahead of the resolver: waiting on the index, not
#: the CPU (r150 cold: 16 took 3.6-3.9 s where 8 took 4.3-5.2 s; uv fetches 50 at once).
PREFETCH_THREADS = 16
#: Rounds for the exhaustive search run after a conflict no fork resolves (see
#: :mod:`pypm.resolver.exhaustive`); past them the first search's explanation stands.
EXHAUSTIVE_ROUNDS = 5000
#: A conflict is split by the markers on the paths to it only up to this many of them.
MAX_PATH_SPLIT = 6


@dataclass
class LockedPackage:
    """A resolved package: version, files, marker and direct dependencies."""

    name: NormalizedName
    version: Version
    files: list[FileLink] = field(default_factory=list)
    marker: str | None = None
    dependencies: list[NormalizedName] = field(default_factory=list)
    is_member: bool = False
    #: The versions of each dependency this entry was resolved with (more than one when
    #: the dependency forked and this entry serves several forks).
    dependency_versions: dict[NormalizedName, set[Version]] = field(default_factory=dict)


@dataclass(frozen=True)
class Uncovered:
    """A locked package with no file that installs in some environments that need it."""

    name: NormalizedName
    version: Version
    marker: str | None
    environments: tuple[dict[str, str], ...]

    @property
    def platforms(self) -> list[str]:
        """The uncovered environments' platforms (``sys_platform platform_machine``)."""
        return sorted({f"{env['sys_platform']} {env['platform_machine']}" for env in self.environments})


@dataclass
class Resolution:
    """The outcome of resolving: every locked entry (a name appears more than once only
    when forks chose different versions, under disjoint markers)."""

    entries: list[LockedPackage]
    #: The markers of the forks the resolution split into (empty when it did not), for the
    #: lock to record so that the next lock starts from the same split (least churn).
    fork_markers: list[str] = field(default_factory=list)
    #: Packages left without a file for some environments (the lock still records them;
    #: ``pypm lock`` warns, a sync there fails, ``required-environments`` makes it an error).
    uncovered: list[Uncovered] = field(default_factory=list)

    @property
    def packages(self) -> dict[NormalizedName, LockedPackage]:
        """Entries by name (the first entry of each name)."""
        by_name: dict[NormalizedName, LockedPackage] = {}
        for entry in self.entries:
            by_name.setdefault(entry.name, entry)
        return by_name


RootEdge = tuple[Req, Condition]


def root_requirements(workspace: Workspace) -> list[RootEdge]:
    """Every member, each member extra, and every group's requirements, with conditions."""
    edges: list[RootEdge] = []
    for member in workspace.members.values():
        if member.path_dependency:
            continue  # resolved where a member requires it, as any package
        label = f"{member.name} ({relative_posix(member.pyproject.parent, workspace.root)})"
        edges.append((Req(member.name, member_spec(member), parent="workspace", first_party=True), Condition()))
        for extra in member.optional_dependencies:
            req = Req(member.name, member_spec(member), frozenset({extra}), parent=label, first_party=True)
            edges.append((req, Condition(frozenset({extra_feature(workspace.extra_names(member.name, extra))}))))
    for group, entries in workspace.groups().items():
        for owner, requirement in entries:
            label = f"{owner} (group {group})"
            edges.append((make_req(requirement, label), Condition(frozenset({feature_group(group)}))))
    return edges


def extra_feature(names: list[str]) -> str:
    """The marker term for a member's extra, installed under any of the lock's ``names``
    for it (its plain name, and its scoped name when several members declare it)."""
    terms = sorted(feature_extra(name) for name in names)
    return terms[0] if len(terms) == 1 else f"({' or '.join(terms)})"


def member_spec(member: Member) -> SpecifierSet:
    """A specifier accepting exactly the member's version (any when dynamic)."""
    return SpecifierSet(f"=={member.version}" if member.version is not None else "")


def resolve(
    workspace: Workspace,
    client: IndexClient,
    preferences: Preferences | None = None,
    options: ResolverOptions | None = None,
    sdist_metadata: SdistMetadata | None = None,
    forks: Sequence[str] = (),
) -> Resolution:
    """Resolve the whole workspace universally; raise :class:`ResolutionError` on conflict.
    ``forks``: the fork markers of the previous lock, to start from the same split when
    they still divide the environments (each part may split further)."""
    limits = workspace.settings["environments"]
    environments = universal_environments(workspace.requires_python, limits,
                                          workspace.settings["required-environments"])
    if not environments:
        where = " within the environments setting" if limits else ""
        raise ResolutionError(
            f"requires-python {workspace.requires_python} allows no supported Python (3.8-3.15){where}",
            hint="check requires-python and the environments setting",
        )
    return resolve_roots(
        root_requirements(workspace), workspace.members, client, environments,
        options or ResolverOptions(), preferences or {}, sdist_metadata, forks,
    )


def resolve_requirements(
    requirements: list[str],
    client: IndexClient,
    environments: list[dict[str, str]],
    options: ResolverOptions | None = None,
    preferences: Preferences | None = None,
    sdist_metadata: SdistMetadata | None = None,
) -> Resolution:
    """Resolve plain PEP 508 strings for the given environments (no workspace needed)."""
    from packaging.requirements import InvalidRequirement, Requirement

    roots = []
    for text in requirements:
        try:
            roots.append((make_req(Requirement(text), "the root"), Condition()))
        except InvalidRequirement as exc:
            raise ResolutionError(f"invalid requirement {text!r}: {exc}") from None
    return resolve_roots(
        roots, {}, client, environments, options or ResolverOptions(), preferences or {}, sdist_metadata
    )


def resolve_roots(
    roots: list[RootEdge],
    members: Mapping[NormalizedName, Member],
    client: IndexClient,
    environments: list[dict[str, str]],
    options: ResolverOptions,
    preferences: Preferences,
    sdist_metadata: SdistMetadata | None,
    forks: Sequence[str] = (),
) -> Resolution:
    """Run resolvelib from root requirements (each with the condition that brings it),
    forking the environments where requirements with markers conflict."""
    pool = ThreadPoolExecutor(max_workers=PREFETCH_THREADS, thread_name_prefix="pypm-prefetch")
    try:
        solver = _Solver(roots, members, client, options, sdist_metadata, pool)
        solved = solver.solve_from(environments, dict(preferences), forks)
    finally:
        # Queued speculative fetches are dropped; the few already running are joined, so no
        # background thread writes into the cache after `resolve` returns.
        pool.shutdown(wait=True, cancel_futures=True)
    space = EnvironmentSpace(environments)
    path_dependencies = frozenset(name for name, member in members.items() if member.path_dependency)
    entries, uncovered = _merge(solved, space, path_dependencies)
    markers = sorted({conjunction_text(atoms) for _, atoms in solved}) if len(solved) > 1 else []
    return Resolution(entries, markers, uncovered)


def _recorded_parts(forks: Sequence[str], environments: list[dict[str, str]]) -> list[Fork] | None:
    """The environments divided by recorded fork markers; None unless every marker is
    valid and they split the environments into disjoint, non-empty parts covering all."""
    if len(forks) < 2:
        return None
    space = EnvironmentSpace(environments)
    try:
        masks = [space.mask(Marker(text)) for text in forks]
    except InvalidMarker:
        return None
    union = 0
    for mask in masks:
        if mask == 0 or union & mask:
            return None
        union |= mask
    if union != space.full:
        return None
    return [
        ([env for index, env in enumerate(environments) if mask >> index & 1], frozenset({text}))
        for text, mask in zip(forks, masks, strict=True)
    ]


@dataclass
class _Solved:
    """One resolution of a set of environments (markers not rendered yet)."""

    packages: dict[NormalizedName, LockedPackage]
    conditions: dict[NormalizedName, set[Condition]]


class _Conflict(Exception):
    """No resolution: ``markers`` are those of the conflicting requirements; ``path_markers``
    those on the paths that reach the packages that made them."""

    def __init__(self, explained: tuple[str, str | None], markers: list[Marker],
                 path_markers: list[Marker]) -> None:
        super().__init__(explained[0])
        self.message, self.hint = explained
        self.markers, self.path_markers = markers, path_markers


class _PythonSplit(Exception):
    """Some package's preferred release supports only part of the Pythons being resolved
    for: fork by these markers (one per ``Requires-Python`` range) and resolve each part."""

    def __init__(self, markers: list[Marker], specs: frozenset[str]) -> None:
        super().__init__("requires-python split")
        self.markers, self.specs = markers, specs


def split_markers(specs: Sequence[str]) -> list[Marker]:
    """The markers to fork by for these ``Requires-Python`` ranges. A bound inside a minor
    version (``>=3.11.5``) also splits at the next minor, so the part of that minor it
    admits (3.11.5 up to 3.12) is a fork of its own, resolved for an environment made for
    it (the samples hold one patch release per minor); uv forks there the same way."""
    markers = [python_marker(spec) for spec in specs]
    for spec in specs:
        for clause in SpecifierSet(spec):
            try:
                release = Version(clause.version).release
            except InvalidVersion:
                continue
            if len(release) >= 3 and release[2] > 0:
                markers.append(Marker(f"python_full_version >= '{release[0]}.{release[1] + 1}'"))
    return markers


class _Solver:
    """Resolves root requirements for a set of environments, forking on conflicts."""

    def __init__(self, roots: list[RootEdge], members: Mapping[NormalizedName, Member], client: IndexClient,
                 options: ResolverOptions, sdist_metadata: SdistMetadata | None, pool: ThreadPoolExecutor) -> None:
        self.roots, self.members, self.client = roots, members, client
        self.options, self.sdist_metadata, self.pool = options, sdist_metadata, pool
        self.releases: dict[NormalizedName, dict[Version, list[FileLink]]] = {}  # shared by every fork

    def solve_from(
        self,
        environments: list[dict[str, str]],
        preferences: dict[NormalizedName, Version | frozenset[Version]],
        forks: Sequence[str],
    ) -> list[tuple[_Solved, frozenset[str]]]:
        """:meth:`solve_with_forks`, starting from the recorded ``forks`` when they divide
        ``environments``."""
        parts = _recorded_parts(forks, environments)
        if parts is None:
            return self.solve_with_forks(environments, preferences)
        return self._solve_parts(parts, preferences, frozenset())

    def _solve_parts(
        self,
        parts: list[Fork],
        preferences: dict[NormalizedName, Version | frozenset[Version]],
        within: frozenset[str],
    ) -> list[tuple[_Solved, frozenset[str]]]:
        """Each part resolved on its own. Only the previous lock's versions are preferred:
        one fork's choices are not preferred in the next, so no fork gets older versions
        for having been solved after another (``vv`` held at 1.0 everywhere because the
        fork of ``xx>=2`` needed ``vv<2``; uv 0.13.9 locks each fork's newest)."""
        solved = []
        for fork_environments, atoms in parts:
            for result, inner in self.solve_with_forks(fork_environments, preferences, within | atoms):
                solved.append((result, atoms | inner))
        return solved

    def solve_with_forks(
        self,
        environments: list[dict[str, str]],
        preferences: dict[NormalizedName, Version | frozenset[Version]],
        within: frozenset[str] = frozenset(),
        unsplittable: frozenset[str] = frozenset(),
    ) -> list[tuple[_Solved, frozenset[str]]]:
        """Solutions with the marker atoms of the fork each one serves (``within``: the
        atoms of the fork these environments already are, for error messages;
        ``unsplittable``: ``Requires-Python`` ranges not to split by again)."""
        try:
            return [(self.solve(environments, preferences, within, unsplittable), frozenset())]
        except (_Conflict, _PythonSplit) as reason:
            forks = split_environments(reason.markers, environments, within)
            if forks is None and isinstance(reason, _PythonSplit):  # no environment could be made for the part
                return self.solve_with_forks(environments, preferences, within, unsplittable | reason.specs)
            if forks is None and len(reason.path_markers) <= MAX_PATH_SPLIT:
                # The conflict may come from packages only some environments reach
                # (through `c; sys_platform == "win32"` then `d; sys_platform != "win32"`:
                # none): split by the markers on the way to them, and where a path cannot
                # hold its packages drop out. uv 0.13.9 says "unsatisfiable" instead.
                forks = split_environments(reason.path_markers, environments, within)
            if forks is None:
                return [(self._solve_exhaustively(environments, preferences, within, unsplittable, reason),
                         frozenset())]
            return self._solve_parts(forks, preferences, within)

    def _solve_exhaustively(
        self, environments: list[dict[str, str]], preferences: Preferences, within: frozenset[str],
        unsplittable: frozenset[str], reason: _Conflict,
    ) -> _Solved:
        """The exhaustive search's solution after ``reason`` ended the first search with
        nothing to fork by; that conflict as a :class:`ResolutionError` when it finds none."""
        try:
            return self.solve(environments, preferences, within, unsplittable, exhaustive=True)
        except (_Conflict, _PythonSplit, ResolutionError):
            raise ResolutionError(_in_fork(reason.message, within), hint=reason.hint) from None

    def solve(
        self, environments: list[dict[str, str]], preferences: Preferences, within: frozenset[str] = frozenset(),
        unsplittable: frozenset[str] = frozenset(), exhaustive: bool = False,
    ) -> _Solved:
        """One resolution for all of ``environments`` (the fork ``within`` names);
        :class:`_Conflict` when impossible (``exhaustive``: by chronological backtracking,
        see :mod:`pypm.resolver.exhaustive`).

        A dependency no path to its parent can hold with is left out (its constraint binds
        nothing); when the result has a path that needs one after all (a requirement on the
        parent came after its pin), it is resolved again following every dependency."""
        space = EnvironmentSpace(environments, within=within)
        roots = [(req, cond) for req, cond in self.roots if space.possible(req.marker)]
        solved = self._solve_once(space, roots, preferences, unsplittable, exhaustive, prune=True)
        if solved is None:
            solved = self._solve_once(space, roots, preferences, unsplittable, exhaustive, prune=False)
        assert solved is not None
        return solved

    def _solve_once(
        self, space: EnvironmentSpace, roots: list[RootEdge], preferences: Preferences,
        unsplittable: frozenset[str], exhaustive: bool, prune: bool,
    ) -> _Solved | None:
        """:meth:`solve` with or without leaving dependencies out (``prune``); None when
        a path of the result needs a dependency left out."""
        from pypm.resolver.explain import explain_impossible

        provider = PypmProvider(self.client, self.members, space, lowest_python(space.environments), preferences,
                                self.options, self.sdist_metadata, self.pool, self.releases, unsplittable, prune)
        for req, _ in roots:
            provider.warm(req.name)
        try:
            mapping = resolve_mapping(provider, [r for r, _ in roots], exhaustive)
        except ResolutionImpossible as exc:
            markers = [strip_extra(c.requirement.marker) for c in exc.causes]
            parents = [c.parent.key for c in exc.causes if c.parent is not None]
            raise _Conflict(explain_impossible(exc, provider), [m for m in markers if m is not None],
                            provider.path_markers(parents)) from None
        except PythonSplitFound:  # the Pythons that can use the newer release resolve apart
            specs = sorted(provider.python_splits)
            raise _PythonSplit(split_markers(specs), frozenset(specs)) from None
        except ResolutionTooDeep:
            raise ResolutionError(
                "resolution took too many steps without finding a solution",
                hint="narrow the version ranges of your dependencies",
            ) from None
        by_key = _propagate(mapping, provider, roots, space)
        if prune and _skipped_needed(mapping, provider, by_key, space):
            return None
        return _Solved(_collect(mapping, provider), _by_name(mapping, by_key))


def _skipped_needed(mapping: Mapping[str, Candidate], provider: PypmProvider,
                    by_key: dict[str, set[Condition]], space: EnvironmentSpace) -> bool:
    """Does a path of the result to a pinned package hold with a dependency of it that
    the provider left out?"""
    for key, candidate in mapping.items():
        for _child, marker in provider.skipped.get((key, candidate.version), ()):
            if any(condition.extend(space, marker) is not None for condition in by_key.get(key, ())):
                return True
    return False


def _in_fork(message: str, atoms: frozenset[str]) -> str:
    """``message``, naming the fork (its markers) when the conflict happened inside one."""
    if not atoms:
        return message
    return f"{message} (in the fork where {conjunction_text(atoms)})"


def _collect(mapping: Mapping[str, Candidate], provider: PypmProvider) -> dict[NormalizedName, LockedPackage]:
    packages: dict[NormalizedName, LockedPackage] = {}
    for key, candidate in mapping.items():
        if candidate.name == PYTHON:
            continue
        package = packages.setdefault(
            candidate.name,
            LockedPackage(candidate.name, candidate.version, candidate.files, is_member=candidate.member is not None),
        )
        for child_key, _ in provider.edges.get((key, candidate.version), []):
            child = mapping[child_key].name
            if child != candidate.name and child not in package.dependencies:
                package.dependencies.append(child)
            if child != candidate.name:
                package.dependency_versions.setdefault(child, set()).add(mapping[child_key].version)
    return packages


def _merge(
    solved: list[tuple[_Solved, frozenset[str]]], space: EnvironmentSpace,
    path_dependencies: frozenset[str] = frozenset(),
) -> tuple[list[LockedPackage], list[Uncovered]]:
    """One entry per (name, version) over all forks, each with its marker rendered (a
    member's only when it is a path dependency: members are always installed), and the
    entries some environments that need them have no file for."""
    entries: dict[tuple[NormalizedName, Version], LockedPackage] = {}
    conditions: dict[tuple[NormalizedName, Version], set[Condition]] = {}
    impossible: set[tuple[NormalizedName, Version]] = set()  # had a path that cannot hold
    # Most entries share their conditions (r150: 26 distinct sets among 222 entries, 62
    # distinct conditions among 973 checks): each is decided once.
    holds: dict[Condition, bool] = {}
    rendered: dict[frozenset[Condition], str | None] = {}

    def render(found: set[Condition]) -> str | None:
        key = frozenset(found)
        if key not in rendered:
            rendered[key] = render_marker(found, space)
        return rendered[key]

    for result, fork_atoms in solved:
        for name, package in result.packages.items():
            key = (name, package.version)
            entry = entries.setdefault(key, LockedPackage(name, package.version, [], is_member=package.is_member))
            # each fork kept the files usable on its own Pythons and platforms: the entry has them all
            known = {link.filename for link in entry.files}
            entry.files.extend(link for link in package.files if link.filename not in known)
            entry.dependencies = sorted(set(entry.dependencies) | set(package.dependencies))
            for child, versions in package.dependency_versions.items():
                entry.dependency_versions.setdefault(child, set()).update(versions)
            target = conditions.setdefault(key, set())
            for condition in result.conditions.get(name, set()):
                merged = Condition(condition.features, condition.atoms | fork_atoms)
                if merged not in holds:
                    holds[merged] = can_hold(merged, space)
                if holds[merged]:  # a path the fork's own markers contradict needs nothing
                    add_condition(target, merged)
                else:
                    impossible.add(key)
    _drop_unneeded(entries, conditions, impossible)
    uncovered = []
    for key, entry in entries.items():
        if entry.is_member and entry.name in path_dependencies:
            entry.marker = render(conditions[key])
        elif not entry.is_member:
            entry.marker = render(conditions[key])
            missing = _uncovered_environments(entry, conditions[key], space)
            if missing:
                uncovered.append(Uncovered(entry.name, entry.version, entry.marker, missing))
    return [entries[key] for key in sorted(entries)], uncovered


def resolve_mapping(provider: PypmProvider, requirements: list[Req],
                    exhaustive: bool = False) -> dict[NormalizedName, Candidate]:
    """Resolve and return the pinned candidates connected to the root requirements
    (``exhaustive``: by :class:`ChronologicalResolution`, within ``EXHAUSTIVE_ROUNDS``).

    This is ``resolvelib.Resolver.resolve`` with its last step (``_build_result``) done
    here: resolvelib 1.2.1 decides whether a pin still has a route to the root by a
    recursion without a visited set, which never ends when pins left over from an
    abandoned branch require each other (b -> c -> b), so a satisfiable lock failed with a
    RecursionError. The same walk, iterated to a fixed point, keeps exactly what resolvelib
    would keep."""
    if exhaustive:
        from pypm.resolver.exhaustive import ChronologicalResolution

        state = ChronologicalResolution(provider, BaseReporter()).resolve(requirements, max_rounds=EXHAUSTIVE_ROUNDS)
    else:
        state = PinMemoResolution(provider, BaseReporter()).resolve(requirements, max_rounds=MAX_ROUNDS)
    key_of = {id(candidate): key for key, candidate in state.mapping.items()}
    connected: set[NormalizedName | None] = {None}
    grew = True
    while grew:
        grew = False
        for key, criterion in state.criteria.items():
            if key in connected:
                continue
            for parent in criterion.iter_parent():
                parent_key = None if parent is None else key_of.get(id(parent), _NO_PIN)
                if parent_key in connected:
                    connected.add(key)
                    grew = True
                    break
    return {key: candidate for key, candidate in state.mapping.items() if key in connected}


_NO_PIN = object()  # a parent that is not pinned any more: no route through it


def _drop_unneeded(entries: dict[tuple[NormalizedName, Version], LockedPackage],
                   conditions: dict[tuple[NormalizedName, Version], set[Condition]],
                   impossible: set[tuple[NormalizedName, Version]]) -> None:
    """Remove the entries no environment needs: no path to them can hold (each contradicts
    a marker on the way or its fork's markers; uv leaves such a package out too), and the
    references to them."""
    dropped = {key for key, entry in entries.items() if not conditions.get(key) and not entry.is_member}
    for key in dropped:
        del entries[key]
        del conditions[key]
    if not dropped:
        return
    remaining = {name for name, _ in entries}
    for entry in entries.values():
        entry.dependencies = [child for child in entry.dependencies if child in remaining]
        for child, versions in list(entry.dependency_versions.items()):
            kept = {v for v in versions if (child, v) in entries}
            if kept:
                entry.dependency_versions[child] = kept
            else:
                del entry.dependency_versions[child]


def _uncovered_environments(
    package: LockedPackage, conditions: set[Condition], space: EnvironmentSpace
) -> tuple[dict[str, str], ...]:
    """The environments that need ``package`` on a platform none of its files installs on.

    Judged per platform, not per Python version: a package with wheels for some of the
    allowed Pythons on a platform counts as covering it (as uv does), and a sync on an
    interpreter it has no wheel for says so."""
    if any(not link.is_wheel for link in package.files):
        return ()
    needed = 0
    for condition in conditions:
        needed |= atoms_mask(space, condition.atoms)
    served = 0
    for link in package.files:
        if link.parsed is not None:
            served |= tags_mask(link.parsed[2], space.environments)
    served_platforms = {_platform(env) for index, env in enumerate(space.environments) if served >> index & 1}
    return tuple(
        env for index, env in enumerate(space.environments)
        if needed >> index & 1 and _platform(env) not in served_platforms
    )


def _platform(env: dict[str, str]) -> tuple[str, str]:
    return env["sys_platform"], env["platform_machine"]


def _propagate(
    mapping: Mapping[str, Candidate],
    provider: PypmProvider,
    roots: list[RootEdge],
    space: EnvironmentSpace,
) -> dict[str, set[Condition]]:
    """Each identifier's conditions: OR over the paths reaching it, each path AND-ed."""
    by_key: dict[str, set[Condition]] = {}
    work: list[str] = []
    for req, condition in roots:
        extended = condition.extend(space, req.marker)
        if extended is not None and add_condition(by_key.setdefault(req.key, set()), extended):
            work.append(req.key)
    while work:
        key = work.pop()
        candidate = mapping[key]
        for child_key, marker in provider.edges.get((key, candidate.version), []):
            for condition in list(by_key[key]):
                extended = condition.extend(space, marker)
                if extended is not None and add_condition(by_key.setdefault(child_key, set()), extended):
                    work.append(child_key)
    return by_key


def _by_name(mapping: Mapping[str, Candidate],
             by_key: dict[str, set[Condition]]) -> dict[NormalizedName, set[Condition]]:
    """The conditions of each name (over its identifiers, with and without extras)."""
    by_name: dict[NormalizedName, set[Condition]] = {}
    for key, conds in by_key.items():
        target = by_name.setdefault(mapping[key].name, set())
        for condition in conds:
            add_condition(target, condition)
    return by_name
