"""Console output: one place that knows about -q/-v and --no-color.

Plain lines are printed as they are; colour on a terminal is drawn by ``rich``, imported
only then (the no-op path never draws one, so it stays free of rich).
"""

from __future__ import annotations

import os
import sys

_state = {"verbosity": 0, "color": True}


def _terminal_wants_color() -> bool:
    return "NO_COLOR" not in os.environ and sys.stderr.isatty()


def configure(verbosity: int, color: bool) -> None:
    """Set the verbosity (-1 quiet, 0 normal, 1+ verbose) and whether to use color."""
    _state["verbosity"] = verbosity
    _state["color"] = color


def verbosity() -> int:
    """The current verbosity level."""
    return _state["verbosity"]


def info(message: str) -> None:
    """A normal progress line on stderr (hidden by -q)."""
    if _state["verbosity"] >= 0:
        print(message, file=sys.stderr, flush=True)


def detail(message: str) -> None:
    """A line shown only with -v."""
    if _state["verbosity"] >= 1:
        print(message, file=sys.stderr, flush=True)


def error(message: str) -> None:
    """The one-line error shown when a command fails (``error`` in red on a terminal)."""
    _labelled("error", "bold red", message)


def warning(message: str) -> None:
    """A one-line warning on stderr (``warning`` in yellow on a terminal); hidden by -q, as
    uv hides its warnings under ``--quiet``."""
    if _state["verbosity"] >= 0:
        _labelled("warning", "bold yellow", message)


def _labelled(label: str, style: str, message: str) -> None:
    if not (_state["color"] and _terminal_wants_color()):
        print(f"{label}: {message}", file=sys.stderr, flush=True)
        return
    from rich.console import Console
    from rich.text import Text

    # soft_wrap: the line is never cut at the terminal's width; no markup, emoji or
    # highlighting: the message is shown exactly as written.
    console = Console(stderr=True, soft_wrap=True, markup=False, emoji=False, highlight=False)
    console.print(Text.assemble((label, style), f": {message}"))
