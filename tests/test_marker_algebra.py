"""Marker algebra for universal locks: what can hold, what always holds and what a locked
package's marker says are decided over every environment the lock serves (requires-python,
the ``environments`` limits, the fork), not over the sampled CPython environments."""

from __future__ import annotations

import functools
import itertools
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.specifiers import SpecifierSet

from pypm.resolver.environments import target_environment, universal_environments
from pypm.resolver.forks import negate, split_environments
from pypm.resolver.marker_algebra import conjunction_text
from pypm.resolver.markers import Condition, EnvironmentSpace, render_marker, strip_extra

ROOT = Path(__file__).resolve().parent.parent
FREEBSD = {"sys_platform": "freebsd14", "platform_system": "FreeBSD", "os_name": "posix", "platform_machine": "amd64"}
CYGWIN = {"sys_platform": "cygwin", "platform_system": "CYGWIN_NT-10.0", "os_name": "posix",
          "platform_machine": "x86_64"}


def environment(python: str = "3.12.4", implementation: str = "cpython", release: str = "6.8.0", **platform: str):
    """A complete marker environment, by default CPython 3.12.4 on Linux x86_64."""
    base = {"sys_platform": "linux", "platform_system": "Linux", "os_name": "posix", "platform_machine": "x86_64"}
    return {
        **base, **platform, "python_version": ".".join(python.split(".")[:2]), "python_full_version": python,
        "implementation_name": implementation, "implementation_version": python, "platform_release": release,
        "platform_python_implementation": {"cpython": "CPython", "pypy": "PyPy"}[implementation],
        "platform_version": "#1 SMP", "extra": "",
    }


#: Environments the samples leave out: other platforms, PyPy, patch releases, kernel releases.
UNSAMPLED = [
    environment(**FREEBSD), environment(**CYGWIN), environment(implementation="pypy"),
    environment("3.10.7", release="5.4.0"), environment("3.13.1", sys_platform="win32", platform_system="Windows",
                                                        os_name="nt", platform_machine="ARM64", release="11"),
]


@pytest.fixture(scope="module")
def space() -> EnvironmentSpace:
    """The space of a lock with requires-python >=3.10 and no environment limits."""
    return EnvironmentSpace(universal_environments(SpecifierSet(">=3.10"), []))


def extend(space: EnvironmentSpace, marker: str, *atoms: str) -> Condition | None:
    return Condition(atoms=frozenset(str(Marker(a)) for a in atoms)).extend(space, Marker(marker))


# -- possible -------------------------------------------------------------------------------

@pytest.mark.parametrize("marker", [
    "sys_platform == 'freebsd'",
    "platform_python_implementation == 'PyPy'",
    "implementation_name == 'pypy' and python_version >= '3.11'",
    "platform_release >= '6'",
    "python_full_version == '3.12.5'",  # samples are x.y.0
    "sys_platform == 'cygwin' and platform_machine == 'x86_64'",
    "os_name == 'posix' and platform_system == 'FreeBSD'",
])
def test_markers_no_sample_satisfies_are_possible(space: EnvironmentSpace, marker: str) -> None:
    assert space.mask(Marker(marker)) == 0, "the point: no sampled environment satisfies it"
    assert space.possible(Marker(marker))


@pytest.mark.parametrize("marker", [
    "python_version < '3.10'",  # requires-python
    "sys_platform == 'linux' and sys_platform == 'win32'",
    "platform_system == 'Windows' and sys_platform == 'linux'",  # the same platform, two names
    "os_name == 'nt' and sys_platform == 'darwin'",
    "os_name == 'posix' and platform_system == 'Windows'",
    "sys_platform == 'linux' and os_name != 'posix'",
    "(sys_platform == 'darwin' or sys_platform == 'freebsd13') and os_name == 'nt'",
    "implementation_name == 'pypy' and platform_python_implementation == 'CPython'",
    "python_full_version < '3.10' or (python_version >= '3.12' and python_version < '3.11')",
])
def test_contradictions_are_impossible(space: EnvironmentSpace, marker: str) -> None:
    assert not space.possible(Marker(marker))


