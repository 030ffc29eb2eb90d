"""An environment's installed files against their distributions' RECORD files (PEP 376,
PEP 627): read every RECORD, re-hash every file it lists (in parallel), and find the files
in site-packages and the scripts directory that no RECORD lists.

Which rows count: a row with a hash is *checked* (re-hashed, its size compared) and is a
leaf of the environment's Merkle root (:mod:`pypm.install.merkle`); a row without one (the
RECORD file itself; ``.pyc`` files or others another installer listed bare) is only
checked for being there. ``.pyc`` rows are never checked nor leaves, and may be missing:
Python writes, rewrites and deletes compiled files itself. A file no RECORD lists is
*added*, except ``__pycache__`` directories, ``.pyc`` files and the files :mod:`venv`
itself puts in the scripts directory (the interpreter links and ``activate`` scripts).

A script with a ``#!python`` shebang is rewritten for the environment's interpreter when
it is linked; pypm's RECORD row hashes the rewritten file (see
:func:`pypm.store.link.link_entry`), but environments linked by pypm 0.1.0 before that
fix kept the digest of the wheel's file. So such a file also matches when its first line
is exactly ``#!<this environment's python>`` and the file with ``#!python`` there instead
has the recorded digest -- precisely what that linking made, nothing else.
"""

from __future__ import annotations

import binascii
import csv
import hashlib
import os
import re
from binascii import a2b_base64
from collections.abc import Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from pypm.install.merkle import merkle_root

#: Files :mod:`venv` makes in the scripts directory (POSIX and Windows names).
_VENV_SCRIPTS = re.compile(
    r"^(pythonw?(\d+(\.\d+)?)?(\.exe)?|activate(\.bat|\.csh|\.fish|\.nu|\.ps1)?|deactivate\.bat)$", re.IGNORECASE)
#: The first line of a script as the wheel has it, before linking rewrites it.
_WHEEL_SHEBANG = b"#!python\n"
_CHUNK = 1 << 20
#: Files at least this large are hashed in worker threads (see :func:`hash_files`).
LARGE = 256 << 10


@dataclass(frozen=True)
class RecordedFile:
    """One RECORD row: the file's absolute path, its path relative to the environment root
    (POSIX), the hash algorithm and hex digest (None for a row without a hash) and size."""

    path: str
    relative: str
    algorithm: str | None
    digest: str | None
    size: int | None

    @property
    def checked(self) -> bool:
        """Re-hashed by verify and a leaf of the Merkle root (see the module docstring)."""
        return self.digest is not None and not self.path.endswith(".pyc")

    @property
    def leaf_digest(self) -> str:
        """The recorded digest as a Merkle leaf names it (``algorithm:hex`` unless sha256)."""
        return leaf_digest(self.algorithm or "", self.digest or "")


def leaf_digest(algorithm: str, hexdigest: str) -> str:
    """How a leaf names a digest: the bare hex for sha256, else ``algorithm:hex``."""
    return hexdigest if algorithm == "sha256" else f"{algorithm}:{hexdigest}"


def site_dirs(scheme: dict[str, str]) -> list[str]:
    """purelib and platlib of an install scheme, once each (they are often one directory)."""
    found: dict[str, str] = {}
    for key in ("purelib", "platlib"):
        if key in scheme:
            found.setdefault(os.path.realpath(scheme[key]), os.path.normpath(scheme[key]))
    return list(found.values())


def dist_info_dirs(sites: Iterable[str]) -> list[str]:
    """Every ``*.dist-info`` directory with a RECORD in ``sites``, sorted."""
    found = []
    for site in sites:
        try:
            with os.scandir(site) as entries:
                found += [e.path for e in entries if e.name.endswith(".dist-info") and e.is_dir()]
        except OSError:
            continue
    return sorted(path for path in found if os.path.isfile(os.path.join(path, "RECORD")))


def read_record(dist_info: str, env_root: str) -> list[RecordedFile]:
    """The rows of a dist-info's RECORD (paths relative to its site-packages, or absolute);
    rows without a path are skipped, a hash that cannot be read never matches."""
    with open(os.path.join(dist_info, "RECORD"), encoding="utf-8", errors="replace", newline="") as handle:
        rows = list(csv.reader(handle))
    return recorded_files(dist_info, rows, env_root)


def recorded_files(dist_info: str, rows: Iterable[Sequence[str]], env_root: str) -> list[RecordedFile]:
    """:func:`read_record` for the rows of a RECORD already in memory."""
    files = []
    for row, path, relative in _located(dist_info, rows, env_root):
        algorithm, digest = _parse_hash(row[1] if len(row) > 1 else "")
        size = int(row[2]) if len(row) > 2 and row[2].isdigit() else None
        files.append(RecordedFile(path, relative, algorithm, digest, size))
    return files


