"""Options that change how the resolver picks candidates."""

from __future__ import annotations

from dataclasses import dataclass, field

from pypm.config import DEFAULT_PRERELEASE, PRERELEASE_MODES

__all__ = ["PRERELEASE_MODES", "ResolverOptions"]


@dataclass(frozen=True)
class ResolverOptions:
    """``prereleases``: one of :data:`PRERELEASE_MODES` (what each means:
    ``PypmProvider._prerelease_order``). ``no_build`` / ``no_binary``:
    project names whose sdists may not be built / whose wheels may not be used
    (``":all:"`` for every project). ``upgrade``: names whose locked version is not
    preferred (``":all:"`` for all)."""

    prereleases: str = DEFAULT_PRERELEASE
    no_build: frozenset[str] = field(default_factory=frozenset)
    no_binary: frozenset[str] = field(default_factory=frozenset)
    upgrade: frozenset[str] = field(default_factory=frozenset)

    def may_build(self, name: str) -> bool:
        """True when an sdist of ``name`` may be built (for metadata or install)."""
        return ":all:" not in self.no_build and name not in self.no_build

    def may_use_wheels(self, name: str) -> bool:
        """True when wheels of ``name`` may be used."""
        return ":all:" not in self.no_binary and name not in self.no_binary

    def keeps_locked(self, name: str) -> bool:
        """True when ``name``'s locked version should be preferred (least churn)."""
        return ":all:" not in self.upgrade and name not in self.upgrade
