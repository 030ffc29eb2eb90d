"""doit entry point for this repository's own dev tasks (see ``tasks/``): run ``doit list``."""

from tasks import task_bench, task_example, task_lint, task_test  # noqa: F401

DOIT_CONFIG = {"default_tasks": ["test"], "verbosity": 2}
