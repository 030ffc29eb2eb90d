"""Markers of a universal lock: bit masks over the sampled environments for the resolver's
own decisions, and marker algebra (dep-logic, see :mod:`pypm.resolver.marker_algebra`) for
what the lock says.

Two views of an :class:`EnvironmentSpace`:

- :meth:`EnvironmentSpace.mask`: where a marker holds among the samples (forks, coverage);
- the *domain*: every environment the lock serves (requires-python, the ``environments``
  limits, the fork's markers), on any platform and implementation. :meth:`possible`,
  :meth:`Condition.extend` and :func:`render_marker` decide over the domain, so a
  ``sys_platform == 'freebsd'`` dependency is kept (no sample is FreeBSD) and ``sys_platform
  != 'cygwin'`` keeps its marker (every sample satisfies it). The samples serve as
  witnesses: a marker that holds on a sample can hold, one that fails on a sample is not
  always true, and only the remaining questions go to the algebra.

A space over plain environments (a platform-specific resolution, a build environment) has
no domain beyond its samples, and decides everything on them.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from dep_logic.markers import AnyMarker, BaseMarker, MarkerUnion, MultiMarker
from dep_logic.markers.single import EqualityMarkerUnion
from packaging.markers import InvalidMarker, Marker
from packaging.specifiers import InvalidSpecifier, SpecifierSet

from pypm.resolver.environments import Region
from pypm.resolver.marker_algebra import ALGEBRA_ERRORS, algebraic, all_of, any_of, satisfiable, text, with_extra

ALWAYS, NEVER, SOMETIMES = "always", "never", "sometimes"
#: Variables whose every value the samples cover (each Python minor is sampled).
_SAMPLED_VARIABLES = frozenset({"python_version", "python_full_version", "extra"})
#: ``'dev' in dependency_groups``, ``"cli" in extras``: the features a lock marker names.
FEATURE_TEST = re.compile(r"""['"]([^'"]+)['"]\s+in\s+(extras|dependency_groups)\b""")
_VARIABLE = re.compile(r"\b([a-z_]+)\s*(?:[<>=!~]=?|not in|in)\s*['\"]|['\"]\s*(?:not in|in|[<>=!]=?)\s*([a-z_]+)\b")


class EnvironmentSpace:
    """Markers over the sampled environments (bit i = environment i) and over the domain
    the lock serves.

    ``requires_python`` and ``limits`` (the ``environments`` setting) give the domain; when
    both are omitted it is the :class:`~pypm.resolver.environments.Region` the environments
    were sampled from (:func:`~pypm.resolver.environments.universal_environments`), or just
    the samples for plain environments. ``within``: the markers of the fork these
    environments are (AND-ed into the domain).
    """

    def __init__(
        self,
        environments: list[dict[str, str]],
        requires_python: SpecifierSet | str | None = None,
        limits: Sequence[str] | None = None,
        within: Iterable[str] = (),
    ) -> None:
        self.environments = environments
        self.full = (1 << len(environments)) - 1
        self._cache: dict[tuple[str, str], int] = {}
        self._possible: dict[tuple[str, str], bool] = {}
        self._relations: dict[tuple[frozenset[str], str], str] = {}
        #: id(marker) -> (the marker, kept so its id is not reused; its text): the same
        #: parsed markers are asked about thousands of times in a forked resolution
        self._texts: dict[int, tuple[Marker, str]] = {}
        self.region = _region(environments, requires_python, limits)
        self.domain: tuple[BaseMarker, ...] | None = (
            None if self.region is None else _domain(self.region, frozenset(within))
        )

    def text(self, marker: Marker) -> str:
        """``str(marker)``, formatted once per marker object."""
        known = self._texts.get(id(marker))
        if known is None or known[0] is not marker:
            known = self._texts[id(marker)] = (marker, str(marker))
        return known[1]

    def mask(self, marker: Marker | None, extra: str = "") -> int:
        """Bit mask of the sampled environments where ``marker`` holds (with ``extra`` active)."""
        if marker is None:
            return self.full
        text = self.text(marker)
        bits = self._cache.get((text, extra))
        if bits is None:
            bits = self._cache[(text, extra)] = self._evaluate(marker, sorted(_variables(text)), extra)
        return bits

    def _evaluate(self, marker: Marker, variables: list[str], extra: str) -> int:
        """Evaluate ``marker`` once per distinct combination of the variables it reads
        (``python_version < '3.11'`` needs one evaluation per Python, not per sample)."""
        seen: dict[tuple[str | None, ...], bool] = {}
        named = "dependency_groups" in variables or "extras" in variables
        selection = named_features(self.text(marker)) if named else {}
        bits = 0
        for index, env in enumerate(self.environments):
            values = tuple(env.get(name) for name in variables) if variables else (str(index),)
            holds = seen.get(values)
            if holds is None:
                holds = seen[values] = marker.evaluate({**env, "extra": extra, **selection})
            if holds:
                bits |= 1 << index
        return bits

    def mask_text(self, marker: str) -> int:
        """:meth:`mask` of a marker string (0 when packaging cannot evaluate it)."""
        key = (marker, "")
        if key not in self._cache:
            try:
                self._cache[key] = self.mask(Marker(marker))
            except (InvalidMarker, ValueError, TypeError):
                self._cache[key] = 0
        return self._cache[key]

    def possible(self, marker: Marker | None, extra: str = "") -> bool:
        """True when ``marker`` (with ``extra`` active) can hold in some environment the lock
        serves: on a sample, or algebraically in the domain (``sys_platform == 'freebsd'``)."""
        if marker is None:
            return True
        key = (self.text(marker), extra)
        found = self._possible.get(key)
        if found is None:
            found = self._possible[key] = self._decide_possible(marker, extra)
        return found

    def _decide_possible(self, marker: Marker, extra: str) -> bool:
        if self.mask(marker, extra):
            return True
        text = self.text(marker)
        if self.domain is None or _variables(text) <= {"extra"}:  # the same in every environment
            return False
        parsed = algebraic(text)
        if parsed is None:  # dep-logic cannot tell: trust the samples where they span the values
            return not _variables(text) <= _SAMPLED_VARIABLES
        try:
            return self.can_hold([with_extra(parsed, extra)])
        except ALGEBRA_ERRORS:
            return True

    def can_hold(self, factors: Sequence[BaseMarker]) -> bool:
        """Can all ``factors`` hold at once in the domain? A sample is a witness; without
        one the algebra decides (without a domain the samples are all there is)."""
        bits = self.full
        for factor in factors:
            bits &= self._factor_mask(factor)
            if not bits:
                break
        if bits:
            return True
        if self.domain is None:
            return False
        return satisfiable([*self.domain, *factors])

    def implied(self, marker: BaseMarker, context: Sequence[BaseMarker]) -> bool:
        """True when ``marker`` holds wherever ``context`` does, within the domain."""
        try:
            negated = ~marker
        except ALGEBRA_ERRORS:
            return False
        return not self.can_hold([*context, negated])

    def _factor_mask(self, factor: BaseMarker) -> int:
        if factor.is_any():
            return self.full
        if factor.is_empty():
            return 0
        return self.mask_text(str(factor))

    def relation(self, atoms: frozenset[str], marker: str) -> str:
        """Does ``marker`` hold on the path whose conditions are ``atoms``: ``ALWAYS``,
        ``NEVER`` or ``SOMETIMES`` (in the domain)?"""
        key = (atoms, marker)
        found = self._relations.get(key)
        if found is None:
            found = self._relations[key] = self._decide_relation(atoms, marker)
        return found

    def _decide_relation(self, atoms: frozenset[str], marker: str) -> str:
        path, here = atoms_mask(self, atoms), self.mask_text(marker)
        holds, fails = bool(path & here), bool(path & ~here & self.full)
        if holds and fails:
            return SOMETIMES
        if self.domain is None:
            return NEVER if not holds else ALWAYS
        factors, parsed = _factors(atoms), algebraic(marker)
        if factors is None or parsed is None:
            return SOMETIMES
        if not holds and not self.can_hold([*factors, parsed]):
            return NEVER
        if not fails and self.implied(parsed, factors):
            return ALWAYS
        return SOMETIMES

    def simplify(self, marker: BaseMarker, context: Sequence[BaseMarker] = ()) -> BaseMarker:
        """``marker`` without the ``or`` branches that cannot hold and the ``and`` parts that
        always hold (within the domain and ``context``)."""
        if isinstance(marker, MarkerUnion):
            options = [self.simplify(option, context) for option in sorted(marker.markers, key=str)]
            options = [option for option in options if self.can_hold([*context, option])]
            index = 0
            while index < len(options):  # a branch the other branches cover adds nothing
                others = options[:index] + options[index + 1:]
                if others and self.implied(MarkerUnion.of(*others), [*context, options[index]]):
                    options.pop(index)
                else:
                    index += 1
            return any_of(options)
        if isinstance(marker, MultiMarker):
            parts = sorted(marker.markers, key=str)
            index = 0
            while index < len(parts):
                if self.implied(parts[index], [*context, *parts[:index], *parts[index + 1:]]):
                    parts.pop(index)
                else:
                    index += 1
            return all_of([
                self.simplify(part, [*context, *parts[:index], *parts[index + 1:]]) for index, part in enumerate(parts)
            ])
        return marker


def _region(
    environments: list[dict[str, str]], requires_python: SpecifierSet | str | None, limits: Sequence[str] | None
) -> Region | None:
    if requires_python is not None or limits is not None:
        return Region(str(requires_python or ""), tuple(limits or ()))
    regions = {getattr(env, "region", None) for env in environments}
    return regions.pop() if len(regions) == 1 else None


@lru_cache(maxsize=256)
def _domain(region: Region, within: frozenset[str]) -> tuple[BaseMarker, ...]:
    """The domain as factors: each requires-python clause, one of the limits, each fork
    marker. A part dep-logic cannot represent is left out (a larger domain only keeps more)."""
    factors: list[BaseMarker] = []
    try:
        specifiers = list(SpecifierSet(region.requires_python))
    except InvalidSpecifier:
        specifiers = []
    for spec in specifiers:
        clause = algebraic(f"python_full_version {spec.operator} '{spec.version}'")
        if clause is not None:
            factors.append(clause)
    limits = [algebraic(limit) for limit in region.limits]
    if limits and all(limit is not None for limit in limits):
        factors.append(MarkerUnion.of(*limits))
    factors.extend(parsed for parsed in map(algebraic, sorted(within)) if parsed is not None)
    return tuple(factors)


def _factors(atoms: Collection[str]) -> list[BaseMarker] | None:
    parsed = [algebraic(atom) for atom in sorted(atoms)]
    return None if any(p is None for p in parsed) else parsed  # type: ignore[return-value]


def _variables(marker: str) -> set[str]:
    return {name for pair in _VARIABLE.findall(marker) for name in pair if name}


def named_features(marker: str) -> dict[str, set[str]]:
    """The extras and dependency groups ``marker`` tests (``'dev' in dependency_groups``),
    as the selection that turns them all on: a lock entry's marker (PEP 751) holds where its
    environment part does for the selection that includes them."""
    found: dict[str, set[str]] = {"extras": set(), "dependency_groups": set()}
    for name, variable in FEATURE_TEST.findall(marker):
        found[variable].add(name)
    return found


def strip_extra(marker: Marker | None) -> Marker | None:
    """The marker with every ``extra`` clause taken as true (None = always)."""
    if marker is None or "extra" not in str(marker):
        return marker
    parsed = algebraic(str(marker))
    if parsed is None:
        return None  # cannot separate the extra clauses: the edge is taken as unconditional
    try:
        stripped = with_extra(parsed, None)
    except ALGEBRA_ERRORS:
        return None
    if stripped.is_any():
        return None
    return Marker(text(stripped)) if not stripped.is_empty() else marker


@dataclass(frozen=True)
class Condition:
    """One path's condition: feature tests (extras/groups) and marker atoms, AND-ed."""

    features: frozenset[str] = field(default_factory=frozenset)
    atoms: frozenset[str] = field(default_factory=frozenset)

    def extend(self, space: EnvironmentSpace, marker: Marker | None) -> Condition | None:
        """This condition AND ``marker``: unchanged when the path implies the marker in
        the lock's domain, None when the two cannot hold together there."""
        if marker is None:
            return self
        written = str(marker)
        relation = space.relation(self.atoms, written)
        if relation == ALWAYS:
            return self
        if relation == NEVER:
            return None
        return Condition(self.features, self.atoms | {written})

    def implies(self, other: Condition) -> bool:
        """True when ``other`` is weaker (holds wherever this one does)."""
        return other.features <= self.features and other.atoms <= self.atoms

    def render(self) -> list[str]:
        """The AND-ed terms as marker strings."""
        return sorted(self.features) + [_paren(a) for a in sorted(self.atoms)]


