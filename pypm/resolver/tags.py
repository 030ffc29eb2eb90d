"""Which sampled environments a wheel tag can serve (for universal locks).

A sampled environment (:mod:`pypm.resolver.environments`) is one CPython minor on one
platform, standing for every machine of that platform. The tags it accepts are the ones
:mod:`packaging.tags` generates for that interpreter (``cpython_tags`` then
``compatible_tags``, the lists pip and pypm's installer use) over a synthetic list of
platform tags covering every such machine:

- ``linux``: glibc Linux, so every ``manylinux_2_X`` of the machine (with the
  ``manylinux2014``/``2010``/``1`` aliases PEP 600 keeps) and ``linux_<machine>``; never
  ``musllinux``, which needs a musl system that a sampled Linux environment is not;
- ``darwin``: every macOS version ``mac_platforms`` knows, with its binary formats
  (``arm64``/``universal2`` on Apple silicon; ``x86_64``/``intel``/``universal2``/... on Intel);
- ``win32``: ``win_amd64``, ``win_arm64`` or ``win32`` by ``platform_machine``.

The ABI follows from the interpreter (PEP 425, PEP 384): a CPython 3.X environment takes
``cp3X`` (the GIL build, not free-threaded ``cp3Xt``), ``abi3`` from ``cp32`` up to
``cp3X`` and ``none``; an ABI of another implementation (``pypy310_pp73``, ``pypy_73``,
``graalpy311_...``) serves no CPython environment, whatever its Python tag says. Other
implementations get only the ABI-independent tags (``none``), since their ABI depends on
an implementation version the marker environment does not record.

Environments no sample stands for are served too, when the lock's region holds them
(:func:`unsampled_variants`): PyPy (``pp310-pypy310_pp73``, ABI of PyPy 7.3) and musl
Linux (``musllinux_1_X``, which no marker tells from glibc Linux). A release whose wheels
serve only such environments is usable, as uv's universal resolution takes it, rather
than passed over for an older one.

Both lists are products (every interpreter/ABI pair with every platform, plus the pure
``-any`` tags), so they are kept factored: the interpreter's pairs, computed once per
Python version, and the platform list, once per platform. Each (tag, environment) answer is
memoised, as the resolver asks about every file of every candidate.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import cache, lru_cache

from packaging import tags as packaging_tags
from packaging.tags import Tag

__all__ = ["MUSL_LINUX", "NEWEST_GLIBC_MINOR", "NEWEST_MACOS_MAJOR", "NEWEST_MUSL_MINOR", "TagMasks", "platform_tags",
           "tag_mask", "tag_serves", "tags_mask", "unsampled_variants"]

#: ``manylinux_2_X`` tags count up to this glibc minor (a sampled Linux environment is any
#: glibc system, so any ``manylinux`` wheel of its machine serves it, as uv's universal
#: resolution treats them: the glibc version is a fact of the installing machine).
NEWEST_GLIBC_MINOR = 99
#: ``macosx_X_0`` tags count up to this macOS major, for the same reason.
NEWEST_MACOS_MAJOR = 40
#: ``musllinux_1_X`` tags count up to this musl minor (PEP 656; musl 1.2 is current).
NEWEST_MUSL_MINOR = 9
#: The ``sys_platform`` of a musl Linux variant (never a real one: Python says ``linux``).
MUSL_LINUX = "linux+musl"
#: The ABI of PyPy 7.3, the PyPy of every Python 3.8+ (``pypy310_pp73``).
_PYPY_ABI = "pypy{major}{minor}_pp73"
#: PEP 600's legacy aliases, by glibc minor.
_LEGACY_MANYLINUX = {17: "manylinux2014", 12: "manylinux2010", 5: "manylinux1"}
#: The oldest glibc ``manylinux`` tags exist for (packaging's rule: 2.5 on x86, else 2.17).
_OLDEST_GLIBC_MINOR = {"x86_64": 5, "i686": 5}
_WINDOWS = {"AMD64": "win_amd64", "ARM64": "win_arm64", "X86": "win32"}
#: Stands for "every platform of the environment" while packaging generates the
#: interpreter's tags (never a real platform tag: pypm looks it up only as a pair).
_ANY_PLATFORM = "pypm_platform"
_SHORT_NAMES = {"cpython": "cp", "pypy": "pp", "graalpy": "graalpy", "ironpython": "ip", "jython": "jy"}

EnvKey = tuple[str, str, str, str]
"""(implementation_name, python_version, sys_platform, platform_machine)."""


def _env_key(env: dict[str, str]) -> EnvKey:
    return (env.get("implementation_name", "cpython"), env["python_version"], env["sys_platform"],
            env["platform_machine"])


def _glibc_platforms(machine: str) -> Iterator[str]:
    """``manylinux_2_X_<machine>`` newest first, each legacy alias after its glibc, then ``linux_<machine>``."""
    for minor in range(NEWEST_GLIBC_MINOR, _OLDEST_GLIBC_MINOR.get(machine, 17) - 1, -1):
        yield f"manylinux_2_{minor}_{machine}"
        if minor in _LEGACY_MANYLINUX:
            yield f"{_LEGACY_MANYLINUX[minor]}_{machine}"
    yield f"linux_{machine}"


@cache
def platform_tags(sys_platform: str, machine: str) -> tuple[str, ...]:
    """The platform tags a sampled ``sys_platform``/``platform_machine`` accepts, most
    specific first (empty for a system pypm does not sample: only ``any`` serves it)."""
    if sys_platform == "linux":
        return tuple(_glibc_platforms(machine))
    if sys_platform == MUSL_LINUX:
        return (*(f"musllinux_1_{minor}_{machine}" for minor in range(NEWEST_MUSL_MINOR, -1, -1)), f"linux_{machine}")
    if sys_platform == "darwin":
        return tuple(packaging_tags.mac_platforms((NEWEST_MACOS_MAJOR, 0), machine))
    if sys_platform == "win32":
        windows = _WINDOWS.get(machine.upper())
        return (windows,) if windows else ()
    return ()


@cache
def _platform_set(sys_platform: str, machine: str) -> frozenset[str]:
    return frozenset(platform_tags(sys_platform, machine))


def _interpreter_tags(implementation: str, python_version: str) -> Iterator[Tag]:
    """packaging's tags of the interpreter, with ``_ANY_PLATFORM`` for the platform list."""
    version = tuple(int(part) for part in python_version.split(".")[:2])
    short = _SHORT_NAMES.get(implementation, implementation)
    interpreter = f"{short}{version[0]}{version[1]}"
    if implementation == "cpython":
        yield from packaging_tags.cpython_tags(version, [interpreter], [_ANY_PLATFORM])
    elif implementation == "pypy":
        abi = _PYPY_ABI.format(major=version[0], minor=version[1])
        yield from packaging_tags.generic_tags(interpreter, [abi, "none"], [_ANY_PLATFORM])
    else:
        yield from packaging_tags.generic_tags(interpreter, ["none"], [_ANY_PLATFORM])
    yield from packaging_tags.compatible_tags(version, interpreter, [_ANY_PLATFORM])


