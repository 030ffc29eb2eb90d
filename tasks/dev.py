"""Dev tasks: the test suite, lint, and pypm's main job on workspace-example."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def task_test() -> dict:
    """Run the whole test suite."""
    return {"actions": [f"{PYTHON} -m pytest -q -n auto"], "verbosity": 2, "uptodate": [False]}


def task_lint() -> dict:
    """ruff over the package, tests and tasks."""
    return {"actions": [f"{PYTHON} -m ruff check pypm tests tasks benchmarks"], "verbosity": 2, "uptodate": [False]}


def task_example() -> dict:
    """Lock, sync and test workspace-example with pypm (incremental: pypm skips what is fresh)."""
    example = ROOT / "workspace-example"
    return {
        "actions": [
            f"cd {example} && {PYTHON} -m pypm lock sync && {PYTHON} -m pypm run pytest -q",
        ],
        "verbosity": 2,
        "uptodate": [False],
    }
