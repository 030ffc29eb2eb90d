"""Property tests of the resolver (hypothesis) on random small dependency graphs.

Each example is a graph of 2-5 packages with 1-3 versions each; a version requires 0-2
other packages with random specifiers, some under a marker (``python_version``,
``sys_platform``) so that the universal lock may fork, and some versions declare a
``Requires-Python`` lower bound (so that it may fork by Python too). Every package is a
real wheel served by a real local index (the scenario machinery,
:func:`pypm.scenarios.index.serve_scenario`), and a one-member project is locked by
pypm's lock operation (:func:`pypm.operations.lock.lock`, the code behind ``pypm lock``)
in-process: about 0.05 s per lock, where spawning ``pypm lock`` costs about 0.5 s.
:func:`test_cli_lock_is_the_in_process_lock` checks that the CLI writes the very same
bytes and the same error.

What pypm promises for a universal lock (``requires-python`` of the project, every
platform), and what is checked (:mod:`tests.resolver_oracle` is the brute-force oracle;
the representative environments are CPython 3.11, 3.12 and 3.13 on linux and win32,
which meet every combination of the markers and Requires-Python drawn here):

* a lock is correct: in every environment, the packages ``packaging.pylock`` selects from
  it (one version per name) satisfy every root requirement and every requirement of every
  selected version whose marker holds there, each selected version's Requires-Python
  allows that Python, and nothing is selected that the root does not need there;
* "unsatisfiable" is a claim about one environment: a universal lock may give each
  environment its own versions (it forks), so it exists exactly when every environment
  has a solution. pypm may refuse to lock only with a resolution-conflict error (never
  "too many steps" or a crash), and only when the exhaustive search finds some
  environment with no solution at all;
* locking is reproducible: deleting the lock and locking again (with the index pages now
  cached), and re-locking with the lock present (``--refresh``: a forced re-resolution
  that starts from the lock's versions and forks), write byte-identical ``pylock.toml``;
  an unsatisfiable graph fails the same way each time.

Profiles: ``ci`` (the default) is derandomized (a fixed seed), has no example database
and runs 80 examples per property (about 20 s for the module on two cores). ``thorough``
draws 600 new random graphs per property (a few minutes, more when shrinking a failure)::

    PYPM_HYPOTHESIS_PROFILE=thorough .dev-venv/bin/python -m pytest -q tests/test_resolver_properties.py

A failure prints the graph (and the lock or error); add it as an ``@example`` to keep it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from packaging.pylock import PackageDirectory, Pylock, PylockSelectError
from packaging.tags import Tag
from packaging.utils import NormalizedName, canonicalize_name
from packaging.version import Version

from pypm.config import Settings
from pypm.errors import ResolutionError
from pypm.lock.reader import load_lock_data
from pypm.operations.lock import lock
from pypm.operations.lock_request import LockRequest
from pypm.scenarios import model
from pypm.scenarios.index import serve_scenario
from pypm.scenarios.runner import is_unsatisfiable
from pypm.testing import IndexServer
from pypm.workspace.discovery import find_workspace
from pypm.workspace.model import Workspace, validate_workspace
from tests.resolver_oracle import (
    Graph,
    Release,
    Selection,
    environment_label,
    environments_for,
    find_solution,
    reachable,
    violations,
)
from tests.workspaces import write_project

# -- profiles --------------------------------------------------------------------------
PROFILE_VAR = "PYPM_HYPOTHESIS_PROFILE"
settings.register_profile(
    "ci", max_examples=80, derandomize=True, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "thorough", max_examples=600, database=None, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow],
)
#: Applied per test (not loaded globally), so other hypothesis tests keep their own settings.
PROFILE = settings.get_profile(os.environ.get(PROFILE_VAR, "ci"))

# -- strategies ------------------------------------------------------------------------
NAMES = ("a", "b", "c", "d", "e")
VERSIONS = ("1.0", "2.0", "3.0")
#: The empty one (any version) first and most likely.
SPECIFIERS = ("", "", "", ">=2", "<2", "==1.0", "==2.0", "==3.0", ">=2,<3", "!=2.0", ">1,<=2", "<3", ">=3")
#: None first (hypothesis shrinks towards it) and most likely; single quotes, as
#: tests.workspaces.write_project puts each requirement in a double-quoted TOML string.
MARKERS = (None, None, None, "python_version < '3.12'", "python_version >= '3.13'", "sys_platform == 'win32'",
           "sys_platform != 'win32'", "python_version < '3.13' and sys_platform == 'win32'")
#: Complementary markers, for the pairs of requirements that make a lock fork.
MARKER_PAIRS = (("sys_platform == 'win32'", "sys_platform != 'win32'"),
                ("python_version < '3.12'", "python_version >= '3.12'"),
                ("python_version >= '3.13'", "python_version < '3.13'"))
#: Lower bounds only: where no release admits a Python, pypm takes the newest one anyway,
#: ignoring an upper bound as uv does (pypm/resolver/provider.py), so an upper bound is
#: not a constraint the lock promises to meet.
REQUIRES_PYTHON = (None, None, None, None, ">=3.12", ">=3.13")
ROOT_REQUIRES_PYTHON = (">=3.11", ">=3.12")
PROJECT = "proj"  # the project's own name (not one of NAMES)
WHEEL_TAGS = [Tag("py3", "none", "any")]


@st.composite
def requirements(draw: st.DrawFn, names: tuple[str, ...]) -> str:
    """A requirement on one of ``names``, with a random specifier and maybe a marker."""
    text = draw(st.sampled_from(names)) + draw(st.sampled_from(SPECIFIERS))
    marker = draw(st.sampled_from(MARKERS))
    return text if marker is None else f"{text}; {marker}"


@st.composite
def forked_pair(draw: st.DrawFn, names: tuple[str, ...]) -> tuple[str, str]:
    """Two requirements on one package with different specifiers under complementary
    markers: the lock must fork (or pick a version both allow)."""
    name = draw(st.sampled_from(names))
    first, second = draw(st.lists(st.sampled_from(SPECIFIERS), min_size=2, max_size=2, unique=True))
    holds, fails = draw(st.sampled_from(MARKER_PAIRS))
    return f"{name}{first}; {holds}", f"{name}{second}; {fails}"


@st.composite
def dependencies(draw: st.DrawFn, names: tuple[str, ...]) -> tuple[str, ...]:
    """0-2 requirements, or (less often) a pair that makes the lock fork."""
    if not names:
        return ()
    if draw(st.integers(0, 3)) == 3:
        return draw(forked_pair(names))
    return tuple(draw(st.lists(requirements(names), max_size=2)))


@st.composite
def releases(draw: st.DrawFn, name: str, names: tuple[str, ...]) -> tuple[Release, ...]:
    """1-3 versions of ``name``, each requiring 0-2 of the other packages."""
    others = tuple(other for other in names if other != name)
    versions = sorted(draw(st.lists(st.sampled_from(VERSIONS), min_size=1, max_size=3, unique=True)), key=Version)
    return tuple(
        Release(version, draw(dependencies(others)), draw(st.sampled_from(REQUIRES_PYTHON)))
        for version in versions
    )


@st.composite
def graphs(draw: st.DrawFn) -> Graph:
    """A random small graph: 2-5 packages and a root requiring 1-2 of them (or a forked pair)."""
    names = NAMES[: draw(st.integers(2, len(NAMES)))]
    packages = {name: draw(releases(name, names)) for name in names}
    root = draw(forked_pair(names)) if draw(st.integers(0, 4)) == 4 else tuple(
        draw(st.lists(requirements(names), min_size=1, max_size=2)))
    return Graph(packages, root, draw(st.sampled_from(ROOT_REQUIRES_PYTHON)))


# -- serving and locking ---------------------------------------------------------------
def _scenario(graph: Graph) -> model.Scenario:
    """The graph as a scenario (wheels only), to be served by the scenario machinery."""
    packages = {
        canonicalize_name(name): [model.Release(r.version, list(r.requires), r.requires_python, sdist=False)
                                  for r in releases]
        for name, releases in graph.packages.items()
    }
    return model.Scenario("property", model.Root(list(graph.root)), model.Expected(True), packages)


@dataclass
class Example:
    """One graph served on a local index, with a project requiring its root at ``root``."""

    graph: Graph
    server: IndexServer
    root: Path
    cache: Path

    def workspace(self) -> Workspace:
        """The project, with settings naming only the index and the cache (no ``PYPM_*``
        variable or user config file of the machine running the tests is read)."""
        values = {"index-url": self.server.url, "cache-dir": str(self.cache)}
        return validate_workspace(find_workspace(self.root), Settings(values))

    @property
    def lock_path(self) -> Path:
        """The project's ``pylock.toml``."""
        return self.root / "pylock.toml"

    def lock(self, request: LockRequest | None = None) -> bytes:
        """Lock (in-process, as ``pypm lock`` does) and return the lock's bytes."""
        lock(self.workspace(), request)
        return self.lock_path.read_bytes()


