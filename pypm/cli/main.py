"""``pypm`` entry point: parse global options, dispatch to a command module.

Also the last net under every command: whatever escapes ends as one ``error:`` line.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing's import is not needed at run time
if TYPE_CHECKING:
    import argparse

COMMANDS = ("init", "add", "remove", "lock", "sync", "run", "tasks", "shell", "status", "bundle", "unbundle", "export",
            "import", "tree", "why", "outdated", "env", "audit", "verify", "doctor", "sandbox", "plugin", "cache",
            "python", "version")
#: Other names of commands (``pypm pypylock`` is ``pypm bundle``, its name in earlier designs).
COMMAND_ALIASES = ("pypylock",)
_GLOBAL_FLAGS = ("-v", "--verbose", "-q", "--quiet", "--no-color", "--no-plugins")
EXIT_INTERNAL = 70


def main(argv: list[str] | None = None) -> int:
    """Run pypm with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in (["--version"], ["-V"], ["version"]):
        from pypm import __version__

        print(f"pypm {__version__}")
        return 0
    try:
        from pypm.graph.fastpath import try_fast_path

        if try_fast_path(args):
            return 0
        return _dispatch(args)
    except BaseException as exc:  # noqa: BLE001 - reported as one line below
        return _report(exc)
    finally:
        discovery = sys.modules.get("pypm.workspace.discovery")
        if discovery is not None:  # --project held for this command line only (main() may run again here)
            discovery.read_root_variable()


def _report(exc: BaseException) -> int:
    """Print ``exc`` as the one ``error:`` line and return the exit code for it."""
    from pypm import ui
    from pypm.errors import PypmError, os_error

    if isinstance(exc, SystemExit):
        raise exc
    if isinstance(exc, KeyboardInterrupt):
        ui.error("interrupted")
        return 130
    if isinstance(exc, OSError) and exc.errno is not None:
        _traceback_if_verbose(exc)
        exc = os_error(exc, cache_dir=_cache_dir_guess())
    elif isinstance(exc, RecursionError):
        _traceback_if_verbose(exc)
        exc = PypmError("input nested too deeply to read", hint="run with -v to see which file")
    if isinstance(exc, PypmError):
        ui.error(exc.one_line())
        return exc.exit_code
    _traceback_if_verbose(exc)
    text = " ".join(str(exc).split())
    ui.error(f"internal error: {type(exc).__name__}: {text} (run with -v for the traceback)")
    return EXIT_INTERNAL


def _traceback_if_verbose(exc: BaseException) -> None:
    from pypm import ui

    if ui.verbosity() > 0 and exc.__traceback__ is not None:
        import traceback

        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)


def _cache_dir_guess() -> str | None:
    """The cache directory as the environment names it (the settings may not load)."""
    import os

    if os.environ.get("PYPM_CACHE_DIR"):
        return os.environ["PYPM_CACHE_DIR"]
    try:
        import platformdirs

        return str(platformdirs.user_cache_path("pypm", appauthor=False))
    except ImportError:  # pragma: no cover - platformdirs is a dependency
        return None


def _bare_task_position(args: list[str]) -> int | None:
    """Where ``pypm TASK...`` names its first task (None: a command, an option or nothing).
    A task cannot take a command's name, so the two never clash."""
    index = _first_word(args)
    if index >= len(args) or args[index].startswith("-") or args[index] in (*COMMANDS, *COMMAND_ALIASES):
        return None
    return index


def _named_command(args: list[str]) -> str | None:
    """The command ``args`` name (after the global options), when it is one of
    :data:`COMMANDS`; None for a task, an alias, an option or nothing."""
    index = _first_word(args)
    return args[index] if index < len(args) and args[index] in COMMANDS else None


def _first_word(args: list[str]) -> int:
    """The index of the first argument after the global options."""
    index = 0
    while index < len(args):
        arg = args[index]
        if arg == "--project":
            index += 2
        elif arg.startswith("--project=") or arg in _GLOBAL_FLAGS or (arg[:2] in ("-v", "-q") and
                                                                       set(arg[1:]) <= set("vq")):
            index += 1
        else:
            break
    return index


def _dispatch(args: list[str]) -> int:
    import importlib

    from pypm import ui
    from pypm.cli.parser import build_parser
    from pypm.graph.fastpath import plain_operations

    bare = _bare_task_position(args)
    named = _named_command(args)
    # Only the named command's parser is built (argparse for every command costs ~15 ms);
    # help, tasks and mistakes get the full one.
    plain = named is not None and bare is None and not _asks_for_help(args)
    parser = build_parser((named,) if plain and named else COMMANDS)
    ui.configure(0, "--no-color" not in args)  # honoured by a mistake argparse reports, too
    if "--no-plugins" in args[:bare]:
        _disable_plugins()
    if bare is None and _asks_for_help(args):
        _describe_plugin_commands(parser, args)
    if bare is not None:
        from pypm.cli.plugin_commands import run_plugin_command

        code = run_plugin_command(parser.parse_args(args[:bare]), args[bare], args[bare + 1:])
        if code is not None:
            return code
    if bare is not None:  # `pypm TASK...`: the tasks as `pypm sync TASK...` runs them
        options = _parse_bare(parser, args, bare)
    else:
        options = parser.parse_args(args)
    ui.configure(options.verbose - options.quiet, not options.no_color)
    options.plain_run = plain_operations(args) is not None  # (what the fast path takes: pypm.graph.lock_recall)
    if options.no_plugins:
        _disable_plugins()
    if options.command is None:
        _describe_plugin_commands(parser, args)
        parser.print_help(sys.stderr)
        return 2
    module = importlib.import_module(f"pypm.cli.commands.{options.command}")
    return int(module.run(options) or 0)


def _parse_bare(parser: argparse.ArgumentParser, args: list[str], bare: int) -> argparse.Namespace:
    """``pypm TASK...`` parsed as ``pypm sync TASK...``; an option no parser takes is most
    likely meant for the task, which takes arguments only through ``pypm run``."""
    from pypm.errors import UsageError

    try:
        options = parser.parse_args([*args[:bare], "sync", *args[bare:]])
    except UsageError as exc:
        if not exc.message.startswith("unrecognized arguments"):
            raise
        raise UsageError(exc.message, hint=f"a task takes arguments through `pypm run {args[bare]} ...`; "
                                           "see `pypm sync --help` for the options of a graph run") from None
    options.bare = True
    return options


def _disable_plugins() -> None:
    """``--no-plugins``: as ``PYPM_NO_PLUGINS=1``, also for the pypm runs of tasks."""
    import os

    from pypm.plugins.presence import DISABLE_VAR

    os.environ[DISABLE_VAR] = "1"


def _asks_for_help(args: list[str]) -> bool:
    """``pypm --help`` (with global options only), not a command's ``--help``."""
    index = 0
    while index < len(args) and (args[index] in _GLOBAL_FLAGS or args[index].startswith("--project")):
        index += 2 if args[index] == "--project" else 1
    return index < len(args) and args[index] in ("-h", "--help")


def _describe_plugin_commands(parser: argparse.ArgumentParser, args: list[str]) -> None:
    """Add the plugins' commands to the epilog of ``pypm --help``."""
    import argparse

    from pypm.cli.plugin_commands import plugin_command_lines

    options = parser.parse_args([arg for arg in args if arg not in ("-h", "--help")])
    if options.no_plugins:
        return
    lines = plugin_command_lines(options)
    if lines:
        parser.formatter_class = argparse.RawDescriptionHelpFormatter
        parser.epilog = "\n".join(["plugin commands:", *lines, "", parser.epilog or ""])
