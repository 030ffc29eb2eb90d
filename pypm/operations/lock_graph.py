"""The locked dependency graph: ``pylock.toml``'s packages as nodes, each edge with the
requirement as written and its marker.

PEP 751's ``dependencies = [{name = ...}]`` records who depends on whom but neither the
requirement text nor its marker. Those come from where the requirement was written: a
member's ``pyproject.toml`` (its dependencies, extras and dependency groups; the root's
``[dependency-groups]`` of a virtual workspace), and for any other package its core
metadata (``Requires-Dist``), read through the index client from the locked file (cached
by the file's sha256, so a second run needs no network).

An edge links to every locked entry of the name it requires whose marker can hold
together with the edge's marker and the marker of the entry it leaves (a name forked into
several versions by Python has several entries); a lock entry that names the versions
of its dependencies (``{name, version}``) is followed exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from packaging.requirements import Requirement
from packaging.utils import NormalizedName, canonicalize_name

from pypm.lock.reader import read_lock

if TYPE_CHECKING:
    from pypm.index.client import IndexClient
    from pypm.index.links import FileLink
    from pypm.index.metadata import DistMetadata
    from pypm.workspace.model import Workspace

#: The node of a virtual workspace root's own ``[dependency-groups]`` (it is no package).
WORKSPACE_ROOT = "workspace root"
#: How many metadata files are fetched at once when they are not cached yet.
METADATA_THREADS = 8


@dataclass(frozen=True)
class Node:
    """One locked entry (or the workspace root's groups): ``key`` is unique in the graph;
    ``marker`` is the entry's marker; ``forked`` when the name has several entries."""

    key: str
    name: str
    version: str | None = None
    marker: str | None = None
    member: bool = False
    forked: bool = False

    @property
    def label(self) -> str:
        """``name version`` (just the name when there is no version)."""
        return f"{self.name} {self.version}" if self.version else self.name


@dataclass(frozen=True)
class Edge:
    """``source`` requires ``target`` through ``requirement`` (as written, with its
    marker), from the main dependencies (``via`` None) or a group or extra of the source."""

    source: str
    target: str
    requirement: Requirement
    via: tuple[str, str] | None = None

    @property
    def tags(self) -> str:
        """``(requirement)``, then ``(group: G)`` or ``(extra: E)`` when it comes from one."""
        text = f"({self.requirement})"
        return text if self.via is None else f"{text} ({self.via[0]}: {self.via[1]})"


@dataclass
class LockGraph:
    """Nodes by key, edges, and the roots: the members no other member depends on, and the
    workspace root's groups node (when it has groups)."""

    nodes: dict[str, Node]
    edges: list[Edge]
    roots: list[str]
    _out: dict[str, list[Edge]] = field(default_factory=dict, repr=False)
    _in: dict[str, list[Edge]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        for edge in sorted(self.edges, key=_edge_order(self.nodes)):
            self._out.setdefault(edge.source, []).append(edge)
            self._in.setdefault(edge.target, []).append(edge)

    def dependencies(self, key: str) -> list[Edge]:
        """The edges leaving ``key``, ordered by target name, version, requirement."""
        return self._out.get(key, [])

    def dependents(self, key: str) -> list[Edge]:
        """The edges arriving at ``key``, ordered by target name, version, requirement."""
        return self._in.get(key, [])

    def named(self, name: str) -> list[Node]:
        """Every node of the (normalised) project ``name``, by version."""
        wanted = canonicalize_name(name)
        return [node for node in self.nodes.values() if node.name == wanted and node.key != WORKSPACE_ROOT]

    def onward(self, key: str, incoming: Edge | None) -> list[Edge]:
        """The edges a walk goes on along from ``key`` when it came through ``incoming``
        (None: ``key`` is where it starts). A member reached through a requirement brings
        its main dependencies and the extras that requirement asks for, never its
        dependency groups (PEP 735 groups belong to the project, nothing depending on it
        installs them); where a walk starts, every edge counts."""
        edges = self.dependencies(key)
        if incoming is None or not self.nodes[key].member:
            return edges
        extras = {canonicalize_name(extra) for extra in incoming.requirement.extras}
        return [edge for edge in edges if edge.via is None or (edge.via[0] == "extra" and edge.via[1] in extras)]

    def context(self, key: str, incoming: Edge | None) -> frozenset[str] | None:
        """What decides :meth:`onward` at ``key``: None where a walk starts (and for any
        package but a member), else the extras the incoming requirement asks for."""
        if incoming is None or not self.nodes[key].member:
            return None
        return frozenset(canonicalize_name(extra) for extra in incoming.requirement.extras)

    def reachable(self, starts: Iterable[str]) -> set[str]:
        """Every key reachable from ``starts`` (included) along :meth:`onward` edges."""
        seen: set[str] = set(starts)
        todo: list[tuple[str, Edge | None]] = [(key, None) for key in seen]
        walked: set[tuple[str, frozenset[str] | None]] = set()
        while todo:
            key, incoming = todo.pop()
            state = (key, self.context(key, incoming))
            if state in walked:
                continue
            walked.add(state)
            for edge in self.onward(key, incoming):
                seen.add(edge.target)
                todo.append((edge.target, edge))
        return seen

    def depended_on(self) -> set[str]:
        """The members that another member depends on (through any edge)."""
        return {edge.target for edge in self.edges
                if self.nodes[edge.source].member and self.nodes[edge.target].member and edge.source != edge.target}


def _edge_order(nodes: dict[str, Node]) -> Any:
    def order(edge: Edge) -> tuple[str, str, str, str]:
        target = nodes[edge.target]
        return (target.name, target.version or "", str(edge.requirement), ":".join(edge.via or ()))

    return order


@dataclass
class _Entry:
    """A lock entry with what the graph needs of it."""

    node: Node
    package: Any
    requirements: list[tuple[Requirement, tuple[str, str] | None]] = field(default_factory=list)


def build_graph(workspace: Workspace, client: IndexClient | None = None) -> LockGraph:
    """The graph of ``workspace``'s ``pylock.toml`` (which is read as it is: lock it first
    when it must be fresh). ``client`` reads the packages' metadata (one on the workspace's
    settings when None; closed then)."""
    from pypm.operations.member_metadata import prepare_dynamic_metadata

    prepare_dynamic_metadata(workspace)  # dynamic members' dependencies, as the lock read them
    lock = read_lock(workspace.lock_path)
    entries = _entries(workspace, lock.packages)
    own_client = client is None
    if client is None:
        from pypm.index.client import IndexClient

        client = IndexClient(workspace.settings, workspace.settings.cache_dir)
    try:
        _read_requirements(workspace, entries, client)
    finally:
        if own_client:
            client.close()
    if workspace.root_groups:
        root = Node(WORKSPACE_ROOT, WORKSPACE_ROOT)
        entries[root.key] = _Entry(root, None, [
            (requirement, ("group", group))
            for group, requirements in sorted(workspace.root_groups.items()) for requirement in requirements
        ])
    edges = list(_edges(entries))
    nodes = {key: entry.node for key, entry in entries.items()}
    return LockGraph(nodes, edges, _roots(nodes, edges))


def _entries(workspace: Workspace, packages: list[Any]) -> dict[str, _Entry]:
    """One entry per locked package, keyed by name (``name==version`` for a forked name)."""
    counts: dict[str, int] = {}
    for package in packages:
        counts[canonicalize_name(package.name)] = counts.get(canonicalize_name(package.name), 0) + 1
    entries: dict[str, _Entry] = {}
    for package in packages:
        name = canonicalize_name(package.name)
        member = workspace.members.get(name) if package.directory is not None else None
        version = package.version if package.version is not None else (member.version if member else None)
        forked = counts[name] > 1
        key = f"{name}=={version}" if forked else name
        marker = str(package.marker) if package.marker is not None else None
        entries[key] = _Entry(Node(key, name, str(version) if version else None, marker, member is not None, forked),
                              package)
    return entries


def _read_requirements(workspace: Workspace, entries: dict[str, _Entry], client: IndexClient) -> None:
    """Each entry's requirements: a member's from its pyproject, a package's from its
    metadata (fetched in parallel when not cached), as written."""
    pending: list[_Entry] = []
    for entry in entries.values():
        if entry.node.member:
            entry.requirements = member_requirements(workspace.members[entry.node.name])  # type: ignore[index]
        elif entry.package.dependencies:
            pending.append(entry)
    readers = _MetadataReader(client, workspace)
    with ThreadPoolExecutor(METADATA_THREADS) as pool:
        found = list(pool.map(readers.wheel_metadata, pending))
    for entry, metadata in zip(pending, found, strict=True):
        metadata = metadata or readers.sdist_metadata(entry)
        entry.requirements = [(requirement, None) for requirement in metadata.requires_dist] if metadata else []


def member_requirements(member: Any) -> list[tuple[Requirement, tuple[str, str] | None]]:
    """A member's requirements: its dependencies, then each extra's and group's, tagged."""
    found: list[tuple[Requirement, tuple[str, str] | None]] = [(r, None) for r in member.dependencies]
    for extra, requirements in sorted(member.optional_dependencies.items()):
        found.extend((r, ("extra", extra)) for r in requirements)
    for group, requirements in sorted(member.dependency_groups.items()):
        found.extend((r, ("group", group)) for r in requirements)
    return found


class _MetadataReader:
    """Core metadata of locked files through the index client (and pypm's sdist builder
    for a package locked with an sdist only)."""

    def __init__(self, client: IndexClient, workspace: Workspace) -> None:
        self.client = client
        self.workspace = workspace
        self._sdists: Any = None

    def wheel_metadata(self, entry: _Entry) -> DistMetadata | None:
        """The metadata of one of the entry's wheels (one already cached when there is one)."""
        links = [self._link(entry.package, wheel) for wheel in entry.package.wheels or ()]
        links = [link for link in links if link is not None]
        if not links:
            return None
        cached = [link for link in links if self.client.has_metadata(link)]
        return self.client.metadata((cached or links)[0])

    def sdist_metadata(self, entry: _Entry) -> DistMetadata | None:
        """The metadata of the entry's sdist (prepared or cached by its hash); None without one."""
        sdist = entry.package.sdist
        link = self._link(entry.package, sdist) if sdist is not None else None
        if link is None:
            return None
        if self._sdists is None:
            from pypm.build import make_sdist_metadata_builder

            self._sdists = make_sdist_metadata_builder(self.client, self.workspace.settings.cache_dir)
        return self._sdists(link)

    def _link(self, package: Any, file: Any) -> FileLink | None:
        """A :class:`FileLink` for a locked wheel or sdist (its url, or its path in the root)."""
        from pypm.index.links import FileLink

        url = file.url or (Path(self.workspace.root, file.path).resolve().as_uri() if file.path else None)
        if url is None:
            return None
        filename = file.name or url.rsplit("/", 1)[-1]
        # "" asks for the PEP 658 file first (its hash is not in the lock), as the resolver did
        return FileLink(filename, url, package.index or "", sha256=(file.hashes or {}).get("sha256"),
                        size=file.size, metadata="")


def _edges(entries: dict[str, _Entry]) -> Iterator[Edge]:
    """Every edge: each requirement of each entry that the lock followed, to every entry of
    that name it can reach. A dependency the lock records that no requirement explains
    (metadata that differs between a package's files) still gets an edge, with its bare name."""
    by_name: dict[NormalizedName, list[_Entry]] = {}
    for entry in entries.values():
        if entry.node.key != WORKSPACE_ROOT:
            by_name.setdefault(entry.node.name, []).append(entry)  # type: ignore[arg-type]
    active = _active_requirements(entries, by_name)
    for entry in entries.values():
        followed = _followed(entry)
        explained: set[NormalizedName] = set()
        for requirement, via in active[entry.node.key]:
            name = canonicalize_name(requirement.name)
            explained.add(name)
            for target in _targets(entry, requirement, by_name[name], followed):
                yield Edge(entry.node.key, target.node.key, requirement, via)
        for name in sorted(set(followed or ()) - explained):
            if name in by_name:
                requirement = Requirement(name)
                for target in _targets(entry, requirement, by_name[name], followed):
                    yield Edge(entry.node.key, target.node.key, requirement)


def _followed(entry: _Entry) -> dict[NormalizedName, set[str]] | None:
    """Name -> the versions named (empty: any) of a package entry's ``dependencies``; None
    for members and the root, whose entries leave out their groups' dependencies."""
    if entry.package is None or entry.node.member:
        return None
    followed: dict[NormalizedName, set[str]] = {}
    for dependency in entry.package.dependencies or ():
        if isinstance(dependency, dict) and isinstance(dependency.get("name"), str):
            versions = followed.setdefault(canonicalize_name(dependency["name"]), set())
            if dependency.get("version"):
                versions.add(str(dependency["version"]))
    return followed


def _active_requirements(entries: dict[str, _Entry], by_name: dict[NormalizedName, list[_Entry]]
                         ) -> dict[str, list[tuple[Requirement, tuple[str, str] | None]]]:
    """Entry key -> the requirements that make edges: on a locked name the entry's lock
    record follows, and (for a package's ``Requires-Dist``) with no extra or one that some
    requirement in the graph asks of the package. The requested extras grow to a fixpoint:
    an extra's own requirements may ask for further extras."""
    candidates = {}
    for key, entry in entries.items():
        followed = _followed(entry)
        candidates[key] = [(requirement, via) for requirement, via in entry.requirements
                           if canonicalize_name(requirement.name) in by_name
                           and (followed is None or canonicalize_name(requirement.name) in followed)]
    requested: dict[str, set[str]] = {}
    while True:
        active = {key: [(requirement, via) for requirement, via in found
                        if via is not None or entries[key].node.member
                        or _extra_holds(requirement, requested.get(entries[key].node.name))]
                  for key, found in candidates.items()}
        wanted: dict[str, set[str]] = {}
        for found in active.values():
            for requirement, _via in found:
                wanted.setdefault(canonicalize_name(requirement.name), set()).update(
                    canonicalize_name(extra) for extra in requirement.extras)
        if wanted == requested:
            return active
        requested = wanted


def _extra_holds(requirement: Requirement, extras: set[str] | None) -> bool:
    """Does a ``Requires-Dist`` apply with no extra or one of ``extras`` requested of its
    package? (Its other clauses are left to the marker shown on the edge.)"""
    if requirement.marker is None or "extra" not in str(requirement.marker):
        return True
    from pypm.resolver.marker_algebra import ALGEBRA_ERRORS, algebraic, with_extra

    parsed = algebraic(str(requirement.marker))
    if parsed is None:
        return True  # cannot be decided: kept (the lock followed the name)
    try:
        return any(not with_extra(parsed, extra).is_empty() for extra in ("", *sorted(extras or ())))
    except ALGEBRA_ERRORS:
        return True


def _targets(entry: _Entry, requirement: Requirement, candidates: list[_Entry],
             followed: dict[NormalizedName, set[str]] | None) -> list[_Entry]:
    """The entries of the required name this edge reaches: those the lock names by
    version, else those whose marker can hold with the edge's and the source's markers."""
    versions = followed.get(canonicalize_name(requirement.name)) if followed is not None else None
    if versions:
        return [c for c in candidates if c.node.version in versions]
    if len(candidates) == 1:
        return candidates
    return [c for c in candidates if can_hold_together([entry.node.marker, edge_marker(requirement),
                                                        c.node.marker])]


def edge_marker(requirement: Requirement) -> str | None:
    """The requirement's marker with its ``extra`` clauses taken as true (None: always)."""
    from pypm.resolver.markers import strip_extra

    marker = strip_extra(requirement.marker)
    return str(marker) if marker is not None else None


def can_hold_together(markers: Iterable[str | None]) -> bool:
    """Can all these markers (None: always) hold in one environment? True when unsure."""
    from pypm.resolver.marker_algebra import algebraic, satisfiable

    parsed = [algebraic(marker) for marker in markers if marker]
    return satisfiable([marker for marker in parsed if marker is not None])


def _roots(nodes: dict[str, Node], edges: list[Edge]) -> list[str]:
    """The members no other member depends on, and those with groups or extras (which only
    show in full where a walk starts), by name; then the workspace root's groups."""
    graph = LockGraph(nodes, edges, [])
    required = graph.depended_on()
    members = sorted((node for node in nodes.values() if node.member), key=lambda node: node.name)
    roots = [node.key for node in members
             if node.key not in required or any(edge.via for edge in graph.dependencies(node.key))]
    # members that only depend on each other in a cycle: each is a root of its own
    reached = graph.reachable(roots)
    roots.extend(node.key for node in members if node.key not in reached and node.key not in roots)
    if WORKSPACE_ROOT in nodes:
        roots.append(WORKSPACE_ROOT)
    return roots


def paths_to(graph: LockGraph, targets: Iterable[str], limit: int = 1000) -> tuple[list[list[Edge]], bool]:
    """Every path (as its edges) from a root to one of ``targets`` along :meth:`LockGraph.onward`
    edges, passing no node twice; at most ``limit`` (the flag says whether some were left
    out). A root that another member depends on starts only with its groups and extras
    (its main dependencies are on the paths through the members that depend on it). Only
    nodes that lead to a target are walked, so the work follows the number of paths."""
    wanted = set(targets)
    leads = _leading_to(graph, wanted)
    required = graph.depended_on()
    found: list[list[Edge]] = []
    cut = False

    def walk(key: str, path: list[Edge], on_path: frozenset[str]) -> None:
        nonlocal cut
        edges = graph.onward(key, path[-1] if path else None)
        if not path and key in required:
            edges = [edge for edge in edges if edge.via is not None]
        for edge in edges:
            if edge.target in on_path or edge.target not in leads:
                continue
            if len(found) >= limit:
                cut = True
                return
            if edge.target in wanted:
                found.append([*path, edge])
            walk(edge.target, [*path, edge], on_path | {edge.target})

    for root in graph.roots:
        if root in leads:
            walk(root, [], frozenset({root}))
    return found, cut


def _leading_to(graph: LockGraph, targets: set[str]) -> set[str]:
    """The keys from which some key of ``targets`` can be reached (``targets`` included)."""
    return reachable(targets, lambda key: (edge.source for edge in graph.dependents(key)))


def reachable(starts: Iterable[str], step: Callable[[str], Iterable[str]]) -> set[str]:
    """Every key reached from ``starts`` (included) by following ``step`` repeatedly."""
    seen: set[str] = set()
    todo = list(starts)
    while todo:
        key = todo.pop()
        if key not in seen:
            seen.add(key)
            todo.extend(step(key))
    return seen
