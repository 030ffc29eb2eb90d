"""Parse a resolver scenario TOML file into dataclasses.

The format is the one of ``shared/resolver-scenarios`` (see its README). Tables that
change the outcome of a run (``root``, each package version, ``resolver_options``,
``environment``, ``expected``) reject unknown keys, so a new option is never silently
ignored; other top-level keys are kept in :attr:`Scenario.extra` and otherwise ignored.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

__all__ = [
    "Environment", "Expected", "Options", "Release", "Root", "Scenario", "ScenarioError",
    "discover", "load_scenario", "parse_scenario",
]

PRERELEASE_MODES = ("if-necessary", "allow", "disallow")


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
    prereleases: str = "if-necessary"
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


# -- low-level checks -----------------------------------------------------------------
def _table(data: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ScenarioError(f"{where}{key}: expected a table, got {type(value).__name__}")
    return value


def _check_keys(table: Mapping[str, Any], allowed: Iterable[str], where: str) -> None:
    unknown = sorted(set(table) - set(allowed))
    if unknown:
        raise ScenarioError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(sorted(allowed))})")


def _str(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str | None:
    value = table.get(key, default)
    if value is not None and not isinstance(value, str):
        raise ScenarioError(f"{where}.{key}: expected a string, got {value!r}")
    return value


def _bool(table: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ScenarioError(f"{where}.{key}: expected true or false, got {value!r}")
    return value


def _strings(table: Mapping[str, Any], key: str, where: str) -> list[str]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ScenarioError(f"{where}.{key}: expected a list of strings, got {value!r}")
    return list(value)


def _requirements(items: list[str], where: str) -> list[str]:
    for text in items:
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            raise ScenarioError(f"{where}: invalid requirement {text!r}: {exc}") from None
    return items


def _specifier(text: str | None, where: str) -> str | None:
    if text is not None:
        try:
            SpecifierSet(text)
        except InvalidSpecifier:
            raise ScenarioError(f"{where}: invalid version specifier {text!r}") from None
    return text


# -- sections -------------------------------------------------------------------------
def _release(version: str, table: Any, where: str) -> Release:
    if not isinstance(table, dict):
        raise ScenarioError(f"{where}: expected a table, got {table!r}")
    try:
        Version(version)
    except InvalidVersion:
        raise ScenarioError(f"{where}: invalid version {version!r}") from None
    _check_keys(table, ("requires", "requires_python", "extras", "wheel_tags", "sdist", "wheel", "yanked"), where)
    extras_table = _table(table, "extras", f"{where}.")
    extras = {str(extra): _requirements(_strings(extras_table, extra, f"{where}.extras"), where)
              for extra in extras_table}
    return Release(
        version=version,
        requires=_requirements(_strings(table, "requires", where), where),
        requires_python=_specifier(_str(table, "requires_python", where), f"{where}.requires_python"),
        extras=extras,
        wheel_tags=_strings(table, "wheel_tags", where),
        sdist=_bool(table, "sdist", where, True),
        wheel=_bool(table, "wheel", where, True),
        yanked=_bool(table, "yanked", where, False),
    )


def _packages(data: Mapping[str, Any]) -> dict[str, list[Release]]:
    packages: dict[str, list[Release]] = {}
    for name, table in _table(data, "packages", "").items():
        where = f"packages.{name}"
        if not isinstance(table, dict):
            raise ScenarioError(f"{where}: expected a table")
        _check_keys(table, ("versions",), where)
        releases = [_release(v, t, f"{where}.versions.{v!r}") for v, t in _table(table, "versions", f"{where}.").items()]
        packages.setdefault(canonicalize_name(name), []).extend(releases)
    return packages


def _prereleases(value: Any) -> str:
    if value is True:
        return "allow"
    if value is False or value is None:
        return "if-necessary"
    if isinstance(value, str) and value in PRERELEASE_MODES:
        return value
    raise ScenarioError(f"resolver_options.prereleases: expected true, false or one of {PRERELEASE_MODES}, got {value!r}")


def _options(table: Mapping[str, Any]) -> Options:
    where = "resolver_options"
    _check_keys(table, ("universal", "python", "python_platform", "prereleases", "no_build", "no_binary",
                        "required_environments"), where)
    return Options(
        universal=_bool(table, "universal", where, False),
        python=_str(table, "python", where),
        python_platform=_str(table, "python_platform", where),
        prereleases=_prereleases(table.get("prereleases")),
        no_build=_strings(table, "no_build", where),
        no_binary=_strings(table, "no_binary", where),
        required_environments=_strings(table, "required_environments", where),
    )


def _expected(table: Mapping[str, Any]) -> Expected:
    where = "expected"
    _check_keys(table, ("satisfiable", "packages", "explanation"), where)
    if "satisfiable" not in table:
        raise ScenarioError("expected.satisfiable is required")
    packages = _table(table, "packages", "expected.")
    for name, version in packages.items():
        if not isinstance(version, str):
            raise ScenarioError(f"expected.packages.{name}: expected a version string, got {version!r}")
        try:
            Version(version)
        except InvalidVersion:
            raise ScenarioError(f"expected.packages.{name}: invalid version {version!r}") from None
    return Expected(
        satisfiable=_bool(table, "satisfiable", where, False),
        packages={canonicalize_name(n): v for n, v in packages.items()},
        explanation=_str(table, "explanation", where),
    )


_TOP_LEVEL = ("name", "description", "root", "packages", "expected", "resolver_options", "environment")


def parse_scenario(text: str, path: Path | None = None) -> Scenario:
    """Parse the TOML ``text`` of one scenario; raise :class:`ScenarioError` if it is invalid."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"invalid TOML: {exc}") from None
    root = _table(data, "root", "")
    _check_keys(root, ("requires", "requires_python"), "root")
    environment = _table(data, "environment", "")
    _check_keys(environment, ("python", "additional_python"), "environment")
    if "expected" not in data:
        raise ScenarioError("the [expected] table is required")
    return Scenario(
        name=_str(data, "name", "", path.stem if path is not None else "scenario") or "scenario",
        description=_str(data, "description", "", "") or "",
        root=Root(
            requires=_requirements(_strings(root, "requires", "root"), "root.requires"),
            requires_python=_specifier(_str(root, "requires_python", "root"), "root.requires_python"),
        ),
        packages=_packages(data),
        options=_options(_table(data, "resolver_options", "")),
        environment=Environment(
            python=_str(environment, "python", "environment"),
            additional_python=_strings(environment, "additional_python", "environment"),
        ),
        expected=_expected(_table(data, "expected", "")),
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


def discover(paths: Iterable[Path]) -> list[Path]:
    """Scenario files under ``paths``: files as given, folders searched recursively for
    ``*.toml`` (sorted); duplicates dropped. Raise :class:`ScenarioError` for a missing path."""
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*.toml") if p.is_file())
        elif path.is_file():
            candidates = [path]
        else:
            raise ScenarioError(f"{path}: no such file or folder")
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found
