"""The validated workspace: members, their groups and the workspace's settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName

from pypm.config import Settings, load_settings
from pypm.errors import WorkspaceError
from pypm.workspace.discovery import RawWorkspace, find_workspace
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
        """The intersection of every member's ``requires-python``."""
        combined = SpecifierSet()
        for member in self.members.values():
            combined &= member.requires_python
        return combined

    def groups(self) -> dict[NormalizedName, list[tuple[str, Requirement]]]:
        """Every dependency group with its requirements and who declares them."""
        groups: dict[NormalizedName, list[tuple[str, Requirement]]] = {}
        for group, requirements in self.root_groups.items():
            groups.setdefault(group, []).extend(("workspace root", r) for r in requirements)
        for member in self.members.values():
            for group, requirements in member.dependency_groups.items():
                groups.setdefault(group, []).extend((member.name, r) for r in requirements)
        return dict(sorted(groups.items()))

    def extras(self) -> list[NormalizedName]:
        """Every extra name declared by any member, sorted."""
        names = {extra for m in self.members.values() for extra in m.optional_dependencies}
        return sorted(names)


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
            first = members[member.name].path.relative_to(raw.root).as_posix() or "."
            second = member.path.relative_to(raw.root).as_posix() or "."
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
