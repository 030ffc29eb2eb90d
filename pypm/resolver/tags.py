"""Which sampled environments a wheel tag can serve (for universal locks)."""

from __future__ import annotations

from packaging.tags import Tag

_MAC_ARCHES = {
    "arm64": ("arm64", "universal2"),
    "x86_64": ("x86_64", "universal2", "intel", "universal"),
}
_WINDOWS_ARCHES = {"AMD64": ("win_amd64",), "ARM64": ("win_arm64",), "x86": ("win32",)}


def _interpreter_ok(tag: Tag, minor: int) -> bool:
    interpreter = tag.interpreter
    if interpreter in ("py3", "py30") or interpreter == "py2.py3":
        return True
    if interpreter.startswith("py3") and interpreter[3:].isdigit():
        return int(interpreter[3:]) <= minor
    if interpreter.startswith("cp3") and interpreter[3:].isdigit():
        version = int(interpreter[3:])
        if tag.abi == "abi3":
            return version <= minor
        return version == minor and tag.abi in ("none", f"cp3{minor}", f"cp3{minor}m")
    return False


def _platform_ok(platform: str, env: dict[str, str]) -> bool:
    if platform == "any":
        return True
    system, machine = env["sys_platform"], env["platform_machine"]
    if system == "linux":
        return platform.startswith(("manylinux", "musllinux", "linux")) and platform.endswith(machine)
    if system == "darwin":
        return platform.startswith("macosx") and platform.endswith(_MAC_ARCHES.get(machine, (machine,)))
    if system == "win32":
        return platform in _WINDOWS_ARCHES.get(machine, ())
    return False


def tag_serves(tag: Tag, env: dict[str, str]) -> bool:
    """True when a wheel with ``tag`` installs in the sampled environment ``env``."""
    minor = int(env["python_version"].split(".")[1])
    return _interpreter_ok(tag, minor) and _platform_ok(tag.platform, env)


def tag_mask(tag: Tag, environments: list[dict[str, str]]) -> int:
    """Bit mask of the environments one tag serves."""
    bits = 0
    for index, env in enumerate(environments):
        if tag_serves(tag, env):
            bits |= 1 << index
    return bits


class TagMasks:
    """Memoised :func:`tag_mask` for one list of environments (tags repeat across a
    project's many files, so each distinct tag is evaluated once)."""

    def __init__(self, environments: list[dict[str, str]]) -> None:
        self.environments = environments
        self._masks: dict[Tag, int] = {}

    def __call__(self, tags: frozenset[Tag]) -> int:
        """Bit mask of the environments a wheel with any of ``tags`` serves."""
        bits = 0
        for tag in tags:
            mask = self._masks.get(tag)
            if mask is None:
                mask = self._masks[tag] = tag_mask(tag, self.environments)
            bits |= mask
        return bits


def tags_mask(tags: frozenset[Tag], environments: list[dict[str, str]]) -> int:
    """Bit mask of sampled environments served by a wheel with any of ``tags``."""
    return TagMasks(environments)(tags)
