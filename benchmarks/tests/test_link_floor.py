"""The link floor: the plan of an environment and the minimal program that recreates it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.link_floor import BARE_LINKER, MINIMAL_LINKER, plan_for, time_cp


def _fake_venv(root: Path) -> Path:
    site = root / ".venv" / "lib" / "python3.11" / "site-packages"
    for relative, text in {"pkg/__init__.py": "", "pkg/sub/a.py": "A = 1\n", "top.py": "T = 2\n",
                           "pkg/__pycache__/x.cpython-311.pyc": "x"}.items():
        (site / relative).parent.mkdir(parents=True, exist_ok=True)
        (site / relative).write_text(text)
    return root / ".venv"


def test_plan_lists_directories_parents_first_and_files_without_caches(tmp_path: Path) -> None:
    plan = plan_for(_fake_venv(tmp_path))
    assert plan.site == "lib/python3.11/site-packages"
    assert plan.dirs == ["pkg", os.path.join("pkg", "sub")]
    assert sorted(relative for _, relative in plan.files) == sorted(
        ["top.py", os.path.join("pkg", "__init__.py"), os.path.join("pkg", "sub", "a.py")])


def test_minimal_program_links_the_same_inodes(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path)
    plan = plan_for(venv)
    plan_file = tmp_path / "plan.json"
    for threads in (1, 2):
        plan_file.write_text(plan.to_json(threads))
        target = tmp_path / f"copy-{threads}"
        subprocess.run([sys.executable, "-c", MINIMAL_LINKER, str(plan_file), str(target), str(threads)], check=True)
        assert (target / "pyvenv.cfg").is_file()
        for source, relative in plan.files:
            assert os.path.samefile(source, target / plan.site / relative)


@pytest.mark.skipif(os.name == "nt", reason="the bare program links its interpreter (POSIX)")
def test_bare_program_makes_a_venv_python_runs_and_links_the_same_inodes(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path)
    plan = plan_for(venv)
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(plan.to_json(2))
    target = tmp_path / "bare"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([sys.executable, "-c", BARE_LINKER, str(plan_file), str(target), "2", base], check=True)
    for source, relative in plan.files:
        assert os.path.samefile(source, target / plan.site / relative)
    out = subprocess.run([str(target / "bin" / "python"), "-c", "import sys; print(sys.prefix != sys.base_prefix)"],
                         capture_output=True, text=True, check=True).stdout
    assert out.strip() == "True", "a venv the interpreter recognises"


def test_shares_keep_each_top_level_name_in_one_thread(tmp_path: Path) -> None:
    plan = plan_for(_fake_venv(tmp_path))
    first, second = plan.shares(2)
    names = [{relative.split(os.sep)[0] for relative in share["dirs"]}
             | {relative.split(os.sep)[0] for _, relative in share["files"]} for share in (first, second)]
    assert names == [{"pkg"}, {"top.py"}]
    assert first["dirs"] == ["pkg", os.path.join("pkg", "sub")]


def test_cp_floor_cleans_up(tmp_path: Path) -> None:
    venv = _fake_venv(tmp_path)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    elapsed = time_cp(venv / plan_for(venv).site, scratch)
    assert elapsed is None or elapsed > 0
    assert list(scratch.iterdir()) == []
