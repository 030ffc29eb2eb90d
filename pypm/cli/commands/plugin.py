"""``pypm plugin add|list|remove|run``: the user's native plugins (shared libraries)."""

from __future__ import annotations

import argparse

HELP = "native plugins: add NAME PATH-OR-URL [--sha256 HEX], list, remove NAME, run NAME [ARGS...]"
GLOBAL_OPTIONS = False  # the plugin directory is the user's, not a project's
EPILOG = ("Python plugins are not added here: install them in pypm's environment (entry points `pypm.plugins`) "
          "or name them in [tool.pypm] plugins. See docs/plugins.md.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One sub-command per action."""
    from pypm.cli.parser import _Parser

    parser.epilog = EPILOG
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=_Parser)
    add = actions.add_parser("add", help="install a plugin from a path or an https URL")
    add.add_argument("name", metavar="NAME", help="the name to run it by")
    add.add_argument("source", metavar="PATH-OR-URL",
                     help="its shared library (.so, .dylib, .dll): a path or an https URL")
    add.add_argument("--sha256", metavar="HEX", help="refuse the library unless its sha256 is HEX")
    actions.add_parser("list", help="list the installed plugins")
    remove = actions.add_parser("remove", help="delete an installed plugin")
    remove.add_argument("name", metavar="NAME")
    run_parser = actions.add_parser("run", help="call the plugin's pypm_plugin_main with ARGS; its exit code is pypm's")
    run_parser.add_argument("name", metavar="NAME")
    run_parser.add_argument("arguments", nargs=argparse.REMAINDER, metavar="ARGS")


def run(options: argparse.Namespace) -> int:
    """Do the action."""
    from pypm import ui
    from pypm.plugins import installed

    if options.action == "add":
        plugin = installed.add_plugin(options.name, options.source, options.sha256)
        ui.info(f"Added the plugin {plugin.name}: {plugin.path} (sha256 {plugin.sha256})")
        return 0
    if options.action == "list":
        plugins = installed.installed_plugins()
        for plugin in plugins.values():
            print(f"{plugin.name}\t{plugin.sha256}\t{plugin.source}")
        if not plugins:  # stdout stays empty for scripts; a person is told why
            ui.info(f"No native plugin installed in {installed.plugin_dir()}; add one with `pypm plugin add NAME SRC`")
        return 0
    if options.action == "remove":
        ui.info(f"Removed the plugin {options.name} ({installed.remove_plugin(options.name)})")
        return 0
    return _run_plugin(options.name, options.arguments)


def _run_plugin(name: str, arguments: list[str]) -> int:
    from pypm.errors import UsageError
    from pypm.plugins.installed import check_name, installed_path
    from pypm.plugins.native import NativePlugin

    with NativePlugin(check_name(name), installed_path(name, UsageError)) as plugin:
        return plugin.main(arguments[1:] if arguments[:1] == ["--"] else arguments)
