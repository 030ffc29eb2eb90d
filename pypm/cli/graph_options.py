"""Options shared by the graph commands (``lock``, ``sync``), which can be combined:
``pypm lock sync`` runs both as one task graph."""

from __future__ import annotations

import argparse

from pypm.cli.parser import start_dir
from pypm.errors import UsageError
from pypm.graph.context import GRAPH_OPERATIONS, GraphContext
from pypm.operations.lock_request import LockRequest
from pypm.operations.selection import Selection


def add_graph_arguments(parser: argparse.ArgumentParser, operations: bool = True) -> None:
    """Options of every graph operation (any of them may run in one call)."""
    if operations:
        parser.add_argument(
            "more", nargs="*", metavar="OPERATION",
            help="further operations to run: " + ", ".join(GRAPH_OPERATIONS),
        )
    lock = parser.add_argument_group("lock options")
    lock.add_argument("--upgrade", "-U", action="store_true", help="ignore locked versions, take the newest allowed")
    lock.add_argument("--upgrade-package", "-P", action="append", default=[], metavar="NAME",
                      help="take the newest allowed version of NAME only (repeatable)")
    lock.add_argument("--refresh", action="store_true", help="revalidate cached index pages and re-resolve")
    lock.add_argument("--prerelease", choices=("if-necessary", "allow", "disallow"),
                      help="when pre-releases may be chosen (default: the prerelease setting)")
    sync = parser.add_argument_group("sync options")
    sync.add_argument("--group", action="append", default=[], metavar="G", help="also install dependency group G")
    sync.add_argument("--only-group", action="append", default=[], metavar="G", help="install only group G")
    sync.add_argument("--all-groups", action="store_true", help="install every dependency group")
    sync.add_argument("--no-dev", action="store_true", help="leave out the dev group")
    sync.add_argument("--extra", action="append", default=[], metavar="E", help="install extra E")
    sync.add_argument("--all-extras", action="store_true", help="install every extra")
    sync.add_argument("--no-install-project", action="store_true", help="leave out the workspace members")
    sync.add_argument("--inexact", action="store_true", help="keep packages the lock does not list")
    sync.add_argument("--frozen", action="store_true", help="install pylock.toml as it is; never re-lock")
    sync.add_argument("--locked", action="store_true", help="fail when pylock.toml is stale; never re-lock")
    sync.add_argument("--offline", action="store_true", default=None, help="use the cache only")
    sync.add_argument("--python", metavar="VERSION|PATH", help="interpreter for .venv, e.g. 3.12")
    sync.add_argument("--link-mode", choices=("hardlink", "copy", "symlink"), help="how files get into .venv")


def selection_from(options: argparse.Namespace) -> Selection:
    """The sync selection described by the options."""
    from pypm.workspace.discovery import canonical_name

    return Selection(
        groups=tuple(canonical_name(g) for g in options.group),
        no_dev=options.no_dev,
        all_groups=options.all_groups,
        only_groups=tuple(canonical_name(g) for g in options.only_group),
        extras=tuple(canonical_name(e) for e in options.extra),
        all_extras=options.all_extras,
        install_project=not options.no_install_project,
        inexact=options.inexact,
    )


def lock_request_from(options: argparse.Namespace) -> LockRequest:
    """The lock request described by the options."""
    return LockRequest(
        upgrade=options.upgrade,
        upgrade_packages=tuple(options.upgrade_package),
        refresh=options.refresh,
        prerelease=options.prerelease,
    )


def operations_from(options: argparse.Namespace) -> list[str]:
    """The requested operations in graph order."""
    asked = [options.command, *options.more]
    unknown = [op for op in asked if op not in GRAPH_OPERATIONS]
    if unknown:
        raise UsageError(f"{unknown[0]!r} cannot be combined here", hint=f"combine only {', '.join(GRAPH_OPERATIONS)}")
    return [op for op in GRAPH_OPERATIONS if op in asked]


def run_operations(options: argparse.Namespace, operations: list[str]) -> GraphContext:
    """Run the operations, or say that all is up to date without loading doit."""
    from pypm import ui
    from pypm.graph.freshness import stale_operations

    ctx = GraphContext.load(
        start_dir(options), selection=selection_from(options), lock_request=lock_request_from(options)
    )
    for name in ("python", "link-mode", "offline"):
        ctx.settings.override(name, getattr(options, name.replace("-", "_")))
    if options.frozen or options.locked:
        if "lock" in operations:
            raise UsageError("--frozen and --locked never re-lock, so they cannot run with lock")
        if options.locked:
            from pypm.operations.lock import check

            check(ctx.validate())
        ctx.frozen = True
    if not ctx.lock_request.forces and not stale_operations(ctx, operations):
        ui.info(f"All up to date ({', '.join(operations)})")
        return ctx
    from pypm.graph.runner import run_graph

    ctx.validate()  # every member is checked before any state is written
    run_graph(ctx, operations)
    return ctx
