"""The wheel tags an interpreter accepts, computed in pypm's process from the facts that
:mod:`pypm.install.interpreter_info` reports (so the target runs no third-party code, and
may be older than the Python pypm runs on). Uses :mod:`packaging.tags`; the ABI is derived
from the target's own ``sysconfig`` as packaging derives it for the running interpreter."""

from __future__ import annotations

import platform
import sys
from typing import Any

_SHORT_NAMES = {"cpython": "cp", "pypy": "pp", "ironpython": "ip", "jython": "jy"}


def tags_for(description: dict[str, Any]) -> list[str]:
    """Every tag the described interpreter accepts, most specific first."""
    from packaging import tags

    major, minor = description["version_info"]
    version = (int(major), int(minor))
    implementation = description["implementation"]
    platforms = _platforms(description)
    interpreter = f"{_SHORT_NAMES.get(implementation, implementation)}{version[0]}{version[1]}"
    if implementation == "cpython":
        found = list(tags.cpython_tags(version, _cpython_abis(version, description["config"]), platforms))
    else:
        found = list(tags.generic_tags(interpreter, _generic_abis(description["config"]), platforms))
    found += tags.compatible_tags(version, interpreter, platforms)
    return [str(tag) for tag in dict.fromkeys(found)]


def _cpython_abis(version: tuple[int, int], config: dict[str, Any]) -> list[str]:
    """``cpXY`` with ``t`` (free-threaded), ``d`` (debug) and, before 3.8, ``m`` (pymalloc)."""
    threading = "t" if config.get("Py_GIL_DISABLED") else ""
    debug = "d" if config.get("Py_DEBUG") else ""
    pymalloc = "m" if version < (3, 8) and config.get("WITH_PYMALLOC") else ""
    return [f"cp{version[0]}{version[1]}{threading}{debug}{pymalloc}"]


def _generic_abis(config: dict[str, Any]) -> list[str]:
    soabi = config.get("SOABI")
    return [soabi.replace(".", "_").replace("-", "_")] if soabi else []


def _platforms(description: dict[str, Any]) -> list[str]:
    """The machine's platform tags when the target runs on the same architecture as pypm
    (the usual case: manylinux/musllinux/macOS versions are facts of the machine); else the
    target's own platform alone (e.g. a 32-bit Python on a 64-bit system)."""
    from packaging import tags

    same_machine = description["environment"]["platform_machine"] == platform.machine()
    same_width = description.get("pointer_bits", 64) == (64 if sys.maxsize > 2**32 else 32)
    if same_machine and same_width:
        return list(tags.platform_tags())
    return [description["platform"].replace("-", "_").replace(".", "_")]
