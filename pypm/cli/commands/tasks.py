"""``pypm tasks``: list the tasks of ``[tool.pypm.tasks]`` in the root and the members."""

from __future__ import annotations

import argparse

HELP = "list the workspace's tasks (root and members) with what they need and do"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """No options of its own: the global ones pick the workspace."""


def run(options: argparse.Namespace) -> int:
    """Print one line per task."""
    from pypm.cli.graph_run import load_task_context
    from pypm.cli.task_choice import print_task_list

    print_task_list(load_task_context(options))
    return 0
