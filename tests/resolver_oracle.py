"""A brute-force oracle for small dependency graphs (the resolver's property tests).

A :class:`Graph` is a handful of packages, each with a few versions; each version has
requirements (PEP 508 strings, possibly with markers) and optionally a ``Requires-Python``.
The oracle answers, for one concrete marker environment, by enumerating every assignment
(each package -> one of its versions, or absent): exact, and fast enough for graphs of
up to five packages with three versions each (4**5 assignments).

It knows nothing of pypm: only :mod:`packaging` reads the requirements and markers.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

__all__ = [
    "ENVIRONMENTS", "Graph", "Release", "Selection", "environment_label", "environments_for", "find_solution",
    "reachable", "violations",
]

#: A concrete selection: package name -> the version installed (absent names are not installed).
Selection = Mapping[NormalizedName, Version]


@dataclass(frozen=True)
class Release:
    """One version of a package: its requirements and its Requires-Python (None: any)."""

    version: str
    requires: tuple[str, ...] = ()
    requires_python: str | None = None


@dataclass(frozen=True)
class Graph:
    """A small index (``packages``: name -> its releases) and a root project requiring
    ``root`` (PEP 508 strings) with ``requires-python`` ``requires_python``."""

    packages: Mapping[str, tuple[Release, ...]]
    root: tuple[str, ...]
    requires_python: str = ">=3.11"

    def describe(self) -> str:
        """The graph as readable lines (for failure messages)."""
        lines = [f"root (requires-python {self.requires_python}): {', '.join(self.root) or '-'}"]
        for name, releases in sorted(self.packages.items()):
            for release in releases:
                python = f" [Requires-Python {release.requires_python}]" if release.requires_python else ""
                lines.append(f"  {name} {release.version}{python}: {', '.join(release.requires) or '-'}")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Edge:
    """A requirement: on ``name``, met by the versions in ``allowed`` (of those on the
    index), followed only where its marker holds."""

    name: NormalizedName
    allowed: frozenset[Version]
    requirement: Requirement

    def active(self, environment: Mapping[str, str]) -> bool:
        """True when the requirement applies in ``environment``."""
        marker = self.requirement.marker
        return marker is None or marker.evaluate(dict(environment))

    def met_by(self, selection: Selection) -> bool:
        """True when ``selection`` installs a version of ``name`` that the requirement allows."""
        return selection.get(self.name) in self.allowed


@dataclass(frozen=True)
class _Version:
    """One release, compiled: its version, requirements and Requires-Python."""

    version: Version
    edges: tuple[_Edge, ...]
    requires_python: SpecifierSet | None

    def python_allows(self, environment: Mapping[str, str]) -> bool:
        """True when the release's Requires-Python admits the environment's Python."""
        spec = self.requires_python
        return spec is None or spec.contains(environment["python_full_version"], prereleases=True)


class _Compiled:
    """A graph with every requirement parsed once and matched against the index's versions."""

    def __init__(self, graph: Graph) -> None:
        self.versions = {canonicalize_name(name): [Version(r.version) for r in releases]
                         for name, releases in graph.packages.items()}
        self.root = self.edges(graph.root)
        self.releases = {
            (canonicalize_name(name), Version(r.version)): _Version(
                Version(r.version), self.edges(r.requires),
                SpecifierSet(r.requires_python) if r.requires_python is not None else None)
            for name, releases in graph.packages.items() for r in releases
        }

    def edges(self, requirements: tuple[str, ...]) -> tuple[_Edge, ...]:
        """The requirements, parsed and matched."""
        found = []
        for text in requirements:
            req = Requirement(text)
            name = canonicalize_name(req.name)
            allowed = frozenset(req.specifier.filter(self.versions.get(name, []), prereleases=True))
            found.append(_Edge(name, allowed, req))
        return tuple(found)

    def active(self, environment: Mapping[str, str]) -> _Active:
        """The requirements that hold in ``environment``."""
        return _Active(self, environment)