def test_possible_follows_the_active_extra(space: EnvironmentSpace) -> None:
    marker = Marker("extra == 'bsd' and sys_platform == 'freebsd'")
    assert space.possible(marker, "bsd")
    assert not space.possible(marker, "other") and not space.possible(marker)


def test_environment_limits_bound_what_is_possible() -> None:
    linux = EnvironmentSpace(universal_environments(SpecifierSet(">=3.10"), ["sys_platform == 'linux'"]))
    assert not linux.possible(Marker("sys_platform == 'freebsd'"))
    assert linux.possible(Marker("platform_python_implementation == 'PyPy'"))
    assert extend(linux, "sys_platform == 'linux'") == Condition(), "true wherever the lock is used"


def test_a_fork_only_serves_its_own_part() -> None:
    samples = universal_environments(SpecifierSet(">=3.10"), [])
    outside_windows = EnvironmentSpace([e for e in samples if e["sys_platform"] != "win32"],
                                       within=['sys_platform != "win32"'])
    assert not outside_windows.possible(Marker("platform_system == 'Windows'"))
    assert outside_windows.possible(Marker("sys_platform == 'freebsd'"))
    assert extend(outside_windows, "os_name == 'nt'") is None
    assert extend(outside_windows, "sys_platform != 'win32'") == Condition()


def test_explicit_requires_python_and_limits() -> None:
    plain = [dict(env) for env in universal_environments(SpecifierSet(">=3.12"), ["os_name == 'posix'"])]
    assert not EnvironmentSpace(plain).possible(Marker("sys_platform == 'freebsd'")), "plain samples: samples only"
    universal = EnvironmentSpace(plain, requires_python=">=3.12", limits=["os_name == 'posix'"])
    assert universal.possible(Marker("sys_platform == 'freebsd'"))
    assert not universal.possible(Marker("python_version == '3.11'"))
    assert not universal.possible(Marker("sys_platform == 'win32'"))


def test_a_platform_specific_resolution_decides_on_its_one_environment() -> None:
    target = EnvironmentSpace(target_environment("3.12", "linux"))
    assert target.possible(Marker("sys_platform == 'linux'"))
    assert not target.possible(Marker("sys_platform == 'freebsd'"))
    assert extend(target, "sys_platform != 'cygwin'") == Condition()


@pytest.mark.parametrize("marker", [
    "python_full_version === '3.12.0'",
    "platform_release == '5.15.0-1051-azure'",
    "platform_version >= '#1 SMP' and sys_platform == 'freebsd'",
])
def test_markers_the_algebra_cannot_represent_are_kept(space: EnvironmentSpace, marker: str) -> None:
    assert space.possible(Marker(marker))
    condition = extend(space, marker)
    assert condition is not None and condition.atoms == {str(Marker(marker))}
    rendered = render_marker({condition}, space)
    assert rendered is not None and Marker(rendered) == Marker(marker)


# -- Condition.extend ------------------------------------------------------------------------

@pytest.mark.parametrize("marker", [
    "sys_platform != 'cygwin'", "sys_platform == 'freebsd'", "platform_python_implementation == 'PyPy'",
    "implementation_name != 'cpython'", "platform_release >= '6'", "python_full_version >= '3.10.1'",
])
def test_extend_keeps_markers_the_samples_cannot_judge(space: EnvironmentSpace, marker: str) -> None:
    assert extend(space, marker) == Condition(atoms=frozenset({str(Marker(marker))}))


def test_extend_drops_what_requires_python_guarantees(space: EnvironmentSpace) -> None:
    assert extend(space, "python_version >= '3.8'") == Condition()
    assert extend(space, "python_full_version >= '3.10.0' or sys_platform == 'freebsd'") == Condition()