def _located(dist_info: str, rows: Iterable[Sequence[str]], env_root: str) -> Iterator[tuple[Sequence[str], str, str]]:
    """(row, absolute path, path relative to ``env_root``) of each row with a path, the
    first row of a path only."""
    site, env_root = os.path.normpath(os.path.dirname(dist_info)), os.path.normpath(env_root)
    prefix = _relative(site, env_root) + "/"
    seen = set()
    for row in rows:
        if not row or not row[0] or row[0] in seen:
            continue
        seen.add(row[0])
        name = row[0]
        if _is_plain(name):  # the quick way to what the general one gives (most rows)
            yield row, site + os.sep + name.replace("/", os.sep), prefix + name
        else:
            path = os.path.normpath(name if os.path.isabs(name) else os.path.join(site, name))
            yield row, path, _relative(path, env_root)


def _leaves(dist_info: str, rows: Iterable[Sequence[str]], env_root: str) -> Iterator[tuple[str, str]]:
    """(relative path, leaf digest) of each row that is a Merkle leaf: what
    ``recorded_files`` gives for the rows that are ``checked``, without making them (a hot
    loop, once per installed file on every sync: :func:`_located`'s work inlined for the
    plain paths that nearly every row has)."""
    site, env_root = os.path.normpath(os.path.dirname(dist_info)), os.path.normpath(env_root)
    prefix = _relative(site, env_root) + "/"
    seen: set[str] = set()
    for row in rows:
        if not row or not row[0] or row[0] in seen:
            continue
        name = row[0]
        seen.add(name)
        if len(row) < 2 or not row[1]:
            continue
        if _is_plain(name):
            if name.endswith(".pyc"):
                continue
            relative = prefix + name
        else:
            path = os.path.normpath(name if os.path.isabs(name) else os.path.join(site, name))
            if path.endswith(".pyc"):
                continue
            relative = _relative(path, env_root)
        algorithm, digest = _parse_hash(row[1])
        yield relative, leaf_digest(algorithm or "", digest or "")


def _is_plain(name: str) -> bool:
    """A relative POSIX path that normalising leaves as it is (no ``.``/``..`` parts, no
    empty parts, no drive or backslash)."""
    return (not name.startswith("/") and not name.endswith("/") and "//" not in name and "/." not in "/" + name
            and "\\" not in name and ":" not in name)


def _parse_hash(value: str) -> tuple[str | None, str | None]:
    """``sha256=<urlsafe base64, unpadded>`` -> (``sha256``, hex); ('', value) when unreadable."""
    if not value:
        return None, None
    algorithm, _, encoded = value.partition("=")
    try:  # base64.urlsafe_b64decode's work, without its per-call checks (a hot loop)
        return algorithm, a2b_base64(encoded.replace("-", "+").replace("_", "/") + "=" * (-len(encoded) % 4)).hex()
    except (ValueError, binascii.Error):
        return "", value


def _relative(path: str, env_root: str) -> str:
    """``path`` relative to ``env_root`` (both normalised), POSIX (the quick way when inside)."""
    if path.startswith(env_root) and path[len(env_root):len(env_root) + 1] == os.sep:
        path = path[len(env_root) + 1:]
    else:
        path = os.path.relpath(path, env_root)
    return path.replace(os.sep, "/")


class RecordLeaves(NamedTuple):
    """(relative path, leaf digest) of each leaf of one RECORD, relative to ``env_root``."""

    env_root: str
    leaves: list[tuple[str, str]]


def record_leaves(dist_info: str, rows: Iterable[Sequence[str]], env_root: str) -> RecordLeaves:
    """The Merkle leaves of one RECORD's ``rows``, for :func:`recorded_root` (a sync makes
    them in its link threads, where the work fills the other thread's filesystem waits)."""
    return RecordLeaves(env_root, list(_leaves(dist_info, rows, env_root)))


def recorded_root(scheme: dict[str, str], leaves_of: Mapping[str, RecordLeaves] | None = None) -> str:
    """The Merkle root of an environment as its RECORD files describe it (no file is read
    but the RECORDs: what a sync records in its stamp). ``leaves_of``: the leaves of RECORDs
    this process just wrote, by dist-info path (:func:`record_leaves`), used instead of
    reading those RECORDs when made for this environment's root."""
    env_root = scheme["data"]
    made = {os.path.normpath(path): found for path, found in (leaves_of or {}).items()
            if os.path.normpath(found.env_root) == os.path.normpath(env_root)}
    leaves: dict[str, str] = {}
    for dist_info in dist_info_dirs(site_dirs(scheme)):
        found = made.get(os.path.normpath(dist_info))
        if found is None:
            leaves.update((row.relative, row.leaf_digest) for row in read_record(dist_info, env_root) if row.checked)
        else:
            leaves.update(found.leaves)
    return merkle_root(leaves.items())