class _Active:
    """A compiled graph's requirements that hold in one environment, and the releases
    that environment's Python may install."""

    def __init__(self, compiled: _Compiled, environment: Mapping[str, str]) -> None:
        self.root = [edge for edge in compiled.root if edge.active(environment)]
        self.installable = {key for key, release in compiled.releases.items() if release.python_allows(environment)}
        self.edges = {key: [edge for edge in release.edges if edge.active(environment)]
                      for key, release in compiled.releases.items()}

    def satisfied(self, selection: Selection) -> bool:
        """True when ``selection`` meets every requirement that holds (fast check)."""
        if not all(edge.met_by(selection) for edge in self.root):
            return False
        for key in selection.items():
            if key not in self.installable or not all(edge.met_by(selection) for edge in self.edges[key]):
                return False
        return True


def violations(graph: Graph, selection: Selection, environment: Mapping[str, str]) -> list[str]:
    """Every way ``selection`` fails ``graph`` in ``environment`` (empty when it satisfies
    it): a root requirement or a requirement of a selected version that holds there and is
    not met, a selected version that is not on the index, or one whose Requires-Python
    excludes the environment's Python."""
    compiled = _Compiled(graph)
    active = compiled.active(environment)
    problems = [f"root requirement {edge.requirement} is not met" for edge in active.root if not edge.met_by(selection)]
    for key in sorted(selection.items()):
        name, version = key
        release = compiled.releases.get(key)
        if release is None:
            problems.append(f"{name} {version} is not on the index")
            continue
        if key not in active.installable:
            problems.append(f"{name} {version} requires Python {release.requires_python}")
        problems.extend(f"{name} {version} requires {edge.requirement}, which is not met"
                        for edge in active.edges[key] if not edge.met_by(selection))
    return problems


def reachable(graph: Graph, selection: Selection, environment: Mapping[str, str]) -> set[NormalizedName]:
    """The selected packages that the root needs in ``environment``: reached from the root
    by requirements that hold there, through selected versions."""
    active = _Compiled(graph).active(environment)
    seen: set[NormalizedName] = set()
    work = list(active.root)
    while work:
        edge = work.pop()
        if edge.name in seen or edge.name not in selection:
            continue
        seen.add(edge.name)
        work.extend(active.edges.get((edge.name, selection[edge.name]), []))
    return seen


def _assignments(compiled: _Compiled) -> Iterator[dict[NormalizedName, Version]]:
    names = sorted(compiled.versions)
    choices = [[None, *compiled.versions[name]] for name in names]
    for picked in itertools.product(*choices):
        yield {name: version for name, version in zip(names, picked, strict=True) if version is not None}


def find_solution(graph: Graph, environment: Mapping[str, str]) -> dict[NormalizedName, Version] | None:
    """An assignment satisfying ``graph`` in ``environment`` (exhaustive search), or None
    when there is none."""
    compiled = _Compiled(graph)
    active = compiled.active(environment)
    return next((s for s in _assignments(compiled) if active.satisfied(s)), None)


def _environment(python: str, platform: str) -> dict[str, str]:
    windows = platform == "win32"
    return {
        "implementation_name": "cpython",
        "implementation_version": f"{python}.0",
        "os_name": "nt" if windows else "posix",
        "platform_machine": "AMD64" if windows else "x86_64",
        "platform_python_implementation": "CPython",
        "platform_release": "",
        "platform_system": "Windows" if windows else "Linux",
        "platform_version": "",
        "python_full_version": f"{python}.0",
        "python_version": python,
        "sys_platform": platform,
    }


#: Representative environments: each combination of the markers and Requires-Python the
#: property tests draw from (bounds at 3.12 and 3.13, win32 or not) has one of these.
ENVIRONMENTS: tuple[dict[str, str], ...] = tuple(
    _environment(python, platform) for python in ("3.11", "3.12", "3.13") for platform in ("linux", "win32")
)


def environments_for(requires_python: str) -> list[dict[str, str]]:
    """The representative environments a lock with this ``requires-python`` must serve."""
    spec = SpecifierSet(requires_python)
    return [env for env in ENVIRONMENTS if spec.contains(env["python_full_version"], prereleases=True)]


def environment_label(environment: Mapping[str, str]) -> str:
    """``python 3.12 on win32``."""
    return f"python {environment['python_version']} on {environment['sys_platform']}"
