"""Find and load the plugins of a run, and call their hooks.

Python plugins come from the entry-point group ``pypm.plugins`` of pypm's own environment
and from ``[tool.pypm] plugins`` of the workspace root:

- ``"module:object"``: imported from pypm's environment or the project's ``.venv``
  (its site-packages are searched after pypm's own);
- ``{ path = "plugins/gate", object = "gate:plugin" }``: imported from that directory
  (relative to the config file);

and native plugins from the same list:

- ``"hello"`` (a bare name): the native plugin installed as ``hello`` (``pypm plugin add``);
- ``"build/pypm_x.so"`` (a path ending in ``.so``, ``.dylib`` or ``.dll``): that library.

``--no-plugins`` and ``PYPM_NO_PLUGINS=1`` load none. A plugin that cannot be loaded is
one :class:`~pypm.errors.PluginError` line (exit code 3), as is a hook that raises or
returns non-zero.
"""

from __future__ import annotations

import importlib
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm.errors import ConfigError, PluginError, PypmError
from pypm.plugins.api import HookContext, PluginCommand, Registry
from pypm.plugins.presence import DISABLE_VAR, ENTRY_POINT_GROUP, group_may_be_declared, plugins_disabled

__all__ = ["DISABLE_VAR", "ENTRY_POINT_GROUP", "LoadedPlugin", "PluginSet", "load_plugins", "plugin_problems",
           "plugins_disabled"]

if TYPE_CHECKING:
    from pypm.plugins.native import NativePlugin

NATIVE_SUFFIXES = (".so", ".dylib", ".dll")


@dataclass
class LoadedPlugin:
    """A plugin ready to be called: a Python one's registry or a native library."""

    name: str
    registry: Registry | None = None
    native: NativePlugin | None = None


@dataclass
class PluginSet:
    """The plugins of one run, in the order they were found (entry points, then the
    project's list); :meth:`close` unloads native libraries."""

    plugins: list[LoadedPlugin] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.plugins)

    def commands(self) -> dict[str, PluginCommand]:
        """Every command the Python plugins add (the first plugin to name one keeps it)."""
        found: dict[str, PluginCommand] = {}
        for plugin in self.plugins:
            for name, command in (plugin.registry.commands.items() if plugin.registry else ()):
                found.setdefault(name, command)
        return found

    def run_hooks(self, context: HookContext) -> None:
        """Call every hook of ``context.stage``; the first that raises or returns non-zero
        stops the run with one line naming its plugin and the stage. One hook runs at a
        time, also when tasks run side by side (``--jobs``)."""
        with _ONE_AT_A_TIME:
            self._run_hooks(context)

    def _run_hooks(self, context: HookContext) -> None:
        for plugin in self.plugins:
            if plugin.registry is not None:
                for function in plugin.registry.hooks.get(context.stage, []):
                    _call_python(plugin.name, function, context)
            if plugin.native is not None:
                code = plugin.native.hook(context.stage, context.to_json())
                if code:
                    raise PluginError(f"plugin {plugin.name} stopped the run at {context.stage} "
                                      f"(pypm_hook returned {code})", hint=_HINT)

    def close(self) -> None:
        """Unload every native library."""
        for plugin in self.plugins:
            if plugin.native is not None:
                plugin.native.close()


_HINT = "fix what it reports, or run with --no-plugins"
_ENTRY_HINT = ('use "module:object", { path = "dir", object = "module:object" }, a native plugin\'s name '
               "(letters, digits, - and _) or a library path")
_ONE_AT_A_TIME = threading.RLock()


def _call_python(name: str, function: Any, context: HookContext) -> None:
    try:
        code = function(context)
    except SystemExit as exc:  # a hook calling sys.exit() stops the run like any other failure
        raise PluginError(f"plugin {name} stopped the run at {context.stage} (it called exit({exc.code!r}))",
                          hint=_HINT) from None
    except Exception as exc:  # noqa: BLE001 - any failure of a plugin's hook is the plugin's line
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise PluginError(f"plugin {name} stopped the run at {context.stage}: {reason}", hint=_HINT) from None
    if code not in (None, 0):
        raise PluginError(f"plugin {name} stopped the run at {context.stage} (its hook returned {code!r})",
                          hint=_HINT)


