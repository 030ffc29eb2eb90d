"""Builders for the small workspaces and indexes the end-to-end tests use."""

from __future__ import annotations

import textwrap
from pathlib import Path

from pypm.testing import DistSpec

INDEX_SPECS = [
    DistSpec("alpha", "1.0"),
    DistSpec("alpha", "2.0", requires=["beta>=1"]),
    DistSpec("beta", "1.0"),
    DistSpec("beta", "1.1"),
    DistSpec("tomli", "2.0.1", requires_python=">=3.7"),
    DistSpec("gamma", "1.0", entry_points={"gamma-cli": "gamma:main"},
             files={"gamma/__init__.py": "def main():\n    print('gamma says hi')\n"}),
    DistSpec("devtool", "1.0"),
    DistSpec("extrapkg", "1.0"),
    DistSpec("extra-only-in-venv", "1.0"),
]


def write(path: Path, text: str) -> Path:
    """Write dedented ``text`` to ``path``, creating parents."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def write_project(
    root: Path, dependencies: list[str], *, name: str = "proj", requires_python: str = ">=3.11",
    dev: list[str] | None = None, tool: str | None = None,
) -> Path:
    """A one-member project at ``root`` with no build backend (pypm installs it editable with
    its own ``.pth`` wheel): ``dev`` adds a dev dependency group, ``tool`` lines go into
    a ``[tool.pypm]`` table (written, possibly empty, unless ``tool`` is None)."""
    quoted = ", ".join(f'"{d}"' for d in dependencies)
    lines = ["[project]", f'name = "{name}"', 'version = "1.0"', f'requires-python = "{requires_python}"',
             f"dependencies = [{quoted}]"]
    if dev is not None:
        lines += ["", "[dependency-groups]", "dev = [" + ", ".join(f'"{d}"' for d in dev) + "]"]
    if tool is not None:
        lines += ["", "[tool.pypm]", *textwrap.dedent(tool).strip().splitlines()]
    (root / "pyproject.toml").parent.mkdir(parents=True, exist_ok=True)
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    return root


def make_workspace(root: Path) -> Path:
    """A two-member workspace: ``lib`` (alpha, marker-gated tomli) and ``app``
    (lib, gamma, extra ``cli`` -> extrapkg), with a root ``dev`` group (devtool)."""
    write(root / "pyproject.toml", """
        [tool.pypm.workspace]
        members = ["packages/*"]

        [dependency-groups]
        dev = ["devtool"]
    """)
    write(root / "packages/lib/pyproject.toml", """
        [project]
        name = "lib"
        version = "0.1.0"
        requires-python = ">=3.10"
        dependencies = ["alpha>=2", "tomli>=2; python_version < '3.11'"]
    """)
    write(root / "packages/lib/src/lib/__init__.py", "from alpha import __version__ as ALPHA\n")
    write(root / "packages/app/pyproject.toml", """
        [project]
        name = "app"
        version = "0.2.0"
        requires-python = ">=3.10"
        dependencies = ["lib", "gamma"]

        [project.optional-dependencies]
        cli = ["extrapkg"]

        [project.scripts]
        app-hello = "app:hello"
    """)
    write(root / "packages/app/src/app/__init__.py", """
        import lib

        def hello():
            print("hello from app, alpha", lib.ALPHA)
    """)
    return root


def replace_in(path: Path, old: str, new: str) -> None:
    """Edit a file in place, asserting ``old`` is there."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def lone_flit_project(root: Path, index) -> Path:
    """``lone`` 2.0 at ``root``: one module, requires alpha, built by flit_core (whose
    wheel, from this interpreter, is added to ``index`` for the build environment)."""
    from pypm.testing.builders import wheel_from_installed

    index.add(wheel_from_installed("flit_core", root.parent))
    (root / "lone").mkdir(parents=True)
    (root / "lone" / "__init__.py").write_text('"""A lone project."""\n')
    (root / "pyproject.toml").write_text(
        '[project]\nname = "lone"\nversion = "2.0"\ndescription = "x"\nrequires-python = ">=3.10"\n'
        'dependencies = ["alpha"]\n\n[build-system]\nrequires = ["flit_core>=3.9,<5"]\n'
        'build-backend = "flit_core.buildapi"\n')
    return root


#: Source of ``_editable_wheel`` for the in-tree PEP 660 test backends (stdlib only; they
#: run in a build environment without pypm): append it to a backend's source.
EDITABLE_WHEEL_SOURCE = '''

def _editable_wheel(wheel_directory, name, version, files, source):
    """Write an editable wheel of ``name``: a .pth naming ``source``, the dist-info
    ``files`` and their RECORD; return its file name."""
    import base64, hashlib, pathlib, zipfile

    info = f"{name}-{version}.dist-info"
    members = {f"{name}.pth": str(source) + "\\n", **{f"{info}/{k}": v for k, v in files.items()}}
    rows = []
    for path, text in members.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        rows.append(f"{path},sha256={digest},{len(text.encode())}\\n")
    members[f"{info}/RECORD"] = "".join(rows) + f"{info}/RECORD,,\\n"
    wheel = f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(pathlib.Path(wheel_directory) / wheel, "w") as archive:
        for path, text in members.items():
            archive.writestr(path, text)
    return wheel
'''