@pytest.fixture(scope="module")
def workroot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder for the examples (each one makes and removes its own subfolder)."""
    return tmp_path_factory.mktemp("resolver-properties")


@contextmanager
def served(graph: Graph, workroot: Path) -> Iterator[Example]:
    """Serve ``graph`` from a fresh local index and write the project requiring its root."""
    workdir = Path(tempfile.mkdtemp(dir=workroot))
    try:
        with serve_scenario(_scenario(graph), workdir) as server:
            root = write_project(workdir / "project", list(graph.root), name=PROJECT,
                                 requires_python=graph.requires_python)
            yield Example(graph, server, root, workdir / "cache")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def lock_or_error(example: Example, request: LockRequest | None = None) -> bytes | ResolutionError:
    """The lock's bytes, or the resolution error pypm raised instead."""
    try:
        return example.lock(request)
    except ResolutionError as exc:
        return exc


# -- checking --------------------------------------------------------------------------
def selected(lock_path: Path, environment: dict[str, str]) -> dict[NormalizedName, Version]:
    """What ``packaging.pylock`` installs from the lock in ``environment`` (the project
    itself left out); a lock it refuses there (two versions of one name, a Requires-Python
    the environment does not meet) fails the test."""
    pylock = Pylock.from_dict(load_lock_data(lock_path))
    try:
        picked = list(pylock.select(environment=environment, tags=WHEEL_TAGS))  # type: ignore[arg-type]
    except PylockSelectError as exc:
        raise AssertionError(f"an installer cannot use the lock in {environment_label(environment)}: {exc}") from None
    chosen: dict[NormalizedName, Version] = {}
    for package, source in picked:
        if isinstance(source, PackageDirectory):
            assert package.name == PROJECT, f"unexpected directory package {package.name}"
            continue
        assert package.name not in chosen, f"{package.name} selected twice in {environment_label(environment)}"
        assert package.version is not None
        chosen[package.name] = package.version
    return chosen


