"""What a build must produce: the distribution a lock (or a project's ``pyproject.toml``)
names, checked against a built wheel's file name and ``METADATA`` and against prepared
metadata, as pip and uv check them. A build that makes another name or version is refused:
installing it would put something else in the environment than the lock says is there."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from pypm.errors import BuildError

_UNSAFE = re.compile(r"[^A-Za-z0-9._+-]+")


@dataclass(frozen=True)
class Expected:
    """The distribution a build is for; ``version`` is None when it is not known up front
    (a project whose version is dynamic)."""

    name: str
    version: str | None = None

    @property
    def label(self) -> str:
        """``name version`` (or the name alone), as messages show it."""
        return f"{self.name} {self.version}" if self.version else self.name

    @property
    def file_stem(self) -> str:
        """``name-version``, safe as a file name (a log's)."""
        from packaging.utils import canonicalize_name

        parts = [canonicalize_name(self.name).replace("-", "_"), *([self.version] if self.version else [])]
        return _UNSAFE.sub("_", "-".join(parts)).lstrip(".") or "unnamed"


def expected_of_file(filename: str, name: str | None = None, version: str | None = None) -> Expected | None:
    """``name`` and ``version`` when given, else what the sdist's file name says (None when
    it says nothing parsable)."""
    if name is not None:
        return Expected(name, version)
    from packaging.utils import InvalidSdistFilename, parse_sdist_filename

    try:
        parsed_name, parsed_version = parse_sdist_filename(filename)
    except (InvalidSdistFilename, ValueError):
        return None
    return Expected(str(parsed_name), str(parsed_version))


def expected_of_tree(project: Path) -> Expected | None:
    """The name (and the version unless it is dynamic) the ``[project]`` table of the
    tree's ``pyproject.toml`` gives; None without one."""
    from pypm.build.source import read_pyproject

    table = read_pyproject(project).get("project")
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        return None
    version = table.get("version")
    dynamic = table.get("dynamic") or []
    known = isinstance(version, str) and "version" not in dynamic
    return Expected(table["name"], version if known else None)


def matches(name: str, version: str, expected: Expected | None) -> bool:
    """True when the built ``name``/``version`` are ``expected``'s (names normalised,
    versions compared as versions; no version expected: any)."""
    if expected is None:
        return True
    from packaging.utils import canonicalize_name
    from packaging.version import InvalidVersion, Version

    if canonicalize_name(name) != canonicalize_name(expected.name):
        return False
    if expected.version is None:
        return True
    try:
        return Version(version) == Version(expected.version)
    except InvalidVersion:
        return version == expected.version


def check_metadata(metadata: bytes, expected: Expected | None, what: str) -> None:
    """Refuse core metadata (from ``what``) whose Name or Version is not ``expected``."""
    from pypm.index.metadata import metadata_headers

    message = metadata_headers(metadata)
    name, version = message["Name"] or "", message["Version"] or ""
    if expected is not None and not matches(name, version, expected):
        raise BuildError(f"{expected.label}: the metadata from {what} is for {name} {version}, not {expected.label}",
                         hint=_HINT)


def check_wheel(wheel: Path, metadata: bytes, expected: Expected | None) -> None:
    """Refuse a built wheel whose file name or ``METADATA`` names another distribution or
    version than ``expected``."""
    if expected is None:
        return
    if not wheel_matches(wheel.name, expected):
        name, version = _wheel_name_version(wheel.name)
        raise BuildError(f"{expected.label}: the build made {wheel.name}, which is {name} {version}, not "
                         f"{expected.label}", hint=_HINT)
    check_metadata(metadata, expected, wheel.name)


def wheel_matches(filename: str, expected: Expected | None) -> bool:
    """True when the wheel file name's name and version are ``expected``'s."""
    return matches(*_wheel_name_version(filename), expected)


def _wheel_name_version(filename: str) -> tuple[str, str]:
    from packaging.utils import InvalidWheelFilename, parse_wheel_filename

    try:
        name, version, _build, _tags = parse_wheel_filename(filename)
    except (InvalidWheelFilename, ValueError):
        return filename, "(not a valid wheel name)"
    return str(name), str(version)


_HINT = ("the source builds another distribution than it is named for: fix the project's name or version, "
         "or its build backend, or depend on another release")
