"""A ``file://`` index (a PEP 503 directory tree of ``index.html`` pages) works end to end:
``pypm lock`` reads its pages, sizes and hashes from disk and ``pypm sync`` installs
from it, online or offline."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import pytest
import tomllib

from pypm.interpreter import venv_python
from pypm.testing import DistSpec, build_wheel
from tests.workspaces import write


def simple_tree(root: Path, specs: list[DistSpec], hashes: bool) -> Path:
    """``root/files/*.whl`` and ``root/simple/<name>/index.html`` linking to them."""
    files = root / "files"
    pages: dict[str, list[str]] = {}
    for spec in specs:
        wheel = build_wheel(spec, files)
        fragment = f"#sha256={hashlib.sha256(wheel.read_bytes()).hexdigest()}" if hashes else ""
        pages.setdefault(spec.normalized_name.replace("_", "-"), []).append(
            f'<a href="../../files/{wheel.name}{fragment}">{wheel.name}</a>')
    for name, anchors in pages.items():
        write(root / "simple" / name / "index.html", "<html><body>\n" + "\n".join(anchors) + "\n</body></html>\n")
    (root / "simple" / "index.html").write_text("".join(f'<a href="{n}/">{n}</a>\n' for n in pages))
    return root / "simple"


def project(root: Path, index_url: str) -> Path:
    write(root / "pyproject.toml", f"""
        [project]
        name = "proj"
        version = "1.0"
        requires-python = ">=3.11"
        dependencies = ["alpha"]

        [tool.pypm]
        index-url = "{index_url}"
    """)
    return root


@pytest.mark.parametrize("hashes", [True, False], ids=["with-hashes", "no-hashes"])
def test_file_index_lock_and_sync(tmp_path, run_pypm, hashes) -> None:
    simple = simple_tree(tmp_path / "index dir", [DistSpec("alpha", "1.0", requires=["beta"]),
                                                  DistSpec("alpha", "1.1", requires=["beta"]),
                                                  DistSpec("beta", "2.0")], hashes)
    root = project(tmp_path / "p", simple.as_uri() + "/")
    run_pypm("lock", "sync", cwd=root)
    packages = {p["name"]: p for p in tomllib.loads((root / "pylock.toml").read_text())["packages"]}
    assert packages["alpha"]["version"] == "1.1" and packages["beta"]["version"] == "2.0"
    wheel = packages["alpha"]["wheels"][0]
    on_disk = tmp_path / "index dir" / "files" / wheel["name"]
    assert wheel["size"] == on_disk.stat().st_size
    assert wheel["hashes"]["sha256"] == hashlib.sha256(on_disk.read_bytes()).hexdigest()
    code = "import alpha, beta; print('ok')"
    out = subprocess.run([str(venv_python(root / ".venv")), "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_file_index_works_offline(tmp_path, run_pypm) -> None:
    """A local index needs no network: offline with an empty cache still locks."""
    simple = simple_tree(tmp_path / "index", [DistSpec("alpha", "1.0")], hashes=False)
    root = project(tmp_path / "p", simple.as_uri() + "/")
    run_pypm("lock", cwd=root, env_extra={"PYPM_OFFLINE": "1"})
    assert "alpha" in (root / "pylock.toml").read_text()


def test_file_index_without_the_project_says_so(tmp_path, run_pypm) -> None:
    simple = simple_tree(tmp_path / "index", [DistSpec("beta", "1.0")], hashes=True)
    root = project(tmp_path / "p", simple.as_uri() + "/")
    result = run_pypm("lock", cwd=root, check=False)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no usable version of 'alpha'" in lines[0], result.stderr


def test_file_index_lock_loads_no_http_stack(tmp_path, pypm_env) -> None:
    """Pages, sizes, hashes and metadata of a ``file://`` index are read from disk: the lock
    never imports httpx (the HTTP client is made on the first request)."""
    import sys

    simple = simple_tree(tmp_path / "index", [DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0")],
                         hashes=True)
    root = project(tmp_path / "p", simple.as_uri() + "/")
    code = ("import sys; from pypm.cli.main import main; code = main(['lock', '-q']); "
            "print(code, sorted({m.split('.')[0] for m in sys.modules} & {'httpx', 'httpcore'}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=pypm_env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "0 []", out.stderr
    assert "beta" in (root / "pylock.toml").read_text()
