"""This repository's own dev/CI tasks for doit (loaded by ``dodo.py``; never installed)."""

from tasks.bench import task_bench
from tasks.dev import task_example, task_lint, task_test

__all__ = ["task_bench", "task_example", "task_lint", "task_test"]
