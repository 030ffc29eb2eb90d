"""The no-op answer: "all up to date" without argparse, doit, httpx, resolvelib or rich.

Only plain invocations (graph operations, optionally ``-q``) take this path; anything
else, or any error, falls through to the full command line, which reports it.
"""

from __future__ import annotations

import sys
from pathlib import Path

from pypm.graph.context import GRAPH_OPERATIONS

_QUIET = ("-q", "--quiet")


def try_fast_path(args: list[str]) -> bool:
    """Return True when ``args`` asked only for operations that are all up to date."""
    if not args or args[0] not in GRAPH_OPERATIONS:
        return False
    if any(arg not in GRAPH_OPERATIONS and arg not in _QUIET for arg in args):
        return False
    from pypm.errors import PypmError
    from pypm.graph.context import GraphContext
    from pypm.graph.freshness import stale_operations

    operations = [op for op in GRAPH_OPERATIONS if op in args]
    try:
        ctx = GraphContext.load(Path.cwd())
        if stale_operations(ctx, operations, prepare=False):
            return False
    except (PypmError, OSError, ValueError):
        return False
    if not any(arg in _QUIET for arg in args):
        print(f"All up to date ({', '.join(operations)})", file=sys.stderr)
    return True
