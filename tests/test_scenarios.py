"""Scenario conformance: the shared resolver scenarios, plus the scenario parser and runner."""

from __future__ import annotations

import io
import textwrap
from pathlib import Path

import pytest
from packaging.utils import NormalizedName
from packaging.version import Version

from pypm.errors import ResolutionError
from pypm.resolver.resolve import LockedPackage, Resolution
from pypm.scenarios.__main__ import main
from pypm.scenarios.index import YANK_REASON, build_files
from pypm.scenarios.model import ScenarioError, load_scenario, parse_scenario
from pypm.scenarios.runner import (
    Outcome,
    check,
    discover,
    environments_for,
    is_unsatisfiable,
    options_for,
    run_scenario,
)

SCENARIO_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "resolver-scenarios"

# Scenarios of the `fork` folder that pypm does not pass today, with the reason. A
# listed scenario that starts passing fails its test, so this list stays honest.
KNOWN_FORK_FAILURES: dict[str, str] = {
    "preferences-dependent-forking-conflicting": "pypm forks on the conflict and finds a valid lock (linux: "
    "cleaver 1, foo 1, bar 2; elsewhere: cleaver 1, foo 2, bar 1); uv 0.13.9 locks the scenario to exactly "
    "these versions and fork markers too (its index served locally, `uv lock`), so the expected failure "
    "describes an older uv whose lock-file preferences drove the fork order",
}


def _shared_scenarios() -> list[object]:
    # No silent skip: without the shared scenarios the conformance suite fails (CI runs with
    # ../shared beside the checkout).
    if not SCENARIO_DIR.is_dir():
        return [pytest.param(None, id="shared-scenarios-absent")]
    return [pytest.param(path, id=f"{path.parent.name}/{path.stem}") for path in discover([SCENARIO_DIR])]


@pytest.mark.parametrize("path", _shared_scenarios())
def test_shared_scenario(path: Path) -> None:
    """Every non-fork scenario passes; fork scenarios pass unless listed as known failures."""
    assert path is not None, f"shared scenario folder {SCENARIO_DIR} is absent: put ../shared beside the checkout"
    outcome = run_scenario(path)
    known = KNOWN_FORK_FAILURES.get(path.stem) if path.parent.name == "fork" else None
    _judge(outcome, known, "KNOWN_FORK_FAILURES", "known fork failure")


def _judge(outcome: Outcome, known: str | None, listed_in: str, kind: str) -> None:
    """Pass a scenario that passes; xfail a known failure; fail a known failure that passes
    now (so the list of known failures stays honest)."""
    if known is None:
        assert outcome.passed, outcome.line()
    elif outcome.passed:
        pytest.fail(f"{outcome.label} passes now: remove it from {listed_in}")
    else:
        pytest.xfail(f"{kind} ({known}): {outcome.reason}")


def test_known_fork_failures_exist() -> None:
    """Every name in KNOWN_FORK_FAILURES is a scenario file of the fork folder."""
    present = {path.stem for path in discover([SCENARIO_DIR / "fork"])}
    assert sorted(set(KNOWN_FORK_FAILURES) - present) == []


# -- pypm's own scenarios (tests/scenarios/**, same format) -----------------------------
OWN_SCENARIO_DIR = Path(__file__).resolve().parent / "scenarios"

# Own scenarios pypm does not pass today, by folder/name, with the reason. A listed
# scenario that starts passing fails its test, so this list stays honest.
KNOWN_OWN_FAILURES: dict[str, str] = {}


def _own_scenarios() -> list[object]:
    return [pytest.param(path, id=f"own/{path.parent.name}/{path.stem}") for path in discover([OWN_SCENARIO_DIR])]


@pytest.mark.parametrize("path", _own_scenarios())
def test_own_scenario(path: Path) -> None:
    """Every scenario under tests/scenarios passes unless listed in KNOWN_OWN_FAILURES."""
    outcome = run_scenario(path)
    _judge(outcome, KNOWN_OWN_FAILURES.get(outcome.label), "KNOWN_OWN_FAILURES", "known failure")


def test_own_scenarios_are_explained_and_known_failures_exist() -> None:
    """Each own scenario says why its answer is right; each known failure names a real file."""
    paths = discover([OWN_SCENARIO_DIR])
    assert {path.parent.name for path in paths} >= {"abi", "yanked"}
    unexplained = [path.name for path in paths if not load_scenario(path).expected.explanation]
    assert unexplained == []
    labels = {f"{path.parent.name}/{path.stem}" for path in paths}
    assert sorted(set(KNOWN_OWN_FAILURES) - labels) == []


