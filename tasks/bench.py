"""Benchmark task: pypm against uv, pip-tools, Poetry and PDM (see ``benchmarks/README.md``)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def task_bench() -> dict:
    """Run the comparison on r2 against the local snapshot (``python -m benchmarks --help`` for more)."""
    return {
        "actions": [f"cd {ROOT} && {sys.executable} -m benchmarks --projects r2 --runs 3 --warmup 1"],
        "verbosity": 2,
        "uptodate": [False],
    }
