"""Bundles: one reproducible archive with the lock, every wheel a target needs, the
workspace members' wheels, a manifest with a Merkle root, a stdlib-only ``install.py``
and optionally the interpreter itself (``pypm bundle``, ``pypm unbundle``)."""