@dataclass(frozen=True)
class HashRequest:
    """A file to hash: with ``algorithm``; ``shebang``: the first line linking gives a
    ``#!python`` script (None outside the scripts directory); ``size``: as recorded."""

    path: str
    algorithm: str
    shebang: bytes | None = None
    size: int | None = None


@dataclass(frozen=True)
class Found:
    """A file as found: its hex digest in the algorithm its row names and its size (None
    when it is gone), ``error`` when it cannot be read, and ``linked``: digest and size of
    the script with ``#!python`` put back as its first line (see the module docstring)."""

    digest: str | None
    size: int | None
    error: str | None = None
    linked: tuple[str, int] | None = None

    @property
    def missing(self) -> bool:
        """The file is not there."""
        return self.digest is None and self.error is None

    def matches(self, row: RecordedFile) -> bool:
        """The file is what ``row`` records (as it is, or as linking rewrote it)."""
        forms = [(self.digest, self.size), *([self.linked] if self.linked else [])]
        return any(digest == row.digest and (row.size is None or size == row.size) for digest, size in forms)


def hash_files(requests: list[HashRequest], workers: int) -> list[Found]:
    """Hash each request's file: its hex digest and size, and for a file whose first line
    is the request's ``shebang``, also the digest with ``#!python`` there instead.

    Files of :data:`LARGE` bytes or more (by the size RECORD gives) go to ``workers``
    threads, where reading and sha256 run without the GIL; the small ones, most of an
    environment's files but little of its bytes, are hashed meanwhile in this thread,
    where a thread per file would cost more in switching than it saves."""
    results: list[Found | None] = [None] * len(requests)
    large = [i for i, request in enumerate(requests) if (request.size or 0) >= LARGE]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = {i: pool.submit(_hash_one, requests[i]) for i in large}
        for i, request in enumerate(requests):
            if i not in futures:
                results[i] = _hash_one(request)
        for i, future in futures.items():
            results[i] = future.result()
    return [found for found in results if found is not None]


def _hash_one(request: HashRequest) -> Found:
    path, algorithm, shebang = request.path, request.algorithm, request.shebang
    try:
        digest = hashlib.new(algorithm)
    except (ValueError, TypeError):
        return Found(None, None, f"unknown hash algorithm {algorithm!r}")
    linked = None
    try:
        with open(path, "rb") as handle:
            head = handle.read(_CHUNK)
            if shebang is not None and head.startswith(shebang):
                linked = digest.copy()
                linked.update(_WHEEL_SHEBANG + head[len(shebang):])
            digest.update(head)
            size = len(head)
            for chunk in iter(lambda: handle.read(_CHUNK), b""):
                digest.update(chunk)
                if linked is not None:
                    linked.update(chunk)
                size += len(chunk)
    except (FileNotFoundError, NotADirectoryError):
        return Found(None, None, "a link to a missing file" if os.path.islink(path) else None)
    except OSError as exc:
        return Found(None, None, exc.strerror or type(exc).__name__)
    alternative = None
    if linked is not None and shebang is not None:
        alternative = (linked.hexdigest(), size - len(shebang) + len(_WHEEL_SHEBANG))
    return Found(digest.hexdigest(), size, linked=alternative)


def unlisted_files(roots: list[str], listed: set[str], scripts: str | None) -> list[str]:
    """Files (and links) under ``roots`` that are not in ``listed`` (absolute, normalised
    paths), sorted; see the module docstring for what is left out."""
    found: list[str] = []
    for root in dict.fromkeys(roots):
        for path in _walk(root, root == scripts):
            if path not in listed:
                found.append(path)
    return sorted(found)


def _walk(directory: str, scripts: bool) -> Iterator[str]:
    try:
        with os.scandir(directory) as entries:
            items = list(entries)
    except OSError:
        return
    for entry in items:
        if entry.is_dir(follow_symlinks=False):
            if entry.name != "__pycache__":
                yield from _walk(entry.path, False)
        elif not entry.name.endswith(".pyc") and not (scripts and _VENV_SCRIPTS.match(entry.name)):
            yield entry.path


def default_workers() -> int:
    """Threads for hashing large files: one a CPU (sha256 is CPU-bound once cached)."""
    return min(8, os.cpu_count() or 1)


def path_key(path: str | Path) -> str:
    """An absolute, normalised path, as :func:`read_record` gives them."""
    return os.path.normpath(os.fspath(path))
