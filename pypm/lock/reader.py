"""Read ``pylock.toml``: the quick input-hash peek and the full validated model.

The lock vouches for itself: its ``[tool.pypm]`` table records ``content-hash``, the
sha256 of the whole file with that value zeroed (line ends counted as ``\\n``, so a
checkout that turned them into ``\\r\\n`` still matches). A lock that was edited, truncated,
left with merge-conflict markers or is not even TOML fails the check, so it is never taken
as up to date, and ``pypm lock`` rewrites it. Checking costs one read and one sha256 of the
file, far less than parsing it (this is on the no-op path).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from pypm.errors import LockError

_PACKAGES = b"\n[[packages]]"
_TOOL_TABLE = b"\n[tool.pypm]\n"
_INPUT_HASH = re.compile(rb'^input-hash = "([0-9a-f]{64})"$', re.MULTILINE)
_CONTENT_HASH = re.compile(rb'^content-hash = "([0-9a-f]{64})"$', re.MULTILINE)
#: What the writer puts where the content hash goes before it hashes the text.
CONTENT_HASH_PLACEHOLDER = "0" * 64


def content_hash(data: bytes) -> str:
    """sha256 of a lock's bytes with ``\\r\\n`` read as ``\\n`` (the value that the lock's
    ``content-hash`` must hold when that value is the placeholder in ``data``)."""
    return hashlib.sha256(data.replace(b"\r\n", b"\n")).hexdigest()


def _header(data: bytes) -> bytes:
    """The part before the first ``[[packages]]`` (where the writer puts ``[tool.pypm]``)."""
    end = data.find(_PACKAGES)
    return data if end < 0 else data[:end]


def read_input_hash(path: Path) -> str | None:
    """The input hash recorded in the lock's ``[tool.pypm]`` table, or None when the lock
    is missing, unreadable, or fails its own content hash (edited, truncated, conflicted)."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return input_hash_of(data)


def input_hash_of(data: bytes) -> str | None:
    """:func:`read_input_hash` for a lock's bytes already read."""
    data = data.replace(b"\r\n", b"\n")
    header = _header(data)
    start = header.find(_TOOL_TABLE)
    if start < 0:
        return None
    recorded = _CONTENT_HASH.search(header, start)
    found = _INPUT_HASH.search(header, start)
    if recorded is None or found is None:
        return None
    zeroed = data[: recorded.start(1)] + CONTENT_HASH_PLACEHOLDER.encode() + data[recorded.end(1) :]
    if content_hash(zeroed) != recorded.group(1).decode():
        return None
    return found.group(1).decode()


#: Beside the lock, in the workspace's state dir: the lock's parsed data as JSON
#: (``<lock name>.parsed.json``), with the sha256 of the bytes it was parsed from
#: (json.loads is ~10x faster than tomllib).
STATE_DIR = ".pypm"


#: Parsed copies kept in the cache (``LOCK_PARSES``, by the lock's sha256: shared by every
#: project with that lock); past this many the oldest are removed.
KEPT_PARSES = 32


def load_lock_data(path: Path, cache_dir: Path | None = None) -> dict[str, Any]:
    """Parse the lock's TOML; a clear error when it is missing or malformed.

    The result is kept as JSON keyed by the sha256 of the lock's bytes, and read from there
    while a lock has exactly those bytes: in ``cache_dir`` when given (a new checkout of
    the same lock finds it), else in ``.pypm/`` beside the lock (when that exists)."""
    from pypm.store.layout import LOCK_PARSES
    from pypm.tomlfile import read_toml

    if not path.exists():
        raise LockError(f"{path} does not exist", hint="run `pypm lock` first")
    try:
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return read_toml(path, LockError)  # which names the problem
    if cache_dir is not None:
        copy = cache_dir / LOCK_PARSES / f"{digest}.json"
    else:
        copy = path.parent / STATE_DIR / f"{path.name}.parsed.json"
    found = _parsed_copy(copy, digest)
    if found is not None:
        return found
    data = read_toml(path, LockError)
    if cache_dir is not None:
        (cache_dir / LOCK_PARSES).mkdir(parents=True, exist_ok=True)
    _keep_parsed_copy(copy, digest, data)
    if cache_dir is not None:
        from pypm.fsutil import is_digest_record, keep_most_recent

        keep_most_recent(cache_dir / LOCK_PARSES, KEPT_PARSES, is_digest_record)
    return data


