"""pypm's plugin interface: what a Python plugin imports.

A plugin is an object named by an entry point of the group ``pypm.plugins`` (installed in
pypm's own environment) or by ``[tool.pypm] plugins = ["module:object"]``: a callable that
receives a :class:`Registry` and registers hook functions and commands on it::

    from pypm.plugins import HookContext, Registry

    def plugin(pypm: Registry) -> None:
        @pypm.hook("post-lock")
        def check(context: HookContext) -> int:
            return 0  # non-zero, or raising, stops the run (exit code 3)

Native plugins (shared libraries, C ABI in ``include/pypm_plugin.h``) are described in
``docs/plugins.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pypm.plugins.api import STAGES, HookContext, HookResult, PluginCommand, Registry

__all__ = ["STAGES", "HookContext", "HookResult", "PluginCommand", "Registry"]


def __getattr__(name: str) -> Any:
    """The interface on first use (PEP 562): a run without plugins never imports it."""
    if name in __all__:
        from pypm.plugins import api

        return getattr(api, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
