"""``pypm import FILE``: bring a requirements file, a Poetry, Pipenv, PDM or uv project into
the workspace's ``pyproject.toml`` and lock it with the versions it had."""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pypm.operations.importers.apply import ImportOutcome, ImportTarget

HELP = "import a requirements file or a Poetry, Pipenv, PDM or uv project into pyproject.toml, and lock it"
EPILOG = ("FILE is a requirements file (*.txt, *.in: -r, -c, --index-url, --hash ...), a pyproject.toml with "
          "[tool.poetry], [tool.pdm] or [tool.uv], a poetry.lock, pdm.lock or uv.lock (the pyproject beside it is "
          "read), or a Pipfile / Pipfile.lock. Pinned versions become the locked versions, ranges the project's "
          "requirements, indexes [tool.pypm] settings. The lock is resolved before anything is written: a failed "
          "import leaves pyproject.toml and pylock.toml as they were. `pypm sync` installs the result.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The file, where its requirements go, and the settings a lock run reads."""
    parser.epilog = EPILOG
    parser.add_argument("file", metavar="FILE", type=Path, help="the file to import")
    parser.add_argument("--group", metavar="G",
                        help="put a requirements file's requirements in dependency group G instead of dependencies")
    parser.add_argument("--package", metavar="MEMBER", help="import into this workspace member's pyproject.toml")
    settings = parser.add_argument_group("settings (override PYPM_* variables and [tool.pypm] for this run)")
    settings.add_argument("--cache-dir", metavar="DIR", help="the cache directory")
    settings.add_argument("--offline", action="store_true", default=None, help="use the cache only")


def run(options: argparse.Namespace) -> int:
    """Read FILE (a path relative to ``--project``, as if started there), import it into the
    target pyproject (locking first), say what was imported."""
    from pypm.cli.graph_options import setting_overrides, valid_name
    from pypm.cli.parser import start_dir
    from pypm.errors import UsageError
    from pypm.operations.importers import ImportContext, detect_kind, read_import
    from pypm.operations.importers.apply import find_target, import_into

    start = start_dir(options)
    file = start / options.file  # as if started in --project, like every path pypm takes
    kind = detect_kind(file)
    if options.group and kind != "requirements":
        raise UsageError(f"--group applies to requirements files, not to a {kind} project",
                         hint="a project's own groups are imported as they are")
    group = valid_name(options.group, "--group", "dependency group") if options.group else None
    target = find_target(start, options.package, group)
    imported = read_import(file, ImportContext(target.pyproject.parent, target.project_dirs))
    with project_lock(target):
        outcome = import_into(target, imported, group, setting_overrides(options))
    report(outcome, file)
    return 0


@contextlib.contextmanager
def project_lock(target: ImportTarget) -> Iterator[None]:
    """Hold the workspace's graph lock (as ``pypm lock`` does) while the import locks and
    writes; a new project has no other pypm to wait for."""
    if target.raw is None:
        yield
        return
    from pypm.config import load_settings
    from pypm.graph.context import GraphContext
    from pypm.graph.session import editing_project

    with editing_project(GraphContext(target.raw, load_settings(target.raw.tool_table, target.raw.config_file))):
        yield


def report(outcome: ImportOutcome, file: Path) -> None:
    """The notes (warnings), what went where, the lock's own lines, then the next step."""
    from pypm import ui

    for note in outcome.notes:
        ui.warning(note)
    parts = [f"{outcome.requirements} requirement{'' if outcome.requirements == 1 else 's'}"]
    if outcome.groups:
        parts.append(f"{len(outcome.groups)} group{'' if len(outcome.groups) == 1 else 's'} "
                     f"({', '.join(outcome.groups)})")
    if outcome.extras:
        parts.append(f"{len(outcome.extras)} extra{'' if len(outcome.extras) == 1 else 's'} "
                     f"({', '.join(outcome.extras)})")
    parts += outcome.indexes
    parts.append(f"{outcome.pins} pinned version{'' if outcome.pins == 1 else 's'}")
    written = "a new " if outcome.created else ""
    ui.info(f"Imported {', '.join(parts)} from {file.name} into {written}{outcome.pyproject}")
    for line in outcome.lock_output.splitlines():
        ui.info(line)
    for line in outcome.not_kept:
        ui.warning(line)
    ui.info("Run `pypm sync` to install it")
