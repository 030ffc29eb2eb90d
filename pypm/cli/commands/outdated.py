"""``pypm outdated``: locked versions against the newest the requirements allow and the
newest on the index (as ``pdm outdated`` and ``uv pip list --outdated``)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from pypm.cli.graph_options import add_lock_mode_options, add_setting_options

if TYPE_CHECKING:
    from pypm.operations.outdated import Outdated

HELP = "list locked packages with a newer allowed release or a newer release on the index"
HEADER = ("Package", "Locked", "Allowed", "Latest")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--refresh``, the lock mode and the settings (where the index and the cache are)."""
    from pypm.cli.commands.tree import FROZEN_HELP, REFRESH_HELP

    parser.add_argument("--refresh", action="store_true", help=REFRESH_HELP)
    add_lock_mode_options(parser, frozen_help=FROZEN_HELP)
    add_setting_options(parser, environment=False)


def run(options: argparse.Namespace) -> int:
    """One row per locked package with a newer allowed or a newer release on the index
    than the locked one; exit 0 either way."""
    from pypm import ui
    from pypm.cli.commands.tree import emit, locked_graph
    from pypm.cli.graph_options import lock_mode, setting_overrides
    from pypm.cli.parser import start_dir
    from pypm.operations.outdated import compare_with_index

    workspace, graph = locked_graph(start_dir(options), setting_overrides(options), lock_mode(options))
    rows = compare_with_index(workspace, graph, options.refresh)
    shown = [row for row in rows if row.newer]
    if not shown:
        ui.info(f"All {len(rows)} locked packages are the newest releases allowed and on the index")
        return 0
    emit(table([HEADER, *(cells(row) for row in shown)]))
    return 0


def cells(row: Outdated) -> tuple[str, str, str, str]:
    """The row's cells: the name (with its fork marker when forked) and the versions
    (``-`` when none is usable)."""
    name = f"{row.node.name} ({row.node.marker})" if row.node.forked and row.node.marker else row.node.name
    return (name, str(row.locked), str(row.allowed or "-"), str(row.latest or "-"))


def table(rows: list[tuple[str, ...]]) -> list[str]:
    """Columns padded to their widest cell, two spaces apart."""
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
