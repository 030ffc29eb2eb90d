"""``pypm verify [--json] [--env NAME]``: re-hash every installed file against its RECORD,
check each distribution's origin against the lock and the sync's Merkle root."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pypm.workspace.model import Workspace

HELP = ("check .venv against the last sync: every installed file against its RECORD (modified, removed, added),"
        " each distribution against the lock, and the Merkle root the sync recorded;"
        " exit 1 on any difference, 2 when there is no environment")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--json`` and ``--env NAME``."""
    parser.add_argument("--json", action="store_true",
                        help="print the whole report as one JSON document (differences, distributions, Merkle root)")
    parser.add_argument("--env", metavar="NAME", help="verify the named environment NAME (`pypm env`) instead")


def run(options: argparse.Namespace) -> int:
    """One line per difference and whether the Merkle root holds (or the JSON report) on
    stdout, the summary on stderr; 1 when anything differs, else 0."""
    import json

    from pypm import ui
    from pypm.cli.commands.tree import emit
    from pypm.operations.verify import verify_environment

    workspace = _workspace(options)
    report = verify_environment(workspace, _label(workspace.venv_path))
    if options.json:
        emit([json.dumps(report.to_json(), indent=1)])
    else:
        emit([*(difference.line(report.venv) for difference in report.differences), report.root_line()])
        ui.info(report.summary())
        hint = report.repair_hint()
        if hint is not None:
            ui.info(f"hint: {hint}")
    return 0 if report.ok else 1


def _workspace(options: argparse.Namespace) -> Workspace:
    """The workspace (or ``--env NAME``'s environment) whose ``.venv`` is checked."""
    from pypm.cli.graph_run import env_context
    from pypm.cli.parser import start_dir
    from pypm.graph.context import GraphContext

    ctx = env_context(options, options.env) if options.env else GraphContext.load(start_dir(options))
    return ctx.workspace


def _label(venv: Path) -> str:
    """How report paths start: ``.venv`` relative to the current directory when it is
    inside it, else its full path."""
    here = Path.cwd()
    try:
        return venv.resolve().relative_to(here.resolve()).as_posix()
    except ValueError:
        return str(venv)
