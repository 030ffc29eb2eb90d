"""``pypm cache dir|info|prune|clean``: inspect and maintain the global cache."""

from __future__ import annotations

import argparse

HELP = "show or clean the global cache (dir, info, prune, clean)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The cache action."""
    parser.add_argument("action", choices=("dir", "info", "prune", "clean"))


def run(options: argparse.Namespace) -> int:
    """Carry out the action on the cache of the current workspace's settings."""
    from pypm import ui
    from pypm.operations.cache import cache_dir_for, clean, describe, prune

    cache_dir = cache_dir_for(options)
    if options.action == "dir":
        print(cache_dir)
    elif options.action == "info":
        print(describe(cache_dir, verbose=ui.verbosity() > 0))
    elif options.action == "prune":
        ui.info(prune(cache_dir))
    else:
        ui.info(clean(cache_dir))
    return 0
