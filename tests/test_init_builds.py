"""``pypm init`` makes projects that build: the name is normalised (PEP 503), the import
package is an identifier, and the flit_core configuration matches the layout, so
``pypm init X && pypm sync && pypm run python -c "import <module>"`` works.

The build backend (flit_core) is served by the local test index, re-packed from the
copy installed in the test environment.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from pypm.testing.plugin import RunPypm
from tests.test_init_and_cli_errors import assert_one_error_line, snapshot
from tests.test_lock_sync import installed, site_packages

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@pytest.fixture
def flit_index(make_index, tmp_path: Path) -> dict[str, str]:
    """An index with flit_core (for the generated build-system) and one package."""
    from pypm.testing.builders import wheel_from_installed

    index = make_index([DistSpec("alpha", "1.0")])
    index.add(wheel_from_installed("flit_core", tmp_path))
    return {"PYPM_INDEX_URL": index.url}


BUILD_CASES = [
    # (id, pypm init arguments, directory made, project name, import package)
    ("dotted", ["acme.tools"], "acme.tools", "acme-tools", "acme_tools"),
    ("spaces", ["My Cool Project"], "My Cool Project", "my-cool-project", "my_cool_project"),
    ("leading-digit", ["2fast"], "2fast", "2fast", "_2fast"),
    ("keyword", ["class"], "class", "class", "class_"),
    ("stubs-suffix", ["types-stubs"], "types-stubs", "types-stubs", "types_stubs"),
    ("explicit-name", ["dir", "--name", "Acme_Widget.Core"], "dir", "acme-widget-core", "acme_widget_core"),
]


@pytest.mark.parametrize(("args", "folder", "name", "module"), [c[1:] for c in BUILD_CASES],
                         ids=[c[0] for c in BUILD_CASES])
def test_init_then_sync_then_import(args: list[str], folder: str, name: str, module: str, flit_index,
                                    run_pypm: RunPypm, tmp_path: Path) -> None:
    run_pypm("init", *args, cwd=tmp_path)
    root = tmp_path / folder
    document = tomllib.loads((root / "pyproject.toml").read_text("utf-8"))
    assert document["project"]["name"] == name
    assert document["tool"]["flit"]["module"]["name"] == module
    assert (root / "src" / module / "__init__.py").is_file()

    run_pypm("sync", cwd=root, env_extra=flit_index)
    out = run_pypm("run", "python", "-c", f"import {module}; print({module}.__version__); print({module}.__file__)",
                   cwd=root, env_extra=flit_index)
    version, location = out.stdout.splitlines()
    assert version == "0.1.0"
    assert Path(location).resolve() == (root / "src" / module / "__init__.py").resolve()  # editable
    assert installed(root / ".venv")[name] == "0.1.0"
    wheel = next(site_packages(root / ".venv")[0].glob("*.dist-info/WHEEL"))
    assert "Generator: flit" in wheel.read_text()  # built by the backend the project names


def test_init_with_a_dependency_builds_and_installs_it(flit_index, run_pypm: RunPypm, tmp_path: Path) -> None:
    run_pypm("init", "acme.tools", cwd=tmp_path)
    root = tmp_path / "acme.tools"
    text = (root / "pyproject.toml").read_text("utf-8")
    (root / "pyproject.toml").write_text(text.replace("dependencies = []", 'dependencies = ["alpha"]'), "utf-8")
    run_pypm("sync", cwd=root, env_extra=flit_index)
    assert installed(root / ".venv") == {"acme-tools": "0.1.0", "alpha": "1.0"}


REFUSED = [
    # (id, arguments, fragment of the one error line)
    ("name-with-space", ["new", "--name", "bad name!"], "bad name!"),
    ("name-ending-in-dash", ["new", "--name", "trailing-"], "trailing-"),
    ("python-not-a-version", ["new", "--python", "abc"], "abc"),
    ("python-2", ["new", "--python", "2.7"], "2.7"),
    ("python-specifier", ["new", "--python", ">=3.10"], ">=3.10"),
    ("folder-without-letters", ["!!!"], "--name"),
]


@pytest.mark.parametrize(("args", "fragment"), [c[1:] for c in REFUSED], ids=[c[0] for c in REFUSED])
def test_init_refuses_bad_input_before_writing(args: list[str], fragment: str, run_pypm: RunPypm,
                                               tmp_path: Path) -> None:
    before = snapshot(tmp_path)
    proc = run_pypm("init", *args, cwd=tmp_path, check=False)
    assert fragment in assert_one_error_line(proc, exit_code=2)
    assert snapshot(tmp_path) == before  # no directory, no pyproject, no .gitignore


@pytest.mark.parametrize("python", ["3", "3.12", "3.12.1"])
def test_init_accepts_python_versions(python: str, run_pypm: RunPypm, tmp_path: Path) -> None:
    run_pypm("init", "p", "--python", python, cwd=tmp_path)
    project = tomllib.loads((tmp_path / "p/pyproject.toml").read_text("utf-8"))["project"]
    assert project["requires-python"] == f">={python}"
