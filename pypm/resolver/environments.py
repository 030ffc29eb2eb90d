"""The environments a universal lock must serve, sampled as concrete marker environments.

The samples (CPython 3.8-3.15 on five platforms) drive the resolver's own decisions: where
to fork, which platforms a package's files cover. What the lock *says* (which requirements
are followed, each package's marker) is decided over the whole :class:`Region` the samples
stand for, with marker algebra (:mod:`pypm.resolver.markers`): a FreeBSD or PyPy
environment is served by the lock even though no sample is one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.version import Version

PYTHON_MINORS = tuple(range(8, 16))
_PLATFORMS: tuple[dict[str, str], ...] = (
    {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64"},
    {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "aarch64"},
    {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix", "platform_machine": "arm64"},
    {"sys_platform": "darwin", "platform_system": "Darwin", "os_name": "posix", "platform_machine": "x86_64"},
    {"sys_platform": "win32", "platform_system": "Windows", "os_name": "nt", "platform_machine": "AMD64"},
)


def _python_full_version(requires_python: SpecifierSet, minor: int) -> str | None:
    """The lowest x.y.z of ``3.minor`` allowed by ``requires_python`` (None if none is)."""
    for patch in range(0, 30):
        candidate = f"3.{minor}.{patch}"
        if requires_python.contains(candidate, prereleases=True):
            return candidate
    return None


@dataclass(frozen=True)
class Region:
    """What a universal lock serves: every environment (any platform, any implementation)
    whose Python ``requires_python`` allows and that satisfies one of the ``limits`` (the
    ``environments`` setting; none means no limit)."""

    requires_python: str = ""
    limits: tuple[str, ...] = ()


class SampledEnvironment(dict[str, str]):
    """One sampled marker environment of a universal lock, knowing the region it samples
    (so a space built from any subset of the samples knows what the lock serves)."""

    def __init__(self, values: dict[str, str], region: Region) -> None:
        super().__init__(values)
        self.region = region


def universal_environments(
    requires_python: SpecifierSet, limits: Sequence[str], required: Sequence[str] = ()
) -> list[dict[str, str]]:
    """Every (Python minor x platform) environment allowed by requires-python and limits.

    A limit (the ``environments`` setting) or a ``required`` marker (``required-environments``)
    no sample satisfies (``sys_platform == 'freebsd'``, ``implementation_name == 'pypy'``,
    ``platform_machine == 'ARM64'`` on Windows) gets environments made for it from the
    samples (:mod:`pypm.resolver.witnesses`): the lock is resolved for it, and its files are
    checked for it, as uv resolves for such an environment (it locked none of them before,
    and said requires-python allowed no Python)."""
    region = Region(str(requires_python), tuple(limits))
    samples: list[dict[str, str]] = []
    for minor in PYTHON_MINORS:
        full = _python_full_version(requires_python, minor)
        if full is not None:
            samples.extend(SampledEnvironment(_environment(platform, full), region) for platform in _PLATFORMS)
    if not limits and not required:
        return samples
    limit_markers = [Marker(text) for text in limits]
    environments = [env for env in samples if not limit_markers or any(_holds(m, env) for m in limit_markers)]
    for text in [*limits, *required]:
        marker = Marker(text)
        if not any(_holds(marker, env) for env in environments):
            environments.extend(_made_for(samples, region, text))
    return environments


def _holds(marker: Marker, env: dict[str, str]) -> bool:
    try:
        return marker.evaluate({**env, "extra": ""})
    except (ValueError, TypeError):
        return False


def _made_for(samples: list[dict[str, str]], region: Region, marker: str) -> list[dict[str, str]]:
    """Environments of the lock's region made from ``samples`` to satisfy ``marker``."""
    from pypm.resolver.markers import EnvironmentSpace
    from pypm.resolver.witnesses import witnesses

    if not samples:
        return []
    return witnesses(EnvironmentSpace(samples, region.requires_python, region.limits), [marker])


def _environment(platform: dict[str, str], full_version: str) -> dict[str, str]:
    major_minor = ".".join(full_version.split(".")[:2])
    return {
        **platform,
        "python_version": major_minor,
        "python_full_version": full_version,
        "implementation_name": "cpython",
        "platform_python_implementation": "CPython",
        "implementation_version": full_version,
        "platform_release": "",
        "platform_version": "",
    }


_PLATFORM_ALIASES = {
    "linux": 0, "x86_64-manylinux2014": 0, "x86_64-unknown-linux-gnu": 0, "x86_64-manylinux_2_17": 0,
    "aarch64-manylinux2014": 1, "aarch64-unknown-linux-gnu": 1,
    "macos": 2, "aarch64-apple-darwin": 2, "x86_64-apple-darwin": 3,
    "windows": 4, "x86_64-pc-windows-msvc": 4,
}


def target_environment(python: str, platform: str | None = None) -> list[dict[str, str]]:
    """The single environment of one Python version (``3.12`` or ``3.12.1``) on a platform.

    ``platform`` is a target triple or alias (``linux``, ``macos``, ``windows``,
    ``x86_64-manylinux2014``, ...); None means the machine pypm runs on.
    """
    from packaging.markers import default_environment

    parts = python.split(".")
    full = python if len(parts) >= 3 else f"{parts[0]}.{parts[1]}.0"
    if platform is None:
        current = default_environment()
        base = {key: current[key] for key in ("sys_platform", "platform_system", "os_name", "platform_machine")}
    elif platform in _PLATFORM_ALIASES:
        base = _PLATFORMS[_PLATFORM_ALIASES[platform]]
    else:
        raise ValueError(f"unknown platform {platform!r}; known: {', '.join(sorted(_PLATFORM_ALIASES))}")
    return [_environment(dict(base), full)]


def lowest_python(environments: list[dict[str, str]]) -> Version:
    """The lowest Python version among the (non-empty) list of environments."""
    return min(Version(env["python_full_version"]) for env in environments)
