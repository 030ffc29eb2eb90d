"""Workspace discovery, validation and the lock's input hash.

Every test builds a small tree of ``pyproject.toml`` files in a temp dir and runs the real
discovery/validation code on it.  ``BAD_INPUTS`` (the table of broken layouts) is shared
with ``test_init_and_cli_errors.py``, which feeds the same trees to ``pypm lock``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from packaging.utils import canonicalize_name

from pypm.config import load_settings
from pypm.errors import WorkspaceError
from pypm.workspace.discovery import find_workspace
from pypm.workspace.inputs import input_hash
from pypm.workspace.model import load_workspace

# --------------------------------------------------------------------------- helpers


def write_tree(root: Path, files: dict[str, str | None]) -> None:
    """Create ``files`` under ``root``: path -> TOML text (dedented), or None for an empty dir."""
    root.mkdir(parents=True, exist_ok=True)
    for relpath, text in files.items():
        path = root / relpath
        if text is None:
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


def project_toml(name: str, version: str = "0.1.0", deps: tuple[str, ...] = (), extra: str = "") -> str:
    """A minimal valid member pyproject."""
    return f"[project]\nname = {name!r}\nversion = {version!r}\ndependencies = {json.dumps(list(deps))}\n{extra}"


@pytest.fixture(autouse=True)
def isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No outer PYPM_* / PYP_WORKSPACE_ROOT variables and no user config file."""
    for key in list(os.environ):
        if key.startswith("PYPM_"):
            monkeypatch.delenv(key)
    monkeypatch.delenv("PYP_WORKSPACE_ROOT", raising=False)
    monkeypatch.setenv("PYPM_CONFIG_FILE", str(tmp_path / "no-such-user-config.toml"))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Where each test builds its workspace (resolved, since pypm reports resolved paths)."""
    return tmp_path.resolve() / "ws"


# --------------------------------------------------------------------------- discovery

WORKSPACE_LAYOUTS = {
    # name: (files, start dir, expected root (relative), expected config file, expected members)
    "tool-pypm-root-from-deep-member-subdir": (
        {
            "pyproject.toml": """
                [tool.pypm.workspace]
                members = ["packages/*", "apps/*"]
            """,
            "packages/core/pyproject.toml": project_toml("acme-core"),
            "packages/utils/pyproject.toml": project_toml("acme_utils", deps=("acme-core",)),
            "apps/web/pyproject.toml": project_toml("Acme.Web", deps=("acme-utils", "acme-core>=0.1")),
            "packages/core/src/acme_core/deep": None,
        },
        "packages/core/src/acme_core/deep",
        ".",
        "pyproject.toml",
        {"acme-core": "packages/core", "acme-utils": "packages/utils", "acme-web": "apps/web"},
    ),
    "pypm-workspace-toml-root": (
        {
            "pypm-workspace.toml": """
                index-url = "http://127.0.0.1:9/simple/"
                [workspace]
                members = ["libs/*"]
            """,
            "libs/one/pyproject.toml": project_toml("one"),
            "libs/two/pyproject.toml": project_toml("two", deps=("one",)),
            "libs/two/tests": None,
        },
        "libs/two/tests",
        ".",
        "pypm-workspace.toml",
        {"one": "libs/one", "two": "libs/two"},
    ),
    "lone-project-is-a-workspace-of-one": (
        {"pyproject.toml": project_toml("solo", deps=("requests>=2",)), "src/solo": None},
        "src/solo",
        ".",
        "pyproject.toml",
        {"solo": "."},
    ),
    "root-with-project-is-itself-a-member": (
        {
            "pyproject.toml": project_toml(
                "the-app",
                deps=("the-lib",),
                extra="""
