"""``pypm unbundle FILE DEST``: install a bundle into a new environment, as the bundle's
own ``install.py`` does."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "install a bundle into a new environment at DEST (no network)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The archive and the destination."""
    parser.add_argument("archive", metavar="FILE", type=Path, help="a bundle made by `pypm bundle`")
    parser.add_argument("destination", metavar="DEST", type=Path,
                        help="where the environment goes: a new or empty directory")


def run(options: argparse.Namespace) -> int:
    """Verify, check the target, install (paths relative to ``--project``, as if started there)."""
    from pypm import ui
    from pypm.cli.parser import start_dir
    from pypm.interpreter import venv_bin
    from pypm.operations.bundle import unbundle

    base = start_dir(options)
    destination = base / options.destination
    count = unbundle(base / options.archive, destination)
    ui.info(f"Installed {count} package{'' if count == 1 else 's'} into {destination}; "
            f"its commands are in {venv_bin(destination)}")
    return 0
