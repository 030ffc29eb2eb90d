"""Parse a resolver scenario TOML file into dataclasses.

The format is the one of ``shared/resolver-scenarios`` (see its README). Tables that
change the outcome of a run (``root``, each package version, ``resolver_options``,
``environment``, ``expected``) reject unknown keys, so a new option is never silently
ignored; other top-level keys are kept in :attr:`Scenario.extra` and otherwise ignored.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from pypm.config import DEFAULT_PRERELEASE, PRERELEASE_MODES

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "Environment", "Expected", "Options", "Release", "Root", "Scenario", "ScenarioError",
    "load_scenario", "parse_scenario",
]



class ScenarioError(ValueError):
    """A scenario file is not valid TOML or does not follow the scenario format."""


@dataclass(frozen=True)
class Release:
    """One version of a package on the scenario's index, and the files it has."""

    version: str
    requires: list[str] = field(default_factory=list)
    requires_python: str | None = None
    extras: dict[str, list[str]] = field(default_factory=dict)
    wheel_tags: list[str] = field(default_factory=list)
    sdist: bool = True
    wheel: bool = True
    yanked: bool = False


@dataclass(frozen=True)
class Root:
    """What the user asks for."""

    requires: list[str] = field(default_factory=list)
    requires_python: str | None = None


@dataclass(frozen=True)
class Options:
    """``[resolver_options]``; ``prereleases`` is normalised to a pypm mode name."""

    universal: bool = False
    python: str | None = None
    python_platform: str | None = None
    prereleases: str = DEFAULT_PRERELEASE
    no_build: list[str] = field(default_factory=list)
    no_binary: list[str] = field(default_factory=list)
    required_environments: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Environment:
    """``[environment]``: the Python the installer runs on, and others on the system."""

    python: str | None = None
    additional_python: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Expected:
    """``[expected]``: satisfiable or not, and (optionally) the versions to pick."""

    satisfiable: bool
    packages: dict[str, str] = field(default_factory=dict)
    explanation: str | None = None


@dataclass(frozen=True)
class Scenario:
    """A whole scenario; ``packages`` maps canonical names to their releases."""

    name: str
    root: Root
    expected: Expected
    packages: dict[str, list[Release]] = field(default_factory=dict)
    options: Options = field(default_factory=Options)
    environment: Environment = field(default_factory=Environment)
    description: str = ""
    path: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def label(self) -> str:
        """``folder/stem`` of the file the scenario came from (its name when in-memory)."""
        if self.path is None:
            return self.name
        return f"{self.path.parent.name}/{self.path.stem}"


# -- checking tables against a schema ---------------------------------------------------
STR, BOOL, STRS, TABLE = "a string", "true or false", "a list of strings", "a table"
PRERELEASES = f"true, false or one of {', '.join(PRERELEASE_MODES)}"
_CHECKS: dict[str, Callable[[Any], bool]] = {
    STR: lambda v: isinstance(v, str),
    BOOL: lambda v: isinstance(v, bool),
    STRS: lambda v: isinstance(v, list) and all(isinstance(item, str) for item in v),
    TABLE: lambda v: isinstance(v, dict),
    PRERELEASES: lambda v: isinstance(v, bool) or v in PRERELEASE_MODES,
}


def _fields(table: Any, where: str, schema: Mapping[str, str]) -> dict[str, Any]:
    """Check ``table`` has only the keys of ``schema``, each of its kind; return a copy."""
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table, got {table!r}")
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(schema))})")
    for key, value in table.items():
        if not _CHECKS[schema[key]](value):
            raise ScenarioError(f"{where}.{key}: expected {schema[key]}, got {value!r}")
    return dict(table)


def _requirements(items: list[str], where: str) -> list[str]:
    for text in items:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise ScenarioError(f"{where}: invalid requirement {text!r}: {exc}") from None
    return list(items)


def _specifier(text: str | None, where: str) -> str | None:
    if text is not None:
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            raise ScenarioError(f"{where}: invalid version specifier {text!r}") from None
    return text


