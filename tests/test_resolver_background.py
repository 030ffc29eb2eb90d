"""The resolver's background prefetch ends with ``resolve``: no thread of it is left
running, and nothing is written into the cache after ``resolve`` returns."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

from packaging.markers import default_environment

from pypm.index.client import IndexClient
from pypm.resolver.resolve import resolve_requirements
from pypm.testing import DistSpec

SCENARIOS = Path(__file__).resolve().parents[2] / "shared" / "resolver-scenarios"


def _prefetch_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("pypm-prefetch")]


def test_no_prefetch_outlives_resolve(tmp_path, make_index) -> None:
    # `alpha` 2.0 (the newest, so the one prefetch warms) needs `slow`, whose metadata file
    # stalls for 3 s; the resolution takes alpha 1.0 and is done long before that. `beta`'s
    # files stall for 1.5 s so that the prefetch surely reaches `slow` before the resolution
    # ends, however loaded the machine (without it, CI once finished first).
    from pypm.testing._faults import Fault

    index = make_index(
        [
            DistSpec("alpha", "1.0", requires=["beta"]),
            DistSpec("alpha", "2.0", requires=["slow"]),
            DistSpec("beta", "1.0"),
            DistSpec("slow", "1.0"),
        ],
        faults=[
            Fault("/files/slow-*", times=None, stall_after=0, stall_seconds=3.0),
            Fault("/files/beta-*", times=None, stall_after=0, stall_seconds=1.5),
        ],
    )
    cache = tmp_path / "cache"
    client = IndexClient.for_urls([index.url], cache_dir=cache)
    try:
        started = time.monotonic()
        resolution = resolve_requirements(["alpha<2"], client, [dict(default_environment())])
        elapsed = time.monotonic() - started
    finally:
        client.close()
    assert sorted((p.name, str(p.version)) for p in resolution.entries) == [("alpha", "1.0"), ("beta", "1.0")]
    assert any("/files/slow-" in r.path for r in index.requests), "the prefetch never reached `slow`"
    assert not _prefetch_threads(), f"prefetch threads still running {elapsed:.2f}s after resolve started"
    snapshot = sorted(str(p) for p in cache.rglob("*"))
    time.sleep(1.0)
    assert sorted(str(p) for p in cache.rglob("*")) == snapshot, "the cache changed after resolve returned"
    shutil.rmtree(cache)  # the failure mode was `Directory not empty` here


def test_scenario_runner_five_times_in_a_row(tmp_path) -> None:
    assert SCENARIOS.is_dir(), f"{SCENARIOS} is missing: the shared resolver scenarios must sit beside the repo"
    for round_number in range(5):
        proc = subprocess.run(
            [sys.executable, "-m", "pypm.scenarios", str(SCENARIOS)],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )
        output = proc.stdout + proc.stderr
        assert "Directory not empty" not in output, f"round {round_number}: {output[-2000:]}"
        assert "Traceback" not in output, f"round {round_number}: {output[-2000:]}"
        assert " passed" in output, output[-2000:]


def test_a_fork_of_older_pythons_warms_the_release_it_can_use(make_index) -> None:
    # Another fork (3.12+) chose alpha 2.0, which needs Python >= 3.12. In the fork of
    # 3.10-3.11 the warm-up must fetch what alpha 1.0 needs (beta), the release that fork
    # will take, not give up on the preferred 2.0 or fetch what 2.0 needs (gamma).
    from concurrent.futures import ThreadPoolExecutor

    from packaging.specifiers import SpecifierSet
    from packaging.version import Version

    from pypm.resolver.environments import lowest_python, universal_environments
    from pypm.resolver.markers import EnvironmentSpace
    from pypm.resolver.options import ResolverOptions
    from pypm.resolver.provider import PypmProvider

    index = make_index(
        [
            DistSpec("alpha", "1.0", requires=["beta"], requires_python=">=3.10"),
            DistSpec("alpha", "2.0", requires=["gamma"], requires_python=">=3.12"),
            DistSpec("beta", "1.0"),
            DistSpec("gamma", "1.0"),
        ]
    )
    environments = universal_environments(SpecifierSet(">=3.10,<3.12"), [])
    client = IndexClient.for_urls([index.url])
    try:
        with ThreadPoolExecutor(2, thread_name_prefix="pypm-prefetch") as pool:
            provider = PypmProvider(client, {}, EnvironmentSpace(environments), lowest_python(environments),
                                    {"alpha": Version("2.0")}, ResolverOptions(), prefetch=pool)
            provider.warm("alpha")
            deadline = time.monotonic() + 10
            while not any("/beta/" in r.path for r in index.requests) and time.monotonic() < deadline:
                time.sleep(0.02)
    finally:
        client.close()
    paths = [r.path for r in index.requests]
    assert any("/beta/" in p for p in paths), f"alpha 1.0's dependency was not warmed: {paths}"
    assert not any("gamma" in p for p in paths), f"alpha 2.0 (not usable here) was warmed: {paths}"


def test_what_the_cache_holds_is_warmed_without_a_prefetch_thread(tmp_path, make_index, monkeypatch) -> None:
    """With every page fresh in the cache and every metadata stored, nothing is handed to
    the prefetch threads (which would only take the GIL from the resolver); a page the
    cache lacks still is."""
    from concurrent.futures import ThreadPoolExecutor

    from pypm.resolver import resolve as resolve_module

    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0", requires=["gamma"]),
                        DistSpec("gamma", "1.0"), DistSpec("delta", "1.0")])
    cache = tmp_path / "cache"
    environments = [dict(default_environment())]
    first = IndexClient.for_urls([index.url], cache_dir=cache)
    try:
        expected = resolve_requirements(["alpha"], first, environments).entries
    finally:
        first.close()
    handed: list[str] = []

    class CountingPool(ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
            handed.extend(str(arg) for arg in args)
            return super().submit(fn, *args, **kwargs)

    monkeypatch.setattr(resolve_module, "ThreadPoolExecutor", CountingPool)
    index.clear_requests()
    again = IndexClient.for_urls([index.url], cache_dir=cache)
    try:
        assert resolve_requirements(["alpha"], again, environments).entries == expected
        assert handed == [] and index.requests == []
        resolve_requirements(["alpha", "delta"], again, environments)  # delta's page is not cached
    finally:
        again.close()
    assert handed == ["delta"]
