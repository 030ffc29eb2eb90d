"""``pypm tree``, ``pypm why`` and ``pypm outdated`` on a known graph served by a local index.

The workspace: a virtual root with a ``dev`` group (pytest), ``acme-app`` (acme-core, a
bounded attrs, rich, a marker-gated tomli, extra ``cli`` -> click, whose colorama is
Windows-only) and ``acme-core`` (attrs, rich, numpy: forked by Python, as numpy 2.0 needs
3.11; a ``test`` group). rich is reached twice (printed once more with ``(*)``; two paths
for ``why``). acme-core is also a root of its own: its group shows only there.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pypm.testing import DistSpec, build_wheel
from pypm.testing.plugin import MakeIndex, RunPypm
from tests.workspaces import replace_in, write

SPECS = [
    DistSpec("attrs", "26.1.0"),
    DistSpec("tomli", "2.2.1"),
    DistSpec("click", "8.1.0", requires=["colorama; platform_system == 'Windows'"]),
    DistSpec("colorama", "0.4.6"),
    DistSpec("pytest", "8.0.0", requires=["iniconfig", "attrs>=22"]),
    DistSpec("iniconfig", "2.0.0"),
    DistSpec("rich", "13.0.0", requires=["attrs"], extras={"jupyter": ["iniconfig"]}),
    DistSpec("numpy", "1.0"),
    DistSpec("numpy", "2.0", requires_python=">=3.11"),
]

TREE = """\
acme-app 0.1.0
├── acme-core 0.1.0 (acme-core)
│   ├── attrs 26.1.0 (attrs)
│   ├── numpy 1.0 (numpy) (fork: python_full_version < "3.11")
│   ├── numpy 2.0 (numpy) (fork: python_full_version >= "3.11")
│   └── rich 13.0.0 (rich)
│       └── attrs 26.1.0 (attrs)
├── attrs 26.1.0 (attrs<27,>=23.1)
├── click 8.1.0 (click>=8) (extra: cli)
│   └── colorama 0.4.6 (colorama; platform_system == "Windows")
├── rich 13.0.0 (rich>=13) (*)
└── tomli 2.2.1 (tomli>=2.0; python_version < "3.11")
acme-core 0.1.0
├── attrs 26.1.0 (attrs)
├── iniconfig 2.0.0 (iniconfig>=1) (group: test)
├── numpy 1.0 (numpy) (fork: python_full_version < "3.11")
├── numpy 2.0 (numpy) (fork: python_full_version >= "3.11")
└── rich 13.0.0 (rich) (*)
workspace root
└── pytest 8.0.0 (pytest>=7) (group: dev)
    ├── attrs 26.1.0 (attrs>=22)
    └── iniconfig 2.0.0 (iniconfig)
"""


def acme_workspace(root: Path) -> Path:
    """The workspace described in the module's docstring."""
    write(root / "pyproject.toml", """
        [tool.pypm.workspace]
        members = ["packages/*"]

        [dependency-groups]
        dev = ["pytest>=7"]
    """)
    write(root / "packages/acme-app/pyproject.toml", """
        [project]
        name = "acme-app"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["acme-core", "attrs>=23.1,<27", "rich>=13", "tomli>=2.0; python_version < '3.11'"]

        [project.optional-dependencies]
        cli = ["click>=8"]
    """)
    write(root / "packages/acme-core/pyproject.toml", """
        [project]
        name = "acme-core"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["attrs", "rich", "numpy"]

        [dependency-groups]
        test = ["iniconfig>=1"]
    """)
    return root


@pytest.fixture
def acme(tmp_path: Path, make_index: MakeIndex) -> tuple[Path, dict[str, str], object]:
    """(workspace root, env, index): not locked yet; index pages are never reused unasked."""
    index = make_index(SPECS)
    env = {"PYPM_INDEX_URL": index.url, "PYPM_INDEX_PAGE_TTL": "0"}
    return acme_workspace(tmp_path / "ws"), env, index


def test_tree_locks_first_and_draws_the_known_graph(acme, run_pypm: RunPypm) -> None:
    root, env, index = acme
    first = run_pypm("tree", cwd=root, env_extra=env)
    assert first.stdout == TREE
    assert "Locked" in first.stderr and (root / "pylock.toml").is_file()  # a missing lock is made first
    index.clear_requests()
    again = run_pypm("tree", cwd=root, env_extra=env)
    assert again.stdout == TREE and "Locked" not in again.stderr
    assert index.requests == []  # fresh lock, metadata cached by file hash: no network at all


