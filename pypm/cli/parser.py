"""The argparse parser: global options plus one sub-parser per command module."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NoReturn

from pypm.errors import UsageError


class _Parser(argparse.ArgumentParser):
    """argparse that reports mistakes as a one-line :class:`UsageError`."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"see `{self.prog} --help`")

    def parse_args(self, args: Sequence[str] | None = None,  # type: ignore[override]
                   namespace: argparse.Namespace | None = None) -> argparse.Namespace:
        """argparse's, but arguments no parser took point at the help of the command
        given (argparse reports them from the top parser, whose help lists none of its options)."""
        options, extras = self.parse_known_args(args, namespace)
        if extras:
            command = getattr(options, "command", None)
            where = f"{self.prog} {command}" if isinstance(command, str) else self.prog
            raise UsageError(f"unrecognized arguments: {' '.join(extras)}", hint=f"see `{where} --help`")
        return options


def _global_options(suppress: bool) -> argparse.ArgumentParser:
    default = argparse.SUPPRESS if suppress else None
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("global options")
    group.add_argument("-v", "--verbose", action="count", default=default if suppress else 0, help="more output")
    group.add_argument("-q", "--quiet", action="count", default=default if suppress else 0, help="less output")
    group.add_argument("--project", metavar="DIR", default=default, help="run as if started in DIR")
    group.add_argument("--no-color", action="store_true", default=default if suppress else False, help="plain output")
    group.add_argument("--no-plugins", action="store_true", default=default if suppress else False,
                       help="load no plugin and run no hook (as PYPM_NO_PLUGINS=1)")
    return parent


def build_parser(commands: Sequence[str]) -> argparse.ArgumentParser:
    """The full parser; each command module supplies ``HELP`` and ``add_arguments``, and
    may set ``GLOBAL_OPTIONS = False`` when none of them changes what it does."""
    from pypm import __version__

    parser = _Parser(prog="pypm", description="Package and project manager for Python workspaces.",
                     parents=[_global_options(False)],
                     epilog="`pypm TASK...` runs tasks of [tool.pypm.tasks] as one graph (`pypm tasks` lists them).")
    parser.add_argument("--version", "-V", action="version", version=f"pypm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    shared = _global_options(True)
    for name in commands:
        module = importlib.import_module(f"pypm.cli.commands.{name}")
        parents = [shared] if getattr(module, "GLOBAL_OPTIONS", True) else []
        command_parser = sub.add_parser(name, help=module.HELP, description=module.HELP, parents=parents,
                                        aliases=getattr(module, "ALIASES", ()))
        module.add_arguments(command_parser)
        command_parser.set_defaults(command=name)  # an alias runs the command it names
    return parser


def describe_choices(parser: argparse.ArgumentParser, title: str, described: Mapping[str, str]) -> None:
    """Put a ``title:`` section with one line per choice (name, then what it does) at the
    top of the command's ``--help`` epilog."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    width = max(map(len, described))
    lines = [f"  {name:<{width}}  {text}" for name, text in described.items()]
    parser.epilog = "\n".join([f"{title}:", *lines, *(["", parser.epilog] if parser.epilog else [])])


def start_dir(options: argparse.Namespace) -> Path:
    """Where workspace discovery starts: ``--project`` (which must be a directory; given,
    it beats ``PYPM_WORKSPACE_ROOT``, as the command line beats the environment) or the
    current directory."""
    if not options.project:
        return Path.cwd()
    from pypm.workspace.discovery import ignore_root_variable

    project = Path(options.project)
    if not project.is_dir():
        what = "does not exist" if not project.exists() else "is not a directory"
        raise UsageError(f"--project {options.project}: {what}", hint="give the workspace's directory")
    ignore_root_variable()
    return project
