"""The environments a universal lock must serve, sampled as concrete marker environments.

A marker is "possible" when it holds in at least one sampled environment; a package's
marker is dropped when it holds in all of them.
"""

from __future__ import annotations

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


def sample_environments(requires_python: SpecifierSet, limits: list[str]) -> list[dict[str, str]]:
    """Every (Python minor x platform) environment allowed by requires-python and limits."""
    limit_markers = [Marker(text) for text in limits]
    environments = []
    for minor in PYTHON_MINORS:
        full = _python_full_version(requires_python, minor)
        if full is None:
            continue
        for platform in _PLATFORMS:
            env = {
                **platform,
                "python_version": f"3.{minor}",
                "python_full_version": full,
                "implementation_name": "cpython",
                "platform_python_implementation": "CPython",
                "implementation_version": full,
                "platform_release": "",
                "platform_version": "",
            }
            if not limit_markers or any(m.evaluate(env) for m in limit_markers):
                environments.append(env)
    return environments


def lowest_python(environments: list[dict[str, str]]) -> Version | None:
    """The lowest Python version among the sampled environments."""
    versions = [Version(env["python_full_version"]) for env in environments]
    return min(versions) if versions else None
