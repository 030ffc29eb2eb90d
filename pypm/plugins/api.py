"""The types a plugin sees: the stages, the context each hook gets, and the registry a
plugin fills with hooks and commands. Import-light (dataclasses and json only)."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from pypm.errors import PluginError

#: Every lifecycle stage, in the order a ``pypm lock sync bundle`` run meets them
#: (``pre-task``/``post-task`` around each user task, ``pre-run`` before ``pypm run``'s command).
STAGES = ("pre-lock", "post-lock", "pre-sync", "post-sync", "pre-bundle", "post-bundle", "pre-run",
          "pre-task", "post-task")
#: The version of the context's JSON shape and of the native ABI (``pypm_plugin_abi_version``).
ABI_VERSION = 1


@dataclass(frozen=True)
class HookResult:
    """What a finished operation did (post-hooks): ``locked`` (``name==version``, or the
    name alone for a directory), ``installed`` and ``removed`` (names), ``archive`` (the
    bundle written)."""

    locked: tuple[str, ...] = ()
    installed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    archive: str | None = None


@dataclass(frozen=True)
class HookContext:
    """Everything a hook is told: the stage, where the workspace, its config file, lock
    and environment are, the selection (groups and extras) in effect, and for post-hooks
    the :class:`HookResult`; ``task`` for ``pre-task``/``post-task``, ``command`` for
    ``pre-run``."""

    stage: str
    workspace_root: Path
    config_file: Path
    lock_path: Path
    venv_path: Path
    selection: dict[str, Any] = field(default_factory=dict)
    result: HookResult | None = None
    task: str | None = None
    command: tuple[str, ...] = ()

    def tool_table(self, name: str) -> Any:
        """The config file's ``[tool.<name>]`` table, where a plugin keeps its settings
        (``{}`` when absent; whatever the file holds there otherwise, for the plugin to
        check). A config file that cannot be read raises one line naming it."""
        from pypm.tomlfile import read_toml

        tool = read_toml(self.config_file).get("tool", {})
        return tool.get(name, {}) if isinstance(tool, dict) else {}

    def to_json(self) -> str:
        """The context as native hooks get it (paths as strings; ``abi`` first)."""
        data = asdict(self)
        for key in ("workspace_root", "config_file", "lock_path", "venv_path"):
            data[key] = str(data[key])
        data["command"] = list(self.command)
        if self.result is not None:
            data["result"] = {**asdict(self.result), "locked": list(self.result.locked),
                              "installed": list(self.result.installed), "removed": list(self.result.removed)}
        return json.dumps({"abi": ABI_VERSION, **data}, sort_keys=False)


HookFunction = Callable[[HookContext], "int | None"]


@dataclass(frozen=True)
class PluginCommand:
    """A command a plugin adds: ``pypm NAME ...`` parses with ``add_arguments`` and calls
    ``run(options)``, whose return value is the exit code."""

    name: str
    run: Callable[[argparse.Namespace], int | None]
    help: str = ""
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None
    plugin: str = ""


class Registry:
    """What one plugin registers: hook functions per stage and commands."""

    def __init__(self, plugin: str) -> None:
        self.plugin = plugin
        self.hooks: dict[str, list[HookFunction]] = {}
        self.commands: dict[str, PluginCommand] = {}

    def hook(self, stage: str, function: HookFunction | None = None) -> Any:
        """Call ``function(context)`` at ``stage`` (one of :data:`STAGES`); usable as a
        decorator. A hook that raises or returns non-zero stops the run."""
        if stage not in STAGES:
            raise PluginError(f"plugin {self.plugin}: no stage {stage!r}", hint=f"stages: {', '.join(STAGES)}")

        def register(func: HookFunction) -> HookFunction:
            self.hooks.setdefault(stage, []).append(func)
            return func

        return register if function is None else register(function)

    def command(self, name: str, run: Callable[[argparse.Namespace], int | None], help: str = "",
                add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> None:
        """Add ``pypm NAME``: ``add_arguments(parser)`` declares its options, ``run(options)``
        does the work and returns the exit code (None: 0)."""
        if not name or name.startswith("-") or any(c.isspace() for c in name):
            raise PluginError(f"plugin {self.plugin}: {name!r} is not a command name")
        self.commands[name] = PluginCommand(name, run, help, add_arguments, self.plugin)
