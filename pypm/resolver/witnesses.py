"""Environments made to satisfy markers: a fork for a part of the lock's domain that no
sample lies in (``sys_platform == 'illumos'``, PyPy, ``python_full_version >= '3.13.2'``)
is resolved for copies of the samples changed just enough to be in it.

The algebra (:func:`~pypm.resolver.marker_algebra.solution`) gives single-variable
conditions that imply the markers; each sample gets values meeting them, and the variables
that go with a changed one follow (``sys_platform`` -> ``platform_system``, ``os_name``;
``python_full_version`` -> ``python_version``). A made environment is kept only when
packaging's own evaluation agrees that it satisfies every marker.
"""

from __future__ import annotations

from collections.abc import Collection

from dep_logic.markers import MarkerExpression
from dep_logic.markers.single import EqualityMarkerUnion, InequalityMultiMarker, SingleMarker
from packaging.markers import InvalidMarker, Marker

from pypm.resolver.environments import SampledEnvironment
from pypm.resolver.marker_algebra import algebraic, solution, text
from pypm.resolver.markers import EnvironmentSpace

_VERSION_LIKE = frozenset({"python_version", "python_full_version", "implementation_version", "platform_release"})
_FEATURES = frozenset({"extra", "extras", "dependency_groups"})
_SYSTEMS = {"linux": "Linux", "darwin": "Darwin", "win32": "Windows", "freebsd": "FreeBSD", "openbsd": "OpenBSD",
            "netbsd": "NetBSD", "aix": "AIX", "sunos5": "SunOS", "cygwin": "CYGWIN_NT"}
_IMPLEMENTATIONS = {"CPython": "cpython", "PyPy": "pypy"}
OTHER = "other"


def witnesses(space: EnvironmentSpace, atoms: Collection[str]) -> list[dict[str, str]]:
    """Environments in ``space``'s domain where every marker of ``atoms`` holds, made from
    its samples (none when the domain is only the samples, or nothing satisfies them)."""
    if space.domain is None:
        return []
    parsed = [algebraic(atom) for atom in atoms]
    if any(marker is None for marker in parsed):
        return []
    factors = [*space.domain, *parsed]
    chosen = solution(factors)  # type: ignore[arg-type]
    if chosen is None:
        return []
    checks = [_marker(str(factor)) for factor in space.domain] + [_marker(atom) for atom in atoms]
    made: dict[tuple[tuple[str, str], ...], dict[str, str]] = {}
    for sample in space.environments:
        env = _satisfying(sample, chosen)
        if env is None or not all(check is not None and _holds(check, env) for check in checks):
            continue
        region = getattr(sample, "region", None)
        made.setdefault(tuple(sorted(env.items())), env if region is None else SampledEnvironment(env, region))
    return list(made.values())


def _marker(written: str) -> Marker | None:
    try:
        return Marker(written)
    except InvalidMarker:
        return None


def _holds(marker: Marker, env: dict[str, str]) -> bool:
    try:
        return marker.evaluate({**env, "extra": ""})
    except (ValueError, TypeError):
        return False


def _satisfying(sample: dict[str, str], chosen: list[SingleMarker]) -> dict[str, str] | None:
    """``sample`` changed to meet every condition of ``chosen``; None when it cannot be."""
    env = dict(sample)
    by_name: dict[str, list[Marker]] = {}
    values: dict[str, list[str]] = {}
    for single in chosen:
        if single.name in _FEATURES:
            continue
        marker = _marker(text(single))
        if marker is None:
            return None
        by_name.setdefault(single.name, []).append(marker)
        values.setdefault(single.name, []).extend(_values(single))
    changed = set()
    for name, markers in by_name.items():
        if all(_holds(marker, env) for marker in markers):
            continue
        value = next((v for v in _candidates(name, values[name]) if all(_holds(m, {**env, name: v}) for m in markers)),
                     None)
        if value is None:
            return None
        env[name] = value
        changed.add(name)
    _follow(env, changed, set(by_name))
    return env


def _values(single: SingleMarker) -> list[str]:
    if isinstance(single, MarkerExpression):
        return [single.value]
    if isinstance(single, (EqualityMarkerUnion, InequalityMultiMarker)):
        return sorted(single.values)
    return []


def _candidates(name: str, mentioned: list[str]) -> list[str]:
    """Values to try for a variable: the ones its conditions name, then (for versions) the
    neighbours of those, then a value none of them names."""
    found = list(mentioned)
    if name in _VERSION_LIKE:
        for value in mentioned:
            parts = value.replace(".*", "").split(".")
            if not all(part.isdigit() for part in parts):
                continue
            last = int(parts[-1])
            found += [".".join(parts), ".".join([*parts, "0"]), ".".join([*parts[:-1], str(last + 1)])]
            if last:
                found.append(".".join([*parts[:-1], str(last - 1)]))
        found.append("0")
    return [*dict.fromkeys(found), OTHER]


def _follow(env: dict[str, str], changed: set[str], constrained: set[str]) -> None:
    """Set the variables that go with a changed one (unless a condition names them)."""
    def follow(name: str, value: str) -> None:
        if name not in constrained:
            env[name] = value

    if "sys_platform" in changed:
        platform = env["sys_platform"]
        follow("platform_system", _SYSTEMS.get(platform, platform.rstrip("0123456789").capitalize()))
        follow("os_name", "nt" if platform == "win32" else "posix")
    if "platform_system" in changed:
        follow("sys_platform", env["platform_system"].lower())
    if "platform_python_implementation" in changed:
        implementation = env["platform_python_implementation"]
        follow("implementation_name", _IMPLEMENTATIONS.get(implementation, implementation.lower()))
    if "implementation_name" in changed:
        follow("platform_python_implementation", env["implementation_name"].capitalize())
    if "python_full_version" in changed:
        follow("python_version", ".".join(env["python_full_version"].split(".")[:2]))
    if "python_version" in changed:
        follow("python_full_version", f"{env['python_version']}.0")
    if {"python_version", "python_full_version"} & changed and env.get("implementation_name") == "cpython":
        follow("implementation_version", env["python_full_version"])
