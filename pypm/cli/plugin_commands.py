"""Commands that plugins add: ``pypm NAME ARGS...`` for a NAME that is neither a pypm
command nor a task of the workspace (a task keeps its name: ``pypm TASK...`` runs it).

Plugins are loaded only for such names, so pypm's own commands, tasks and the no-op path
never pay for them.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from pypm.errors import PluginError, PypmError, WorkspaceError

if TYPE_CHECKING:
    from collections.abc import Callable

    from pypm.plugins.api import PluginCommand
    from pypm.plugins.loader import PluginSet


def run_plugin_command(global_options: argparse.Namespace, name: str, argv: list[str]) -> int | None:
    """Run the plugin command ``name`` with ``argv``; None when no plugin adds it."""
    from pypm.plugins.presence import plugins_disabled

    if plugins_disabled() or _is_task(global_options, name):
        return None
    plugins = _plugins_here(global_options)
    try:
        command = plugins.commands().get(name)
        if command is None:
            return None
        from pypm.cli.parser import _Parser

        parser = _Parser(prog=f"pypm {name}", description=command.help or None)
        if command.add_arguments is not None:
            _as_plugin_failure(name, command, command.add_arguments, parser)
        options = parser.parse_args(argv)  # a mistake in argv is the user's: exit 2
        return int(_as_plugin_failure(name, command, command.run, options) or 0)
    finally:
        plugins.close()


def _as_plugin_failure(name: str, command: PluginCommand, function: Callable[[Any], Any], argument: Any) -> Any:
    """``function(argument)``, a part of the plugin command ``name``; any exception it
    raises (but a PypmError) is the plugin's one line (exit code 3)."""
    try:
        return function(argument)
    except PypmError:
        raise
    except Exception as exc:  # noqa: BLE001 - a plugin's failure is its one line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise PluginError(f"pypm {name} (plugin {command.plugin}) failed: {reason}",
                          hint="run with --no-plugins to do without it") from None


def _is_task(global_options: argparse.Namespace, name: str) -> bool:
    """Is ``name`` a task here (then it is run as one, whatever a plugin adds)?"""
    from pypm.cli.parser import start_dir
    from pypm.cli.task_choice import task_names
    from pypm.graph.context import GraphContext

    try:
        return bool(task_names(GraphContext.load(start_dir(global_options)), name, None, False))
    except PypmError:
        return False  # no workspace here, or one that does not load: the task path says so


def plugin_command_lines(global_options: argparse.Namespace) -> list[str]:
    """``  name  help (plugin P)`` for every plugin command here, for ``pypm --help``."""
    try:
        plugins = _plugins_here(global_options)
    except PypmError as exc:
        return [f"  (plugins not loaded: {exc.one_line()})"]
    try:
        commands = plugins.commands()
    finally:
        plugins.close()
    return [f"  {name:<12}  {command.help} (plugin {command.plugin})" for name, command in sorted(commands.items())]


def _plugins_here(global_options: argparse.Namespace) -> PluginSet:
    """Entry-point plugins, and the project's when there is a project here."""
    from pypm.cli.parser import start_dir
    from pypm.plugins.loader import load_plugins
    from pypm.workspace.discovery import find_workspace

    try:
        raw = find_workspace(start_dir(global_options))
    except WorkspaceError:
        return load_plugins(None, {}, None)
    return load_plugins(raw.config_file, raw.tool_table, raw.root / ".venv")