# -- parser ---------------------------------------------------------------------------
MINIMAL = """
name = "minimal"
[root]
requires = ["a"]
[expected]
satisfiable = true
[packages.a.versions."1.0.0"]
"""


def _scenario_text(extra: str = "", base: str = MINIMAL) -> str:
    return textwrap.dedent(base) + textwrap.dedent(extra)


def test_parse_minimal_defaults() -> None:
    scenario = parse_scenario(_scenario_text())
    assert scenario.name == "minimal"
    assert scenario.root.requires == ["a"] and scenario.root.requires_python is None
    (release,) = scenario.packages["a"]
    assert (release.version, release.sdist, release.wheel, release.yanked) == ("1.0.0", True, True, False)
    assert release.wheel_tags == [] and release.requires == [] and release.extras == {}
    assert not scenario.options.universal and scenario.options.prereleases == "if-necessary-or-explicit"
    assert scenario.expected.satisfiable and scenario.expected.packages == {}
    assert scenario.label == "minimal"


def test_parse_full_scenario() -> None:
    text = """
    name = "full"
    description = "all keys"
    [root]
    requires = ["My_Pkg[x]>=1; sys_platform == 'linux'"]
    requires_python = ">=3.10"
    [packages.My_Pkg.versions]
    "1.0.0" = { requires = ["b"], yanked = true, extras = { x = ["c"] } }
    "2.0.0a1" = { sdist = false, wheel_tags = ["cp312-cp312-win_amd64"], requires_python = ">=3.12" }
    [resolver_options]
    universal = true
    prereleases = true
    no_build = ["My_Pkg"]
    required_environments = ["sys_platform == 'linux'"]
    [environment]
    python = "3.9"
    additional_python = ["3.11"]
    [expected]
    satisfiable = true
    explanation = "why"
    [expected.packages]
    My_Pkg = "1.0.0"
    """
    scenario = parse_scenario(textwrap.dedent(text), Path("/x/topic/full-case.toml"))
    assert scenario.label == "topic/full-case"
    first, second = scenario.packages["my-pkg"]
    assert first.yanked and first.extras == {"x": ["c"]} and first.requires == ["b"]
    assert not second.sdist and second.wheel_tags == ["cp312-cp312-win_amd64"] and second.requires_python == ">=3.12"
    assert scenario.options.prereleases == "allow" and scenario.options.universal
    assert scenario.environment.python == "3.9" and scenario.environment.additional_python == ["3.11"]
    assert scenario.expected.packages == {"my-pkg": "1.0.0"} and scenario.expected.explanation == "why"
    assert options_for(scenario).no_build == frozenset({"my-pkg"})


def test_unknown_top_level_keys_are_kept_not_fatal() -> None:
    scenario = parse_scenario('template = "simple"\n' + MINIMAL)
    assert scenario.extra == {"template": "simple"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_scenario_text("[resolver_options]\nfrobnicate = true\n"), "resolver_options: unknown key(s) frobnicate"),
        (_scenario_text('[packages.b.versions."1.0.0"]\nwheels = false\n'), "unknown key(s) wheels"),
        (_scenario_text("[environment]\npythn = '3.9'\n"), "environment: unknown key(s) pythn"),
        (_scenario_text('[packages.b.versions."1.0.0"]\nrequires = ["b >>> 1"]\n'), "invalid requirement"),
        (_scenario_text('[packages.b.versions."one"]\n'), "invalid version 'one'"),
        (_scenario_text('[packages.b.versions."1.0"]\nrequires_python = "3.8+"\n'), "invalid version specifier"),
        (_scenario_text("[resolver_options]\nprereleases = 'sometimes'\n"), "resolver_options.prereleases"),
        (_scenario_text("[resolver_options]\nuniversal = 'yes'\n"), "expected true or false"),
        ('[root]\nrequires = ["a"]\n', "[expected] table is required"),
        ('[root]\nrequires = ["a"]\n[expected]\n', "expected.satisfiable is required"),
        ("[root\n", "invalid TOML"),
    ],
)
def test_parse_errors_are_loud(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text)
    assert message in str(info.value)


