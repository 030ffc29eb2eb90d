"""Marker algebra on top of dep-logic: parse marker strings (cached), substitute extras,
decide whether a conjunction of markers can hold at all, and write a marker back as
stable, single-quoted text.

dep-logic knows each variable on its own; it does not know that ``platform_system ==
'Windows'`` is ``sys_platform == 'win32'``. :func:`satisfiable` adds that knowledge (as uv
does, normalising ``platform_system`` to ``sys_platform``), so a path through a Windows-only
edge in a non-Windows fork counts as impossible instead of leaving a marker that never holds.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable, Iterable, Iterator

from dep_logic.markers import (
    AnyMarker,
    BaseMarker,
    EmptyMarker,
    MarkerExpression,
    MarkerUnion,
    MultiMarker,
    parse_marker,
)
from dep_logic.markers.single import EqualityMarkerUnion, InequalityMultiMarker, SingleMarker
from packaging.utils import canonicalize_name

#: What dep-logic raises for markers it cannot represent or combine.
ALGEBRA_ERRORS = (ValueError, TypeError, NotImplementedError, AssertionError)

#: Values that always go together: the key holds exactly where the value does (CPython's
#: ``platform.system()``/``os.name`` on each platform; ``sys.implementation.name``).
_SAME_AS: dict[tuple[str, str], tuple[str, str]] = {
    ("platform_system", "Windows"): ("sys_platform", "win32"),
    ("platform_system", "Linux"): ("sys_platform", "linux"),
    ("platform_system", "Darwin"): ("sys_platform", "darwin"),
    ("os_name", "nt"): ("sys_platform", "win32"),
    ("implementation_name", "cpython"): ("platform_python_implementation", "CPython"),
    ("implementation_name", "pypy"): ("platform_python_implementation", "PyPy"),
}
#: ``sys.platform`` of systems where ``os.name`` is ``posix`` (prefixes: ``freebsd14``).
_POSIX_PLATFORMS = ("linux", "darwin", "cygwin", "msys", "aix", "android", "ios", "emscripten", "wasi", "sunos",
                    "freebsd", "openbsd", "netbsd", "dragonfly", "haiku")
_RELATED = frozenset({"platform_system", "os_name", "implementation_name", "sys_platform"})
_NOT_WINDOWS = MarkerExpression("sys_platform", "!=", "win32")
_POSIX = MarkerExpression("os_name", "==", "posix")
SEARCH_BUDGET = 2000


class _GiveUp(Exception):
    """The satisfiability search took too many steps."""


def algebraic(text: str) -> BaseMarker | None:
    """dep-logic's form of a PEP 508 marker (cached); None when dep-logic cannot represent
    it (``===``, ``in`` on versions, a ``platform_release`` that is no PEP 440 version)."""
    return _parse(text)


@functools.lru_cache(maxsize=16384)
def _parse(text: str) -> BaseMarker | None:
    try:
        marker = parse_marker(text)
        for single in singles(marker):
            if isinstance(single, MarkerExpression):
                single.specifier  # noqa: B018 - dep-logic parses it lazily: fail now, not mid-way
    except ALGEBRA_ERRORS:
        return None
    return marker


def singles(marker: BaseMarker) -> Iterator[SingleMarker]:
    """Every single-variable marker inside ``marker``."""
    if isinstance(marker, (MultiMarker, MarkerUnion)):
        for inner in marker.markers:
            yield from singles(inner)
    elif isinstance(marker, SingleMarker):
        yield marker


def mapped(marker: BaseMarker, change: Callable[[SingleMarker], BaseMarker]) -> BaseMarker:
    """``marker`` with every single-variable marker replaced by ``change(single)``."""
    if isinstance(marker, MultiMarker):
        return MultiMarker.of(*(mapped(inner, change) for inner in marker.markers))
    if isinstance(marker, MarkerUnion):
        return MarkerUnion.of(*(mapped(inner, change) for inner in marker.markers))
    if isinstance(marker, SingleMarker):
        return change(marker)
    return marker


def with_extra(marker: BaseMarker, extra: str | None) -> BaseMarker:
    """``marker`` with its ``extra`` clauses decided: for the active ``extra`` (``""`` for
    none), or each taken as true when ``extra`` is None."""
    wanted = None if extra is None else canonicalize_name(extra)

    def decide(single: SingleMarker) -> BaseMarker:
        if single.name != "extra":
            return single
        if wanted is None or not isinstance(single, MarkerExpression) or single.op not in ("==", "!="):
            return AnyMarker()
        holds = (canonicalize_name(single.value) == wanted) == (single.op == "==")
        return AnyMarker() if holds else EmptyMarker()

    if not any(single.name == "extra" for single in singles(marker)):
        return marker
    return mapped(marker, decide)


@functools.lru_cache(maxsize=16384)
def canonical(marker: BaseMarker) -> BaseMarker:
    """``marker`` with values that go together written one way (``platform_system ==
    'Windows'`` as ``sys_platform == 'win32'``) and what a value implies added (``os_name ==
    'posix'`` excludes ``win32``; Linux, macOS, the BSDs... are POSIX): equivalent on every
    real interpreter, and contradictions become visible."""
    return mapped(marker, _canonical_single)


def _canonical_single(single: SingleMarker) -> BaseMarker:
    if isinstance(single, (EqualityMarkerUnion, InequalityMultiMarker)):
        if single.name not in _RELATED:
            return single
        parts = [_canonical_single(part) for part in _members(single)]
        return MarkerUnion.of(*parts) if isinstance(single, EqualityMarkerUnion) else MultiMarker.of(*parts)
    if not isinstance(single, MarkerExpression) or single.op not in ("==", "!="):
        return single
    if (single.name, single.value) in _SAME_AS:
        name, value = _SAME_AS[single.name, single.value]
        single = MarkerExpression(name, single.op, value)
    if single.op == "==" and single.name == "os_name" and single.value == "posix":
        return MultiMarker.of(single, _NOT_WINDOWS)
    if single.op == "==" and single.name == "sys_platform" and single.value.startswith(_POSIX_PLATFORMS):
        return MultiMarker.of(single, _POSIX)
    return single


def satisfiable(factors: Iterable[BaseMarker], budget: int = SEARCH_BUDGET) -> bool:
    """Can all ``factors`` hold in one environment? Decided on their :func:`canonical`
    forms by a search over the ``or`` branches; True when unsure (too many branches, or
    dep-logic cannot combine two clauses), which keeps whatever depends on it."""
    try:
        return _Search(budget).run([canonical(factor) for factor in factors], AnyMarker()) is not None
    except (_GiveUp, *ALGEBRA_ERRORS):
        return True


def solution(factors: Iterable[BaseMarker], budget: int = SEARCH_BUDGET) -> list[SingleMarker] | None:
    """Single-variable markers that together imply all ``factors`` (in :func:`canonical`
    names): what an environment must satisfy to satisfy them. None when there is none
    (or the search gave up)."""
    try:
        found = _Search(budget).run([canonical(factor) for factor in factors], AnyMarker())
    except (_GiveUp, *ALGEBRA_ERRORS):
        return None
    return None if found is None else list(singles(found))


def all_of(markers: Iterable[BaseMarker]) -> BaseMarker:
    """AND of ``markers`` with dep-logic's ``&``, which also merges ranges of one variable
    (``MultiMarker.of`` keeps ``< '3.11' and < '3.12'`` as two clauses); Any for none."""
    return functools.reduce(operator.and_, markers, AnyMarker())


def any_of(markers: Iterable[BaseMarker]) -> BaseMarker:
    """OR of ``markers`` with dep-logic's ``|``, which merges adjacent ranges
    (``[3.11, 3.12) or >= 3.12`` is ``>= 3.11``); Empty for none."""
    return functools.reduce(operator.or_, markers, EmptyMarker())


def conjunction_text(atoms: Iterable[str]) -> str:
    """The AND of marker strings, simplified when dep-logic reads them all (else joined)."""
    ordered = sorted(atoms)
    parsed = [algebraic(atom) for atom in ordered]
    if all(marker is not None for marker in parsed):
        try:
            combined = all_of(parsed)  # type: ignore[arg-type]
            if not combined.is_any() and not combined.is_empty():
                return text(combined)
        except ALGEBRA_ERRORS:
            pass
    return " and ".join(f"({atom})" if " or " in atom else atom for atom in ordered)


class _Search:
    """Depth-first search for a consistent choice of one branch per ``or``."""

    def __init__(self, budget: int) -> None:
        self.budget = budget

    def run(self, pending: list[BaseMarker], chosen: BaseMarker) -> BaseMarker | None:
        """The conjunction of single markers of one consistent choice; None if none."""
        unions: list[MarkerUnion] = []
        stack = list(pending)
        while stack:
            factor = stack.pop()
            if factor.is_empty():
                return None
            if isinstance(factor, MultiMarker):
                stack.extend(factor.markers)
            elif isinstance(factor, MarkerUnion):
                unions.append(factor)
            elif not factor.is_any():
                chosen = MultiMarker.of(chosen, factor)
                if chosen.is_empty():
                    return None
        if not unions:
            return chosen
        self.budget -= 1
        if self.budget < 0:
            raise _GiveUp
        smallest = min(unions, key=lambda union: len(union.markers))
        rest = [union for union in unions if union is not smallest]
        for option in smallest.markers:
            found = self.run([option, *rest], chosen)
            if found is not None:
                return found
        return None


def text(marker: BaseMarker) -> str:
    """``marker`` as PEP 508 text: operands sorted, values single-quoted, ``and`` groups
    inside an ``or`` parenthesised; the same marker always gives the same text."""
    if marker.is_empty():
        raise ValueError("an empty marker has no PEP 508 text")
    return _text(marker, None)


def _text(marker: BaseMarker, inside: str | None) -> str:
    if isinstance(marker, (MarkerUnion, EqualityMarkerUnion)):
        joined = " or ".join(sorted(_text(part, "or") for part in _members(marker)))
        return f"({joined})" if inside == "and" else joined
    if isinstance(marker, (MultiMarker, InequalityMultiMarker)):
        joined = " and ".join(sorted(_text(part, "and") for part in _members(marker)))
        return f"({joined})" if inside == "or" else joined
    written = str(marker)
    return written if "'" in written else written.replace('"', "'")


def _members(marker: BaseMarker) -> list[BaseMarker]:
    if isinstance(marker, EqualityMarkerUnion):
        return [MarkerExpression(marker.name, "==", value) for value in marker.values]
    if isinstance(marker, InequalityMultiMarker):
        return [MarkerExpression(marker.name, "!=", value) for value in marker.values]
    assert isinstance(marker, (MultiMarker, MarkerUnion))
    return list(marker.markers)
