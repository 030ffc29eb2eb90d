"""Forking a universal resolution: when requirements on one package conflict but carry
markers, the environments are split by those markers and each part is resolved alone.

Each fork is described by marker atoms: a splitting marker where it holds, its negation
where it does not (PEP 508 has no ``not``, so negation flips operators and applies
De Morgan's laws to the parsed marker).
"""

from __future__ import annotations

from typing import Any

from packaging.markers import Marker

from pypm.resolver.markers import EnvironmentSpace

_FLIP = {"==": "!=", "!=": "==", "<": ">=", ">=": "<", ">": "<=", "<=": ">", "in": "not in", "not in": "in"}

Fork = tuple[list[dict[str, str]], frozenset[str]]


def negate(marker: Marker) -> str | None:
    """A marker that holds exactly where ``marker`` does not (None if not expressible)."""
    return _negate_list(marker._markers)  # packaging keeps the parsed tree here


def _negate_list(items: list[Any]) -> str | None:
    clauses: list[list[Any]] = [[]]
    for item in items:
        if item == "or":
            clauses.append([])
        elif item != "and":
            clauses[-1].append(item)
    # not (A and B or C) == (not A or not B) and (not C)
    negated_clauses = []
    for clause in clauses:
        parts = [_negate_item(item) for item in clause]
        if any(part is None for part in parts):
            return None
        negated_clauses.append("(" + " or ".join(parts) + ")" if len(parts) > 1 else parts[0])
    return " and ".join(negated_clauses)


def _negate_item(item: Any) -> str | None:
    if isinstance(item, list):
        inner = _negate_list(item)
        return f"({inner})" if inner is not None else None
    lhs, op, rhs = item
    flipped = _FLIP.get(op.serialize())
    if flipped is None:
        return None
    return f"{lhs.serialize()} {flipped} {rhs.serialize()}"


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