def test_discover_recursive_sorted_and_deduplicated(tmp_path: Path) -> None:
    for rel in ("b/two.toml", "a/one.toml", "a/deep/three.toml", "a/notes.md"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(MINIMAL)
    found = discover([tmp_path, tmp_path / "a" / "one.toml"])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a/deep/three.toml", "a/one.toml", "b/two.toml"]
    with pytest.raises(ScenarioError, match="no such file"):
        discover([tmp_path / "missing"])


# -- index and judging ----------------------------------------------------------------
def test_build_files_kinds_tags_and_yanks(tmp_path: Path) -> None:
    scenario = parse_scenario(_scenario_text("""
    [packages.b.versions."2.0.0"]
    sdist = false
    wheel_tags = ["cp312-cp312-win_amd64", "py3-none-any"]
    yanked = true
    [packages.c.versions."1.0.0"]
    wheel = false
    """))
    yanked = build_files(scenario, tmp_path)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "a-1.0.0-py3-none-any.whl", "a-1.0.0.tar.gz", "b-2.0.0-cp312-cp312-win_amd64.whl",
        "b-2.0.0-py3-none-any.whl", "c-1.0.0.tar.gz", "pypm_testing_backend-1.0-py3-none-any.whl",
    ]
    assert yanked == {"b-2.0.0-cp312-cp312-win_amd64.whl": YANK_REASON, "b-2.0.0-py3-none-any.whl": YANK_REASON}


def test_environments_for_modes() -> None:
    universal = parse_scenario(_scenario_text("[resolver_options]\nuniversal = true\n"))
    assert {env["python_version"] for env in environments_for(universal)} >= {"3.12", "3.13"}
    assert "3.11" not in {env["python_version"] for env in environments_for(universal)}
    target = parse_scenario(_scenario_text("[resolver_options]\npython = '3.9.4'\n[environment]\npython = '3.12'\n"))
    (env,) = environments_for(target)
    assert env["python_full_version"] == "3.9.4"
    excluded = parse_scenario(_scenario_text("[environment]\npython = '3.9'\n").replace(
        'requires = ["a"]', 'requires = ["a"]\nrequires_python = ">=3.10"'))
    with pytest.raises(ResolutionError, match="requires-python"):
        environments_for(excluded)


def _resolution(**versions: str) -> Resolution:
    return Resolution([LockedPackage(NormalizedName(n), Version(v)) for n, v in versions.items()])


def test_check_compares_versions_and_satisfiability() -> None:
    scenario = parse_scenario(_scenario_text('[expected.packages]\n"A_B" = "1.0"\n'))
    assert check(scenario, _resolution(**{"a-b": "1.0.0"}), None) is None
    # [expected.packages] is the whole set (packse lists every package installed)
    assert check(scenario, _resolution(**{"a-b": "1.0.0", "other": "9"}), None) == (
        "expected nothing else (also locked: other==9)")
    assert check(scenario, _resolution(**{"a-b": "2"}), None) == "expected a-b==1.0 (got 2)"
    assert check(scenario, _resolution(), None) == "expected a-b==1.0 (missing)"
    assert check(scenario, None, ResolutionError("boom")) == "expected satisfiable, got ResolutionError: boom"
    unsat = parse_scenario(_scenario_text().replace("satisfiable = true", "satisfiable = false"))
    assert check(unsat, None, ResolutionError("no version of 'a'")) is None
    assert "not one line" in (check(unsat, None, ResolutionError("two\nlines")) or "")
    assert check(unsat, _resolution(a="1"), None) == "expected unsatisfiable, but resolved a==1"


@pytest.mark.parametrize("message", [
    "the root requires a @ https://example.org/a.whl: direct URL requirements are not supported",
    "resolution took too many steps without finding a solution",
    "no version of 'a' satisfies all requirements, but extras of that kind are not supported",
    "a-1.0.tar.gz: no wheel and no buildable sdist",
    "boom",
])
def test_errors_other_than_a_conflict_fail_an_unsatisfiable_scenario(message: str) -> None:
    """Only a real "no set of versions satisfies" error answers an unsatisfiable scenario."""
    unsat = parse_scenario(_scenario_text().replace("satisfiable = true", "satisfiable = false"))
    error = ResolutionError(message)
    assert not is_unsatisfiable(error)
    reason = check(unsat, None, error)
    assert reason == f"expected unsatisfiable, got an error that is not a resolution conflict: {message}"


@pytest.mark.parametrize("message", [
    "no version of 'a' satisfies all requirements: the root requires a>1 (available: 1.0)",
    "no usable version of 'c' found on the index (a 1.0.0 requires c)",
    "conflicting requirements on 'b', 'd': a 1.0.0 requires b==1.0.0; the root requires b>=2",
    "b 1.0 has no wheel or sdist for win32 AMD64 (Python 3.12), which required-environments requires (x)",
    "the target Python 3.8 does not satisfy the root's requires-python >=3.10",
])
def test_conflict_errors_answer_an_unsatisfiable_scenario(message: str) -> None:
    unsat = parse_scenario(_scenario_text().replace("satisfiable = true", "satisfiable = false"))
    assert is_unsatisfiable(ResolutionError(message))
    assert check(unsat, None, ResolutionError(message)) is None