def test_extend_drops_what_the_path_implies_and_stops_at_contradictions(space: EnvironmentSpace) -> None:
    windows = Condition(atoms=frozenset({'sys_platform == "win32"'}))
    assert extend(space, "platform_system == 'Windows'", "sys_platform == 'win32'") == windows
    assert extend(space, "os_name == 'nt'", "sys_platform == 'win32'") == windows
    assert extend(space, "python_version >= '3.11'", "python_version >= '3.12'").atoms == {'python_version >= "3.12"'}
    assert extend(space, "sys_platform == 'linux'", "sys_platform == 'freebsd'") is None
    assert extend(space, "python_version < '3.10'") is None
    assert extend(space, "platform_python_implementation == 'CPython'", "implementation_name == 'pypy'") is None


# -- render_marker -----------------------------------------------------------------------------

def conditions(*paths: tuple[str, ...] | str) -> set[Condition]:
    """Conditions from paths: a string is one atom; in a tuple, quoted names are features."""
    found = set()
    for path in paths:
        parts = (path,) if isinstance(path, str) else path
        features = frozenset(p for p in parts if p.startswith("'"))
        found.add(Condition(features, frozenset(str(Marker(p)) for p in parts if not p.startswith("'"))))
    return found


@pytest.mark.parametrize(("paths", "expected"), [
    ([("python_version >= '3.9'", "sys_platform == 'linux'")], "sys_platform == 'linux'"),
    ([("python_version < '3.11'", "sys_platform == 'linux'"), ("python_version >= '3.11'", "sys_platform == 'linux'")],
     "sys_platform == 'linux'"),
    (["sys_platform == 'linux'", "sys_platform != 'linux'"], None),
    (["sys_platform != 'win32'", "platform_system == 'Windows'"], None),
    (["sys_platform != 'cygwin'"], "sys_platform != 'cygwin'"),
    (["sys_platform == 'freebsd'", "platform_python_implementation == 'PyPy'"],
     "platform_python_implementation == 'PyPy' or sys_platform == 'freebsd'"),
    ([("python_version < '3.11'",)], "python_version < '3.11'"),
    ([("'dev' in dependency_groups",)], "'dev' in dependency_groups"),
    ([("'cli' in extras", "sys_platform == 'win32'")], "'cli' in extras and sys_platform == 'win32'"),
    ([("'cli' in extras",), "sys_platform == 'win32'"], "'cli' in extras or sys_platform == 'win32'"),
    ([("'dev' in dependency_groups", "sys_platform == 'linux'", "python_version < '3.11'"), "sys_platform == 'linux'"],
     "sys_platform == 'linux'"),
    ([("'dev' in dependency_groups", "sys_platform != 'linux'"), "sys_platform == 'linux'"],
     "'dev' in dependency_groups or sys_platform == 'linux'"),
    ([("'dev' in dependency_groups", "sys_platform == 'linux' or sys_platform == 'darwin'")],
     "'dev' in dependency_groups and (sys_platform == 'darwin' or sys_platform == 'linux')"),
    ([("python_version < '3.11'", "sys_platform == 'linux'"), "sys_platform == 'win32'"],
     "(python_version < '3.11' and sys_platform == 'linux') or sys_platform == 'win32'"),
    # adjacent Python forks merge into one range
    ([("python_full_version < '3.12'", "python_full_version >= '3.11'"), "python_full_version >= '3.12'"],
     "python_full_version >= '3.11'"),
    ([("python_full_version < '3.11'", "python_full_version < '3.12'")], "python_full_version < '3.11'"),
])
def test_render_marker(space: EnvironmentSpace, paths: list, expected: str | None) -> None:
    assert render_marker(conditions(*paths), space) == expected