def test_tree_depth_package_and_invert(acme, run_pypm: RunPypm) -> None:
    root, env, _index = acme
    depth = run_pypm("tree", "--depth", "1", cwd=root, env_extra=env).stdout
    assert depth == """\
acme-app 0.1.0
├── acme-core 0.1.0 (acme-core)
├── attrs 26.1.0 (attrs<27,>=23.1)
├── click 8.1.0 (click>=8) (extra: cli)
├── rich 13.0.0 (rich>=13)
└── tomli 2.2.1 (tomli>=2.0; python_version < "3.11")
acme-core 0.1.0
├── attrs 26.1.0 (attrs)
├── iniconfig 2.0.0 (iniconfig>=1) (group: test)
├── numpy 1.0 (numpy) (fork: python_full_version < "3.11")
├── numpy 2.0 (numpy) (fork: python_full_version >= "3.11")
└── rich 13.0.0 (rich)
workspace root
└── pytest 8.0.0 (pytest>=7) (group: dev)
"""
    depth0 = run_pypm("tree", "--depth", "0", cwd=root, env_extra=env).stdout
    assert depth0 == "acme-app 0.1.0\nacme-core 0.1.0\nworkspace root\n"
    package = run_pypm("tree", "--package", "Acme_Core", cwd=root, env_extra=env).stdout
    assert package == """\
acme-core 0.1.0
├── attrs 26.1.0 (attrs)
├── iniconfig 2.0.0 (iniconfig>=1) (group: test)
├── numpy 1.0 (numpy) (fork: python_full_version < "3.11")
├── numpy 2.0 (numpy) (fork: python_full_version >= "3.11")
└── rich 13.0.0 (rich)
    └── attrs 26.1.0 (attrs)
"""
    inverted = run_pypm("tree", "--invert", "--package", "acme-core", cwd=root, env_extra=env).stdout
    assert inverted == """\
attrs 26.1.0
├── acme-core 0.1.0 (attrs)
└── rich 13.0.0 (attrs)
    └── acme-core 0.1.0 (rich)
iniconfig 2.0.0
└── acme-core 0.1.0 (iniconfig>=1) (group: test)
numpy 1.0 (fork: python_full_version < "3.11")
└── acme-core 0.1.0 (numpy)
numpy 2.0 (fork: python_full_version >= "3.11")
└── acme-core 0.1.0 (numpy)
"""
    whole = run_pypm("tree", "--invert", cwd=root, env_extra=env).stdout
    assert whole.startswith("""\
attrs 26.1.0
├── acme-app 0.1.0 (attrs<27,>=23.1)
├── acme-core 0.1.0 (attrs)
│   └── acme-app 0.1.0 (acme-core)
├── pytest 8.0.0 (attrs>=22)
│   └── workspace root (pytest>=7) (group: dev)
└── rich 13.0.0 (attrs)
    ├── acme-app 0.1.0 (rich>=13)
    └── acme-core 0.1.0 (rich) (*)
colorama 0.4.6
└── click 8.1.0 (colorama; platform_system == "Windows")
    └── acme-app 0.1.0 (click>=8) (extra: cli)
iniconfig 2.0.0
├── acme-core 0.1.0 (iniconfig>=1) (group: test) (*)
└── pytest 8.0.0 (iniconfig) (*)
""")
    roots = [line for line in whole.splitlines() if not line.startswith(("├", "└", "│", " "))]
    assert roots == ["attrs 26.1.0", "colorama 0.4.6", "iniconfig 2.0.0",
                     'numpy 1.0 (fork: python_full_version < "3.11")',
                     'numpy 2.0 (fork: python_full_version >= "3.11")', "tomli 2.2.1"]
    unknown = run_pypm("tree", "--package", "attrs", cwd=root, env_extra=env, check=False)
    assert unknown.returncode == 2 and unknown.stderr.splitlines() == [
        "error: --package attrs: no workspace member of that name (members: acme-app, acme-core)"]


def test_why_lists_every_path(acme, run_pypm: RunPypm) -> None:
    root, env, _index = acme
    rich = run_pypm("why", "rich", cwd=root, env_extra=env).stdout
    assert rich.splitlines() == ["acme-app -> acme-core -> rich 13.0.0 (rich)", "acme-app -> rich 13.0.0 (rich>=13)"]
    attrs = run_pypm("why", "attrs", cwd=root, env_extra=env).stdout
    assert attrs.splitlines() == [
        "acme-app -> acme-core -> attrs 26.1.0 (attrs)",
        "acme-app -> acme-core -> rich -> attrs 26.1.0 (attrs)",
        "acme-app -> attrs 26.1.0 (attrs<27,>=23.1)",
        "acme-app -> rich -> attrs 26.1.0 (attrs)",
        "workspace root (group: dev) -> pytest -> attrs 26.1.0 (attrs>=22)",
    ]
    # a group is the project's own: nothing that depends on acme-core installs its test group
    iniconfig = run_pypm("why", "iniconfig", cwd=root, env_extra=env).stdout
    assert iniconfig.splitlines() == ["acme-core (group: test) -> iniconfig 2.0.0 (iniconfig>=1)",
                                      "workspace root (group: dev) -> pytest -> iniconfig 2.0.0 (iniconfig)"]
    colorama = run_pypm("why", "Colorama", cwd=root, env_extra=env).stdout
    assert colorama == 'acme-app (extra: cli) -> click -> colorama 0.4.6 (colorama; platform_system == "Windows")\n'
    numpy = run_pypm("why", "numpy", cwd=root, env_extra=env).stdout
    assert numpy.splitlines() == ["acme-app -> acme-core -> numpy 1.0 (numpy)",
                                  "acme-app -> acme-core -> numpy 2.0 (numpy)"]


