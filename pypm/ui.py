"""Console output: one place that knows about -q/-v and --no-color."""

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
    """The one-line error shown when a command fails."""
    prefix = "\x1b[31merror\x1b[0m" if _state["color"] and _terminal_wants_color() else "error"
    print(f"{prefix}: {message}", file=sys.stderr, flush=True)