def _show(selection: Selection) -> str:
    return ", ".join(f"{name} {version}" for name, version in sorted(selection.items())) or "nothing"


def check_lock(example: Example) -> None:
    """The lock is correct in every representative environment it serves (module docstring)."""
    graph = example.graph
    for environment in environments_for(graph.requires_python):
        chosen = selected(example.lock_path, environment)
        where = f"in {environment_label(environment)} the lock selects {_show(chosen)}"
        problems = violations(graph, chosen, environment)
        assert not problems, f"{where}: {'; '.join(problems)}"
        unneeded = sorted(set(chosen) - reachable(graph, chosen, environment))
        assert not unneeded, f"{where}: nothing there needs {', '.join(unneeded)}"


def check_unsatisfiable(graph: Graph, error: ResolutionError) -> None:
    """pypm's refusal is a conflict error, and some environment really has no solution."""
    assert is_unsatisfiable(error), f"not a resolution conflict: {error.one_line()}"
    solutions = {environment_label(env): find_solution(graph, env) for env in environments_for(graph.requires_python)}
    if all(solution is not None for solution in solutions.values()):
        found = "; ".join(f"{label}: {_show(solution or {})}" for label, solution in solutions.items())
        pytest.fail(f"pypm says unsatisfiable ({error.one_line()}), but every environment has a solution: {found}")


