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