@pytest.mark.parametrize(("atoms", "expected"), [
    (["python_full_version < '3.11'", "python_full_version < '3.12'"], "python_full_version < '3.11'"),
    (["python_full_version >= '3.11'", "python_full_version < '3.12'"],
     "python_full_version < '3.12' and python_full_version >= '3.11'"),
    (["sys_platform == 'linux'", "sys_platform == 'linux' or sys_platform == 'darwin'"], "sys_platform == 'linux'"),
])
def test_fork_markers_are_simplified(atoms: list[str], expected: str) -> None:
    assert conjunction_text(atoms) == expected


def evaluate(marker: str | None, env: dict[str, str], extras: set[str], groups: set[str]) -> bool:
    if marker is None:
        return True
    return parsed(marker).evaluate({**env, "extras": extras, "dependency_groups": groups}, context="lock_file")


@functools.cache
def parsed(marker: str) -> Marker:
    return Marker(marker)


ATOMS = ["sys_platform == 'linux'", "sys_platform != 'win32'", "python_version < '3.12'",
         "platform_python_implementation == 'PyPy'", "sys_platform == 'freebsd'", "platform_machine == 'x86_64'",
         "python_full_version >= '3.13.1'", "os_name == 'nt'", "'dev' in dependency_groups", "'cli' in extras"]


def test_render_marker_means_the_or_of_its_conditions(space: EnvironmentSpace) -> None:
    """On every sample and every environment the samples leave out, with any features
    active, the rendered marker holds exactly where one of the conditions does."""
    envs = [*space.environments, *UNSAMPLED]
    feature_sets = [(set(), set()), ({"cli"}, set()), (set(), {"dev"}), ({"cli"}, {"dev"})]
    paths = [combo for size in (1, 2) for combo in itertools.combinations(ATOMS, size)]
    for first, second, third in itertools.islice(itertools.combinations(paths, 3), 0, None, 97):
        given = conditions(first, second, third)
        rendered = render_marker(given, space)
        for env, (extras, groups) in itertools.product(envs, feature_sets):
            expected = any(all(evaluate(term, env, extras, groups) for term in c.render()) for c in given)
            assert evaluate(rendered, env, extras, groups) == expected, (given, rendered, env, extras, groups)


def test_render_marker_is_the_same_in_every_process() -> None:
    """Set ordering inside dep-logic varies with the hash seed; the text must not."""
    script = textwrap.dedent("""
        from packaging.specifiers import SpecifierSet
        from pypm.resolver.environments import universal_environments
        from pypm.resolver.markers import Condition, EnvironmentSpace, render_marker
        space = EnvironmentSpace(universal_environments(SpecifierSet(">=3.10"), []))
        atoms = [('sys_platform == "linux"', 'python_version < "3.12"', 'platform_machine == "x86_64"'),
                 ('sys_platform == "linux"', 'python_version >= "3.12"', 'platform_machine != "x86_64"'),
                 ('sys_platform == "darwin"', 'platform_machine == "arm64"'), ('sys_platform == "freebsd"',),
                 ('platform_python_implementation == "PyPy"', 'sys_platform != "win32"')]
        print(render_marker({Condition(atoms=frozenset(a)) for a in atoms}, space))
    """)
    outputs = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True,
                       env={"PYTHONHASHSEED": str(seed), "PATH": ""}).stdout
        for seed in range(4)
    }
    assert len(outputs) == 1 and "freebsd" in outputs.pop()


# -- negate and strip_extra --------------------------------------------------------------------

@pytest.mark.parametrize("marker", [
    "sys_platform == 'linux'", "python_version >= '3.11' and sys_platform != 'win32'",
    "python_full_version >= '3.9' and python_full_version < '3.13'", "python_version ~= '3.11'",
    "platform_python_implementation == 'PyPy' or implementation_name == 'cpython'", "platform_release >= '6'",
    "sys_platform == 'linux' and (platform_machine == 'x86_64' or platform_machine == 'aarch64')",
    "'linux' == sys_platform", "sys_platform in 'linux darwin'",
])
def test_negate_holds_exactly_where_the_marker_does_not(space: EnvironmentSpace, marker: str) -> None:
    negated = negate(Marker(marker))
    assert negated is not None and "'" not in negated, "written as packaging writes markers"
    for env in [*({**env, "platform_release": "6.8.0"} for env in space.environments), *UNSAMPLED]:
        assert Marker(negated).evaluate(env) != Marker(marker).evaluate(env), env