# -- failures the properties found (kept as explicit examples) ---------------------------
WIN, NOT_WIN = "sys_platform == 'win32'", "sys_platform != 'win32'"
#: b is reached only through a (not on win32) -> b (on win32): no environment needs it.
#: pypm locks b with no marker, so every environment installs it; uv 0.13.9 leaves such a
#: package out of the lock. (render_marker gives None, "always", for an empty set of
#: conditions.) The ci profile finds this one by itself.
UNREACHABLE_INSTALLED = Graph({"a": (Release("1.0", (f"b; {WIN}",)),), "b": (Release("1.0"),)}, (f"a; {NOT_WIN}",))
#: The same unreachable package breaking the lock: d (only via b -> c 3.0 on win32 -> d
#: not on win32) is locked with no marker, so Python 3.11 on linux installs d 1.0 beside
#: a 3.0 while d requires a==1.0. Right: no d (uv 0.13.9 locks a 3.0, b 1.0, c 2.0 on win32).
UNREACHABLE_REQUIREMENT_UNMET = Graph(
    {"a": (Release("1.0", requires_python=">=3.13"), Release("2.0"), Release("3.0")),
     "b": (Release("1.0", (f"c; {WIN}",)),), "c": (Release("1.0"), Release("2.0"), Release("3.0", (f"d; {NOT_WIN}",))),
     "d": (Release("1.0", ("a==1.0",)),)}, ("a", "b"))
#: d and, through d 2.0, a are unreachable; pypm locks a 1.0 (Requires-Python >=3.12),
#: d 1.0 and d 2.0 with no marker, so an installer on Python 3.11 must refuse the lock.
#: Right (and uv 0.13.9): b, and c on win32.
UNREACHABLE_WRONG_PYTHON = Graph(
    {"a": (Release("1.0", requires_python=">=3.12"), Release("2.0"), Release("3.0")),
     "b": (Release("1.0", (f"c; {WIN}",)),), "c": (Release("1.0", (f"d; {NOT_WIN}",)),),
     "d": (Release("1.0"), Release("2.0", ("a<2",)))}, ("b",))
#: As above with the root requiring a too: d 1.0 and d 2.0 are both locked with no marker,
#: and an installer finds two versions of d for every environment. Right (and uv 0.13.9):
#: a 3.0, b, and c on win32.
UNREACHABLE_TWICE = Graph(dict(UNREACHABLE_WRONG_PYTHON.packages), ("a", "b"))
#: d is unreachable, yet its requirement a<2 makes pypm say "no version of 'a' satisfies
#: all requirements ... in the fork where python_full_version < '3.12'"; every
#: environment has a solution (b, and c on win32). uv 0.13.9 says unsatisfiable too. pypm
#: now splits such a conflict by the markers on the paths to it (resolve.MAX_PATH_SPLIT).
UNREACHABLE_FALSE_CONFLICT = Graph(
    {"a": (Release("1.0", requires_python=">=3.12"), Release("2.0"), Release("3.0")),
     "b": (Release("1.0", (f"c; {WIN}",)),), "c": (Release("1.0", (f"d; {NOT_WIN}",)),),
     "d": (Release("1.0", ("a<2",)),)}, ("b",))

#: d 2.0 needs e, whose d<2 sends resolvelib back to d 1.0, leaving the b <-> c cycle behind;
#: resolvelib 1.2.1's _build_result then recurses around that cycle (_has_route_to_root has
#: no visited set) until RecursionError, which `pypm lock` reports as "error: input nested
#: too deeply to read". Right (and uv 0.13.9): d 1.0 alone.
STALE_CYCLE = Graph({"b": (Release("1.0", ("c",)),), "c": (Release("1.0", ("b",)),),
                     "d": (Release("1.0"), Release("2.0", ("b", "e"))), "e": (Release("1.0", ("d<2",)),)}, ("d",))

