"""Whether a run has any plugin to load, answered without loading the plugin machinery
(its modules cost a sync several milliseconds of imports): plugins are off, or no
distribution declares a ``pypm.plugins`` entry point and ``[tool.pypm]`` names none."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

ENTRY_POINT_GROUP = "pypm.plugins"
DISABLE_VAR = "PYPM_NO_PLUGINS"


def plugins_disabled() -> bool:
    """``PYPM_NO_PLUGINS`` is set to something other than empty or ``0``."""
    return os.environ.get(DISABLE_VAR, "").strip() not in ("", "0")


def plugins_may_exist(tool_table: dict[str, Any]) -> bool:
    """False when this run certainly loads no plugin (a ``plugins`` entry of any kind,
    even one that is not a list, counts: the loader reports what is wrong with it)."""
    return not plugins_disabled() and ("plugins" in tool_table or group_may_be_declared())


def group_may_be_declared() -> bool:
    """False when no distribution on ``sys.path`` declares a ``pypm.plugins`` entry point:
    a look into each ``entry_points.txt`` (a few ms), where importlib.metadata's own scan
    reads every distribution's metadata first (~30 ms in a full environment); True for
    anything it cannot look into (a zip on ``sys.path``), so that scan decides."""
    header = f"[{ENTRY_POINT_GROUP}]"
    for entry in sys.path:
        location = Path(entry or ".")
        if location.is_file():
            return True
        try:
            names = os.listdir(location)
        except OSError:
            continue
        for name in names:
            if not name.endswith((".dist-info", ".egg-info")):
                continue
            try:
                text = (location / name / "entry_points.txt").read_text("utf-8", "replace")
            except OSError:
                continue
            if header in text:
                return True
    return False


class NoPlugins:
    """The plugins of a run that has none (what :class:`pypm.plugins.loader.PluginSet`
    offers, empty)."""

    plugins: tuple[()] = ()

    def __bool__(self) -> bool:
        return False

    def commands(self) -> dict[str, Any]:
        """No commands."""
        return {}

    def run_hooks(self, context: Any) -> None:
        """No hooks to call."""

    def close(self) -> None:
        """Nothing to unload."""
