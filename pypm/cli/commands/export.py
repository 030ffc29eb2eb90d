"""``pypm export``: write the lock for one selection as requirements.txt or as a pylock.toml
(locking first when stale, as ``pypm sync`` does)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pypm.cli.graph_options import (
    add_lock_mode_options,
    add_lock_options,
    add_selection_options,
    add_setting_options,
)

if TYPE_CHECKING:
    from pypm.graph.context import GraphContext

HELP = "export the lock for one selection: requirements.txt with hashes, or a pylock.toml"
EPILOG = ("The export is universal: every package the selection needs on any platform, with its environment "
          "marker. With hashes, `pip install --require-hashes -r FILE` installs it; workspace members (source "
          "trees, which have no hash) are left out with a comment, or written as `-e ./path` with --no-hashes. "
          "--format pylock writes a PEP 751 lock for this selection alone (name it pylock.NAME.toml); it never "
          "holds members.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Export options, the selection (as ``sync`` reads it), and how the lock is made first."""
    from pypm.operations.export import FORMATS

    parser.epilog = EPILOG
    group = parser.add_argument_group("export options")
    group.add_argument("--format", choices=FORMATS,
                       help="what to write (default: pylock when -o names a pylock.*.toml, else requirements.txt)")
    group.add_argument("-o", "--output", metavar="FILE", type=Path,
                       help="write FILE (atomically) instead of printing to stdout")
    group.add_argument("--no-hashes", action="store_true",
                       help="leave out the --hash lines (requirements.txt only); members become -e lines")
    _add_selection_options(parser)
    add_lock_options(parser, "lock options (used when pylock.toml is re-locked first)")
    add_lock_mode_options(parser, frozen_help="export pylock.toml as it is, even when stale; never re-lock")
    add_setting_options(parser, environment=False)


def _add_selection_options(parser: argparse.ArgumentParser) -> None:
    """``sync``'s selection options with the same meaning (and the same names where they
    read), less ``--inexact``, which says nothing about a file: ``--no-members`` is
    ``--no-install-project``."""
    selection = add_selection_options(parser, "selection (as `pypm sync` takes it)", verb="export", venv=False)
    selection.add_argument("--no-members", "--no-install-project", dest="no_install_project", action="store_true",
                           help="leave out the workspace members (with a comment), also with --no-hashes")
    parser.set_defaults(inexact=False)


def run(options: argparse.Namespace) -> int:
    """Lock when stale (unless ``--frozen``; ``--locked`` fails instead), then export."""
    from pypm import ui
    from pypm.cli.graph_options import check_combination, lock_mode, selection_from
    from pypm.cli.graph_run import load_context
    from pypm.cli.parser import start_dir
    from pypm.operations.export import (
        ExportRequest,
        check_output,
        check_request,
        export,
        export_format,
        write_output,
    )

    typed = options.output
    if options.output is not None:  # as every path pypm takes: relative to --project, as if started there
        options.output = start_dir(options) / options.output
    request = ExportRequest(export_format(options.format, options.output), not options.no_hashes, options.output)
    check_request(request)
    check_combination(options, [])
    ctx = load_context(options)
    check_output(options.output, ctx.lock_path, request.format)
    _lock_first(options, ctx, lock_mode(options))
    selection = selection_from(options)
    exported = export(ctx.validate(), selection, request)
    if request.format == "pylock" and exported.omitted_members and selection.install_project:
        ui.info(f"Left out the workspace members {', '.join(exported.omitted_members)}: a PEP 751 lock holds "
                "no source tree without a hash (install them from their sources or built wheels)")
    if options.output is None:
        print(exported.text, end="")
        return 0
    write_output(options.output, exported.text)
    ui.info(f"Exported {exported.packages} package{'' if exported.packages == 1 else 's'} to {typed}")
    return 0


def _lock_first(options: argparse.Namespace, ctx: GraphContext, mode: str | None) -> None:
    """Re-lock a stale lock through the task graph (as ``pypm sync`` does); ``--frozen``
    takes the lock as it is, ``--locked`` fails (exit 1) when it is stale."""
    from pypm.cli.graph_run import run_operations
    from pypm.graph.freshness import stale_operations

    if mode == "frozen":
        return
    if mode == "locked":
        from pypm.operations.lock import check

        check(ctx.validate())
        return
    if ctx.lock_request.forces or stale_operations(ctx, ["lock"]):
        run_operations(options, ["lock"], ctx)