def atoms_mask(space: EnvironmentSpace, atoms: frozenset[str]) -> int:
    """Bit mask of the sampled environments where every marker atom holds."""
    bits = space.full
    for atom in atoms:
        bits &= space.mask_text(atom)
    return bits


def _paren(marker: str) -> str:
    return f"({marker})" if " or " in marker else marker


def add_condition(conditions: set[Condition], new: Condition) -> bool:
    """Add ``new`` unless a weaker condition is present; drop stronger ones. True if added."""
    if any(new.implies(old) for old in conditions):
        return False
    for old in [c for c in conditions if c.implies(new)]:
        conditions.discard(old)
    conditions.add(new)
    return True


def can_hold(condition: Condition, space: EnvironmentSpace) -> bool:
    """Can the condition's marker atoms all hold at once in the lock's domain? (A feature
    test always can; an atom dep-logic cannot read is taken as possible.)"""
    factors = _factors(condition.atoms)
    return factors is None or space.can_hold(factors)


def render_marker(conditions: set[Condition], space: EnvironmentSpace) -> str | None:
    """OR of the conditions as one marker string, simplified within the lock's domain (no
    clause requires-python already guarantees); None when it always holds.

    One term per set of features (extras/groups), features first; a term is left out when
    the terms of fewer features already cover it."""
    by_features: dict[frozenset[str], list[Condition]] = {}
    for condition in conditions:
        by_features.setdefault(condition.features, []).append(condition)
    terms: list[tuple[str, bool]] = []
    for features in sorted(by_features, key=lambda f: (len(f), sorted(f))):
        below = [c for other, group in by_features.items() if other < features for c in group]
        term = _term(space, features, by_features[features], below)
        if term == ("", False):
            return None  # no features, no marker: needed everywhere
        if term is not None:
            terms.append(term)
    if not terms:
        return None
    parts = sorted(f"({t})" if conjunctive and len(terms) > 1 else t for t, conjunctive in terms)
    return " or ".join(parts)