def _version(text: str, where: str) -> str:
    try:
        Version(text)
    except InvalidVersion:
        raise ScenarioError(f"{where}: invalid version {text!r}") from None
    return text


# -- sections -------------------------------------------------------------------------
_RELEASE = {"requires": STRS, "requires_python": STR, "extras": TABLE, "wheel_tags": STRS,
            "sdist": BOOL, "wheel": BOOL, "yanked": BOOL}
_OPTIONS = {"universal": BOOL, "python": STR, "python_platform": STR, "prereleases": PRERELEASES,
            "no_build": STRS, "no_binary": STRS, "required_environments": STRS}
_ROOT = {"requires": STRS, "requires_python": STR}
_ENVIRONMENT = {"python": STR, "additional_python": STRS}
_EXPECTED = {"satisfiable": BOOL, "packages": TABLE, "explanation": STR}
_TOP_LEVEL = {"name": STR, "description": STR, "root": TABLE, "packages": TABLE, "expected": TABLE,
              "resolver_options": TABLE, "environment": TABLE}


def _release(version: str, table: Any, where: str) -> Release:
    values = _fields(table, where, _RELEASE)
    extras = values.pop("extras", {})
    extras = _fields(extras, f"{where}.extras", dict.fromkeys(extras, STRS))
    return Release(
        version=_version(version, where),
        requires=_requirements(values.pop("requires", []), f"{where}.requires"),
        requires_python=_specifier(values.pop("requires_python", None), f"{where}.requires_python"),
        extras={name: _requirements(reqs, f"{where}.extras.{name}") for name, reqs in extras.items()},
        **values,
    )


def _packages(table: dict[str, Any]) -> dict[str, list[Release]]:
    packages: dict[str, list[Release]] = {}
    for name, package in table.items():
        where = f"packages.{name}"
        versions = _fields(package, where, {"versions": TABLE}).get("versions", {})
        releases = [_release(v, t, f"{where}.versions.{v!r}") for v, t in versions.items()]
        packages.setdefault(canonicalize_name(name), []).extend(releases)
    return packages


def _options(table: Any) -> Options:
    values = _fields(table, "resolver_options", _OPTIONS)
    mode = values.get("prereleases", False)  # the scenario format's bool, or a pypm mode name
    values["prereleases"] = mode if isinstance(mode, str) else ("allow" if mode else DEFAULT_PRERELEASE)
    return Options(**values)


def _expected(table: Any) -> Expected:
    values = _fields(table, "expected", _EXPECTED)
    if "satisfiable" not in values:
        raise ScenarioError("expected.satisfiable is required")
    packages = values.pop("packages", {})
    packages = _fields(packages, "expected.packages", dict.fromkeys(packages, STR))
    pins = {canonicalize_name(name): _version(v, f"expected.packages.{name}") for name, v in packages.items()}
    return Expected(packages=pins, **values)


def parse_scenario(text: str, path: Path | None = None) -> Scenario:
    """Parse the TOML ``text`` of one scenario; raise :class:`ScenarioError` if it is invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}") from None
    known = {key: value for key, value in data.items() if key in _TOP_LEVEL}
    values = _fields(known, "the scenario", _TOP_LEVEL)
    if "expected" not in values:
        raise ScenarioError("the [expected] table is required")
    root = _fields(values.get("root", {}), "root", _ROOT)
    return Scenario(
        name=values.get("name", path.stem if path is not None else "scenario"),
        description=values.get("description", ""),
        root=Root(
            requires=_requirements(root.get("requires", []), "root.requires"),
            requires_python=_specifier(root.get("requires_python"), "root.requires_python"),
        ),
        packages=_packages(values.get("packages", {})),
        options=_options(values.get("resolver_options", {})),
        environment=Environment(**_fields(values.get("environment", {}), "environment", _ENVIRONMENT)),
        expected=_expected(values["expected"]),
        path=path,
        extra={key: value for key, value in data.items() if key not in _TOP_LEVEL},
    )


def load_scenario(path: Path) -> Scenario:
    """Read and parse the scenario file at ``path``."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"cannot read {path}: {exc}") from None
    return parse_scenario(text, path)
