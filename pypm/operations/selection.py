"""Which dependency groups and extras a sync installs (kept import-light: fast path)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Selection(NamedTuple):
    """The user's group/extra choices, as given on the command line."""

    groups: tuple[str, ...] = ()
    no_dev: bool = False
    all_groups: bool = False
    only_groups: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()
    all_extras: bool = False
    install_project: bool = True
    inexact: bool = False

    def key(self) -> dict[str, Any]:
        """A JSON-able form recorded in the sync stamp."""
        return {
            "groups": sorted(self.groups),
            "no_dev": self.no_dev,
            "all_groups": self.all_groups,
            "only_groups": sorted(self.only_groups),
            "extras": sorted(self.extras),
            "all_extras": self.all_extras,
            "install_project": self.install_project,
            "inexact": self.inexact,
        }

    def resolve_groups(self, available: list[str], defaults: list[str]) -> list[str]:
        """The group names to install, checked against the lock's groups."""
        from pypm.errors import UsageError

        asked = set(self.groups) | set(self.only_groups)
        unknown = sorted(asked - set(available))
        if unknown:
            raise UsageError(
                f"unknown dependency group {unknown[0]!r}",
                hint=f"groups in the lock: {', '.join(available) or 'none'}",
            )
        if self.only_groups:
            return sorted(self.only_groups)
        if self.all_groups:
            chosen = set(available)
        else:
            chosen = set(defaults) | set(self.groups)
        if self.no_dev:
            chosen.discard("dev")
        return sorted(chosen)

    def resolve_extras(self, available: list[str], scoped: Callable[[str, str], list[str]] | None = None) -> list[str]:
        """The lock's extra names to install, checked against the lock's extras.

        ``E`` installs extra E of every member that declares it; ``MEMBER:E`` only that
        member's, named by ``scoped(member, extra)`` (the lock's names for it, its own
        last; it raises :class:`~pypm.errors.PypmError` when the member has no such extra)."""
        from packaging.utils import canonicalize_name

        from pypm.errors import UsageError

        if self.all_extras:
            return sorted(available)
        chosen = set()
        for asked in self.extras:
            member, _, extra = asked.rpartition(":")
            if member and scoped is None:
                raise UsageError(f"--extra {asked}: MEMBER:EXTRA needs the workspace")
            name = scoped(member, extra)[-1] if member and scoped is not None else canonicalize_name(extra)
            if name not in available:
                raise UsageError(
                    f"unknown extra {asked!r}", hint=f"extras in the lock: {', '.join(available) or 'none'}"
                )
            chosen.add(name)
        return sorted(chosen)