def test_why_of_a_package_that_is_not_locked(acme, run_pypm: RunPypm) -> None:
    root, env, _index = acme
    proc = run_pypm("why", "requests", cwd=root, env_extra=env, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: requests is not in pylock.toml (`pypm tree` shows what is locked)"]
    assert proc.stderr.splitlines()[-1] == errors[0] and "Traceback" not in proc.stderr
    assert run_pypm("why", cwd=root, env_extra=env, check=False).returncode == 2  # no NAME: a usage mistake


def test_frozen_and_locked_read_a_stale_lock(acme, run_pypm: RunPypm) -> None:
    root, env, _index = acme
    run_pypm("tree", cwd=root, env_extra=env)
    replace_in(root / "packages/acme-app/pyproject.toml", '"rich>=13", ', "")
    stale = (root / "pylock.toml").read_bytes()
    frozen = run_pypm("why", "rich", "--frozen", cwd=root, env_extra=env)
    assert frozen.stdout == "acme-app -> acme-core -> rich 13.0.0 (rich)\n"  # the lock as it is, edges as written now
    assert (root / "pylock.toml").read_bytes() == stale
    locked = run_pypm("tree", "--locked", cwd=root, env_extra=env, check=False)
    assert locked.returncode == 1 and "out of date" in locked.stderr and locked.stdout == ""
    fresh = run_pypm("tree", "--depth", "1", "--package", "acme-app", cwd=root, env_extra=env)
    assert "Locked" in fresh.stderr and "rich" not in fresh.stdout and (root / "pylock.toml").read_bytes() != stale


def test_outdated_after_a_newer_release(acme, run_pypm: RunPypm) -> None:
    root, env, index = acme
    run_pypm("tree", cwd=root, env_extra=env)
    quiet = run_pypm("outdated", cwd=root, env_extra=env)
    assert quiet.stdout == "" and "newest" in quiet.stderr
    for spec in (DistSpec("attrs", "27.0.0"), DistSpec("tomli", "3.0.0"), DistSpec("click", "9.0.0rc1"),
                 DistSpec("numpy", "1.5"), DistSpec("numpy", "2.1", requires_python=">=3.11")):
        build_wheel(spec, index.files_dir)
    out = run_pypm("outdated", cwd=root, env_extra=env)
    assert out.stdout == """\
Package                                Locked  Allowed  Latest
attrs                                  26.1.0  26.1.0   27.0.0
numpy (python_full_version < "3.11")   1.0     1.5      1.5
numpy (python_full_version >= "3.11")  2.0     2.1      2.1
tomli                                  2.2.1   3.0.0    3.0.0
"""
    tree = run_pypm("tree", "--outdated", "--depth", "1", "--package", "acme-app", cwd=root, env_extra=env).stdout
    assert tree == """\
acme-app 0.1.0
├── acme-core 0.1.0 (acme-core)
├── attrs 26.1.0 (attrs<27,>=23.1) (latest: 27.0.0)
├── click 8.1.0 (click>=8) (extra: cli)
├── rich 13.0.0 (rich>=13)
└── tomli 2.2.1 (tomli>=2.0; python_version < "3.11") (latest: 3.0.0)
"""
    refused = run_pypm("tree", "--refresh", cwd=root, env_extra=env, check=False)
    assert refused.returncode == 2 and "--outdated" in refused.stderr


def test_an_inverted_tree_over_a_cycle_starts_in_the_cycle(tmp_path: Path, make_index: MakeIndex,
                                                          run_pypm: RunPypm) -> None:
    """Nothing depends on nothing here (cyc1 and cyc2 need each other): the inverted tree
    starts once, inside the cycle, and the chain above it stays whole."""
    from tests.workspaces import write_project

    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0", requires=["cyc1"]),
                        DistSpec("cyc1", "1.0", requires=["cyc2"]), DistSpec("cyc2", "1.0", requires=["cyc1"])])
    root = write_project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("lock", cwd=root, env_extra=env)
    out = run_pypm("tree", "--invert", cwd=root, env_extra=env).stdout
    assert [line for line in out.splitlines() if not line.startswith((" ", "│", "├", "└"))] == ["cyc1 1.0"], out
    assert "│   └── alpha 1.0 (beta)\n│       └── proj 1.0 (alpha)\n" in out
