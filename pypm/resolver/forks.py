"""Forking a universal resolution: when requirements on one package conflict but carry
markers, the environments are split by those markers and each part is resolved alone.

Each fork is described by marker atoms: a splitting marker where it holds, its negation
where it does not (PEP 508 has no ``not``: dep-logic's complement flips operators and
applies De Morgan's laws).
"""

from __future__ import annotations

from packaging.markers import Marker

from pypm.resolver.marker_algebra import ALGEBRA_ERRORS, algebraic, text
from pypm.resolver.markers import EnvironmentSpace

Fork = tuple[list[dict[str, str]], frozenset[str]]


def negate(marker: Marker) -> str | None:
    """A marker that holds exactly where ``marker`` does not, as packaging writes it (None
    if not expressible, or when ``marker`` always or never holds)."""
    parsed = algebraic(str(marker))
    if parsed is None:
        return None
    try:
        negated = ~parsed
    except ALGEBRA_ERRORS:
        return None
    if negated.is_any() or negated.is_empty():
        return None
    return str(Marker(text(negated)))


def split_environments(markers: list[Marker], environments: list[dict[str, str]]) -> list[Fork] | None:
    """Group ``environments`` by which ``markers`` hold; None when that splits nothing."""
    unique = list({str(m): m for m in markers}.values())
    space = EnvironmentSpace(environments)
    masks = [space.mask(m) for m in unique]
    groups: dict[tuple[bool, ...], list[int]] = {}
    for index in range(len(environments)):
        groups.setdefault(tuple(bool(mask >> index & 1) for mask in masks), []).append(index)
    if len(groups) < 2:
        return None
    forks: list[Fork] = []
    for signature, indexes in sorted(groups.items(), reverse=True):
        atoms = set()
        for marker, holds in zip(unique, signature, strict=True):
            atom = str(marker) if holds else negate(marker)
            if atom is None:
                return None
            atoms.add(atom)
        forks.append(([environments[i] for i in indexes], frozenset(atoms)))
    return forks
