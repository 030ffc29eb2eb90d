"""``pypm status``: each task of the graph and why it would run."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_graph_arguments, selection_from
from pypm.cli.parser import start_dir

HELP = "show each task and why it would run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The sync selection matters to the sync task's status."""
    add_graph_arguments(parser)


def run(options: argparse.Namespace) -> int:
    """Print one line per task: fresh by hash or not, and doit's reasons."""
    from pypm.graph.context import GraphContext
    from pypm.graph.freshness import CHECKS
    from pypm.graph.runner import graph_status

    ctx = GraphContext.load(start_dir(options), selection=selection_from(options))
    for name, status, reasons in graph_status(ctx):
        fresh = CHECKS[name](ctx)
        verdict = "up to date" if fresh else "would run"
        print(f"{name}: {verdict} (by hash: {'fresh' if fresh else 'stale'}; doit: {status}{_reasons(reasons)})")
    return 0


def _reasons(reasons: dict) -> str:
    parts = []
    for key, value in reasons.items():
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(f"{key.replace('_', ' ')}: {value}" if value not in (True, "") else key.replace("_", " "))
    return " - " + "; ".join(parts) if parts else ""
