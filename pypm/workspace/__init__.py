"""The workspace model: finding the root, its members and their ``pyproject.toml`` tables."""