def _parsed_copy(copy: Path, digest: str) -> dict[str, Any] | None:
    import json

    try:
        raw = copy.read_bytes()
        stored = json.loads(raw, object_hook=_revived) if f'"{_TAG}"'.encode() in raw else json.loads(raw)
    except (OSError, ValueError):
        return None
    if not isinstance(stored, dict) or stored.get("sha256") != digest or not isinstance(stored.get("data"), dict):
        return None
    return stored["data"]


def _keep_parsed_copy(copy: Path, digest: str, data: dict[str, Any]) -> None:
    """Write the copy when its directory exists. A TOML date or time (PEP 751's
    ``upload-time``, which uv's exports write), which JSON cannot hold, is kept tagged
    with its ISO form and turned back into the same value when the copy is read."""
    import json

    from pypm.fsutil import atomic_write_bytes

    if not copy.parent.is_dir():
        return
    try:
        encoded = json.dumps({"sha256": digest, "data": data}, separators=(",", ":"), default=_tagged).encode()
        atomic_write_bytes(copy, encoded)
    except (TypeError, ValueError, OSError):
        return


#: The key of a tagged TOML date, time or datetime in a parsed copy (no key PEP 751 has)
_TAG = "__pypm_toml__"


def _tagged(value: Any) -> dict[str, str]:
    """JSON's form of a TOML date, time or datetime (``json.dumps``'s ``default``)."""
    import datetime

    for kind in (datetime.datetime, datetime.date, datetime.time):  # datetime before date: a subclass
        if isinstance(value, kind):
            return {_TAG: kind.__name__, "iso": value.isoformat()}
    raise TypeError(f"{type(value).__name__} is no TOML value")


def _revived(obj: dict[str, Any]) -> Any:
    """A tagged value back as the date, time or datetime it was (``json.loads``'s hook)."""
    import datetime

    kind = obj.get(_TAG)
    if kind is None:
        return obj
    if kind not in ("datetime", "date", "time") or set(obj) != {_TAG, "iso"}:
        raise ValueError("not a tagged TOML value")
    return getattr(datetime, kind).fromisoformat(obj["iso"])


def read_lock(path: Path, cache_dir: Path | None = None) -> Any:
    """The lock as a validated :class:`packaging.pylock.Pylock` (``cache_dir``: see
    :func:`load_lock_data`)."""
    from packaging.pylock import Pylock, PylockValidationError

    data = load_lock_data(path, cache_dir)
    try:
        lock = Pylock.from_dict(_lowercase_hashes(data))
    except PylockValidationError as exc:
        raise LockError(f"{path}: not a valid PEP 751 lock: {exc}", hint="run `pypm lock` to rewrite it") from None
    _check_files(lock, path)
    return lock


def _lowercase_hashes(data: dict[str, Any]) -> dict[str, Any]:
    """``data`` with each file's hash values in lower case. A hex digest's case carries
    nothing (PEP 751 gives the value as a hex digest), and an earlier pypm wrote the
    index's upper-case ones into locks that still hold their content hash: read so, they
    install like the lower-case ones pypm writes now."""
    packages = data.get("packages")
    for package in packages if isinstance(packages, list) else ():  # anything else: packaging says what is wrong
        if not isinstance(package, dict):
            continue
        wheels = package.get("wheels")
        files = [*(wheels if isinstance(wheels, list) else ()), package.get("sdist"), package.get("archive")]
        for file in files:
            hashes = file.get("hashes") if isinstance(file, dict) else None
            if isinstance(hashes, dict):
                file["hashes"] = {key: value.lower() if isinstance(value, str) else value
                                  for key, value in hashes.items()}
    return data


def _check_files(lock: Any, path: Path) -> None:
    """Every file's sha256 is a hex digest and its name a plain file name: both become
    paths in the cache (packaging checks neither)."""
    from pypm.store.layout import checked_file_name, checked_sha256

    for package in lock.packages:
        for file in [*(package.wheels or ()), *([package.sdist] if package.sdist is not None else [])]:
            try:
                checked_file_name(file.filename)
                if "sha256" in file.hashes:
                    checked_sha256(file.hashes["sha256"])
            except LockError as exc:
                raise LockError(f"{path}: package {package.name}: {exc.message}", hint=exc.hint) from None
