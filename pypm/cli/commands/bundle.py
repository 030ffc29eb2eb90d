"""``pypm bundle`` (alias ``pypm pypylock``): pack the lock, its wheels, the members'
wheels and a stdlib installer into one reproducible archive; ``--verify FILE`` checks one."""

from __future__ import annotations

import argparse
from pathlib import Path

from pypm.cli.graph_options import add_graph_run_options, add_sync_command_options

HELP = "pack the locked environment into one reproducible, verifiable archive"
ALIASES = ("pypylock",)
EPILOG = ("The bundle holds pylock.toml, every wheel the selection needs, the members' wheels, manifest.json and "
          "install.py: `python3 install.py DEST` installs it with no network (`pypm unbundle FILE DEST` does the "
          "same). It runs after lock and sync, with the same selection.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Bundle options, then what ``sync`` honours (the bundle packs what sync installs)."""
    parser.epilog = EPILOG
    group = parser.add_argument_group("bundle options")
    group.add_argument("-o", "--output", metavar="FILE", type=Path,
                       help="the archive to write (default: dist/<name>-<version>-bundle.tar.gz)")
    group.add_argument("--with-python", action="store_true",
                       help="also pack .venv's interpreter, so the target needs no Python")
    group.add_argument("--platform", metavar="TAG",
                       help="bundle wheels for this platform instead of this machine's, e.g. manylinux_2_28_x86_64")
    group.add_argument("--verify", metavar="FILE", type=Path,
                       help="check an archive against its manifest and Merkle root; build nothing")
    add_sync_command_options(parser)
    add_graph_run_options(parser)
    parser.set_defaults(more=[])


def run(options: argparse.Namespace) -> int:
    """Verify an archive, or run lock, sync and bundle as one task graph."""
    if options.verify is not None:
        return _verify(options)
    from pypm.cli.graph_run import load_context, run_operations
    from pypm.cli.parser import start_dir
    from pypm.operations.bundle_request import BundleRequest

    if options.platform is not None:  # a bad tag, or one with --with-python, is refused before any work
        from pypm.bundle.target import check_platform

        check_platform(options.platform, options.with_python)
    from pypm.operations.bundle import environment_epoch

    environment_epoch()  # a bad SOURCE_DATE_EPOCH too: lock and sync would build with it
    ctx = load_context(options)
    output = start_dir(options) / options.output if options.output else None  # as if started in --project
    ctx.bundle_request = BundleRequest(output, options.with_python, options.platform)
    run_operations(options, ["bundle"], ctx)
    return 0


def _verify(options: argparse.Namespace) -> int:
    """``--verify FILE``: it builds nothing, so it takes no other option of this command."""
    from pypm import ui
    from pypm.errors import UsageError
    from pypm.operations.bundle import verify_bundle

    refused = unused_by_verify(options)
    if refused:
        raise UsageError(f"--verify checks an archive and builds nothing, so it cannot go with {refused[0]}",
                         hint=f"drop {refused[0]} or --verify")
    from pypm.cli.parser import start_dir

    manifest = verify_bundle(start_dir(options) / options.verify)
    count = len(manifest.get("install", []))
    ui.info(f"{options.verify}: OK, {len(manifest['files'])} files ({count} wheels) match the manifest; "
            f"Merkle root {manifest['merkle-root']}")
    return 0


def unused_by_verify(options: argparse.Namespace) -> list[str]:
    """The options of this command given in ``options`` (a value other than the default)
    other than ``--verify``: taken from the parser :func:`add_arguments` builds, so an
    option added there is refused with ``--verify`` too. Global options are not in it."""
    parser = argparse.ArgumentParser(add_help=False)
    add_arguments(parser)
    return [_flag(action) for action in parser._actions  # noqa: SLF001 - argparse lists its actions only here
            if action.dest != "verify" and action.option_strings
            and getattr(options, action.dest, action.default) != action.default]


def _flag(action: argparse.Action) -> str:
    """The option as a user types it: its long form when it has one."""
    return next((text for text in action.option_strings if text.startswith("--")), action.option_strings[0])
