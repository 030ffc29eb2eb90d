"""What a lock selects for an environment, remembered by the lock's sha256.

Validating a lock with packaging (``Pylock.from_dict``) and selecting its packages for an
interpreter (``Pylock.select``) costs 20 ms for a 50-package lock and 80 ms for a
190-package one, on every sync that installs anything (a new copy of a project, a
``.venv`` made again). Both depend on nothing but the lock's bytes, the interpreter's
marker environment and tags, the groups and extras asked for, and the packaging and pypm
versions. So the first sync of a lock records, in the cache (``LOCK_SELECTIONS``, one file
per lock, the 32 most recent kept), that the lock is valid, its ``requires-python`` and,
per selection key, the ``(package, source)`` pairs packaging selected; a later sync of the
same bytes reads them back instead (the sources rebuilt with packaging's own classes).

A record is written only after packaging accepted the lock and selected from it, and read
only when its recorded sha256 is the lock's: an edited lock (any byte) is validated again.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

#: Bump when what a record holds changes meaning.
FORMAT = 1
#: Records kept (one per lock), and selections kept per record.
KEPT_RECORDS = 32
KEPT_SELECTIONS = 8


@dataclass
class SelectionRecord:
    """What is known of one lock: valid, its ``requires-python`` (text, None when the lock
    has none) and its selections by key (each a list of encoded choices)."""

    lock_sha256: str
    requires_python: str | None
    selections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def chosen(self, key: str) -> list[tuple[str, str, Any]] | None:
        """The (name, version, source) pairs recorded under ``key`` (None when not)."""
        found = self.selections.get(key)
        if not isinstance(found, list):
            return None
        try:
            return [_decoded(item) for item in found]
        except (KeyError, TypeError, ValueError, AttributeError):  # a damaged record: select again
            return None

    def add(self, key: str, chosen: list[tuple[str, str, Any]]) -> bool:
        """Record a selection (the oldest beyond :data:`KEPT_SELECTIONS` dropped); False,
        recording nothing, when a source is of a kind a record does not hold (a VCS or
        archive source, which sync refuses anyway)."""
        try:
            encoded = [_encoded(name, version, source) for name, version, source in chosen]
        except TypeError:
            return False
        self.selections.pop(key, None)
        self.selections[key] = encoded
        while len(self.selections) > KEPT_SELECTIONS:
            del self.selections[next(iter(self.selections))]
        return True


def selection_key(environment: dict[str, str], tags: list[str], choice: dict[str, Any]) -> str:
    """The key of one selection: the interpreter's marker environment and tags (in their
    order: the first tag a wheel has wins), the user's group/extra choice, and the versions
    of the code that selects."""
    from packaging import __version__ as packaging_version

    from pypm import __version__

    text = json.dumps([FORMAT, __version__, packaging_version, sorted(environment.items()), tags, choice],
                      separators=(",", ":"), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()


def read_record(cache_dir: Path, lock_sha256: str) -> SelectionRecord | None:
    """The record of this lock, None when there is none or it is unreadable."""
    from pypm.store.layout import LOCK_SELECTIONS

    try:
        data = json.loads((cache_dir / LOCK_SELECTIONS / f"{lock_sha256}.json").read_bytes())
    except (OSError, ValueError):
        return None
    if not (isinstance(data, dict) and data.get("format") == FORMAT and data.get("sha256") == lock_sha256
            and isinstance(data.get("selections"), dict)
            and isinstance(data.get("requires-python"), (str, type(None)))):
        return None
    return SelectionRecord(lock_sha256, data["requires-python"], data["selections"])


def write_record(cache_dir: Path, record: SelectionRecord) -> None:
    """Keep the record (atomically; a cache that cannot be written is no error)."""
    from pypm.fsutil import atomic_write_text, is_digest_record, keep_most_recent
    from pypm.store.layout import LOCK_SELECTIONS

    directory = cache_dir / LOCK_SELECTIONS
    data = {"format": FORMAT, "sha256": record.lock_sha256, "requires-python": record.requires_python,
            "selections": record.selections}
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_text(directory / f"{record.lock_sha256}.json", json.dumps(data, separators=(",", ":")))
    except OSError:
        return
    keep_most_recent(directory, KEPT_RECORDS, is_digest_record)


def _encoded(name: str, version: str, source: Any) -> dict[str, Any]:
    """A selected (package, source) as JSON: the kind of source and its fields."""
    from packaging.pylock import PackageDirectory, PackageSdist, PackageWheel

    if isinstance(source, PackageDirectory):
        fields = {"path": source.path, "editable": source.editable, "subdirectory": source.subdirectory}
        return {"name": name, "version": version, "kind": "directory", "fields": fields}
    if isinstance(source, (PackageWheel, PackageSdist)):
        fields = {"name": source.name, "url": source.url, "path": source.path, "size": source.size,
                  "hashes": dict(source.hashes),
                  "upload_time": source.upload_time.isoformat() if source.upload_time is not None else None}
        kind = "wheel" if isinstance(source, PackageWheel) else "sdist"
        return {"name": name, "version": version, "kind": kind, "fields": fields}
    raise TypeError(f"no record for a {type(source).__name__}")


def _decoded(item: dict[str, Any]) -> tuple[str, str, Any]:
    """A recorded choice back as (name, version, packaging source object)."""
    from packaging.pylock import PackageDirectory, PackageSdist, PackageWheel

    fields = dict(item["fields"])
    if item["kind"] == "directory":
        return item["name"], item["version"], PackageDirectory(**fields)
    fields["hashes"] = {key: value.lower() for key, value in fields["hashes"].items()}  # as read_lock reads them
    uploaded = fields.pop("upload_time")
    fields["upload_time"] = datetime.fromisoformat(uploaded) if uploaded is not None else None
    kind = PackageWheel if item["kind"] == "wheel" else PackageSdist
    return item["name"], item["version"], kind(**fields)
