"""Locked versions against the index: the newest release the workspace's requirements
allow, and the newest release at all (``pypm outdated``, ``pypm tree --outdated``).

A release counts when it is not yanked (PEP 592: unless it is the locked version or one
of the workspace's own requirements pins it with ``==``, as a yanked release may still be
locked then), is a pre-release only where the ``prerelease`` setting lets the resolver
take one (see :func:`admitted`, so an upgrade would take the same), and one of its files
accepts a Python the locked entry serves (the workspace's ``requires-python`` and the
entry's own marker, so each version of a forked package is compared within its fork).
"Allowed" further satisfies every requirement on that entry in the graph (the members'
and the other locked packages' ``Requires-Dist``) whose marker can hold where the entry
is installed: within ``requires-python``, the ``environments`` setting and the
entry's own marker (``foo<2; python_version < '3.8'`` bounds nothing in a lock for 3.11).
uv's ``tree --outdated`` takes pre-releases only with ``prerelease = "allow"``; here the
resolver's whole policy applies, so ``foo>=1.0rc1`` shows the ``1.1rc1`` an upgrade takes.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from pypm.config import DEFAULT_PRERELEASE
from pypm.operations.lock_graph import WORKSPACE_ROOT, Edge, LockGraph, Node, can_hold_together, edge_marker

if TYPE_CHECKING:
    from pypm.index.client import IndexClient
    from pypm.index.links import FileLink
    from pypm.workspace.model import Workspace

#: How many index pages are fetched at once.
PAGE_THREADS = 8


@dataclass(frozen=True)
class Outdated:
    """One locked entry: its version, the newest allowed and the newest on the index
    (None when the index offers no usable release)."""

    node: Node
    locked: Version
    allowed: Version | None
    latest: Version | None

    @property
    def newer(self) -> bool:
        """True when the newest allowed or the newest release is newer than the locked one."""
        return any(version is not None and version > self.locked for version in (self.allowed, self.latest))


def compare_with_index(workspace: Workspace, graph: LockGraph, refresh: bool = False) -> list[Outdated]:
    """:func:`compare` with a client on the workspace's settings (``refresh``: every page
    asked of the index again, however fresh the cached one is)."""
    from pypm.index.client import IndexClient

    client = IndexClient(workspace.settings, workspace.settings.cache_dir, refresh=refresh)
    try:
        return compare(graph, client, workspace.requires_python, workspace.settings["environments"],
                       workspace.settings["prerelease"])
    finally:
        client.close()


@dataclass(frozen=True)
class Scope:
    """What the comparison follows: where the lock applies as markers (None: anywhere),
    ``requires-python`` and the ``environments`` setting; the ``prerelease`` setting."""

    python: str | None = None
    limits: str | None = None
    prerelease: str = DEFAULT_PRERELEASE


def compare(graph: LockGraph, client: IndexClient, requires_python: SpecifierSet,
            environments: Sequence[str] = (), prerelease: str = DEFAULT_PRERELEASE) -> list[Outdated]:
    """Every locked package (members left out) with its newest allowed and newest
    versions, by name and version (``environments``: the setting's markers, any of which
    may hold; ``prerelease``: the setting)."""
    limits = " or ".join(f"({marker})" for marker in environments) or None
    scope = Scope(_python_marker(requires_python), limits, prerelease)
    nodes = [node for node in graph.nodes.values() if not node.member and _version(node.version) is not None]
    nodes.sort(key=lambda node: (node.name, _version(node.version)))
    names = sorted({node.name for node in nodes})
    with ThreadPoolExecutor(PAGE_THREADS) as pool:  # one page per name, fetched side by side
        pages = dict(zip(names, pool.map(client.project_files, names), strict=True))
    return [compare_node(graph, node, pages[node.name], scope) for node in nodes]


def compare_node(graph: LockGraph, node: Node, links: list[FileLink], scope: Scope) -> Outdated:
    """One locked package's row, from its index page ``links``."""
    locked = _version(node.version)
    assert locked is not None
    edges = holding_edges(graph, node, [scope.python, scope.limits])
    pinned = {locked, *(version for version in _link_versions(links) if pins(graph, edges, version))}
    releases = usable_releases(links, scope.python, node.marker, pinned)
    # like with like (pdm outdated, uv pip list --outdated) when the locked one is a pre-release
    opted_in = locked.is_prerelease or names_prerelease(graph, edges)
    only_prereleases = all(version.is_prerelease for version in releases)
    specifiers = [edge.requirement.specifier for edge in edges]
    fitting = [v for v in releases if all(s.contains(v, True) for s in specifiers)]
    direct = any(edge.requirement.url for edge in edges)
    allowed = None if direct else _newest(admitted(fitting, scope.prerelease, opted_in, only_prereleases))
    return Outdated(node, locked, allowed, _newest(admitted(releases, scope.prerelease, opted_in, only_prereleases)))


