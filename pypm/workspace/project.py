"""Validate a member's ``[project]`` and ``[dependency-groups]`` tables (PEP 621, PEP 735)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import InvalidName, NormalizedName, canonicalize_name
from packaging.version import InvalidVersion, Version

from pypm.errors import WorkspaceError
from pypm.workspace.discovery import RawMember


@dataclass
class Member:
    """A validated workspace member."""

    name: NormalizedName
    display_name: str
    version: Version | None
    path: Path
    pyproject: Path
    requires_python: SpecifierSet
    dependencies: list[Requirement]
    optional_dependencies: dict[NormalizedName, list[Requirement]]
    dependency_groups: dict[NormalizedName, list[Requirement]] = field(default_factory=dict)
    scripts: dict[str, str] = field(default_factory=dict)
    gui_scripts: dict[str, str] = field(default_factory=dict)
    description: str = ""
    build_system: dict[str, Any] | None = None
    #: a path dependency (``[tool.pypm.sources]``), not a workspace member: locked and
    #: installed only where something requires it; its groups and extras stay its own
    path_dependency: bool = False
    #: installed editable (members, editable path dependencies), else from a wheel built
    #: from its tree
    editable: bool = True


def validate_member(raw: RawMember, root: Path) -> Member:
    """Check a member's ``[project]`` table and turn it into a :class:`Member`."""
    where = _Where(raw.pyproject, root)
    project = raw.data.get("project")
    if not isinstance(project, dict):
        raise where.error("[project]", "missing or not a table", "add a PEP 621 [project] table")
    name = where.string(project, "name", required=True)
    try:
        canonical = canonicalize_name(name, validate=True)
    except InvalidName:
        raise where.error("[project.name]", f"{name!r} is not a valid project name") from None
    dynamic = project.get("dynamic", [])
    if not isinstance(dynamic, list) or not all(isinstance(field, str) for field in dynamic):
        raise where.error("[project.dynamic]", "must be a list of strings")
    _check_dynamic(where, project, dynamic)
    return Member(
        name=canonical,
        display_name=name,
        version=_version(where, project, dynamic),
        path=raw.path,
        pyproject=raw.pyproject,
        requires_python=_requires_python(where, project),
        dependencies=where.requirements(project.get("dependencies", []), "[project.dependencies]"),
        optional_dependencies=_optional(where, project.get("optional-dependencies", {})),
        dependency_groups=_groups(where, raw.data.get("dependency-groups", {})),
        scripts=where.string_table(project, "scripts"),
        gui_scripts=where.string_table(project, "gui-scripts"),
        description=where.string(project, "description") or "",
        build_system=_build_system(where, raw.data.get("build-system")),
        path_dependency=raw.source_of is not None,
        editable=raw.editable,
    )


