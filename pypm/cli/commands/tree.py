"""``pypm tree``: the locked dependency graph, with the requirement and marker on each edge.

Also the shared part of ``pypm why`` and ``pypm outdated``: the workspace with a fresh
lock (locked first when stale, as ``pypm sync`` does; ``--frozen`` reads it as it is,
``--locked`` fails when it is stale) and the graph read from it.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm.cli.graph_options import add_lock_mode_options, add_setting_options

if TYPE_CHECKING:
    from packaging.version import Version

    from pypm.operations.lock_graph import Edge, LockGraph
    from pypm.workspace.model import Workspace

HELP = "show the locked dependency graph from pylock.toml, each edge with its requirement and marker"
FROZEN_HELP = "read pylock.toml as it is, even when stale; never re-lock"
REFRESH_HELP = "ask the index again for every page (cached ones are otherwise reused for index-page-ttl seconds)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """What to show (``--invert``, ``--depth``, ``--package``, ``--outdated``), the lock
    mode and the settings (where the index and the cache are)."""
    shown = parser.add_argument_group("what to show")
    shown.add_argument("--invert", action="store_true",
                       help="start from the packages that depend on nothing and show who depends on each")
    shown.add_argument("--depth", type=depth_value, default=None, metavar="N",
                       help="show only N levels below each root (0: the roots alone)")
    shown.add_argument("--package", metavar="MEMBER", help="only the graph of workspace member MEMBER")
    shown.add_argument("--outdated", action="store_true",
                       help="add (latest: X) where the index has a newer release than the locked one")
    shown.add_argument("--refresh", action="store_true",
                       help="with --outdated: ask the index again for every page, however fresh the cached one is")
    add_lock_mode_options(parser, frozen_help=FROZEN_HELP)
    add_setting_options(parser, environment=False)


def depth_value(text: str) -> int:
    """``--depth``: a whole number, 0 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be 0 or more")
    return value


def run(options: argparse.Namespace) -> int:
    """Print the tree of every root (or of ``--package``), or the inverted tree."""
    from pypm.cli.graph_options import lock_mode, setting_overrides
    from pypm.cli.parser import start_dir
    from pypm.errors import UsageError

    if options.refresh and not options.outdated:
        raise UsageError("--refresh only changes what --outdated asks the index",
                         hint="add --outdated or drop --refresh")
    workspace, graph = locked_graph(start_dir(options), setting_overrides(options), lock_mode(options))
    roots = member_roots(graph, options.package)
    latest = newer_releases(workspace, graph, options.refresh) if options.outdated else {}
    depth = options.depth if options.depth is not None else -1
    emit(tree_lines(graph, roots, depth, options.invert, latest))
    return 0


def emit(lines: Iterable[str]) -> None:
    """Print ``lines`` on stdout; a reader that stops early (``| head``) ends the output
    quietly, as git's and uv's do."""
    import os
    import sys

    try:
        for line in lines:
            print(line)
        sys.stdout.flush()
    except BrokenPipeError:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # so the flush at exit does not fail again


def locked_graph(start: Path, overrides: dict[str, tuple[Any, str]], mode: str | None) -> tuple[Workspace, LockGraph]:
    """The workspace at ``start`` (``overrides``: settings given on the command line) and
    the graph of its lock: locked first when stale unless ``mode`` is ``frozen`` (as it
    is) or ``locked`` (stale: one error line, exit 1)."""
    from pypm.cli.main import COMMAND_ALIASES, COMMANDS
    from pypm.graph.context import GraphContext
    from pypm.operations.lock_graph import build_graph

    ctx = GraphContext.load(start)
    for name, (value, flag) in overrides.items():
        ctx.settings.override(name, value, source=flag)
    ctx.frozen = mode is not None
    ctx.reserved_names = (*COMMANDS, *COMMAND_ALIASES)
    workspace = ctx.validate()
    if mode == "locked":
        from pypm.operations.lock import check

        check(workspace)
    elif mode is None:
        from pypm.graph.freshness import lock_is_fresh

        if not lock_is_fresh(ctx):
            from pypm.graph.runner import run_graph

            run_graph(ctx, ["lock"])  # as `pypm sync` locks first: doit records the lock task
    return workspace, build_graph(workspace)


def member_roots(graph: LockGraph, package: str | None) -> list[str]:
    """The roots to show: all (None), or the member ``package`` (exit 2 when it is none)."""
    if package is None:
        return list(graph.roots)
    from packaging.utils import canonicalize_name

    from pypm.errors import UsageError

    name = canonicalize_name(package)
    found = [node.key for node in graph.named(name) if node.member]
    if not found:
        members = ", ".join(sorted(node.name for node in graph.nodes.values() if node.member))
        raise UsageError(f"--package {package}: no workspace member of that name", hint=f"members: {members}")
    return found


