"""The validated workspace: members, their groups and the workspace's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

from pypm.config import Settings, load_settings
from pypm.errors import WorkspaceError
from pypm.workspace.discovery import RawWorkspace, find_workspace, relative_posix
from pypm.workspace.project import Member, validate_member, validate_root_groups

LOCK_FILE = "pylock.toml"
VENV_DIR = ".venv"
STATE_DIR = ".pypm"


@dataclass
class Workspace:
    """A workspace root with its validated members and settings."""

    raw: RawWorkspace
    members: dict[NormalizedName, Member]
    settings: Settings
    root_groups: dict[NormalizedName, list[Requirement]] = field(default_factory=dict)
    #: what ``requires_python`` is when no member declares one (set by the lock: ``>=``
    #: the minor of the Python it would use, as uv defaults it)
    default_requires_python: SpecifierSet | None = None

    @property
    def root(self) -> Path:
        """The workspace root directory."""
        return self.raw.root

    @property
    def lock_path(self) -> Path:
        """Where ``pylock.toml`` lives."""
        return self.root / LOCK_FILE

    @property
    def venv_path(self) -> Path:
        """Where the workspace's virtual environment lives."""
        return self.root / VENV_DIR

    @property
    def state_dir(self) -> Path:
        """pypm's per-workspace state (doit database, locks)."""
        return self.root / STATE_DIR

    @property
    def requires_python(self) -> SpecifierSet:
        """The intersection of every member's ``requires-python`` (the default when none
        declares one and a default was set)."""
        combined = SpecifierSet()
        for member in self.members.values():
            combined &= member.requires_python
        if not str(combined) and self.default_requires_python is not None:
            return self.default_requires_python
        return combined

    def groups(self) -> dict[NormalizedName, list[tuple[str, Requirement]]]:
        """Every dependency group with its requirements and who declares them."""
        groups: dict[NormalizedName, list[tuple[str, Requirement]]] = {}
        for group, requirements in self.root_groups.items():
            groups.setdefault(group, []).extend(("workspace root", r) for r in requirements)
        for member in self.members.values():
            if member.path_dependency:
                continue
            for group, requirements in member.dependency_groups.items():
                groups.setdefault(group, []).extend((member.name, r) for r in requirements)
        return dict(sorted(groups.items()))

    def extras(self) -> list[NormalizedName]:
        """The extras the lock offers, sorted: every extra name declared by any member, and
        for a name several members declare, one ``<member>-<extra>`` name per member
        (:meth:`extra_names`), so that one member's extra can be chosen alone."""
        names: set[str] = set()
        for extra, owners in self.extra_owners().items():
            for member in owners:
                names.update(self.extra_names(member, extra))
        return sorted(names)  # type: ignore[arg-type]

    def extra_owners(self) -> dict[NormalizedName, list[NormalizedName]]:
        """Every extra name with the members that declare it."""
        owners: dict[NormalizedName, list[NormalizedName]] = {}
        for name, member in sorted(self.members.items()):
            for extra in [] if member.path_dependency else member.optional_dependencies:
                owners.setdefault(extra, []).append(name)
        return owners

    def extra_names(self, member: NormalizedName, extra: NormalizedName) -> list[str]:
        """The lock's extra names that install ``member``'s ``extra``: the plain name, plus
        ``<member>-<extra>`` when other members declare an extra of that name too. PEP 751
        extras are names for the whole lock; the scoped name keeps one member's extra from
        pulling in another's (uv scopes extras by package in uv.lock the same way).

        Raises :class:`WorkspaceError` when a scoped name is also a declared extra name."""
        owners = self.extra_owners()
        if len(owners.get(extra, [])) < 2:
            return [extra]
        scoped = f"{member}-{extra}"
        if scoped in owners:
            raise WorkspaceError(
                f"extra {scoped!r} of {owners[scoped][0]} has the name pypm gives to "
                f"{member}'s extra {extra!r} (declared by several members)",
                hint="rename one of the extras",
            )
        return [extra, scoped]


def load_workspace(start: Path) -> Workspace:
    """Find the workspace containing ``start``, validate it and load its settings."""
    return validate_workspace(find_workspace(start))


def validate_workspace(raw: RawWorkspace, settings: Settings | None = None) -> Workspace:
    """Validate every member of an already discovered workspace (``settings``: already
    loaded ones, e.g. with command-line overrides)."""
    members: dict[NormalizedName, Member] = {}
    for raw_member in raw.members:
        member = validate_member(raw_member, raw.root)
        if member.name in members:
            first = relative_posix(members[member.name].path, raw.root)
            second = relative_posix(member.path, raw.root)
            raise WorkspaceError(
                f"duplicate workspace member name {member.name!r} in {first} and {second}",
                hint="give each member a distinct [project] name",
            )
        members[member.name] = member
    settings = settings or load_settings(raw.tool_table, raw.config_file)
    settings.check()  # the deferred checks (markers) run before anything is resolved or written
    root_groups = {}
    if all(m.pyproject != raw.config_file for m in raw.members) and raw.config_file.name == "pyproject.toml":
        root_groups = validate_root_groups(raw.root_data, raw.config_file, raw.root)
    return Workspace(raw, members, settings, root_groups)
