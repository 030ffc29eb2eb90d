"""The index client: simple-API pages (PEP 503/691), find-links, metadata, downloads."""
