"""Statistics and the parsing of uv.lock / file names."""

from __future__ import annotations

import pytest

from benchmarks.snapshot.selection import parse_uv_lock
from benchmarks.snapshot.store import split_version
from benchmarks.stats import ratio, summarize


def test_summarize_odd_and_even() -> None:
    s = summarize([3.0, 1.0, 2.0])
    assert (s["n"], s["median"], s["min"], s["max"]) == (3, 2.0, 1.0, 3.0)
    assert summarize([1.0, 2.0, 3.0, 10.0])["median"] == 2.5


def test_summarize_single_and_empty() -> None:
    assert summarize([0.5])["stddev"] == 0.0
    assert summarize([]) == {"n": 0}


@pytest.mark.parametrize(("a", "b", "want"), [(2.0, 1.0, 2.0), (None, 1.0, None), (1.0, 0.0, None), (1.0, None, None)])
def test_ratio(a: float | None, b: float | None, want: float | None) -> None:
    assert ratio(a, b) == want


def test_split_version() -> None:
    assert split_version("numpy-2.3.1-cp311-cp311-manylinux_2_28_x86_64.whl") == "2.3.1"
    assert split_version("idna-3.9.tar.gz") == "3.9"
    assert split_version("zope.interface-7.0.zip") == "7.0"
    assert split_version("weird.exe") is None


def test_parse_uv_lock_keeps_registry_forks() -> None:
    text = """
version = 1
[[package]]
name = "numpy"
version = "2.2.6"
source = { registry = "https://pypi.org/simple/" }
[[package]]
name = "numpy"
version = "2.3.1"
source = { registry = "https://pypi.org/simple/" }
[[package]]
name = "r3"
version = "0.1.0"
source = { virtual = "." }
"""
    assert parse_uv_lock(text) == {"numpy": {"2.2.6", "2.3.1"}}
