"""Native plugins: shared libraries loaded with ctypes (``dlopen`` / ``LoadLibrary``).

The C ABI (``include/pypm_plugin.h``, ``docs/plugins.md``)::

    int pypm_plugin_abi_version(void);                              /* required: 1 */
    int pypm_plugin_main(int argc, char **argv);                    /* for `pypm plugin run` */
    int pypm_hook(const char *stage, const char *context_json);     /* optional: lifecycle hooks */

A library that does not load (wrong architecture, missing dependency, not a library),
lacks a symbol it is used for or declares another ABI version is one :class:`PluginError`
line, and its handle is closed.
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

from pypm.errors import PluginError
from pypm.plugins.api import ABI_VERSION

ABI_SYMBOL = "pypm_plugin_abi_version"
MAIN_SYMBOL = "pypm_plugin_main"
HOOK_SYMBOL = "pypm_hook"


def library_suffix() -> str:
    """The shared-library suffix of this platform: ``.dll``, ``.dylib`` or ``.so``."""
    if sys.platform == "win32":
        return ".dll"
    return ".dylib" if sys.platform == "darwin" else ".so"


class NativePlugin:
    """One loaded native plugin; :meth:`close` unloads it (also as a context manager)."""

    def __init__(self, name: str, path: Path, shown: str | None = None) -> None:
        self.name = name
        self.path = path
        self.shown = shown or path.name  # how errors name the library
        try:
            self._library: ctypes.CDLL | None = ctypes.CDLL(str(path))
        except OSError as exc:
            raise PluginError(f"native plugin {name}: {shown or path} does not load: {_load_reason(exc, path)}",
                              hint="build it for this machine's architecture and Python's platform") from None
        try:
            self._check_abi()
        except BaseException:
            self.close()
            raise

    def _check_abi(self) -> None:
        version = self._function(ABI_SYMBOL)
        if version is None:
            raise PluginError(f"native plugin {self.name}: {self.shown} exports no {ABI_SYMBOL}()",
                              hint="it is not a pypm plugin; see docs/plugins.md")
        version.restype, version.argtypes = ctypes.c_int, []
        found = version()
        if found != ABI_VERSION:
            raise PluginError(f"native plugin {self.name}: ABI version {found}, pypm speaks {ABI_VERSION}",
                              hint="rebuild it against this pypm's include/pypm_plugin.h")

    def _function(self, symbol: str) -> ctypes._CFuncPtr | None:  # type: ignore[name-defined]
        if self._library is None:
            raise PluginError(f"native plugin {self.name} is closed")
        try:
            return getattr(self._library, symbol)
        except AttributeError:
            return None

    @property
    def has_hook(self) -> bool:
        """Does the library export ``pypm_hook``?"""
        return self._function(HOOK_SYMBOL) is not None

    def main(self, argv: list[str]) -> int:
        """``pypm_plugin_main(argc, argv)`` (``argv[0]`` is the plugin's name); its return value."""
        function = self._function(MAIN_SYMBOL)
        if function is None:
            raise PluginError(f"native plugin {self.name}: {self.shown} exports no {MAIN_SYMBOL}()",
                              hint="`pypm plugin run` needs int pypm_plugin_main(int argc, char **argv)")
        function.restype = ctypes.c_int
        function.argtypes = [ctypes.c_int, ctypes.POINTER(ctypes.c_char_p)]
        arguments = [self.name, *argv]
        array = (ctypes.c_char_p * (len(arguments) + 1))(*(a.encode() for a in arguments), None)
        _flush()
        try:
            return int(function(len(arguments), array))
        finally:
            _flush()

    def hook(self, stage: str, context_json: str) -> int | None:
        """``pypm_hook(stage, context_json)``; None when the library has no hook."""
        function = self._function(HOOK_SYMBOL)
        if function is None:
            return None
        function.restype = ctypes.c_int
        function.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
        _flush()
        try:
            return int(function(stage.encode(), context_json.encode()))
        finally:
            _flush()

    def close(self) -> None:
        """Unload the library (``dlclose`` / ``FreeLibrary``); idempotent."""
        library, self._library = self._library, None
        if library is None:
            return
        import _ctypes

        handle = library._handle
        if sys.platform == "win32":
            _ctypes.FreeLibrary(handle)  # type: ignore[attr-defined]
        else:
            _ctypes.dlclose(handle)  # type: ignore[attr-defined]

    def __enter__(self) -> NativePlugin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _load_reason(exc: OSError, path: Path) -> str:
    """The loader's own words without the path it repeats: ``wrong ELF class: ELFCLASS32``,
    ``invalid ELF header``, ``cannot open shared object file: No such file or directory``..."""
    text = " ".join(str(exc).split())
    return text[len(str(path)) + 2:] if text.startswith(f"{path}: ") else text


def _flush() -> None:
    """Python's buffered output first, so it comes before what the C code prints, and the
    C library's ``stdout`` after (what the plugin printed is out before pypm goes on)."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        libc = ctypes.CDLL(None) if sys.platform != "win32" else ctypes.cdll.msvcrt
        libc.fflush(None)
    except (OSError, AttributeError):
        pass