def load_plugins(config_file: Path | None, tool_table: dict[str, Any], venv: Path | None) -> PluginSet:
    """The entry-point plugins and those ``tool_table["plugins"]`` names (paths relative to
    ``config_file``; ``module:object`` also found in ``venv``'s site-packages); an empty
    set when plugins are disabled."""
    found = PluginSet()
    if plugins_disabled():
        return found
    try:
        for _, load in _loaders(config_file, tool_table, venv):
            found.plugins.append(load())
    except BaseException:
        found.close()
        raise
    return found


def plugin_problems(config_file: Path | None, tool_table: dict[str, Any], venv: Path | None) -> list[
        tuple[str, str | None]]:
    """(plugin, None when it loads else why not) for every entry-point plugin and every
    entry of ``tool_table["plugins"]``, each loaded on its own and unloaded again (what
    ``pypm doctor`` reports)."""
    try:
        loaders = _loaders(config_file, tool_table, venv)
    except PypmError as exc:
        return [("plugins", exc.one_line())]
    rows: list[tuple[str, str | None]] = []
    for name, load in loaders:
        try:
            PluginSet([load()]).close()
        except PypmError as exc:  # a bad entry of the list, too: its own row, the others still checked
            rows.append((name, exc.one_line()))
        else:
            rows.append((name, None))
    return rows


def _loaders(config_file: Path | None, tool_table: dict[str, Any],
             venv: Path | None) -> list[tuple[str, Callable[[], LoadedPlugin]]]:
    """(how to name it, how to load it) of every plugin, in load order: the entry points,
    then the project's list."""
    loaders: list[tuple[str, Callable[[], LoadedPlugin]]] = [
        (f"{ep.name} (entry point)", partial(_python_plugin, ep.name, ep.load)) for ep in _entry_points()]
    loaders += [(_shown_spec(spec), partial(_configured_plugin, spec, config_file, venv))
                for spec in _configured(config_file, tool_table)]
    return loaders


def _shown_spec(spec: Any) -> str:
    """``gate:plugin (from plugins/gate)`` for a path plugin, the entry itself otherwise."""
    if isinstance(spec, dict) and isinstance(spec.get("object"), str):
        return f"{spec['object']} (from {spec.get('path')})"
    return str(spec)


def _entry_points() -> list[Any]:
    if not group_may_be_declared():
        return []
    from importlib.metadata import entry_points

    return sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _configured(config_file: Path | None, tool_table: dict[str, Any]) -> list[Any]:
    specs = tool_table.get("plugins", [])
    if not isinstance(specs, list):
        raise ConfigError(f"{config_file}: [tool.pypm] plugins must be a list",
                          hint='e.g. plugins = ["audit_gate:plugin", "hello"]')
    return specs


def _configured_plugin(spec: Any, config_file: Path | None, venv: Path | None) -> LoadedPlugin:
    base = config_file.parent if config_file is not None else Path.cwd()
    if isinstance(spec, dict) and set(spec) == {"path", "object"} and all(isinstance(v, str) for v in spec.values()):
        directory = (base / spec["path"]).resolve()
        return _python_plugin(_module_of(spec["object"]), lambda: _import_object(spec["object"], [], directory))
    if not isinstance(spec, str) or not spec:
        raise ConfigError(f"{config_file}: plugin entry {spec!r} is not understood", hint=_ENTRY_HINT)
    from pypm.plugins.native import NativePlugin  # ctypes: only when a native plugin is named

    if spec.endswith(NATIVE_SUFFIXES):
        name = Path(spec).stem.removeprefix("lib").removeprefix("pypm_")
        return LoadedPlugin(name, native=NativePlugin(name, (base / spec).resolve(), spec))
    if ":" in spec:
        return _python_plugin(_module_of(spec), lambda: _import_object(spec, _site_packages(venv)))
    from pypm.plugins.installed import installed_path, is_plugin_name

    if not is_plugin_name(spec):
        raise ConfigError(f"{config_file}: plugin entry {spec!r} is not a plugin name, module:object or a library path",
                          hint=_ENTRY_HINT)
    return LoadedPlugin(spec, native=NativePlugin(spec, installed_path(spec)))