def _term(
    space: EnvironmentSpace, features: frozenset[str], own: list[Condition], below: list[Condition]
) -> tuple[str, bool] | None:
    """The text of one feature set's term and whether it is an ``and``; None when it adds
    nothing to the terms ``below`` it."""
    mine, lower = _union(own), _union(below)
    if mine is None:  # dep-logic cannot represent some atom: written as given
        texts = sorted(" and ".join(c.render()) for c in own)
        return " or ".join(f"({t})" if " and " in t and len(texts) > 1 else t for t in texts), len(texts) == 1
    if lower is not None and not lower.is_empty():
        if space.implied(lower, [mine]):
            return None
        if space.implied(MarkerUnion.of(mine, lower), []):
            mine = AnyMarker()
    elif space.implied(mine, []):
        mine = AnyMarker()
    simplified = space.simplify(mine) if not mine.is_any() else mine
    if simplified.is_empty():
        return None
    words = sorted(features)
    if not simplified.is_any():
        written = text(simplified)
        disjunctive = isinstance(simplified, (MarkerUnion, EqualityMarkerUnion))
        words.append(f"({written})" if disjunctive and words else written)
        if isinstance(simplified, MultiMarker) or (disjunctive and len(words) > 1):
            return " and ".join(words), True
    return " and ".join(words), len(words) > 1


def _union(conditions: list[Condition]) -> BaseMarker | None:
    """OR of the conditions' atoms (Empty for none); None when some atom is not representable."""
    options = []
    for condition in sorted(conditions, key=lambda c: sorted(c.atoms)):
        factors = _factors(condition.atoms)
        if factors is None:
            return None
        try:
            options.append(all_of(factors))
        except ALGEBRA_ERRORS:
            return None
    try:
        return any_of(options)
    except ALGEBRA_ERRORS:
        return None


def python_marker(requires_python: str) -> Marker:
    """``>=3.9,<3.13`` as ``python_full_version < '3.13' and python_full_version >= '3.9'``
    (raises InvalidSpecifier / InvalidMarker for text that is neither)."""
    clauses = [f"python_full_version {spec.operator} '{spec.version}'" for spec in SpecifierSet(requires_python)]
    return Marker(" and ".join(sorted(clauses)))


def feature_group(name: str) -> str:
    """Marker term for a dependency group (PEP 751)."""
    return f"'{name}' in dependency_groups"


def feature_extra(name: str) -> str:
    """Marker term for an extra (PEP 751)."""
    return f"'{name}' in extras"
