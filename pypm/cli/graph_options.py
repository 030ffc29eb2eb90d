"""The options of the graph commands, declared once and read into plain values.

Each command declares only the groups it honours (``pypm <command> --help`` lists
nothing else):

==========  =======================================================================
``lock``    operations (``sync``, user tasks), lock options, ``--offline``, ``--check``,
            task graph options; sync options and ``--python``/``--link-mode`` only
            together with ``sync`` or a task
``sync``    operations (``lock``, user tasks), lock options (used when sync re-locks a
            stale lock), sync options, ``--frozen``/``--locked``, environment settings,
            task graph options (``--dry-run``, ``--jobs``, ``--keep-going``)
``run``     as ``sync`` without operations, plus ``--no-sync``, the task options and
            the task or command
``shell``   as ``sync`` without operations and task graph options
``status``  operations and tasks to show, lock options, selection, ``--frozen``,
            ``--python``, ``--link-mode`` (it answers what ``pypm sync`` with them would do)
==========  =======================================================================

Readers take what a command did not declare as its default, so one reader serves all.
"""

from __future__ import annotations

import argparse
from collections.abc import Collection
from pathlib import Path
from typing import Any

from pypm.cli.parser import describe_choices
from pypm.config import PRERELEASE_MODES
from pypm.errors import UsageError
from pypm.graph import GRAPH_OPERATIONS
from pypm.operations.lock_request import LockRequest
from pypm.operations.selection import Reinstall, Selection

OPERATION_HELP = {
    "lock": "resolve every member's dependencies into pylock.toml (when its inputs changed)",
    "sync": "make .venv match pylock.toml exactly (locking first when stale)",
    "bundle": "pack the lock, its wheels and an installer into dist/ (after sync; see `pypm bundle --help`)",
    "TASK": "a task of [tool.pypm.tasks] (`pypm tasks` lists them), run after sync",
}
LOCK_FLAGS = {"upgrade": "--upgrade", "upgrade_package": "--upgrade-package", "refresh": "--refresh",
              "prerelease": "--prerelease"}
SYNC_FLAGS = {
    "group": "--group", "only_group": "--only-group", "all_groups": "--all-groups", "no_dev": "--no-dev",
    "extra": "--extra", "all_extras": "--all-extras", "no_install_project": "--no-install-project",
    "inexact": "--inexact", "frozen": "--frozen", "locked": "--locked",
    "offline": "--offline", "python": "--python", "link_mode": "--link-mode",
    "reinstall": "--reinstall", "reinstall_package": "--reinstall-package",
}


def add_operations(parser: argparse.ArgumentParser, help_text: str, names: tuple[str, ...] = GRAPH_OPERATIONS,
                   tasks: bool = False) -> None:
    """The ``OPERATION`` positionals; ``names`` are described in the command's ``--help``
    (and user tasks, when ``tasks``)."""
    shown = [*names, *(["TASK"] if tasks else [])]
    describe_choices(parser, "operations", {name: OPERATION_HELP[name] for name in shown})
    parser.add_argument("more", nargs="*", metavar="OPERATION", help=help_text)


def add_lock_options(parser: argparse.ArgumentParser, title: str = "lock options") -> None:
    """How ``lock`` resolves: upgrades, index revalidation, the pre-release policy."""
    lock = parser.add_argument_group(title)
    lock.add_argument("--upgrade", "-U", action="store_true",
                      help="ignore locked versions, take the newest allowed (asks the index again)")
    lock.add_argument("--upgrade-package", "-P", action="append", default=[], metavar="NAME",
                      help="take the newest allowed version of NAME only, asking the index again "
                           "(repeatable)")
    lock.add_argument("--refresh", action="store_true",
                      help="ask the index again for every page (cached ones are otherwise reused for "
                           "index-page-ttl seconds) and re-resolve")
    lock.add_argument("--prerelease", choices=PRERELEASE_MODES,
                      help="when pre-releases may be chosen (default: the prerelease setting)")


