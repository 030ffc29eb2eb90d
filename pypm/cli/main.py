"""``pypm`` entry point: parse global options, dispatch to a command module."""

from __future__ import annotations

import sys

COMMANDS = ("init", "lock", "sync", "run", "shell", "status", "cache", "python", "version")


def main(argv: list[str] | None = None) -> int:
    """Run pypm with ``argv`` (default ``sys.argv[1:]``) and return the exit code."""
    args = sys.argv[1:] if argv is None else list(argv)
    if args in (["--version"], ["-V"], ["version"]):
        from pypm import __version__

        print(f"pypm {__version__}")
        return 0
    from pypm.graph.fastpath import try_fast_path

    if try_fast_path(args):
        return 0
    from pypm import ui
    from pypm.errors import PypmError

    try:
        return _dispatch(args)
    except PypmError as exc:
        ui.error(exc.one_line())
        return exc.exit_code
    except KeyboardInterrupt:
        ui.error("interrupted")
        return 130
    except Exception as exc:  # noqa: BLE001 - last resort: one line, traceback with -v
        if ui.verbosity() > 0:
            import traceback

            traceback.print_exc()
        ui.error(f"internal error: {type(exc).__name__}: {exc} (run with -v for the traceback)")
        return 70


def _dispatch(args: list[str]) -> int:
    import importlib

    from pypm import ui
    from pypm.cli.parser import build_parser

    parser = build_parser(COMMANDS)
    options = parser.parse_args(args)
    ui.configure(options.verbose - options.quiet, not options.no_color)
    if options.command is None:
        parser.print_help(sys.stderr)
        return 2
    module = importlib.import_module(f"pypm.cli.commands.{options.command}")
    return int(module.run(options) or 0)