def test_check_every_locked_entry_of_a_forked_name() -> None:
    """A forked package has one entry per fork: each must have the expected version."""
    scenario = parse_scenario(_scenario_text('[expected.packages]\na = "1.0.0"\n'))
    forked = Resolution([LockedPackage(NormalizedName("a"), Version("1.0.0"), marker="sys_platform == 'linux'"),
                         LockedPackage(NormalizedName("a"), Version("2.0.0"), marker="sys_platform != 'linux'")])
    assert forked.packages["a"].version == Version("1.0.0")  # the first entry alone would pass
    assert check(scenario, forked, None) == "expected a==1.0.0 (got 1.0.0, 2.0.0)"
    same = Resolution([LockedPackage(NormalizedName("a"), Version("1.0.0"), marker="sys_platform == 'linux'"),
                       LockedPackage(NormalizedName("a"), Version("1.0"), marker="sys_platform != 'linux'")])
    assert check(scenario, same, None) is None
    unsat = parse_scenario(_scenario_text().replace("satisfiable = true", "satisfiable = false"))
    assert check(unsat, forked, None) == "expected unsatisfiable, but resolved a==1.0.0, a==2.0.0"


def test_cli_end_to_end(tmp_path: Path) -> None:
    """A real run over a small folder: a pass, a wrong expectation, an invalid file, and -k."""
    topic = tmp_path / "topic"
    topic.mkdir()
    two = '[packages.a.versions."2.0.0"]\n'
    (topic / "good.toml").write_text(_scenario_text(two + '[expected.packages]\na = "2.0.0"\n'))
    (topic / "wrong.toml").write_text(_scenario_text('[expected.packages]\na = "1.0.0"\n' + two))
    (topic / "unsat.toml").write_text(_scenario_text().replace('["a"]', '["a>=3"]').replace("= true", "= false"))
    (topic / "broken.toml").write_text("[root]\nrequires = 'a'\n[expected]\nsatisfiable = true\n")
    out, err = io.StringIO(), io.StringIO()
    assert main([str(tmp_path), "--jobs", "3"], out=out, err=err) == 1
    assert out.getvalue().splitlines() == [
        "FAIL topic/broken: invalid scenario: root.requires: expected a list of strings, got 'a'",
        "PASS topic/good",
        "PASS topic/unsat",
        "FAIL topic/wrong: expected a==1.0.0 (got 2.0.0)",
        "2 passed, 2 failed",
    ]
    assert "ran 4 scenarios in" in err.getvalue()
    out = io.StringIO()
    assert main([str(tmp_path), "-k", "good"], out=out, err=io.StringIO()) == 0
    assert out.getvalue().splitlines() == ["PASS topic/good", "1 passed, 0 failed"]


def test_cli_missing_path(tmp_path: Path) -> None:
    err = io.StringIO()
    assert main([str(tmp_path / "nope")], out=io.StringIO(), err=err) == 2
    assert "no such file or folder" in err.getvalue()


def test_scenario_sdists_build_with_nothing_but_pypm(tmp_path: Path) -> None:
    """The generated sdists name pypm's stdlib-only backend (no flit_core needed by the
    runner), and pypm really builds their metadata with it in an isolated build environment."""
    import tarfile

    scenario = parse_scenario(_scenario_text("""
    [packages.c.versions."1.0.0"]
    wheel = false
    requires = ["d"]
    [packages.d.versions."2.0.0"]
    """))
    build_files(scenario, tmp_path / "files")
    with tarfile.open(tmp_path / "files" / "c-1.0.0.tar.gz") as archive:
        pyproject = archive.extractfile("c-1.0.0/pyproject.toml").read().decode()
    assert 'build-backend = "pypm_testing_backend"' in pyproject and "flit" not in pyproject
    path = tmp_path / "scenario.toml"
    path.write_text(textwrap.dedent("""
    name = "sdist-only"
    [root]
    requires = ["c"]
    [expected]
    satisfiable = true
    packages = { c = "1.0.0", d = "2.0.0" }
    [packages.c.versions."1.0.0"]
    wheel = false
    requires = ["d"]
    [packages.d.versions."2.0.0"]
    """))
    outcome = run_scenario(path)
    assert outcome.passed, outcome.line()
