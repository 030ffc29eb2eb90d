"""``pypm version``: print pypm's version."""

from __future__ import annotations

import argparse

HELP = "print pypm's version"
GLOBAL_OPTIONS = False  # -v, -q, --project, --no-color change nothing here


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options."""


def run(options: argparse.Namespace) -> int:
    """Print the version."""
    from pypm import __version__

    print(f"pypm {__version__}")
    return 0
