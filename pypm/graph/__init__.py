"""The task graph: doit task dicts for each operation, the loader/runner, and the fast
freshness check that answers "all up to date" without importing doit."""

#: The operations a graph run can do, in the order they run.
GRAPH_OPERATIONS = ("lock", "sync", "bundle")
