"""What a bundle is for: the marker environment and wheel tags its wheels are chosen by,
and what ``install.py`` checks on the target machine (implementation, Python version, OS,
machine, libc).

By default the target is ``.venv``'s interpreter. ``--platform TAG`` keeps its Python and
swaps the platform, as uv's ``--python-platform`` does: ``manylinux_2_28_x86_64`` accepts
every older manylinux tag of that machine, ``macosx_11_0_arm64`` every older macOS.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pypm.errors import UsageError
from pypm.interpreter import Interpreter

_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_MUSLLINUX = re.compile(r"^musllinux_(\d+)_(\d+)_(\w+)$")
_MACOS = re.compile(r"^macosx_(\d+)_(\d+)_(\w+)$")
_WINDOWS = {"win_amd64": "AMD64", "win_arm64": "ARM64", "win32": "x86"}
_LEGACY_MANYLINUX = {"manylinux2014": (2, 17), "manylinux2010": (2, 12), "manylinux1": (2, 5)}
_PLATFORM_EXAMPLES = "manylinux_2_28_x86_64, musllinux_1_2_aarch64, macosx_11_0_arm64, win_amd64"


@dataclass(frozen=True)
class BundleTarget:
    """The environment a bundle installs into. ``native``: it is this machine's ``.venv``
    interpreter (sdists can be built, the interpreter can be packed)."""

    environment: dict[str, str]
    tags: list[str]
    native: bool
    platform: str

    def manifest_entry(self, libc: dict[str, str] | None) -> dict[str, Any]:
        """The manifest's ``target`` table (what ``install.py`` checks)."""
        env = self.environment
        return {
            "implementation": env["implementation_name"],
            "python-version": ".".join(env["python_full_version"].split(".")[:2]),
            "sys-platform": env["sys_platform"],
            "machine": env["platform_machine"],
            "libc": libc,
        }

    def describe(self) -> str:
        """``linux x86_64, CPython 3.11`` for messages."""
        env = self.environment
        return f"{env['sys_platform']} {env['platform_machine']}, Python {env['python_full_version']}"


def native_target(interpreter: Interpreter) -> BundleTarget:
    """The target ``.venv``'s interpreter is."""
    return BundleTarget(dict(interpreter.environment), list(interpreter.tags), True, "native")


def platform_target(interpreter: Interpreter, platform_tag: str) -> BundleTarget:
    """``.venv``'s Python on another platform (``--platform TAG``)."""
    platforms, environment = _platform_facts(platform_tag)
    env = {**interpreter.environment, **environment}
    native = [_split(tag) for tag in interpreter.tags]
    interpreters = list(dict.fromkeys((python, abi) for python, abi, _ in native))
    tags = [f"{python}-{abi}-{plat}" for python, abi in interpreters for plat in [*platforms, "any"]
            if plat != "any" or abi == "none"]
    return BundleTarget(env, tags, False, platform_tag)


def check_platform(platform_tag: str, with_python: bool) -> None:
    """Refuse (exit 2) an unknown ``--platform`` tag, or one given with ``--with-python``."""
    if with_python:
        raise UsageError("--with-python packs this machine's interpreter, so it cannot go with --platform",
                         hint="drop --platform, or --with-python")
    _platform_facts(platform_tag)


def _split(tag: str) -> tuple[str, str, str]:
    python, abi, plat = tag.split("-", 2)
    return python, abi, plat


def _platform_facts(tag: str) -> tuple[list[str], dict[str, str]]:
    """The platform tags a target with platform ``tag`` accepts (best first) and its
    marker variables."""
    from packaging import tags as packaging_tags

    if tag in _WINDOWS:
        return [tag], {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt",
                       "platform_machine": _WINDOWS[tag]}
    found = _MANYLINUX.match(tag)
    if found:
        major, minor, arch = int(found.group(1)), int(found.group(2)), found.group(3)
        versions = [f"manylinux_{major}_{m}_{arch}" for m in range(minor, 4, -1)]
        legacy = [f"{name}_{arch}" for name, (ma, mi) in _LEGACY_MANYLINUX.items() if (ma, mi) <= (major, minor)]
        return [*versions, *legacy, f"linux_{arch}"], _linux(arch)
    found = _MUSLLINUX.match(tag)
    if found:
        major, minor, arch = int(found.group(1)), int(found.group(2)), found.group(3)
        return [f"musllinux_{major}_{m}_{arch}" for m in range(minor, -1, -1)] + [f"linux_{arch}"], _linux(arch)
    found = _MACOS.match(tag)
    if found:
        version, arch = (int(found.group(1)), int(found.group(2))), found.group(3)
        platforms = list(packaging_tags.mac_platforms(version, arch))
        return platforms, {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix",
                           "platform_machine": arch}
    raise UsageError(f"--platform {tag}: not a platform tag pypm knows", hint=f"e.g. {_PLATFORM_EXAMPLES}")


def _linux(arch: str) -> dict[str, str]:
    return {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": arch}


def libc_requirement(wheel_names: list[str]) -> dict[str, str] | None:
    """The libc the chosen wheels need at least: the highest ``manylinux_X_Y`` (glibc) or
    ``musllinux_X_Y`` (musl) among their platform tags; None when none is Linux-specific."""
    best: dict[str, tuple[int, int]] = {}
    for name in wheel_names:
        for plat in name[: -len(".whl")].split("-")[-1].split("."):
            family, version = _libc_of(plat)
            if family and version > best.get(family, (0, 0)):
                best[family] = version
    if not best:
        return None
    family = "musl" if "musl" in best else "glibc"
    major, minor = best[family]
    return {"family": family, "min-version": f"{major}.{minor}"}


def _libc_of(plat: str) -> tuple[str, tuple[int, int]]:
    for pattern, family in ((_MANYLINUX, "glibc"), (_MUSLLINUX, "musl")):
        found = pattern.match(plat)
        if found:
            return family, (int(found.group(1)), int(found.group(2)))
    for name, version in _LEGACY_MANYLINUX.items():
        if plat.startswith(name + "_"):
            return "glibc", version
    return "", (0, 0)
