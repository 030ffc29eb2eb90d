"""Turn a scenario into real distribution files served by a local HTTP index.

Each release gets one wheel per entry of ``wheel_tags`` (one ``py3-none-any`` wheel
when there are none) unless ``wheel = false``, and an sdist unless ``sdist = false``.
A yanked release has every one of its files yanked. When any sdist is present the
index also offers the wheel of ``pypm-testing-backend``, the stdlib-only build backend of
the generated sdists, so they can be built in an isolated build environment with nothing
but pypm installed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from packaging.utils import canonicalize_name

from pypm.scenarios.model import Release, Scenario
from pypm.testing.builders import DistSpec, build_backend_wheel, build_sdist, build_wheel
from pypm.testing.index_server import IndexServer

__all__ = ["BUILD_BACKEND", "DEFAULT_WHEEL_TAG", "YANK_REASON", "build_files", "serve_scenario", "specs_for"]

DEFAULT_WHEEL_TAG = "py3-none-any"
BUILD_BACKEND = "pypm-testing-backend"
YANK_REASON = "yanked in the scenario"


def specs_for(name: str, release: Release) -> tuple[list[DistSpec], DistSpec | None]:
    """The wheel specs (one per tag) and the sdist spec (or None) of one release."""

    def spec(tag: str) -> DistSpec:
        return DistSpec(
            name=name,
            version=release.version,
            requires=list(release.requires),
            extras={extra: list(reqs) for extra, reqs in release.extras.items()},
            requires_python=release.requires_python,
            tag=tag,
        )

    wheels = [spec(tag) for tag in (release.wheel_tags or [DEFAULT_WHEEL_TAG])] if release.wheel else []
    return wheels, spec(DEFAULT_WHEEL_TAG) if release.sdist else None


def build_files(scenario: Scenario, dest: Path) -> dict[str, str]:
    """Write every file of ``scenario`` into ``dest``; return the yanked map for the index.

    The map is keyed by file name (see :class:`~pypm.testing.index_server.IndexServer`).
    """
    dest.mkdir(parents=True, exist_ok=True)
    yanked: dict[str, str] = {}
    any_sdist = False
    for name, releases in scenario.packages.items():
        for release in releases:
            wheel_specs, sdist_spec = specs_for(name, release)
            paths = [build_wheel(spec, dest) for spec in wheel_specs]
            if sdist_spec is not None:
                any_sdist = True
                paths.append(build_sdist(sdist_spec, dest, backend=BUILD_BACKEND))
            if release.yanked:
                yanked.update((path.name, YANK_REASON) for path in paths)
    if any_sdist and canonicalize_name(BUILD_BACKEND) not in scenario.packages:
        build_backend_wheel(dest)
    return yanked


@contextmanager
def serve_scenario(scenario: Scenario, workdir: Path) -> Iterator[IndexServer]:
    """Build the scenario's files under ``workdir/files`` and serve them on 127.0.0.1."""
    files = workdir / "files"
    yanked = build_files(scenario, files)
    with IndexServer(files, flavour="json", metadata_files=True, yanked=yanked) as server:
        yield server
