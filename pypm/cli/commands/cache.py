"""``pypm cache dir|info|prune|clean|verify``: inspect and maintain the global cache."""

from __future__ import annotations

import argparse

from pypm.cli.parser import describe_choices

HELP = "show, check or clean the global cache (dir, info, prune, clean, verify)"
ACTIONS = {
    "dir": "print where the cache is",
    "info": "size of the cache, store entries, environments linking them, bytes saved by sharing",
    "prune": "remove store entries no environment uses and what crashes left (waits for running syncs)",
    "clean": "remove everything pypm keeps in the cache (waits for running syncs)",
    "verify": "re-hash the store: one line per entry changed since it was unpacked; exit 1 if any",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The cache action, each described in ``pypm cache --help``."""
    describe_choices(parser, "actions", ACTIONS)
    parser.add_argument("action", metavar="ACTION", choices=tuple(ACTIONS), help="what to do: " + ", ".join(ACTIONS))
    parser.add_argument("--cache-dir", metavar="DIR", help="the cache to work on (default: the cache-dir setting)")


def run(options: argparse.Namespace) -> int:
    """Carry out the action on the cache of the current workspace's settings."""
    from pypm import ui
    from pypm.cli.parser import start_dir
    from pypm.config import expanded_path
    from pypm.errors import ConfigError, UsageError
    from pypm.operations import cache

    if options.cache_dir is not None and not options.cache_dir.strip():
        raise UsageError("--cache-dir needs a directory, not an empty value",
                         hint="name the cache directory, or leave the option out for the configured one")
    try:
        given = expanded_path(options.cache_dir, "--cache-dir").absolute() if options.cache_dir else None
    except ConfigError as exc:
        raise UsageError(exc.message, hint=exc.hint) from None
    cache_dir = given or cache.cache_dir_for(start_dir(options))
    if options.action == "dir":
        print(cache_dir)
    elif options.action == "info":
        print(cache.describe(cache_dir, verbose=ui.verbosity() > 0))
    elif options.action == "prune":
        ui.info(cache.prune(cache_dir))
    elif options.action == "clean":
        ui.info(cache.clean(cache_dir))
    else:
        checked, damaged = cache.verify(cache_dir)
        for line in damaged:
            print(line, flush=True)
        if damaged:
            raise cache.damaged_error(checked, damaged)
        ui.info(f"Verified {checked} store entries: all files as unpacked")
    return 0
