"""``pypm doctor [--json]``: check this machine and project, one line per check."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pypm.cli.graph_options import add_setting_options

if TYPE_CHECKING:
    from pypm.config import Settings
    from pypm.workspace.discovery import RawWorkspace

HELP = ("check Python headers, the C compiler, OpenSSL and TLS, the indexes, the cache, hardlinks, free disk, git,"
        " the WASI toolchain and .venv against the lock; exit code = number of failures")
MAX_EXIT = 100


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--json``, and the settings naming what is checked (indexes, find-links, cache)."""
    parser.add_argument("--json", action="store_true",
                        help="print the results as one JSON document (checks and counts) instead of lines")
    add_setting_options(parser, offline=False, environment=False)


def run(options: argparse.Namespace) -> int:
    """Print one line per check (or the JSON document), the counts on stderr; return the
    number of failures."""
    from pypm import ui
    from pypm.cli.graph_options import setting_overrides
    from pypm.cli.parser import start_dir
    from pypm.operations import doctor

    results = doctor.run_checks(start_dir(options), setting_overrides(options), _freshness)
    if options.json:
        print(doctor.report_json(results), flush=True)
    else:
        for line in doctor.report_lines(results):
            print(line, flush=True)
    ui.info(doctor.summary(results))
    return min(doctor.counts(results)["fail"], MAX_EXIT)


def _freshness(raw: RawWorkspace, settings: Settings) -> tuple[bool, bool]:
    """Is pylock.toml current, and does .venv match it (the default selection)? The fast
    check of ``pypm sync``, without asking build backends for dynamic metadata."""
    from pypm.graph.context import GraphContext
    from pypm.graph.freshness import lock_is_fresh, sync_is_fresh

    ctx = GraphContext(raw, settings)
    return lock_is_fresh(ctx, prepare=False), sync_is_fresh(ctx, prepare=False)
