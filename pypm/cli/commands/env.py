"""``pypm env create|list|remove|path``: named environments shared through the store."""

from __future__ import annotations

import argparse

from pypm.cli.graph_options import add_setting_options

HELP = "named shared environments: create NAME [REQ...], list, remove NAME, path [NAME]"
EPILOG = ("Use one with `pypm add --env NAME REQ`, `pypm run --env NAME CMD`, `pypm shell --env NAME`; "
          "`pypm add --global REQ` adds to the default environment, `default`.")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The action, its name and requirements, and the settings ``create`` locks with."""
    parser.epilog = EPILOG
    parser.add_argument("action", choices=("create", "list", "remove", "path"),
                        help="what to do (the settings below: create only)")
    parser.add_argument("name", nargs="?", metavar="NAME", help="the environment (path: default `default`)")
    parser.add_argument("requirements", nargs="*", metavar="REQ", help="create: requirements to install")
    add_setting_options(parser)


def run(options: argparse.Namespace) -> int:
    """Do the action."""
    from pypm import ui
    from pypm.errors import UsageError
    from pypm.operations import envs

    if options.action != "create" and options.requirements:
        raise UsageError(f"`pypm env {options.action}` takes no requirements",
                         hint="add them with `pypm add --env NAME REQ`")
    if options.action != "create":
        from pypm.cli.graph_options import setting_overrides

        flags = [flag for _, flag in setting_overrides(options).values()]
        if flags:  # only create locks and installs
            raise UsageError(f"`pypm env {options.action}` takes no {flags[0]}", hint=f"drop {flags[0]}")
    if options.action == "list":
        if options.name:
            raise UsageError("`pypm env list` takes no name", hint="run `pypm env list`")
        for name in envs.list_envs():
            print(f"{name}\t{envs.env_path(name)}")
        return 0
    if options.action == "path":
        print(envs.existing_env(options.name or envs.DEFAULT_ENV))
        return 0
    if not options.name:
        raise UsageError(f"`pypm env {options.action}` needs a NAME", hint=f"e.g. `pypm env {options.action} tools`")
    if options.action == "remove":
        path, left = envs.remove_env(options.name)
        ui.info(f"Removed the environment {options.name} ({path})")
        if left:
            ui.warning(left)
        return 0
    return _create(options)


def _create(options: argparse.Namespace) -> int:
    from pypm import ui
    from pypm.cli.graph_run import env_context, run_operations, user_settings
    from pypm.operations import envs
    from pypm.operations.edit_requirements import add_requirements, refuse_paths
    from pypm.workspace.edit import Place

    refuse_paths(options.requirements, "an environment")
    path = envs.create_env_files(options.name, user_settings(options))
    try:
        ctx = env_context(options, options.name)
        if options.requirements:
            add_requirements(ctx.raw, ctx.settings, options.requirements, Place(), None, path)
        run_operations(options, ["lock", "sync"], env_context(options, options.name))
    except BaseException:
        envs.discard_new_env(path)
        raise
    ui.info(f"Created the environment {options.name} in {path}")
    return 0

