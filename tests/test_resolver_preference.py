"""The resolver's order of decisions: names a requirement pins exactly (``==``/``===``,
wildcards too) come before the others, whatever other clauses the specifier has."""

from __future__ import annotations

import pytest
from packaging.specifiers import SpecifierSet

from pypm.resolver.candidates import Req


@pytest.mark.parametrize(("specifier", "exact"), [
    ("==1.0", True), ("===1.0", True), ("==1.*", True), (">=1,==2", True), ("!=1.5,==2.0", True),
    (">=1", False), ("", False), ("~=1.0", False), ("!=1.0", False), ("<=2,>1", False),
])
def test_exact_is_any_equality_clause(specifier: str, exact: bool) -> None:
    requirement = Req("a", SpecifierSet(specifier))  # type: ignore[arg-type]
    assert requirement.exact is exact
    assert requirement.exact is exact  # kept on the requirement, the same answer again
    assert requirement == Req("a", SpecifierSet(specifier))  # type: ignore[arg-type]  # equality ignores it


def _provider():  # type: ignore[no-untyped-def]
    from packaging.specifiers import SpecifierSet as Specifiers

    from pypm.resolver.environments import lowest_python, universal_environments
    from pypm.resolver.markers import EnvironmentSpace
    from pypm.resolver.options import ResolverOptions
    from pypm.resolver.provider import PypmProvider

    environments = universal_environments(Specifiers(">=3.10,<3.12"), [])
    return PypmProvider(None, {"member": object()}, EnvironmentSpace(environments),  # type: ignore[arg-type]
                        lowest_python(environments), {}, ResolverOptions())


class _Info:
    def __init__(self, identifier: str, specifier: str) -> None:
        name, _, extras = identifier.rstrip("]").partition("[")
        self.requirement = Req(name, SpecifierSet(specifier), frozenset(filter(None, [extras])))  # type: ignore[arg-type]


_NAMES = ["<python>", "member", "member[x]", "cause", "pinned", "pinned[a]", "plain", "zeta", "alpha"]


@pytest.mark.parametrize("size", range(1, len(_NAMES) + 1))
def test_narrowing_picks_what_the_preference_ranks_first(size: int) -> None:
    """resolvelib pins the one name the narrowing returns, skipping get_preference: it
    must be the name get_preference ranks first, for any set of names."""
    import itertools

    provider = _provider()
    information = {name: [_Info(name, "==1.0" if name.startswith("pinned") else ">=1")] for name in _NAMES}
    for identifier, infos in information.items():  # resolvelib identifies each requirement it adds
        assert all(provider.identify(info.requirement) == identifier for info in infos)
    causes = [_Info("cause", ">=1")]
    for chosen in itertools.combinations(_NAMES, size):
        identifiers = list(reversed(chosen))
        expected = min(identifiers, key=lambda name: provider.get_preference(name, {}, {}, information, causes))
        assert provider.narrow_requirement_selection(identifiers, {}, {}, information, causes) == [expected]
    ranked = sorted(_NAMES, key=lambda name: provider.get_preference(name, {}, {}, information, causes))
    assert ranked[:5] == ["<python>", "member", "member[x]", "cause", "pinned"], ranked
