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


_UPTODATE_LABELS = {
    "config_changed": "settings changed",
    "lock_is_fresh": "input hash differs from pylock.toml",
    "sync_is_fresh": ".venv stamp does not match pylock.toml",
    "bool": "upgrade requested",
}


def _label(check: object) -> str:
    """A short phrase for one of doit's 'uptodate' checks."""
    name = getattr(check, "__name__", type(check).__name__)
    return _UPTODATE_LABELS.get(name, name)


def _reasons(reasons: dict) -> str:
    """doit's reasons as ``; ``-separated phrases."""
    parts = []
    for key, value in reasons.items():
        if key == "uptodate_false":
            parts.extend(_label(check) for check, _args, _kwargs in value)
        elif isinstance(value, list):
            parts.append(f"{key.replace('_', ' ')}: {', '.join(str(v) for v in value)}")
        else:
            parts.append(key.replace("_", " "))
    return " - " + "; ".join(parts) if parts else ""