def test_negate_gives_up_on_what_has_no_complement() -> None:
    assert negate(Marker("python_full_version === '3.12.0'")) is None


def test_forks_split_by_a_marker_and_its_negation() -> None:
    samples = universal_environments(SpecifierSet(">=3.10"), [])
    forks = split_environments([Marker("sys_platform == 'linux' and python_version < '3.12'")], samples)
    assert forks is not None
    assert sorted(atoms for _, atoms in forks) == [
        frozenset({'sys_platform == "linux" and python_version < "3.12"'}),
        frozenset({'python_version >= "3.12" or sys_platform != "linux"'}),
    ]


def fork_table(forks) -> dict[frozenset[str], set[tuple[str, ...]]]:
    """Each fork's atoms -> the (sys_platform, platform_system, os_name, implementation,
    python) of its environments, after checking every environment satisfies the atoms."""
    table = {}
    for envs, atoms in forks:
        for env in envs:
            assert all(Marker(atom).evaluate({**env, "extra": ""}) for atom in atoms), (atoms, env)
        table[atoms] = {(e["sys_platform"], e["platform_system"], e["os_name"], e["implementation_name"],
                         e["python_full_version"]) for e in envs}
    return table


def test_a_split_no_sample_can_make_is_made_for_environments_satisfying_it() -> None:
    """uv's "remaining universe": two platforms no sample is, and everything else."""
    samples = universal_environments(SpecifierSet(">=3.13"), [])
    markers = [Marker("sys_platform == 'illumos'"), Marker("sys_platform == 'windows'")]
    assert split_environments(markers, samples) is None, "without the fork's atoms: only what the samples split"
    forks = fork_table(split_environments(markers, samples, within=frozenset()))
    assert forks[frozenset({'sys_platform == "illumos"', 'sys_platform != "windows"'})] == {
        ("illumos", "Illumos", "posix", "cpython", "3.13.0"), ("illumos", "Illumos", "posix", "cpython", "3.14.0"),
        ("illumos", "Illumos", "posix", "cpython", "3.15.0")}
    assert {e[0] for e in forks[frozenset({'sys_platform != "illumos"', 'sys_platform == "windows"'})]} == {"windows"}
    rest = forks[frozenset({'sys_platform != "illumos"', 'sys_platform != "windows"'})]
    assert {e[0] for e in rest} == {"linux", "darwin", "win32"}, "the samples themselves"
    assert len(forks) == 3


def test_a_made_split_stays_inside_its_fork() -> None:
    samples = [e for e in universal_environments(SpecifierSet(">=3.12"), []) if e["sys_platform"] == "darwin"]
    darwin = frozenset({'sys_platform == "darwin"'})
    implementations = [Marker("implementation_name == 'pypy'"), Marker("implementation_name == 'cpython'")]
    forks = fork_table(split_environments(implementations, samples, within=darwin))
    assert {e[:4] for e in forks[frozenset({'implementation_name == "pypy"', 'implementation_name != "cpython"'})]} == {
        ("darwin", "Darwin", "posix", "pypy")}
    assert {e[3] for e in forks[frozenset({'implementation_name != "pypy"', 'implementation_name != "cpython"'})]} == {
        "other"}
    assert len(forks) == 3
    assert split_environments([Marker("sys_platform == 'linux'")], samples, within=darwin) is None, "no Linux here"


