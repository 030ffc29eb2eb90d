"""Benchmark harness: pypm against uv, pip-tools, Poetry and PDM (issue 3).

Run ``python -m benchmarks --help`` from the repository root. Nothing here is part of the
installed pypm package: the harness installs every tool, pypm included, into its own venv
under ``benchmarks/.work/tools/``.
"""

from __future__ import annotations

from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / ".work"
PROJECTS_DIR = BENCH_DIR / "projects"  # bench projects kept in this repository (r150)

__all__ = ["BENCH_DIR", "PROJECTS_DIR", "REPO_ROOT", "WORK_DIR"]
