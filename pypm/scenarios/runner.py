"""Run one scenario against pypm's resolver and compare the outcome with ``[expected]``.

Every run is isolated: its own temporary folder, dist files, index server (on a free
port of 127.0.0.1) and cache folder, so scenarios can run in parallel threads.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import Version

from pypm.build import make_sdist_metadata_builder
from pypm.errors import ResolutionError
from pypm.index.client import IndexClient
from pypm.resolver.coverage import check_required
from pypm.resolver.environments import target_environment, universal_environments
from pypm.resolver.options import ResolverOptions
from pypm.resolver.resolve import Resolution, resolve_requirements
from pypm.scenarios.index import serve_scenario
from pypm.scenarios.model import Scenario, ScenarioError, load_scenario

__all__ = [
    "DEFAULT_PYTHON", "NOT_ANSWERED_PHRASES", "UNIVERSAL_REQUIRES_PYTHON", "UNSATISFIABLE_PHRASES", "Outcome",
    "check", "discover", "environments_for", "is_unsatisfiable", "options_for", "resolve_scenario", "run_many",
    "run_scenario", "target_python",
]

DEFAULT_PYTHON = "3.12"
"""Target Python of a platform-specific run when neither the options nor the environment name one."""

UNIVERSAL_REQUIRES_PYTHON = ">=3.12"
"""requires-python of a universal run whose ``[root]`` gives none (as uv's scenario tests use)."""


@dataclass(frozen=True)
class Outcome:
    """The verdict on one scenario; ``reason`` says why it failed."""

    label: str
    passed: bool
    reason: str | None = None
    seconds: float = 0.0

    def line(self) -> str:
        """``PASS folder/name`` or ``FAIL folder/name: reason``."""
        return f"PASS {self.label}" if self.passed else f"FAIL {self.label}: {self.reason}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def target_python(scenario: Scenario) -> str:
    """The Python a platform-specific run resolves for."""
    return scenario.options.python or scenario.environment.python or DEFAULT_PYTHON


def environments_for(scenario: Scenario) -> list[dict[str, str]]:
    """Marker environments to resolve for: every one requires-python allows (universal:
    ``required_environments`` do not limit them, as ``pypm lock`` and uv read the setting)
    or the target one.

    Raise :class:`ResolutionError` when the root's requires-python rules them all out.
    """
    root_python = scenario.root.requires_python
    if scenario.options.universal:
        spec = SpecifierSet(root_python if root_python is not None else UNIVERSAL_REQUIRES_PYTHON)
        environments = universal_environments(spec, [], scenario.options.required_environments)
        if not environments:
            raise ResolutionError(f"requires-python {spec} allows no environment")
        return environments
    python = target_python(scenario)
    if root_python is not None and not SpecifierSet(root_python).contains(python, prereleases=True):
        raise ResolutionError(f"the target Python {python} does not satisfy the root's requires-python {root_python}")
    return target_environment(python, scenario.options.python_platform)


def _names(items: Iterable[str]) -> frozenset[str]:
    return frozenset(item if item == ":all:" else canonicalize_name(item) for item in items)


def options_for(scenario: Scenario) -> ResolverOptions:
    """pypm resolver options for the scenario's ``[resolver_options]``."""
    options = scenario.options
    return ResolverOptions(
        prereleases=options.prereleases, no_build=_names(options.no_build), no_binary=_names(options.no_binary)
    )


def resolve_scenario(scenario: Scenario, index_url: str, cache_dir: Path) -> Resolution:
    """Resolve the scenario's root requirements against ``index_url``; a universal one's
    ``required_environments`` are then checked on the result, as ``pypm lock`` checks
    ``required-environments`` (a package without a file for one is an error)."""
    environments = environments_for(scenario)
    client = IndexClient.for_urls([index_url], cache_dir=cache_dir)
    try:
        resolution = resolve_requirements(
            list(scenario.root.requires), client, environments, options_for(scenario),
            sdist_metadata=make_sdist_metadata_builder(client, cache_dir),
        )
    finally:
        client.close()
    if scenario.options.universal:
        check_required(resolution.uncovered, scenario.options.required_environments)
    return resolution


#: Phrases of the resolver's "no set of versions satisfies the requirements" errors (the
#: explanations of pypm.resolver.explain, the required-environments check, and this
#: runner's own requires-python checks). An unsatisfiable scenario passes only on one of
#: these: any other error (a feature pypm does not support, a resolution that took too
#: many steps, a requirement it cannot read) means the question was never answered.
UNSATISFIABLE_PHRASES = (
    "no version of ",
    "no usable version of ",
    "conflicting requirements on ",
    "the workspace member ",
    "which required-environments requires",
    "does not satisfy the root's requires-python",
    "allows no environment",
)
#: Phrases that disqualify an error even when it also names a conflict.
NOT_ANSWERED_PHRASES = ("not supported", "too many steps")


def is_unsatisfiable(error: ResolutionError) -> bool:
    """True when ``error`` says no set of versions satisfies the requirements (rather than
    that pypm could not answer the question)."""
    message = str(error).lower()
    if any(phrase in message for phrase in NOT_ANSWERED_PHRASES):
        return False
    return any(phrase in message for phrase in UNSATISFIABLE_PHRASES)


def _locked(resolution: Resolution) -> dict[str, list[Version]]:
    """Every locked version of each name (several when forks chose different versions)."""
    versions: dict[str, list[Version]] = {}
    for entry in resolution.entries:
        versions.setdefault(str(entry.name), []).append(entry.version)
    return versions


def _pins(locked: dict[str, list[Version]]) -> str:
    pins = [f"{name}=={version}" for name, versions in sorted(locked.items()) for version in versions]
    return ", ".join(pins) or "nothing"


def _check_error(scenario: Scenario, error: ResolutionError) -> str | None:
    message = str(error).strip()
    if scenario.expected.satisfiable:
        return f"expected satisfiable, got ResolutionError: {_one_line(error.one_line())}"
    if not message or "\n" in message:
        return f"ResolutionError message is not one line: {str(error)!r}"
    if not is_unsatisfiable(error):
        return f"expected unsatisfiable, got an error that is not a resolution conflict: {_one_line(error.one_line())}"
    return None


def check(scenario: Scenario, resolution: Resolution | None, error: ResolutionError | None) -> str | None:
    """Compare a result (a resolution, or the error raised instead) with ``[expected]``.

    Return None when it matches, else a one-line reason. An expected-unsatisfiable
    scenario passes only on a conflict error (:func:`is_unsatisfiable`); an expected
    version must be the version of every locked entry of that name (a forked package has
    one entry per fork). ``[expected.packages]``, when given, is the whole set (as in
    packse, whose scenarios list every package installed): a locked name it does not list
    fails too.
    """
    if error is not None:
        return _check_error(scenario, error)
    assert resolution is not None
    locked = _locked(resolution)
    if not scenario.expected.satisfiable:
        return f"expected unsatisfiable, but resolved {_pins(locked)}"
    wrong = []
    for name, version in sorted(scenario.expected.packages.items()):
        got = locked.get(name, [])
        if not got:
            wrong.append(f"{name}=={version} (missing)")
        elif any(v != Version(version) for v in got):
            wrong.append(f"{name}=={version} (got {', '.join(str(v) for v in got)})")
    if scenario.expected.packages:
        extra = {name: versions for name, versions in locked.items() if name not in scenario.expected.packages}
        if extra:
            wrong.append(f"nothing else (also locked: {_pins(extra)})")
    if wrong:
        return f"expected {'; '.join(wrong)}"
    return None


def _load(item: Scenario | Path) -> Scenario:
    return item if isinstance(item, Scenario) else load_scenario(item)


def _label(item: Scenario | Path) -> str:
    return item.label if isinstance(item, Scenario) else f"{item.parent.name}/{item.stem}"


def run_scenario(item: Scenario | Path) -> Outcome:
    """Run one scenario (a parsed one, or a file) in isolation and judge the outcome.

    Never raises for a scenario problem: an invalid file, an unexpected result or an
    exception other than :class:`ResolutionError` becomes a failed :class:`Outcome`.
    """
    label, start = _label(item), time.perf_counter()

    def outcome(reason: str | None) -> Outcome:
        return Outcome(label, reason is None, reason, time.perf_counter() - start)

    try:
        scenario = _load(item)
        with tempfile.TemporaryDirectory(prefix="pypm-scenario-") as tmp:
            workdir = Path(tmp)
            with serve_scenario(scenario, workdir) as server:
                try:
                    resolution = resolve_scenario(scenario, server.url, workdir / "cache")
                except ResolutionError as exc:
                    return outcome(check(scenario, None, exc))
            return outcome(check(scenario, resolution, None))
    except ScenarioError as exc:
        return outcome(f"invalid scenario: {_one_line(str(exc))}")
    except Exception as exc:  # noqa: BLE001 - any other exception is a failure to report
        return outcome(_one_line(f"{type(exc).__name__}: {exc}"))


def discover(paths: Iterable[Path]) -> list[Path]:
    """Scenario files under ``paths``: files as given, folders searched recursively for
    ``*.toml`` (sorted); duplicates dropped. Raise :class:`ScenarioError` for a missing path."""
    found: list[Path] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            candidates = sorted(p for p in path.rglob("*.toml") if p.is_file())
        elif path.is_file():
            candidates = [path]
        else:
            raise ScenarioError(f"{path}: no such file or folder")
        for candidate in candidates:
            key = candidate.resolve()
            if key not in seen:
                seen.add(key)
                found.append(candidate)
    return found


def run_many(items: Iterable[Scenario | Path], jobs: int = 2) -> Iterator[Outcome]:
    """Run scenarios in ``jobs`` threads; yield outcomes in the order of ``items``."""
    items = list(items)
    if jobs <= 1:
        yield from map(run_scenario, items)
        return
    with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="pypm-scenario") as pool:
        yield from pool.map(run_scenario, items)