def test_a_made_split_by_patch_release_keeps_the_python_variables_together() -> None:
    samples = universal_environments(SpecifierSet(">=3.13"), [])  # 3.13.0, 3.14.0, 3.15.0
    forks = split_environments([Marker("python_full_version >= '3.15.2'")], samples, within=frozenset())
    table = fork_table(forks)
    assert {e[4] for e in table[frozenset({'python_full_version < "3.15.2"'})]} == {"3.13.0", "3.14.0", "3.15.0"}
    (made,) = [envs for envs, atoms in forks if atoms == {'python_full_version >= "3.15.2"'}]
    assert len(made) == 5, "one per sampled platform"
    pythons = {(e["python_full_version"], e["python_version"], e["implementation_version"]) for e in made}
    assert pythons == {("3.15.2", "3.15", "3.15.2")}
    assert all(e.region == samples[0].region for e in made), "made environments know the region they belong to"


@pytest.mark.parametrize(("marker", "expected"), [
    ("extra == 'a' and sys_platform == 'linux'", 'sys_platform == "linux"'),
    ("(extra == 'a' or extra == 'b') and platform_python_implementation == 'PyPy'",
     'platform_python_implementation == "PyPy"'),
    ("extra == 'a' or sys_platform == 'linux'", None),  # taken as true: the edge serves extra a everywhere
    ("extra == 'a'", None),
])
def test_strip_extra_takes_extra_clauses_as_true(marker: str, expected: str | None) -> None:
    stripped = strip_extra(Marker(marker))
    assert (None if stripped is None else str(stripped)) == expected


def test_strip_extra_leaves_markers_without_extras_alone() -> None:
    marker = Marker("sys_platform == 'freebsd'")
    assert strip_extra(marker) is marker and strip_extra(None) is None


def test_marker_text_is_formatted_once_per_marker(space: EnvironmentSpace) -> None:
    """The space formats each marker object once and answers by identity: an equal but
    distinct marker, and a marker made after the first is gone, get their own text."""
    first = Marker("sys_platform == 'linux' and python_version >= '3.11'")
    assert space.text(first) == str(first)
    assert space.text(first) is space.text(first)
    other = Marker("sys_platform=='win32'")
    assert space.text(other) == "sys_platform == \"win32\""
    for text in ("os_name == 'nt'", "extra == 'x'", "python_version < '3.12'"):  # ids may be reused
        marker = Marker(text)
        assert space.text(marker) == str(marker)
        del marker


def test_merge_renders_each_distinct_set_of_conditions_once(space: EnvironmentSpace, monkeypatch) -> None:
    """Forked resolutions give most packages the same conditions: ``_merge`` decides each
    distinct set (and each condition's possibility) once, with the markers it gave before."""
    from packaging.version import Version

    from pypm.resolver import resolve

    forks = [frozenset({"sys_platform == 'win32'"}), frozenset({"sys_platform != 'win32'"})]
    names = [f"pkg{index}" for index in range(6)]
    solved = []
    for atoms in forks:
        packages = {name: resolve.LockedPackage(name, Version("1.0")) for name in names}
        conditions = {name: {Condition()} for name in names[:4]}  # everywhere in this fork
        conditions.update({name: {Condition(atoms=frozenset({"python_version < '3.12'"}))} for name in names[4:]})
        solved.append((resolve._Solved(packages, conditions), atoms))
    rendered: list[frozenset[Condition]] = []
    checked: list[Condition] = []
    real_render, real_hold = resolve.render_marker, resolve.can_hold
    monkeypatch.setattr(resolve, "render_marker", lambda found, space: rendered.append(frozenset(found))
                        or real_render(found, space))
    monkeypatch.setattr(resolve, "can_hold", lambda condition, space: checked.append(condition)
                        or real_hold(condition, space))
    entries, _ = resolve._merge(solved, space)
    assert len(rendered) == len(set(rendered)) == 2
    assert len(checked) == len(set(checked)) == 4
    markers = {entry.name: entry.marker for entry in entries}
    assert markers["pkg0"] is None and markers["pkg3"] is None
    assert markers["pkg4"] == markers["pkg5"] == real_render(
        {Condition(atoms=frozenset({"python_version < '3.12'"}) | fork) for fork in forks}, space)
