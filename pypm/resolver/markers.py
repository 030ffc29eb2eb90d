"""Marker algebra for universal locks: masks over sampled environments, extra stripping,
and the OR-of-paths marker each locked package carries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from packaging.markers import Marker


class EnvironmentSpace:
    """Evaluates markers over the sampled environments as bit masks (bit i = env i)."""

    def __init__(self, environments: list[dict[str, str]]) -> None:
        self.environments = environments
        self.full = (1 << len(environments)) - 1
        self._cache: dict[tuple[str, str], int] = {}

    def mask(self, marker: Marker | None, extra: str = "") -> int:
        """Bit mask of the environments where ``marker`` holds (with ``extra`` active)."""
        if marker is None:
            return self.full
        key = (str(marker), extra)
        if key not in self._cache:
            bits = 0
            for index, env in enumerate(self.environments):
                if marker.evaluate({**env, "extra": extra}):
                    bits |= 1 << index
            self._cache[key] = bits
        return self._cache[key]


def strip_extra(marker: Marker | None) -> Marker | None:
    """The marker with every ``extra == ...`` clause taken as true (None = always)."""
    if marker is None or "extra" not in str(marker):
        return marker
    text = _strip(marker._markers)  # packaging keeps the parsed tree here
    return Marker(text) if text else None


def _strip(markers: list[Any]) -> str | None:
    """Render a parsed marker list with extra clauses removed; None means 'true'."""
    clauses: list[list[str]] = [[]]
    for item in markers:
        if item == "or":
            clauses.append([])
        elif item == "and":
            continue
        elif isinstance(item, list):
            inner = _strip(item)
            if inner is not None:
                clauses[-1].append(f"({inner})")
        elif isinstance(item, tuple):
            if any(getattr(node, "value", None) == "extra" for node in item[::2]):
                continue
            clauses[-1].append(" ".join(node.serialize() for node in item))
    if any(not clause for clause in clauses):
        return None
    return " or ".join(" and ".join(clause) for clause in clauses)


@dataclass(frozen=True)
class Condition:
    """One path's condition: feature tests (extras/groups) and marker atoms, AND-ed."""

    features: frozenset[str] = field(default_factory=frozenset)
    atoms: frozenset[str] = field(default_factory=frozenset)

    def extend(self, space: EnvironmentSpace, marker: Marker | None) -> Condition | None:
        """This condition AND ``marker``; None when that never holds."""
        if marker is None or space.mask(marker) == space.full:
            return self
        atoms = self.atoms | {str(marker)}
        if atoms_mask(space, atoms) == 0:
            return None
        return Condition(self.features, atoms)

    def implies(self, other: Condition) -> bool:
        """True when ``other`` is weaker (holds wherever this one does)."""
        return other.features <= self.features and other.atoms <= self.atoms

    def render(self) -> list[str]:
        """The AND-ed terms as marker strings."""
        return sorted(self.features) + [_paren(a) for a in sorted(self.atoms)]


def atoms_mask(space: EnvironmentSpace, atoms: frozenset[str]) -> int:
    """Bit mask of the environments where every marker atom holds."""
    bits = space.full
    for atom in atoms:
        bits &= space.mask(Marker(atom))
    return bits


def _paren(text: str) -> str:
    return f"({text})" if " or " in text else text


def add_condition(conditions: set[Condition], new: Condition) -> bool:
    """Add ``new`` unless a weaker condition is present; drop stronger ones. True if added."""
    if any(new.implies(old) for old in conditions):
        return False
    for old in [c for c in conditions if c.implies(new)]:
        conditions.discard(old)
    conditions.add(new)
    return True


def render_marker(conditions: set[Condition], space: EnvironmentSpace) -> str | None:
    """OR of the conditions as one marker string; None when it always holds."""
    unconditional = 0
    for condition in conditions:
        if not condition.features:
            unconditional |= atoms_mask(space, condition.atoms)
    if unconditional == space.full:
        return None
    parts = []
    for condition in sorted(conditions, key=lambda c: (sorted(c.features), sorted(c.atoms))):
        terms = condition.render()
        text = " and ".join(terms)
        parts.append(f"({text})" if len(conditions) > 1 and len(terms) > 1 else text)
    return " or ".join(parts) if parts else None


def feature_group(name: str) -> str:
    """Marker term for a dependency group (PEP 751)."""
    return f"'{name}' in dependency_groups"


def feature_extra(name: str) -> str:
    """Marker term for an extra (PEP 751)."""
    return f"'{name}' in extras"