#: No marker at all: b 3.0 needs a c<3 that does not exist, b 2.0 needs a, which needs
#: b==3.0; b 1.0 is the answer (uv 0.13.9 locks it). pypm says "no version of 'c'
#: satisfies all requirements: b 3.0 requires c<3,>=2": resolvelib 1.2.1's backjumping
#: skips b 1.0 (a bare resolvelib provider for this index fails the same way once the
#: root is a package requiring b; upstream sarugaku/resolvelib#206 describes the flaw).
#: pypm now searches again by chronological backtracking (pypm/resolver/exhaustive.py).
BACKJUMP_SKIPS_SOLUTION = Graph({"a": (Release("1.0", ("b==3.0",)),),
                                 "b": (Release("1.0"), Release("2.0", ("a",)), Release("3.0", ("c>=2,<3",))),
                                 "c": (Release("3.0"),)}, ("b",))


# -- the properties --------------------------------------------------------------------
@PROFILE
@example(graph=STALE_CYCLE)
@example(graph=BACKJUMP_SKIPS_SOLUTION)
@example(graph=UNREACHABLE_FALSE_CONFLICT)
@example(graph=UNREACHABLE_INSTALLED)
@example(graph=UNREACHABLE_REQUIREMENT_UNMET)
@example(graph=UNREACHABLE_WRONG_PYTHON)
@example(graph=UNREACHABLE_TWICE)
@given(graph=graphs())
def test_lock_is_correct_or_truly_unsatisfiable(graph: Graph, workroot: Path) -> None:
    """A lock satisfies every constraint in every environment; a refusal is justified."""
    check_correct_or_truly_unsatisfiable(graph, workroot, event)


#: Graphs resolvelib alone gets wrong, with the answer pypm (and the brute-force oracle)
#: gives: each is also an @example of the property above.
FIXED_ANSWERS = {
    "backjump-skips-solution": (BACKJUMP_SKIPS_SOLUTION, {"b": "1.0"}, {"b": "1.0"}),
    "unreachable-false-conflict": (UNREACHABLE_FALSE_CONFLICT, {"b": "1.0"}, {"b": "1.0", "c": "1.0"}),
}


@pytest.mark.parametrize("name", sorted(FIXED_ANSWERS))
def test_graphs_resolvelib_alone_gets_wrong(name: str, workroot: Path) -> None:
    """The lock installs exactly the expected versions on linux and on win32."""
    graph, on_linux, on_windows = FIXED_ANSWERS[name]
    with served(graph, workroot) as example:
        outcome = lock_or_error(example)
        assert not isinstance(outcome, ResolutionError), outcome.one_line()
        for platform, expected in (("linux", on_linux), ("win32", on_windows)):
            for environment in environments_for(graph.requires_python):
                if environment["sys_platform"] == platform:
                    chosen = selected(example.lock_path, environment)
                    found = {str(name): str(version) for name, version in chosen.items()}
                    assert found == expected, (environment_label(environment), outcome.decode())


def check_correct_or_truly_unsatisfiable(graph: Graph, workroot: Path,
                                         record: Callable[[str], object] = lambda text: None) -> None:
    """The property: lock ``graph``; a lock must be correct everywhere, a refusal justified
    (``record``: hypothesis's ``event``, inside a hypothesis test)."""
    with served(graph, workroot) as example:
        outcome = lock_or_error(example)
        context = f"graph:\n{graph.describe()}"
        if isinstance(outcome, ResolutionError):
            record("unsatisfiable")
            with _explained(context):
                check_unsatisfiable(graph, outcome)
        else:
            record("locked with forks" if b"fork-markers" in outcome else "locked without forks")
            with _explained(f"{context}\nlock:\n{outcome.decode()}"):
                check_lock(example)


#: A fresh lock forks four ways and, since the (3.13, win32) fork is solved first with d
#: 2.0, the (3.13, not win32) fork keeps d 2.0 too (a later fork prefers an earlier one's
#: versions). Re-locking with that lock present (``--refresh``) preferred "d 2.0 or 3.0" in
#: every fork, and each fork took the newest it could use: d 3.0 on 3.13 off win32, so the
#: lock changed. Now each fork prefers the versions locked where it is (their entries'
#: markers), and the lock stays the same bytes.
RELOCK_CHANGES_FORK_CHOICE = Graph(
    {"b": (Release("2.0", ("d",)), Release("3.0", ("d==2.0; python_version >= '3.13'",))),
     "c": (Release("1.0", (f"b!=2.0; {WIN}", f"b>=2,<3; {NOT_WIN}")),),
     "d": (Release("2.0", requires_python=">=3.13"), Release("3.0"))}, ("c",), ">=3.12")


