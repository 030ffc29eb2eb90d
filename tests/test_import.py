"""``pypm import FILE``: a hashed requirements file (``-r``, ``-c``, markers, extras,
``--index-url``), a Poetry project with a real ``poetry.lock``, Pipfile/Pipfile.lock, PDM and
uv projects. Pinned versions become the locked versions (even with newer ones on the index),
with the same sha256 hashes the imported files recorded; a failed import leaves
``pyproject.toml`` and ``pylock.toml`` as they were; refusals are one line.

The end-to-end tests run the real CLI against a local index whose wheels are built here
(deterministically): the fixtures under ``tests/fixtures/import`` name them by
``@SHA:name-version@`` and the index by ``@INDEX@``, filled in before each import.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest
import tomllib

from pypm.operations.importers import ImportContext, ImportRefused, detect_kind
from pypm.operations.importers.pipenv import pipfile_requirement
from pypm.operations.importers.poetry import poetry_constraint, python_marker, python_specifier
from pypm.operations.importers.requirements import logical_lines, read_requirements
from pypm.testing import DistSpec
from pypm.testing.plugin import RunPypm
from tests.test_init_and_cli_errors import assert_one_error_line

FIXTURES = Path(__file__).parent / "fixtures" / "import"
FAST = {"fast": ["beta"]}
#: Every pin in the fixtures has a newer release here, so a lock that ignored the pins
#: would differ.
SPECS = [
    DistSpec("alpha", "1.0"), DistSpec("alpha", "1.5"), DistSpec("alpha", "2.0", requires=["beta>=1"]),
    DistSpec("beta", "1.0"), DistSpec("beta", "1.1"),
    *(DistSpec("gamma", version, extras=FAST) for version in ("1.0", "1.0.5", "1.1")),
    DistSpec("delta", "0.2.3"), DistSpec("delta", "0.2.9"), DistSpec("delta", "0.3.0"),
    DistSpec("epsilon", "1.0"), DistSpec("epsilon", "1.1"),
]


@pytest.fixture
def index(make_index):
    """The local index of :data:`SPECS`."""
    return make_index(SPECS)


def render(fixture: str, dest: Path, index) -> Path:
    """Copy fixture directory ``fixture`` to ``dest`` with ``@INDEX@`` and ``@SHA:name-version@``
    replaced by the index URL and the sha256 of that wheel on the index."""
    shutil.copytree(FIXTURES / fixture, dest)

    def sha(match: re.Match[str]) -> str:
        wheel = index.files_dir / f"{match.group(1)}-py3-none-any.whl"
        return hashlib.sha256(wheel.read_bytes()).hexdigest()

    for path in dest.rglob("*"):
        if path.is_file():
            text = path.read_text("utf-8").replace("@INDEX@", index.url)
            path.write_text(re.sub(r"@SHA:([\w.]+-[\w.]+)@", sha, text), "utf-8")
    return dest


def locked(root: Path) -> dict[str, tuple[str, set[str]]]:
    """name -> (version, sha256 of every file) of the non-member packages in pylock.toml."""
    data = tomllib.loads((root / "pylock.toml").read_text("utf-8"))
    found = {}
    for package in data["packages"]:
        if "directory" in package:
            continue
        files = [*package.get("wheels", []), *([package["sdist"]] if "sdist" in package else [])]
        found[package["name"]] = (package["version"], {f["hashes"]["sha256"] for f in files})
    return found


def hashes_in(text: str) -> dict[str, set[str]]:
    """name -> the sha256 values a requirements file gives it (``name==V ... --hash=sha256:H``)."""
    found: dict[str, set[str]] = {}
    for _number, line in logical_lines(text):
        name = re.match(r"[A-Za-z0-9._-]+", line)
        digests = set(re.findall(r"--hash=sha256:([0-9a-f]{64})", line))
        if name and digests:
            found[name.group(0)] = digests
    return found


def pyproject(root: Path) -> dict:
    return tomllib.loads((root / "pyproject.toml").read_text("utf-8"))


# --------------------------------------------------------------------------- Poetry constraints


@pytest.mark.parametrize(("constraint", "pep440"), [
    # Poetry's "Dependency specification" page, caret, tilde and wildcard tables
    ("^1.2.3", ">=1.2.3,<2.0.0"), ("^1.2", ">=1.2.0,<2.0.0"), ("^1", ">=1.0.0,<2.0.0"),
    ("^0.2.3", ">=0.2.3,<0.3.0"), ("^0.0.3", ">=0.0.3,<0.0.4"), ("^0.0", ">=0.0.0,<0.1.0"), ("^0", ">=0.0.0,<1.0.0"),
    ("~1.2.3", ">=1.2.3,<1.3.0"), ("~1.2", ">=1.2.0,<1.3.0"), ("~1", ">=1.0.0,<2.0.0"),
    ("*", ""), ("1.*", ">=1.0.0,<2.0.0"), ("1.2.*", ">=1.2.0,<1.3.0"),
    # the rest of the grammar: a bare version is ==, commas or spaces join, PEP 440 passes through
    ("1.2.3", "==1.2.3"), (">= 1.2, < 1.5", ">=1.2,<1.5"), (">=1.2 <1.5", ">=1.2,<1.5"), ("~=1.4", "~=1.4"),
    ("!=1.3.*", "!=1.3.*"), ("^1.2.3b1", ">=1.2.3b1,<2.0.0"),
])
def test_poetry_constraints_convert_as_poetry_defines_them(constraint: str, pep440: str) -> None:
    assert poetry_constraint(constraint) == pep440


def test_poetry_python_constraints() -> None:
    notes: list[str] = []
    assert python_specifier("^3.10", notes) == ">=3.10,<4.0"
    assert python_marker("^3.10") == 'python_version >= "3.10" and python_version < "4.0"'
    assert python_marker(">=3.8.1") == 'python_full_version >= "3.8.1"'
    assert python_specifier("~2.7 || ^3.6", notes) == ">=2.7" and notes  # alternatives: the lowest lower bound
    with pytest.raises(ValueError):
        poetry_constraint("1.2 || 1.4")  # no PEP 440 specifier says this


def test_pipfile_entries() -> None:
    assert pipfile_requirement("alpha", "*") == "alpha"
    assert pipfile_requirement("alpha", "1.0") == "alpha==1.0"
    assert pipfile_requirement("g", {"version": ">=1", "extras": ["x"], "sys_platform": "== 'linux'"}) == \
        "g[x]>=1; sys_platform == 'linux'"
    with pytest.raises(ImportRefused):
        pipfile_requirement("local", {"path": "./local", "editable": True})


# --------------------------------------------------------------------------- requirements files


def test_requirements_file_syntax(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """pip's format: continuations (ended by a comment line), comments, ${VAR}, -i dropping
    the extra indexes given before it, option spellings, -e . as the project itself."""
    monkeypatch.setenv("PRIVATE_HOST", "private.example")
    (tmp_path / "wheels").mkdir()
    (tmp_path / "requirements.txt").write_text(
        "--extra-index-url https://dropped.example/simple\n"
        "-i https://user:secret@${PRIVATE_HOST}/simple  # credentials are left out\n"
        "--extra-index-url=https://extra.example/simple\n"
        "-f wheels\n"
        "-e .\n"
        "alpha==1.0 \\\n"
        "    --hash=sha256:" + "a" * 64 + " \\\n"
        "    --hash sha256:" + "b" * 64 + " \\\n"
        "    # via something\n"
        "beta[x,y] >= 1.0, < 2 ; python_version < '3.13'\n"
        "gamma===1.0-custom\n"
    )
    imported = read_requirements(tmp_path / "requirements.txt", ImportContext(tmp_path))
    assert imported.requirements == ["alpha", "beta[x,y] >= 1.0, < 2 ; python_version < '3.13'", "gamma"]
    assert [(p.name, p.version, p.hashes) for p in imported.preferences] == [
        ("alpha", "1.0", frozenset({"a" * 64, "b" * 64})), ("gamma", "1.0-custom", frozenset())]
    assert imported.indexes.index_url == "https://private.example/simple"
    assert imported.indexes.extra_index_urls == ["https://extra.example/simple"]
    assert imported.indexes.find_links == ["wheels"]
    assert any("credentials" in note for note in imported.notes)
    assert any("a project of this workspace" in note for note in imported.notes)


@pytest.mark.parametrize(("line", "message"), [
    ("-e ../elsewhere", "local or VCS project"),
    ("git+https://example.com/repo.git#egg=thing", "local or VCS project"),
    ("thing @ https://example.com/thing-1.0.tar.gz", "direct URL"),
    ("--frobnicate", "not a requirements-file option"),
    ("-r missing.txt", "file not found"),
    ("-r requirements.txt", "includes itself"),
])
def test_requirements_file_refusals(tmp_path: Path, line: str, message: str) -> None:
    (tmp_path / "requirements.txt").write_text(f"alpha\n{line}\n")
    with pytest.raises(ImportRefused, match=message):
        read_requirements(tmp_path / "requirements.txt", ImportContext(tmp_path))


def test_hashed_requirements_import_into_an_empty_directory(tmp_path: Path, index, run_pypm: RunPypm) -> None:
    """-r (a path relative to the including file), -c (pins only: preferences), markers,
    extras and --index-url: the lock has exactly the pinned versions, newer ones on the index
    notwithstanding, with the hashes the file gave; the pyproject is created."""
    files = render("requirements", tmp_path / "reqs", index)
    project = tmp_path / "new-project"
    project.mkdir()
    out = run_pypm("import", files / "requirements.txt", cwd=project)
    assert "Imported 4 requirements" in out.stderr and "pypm sync" in out.stderr
    versions = {name: version for name, (version, _) in locked(project).items()}
    assert versions == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0", "delta": "0.2.3", "epsilon": "1.0"}
    text = (files / "requirements.txt").read_text() + (files / "sub" / "more.txt").read_text()
    given = hashes_in(text)
    assert set(given) == {"alpha", "gamma", "epsilon"}
    for name, digests in given.items():
        assert locked(project)[name][1] == digests, name
    data = pyproject(project)
    assert data["project"]["name"] == "new-project" and data["project"]["version"] == "0.1.0"
    assert data["project"]["dependencies"] == [
        "epsilon; sys_platform != \"emscripten\"", "alpha", "gamma[fast]; python_version >= \"3.8\"",
        "delta>=0.2,<0.3"]
    assert data["tool"]["pypm"]["index-url"] == index.url
    # the lock is current for the pyproject as written: nothing to do
    assert "All up to date" in run_pypm("lock", cwd=project).stderr


def test_import_keeps_the_pyproject_outside_the_edited_array(tmp_path: Path, index, run_pypm: RunPypm) -> None:
    head = ("# My project, with comments pypm must keep.\n[project]\nname = \"kept\"  # the name\n"
            "version = \"1.0\"\nrequires-python = \">=3.10\"\n")
    array = "dependencies = [\n    # a comment in the array\n    \"beta>=1.0\",\n]\n"
    tail = "\n[tool.other]\nkey = 'value'   # spacing kept\n\n[dependency-groups]\ndev = []\n"
    (tmp_path / "pyproject.toml").write_text(head + array + tail)
    (tmp_path / "requirements.txt").write_text("alpha==1.0\nbeta==1.0\n")
    run_pypm("import", "requirements.txt", cwd=tmp_path, env_extra={"PYPM_INDEX_URL": index.url})
    text = (tmp_path / "pyproject.toml").read_text()
    assert text.startswith(head) and text.endswith(tail)
    assert text[len(head):len(text) - len(tail)] == \
        "dependencies = [\n    # a comment in the array\n    \"beta>=1.0\",\n    \"alpha\",\n]\n"
    assert {n: v for n, (v, _) in locked(tmp_path).items()} == {"alpha": "1.0", "beta": "1.0"}


def test_group_option_puts_requirements_in_a_group(tmp_path: Path, index, run_pypm: RunPypm) -> None:
    (tmp_path / "dev-requirements.in").write_text("delta==0.2.3\n")
    run_pypm("import", "dev-requirements.in", "--group", "dev", cwd=tmp_path,
             env_extra={"PYPM_INDEX_URL": index.url})
    data = pyproject(tmp_path)
    assert data["project"]["dependencies"] == [] and data["dependency-groups"] == {"dev": ["delta"]}
    assert locked(tmp_path)["delta"][0] == "0.2.3"
    refused = run_pypm("import", "dev-requirements.in", "--group", "not valid", cwd=tmp_path, check=False,
                       env_extra={"PYPM_INDEX_URL": index.url})
    assert refused.returncode == 2 and "--group 'not valid' is not a valid dependency group name" in refused.stderr
    assert pyproject(tmp_path) == data


def test_pins_forked_by_marker_are_kept_for_each_marker(tmp_path: Path, index, run_pypm: RunPypm) -> None:
    """A universal requirements file pins one package to a version per marker: each pin is
    kept (one preferred version could not say it), and every pin is checked against the lock."""
    (tmp_path / "requirements.txt").write_text('alpha==1.0 ; python_version < "3.12"\n'
                                               'alpha==2.0 ; python_version >= "3.12"\nbeta==1.0\n')
    result = run_pypm("import", "requirements.txt", cwd=tmp_path, env_extra={"PYPM_INDEX_URL": index.url})
    assert "could not be kept" not in result.stderr + result.stdout
    assert pyproject(tmp_path)["project"]["dependencies"] == [
        'alpha==1.0; python_version < "3.12"', 'alpha==2.0; python_version >= "3.12"', "beta"]
    versions = [p["version"] for p in tomllib.loads((tmp_path / "pylock.toml").read_text())["packages"]
                if p["name"] == "alpha"]
    assert sorted(versions) == ["1.0", "2.0"]


def test_every_pin_not_locked_is_reported() -> None:
    from packaging.version import Version

    from pypm.operations.importers.apply import not_kept
    from pypm.operations.importers.common import Preference

    pins = [Preference("alpha", "1.0", origin="a.txt:1"), Preference("alpha", "1.5", origin="b.txt:1")]
    assert not_kept({"alpha": {Version("1.5"): set()}}, pins) == ["alpha 1.0 (a.txt:1) could not be kept: locked 1.5"]


# --------------------------------------------------------------------------- projects of other tools


def test_poetry_project_with_its_lock(tmp_path: Path, index, run_pypm: RunPypm) -> None:
    """A Poetry 1 project (no [project]) imported in place: the lock has poetry.lock's
    versions and hashes; the constraints are converted; extras, groups and the source carry over."""
    root = render("poetry", tmp_path / "poetry-app", index)
    original = (root / "pyproject.toml").read_text()
    run_pypm("import", "poetry.lock", cwd=root)
    poetry_lock = tomllib.loads((root / "poetry.lock").read_text())
    expected = {p["name"]: (p["version"], {f["hash"].removeprefix("sha256:") for f in p["files"]})
                for p in poetry_lock["package"]}
    assert locked(root) == expected
    text = (root / "pyproject.toml").read_text()
    settings = f'[tool.pypm]\nindex-url = "{index.url}"\n\n'
    assert settings in text  # among the other [tool.*] tables; the rest as it was, [project] after it
    assert text.replace(settings, "").startswith(original)
    project = pyproject(root)["project"]
    assert project["name"] == "poetry-app" and project["version"] == "1.2.0"
    assert project["requires-python"] == ">=3.10,<4.0"
    assert project["dependencies"] == ["alpha>=1.0.0,<2.0.0", "gamma[fast]>=1.0.0,<1.1.0"]
    assert project["optional-dependencies"] == {"speed": ["delta>=0.2.0,<0.3.0"]}
    assert pyproject(root)["dependency-groups"] == {"test": ["beta"]}
    assert pyproject(root)["tool"]["pypm"]["index-url"] == index.url


@pytest.mark.parametrize(("fixture", "file", "groups"), [
    ("pipenv", "Pipfile", {"dev": ["delta~=0.2"]}),
    ("pdm", "pyproject.toml", {"dev": ["delta>=0.2,<0.3"]}),
    ("uv", "uv.lock", {"dev": ["delta>=0.2,<0.3"]}),
])
def test_lock_files_pin_their_versions(fixture: str, file: str, groups: dict, tmp_path: Path, index,
                                       run_pypm: RunPypm) -> None:
    """Pipfile(+lock), PDM and uv projects: the lock keeps the versions (and hashes) of
    their locks, though newer ones are on the index; dev dependencies become the dev group."""
    root = render(fixture, tmp_path / f"{fixture}-app", index)
    target = root if fixture != "pipenv" else tmp_path / "target"
    target.mkdir(exist_ok=True)
    run_pypm("import", root / file, cwd=target)
    versions = {name: version for name, (version, _) in locked(target).items()}
    assert versions == {"alpha": "1.0", "beta": "1.0", "gamma": "1.0", "delta": "0.2.3"}
    data = pyproject(target)
    assert data["dependency-groups"] == groups
    assert index.url in json.dumps(data["tool"]["pypm"])
    if fixture == "pipenv":
        assert data["project"]["requires-python"] == ">=3.10"
        digests = {name: {h.removeprefix("sha256:") for h in entry["hashes"]}
                   for section in ("default", "develop")
                   for name, entry in json.loads((root / "Pipfile.lock").read_text())[section].items()}
        assert {name: files for name, (_, files) in locked(target).items()} == digests


# --------------------------------------------------------------------------- failures


def test_failed_resolution_leaves_both_files_as_they_were(tmp_path: Path, index, run_pypm: RunPypm) -> None:
    env = {"PYPM_INDEX_URL": index.url}
    (tmp_path / "requirements.txt").write_text("alpha==1.0\n")
    run_pypm("import", "requirements.txt", cwd=tmp_path, env_extra=env)
    before = {name: (tmp_path / name).read_bytes() for name in ("pyproject.toml", "pylock.toml")}
    (tmp_path / "more.txt").write_text("gamma==1.0\nalpha>=9\n")
    proc = run_pypm("import", "more.txt", cwd=tmp_path, env_extra=env, check=False)
    assert "alpha" in assert_one_error_line(proc, 1)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    # a hash mismatch is found after the new lock was written: the old one is put back
    (tmp_path / "hashed.txt").write_text(f"beta==1.0 --hash=sha256:{'0' * 64}\n")
    proc = run_pypm("import", "hashed.txt", cwd=tmp_path, env_extra=env, check=False)
    assert "beta 1.0" in assert_one_error_line(proc, 2)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before


def test_hash_mismatch_is_refused_in_one_line(tmp_path: Path, index, run_pypm: RunPypm) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "requirements.txt").write_text(
        f"--index-url {index.url}\nbeta==1.0\nalpha==1.0 --hash=sha256:{'0' * 64}\n")
    proc = run_pypm("import", "requirements.txt", cwd=project, check=False)
    line = assert_one_error_line(proc, 2)
    assert "alpha 1.0" in line and "requirements.txt:3" in line
    assert sorted(p.name for p in project.iterdir()) == ["requirements.txt"]  # nothing written, no lock left


def test_unknown_file_kind_is_refused_in_one_line(tmp_path: Path, run_pypm: RunPypm) -> None:
    project = tmp_path / "project"
    project.mkdir()
    (project / "setup.cfg").write_text("[metadata]\nname = x\n")
    line = assert_one_error_line(run_pypm("import", "setup.cfg", cwd=project, check=False), 2)
    assert "requirements files" in line and "Poetry" in line and "Pipfile" in line and "uv" in line
    (project / "pyproject.toml").write_text("[project]\nname = 'x'\nversion = '1'\n")
    with pytest.raises(ImportRefused) as refused:
        detect_kind(project / "pyproject.toml")
    assert "needs no import" in refused.value.one_line()
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "setup.cfg"]


def test_a_poetry_project_in_non_package_mode_syncs(tmp_path: Path, index, run_pypm: RunPypm) -> None:
    """``package-mode = false``: poetry-core refuses to build the project, so its
    [build-system] goes (with a warning) and the imported project syncs its dependencies."""
    root = tmp_path / "scripts-only"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[tool.poetry]\nname = "poe"\npackage-mode = false\n\n[tool.poetry.dependencies]\npython = "^3.10"\n'
        'alpha = ">=1.0,<2.0"\n\n[build-system]\nrequires = ["poetry-core"]\n'
        'build-backend = "poetry.core.masonry.api"\n')
    imported = run_pypm("import", "pyproject.toml", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert "package-mode = false" in imported.stderr and "[build-system]" in imported.stderr, imported.stderr
    assert "build-system" not in pyproject(root) and pyproject(root)["project"]["name"] == "poe"
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert run_pypm("run", "python", "-c", "import alpha", cwd=root, env_extra={"PYPM_INDEX_URL": index.url},
                    check=False).returncode == 0
