"""``pypm audit``: the locked versions against known vulnerabilities (OSV advisories),
online or from a local database; ``--fix`` re-locks the affected packages at their
nearest fixed versions."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm.cli.graph_options import add_setting_options

if TYPE_CHECKING:
    from pypm.advisories.model import AdvisorySource
    from pypm.operations.audit import AuditReport

HELP = "check every locked package version against known vulnerabilities (OSV); exit 1 when any is found"
EPILOG = """\
sources:
  (default), --service osv   the OSV service (https://api.osv.dev; PYPM_OSV_URL names a mirror
                             or a test server), falling back to the per-release JSON of the index
                             a package was locked from (as PyPI's /pypi/NAME/VERSION/json) when
                             the service cannot be used
  --db PATH                  a local OSV database, offline: a directory or zip of OSV JSON
                             advisories (e.g. https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip)

exit status: 0 no known vulnerability, 1 some found (after --fix: some remain),
2 the audit could not be done (a source unreachable or unreadable, no lock...)"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The source, the output, what to leave out, ``--fix``, and the settings (``--fix`` locks)."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--db", metavar="PATH", type=Path,
                        help="audit offline against a local OSV database (a directory or zip of OSV JSON files)")
    source.add_argument("--service", choices=("osv",), help="the online service to ask (default: osv)")
    parser.add_argument("--json", action="store_true", help="print one JSON document with every finding")
    parser.add_argument("--ignore", action="append", default=[], metavar="ID",
                        help="leave out the advisory ID (its id or any alias, e.g. a CVE; repeatable)")
    parser.add_argument("--current", action="store_true",
                        help="only the packages the lock installs for the Python running pypm "
                             "(default: every environment the lock serves)")
    parser.add_argument("--fix", action="store_true",
                        help="re-lock each affected package at its nearest fixed version (least churn), "
                             "say what moved, and audit again")
    add_setting_options(parser, environment=False)


def run(options: argparse.Namespace) -> int:
    """Audit (and fix); exit 0 when nothing is found, 1 when something is (or remains)."""
    from pypm.errors import PypmError, os_error

    try:
        return _run(options)
    except OSError as exc:
        error = os_error(exc)
        error.exit_code = 2  # nothing was audited: not to be taken for "vulnerable" (1)
        raise error from None
    except PypmError as exc:
        if exc.exit_code == 1:
            exc.exit_code = 2  # 1 means "vulnerabilities found"; anything that stops the audit is 2
        raise


def _run(options: argparse.Namespace) -> int:
    from pypm.cli.graph_run import edit_context
    from pypm.operations.audit import audit, locked_entries, open_source

    ctx = edit_context(options)  # the workspace and its settings with this run's overrides
    entries = locked_entries(ctx.lock_path, options.current)
    source = open_source(options.db, entries, bool(ctx.settings["offline"]), options.service or "osv")
    ignore = tuple(options.ignore)
    scope = "current" if options.current else "all"
    report = audit(entries, source, ignore, scope)
    if not options.fix or not report.findings:
        _show(options, report)
        return 1 if report.findings else 0
    return _fix(options, report, source, ignore, ctx.lock_path)


def _fix(options: argparse.Namespace, report: AuditReport, source: AdvisorySource, ignore: tuple[str, ...],
         lock_path: Path) -> int:
    """Show the findings, re-lock at the nearest fixes, say what moved, audit again."""
    from pypm import ui
    from pypm.operations.audit import audit, fix_lines, locked_entries, locked_versions, plan_fix

    if not options.json:
        _show(options, report)
    plan = plan_fix(report)
    before = locked_versions(lock_path)
    if plan.targets:
        _relock(options, plan.prefer)
    lines, moves = fix_lines(plan, before, locked_versions(lock_path))
    if not options.json:
        for line in lines:
            ui.info(line)
    after = audit(locked_entries(lock_path, options.current), source, ignore, report.scope)
    _show(options, after, {"fix": moves, "found_before": len(report.findings)})
    return 1 if after.findings else 0


def _relock(options: argparse.Namespace, prefer: tuple[tuple[str, str], ...]) -> None:
    """Lock through the task graph (hooks, the project's graph lock), preferring the fixed
    versions over the locked ones.

    ``prefer`` alone, not ``upgrade_packages``: an upgraded package's preferences are
    dropped, so the newest allowed release would be taken instead of the nearest fix.
    ``refresh`` asks the index again for its pages (a fix is often newer than the cached
    page), as ``--upgrade-package`` would have."""
    from pypm.cli.graph_run import apply_overrides, run_operations
    from pypm.cli.parser import start_dir
    from pypm.graph.context import GraphContext
    from pypm.operations.lock_request import LockRequest

    ctx = GraphContext.load(start_dir(options), lock_request=LockRequest(prefer=prefer, refresh=True))
    apply_overrides(ctx.settings, options)
    run_operations(options, ["lock"], ctx)


def _show(options: argparse.Namespace, report: AuditReport, extra: dict[str, Any] | None = None) -> None:
    """The findings as aligned lines on stdout and the summary on stderr, or the JSON document."""
    from pypm import ui
    from pypm.cli.commands.outdated import table
    from pypm.cli.commands.tree import emit
    from pypm.operations.audit import finding_row, report_document, summary, to_json

    if options.json:
        emit([to_json({**report_document(report), **(extra or {})})])
        return
    if report.findings:
        emit(table([finding_row(finding) for finding in report.findings]))
    ui.info(summary(report))

