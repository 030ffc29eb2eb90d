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
    """The interface on first use (PEP 562): a run without plugins never imports it; a
    submodule (``pypm.plugins.api``) is imported when asked for by name."""
    import importlib

    if name in __all__:
        return getattr(importlib.import_module("pypm.plugins.api"), name)
    try:
        return importlib.import_module(f"{__name__}.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"{__name__}.{name}":
            raise  # the submodule is there but needs something missing
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
