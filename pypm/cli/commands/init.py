"""``pypm init [DIR]``: create a new project."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "create pyproject.toml (PEP 621) and .gitignore in DIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """DIR, --name and --python."""
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR")
    parser.add_argument("--name", help="project name (default: the folder name)")
    parser.add_argument("--python", help="minimum Python, e.g. 3.11 (default: this interpreter)")


def run(options: argparse.Namespace) -> int:
    """Write the project files."""
    from pypm import ui
    from pypm.operations.init import init_project

    path = init_project(Path(options.directory), options.name, options.python)
    ui.info(f"Created {path}")
    return 0