[tool.pypm.workspace]
members = ["lib"]
""",
            ),
            "lib/pyproject.toml": project_toml("the-lib"),
        },
        "lib",
        ".",
        "pyproject.toml",
        {"the-app": ".", "the-lib": "lib"},
    ),
    "climb-passes-the-nearer-member-pyproject": (
        {
            "pyproject.toml": '[tool.pypm.workspace]\nmembers = ["a"]\n',
            "a/pyproject.toml": project_toml("a"),
        },
        "a",
        ".",
        "pyproject.toml",
        {"a": "a"},
    ),
    "exclude-drops-a-glob-match": (
        {
            "pyproject.toml": """
                [tool.pypm.workspace]
                members = ["packages/*"]
                exclude = ["packages/legacy"]
            """,
            "packages/new/pyproject.toml": project_toml("new"),
            "packages/legacy/pyproject.toml": project_toml("legacy"),
        },
        "packages/new",
        ".",
        "pyproject.toml",
        {"new": "packages/new"},
    ),
    "exclude-skips-a-dir-without-pyproject": (
        {
            "pyproject.toml": """
                [tool.pypm.workspace]
                members = ["packages/*"]
                exclude = ["packages/docs"]
            """,
            "packages/new/pyproject.toml": project_toml("new"),
            "packages/docs/index.md": "# docs, not a project\n",
        },
        "packages/new",
        ".",
        "pyproject.toml",
        {"new": "packages/new"},
    ),
}


@pytest.mark.parametrize(
    ("files", "start", "expected_root", "config_name", "expected_members"),
    list(WORKSPACE_LAYOUTS.values()),
    ids=list(WORKSPACE_LAYOUTS),
)
def test_discovery_finds_root_and_members(
    root: Path,
    files: dict[str, str | None],
    start: str,
    expected_root: str,
    config_name: str,
    expected_members: dict[str, str],
) -> None:
    write_tree(root, files)
    workspace = load_workspace(root / start)
    assert workspace.root == (root / expected_root).resolve()
    assert workspace.raw.config_file == workspace.root / config_name
    actual = {
        name: member.path.relative_to(workspace.root).as_posix() or "." for name, member in workspace.members.items()
    }
    assert actual == expected_members
    for name, member in workspace.members.items():
        assert member.pyproject == member.path / "pyproject.toml"
        assert canonicalize_name(member.display_name) == name
    # every file that feeds the lock is listed, and nothing else
    assert set(workspace.raw.input_files) == {
        workspace.raw.config_file,
        *(m.pyproject for m in workspace.members.values()),
    }


def test_pypm_workspace_toml_settings_are_top_level(root: Path) -> None:
    files, start, *_ = WORKSPACE_LAYOUTS["pypm-workspace-toml-root"]
    write_tree(root, files)
    workspace = load_workspace(root / start)
    assert workspace.settings["index-url"] == "http://127.0.0.1:9/simple/"
    assert workspace.settings.sources["index-url"] == str(root / "pypm-workspace.toml")


def test_members_depending_on_each_other(root: Path) -> None:
    files, start, *_ = WORKSPACE_LAYOUTS["tool-pypm-root-from-deep-member-subdir"]
    write_tree(root, files)
    workspace = load_workspace(root / start)
    member_names = set(workspace.members)
    edges = {
        name: sorted(canonicalize_name(r.name) for r in m.dependencies if canonicalize_name(r.name) in member_names)
        for name, m in workspace.members.items()
    }
    assert edges == {"acme-core": [], "acme-utils": ["acme-core"], "acme-web": ["acme-core", "acme-utils"]}
    web = workspace.members[canonicalize_name("acme-web")]
    assert [str(r.specifier) for r in web.dependencies if r.name == "acme-core"] == [">=0.1"]


def test_workspace_root_env_var_overrides_the_climb(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files, *_ = WORKSPACE_LAYOUTS["tool-pypm-root-from-deep-member-subdir"]
    write_tree(root, files)
    # an unrelated project elsewhere: the climb alone would pick it
    elsewhere = tmp_path.resolve() / "elsewhere"
    write_tree(elsewhere, {"pyproject.toml": project_toml("unrelated"), "sub": None})
    assert set(load_workspace(elsewhere / "sub").members) == {"unrelated"}

    monkeypatch.setenv("PYP_WORKSPACE_ROOT", str(root))
    workspace = load_workspace(elsewhere / "sub")
    assert workspace.root == root
    assert set(workspace.members) == {"acme-core", "acme-utils", "acme-web"}

    # it also wins over a nearer workspace root found by climbing
    monkeypatch.setenv("PYP_WORKSPACE_ROOT", str(elsewhere))
    assert load_workspace(root / "packages/core").root == elsewhere


def test_virtual_root_dependency_groups_become_workspace_groups(root: Path) -> None:
    root_groups = {
        "dev": ["pytest>=8", "coverage"],
        "Lint_Tools": ["ruff"],
        "docs": [{"include-group": "Lint_Tools"}, "sphinx"],
    }
    member_groups = {"a": {"dev": ["hypothesis"], "lint-tools": ["mypy"]}, "b": {"bench": ["pyperf"]}}
    files: dict[str, str | None] = {
        "pyproject.toml": '[tool.pypm.workspace]\nmembers = ["a", "b"]\n\n[dependency-groups]\n'
        + "".join(f"{group} = {_toml_array(reqs)}\n" for group, reqs in root_groups.items()),
    }
    for member, groups in member_groups.items():
        body = "".join(f"{group} = {_toml_array(reqs)}\n" for group, reqs in groups.items())
        files[f"{member}/pyproject.toml"] = project_toml(member, extra=f"[dependency-groups]\n{body}")
    write_tree(root, files)

    workspace = load_workspace(root)
    assert set(workspace.members) == {"a", "b"}  # the virtual root is not a member

    expected: dict[str, list[tuple[str, str]]] = {}
    for group in root_groups:
        flat = _flatten_group(root_groups, group)
        expected.setdefault(canonicalize_name(group), []).extend(("workspace root", r) for r in flat)
    for member, groups in member_groups.items():
        for group in groups:
            expected.setdefault(canonicalize_name(group), []).extend((member, r) for r in _flatten_group(groups, group))
    actual = {group: [(who, str(req)) for who, req in reqs] for group, reqs in workspace.groups().items()}
    assert actual == dict(sorted(expected.items()))
    assert list(workspace.groups()) == sorted(expected)


def test_member_groups_are_not_root_groups_when_root_is_a_member(root: Path) -> None:
    write_tree(root, {"pyproject.toml": project_toml("solo", extra='[dependency-groups]\ndev = ["pytest"]\n')})
    workspace = load_workspace(root)
    assert workspace.root_groups == {}
    assert {g: [(who, str(r)) for who, r in reqs] for g, reqs in workspace.groups().items()} == {
        "dev": [("solo", "pytest")]
    }


def _toml_array(items: list) -> str:
    parts = [
        json.dumps(i) if isinstance(i, str) else f"{{ include-group = {json.dumps(i['include-group'])} }}"
        for i in items
    ]
    return "[" + ", ".join(parts) + "]"


def _flatten_group(groups: dict[str, list], name: str) -> list[str]:
    out: list[str] = []
    by_canonical = {canonicalize_name(k): v for k, v in groups.items()}
    for item in by_canonical[canonicalize_name(name)]:
        out.extend(_flatten_group(groups, item["include-group"]) if isinstance(item, dict) else [item])
    return out


# --------------------------------------------------------------------------- bad inputs

_WS_ROOT = '[tool.pypm.workspace]\nmembers = ["packages/*"]\n'


@dataclass(frozen=True)
class BadInput:
    """A broken tree; ``expect`` are fragments the one-line error must contain."""

    id: str
    files: dict[str, str | None]
    expect: tuple[str, ...]
    start: str = "."
    env: dict[str, str] = field(default_factory=dict)
    # (file, line) for TOML syntax errors: the message must contain ``<abs file>:<line>:<col>``;
    # line None means "some line".
    toml_position: tuple[str, int | None] | None = None

    def fill(self, text: str, root: Path) -> str:
        return text.replace("{root}", str(root))

    def setup(self, root: Path) -> dict[str, str]:
        """Write the tree under ``root``; return the environment variables the case needs."""
        if self.id == "no-pyproject-anywhere" and _config_above(root):
            pytest.skip(f"a pyproject.toml exists above {root}")
        write_tree(root, self.files)
        return {key: self.fill(value, root) for key, value in self.env.items()}

    def check(self, message: str, root: Path) -> None:
        """The one-line message names what the case expects (file, member, key, position)."""
        assert "\n" not in message
        for fragment in self.expect:
            assert self.fill(fragment, root) in message, message
        if self.toml_position is not None:
            file, line = self.toml_position
            pattern = re.escape(str(root / file)) + (rf":{line}:\d+:" if line else r":\d+:\d+:")
            assert re.search(pattern, message), f"no file:line:column in {message!r}"


def _with_bad_member(case_id: str, project_body: str, *expect: str) -> BadInput:
    """A workspace whose ``packages/bad`` member has ``project_body``; the error must name it."""
    return BadInput(
        case_id,
        {
            "pyproject.toml": _WS_ROOT,
            "packages/good/pyproject.toml": project_toml("good"),
            "packages/bad/pyproject.toml": project_body,
        },
        ("packages/bad/pyproject.toml", *expect),
        start="packages/good",
    )


BAD_INPUTS: list[BadInput] = [
    BadInput(
        "member-dir-without-pyproject",
        {
            "pyproject.toml": _WS_ROOT,
            "packages/good/pyproject.toml": project_toml("good"),
            "packages/empty/README.md": "hi\n",
        },
        ("packages/empty", "pyproject.toml"),
        start="packages/good",
    ),
    BadInput(
        "duplicate-member-names",
        {
            "pyproject.toml": _WS_ROOT,
            "packages/a/pyproject.toml": project_toml("Foo_Bar"),
            "packages/b/pyproject.toml": project_toml("foo-bar"),
        },
        ("foo-bar", "packages/a", "packages/b"),
        start="packages/a",
    ),
    BadInput(
        "member-outside-root",
        {
            "root/pyproject.toml": '[tool.pypm.workspace]\nmembers = ["../other"]\n',
            "other/pyproject.toml": project_toml("other"),
        },
        ("{root}/root/pyproject.toml", "../other", "outside"),
        start="root",
    ),
    BadInput(
        "glob-matches-nothing",
        {"pyproject.toml": '[tool.pypm.workspace]\nmembers = ["libs/*"]\n'},
        ("{root}/pyproject.toml", "libs/*"),
    ),
    BadInput(
        "member-path-does-not-exist",
        {"pyproject.toml": '[tool.pypm.workspace]\nmembers = ["packages/missing"]\n'},
        ("{root}/pyproject.toml", "packages/missing"),
    ),
    BadInput(
        "workspace-members-not-a-list",
        {"pyproject.toml": '[tool.pypm.workspace]\nmembers = "packages/*"\n'},
        ("{root}/pyproject.toml", "members"),
    ),
    BadInput(
        "malformed-toml-root-bad-value",
        {"pyproject.toml": '[project]\nname = "x"\nversion = = "1"\n'},
        ("{root}/pyproject.toml",),
        toml_position=("pyproject.toml", 3),
    ),
    BadInput(
        "malformed-toml-unterminated-string",
        {"pyproject.toml": '[project]\nname = "x\nversion = "1"\n'},
        ("{root}/pyproject.toml",),
        toml_position=("pyproject.toml", 2),
    ),
    BadInput(
        "malformed-toml-unclosed-table-header",
        {"pyproject.toml": '# comment\n\n[project\nname = "x"\n'},
        ("{root}/pyproject.toml",),
        toml_position=("pyproject.toml", 3),
    ),
    BadInput(
        "malformed-toml-in-member",
        {
            "pyproject.toml": _WS_ROOT,
            "packages/good/pyproject.toml": project_toml("good"),
            "packages/bad/pyproject.toml": '[project]\nname = "bad"\nversion = "1"\ndependencies = ["a",, "b"]\n',
        },
        ("{root}/packages/bad/pyproject.toml",),
        start="packages/good",
        toml_position=("packages/bad/pyproject.toml", 4),
    ),
    BadInput(
        "malformed-toml-unterminated-array-at-end-of-file",
        {"pyproject.toml": '[project]\nname = "x"\nversion = "1"\ndependencies = [\n    "requests",\n'},
        ("{root}/pyproject.toml",),
        toml_position=("pyproject.toml", None),
    ),
    BadInput(
        "malformed-toml-duplicate-key",
        {"pyproject.toml": '[project]\nname = "x"\nname = "y"\nversion = "1"\n'},
        ("{root}/pyproject.toml",),
        toml_position=("pyproject.toml", 3),
    ),
    _with_bad_member(
        "invalid-pep508-dependency",
        project_toml("bad", deps=("requests >>= 2",)),
        "[project.dependencies][0]",
        "requests >>= 2",
    ),
    _with_bad_member(
        "invalid-pep508-second-dependency",
        project_toml("bad", deps=("attrs", "foo[bar")),
        "[project.dependencies][1]",
        "foo[bar",
    ),
    _with_bad_member(
        "invalid-pep508-optional-dependency",
        project_toml("bad", extra='[project.optional-dependencies]\nfast = ["ujson ;;"]\n'),
        "[project.optional-dependencies.fast][0]",
        "ujson ;;",
    ),
    _with_bad_member(
        "extras-one-name-normalized",
        project_toml("bad", extra='[project.optional-dependencies]\nMy_Extra = []\nmy-extra = []\n'),
        "[project.optional-dependencies]",
        "'My_Extra' and 'my-extra' are one name",
    ),
    _with_bad_member(
        "invalid-pep508-dependency-group",
        project_toml("bad", extra='[dependency-groups]\ndev = ["pytest >>= 8"]\n'),
        "[dependency-groups]",
        "dev",
    ),
    _with_bad_member(
        "dependency-group-includes-unknown-group",
        project_toml("bad", extra='[dependency-groups]\ndev = [{ include-group = "nope" }]\n'),
        "[dependency-groups]",
        "nope",
    ),
    BadInput(
        "invalid-pep508-virtual-root-group",
        {
            "pyproject.toml": _WS_ROOT + '\n[dependency-groups]\ndev = ["pytest >>= 8"]\n',
            "packages/good/pyproject.toml": project_toml("good"),
        },
        ("pyproject.toml", "[dependency-groups]", "dev"),
        start="packages/good",
    ),
    _with_bad_member("project-table-missing", "[tool.other]\nx = 1\n", "[project]"),
    _with_bad_member("missing-name", '[project]\nversion = "1.0"\n', "[project.name]"),
    _with_bad_member("name-not-a-string", '[project]\nname = 42\nversion = "1.0"\n', "[project.name]"),
    _with_bad_member("bad-name-space", project_toml("foo bar"), "[project.name]", "foo bar"),
    _with_bad_member("bad-name-leading-dash", project_toml("-bad-"), "[project.name]", "-bad-"),
    _with_bad_member("version-not-a-string", '[project]\nname = "bad"\nversion = 1\n', "[project.version]"),
    _with_bad_member("invalid-version", project_toml("bad", version="one.two"), "[project.version]", "one.two"),
    _with_bad_member("missing-version-without-dynamic", '[project]\nname = "bad"\n', "[project.version]"),
    _with_bad_member(
        "missing-version-dynamic-lists-other",
        '[project]\nname = "bad"\ndynamic = ["description"]\n',
        "[project.version]",
    ),
    _with_bad_member("dynamic-also-static", '[project]\nname = "bad"\nversion = "1"\ndynamic = ["version"]\n',
                     "[project.dynamic]", "lists 'version', which [project] also sets"),
    _with_bad_member("dynamic-name", '[project]\nname = "bad"\nversion = "1"\ndynamic = ["name"]\n',
                     "[project.dynamic]", "lists 'name'"),
    _with_bad_member(
        "dependencies-not-a-list",
        '[project]\nname = "bad"\nversion = "1"\ndependencies = "requests"\n',
        "[project.dependencies]",
    ),
    _with_bad_member(
        "dependency-not-a-string",
        '[project]\nname = "bad"\nversion = "1"\ndependencies = [3]\n',
        "[project.dependencies][0]",
    ),
    _with_bad_member(
        "optional-dependencies-not-a-table",
        '[project]\nname = "bad"\nversion = "1"\noptional-dependencies = ["x"]\n',
        "[project.optional-dependencies]",
    ),
    _with_bad_member(
        "requires-python-invalid",
        project_toml("bad", extra='requires-python = "3.10+"\n'),
        "[project.requires-python]",
        "3.10+",
    ),
    _with_bad_member(
        "requires-python-not-a-string",
        project_toml("bad", extra="requires-python = 3.10\n"),
        "[project.requires-python]",
    ),
    BadInput(
        "lone-project-invalid-version",
        {"pyproject.toml": project_toml("solo", version="1.0-final-final")},
        ("pyproject.toml", "[project.version]", "1.0-final-final"),
    ),
    BadInput("no-pyproject-anywhere", {"deep/er": None}, ("no pyproject.toml", "{root}/deep/er"), start="deep/er"),
    BadInput(
        "virtual-root-without-members",
        {"pyproject.toml": '[tool.pypm]\npython = "3.12"\n'},
        ("{root}/pyproject.toml",),
    ),
    BadInput(
        "workspace-root-env-var-without-config",
        {"pyproject.toml": project_toml("here"), "empty": None},
        ("PYP_WORKSPACE_ROOT", "{root}/empty"),
        env={"PYP_WORKSPACE_ROOT": "{root}/empty"},
    ),
]


def _config_above(path: Path) -> bool:
    return any((p / n).exists() for p in path.parents for n in ("pyproject.toml", "pypm-workspace.toml"))


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input_raises_workspace_error_naming_the_file(
    case: BadInput, root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in case.setup(root).items():
        monkeypatch.setenv(key, value)
    with pytest.raises(WorkspaceError) as info:
        load_workspace(root / case.start)
    case.check(info.value.one_line(), root)


def test_duplicate_detection_uses_normalised_names(root: Path) -> None:
    names = ["Foo_Bar", "foo.bar", "FOO-BAR", "foo__bar"]
    files: dict[str, str | None] = {"pyproject.toml": _WS_ROOT}
    for index, name in enumerate(names):
        files[f"packages/m{index}/pyproject.toml"] = project_toml(name)
    write_tree(root, files)
    with pytest.raises(
        WorkspaceError, match="duplicate workspace member name 'foo-bar' in packages/m0 and packages/m1"
    ):
        load_workspace(root)


# --------------------------------------------------------------------------- input hash

HASH_BASE: dict[str, str | None] = {
    "pyproject.toml": """
        # workspace root
        [tool.pypm]
        index-url = "http://127.0.0.1:9/simple/"
        python = "3.12"

        [tool.pypm.workspace]
        members = ["packages/*"]

        [dependency-groups]
        dev = ["pytest>=8"]

        [tool.other]
        colour = "blue"
    """,
    "packages/a/pyproject.toml": """
        [project]
        name = "a"
        version = "1.0"
        description = "the a package"
        requires-python = ">=3.10"
        dependencies = ["b", "attrs>=23"]

        [project.optional-dependencies]
        fast = ["ujson"]

        [dependency-groups]
        test = ["hypothesis"]

        [tool.other]
        setting = 1
    """,
    "packages/b/pyproject.toml": """
        [project]
        name = "b"
        version = "2.0"
        dependencies = []
    """,
}

# (id, file, old text, new text, whether the hash must change)
_ROOT, _A, _B = "pyproject.toml", "packages/a/pyproject.toml", "packages/b/pyproject.toml"
_SETTING = 'python = "3.12"'  # a line of the root's [tool.pypm] to add settings after
HASH_EDITS = [
    ("dependency-added", _A, '"attrs>=23"]', '"attrs>=23", "idna"]', True),
    ("dependency-specifier", _A, "attrs>=23", "attrs>=24", True),
    ("dependency-in-other-member", _B, "dependencies = []", 'dependencies = ["six"]', True),
    ("optional-dependency", _A, 'fast = ["ujson"]', 'fast = ["orjson"]', True),
    ("extra-added", _A, 'fast = ["ujson"]', 'fast = ["ujson"]\nslow = ["simplejson"]', True),
    ("dependency-group", _A, 'test = ["hypothesis"]', 'test = ["hypothesis", "pytest-xdist"]', True),
    ("root-dependency-group", _ROOT, 'dev = ["pytest>=8"]', 'dev = ["pytest>=7"]', True),
    ("requires-python", _A, ">=3.10", ">=3.11", True),
    ("version", _B, '"2.0"', '"2.1"', True),
    ("name", _B, 'name = "b"', 'name = "b2"', True),
    ("index-url", _ROOT, "http://127.0.0.1:9/simple/", "http://127.0.0.1:10/simple/", True),
    ("extra-index-url", _ROOT, _SETTING, _SETTING + '\nextra-index-url = ["http://127.0.0.1:11/simple/"]', True),
    ("find-links", _ROOT, _SETTING, _SETTING + '\nfind-links = ["/tmp/wheels"]', True),
    ("environments", _ROOT, _SETTING, _SETTING + "\nenvironments = [\"sys_platform == 'linux'\"]", True),
    ("description", _A, "the a package", "a better description", False),
    ("tool-other-member", _A, "setting = 1", "setting = 2", False),
    ("tool-other-root", _ROOT, 'colour = "blue"', 'colour = "red"', False),
    ("python-not-a-lock-input", _ROOT, _SETTING, 'python = "3.13"', False),
    ("cache-dir-not-a-lock-input", _ROOT, _SETTING, _SETTING + '\ncache-dir = "/tmp/elsewhere"', False),
    ("comment", _A, 'version = "1.0"', 'version = "1.0"  # bump me', False),
    ("root-comment", _ROOT, "# workspace root", "# the workspace root, edited", False),
    ("blank-lines-and-spacing", _A, 'name = "a"', '\n\nname   =   "a"\n', False),
    ("array-reformatted", _A, '["b", "attrs>=23"]', '[\n    "b",\n    "attrs>=23",  # why\n]', False),
    ("key-order", _A, 'name = "a"\nversion = "1.0"', 'version = "1.0"\nname = "a"', False),
]


def _digest(start: Path) -> str:
    raw = find_workspace(start)
    return input_hash(raw, load_settings(raw.tool_table, raw.config_file))


@pytest.fixture
def hash_root(root: Path) -> Path:
    write_tree(root, HASH_BASE)
    return root


def test_input_hash_is_stable(hash_root: Path) -> None:
    first = _digest(hash_root)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert _digest(hash_root) == first
    assert _digest(hash_root / "packages/b") == first  # same workspace, found from a member
    # and in fresh interpreters with different hash seeds (no set/dict-order dependence)
    code = (
        "import sys; from pathlib import Path; from pypm.config import load_settings; "
        "from pypm.workspace.discovery import find_workspace; from pypm.workspace.inputs import input_hash; "
        "raw = find_workspace(Path(sys.argv[1])); "
        "print(input_hash(raw, load_settings(raw.tool_table, raw.config_file)))"
    )
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", code, str(hash_root)], env=env, capture_output=True, text=True, check=True
        )
        assert out.stdout.strip() == first


@pytest.mark.parametrize(("file", "old", "new", "changes"), [e[1:] for e in HASH_EDITS], ids=[e[0] for e in HASH_EDITS])
def test_input_hash_tracks_lock_inputs_only(hash_root: Path, file: str, old: str, new: str, changes: bool) -> None:
    before = _digest(hash_root)
    path = hash_root / file
    text = path.read_text()
    assert old in text, f"test data out of date: {old!r} not in {file}"
    path.write_text(text.replace(old, new, 1))
    load_workspace(hash_root)  # the edit must keep the workspace valid
    after = _digest(hash_root)
    assert (after != before) is changes


def test_input_hash_changes_with_members_and_env_index(hash_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # drop the root's index-url so the environment decides it
    root_file = hash_root / "pyproject.toml"
    root_file.write_text(root_file.read_text().replace('index-url = "http://127.0.0.1:9/simple/"\n', ""))
    seen = {_digest(hash_root)}
    monkeypatch.setenv("PYPM_INDEX_URL", "http://127.0.0.1:12/simple/")
    seen.add(_digest(hash_root))
    monkeypatch.setenv("PYPM_EXTRA_INDEX_URL", "http://127.0.0.1:13/simple/")
    seen.add(_digest(hash_root))
    write_tree(hash_root, {"packages/c/pyproject.toml": project_toml("c")})
    seen.add(_digest(hash_root))
    assert len(seen) == 4