def _build_system(where: _Where, table: Any) -> dict[str, Any] | None:
    """The ``[build-system]`` table when it names a backend (else None: pypm's own editable)."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise where.error("[build-system]", "must be a table")
    requires = table.get("requires", [])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise where.error("[build-system.requires]", "must be a list of PEP 508 strings")
    return table if "build-backend" in table else None


def validate_root_groups(data: dict[str, Any], pyproject: Path, root: Path) -> dict[NormalizedName, list[Requirement]]:
    """``[dependency-groups]`` of a virtual workspace root (one without ``[project]``)."""
    return _groups(_Where(pyproject, root), data.get("dependency-groups", {}))


class _Where:
    """Builds errors that name the file and the table of the bad value."""

    def __init__(self, pyproject: Path, root: Path) -> None:
        try:
            self.label = pyproject.relative_to(root).as_posix()
        except ValueError:
            self.label = str(pyproject)

    def error(self, key: str, problem: str, hint: str | None = None) -> WorkspaceError:
        return WorkspaceError(f"{self.label}: {key}: {problem}", hint=hint)

    def string(self, table: dict[str, Any], key: str, required: bool = False) -> str | None:
        value = table.get(key)
        if value is None and not required:
            return None
        if not isinstance(value, str) or (required and not value):
            raise self.error(f"[project.{key}]", "missing or not a string")
        return value

    def string_table(self, table: dict[str, Any], key: str) -> dict[str, str]:
        value = table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.error(f"[project.{key}]", "must be a table of strings")
        return dict(value)

    def requirements(self, values: Any, key: str) -> list[Requirement]:
        if not isinstance(values, list):
            raise self.error(key, "must be a list of PEP 508 strings")
        parsed = []
        for index, value in enumerate(values):
            if not isinstance(value, str):
                raise self.error(f"{key}[{index}]", f"{value!r} is not a string")
            try:
                parsed.append(Requirement(value))
            except InvalidRequirement as exc:
                first = str(exc).splitlines()[0]
                raise self.error(
                    f"{key}[{index}]", f"invalid requirement {value!r}: {first}",
                    "write a PEP 508 string such as 'requests>=2.31'",
                ) from None
        return parsed


def _check_dynamic(where: _Where, project: dict[str, Any], dynamic: list[str]) -> None:
    """PEP 621: ``name`` is never dynamic, and a field given in ``[project]`` cannot also
    be listed in ``dynamic`` (build backends must refuse both)."""
    if "name" in dynamic:
        raise where.error("[project.dynamic]", "lists 'name', which must always be given in [project]",
                          "set [project.name] and drop it from dynamic")
    both = [field for field in dynamic if field in project]
    if both:
        raise where.error("[project.dynamic]", f"lists {both[0]!r}, which [project] also sets",
                          f"keep one: [project.{both[0]}] or {both[0]!r} in dynamic")


def _version(where: _Where, project: dict[str, Any], dynamic: list[Any]) -> Version | None:
    text = project.get("version")
    if text is None:
        if "version" not in dynamic:
            raise where.error("[project.version]", "missing", "set a version or list it in dynamic")
        return None
    if not isinstance(text, str):
        raise where.error("[project.version]", f"{text!r} is not a string")
    try:
        return Version(text)
    except InvalidVersion:
        raise where.error("[project.version]", f"{text!r} is not a PEP 440 version") from None


def _requires_python(where: _Where, project: dict[str, Any]) -> SpecifierSet:
    text = project.get("requires-python", "")
    if not isinstance(text, str):
        raise where.error("[project.requires-python]", f"{text!r} is not a string")
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        raise where.error(
            "[project.requires-python]", f"{text!r} is not a version specifier", "e.g. '>=3.10'"
        ) from None


def _optional(where: _Where, table: Any) -> dict[NormalizedName, list[Requirement]]:
    if not isinstance(table, dict):
        raise where.error("[project.optional-dependencies]", "must be a table of lists")
    extras: dict[NormalizedName, list[Requirement]] = {}
    spelled: dict[NormalizedName, str] = {}
    for extra, values in table.items():
        try:
            name = canonicalize_name(extra, validate=True)
        except InvalidName:
            raise where.error("[project.optional-dependencies]", f"bad extra name {extra!r}") from None
        if name in spelled:  # PEP 685: two extras that normalize to one name are an error
            raise where.error("[project.optional-dependencies]", f"extras {spelled[name]!r} and {extra!r} are one "
                              f"name, {name!r} (PEP 685)", hint="merge them into one extra")
        spelled[name] = extra
        extras[name] = where.requirements(values, f"[project.optional-dependencies.{extra}]")
    return extras


def _groups(where: _Where, table: Any) -> dict[NormalizedName, list[Requirement]]:
    from packaging.dependency_groups import DependencyGroupResolver

    if not isinstance(table, dict):
        raise where.error("[dependency-groups]", "must be a table of lists")
    try:
        resolver = DependencyGroupResolver(table)
        groups = {}
        for group in table:
            resolved = resolver.resolve(group)
            groups[canonicalize_name(group)] = list(resolved)
        return groups
    except Exception as exc:  # packaging raises ValueError, LookupError or an ExceptionGroup
        inner = getattr(exc, "exceptions", None)
        detail = f"{exc.message}: {inner[0]}" if inner else str(exc)
        raise where.error(
            "[dependency-groups]", detail.splitlines()[0], "each group is a list of PEP 508 strings"
        ) from None
