"""Forking a universal resolution: when requirements on one package conflict but carry
markers, the environments are split by those markers and each part is resolved alone.

Each fork is described by marker atoms: a splitting marker where it holds, its negation
where it does not (PEP 508 has no ``not``: dep-logic's complement flips operators and
applies De Morgan's laws).
"""

from __future__ import annotations

import itertools

from packaging.markers import Marker

from pypm.resolver.marker_algebra import ALGEBRA_ERRORS, algebraic, text
from pypm.resolver.markers import EnvironmentSpace
from pypm.resolver.witnesses import witnesses

Fork = tuple[list[dict[str, str]], frozenset[str]]
#: Up to this many splitting markers, every combination of them is considered (2**n).
MAX_MADE_SPLIT = 6


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


def split_environments(
    markers: list[Marker], environments: list[dict[str, str]], within: frozenset[str] | None = None
) -> list[Fork] | None:
    """Group ``environments`` by which ``markers`` hold; None when that splits nothing.

    Given ``within`` (the atoms of the fork ``environments`` already are), a combination
    of the markers that no sample has but that can hold where the lock is used
    (``sys_platform == 'illumos'``, ``implementation_name == 'pypy'``, neither of two
    platforms: uv's "remaining universe") is a fork too, resolved for environments made to
    satisfy it (:mod:`pypm.resolver.witnesses`).
    """
    unique = list({str(m): m for m in markers}.values())
    space = EnvironmentSpace(environments, within=within or ())
    masks = [space.mask(m) for m in unique]
    groups: dict[tuple[bool, ...], list[dict[str, str]]] = {}
    for index, env in enumerate(environments):
        groups.setdefault(tuple(bool(mask >> index & 1) for mask in masks), []).append(env)
    signatures = sorted(groups, reverse=True)
    if within is not None and space.domain is not None and len(unique) <= MAX_MADE_SPLIT:
        signatures = sorted(itertools.product((True, False), repeat=len(unique)), reverse=True)
    forks: list[Fork] = []
    for signature in signatures:
        atoms = _atoms(unique, signature)
        if atoms is None:
            return None
        parts = groups.get(signature) or _made(space, atoms)
        if parts:
            forks.append((parts, atoms))
    return forks if len(forks) > 1 else None


def _atoms(markers: list[Marker], signature: tuple[bool, ...]) -> frozenset[str] | None:
    """The fork's atoms: each marker where it holds, its negation where it does not."""
    atoms = set()
    for marker, holds in zip(markers, signature, strict=True):
        atom = str(marker) if holds else negate(marker)
        if atom is None:
            return None
        atoms.add(atom)
    return frozenset(atoms)


def _made(space: EnvironmentSpace, atoms: frozenset[str]) -> list[dict[str, str]]:
    """Environments for a combination no sample has, when it can hold at all."""
    parsed = [algebraic(atom) for atom in atoms]
    if any(marker is None for marker in parsed) or not space.can_hold(parsed):  # type: ignore[arg-type]
        return []
    return witnesses(space, atoms)
