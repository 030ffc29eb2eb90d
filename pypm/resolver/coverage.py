"""``required-environments``: the environments every locked package must have a file for.

A universal lock records a package even when its chosen version has no file (no wheel for
the platform, no sdist) for some environments that need it; ``pypm lock`` warns and a sync
there fails. An environment matching one of the ``required-environments`` markers makes
that an error of the lock instead, as uv's setting of that name does.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pypm.errors import ResolutionError

if TYPE_CHECKING:
    from pypm.resolver.resolve import Uncovered


def check_required(uncovered: Sequence[Uncovered], required_markers: Sequence[str]) -> None:
    """Raise :class:`ResolutionError` naming the first package (by name, then version) left
    without a file for an environment one of ``required_markers`` matches."""
    if not uncovered or not required_markers:
        return
    from packaging.markers import Marker

    markers = [(text, Marker(text)) for text in required_markers]
    for item in sorted(uncovered, key=lambda entry: (entry.name, entry.version)):
        for environment in item.environments:
            required = next((text for text, marker in markers if marker.evaluate(environment)), None)
            if required is not None:
                raise ResolutionError(
                    f"{item.name} {item.version} has no wheel or sdist for {describe_environment(environment)}, "
                    f"which required-environments requires ({required})",
                    hint=f"require a version of {item.name} that has one, or change required-environments",
                )


def describe_environment(environment: dict[str, str]) -> str:
    """``win32 AMD64 (Python 3.12)``: a sampled environment as messages name it."""
    return f"{environment['sys_platform']} {environment['platform_machine']} (Python {environment['python_version']})"