@cache
def _interpreter(implementation: str, python_version: str) -> tuple[frozenset[tuple[str, str]], frozenset[Tag]]:
    """(interpreter, ABI) pairs that go with every platform tag, and the ``-any`` tags."""
    pairs, pure = set(), set()
    for tag in _interpreter_tags(implementation, python_version):
        if tag.platform == _ANY_PLATFORM:
            pairs.add((tag.interpreter, tag.abi))
        elif tag.platform == "any":
            pure.add(tag)
    return frozenset(pairs), frozenset(pure)


#: env key -> {tag: serves it?}: one dict per sampled environment (a cache keyed by
#: (tag, key) tuples held 3 MB of tuples and list nodes on a 200-package lock)
_SERVED: dict[EnvKey, dict[Tag, bool]] = {}


def _serves(tag: Tag, key: EnvKey) -> bool:
    served = _SERVED.get(key)
    if served is None:
        served = _SERVED.setdefault(key, {})
    found = served.get(tag)
    if found is None:
        found = served[tag] = _computed_serves(tag, key)
    return found


def _computed_serves(tag: Tag, key: EnvKey) -> bool:
    implementation, python_version, sys_platform, machine = key
    pairs, pure = _interpreter(implementation, python_version)
    if tag.platform == "any":
        return tag in pure
    return (tag.interpreter, tag.abi) in pairs and tag.platform in _platform_set(sys_platform, machine)


