"""The resolver: resolvelib over the index client, universal across environments."""