@PROFILE
@example(graph=RELOCK_CHANGES_FORK_CHOICE)
@given(graph=graphs())
def test_locking_twice_gives_identical_locks(graph: Graph, workroot: Path) -> None:
    """Lock, delete and lock again, re-lock with the lock present: the same bytes each time."""
    check_locking_twice(graph, workroot)


def check_locking_twice(graph: Graph, workroot: Path) -> None:
    """The property: the same bytes from a fresh lock, a lock after deleting it, a forced re-lock."""
    with served(graph, workroot) as example, _explained(f"graph:\n{graph.describe()}"):
        first = lock_or_error(example)
        if isinstance(first, ResolutionError):
            again = lock_or_error(example)
            assert isinstance(again, ResolutionError) and again.one_line() == first.one_line()
            assert not example.lock_path.exists()
            return
        example.lock_path.unlink()
        assert example.lock() == first, "locking again after deleting the lock changed it"
        assert example.lock(LockRequest(refresh=True)) == first, "re-locking with the lock present changed it"


@contextmanager
def _explained(context: str) -> Iterator[None]:
    """Add ``context`` (the graph, the lock) to an assertion failing inside."""
    try:
        yield
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{context}") from None


# -- the in-process lock is the CLI's ---------------------------------------------------
FORKING = Graph({"a": (Release("1.0", ("b>=2; sys_platform == 'win32'", "b<2; sys_platform != 'win32'")),),
                 "b": (Release("1.0"), Release("2.0"))}, ("a",))
CONFLICT = Graph({"a": (Release("1.0", ("b>=2",)),), "b": (Release("1.0"),)}, ("a",))


@pytest.mark.parametrize("graph", [FORKING, CONFLICT], ids=["forking", "conflict"])
def test_cli_lock_is_the_in_process_lock(graph: Graph, workroot: Path, run_pypm) -> None:
    """``pypm lock`` writes the bytes the in-process lock writes, or fails with its error
    (one line, exit status 1)."""
    with served(graph, workroot) as example:
        outcome = lock_or_error(example)
        example.lock_path.unlink(missing_ok=True)
        proc = run_pypm("lock", cwd=example.root, env_extra={"PYPM_INDEX_URL": example.server.url}, check=False)
        if isinstance(outcome, ResolutionError):
            assert graph is CONFLICT
            assert proc.returncode == 1
            assert proc.stderr.strip() == f"error: {outcome.one_line()}"
            assert not example.lock_path.exists()
        else:
            assert graph is FORKING, outcome.decode()
            assert proc.returncode == 0, proc.stderr
            assert example.lock_path.read_bytes() == outcome


# -- the oracle itself --------------------------------------------------------------------
def test_oracle_judges_small_graphs() -> None:
    """The brute force finds the one solution pypm misses, sees a true conflict, follows
    markers per environment and reports what a wrong selection breaks."""
    linux, windows = (env for env in environments_for(">=3.13"))
    assert find_solution(BACKJUMP_SKIPS_SOLUTION, linux) == {"b": Version("1.0")}
    assert find_solution(CONFLICT, linux) is None
    assert find_solution(FORKING, linux) == {"a": Version("1.0"), "b": Version("1.0")}
    assert find_solution(FORKING, windows) == {"a": Version("1.0"), "b": Version("2.0")}
    wrong = {canonicalize_name("a"): Version("1.0"), canonicalize_name("b"): Version("1.0")}
    assert violations(FORKING, wrong, windows) == ['a 1.0 requires b>=2; sys_platform == "win32", which is not met']
    assert violations(UNREACHABLE_WRONG_PYTHON, {canonicalize_name("a"): Version("1.0")}, linux) == [
        "root requirement b is not met"]
    assert reachable(UNREACHABLE_INSTALLED, wrong, linux) == {"a"}