def tag_serves(tag: Tag, env: dict[str, str]) -> bool:
    """True when a wheel with ``tag`` installs in the sampled environment ``env``."""
    return _serves(tag, _env_key(env))


@lru_cache(maxsize=1 << 12)
def _pair_bits(interpreter: str, abi: str, keys: tuple[EnvKey, ...]) -> int:
    """Bit mask of the environments whose interpreter takes this (interpreter, ABI) pair."""
    bits = 0
    for index, (implementation, python_version, _, _) in enumerate(keys):
        if (interpreter, abi) in _interpreter(implementation, python_version)[0]:
            bits |= 1 << index
    return bits


@lru_cache(maxsize=1 << 12)
def _platform_bits(platform: str, keys: tuple[EnvKey, ...]) -> int:
    """Bit mask of the environments whose platform list holds this platform tag."""
    bits = 0
    for index, (_, _, sys_platform, machine) in enumerate(keys):
        if platform in _platform_set(sys_platform, machine):
            bits |= 1 << index
    return bits


@lru_cache(maxsize=1 << 14)
def _mask(tag: Tag, keys: tuple[EnvKey, ...]) -> int:
    """What :func:`_computed_serves` says of ``tag`` for each key, from its factors: a
    platform-specific tag serves where its (interpreter, ABI) pair *and* its platform do
    (both lists are products), and each factor repeats across many tags."""
    if tag.platform == "any":
        bits = 0
        for index, (implementation, python_version, _, _) in enumerate(keys):
            if tag in _interpreter(implementation, python_version)[1]:
                bits |= 1 << index
        return bits
    return _pair_bits(tag.interpreter, tag.abi, keys) & _platform_bits(tag.platform, keys)


def tag_mask(tag: Tag, environments: Sequence[dict[str, str]]) -> int:
    """Bit mask of the environments one tag serves (bit i = ``environments[i]``)."""
    return _mask(tag, tuple(_env_key(env) for env in environments))


class TagMasks:
    """Memoised :func:`tag_mask` for one list of environments (tags repeat across a
    project's many files, so each distinct tag is evaluated once)."""

    def __init__(self, environments: Sequence[dict[str, str]]) -> None:
        self.environments = environments
        self._keys = tuple(_env_key(env) for env in environments)
        self._masks: dict[Tag, int] = {}

    def __call__(self, tags: frozenset[Tag]) -> int:
        """Bit mask of the environments a wheel with any of ``tags`` serves."""
        bits = 0
        for tag in tags:
            mask = self._masks.get(tag)
            if mask is None:
                mask = self._masks[tag] = _mask(tag, self._keys)
            bits |= mask
        return bits


def unsampled_variants(environments: Sequence[dict[str, str]], pypy: bool) -> list[dict[str, str]]:
    """Environments the samples stand for without being them, for wheel tags only: each
    Linux sample on musl (:data:`MUSL_LINUX`), and with ``pypy`` (the lock's region holds
    PyPy) each CPython sample as PyPy of the same Python."""
    variants: list[dict[str, str]] = []
    for env in environments:
        kinds = [env]
        if pypy and env.get("implementation_name", "cpython") == "cpython":
            kinds.append({**env, "implementation_name": "pypy"})
            variants.append(kinds[-1])
        if env["sys_platform"] == "linux":
            variants.extend({**kind, "sys_platform": MUSL_LINUX} for kind in kinds)
    return variants


def tags_mask(tags: frozenset[Tag], environments: Sequence[dict[str, str]]) -> int:
    """Bit mask of sampled environments served by a wheel with any of ``tags``."""
    return TagMasks(environments)(tags)