def add_selection_options(parser: argparse.ArgumentParser, title: str = "sync options", verb: str = "install",
                          venv: bool = True) -> argparse._ArgumentGroup:
    """Which groups, extras and members ``sync`` installs (``verb``: what the command does
    with them; ``venv``: with ``--no-install-project`` and ``--inexact``, which only mean
    something for ``.venv``). Returns the group, for a command's own selection options."""
    sync = parser.add_argument_group(title)
    sync.add_argument("--group", action="append", default=[], metavar="G", help=f"also {verb} dependency group G")
    sync.add_argument("--only-group", action="append", default=[], metavar="G",
                      help=f"{verb} only group G and what it needs, not the project (repeatable)")
    sync.add_argument("--all-groups", action="store_true", help=f"{verb} every dependency group")
    sync.add_argument("--no-dev", action="store_true", help="leave out the dev group")
    sync.add_argument("--extra", action="append", default=[], metavar="E",
                      help=f"{verb} extra E of every member that has it (MEMBER:E: only that member's)")
    sync.add_argument("--all-extras", action="store_true", help=f"{verb} every extra")
    if venv:
        sync.add_argument("--no-install-project", action="store_true", help="leave out the workspace members")
        sync.add_argument("--inexact", action="store_true", help="keep packages the lock does not list")
    return sync


def add_reinstall_options(group: argparse._ArgumentGroup) -> None:
    """``--reinstall`` and ``--reinstall-package`` (uv's), for commands that sync."""
    group.add_argument("--reinstall", action="store_true",
                       help="install every package again, even those that look up to date")
    group.add_argument("--reinstall-package", action="append", default=[], metavar="NAME",
                       help="install NAME again, even when it looks up to date (repeatable)")


def add_lock_mode_options(parser: argparse.ArgumentParser, locked: bool = True,
                          frozen_help: str = "install pylock.toml as it is, even when stale; never re-lock") -> None:
    """``--frozen`` (and ``--locked``): sync without re-locking (as uv's flags)."""
    group = parser.add_argument_group("lock file").add_mutually_exclusive_group()
    group.add_argument("--frozen", action="store_true", help=frozen_help)
    if locked:
        group.add_argument("--locked", action="store_true",
                           help="fail (exit 1) when pylock.toml is stale; never re-lock")


def add_setting_options(parser: argparse.ArgumentParser, offline: bool = True, environment: bool = True) -> None:
    """Settings overridden for this run (over PYPM_* variables, [tool.pypm] and the user
    file, as pip's and uv's flags do): where packages come from, the cache, ``--offline``;
    ``--python`` and ``--link-mode``."""
    group = parser.add_argument_group("settings (override PYPM_* variables and [tool.pypm] for this run)")
    group.add_argument("--index-url", metavar="URL", help="the primary index (PEP 503/691)")
    group.add_argument("--extra-index-url", action="append", metavar="URL",
                       help="a further index (repeatable; replaces the configured extra indexes)")
    group.add_argument("--find-links", action="append", metavar="PATH|URL",
                       help="a directory or page of distribution files (repeatable; replaces the configured ones)")
    group.add_argument("--allow-insecure-host", action="append", metavar="HOST",
                       help="a host (or host:port) whose plain-http pages may be read (repeatable; replaces the "
                            "configured ones)")
    group.add_argument("--cache-dir", metavar="DIR", help="the cache directory")
    if offline:
        group.add_argument("--offline", action="store_true", default=None, help="use the cache only")
    if environment:
        group.add_argument("--python", metavar="VERSION|PATH", help="interpreter for .venv, e.g. 3.12")
        group.add_argument("--link-mode", choices=("hardlink", "copy", "symlink"), help="how files get into .venv")


def add_sync_command_options(parser: argparse.ArgumentParser) -> None:
    """Everything a command that syncs honours (``sync``, ``run``, ``shell``)."""
    add_lock_options(parser, "lock options (used when pylock.toml is re-locked first)")
    add_reinstall_options(add_selection_options(parser))
    add_lock_mode_options(parser)
    add_setting_options(parser)


def selection_from(options: argparse.Namespace) -> Selection:
    """The sync selection described by the options (the default for ``lock``)."""
    from pypm.workspace.discovery import canonical_name

    if not hasattr(options, "group"):
        return Selection()
    others = given_flags(options, {"group": "--group", "all_groups": "--all-groups", "extra": "--extra",
                                   "all_extras": "--all-extras"}) if options.only_group else []
    if others:  # extras are the project's, which --only-group leaves out
        raise UsageError(f"--only-group installs only the groups it names, so it cannot go with {others[0]}",
                         hint=f"name every group with --only-group, or drop {others[0]}")
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


