"""Resolve a workspace: root requirements in, locked packages with markers out."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version
from resolvelib import BaseReporter, Resolver
from resolvelib.resolvers import ResolutionImpossible, ResolutionTooDeep

from pypm.errors import ResolutionError
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.resolver.candidates import Candidate, Req
from pypm.resolver.environments import lowest_python, universal_environments
from pypm.resolver.markers import (
    Condition,
    EnvironmentSpace,
    add_condition,
    atoms_mask,
    feature_extra,
    feature_group,
    render_marker,
)
from pypm.resolver.options import ResolverOptions
from pypm.resolver.provider import PYTHON, PypmProvider, SdistMetadata, make_req
from pypm.resolver.tags import tags_mask
from pypm.workspace.model import Workspace
from pypm.workspace.project import Member

MAX_ROUNDS = 20000


@dataclass
class LockedPackage:
    """A resolved package: version, files, marker and direct dependencies."""

    name: NormalizedName
    version: Version
    files: list[FileLink] = field(default_factory=list)
    marker: str | None = None
    dependencies: list[NormalizedName] = field(default_factory=list)
    is_member: bool = False


@dataclass
class Resolution:
    """The outcome of resolving a workspace."""

    packages: dict[NormalizedName, LockedPackage]
    environments: list[dict[str, str]]


RootEdge = tuple[Req, Condition]


def root_requirements(workspace: Workspace) -> list[RootEdge]:
    """Every member, each member extra, and every group's requirements, with conditions."""
    edges: list[RootEdge] = []
    for member in workspace.members.values():
        label = f"{member.name} ({member.pyproject.parent.relative_to(workspace.root).as_posix() or '.'})"
        edges.append((Req(member.name, member_spec(member), parent="workspace", first_party=True), Condition()))
        for extra in member.optional_dependencies:
            req = Req(member.name, member_spec(member), frozenset({extra}), parent=label, first_party=True)
            edges.append((req, Condition(frozenset({feature_extra(extra)}))))
    for group, entries in workspace.groups().items():
        for owner, requirement in entries:
            label = f"{owner} (group {group})"
            edges.append((make_req(requirement, label), Condition(frozenset({feature_group(group)}))))
    return edges


def member_spec(member: Member) -> SpecifierSet:
    """A specifier accepting exactly the member's version (any when dynamic)."""
    return SpecifierSet(f"=={member.version}" if member.version is not None else "")


def resolve(
    workspace: Workspace,
    client: IndexClient,
    preferences: Mapping[NormalizedName, Version] | None = None,
    options: ResolverOptions | None = None,
    sdist_metadata: SdistMetadata | None = None,
) -> Resolution:
    """Resolve the whole workspace universally; raise :class:`ResolutionError` on conflict."""
    environments = universal_environments(workspace.requires_python, workspace.settings["environments"])
    if not environments:
        raise ResolutionError(
            f"requires-python {workspace.requires_python} allows no supported Python (3.8-3.15)",
            hint="check requires-python and the environments setting",
        )
    return resolve_roots(
        root_requirements(workspace), workspace.members, client, environments,
        options or ResolverOptions(), preferences or {}, sdist_metadata,
    )


def resolve_requirements(
    requirements: list[str],
    client: IndexClient,
    environments: list[dict[str, str]],
    options: ResolverOptions | None = None,
    preferences: Mapping[NormalizedName, Version] | None = None,
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
    preferences: Mapping[NormalizedName, Version],
    sdist_metadata: SdistMetadata | None,
) -> Resolution:
    """Run resolvelib from root requirements (each with the condition that brings it)."""
    space = EnvironmentSpace(environments)
    roots = [(req, cond) for req, cond in roots if space.mask(req.marker)]
    lowest = lowest_python(environments)
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="pypm-prefetch") as pool:
        provider = PypmProvider(client, members, space, lowest, preferences, options, sdist_metadata, pool)
        for req, _ in roots:
            provider.warm(req.name)
        result = _run_resolver(provider, [req for req, _ in roots])
    packages = _packages(result.mapping, provider, roots, space)
    return Resolution(packages, environments)


def _run_resolver(provider: PypmProvider, requirements: list[Req]):  # type: ignore[no-untyped-def]
    from pypm.resolver.explain import explain_impossible

    try:
        return Resolver(provider, BaseReporter()).resolve(requirements, max_rounds=MAX_ROUNDS)
    except ResolutionImpossible as exc:
        raise ResolutionError(explain_impossible(exc, provider)) from None
    except ResolutionTooDeep:
        raise ResolutionError(
            "resolution took too many steps without finding a solution",
            hint="narrow the version ranges of your dependencies",
        ) from None


def _packages(
    mapping: Mapping[str, Candidate],
    provider: PypmProvider,
    roots: list[RootEdge],
    space: EnvironmentSpace,
) -> dict[NormalizedName, LockedPackage]:
    conditions = _propagate(mapping, provider, roots, space)
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
    for name, package in packages.items():
        package.dependencies.sort()
        if not package.is_member:
            package.marker = render_marker(conditions.get(name, set()), space)
            _check_coverage(package, conditions.get(name, set()), space)
    return dict(sorted(packages.items()))


def _platforms(space: EnvironmentSpace, mask: int) -> set[str]:
    """The platforms (``sys_platform platform_machine``) of the environments in ``mask``."""
    envs = space.environments
    return {f"{envs[i]['sys_platform']} {envs[i]['platform_machine']}" for i in range(len(envs)) if mask >> i & 1}


def _check_coverage(package: LockedPackage, conditions: set[Condition], space: EnvironmentSpace) -> None:
    """Fail when no file of the chosen version installs on a platform that needs it.

    Checked per platform, not per Python version: a package with wheels for some of the
    allowed Pythons on a platform is accepted (as uv does), and a sync on an interpreter
    it has no wheel for says so."""
    needed = 0
    for condition in conditions:
        needed |= atoms_mask(space, condition.atoms)
    if any(not link.is_wheel for link in package.files):
        return
    served = 0
    for link in package.files:
        if link.parsed is not None:
            served |= tags_mask(link.parsed[2], space.environments)
    missing = _platforms(space, needed) - _platforms(space, served)
    if missing:
        where = ", ".join(sorted(missing))
        raise ResolutionError(
            f"{package.name} {package.version} has no wheel for {where} and no sdist, "
            f"but the lock needs it there (marker: {package.marker or 'always'})",
            hint="limit the lock with the 'environments' setting, or constrain the dependency's markers",
        )


def _propagate(
    mapping: Mapping[str, Candidate],
    provider: PypmProvider,
    roots: list[RootEdge],
    space: EnvironmentSpace,
) -> dict[NormalizedName, set[Condition]]:
    """Each package's conditions: OR over the paths reaching it, each path AND-ed."""
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
    by_name: dict[NormalizedName, set[Condition]] = {}
    for key, conds in by_key.items():
        target = by_name.setdefault(mapping[key].name, set())
        for condition in conds:
            add_condition(target, condition)
    return by_name
