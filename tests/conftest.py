"""Test configuration: pypm's own pytest plugin serves local indexes and runs the CLI."""

pytest_plugins = ["pypm.testing.plugin"]
