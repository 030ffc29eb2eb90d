"""Which dependency groups and extras a sync installs (kept import-light: fast path)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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


class Reinstall(NamedTuple):
    """``--reinstall`` (every package) and ``--reinstall-package NAME``: installed again
    from the store even when they look up to date (a sync runs although its stamp matches)."""

    everything: bool = False
    packages: frozenset[str] = frozenset()

    @property
    def forces(self) -> bool:
        """True when something is to be reinstalled."""
        return self.everything or bool(self.packages)

    def wants(self, name: str) -> bool:
        """Is the package ``name`` (canonical) to be reinstalled?"""
        return self.everything or name in self.packages


def only_groups_closure(
    declared: Mapping[str, list[tuple[str, Any]]], groups: Iterable[str],
    packages: Iterable[tuple[str, Sequence[Any] | None]], environment: dict[str, str] | None = None,
) -> set[str]:
    """The package names ``--only-group`` installs: the requirements of ``groups`` (as
    ``Workspace.groups()`` gives them, by group; with ``environment``, those whose marker
    holds there) and, through the locked entries' ``dependencies`` (``packages``: (name,
    dependencies) of each entry), all they need. The project and what only it needs are
    left out, as uv's ``--only-group`` does. A lock's ``dependencies`` carry no markers, so
    a dependency is followed whatever the marker of its edge: the caller still selects
    each entry by its own marker, and at worst keeps one the groups need elsewhere."""
    from packaging.utils import canonicalize_name

    needs: dict[str, set[str]] = {}
    for name, dependencies in packages:
        found = needs.setdefault(canonicalize_name(name), set())
        found.update(canonicalize_name(d["name"]) for d in dependencies or () if isinstance(d.get("name"), str))
    todo = [canonicalize_name(requirement.name) for group in groups for _, requirement in declared.get(group, [])
            if environment is None or requirement.marker is None
            or requirement.marker.evaluate({**environment, "extra": ""})]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name not in seen:
            seen.add(name)
            todo.extend(needs.get(name, ()))
    return seen
