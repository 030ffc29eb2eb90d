"""The Merkle root of an environment's installed files, as the sync stamp records it and
``pypm verify`` recomputes it.

Convention (fixed: a stamp written by one pypm is checked by the next):

- one leaf per installed file: ``sha256(path + "\\0" + digest)``, where ``path`` is the
  file's path relative to the environment's root in POSIX form (``lib/python3.12/
  site-packages/alpha/__init__.py``, ``bin/alpha-cli``) encoded as UTF-8, and ``digest``
  is the file's hex digest: its sha256 (what pypm writes in every RECORD), or, for a row
  another installer wrote with another algorithm, ``<algorithm>:<hex>``;
- leaves sorted by the UTF-8 bytes of their paths (paths are unique);
- each level pairs neighbours, ``sha256(left + right)`` (raw 32-byte digests); an odd node
  at the end of a level goes up unchanged (RFC 6962's rule, which, unlike duplicating it,
  never gives two different leaf lists the same root);
- the root is the hex of the last node; no leaves at all give ``sha256(b"")``.

A leaf's input is longer than 64 bytes (its digest alone is 64 hex characters) and an inner
node's is exactly 64 raw bytes, so a leaf can never pass for an inner node.
"""

from __future__ import annotations

from collections.abc import Iterable
from hashlib import sha256


def leaf(path: str, digest: str) -> bytes:
    """The leaf of one file: ``path`` relative to the environment root (POSIX), ``digest``
    its hex digest (see the module docstring)."""
    return sha256(f"{path}\0{digest}".encode()).digest()


def merkle_root(files: Iterable[tuple[str, str]]) -> str:
    """The root over ``(path, digest)`` pairs (any order; sorted here by path)."""
    # Sorted as str: code point order is UTF-8 byte order (a path that cannot be encoded
    # as UTF-8 fails when its leaf is encoded, as it failed in the sort key before). The
    # leaves are leaf()'s, inlined (a hot loop: one per installed file on every sync).
    level = [sha256(f"{path}\0{digest}".encode()).digest() for path, digest in sorted(files)]
    if not level:
        return sha256(b"").hexdigest()
    while len(level) > 1:
        paired = [sha256(level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0].hex()
