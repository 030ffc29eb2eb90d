"""The requirement and candidate types the resolvelib provider works with."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from packaging.markers import Marker
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName
from packaging.version import Version

from pypm.index.links import FileLink
from pypm.workspace.project import Member

if TYPE_CHECKING:
    from pypm.resolver.markers import Condition


def identifier(name: NormalizedName, extras: frozenset[str]) -> str:
    """resolvelib identifier: ``name`` or ``name[extra1,extra2]``."""
    return f"{name}[{','.join(sorted(extras))}]" if extras else name


@dataclass(frozen=True)
class Req:
    """A requirement on a project, with the marker of the edge that led to it."""

    name: NormalizedName
    specifier: SpecifierSet
    extras: frozenset[str] = frozenset()
    marker: Marker | None = None
    parent: str | None = None
    text: str = ""
    first_party: bool = False
    #: The conditions (marker atoms) of the paths it was reached by, its own marker
    #: included; None for a root requirement (reached where its own marker holds).
    reach: frozenset[Condition] | None = field(default=None, compare=False)

    @property
    def key(self) -> str:
        """The resolvelib identifier this requirement is about."""
        return identifier(self.name, self.extras)

    @cached_property
    def exact(self) -> bool:
        """True when a clause is ``==`` or ``===`` (a wildcard too): the resolver decides
        such names first. Kept on the requirement: resolvelib asks for every name on every
        round (49,000 times for r150), and formatting each clause to read its operator
        cost more than the rest of the preference."""
        return any(s.operator in ("==", "===") for s in self.specifier)

    def pins(self, version: Version) -> bool:
        """True when the specifier pins exactly ``version`` (``==`` without wildcard)."""
        return any(
            s.operator in ("==", "===") and "*" not in s.version and s.contains(version, prereleases=True)
            for s in self.specifier
        )

    def describe(self) -> str:
        """Human form, e.g. ``app requires foo>=2``."""
        who = self.parent or "the workspace"
        return f"{who} requires {self.text or self.name + str(self.specifier)}"


@dataclass(eq=False)
class Candidate:
    """A concrete version of a project (with extras), or a workspace member."""

    name: NormalizedName
    version: Version
    extras: frozenset[str] = frozenset()
    files: list[FileLink] = field(default_factory=list)
    member: Member | None = None
    #: Where the requirements on it hold (their ``reach``, OR-ed); empty: everywhere.
    reach: frozenset[Condition] = frozenset()

    @property
    def key(self) -> str:
        """The resolvelib identifier of this candidate."""
        return identifier(self.name, self.extras)

    @property
    def wheels(self) -> list[FileLink]:
        """The wheel files of this version."""
        return [f for f in self.files if f.is_wheel]

    def __repr__(self) -> str:
        return f"<Candidate {self.key}=={self.version}>"
