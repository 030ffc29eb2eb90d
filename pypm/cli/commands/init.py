"""``pypm init [DIR]``: create a new project."""

from __future__ import annotations

import argparse

HELP = "create pyproject.toml (PEP 621), src/<module>/__init__.py and .gitignore in DIR"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """DIR, --name and --python."""
    parser.add_argument("directory", nargs="?", default=".", metavar="DIR",
                        help="where to create the project (default: the current directory, or --project)")
    parser.add_argument("--name", help="project name, normalised as PEP 503 (default: the folder name)")
    parser.add_argument("--python", metavar="X.Y", help="minimum Python, e.g. 3.11 (default: this interpreter)")


def run(options: argparse.Namespace) -> int:
    """Write the project files."""
    from pypm import ui
    from pypm.cli.parser import start_dir
    from pypm.operations.init import init_project

    path = init_project(start_dir(options) / options.directory, options.name, options.python)
    ui.info(f"Created {path}")
    return 0
