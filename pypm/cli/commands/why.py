"""``pypm why NAME``: every path from a workspace member (or the root's groups) to NAME."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pypm.cli.graph_options import add_lock_mode_options, add_setting_options

if TYPE_CHECKING:
    from pypm.operations.lock_graph import Edge, LockGraph

HELP = "show every path from a workspace member to a locked package, with the requirement that pulls it in"
#: How many paths are printed at most (a line says how many were left out).
PATH_LIMIT = 1000


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The package, the lock mode and the settings (where the index and the cache are)."""
    from pypm.cli.commands.tree import FROZEN_HELP

    parser.add_argument("name", metavar="NAME", help="a package in pylock.toml")
    add_lock_mode_options(parser, frozen_help=FROZEN_HELP)
    add_setting_options(parser, environment=False)


def run(options: argparse.Namespace) -> int:
    """Print one line per path: ``acme-app -> acme-core -> attrs (attrs>=23.1)``."""
    from pypm import ui
    from pypm.cli.commands.tree import emit, locked_graph
    from pypm.cli.graph_options import lock_mode, setting_overrides
    from pypm.cli.parser import start_dir
    from pypm.operations.lock_graph import paths_to

    _workspace, graph = locked_graph(start_dir(options), setting_overrides(options), lock_mode(options))
    targets = target_keys(graph, options.name)
    paths, cut = paths_to(graph, targets, PATH_LIMIT)
    emit(path_line(graph, path) for path in paths)
    if cut:
        ui.info(f"(only the first {PATH_LIMIT} paths are shown)")
    if not paths:
        ui.info(f"{options.name} is a root of the graph: nothing in the workspace depends on it")
    return 0


def target_keys(graph: LockGraph, name: str) -> list[str]:
    """The graph's nodes of package ``name`` (one error line, exit 1, when it is not locked)."""
    from pypm.errors import LockError

    found = [node.key for node in graph.named(name)]
    if not found:
        raise LockError(f"{name} is not in pylock.toml", hint="`pypm tree` shows what is locked")
    return found


def path_line(graph: LockGraph, path: list[Edge]) -> str:
    """``root (group: dev) -> a -> b 1.0 (b>=1)``: the names along the path, each with the
    group or extra it goes on through (a version where the name is forked), the target
    with its version, then the requirement of the last edge."""
    names = []
    for edge in path:
        node = graph.nodes[edge.source]
        via = f" ({edge.via[0]}: {edge.via[1]})" if edge.via else ""
        names.append((node.label if node.forked else node.name) + via)
    last = path[-1]
    names.append(graph.nodes[last.target].label)
    return f"{' -> '.join(names)} ({last.requirement})"