def admitted(versions: list[Version], mode: str, opted_in: bool, only_prereleases: bool) -> list[Version]:
    """The ``versions`` the ``prerelease`` setting's ``mode`` lets the resolver take (as
    pypm.resolver.provider orders them): all with ``allow``, final releases with
    ``disallow``, pre-releases too when ``opted_in`` (``explicit``), or ``only_prereleases``
    exist (the default), or no final release is among ``versions`` (``if-necessary``)."""
    finals = [version for version in versions if not version.is_prerelease]
    if mode == "allow":
        return versions
    if mode == "disallow":
        return finals
    wanted = {"explicit": opted_in, "if-necessary": opted_in or only_prereleases or not finals}.get(
        mode, opted_in or only_prereleases)
    return versions if wanted else finals


def names_prerelease(graph: LockGraph, edges: Iterable[Edge]) -> bool:
    """Does one of the workspace's own requirements among ``edges`` name a pre-release
    (``>=1.0rc1``)? The resolver's (and uv's) explicit opt-in."""
    return any(first_party(graph, edge) and any(spec.prereleases for spec in edge.requirement.specifier)
               for edge in edges)


def holding_edges(graph: LockGraph, node: Node, scope: Iterable[str | None]) -> list[Edge]:
    """The requirements on ``node`` whose marker can hold together with ``scope`` (the
    markers of where the lock applies), the node's marker and the marker of the entry
    they come from: only those bound what an upgrade may choose."""
    where = [*scope, node.marker]
    return [edge for edge in graph.dependents(node.key)
            if can_hold_together([*where, graph.nodes[edge.source].marker, edge_marker(edge.requirement)])]


def pins(graph: LockGraph, edges: Iterable[Edge], version: Version) -> bool:
    """Does one of the workspace's own requirements among ``edges`` pin exactly ``version``
    (``==`` without a wildcard), which makes a yanked release usable, as the resolver has it?"""
    return any(spec.operator in ("==", "===") and "*" not in spec.version and spec.contains(version, True)
               for edge in edges if first_party(graph, edge) for spec in edge.requirement.specifier)


def first_party(graph: LockGraph, edge: Edge) -> bool:
    """Is ``edge`` a requirement of the workspace's own (a member's or the root's groups')?"""
    return edge.source == WORKSPACE_ROOT or graph.nodes[edge.source].member


def usable_releases(links: Iterable[FileLink], python: str | None, marker: str | None,
                    pinned: Collection[Version] = ()) -> list[Version]:
    """The versions among ``links`` that count (see the module's docstring; ``pinned``:
    versions that count even when yanked)."""
    usable: set[Version] = set()
    for link in links:
        parsed = link.parsed
        if parsed is None or parsed[1] in usable or (link.yanked is not None and parsed[1] not in pinned):
            continue
        version = parsed[1]
        if link.requires_python and not can_hold_together([python, marker, _python_marker(link.requires_python)]):
            continue
        usable.add(version)
    return sorted(usable)


def _python_marker(requires_python: SpecifierSet | str) -> str | None:
    """``>=3.10`` as a ``python_full_version`` marker (None: any, or not readable)."""
    from packaging.markers import InvalidMarker

    from pypm.resolver.markers import python_marker

    if not str(requires_python).strip():
        return None
    try:
        return str(python_marker(str(requires_python)))
    except (InvalidSpecifier, InvalidMarker):
        return None


def _link_versions(links: Iterable[FileLink]) -> set[Version]:
    return {parsed[1] for parsed in (link.parsed for link in links) if parsed is not None}


def _newest(versions: Iterable[Version]) -> Version | None:
    return max(versions, default=None)


def _version(text: str | None) -> Version | None:
    try:
        return Version(text) if text else None
    except InvalidVersion:
        return None