def _module_of(spec: str) -> str:
    """A ``module:object`` plugin's name: its module's."""
    return spec.partition(":")[0]


def _python_plugin(name: str, load: Any) -> LoadedPlugin:
    """Load the plugin object and let it register on a fresh :class:`Registry`."""
    try:
        target = load()
    except PluginError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - importing someone's code can fail any way
        raise PluginError(f"plugin {name} does not load: {_reason(exc)}", hint=_HINT) from None
    registry = Registry(name)
    register = getattr(target, "register", target)
    if not callable(register):
        raise PluginError(f"plugin {name}: {target!r} is not callable",
                          hint="a plugin is a function (or has .register) taking pypm's Registry")
    try:
        register(registry)
    except PluginError:
        raise
    except (Exception, SystemExit) as exc:  # noqa: BLE001 - and exit(): a plugin never ends pypm's run
        raise PluginError(f"plugin {name} failed to register: {_reason(exc)}", hint=_HINT) from None
    return LoadedPlugin(name, registry=registry)


def _reason(exc: BaseException) -> str:
    """Why loading or registering a plugin failed, on one line (``it called exit(2)`` for
    ``sys.exit(2)``, which must not end pypm's run: ``pypm --help`` and ``pypm doctor``
    still report)."""
    if isinstance(exc, SystemExit):
        return f"it called exit({exc.code!r})"
    return " ".join(str(exc).split()) or type(exc).__name__


def _import_object(spec: str, paths: list[Path], directory: Path | None = None) -> Any:
    """``module:object`` (``object`` may be dotted): the module from ``directory`` (a path
    plugin), else found on pypm's own ``sys.path`` and then ``paths``. Either way the
    plugin's directories go after pypm's own entries, so they never shadow a module pypm
    imports."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise PluginError(f"plugin {spec!r} is not module:object", hint='e.g. "audit_gate:plugin"')
    _add_to_path([str(p) for p in [*paths, *([directory] if directory else [])]])
    try:
        target: Any = _module_in(directory, module_name) if directory else importlib.import_module(module_name)
    except ImportError as exc:
        raise PluginError(f"plugin {spec}: cannot import {module_name} ({exc})",
                          hint="install it in pypm's environment or the project's .venv, or give its path") from None
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise PluginError(f"plugin {spec}: {module_name} has no {attribute}") from None
    return target


def _module_in(directory: Path, name: str) -> Any:
    """The top-level module ``name`` from ``directory`` itself (not one of the same name
    elsewhere on ``sys.path``)."""
    import importlib.machinery
    import importlib.util

    top = name.partition(".")[0]
    found = importlib.machinery.PathFinder.find_spec(top, [str(directory)])
    if found is None or found.loader is None:
        raise ImportError(f"no module {top} in {directory}")
    loaded = sys.modules.get(top)
    if loaded is not None:
        origin = getattr(loaded, "__file__", None) or "pypm itself"
        if found.origin != origin:
            raise PluginError(f"plugin {name}: a module named {top} is already loaded (from {origin})",
                              hint="give the plugin's module a name of its own")
    else:
        module = importlib.util.module_from_spec(found)
        sys.modules[top] = module
        try:
            found.loader.exec_module(module)
        except BaseException:
            del sys.modules[top]
            raise
    return importlib.import_module(name)


def _add_to_path(paths: list[str]) -> None:
    """Put ``paths`` at the end of ``sys.path`` for the rest of the run (a plugin's later
    imports need them too)."""
    sys.path.extend(p for p in paths if p not in sys.path)


def _site_packages(venv: Path | None) -> list[Path]:
    """``.venv``'s purelib and platlib, as pypm recorded them (none without a ``.venv``)."""
    if venv is None:
        return []
    from pypm.operations.venv_state import read_interpreter_info

    info = read_interpreter_info(venv) or {}
    scheme = info.get("scheme", {})
    return [Path(scheme[key]) for key in ("purelib", "platlib") if isinstance(scheme.get(key), str)]
