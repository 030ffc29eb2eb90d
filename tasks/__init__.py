"""This repository's own dev/CI tasks for doit (loaded by ``dodo.py``; never installed)."""

from tasks.dev import task_example, task_lint, task_test

__all__ = ["task_example", "task_lint", "task_test"]