def reinstall_from(options: argparse.Namespace) -> Reinstall:
    """``--reinstall`` / ``--reinstall-package`` (nothing for commands without them)."""
    return Reinstall(getattr(options, "reinstall", False),
                     frozenset(package_names(getattr(options, "reinstall_package", []), "--reinstall-package")))


def lock_request_from(options: argparse.Namespace) -> LockRequest:
    """The lock request described by the options."""
    return LockRequest(
        upgrade=options.upgrade,
        upgrade_packages=package_names(options.upgrade_package, "--upgrade-package"),
        refresh=options.refresh,
        prerelease=options.prerelease,
    )


def setting_overrides(options: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    """The settings given on the command line (only those the command declares), each
    with the flag that gave it (named in errors)."""
    given = {
        "index-url": (getattr(options, "index_url", None), "--index-url"),
        "extra-index-url": (getattr(options, "extra_index_url", None), "--extra-index-url"),
        "find-links": (getattr(options, "find_links", None), "--find-links"),
        "allow-insecure-host": (getattr(options, "allow_insecure_host", None), "--allow-insecure-host"),
        "cache-dir": (getattr(options, "cache_dir", None), "--cache-dir"),
        "offline": (getattr(options, "offline", None), "--offline"),
        "python": (getattr(options, "python", None), "--python"),
        "link-mode": (getattr(options, "link_mode", None), "--link-mode"),
    }
    return {name: pair for name, pair in given.items() if pair[0] is not None}


def lock_mode(options: argparse.Namespace) -> str | None:
    """``"frozen"``, ``"locked"`` or None, from ``--frozen``/``--locked``."""
    if getattr(options, "frozen", False):
        return "frozen"
    if getattr(options, "locked", False):
        return "locked"
    return None


def given_flags(options: argparse.Namespace, flags: dict[str, str]) -> list[str]:
    """Which of ``flags`` (dest -> flag) were given (every default is empty or false)."""
    return [flag for dest, flag in flags.items() if getattr(options, dest, None)]


def forcing_flags(options: argparse.Namespace) -> list[str]:
    """The lock options given that ask for a re-lock (``--upgrade``...), as typed."""
    return given_flags(options, LOCK_FLAGS)


def checked_operations(asked: list[str], what: str, tasks: Collection[str] = ()) -> list[str]:
    """``asked``: the operations in graph order, then the user tasks (``tasks``) in the
    order given; an unknown name is a command-line mistake (exit 2)."""
    unknown = [name for name in asked if name not in GRAPH_OPERATIONS and name not in tasks]
    if unknown:
        known = ", ".join([*GRAPH_OPERATIONS, *sorted(tasks)])
        raise UsageError(f"{unknown[0]!r} {what}", hint=f"operations and tasks are {known}")
    user = [name for name in dict.fromkeys(asked) if name not in GRAPH_OPERATIONS]
    return [*(op for op in GRAPH_OPERATIONS if op in asked), *user]


def requested_names(options: argparse.Namespace) -> list[str]:
    """What ``pypm lock|sync [NAME...]`` (or ``pypm TASK...``) asked for, unchecked: the
    command's operation, then the further operations and tasks."""
    first = [] if getattr(options, "bare", False) else [options.command]
    return [*first, *options.more]


def add_graph_run_options(parser: argparse.ArgumentParser) -> None:
    """How a graph run with user tasks goes: ``--dry-run``, ``--jobs``, ``--keep-going``."""
    group = parser.add_argument_group("task graph")
    group.add_argument("--dry-run", action="store_true", help="list what would run and why; run nothing")
    group.add_argument("--jobs", "-j", type=_jobs, default=1, metavar="N",
                       help="run up to N user tasks at once, each output line prefixed with its task")
    group.add_argument("--keep-going", action="store_true",
                       help="after a task fails, still run the tasks that do not depend on it")


def _jobs(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def check_combination(options: argparse.Namespace, operations: list[str]) -> None:
    """Refuse options that contradict each other, before any work (exit 2)."""
    mode = lock_mode(options)
    if mode is None:
        return
    if "lock" in operations:
        raise UsageError(f"--{mode} never re-locks, so it cannot run with lock", hint=f"drop lock or --{mode}")
    forcing = forcing_flags(options)
    if forcing:
        raise UsageError(f"--{mode} never re-locks, so it cannot be combined with {forcing[0]}",
                         hint=f"drop {forcing[0]} or --{mode}")


def add_edit_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """What ``add`` and ``remove`` take besides their names: where, ``--no-sync``, settings."""
    add_place_options(parser, verb)
    parser.add_argument("--no-sync", action="store_true", help="lock, but do not change .venv")
    parser.add_argument("--script", metavar="FILE", type=Path,
                        help=f"{verb} the `# /// script` block of a PEP 723 script instead, and lock its environment")
    target = parser.add_argument_group("shared environments").add_mutually_exclusive_group()
    target.add_argument("--env", metavar="NAME", help=f"{verb} the named environment NAME (`pypm env`)")
    target.add_argument("--global", dest="global_env", action="store_true",
                        help=f"{verb} the default environment (made on first use)")
    add_setting_options(parser)


def add_place_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """Which list of which pyproject: ``--group``/``--dev``/``--optional``, ``--package``."""
    where = parser.add_argument_group("where").add_mutually_exclusive_group()
    # own dests: `group`, `dev`... would read as the sync selection (pypm.cli.graph_options.selection_from)
    where.add_argument("--group", dest="place_group", metavar="G",
                       help=f"{verb} dependency group G ([dependency-groups])")
    where.add_argument("--dev", dest="place_dev", action="store_true",
                       help=f"{verb} the dev group (as --group dev)")
    where.add_argument("--optional", dest="place_optional", metavar="EXTRA",
                       help=f"{verb} extra EXTRA ([project.optional-dependencies])")
    parser.add_argument("--package", metavar="MEMBER",
                        help="the member whose pyproject.toml to change (default: the one you are in, else the root)")


def place_from(options: argparse.Namespace) -> object:
    """The :class:`pypm.workspace.edit.Place` the options name."""
    from pypm.workspace.edit import Place

    if options.place_dev:
        return Place("group", "dev")
    if options.place_group:
        return Place("group", valid_name(options.place_group, "--group", "dependency group"))
    if options.place_optional:
        return Place("optional", valid_name(options.place_optional, "--optional", "extra"))
    return Place("project")


def valid_name(name: str, flag: str, what: str) -> str:
    """``name`` normalized, when it is a valid name for an extra (PEP 685) or a dependency
    group (PEP 735): the rules of project names; else exit 2."""
    from packaging.utils import InvalidName, canonicalize_name

    try:
        return canonicalize_name(name, validate=True)
    except InvalidName:
        hint = "use letters, digits, '-', '_' and '.', starting and ending with a letter or digit"
        raise UsageError(f"{flag} {name!r} is not a valid {what} name", hint=hint) from None


def package_names(names: list[str], flag: str) -> tuple[str, ...]:
    """The project names given to ``flag`` (``-P``, ``--reinstall-package``), normalized;
    anything else (a version, a marker, a typo) is a command-line mistake (exit 2), never
    a name that matches nothing and is silently ignored."""
    found = []
    for name in names:
        if any(mark in name for mark in "=<>!~;[@ "):
            raise UsageError(f"{flag} takes a package name, not {name!r}",
                             hint="give the name alone; `pypm add 'NAME==VERSION'` moves a package to a version")
        found.append(valid_name(name, flag, "package"))
    return tuple(found)


def refuse_selection(options: argparse.Namespace, what: str) -> None:
    """Refuse the sync selection options (``--group``, ``--extra``...) for an environment
    that holds one requirement list (a script's, a named environment's): exit 2."""
    kept = ("--offline", "--python", "--link-mode", "--frozen", "--locked", "--reinstall", "--reinstall-package")
    refused = [flag for flag in given_flags(options, SYNC_FLAGS) if flag not in kept]
    if refused:
        raise UsageError(f"{refused[0]} does not apply to {what}, which holds one list of requirements",
                         hint=f"drop {refused[0]}")