def newer_releases(workspace: Workspace, graph: LockGraph, refresh: bool) -> dict[str, Version]:
    """Node key -> the newest release on the index, where it is newer than the locked one
    (``refresh``: every page asked of the index again)."""
    from pypm.operations.outdated import compare_with_index

    rows = compare_with_index(workspace, graph, refresh)
    return {row.node.key: row.latest for row in rows if row.latest is not None and row.latest > row.locked}


def tree_lines(graph: LockGraph, roots: list[str], depth: int, invert: bool, latest: dict[str, Version]) -> list[str]:
    """The tree drawn with box characters, as uv's: each node as ``name version`` with the
    requirement (and group or extra) of the edge that leads to it; a node shown before
    is printed again with ``(*)`` and not expanded when it has something below it.
    ``depth`` < 0: no limit. ``invert``: from the leaves up to the roots."""
    allowed = graph.reachable(roots)
    drawer = _Drawer(graph, allowed, depth, invert, latest)
    for root in drawer.starts(roots):
        drawer.draw(root, None, "", "", 0, frozenset())
    return drawer.lines


class _Drawer:
    """Draws nodes depth-first, remembering which were expanded already."""

    def __init__(self, graph: LockGraph, allowed: set[str], depth: int, invert: bool,
                 latest: dict[str, Version]) -> None:
        self.graph = graph
        self.allowed = allowed
        self.depth = depth
        self.invert = invert
        self.latest = latest
        self.expanded: set[tuple[str, frozenset[str] | None]] = set()
        self.lines: list[str] = []

    def below(self, key: str, incoming: Edge | None) -> list[tuple[str, Edge]]:
        """The nodes drawn under ``key`` reached through ``incoming``: what it brings along
        (:meth:`LockGraph.onward`), or when inverted every package that depends on it."""
        if self.invert:
            pairs = [(edge.source, edge) for edge in self.graph.dependents(key)]
            pairs.sort(key=lambda pair: (self.graph.nodes[pair[0]].name, self.graph.nodes[pair[0]].version or ""))
        else:
            pairs = [(edge.target, edge) for edge in self.graph.onward(key, incoming)]
        return [(other, edge) for other, edge in pairs if other in self.allowed]

    def starts(self, roots: list[str]) -> list[str]:
        """The roots; inverted, the packages that depend on nothing shown (then any left
        out, as in a cycle)."""
        if not self.invert:
            return roots
        nodes = sorted(self.allowed, key=lambda key: (self.graph.nodes[key].name, self.graph.nodes[key].version or ""))
        leaves = [key for key in nodes if not any(e.target in self.allowed for e in self.graph.dependencies(key))]
        starts, above = list(leaves), self.graph_above(leaves)
        for key in nodes:  # what no leaf leads up to depends on a cycle: one start in each such cycle
            if key not in above:
                start = self.bottom_cycle_node(key)
                starts.append(start)
                above |= self.graph_above([start])
        return starts

    def bottom_cycle_node(self, key: str) -> str:
        """A node under ``key`` in a cycle that leads to nothing outside it (where an
        inverted tree of ``key``'s part starts): go down while something below does not
        lead back up."""
        from pypm.operations.lock_graph import reachable

        def down(node: str) -> set[str]:
            return reachable([node], lambda n: (e.target for e in self.graph.dependencies(n)
                                                if e.target in self.allowed))

        def order(node: str) -> tuple[str, str]:
            return self.graph.nodes[node].name, self.graph.nodes[node].version or ""

        while True:
            lower = sorted((other for other in down(key) if key not in down(other)), key=order)
            if not lower:
                return key
            key = lower[0]

    def graph_above(self, keys: list[str]) -> set[str]:
        """Every node some of ``keys`` leads up to (inverted reachability)."""
        from pypm.operations.lock_graph import reachable

        return reachable(keys, lambda key: (other for other, _edge in self.below(key, None)))

    def draw(self, key: str, edge: Edge | None, prefix: str, connector: str, level: int, path: frozenset[str]) -> None:
        """One node's line, then (once per node and context, within the depth) the nodes
        below it."""
        node = self.graph.nodes[key]
        parts = [node.label]
        if edge is not None:
            parts.append(edge.tags)
        if node.forked and node.marker:
            parts.append(f"(fork: {node.marker})")
        if key in self.latest:
            parts.append(f"(latest: {self.latest[key]})")
        state = (key, None if self.invert else self.graph.context(key, edge))
        below = self.below(key, edge) if self.depth < 0 or level < self.depth else []
        repeated = state in self.expanded or key in path
        if below and repeated:
            parts.append("(*)")
        self.lines.append(prefix + connector + " ".join(parts))
        if repeated or not below:
            return
        self.expanded.add(state)
        inner = prefix + ("    " if connector == "└── " else "│   " if connector else "")
        for index, (other, other_edge) in enumerate(below):
            last = index == len(below) - 1
            self.draw(other, other_edge, inner, "└── " if last else "├── ", level + 1, path | {key})
