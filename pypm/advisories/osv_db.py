"""A local OSV database: a directory (searched recursively, hidden directories left out)
or a zip of OSV JSON advisories, such as osv.dev's ``PyPI/all.zip`` export of the PyPA
advisory database, read once and indexed by package name.

YAML advisories (the PyPA advisory-database repository's own files) are refused with one
line pointing at the JSON export, not parsed: pypm has no YAML dependency, and the records
use block scalars, quoting and flow collections that a hand-written "subset" reader could
misread, which for a security database means a silent miss. The same records are
published as OSV JSON, which is what this reads.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path

from packaging.utils import NormalizedName

from pypm.advisories.matching import is_affected, vulnerability
from pypm.advisories.model import Advisory, AdvisoryError, Release, Vulnerability, parse_advisory

JSON_SUFFIXES = (".json",)
YAML_SUFFIXES = (".yaml", ".yml")
EXPORT_HINT = ("use the OSV JSON export instead, e.g. https://osv-vulnerabilities.storage.googleapis.com/PyPI/all.zip"
               " (a zip or a directory of .json files)")


class OsvDatabase:
    """The PyPI advisories of a local OSV database, by package name (withdrawn ones left out)."""

    def __init__(self, path: Path, advisories: list[Advisory]) -> None:
        self.path = path
        self.count = len(advisories)
        self.by_name: dict[NormalizedName, list[Advisory]] = {}
        for advisory in advisories:
            if advisory.withdrawn:
                continue
            for name in dict.fromkeys(entry.name for entry in advisory.affected):
                self.by_name.setdefault(name, []).append(advisory)

    @classmethod
    def load(cls, path: Path) -> OsvDatabase:
        """Read every advisory under ``path``; raises :class:`AdvisoryError` for a path
        that is neither a directory nor a zip, one holding no advisory, YAML advisories
        and files that are not OSV JSON."""
        if path.is_dir():
            documents = _directory_documents(path)
        elif path.is_file() and zipfile.is_zipfile(path):
            documents = _zip_documents(path)
        elif path.exists():
            raise AdvisoryError(f"{path} is neither a directory nor a zip of OSV advisories", hint=EXPORT_HINT)
        else:
            raise AdvisoryError(f"no OSV database at {path}", hint="give a directory or zip of OSV JSON advisories")
        advisories = [parse_advisory(_json(data, where), where) for where, data in documents]
        if not advisories:
            raise AdvisoryError(f"{path} holds no OSV advisory (no .json file)", hint=EXPORT_HINT)
        return cls(path, advisories)

    def describe(self) -> str:
        """``OSV database PATH``."""
        return f"OSV database {self.path}"

    def lookup(self, releases: list[Release]) -> dict[Release, list[Vulnerability]]:
        """The advisories covering each release, matched here."""
        found: dict[Release, list[Vulnerability]] = {}
        for release in releases:
            hits = [vulnerability(advisory, release) for advisory in self.by_name.get(release.name, ())
                    if is_affected(advisory, release)]
            if hits:
                found[release] = hits
        return found


def _directory_documents(root: Path) -> Iterator[tuple[str, bytes]]:
    """(path, bytes) of each JSON file under ``root``, in a stable order; a YAML file is
    refused (see the module's docstring)."""
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(name for name in subdirectories if not name.startswith("."))
        for name in sorted(files):
            path = Path(directory) / name
            _refuse_yaml(name, str(path))
            if name.endswith(JSON_SUFFIXES):
                yield str(path), path.read_bytes()


def _zip_documents(archive: Path) -> Iterator[tuple[str, bytes]]:
    """(archive:member, bytes) of each JSON member of the zip."""
    try:
        with zipfile.ZipFile(archive) as opened:
            for info in opened.infolist():
                if info.is_dir() or any(part.startswith(".") for part in info.filename.split("/")):
                    continue
                where = f"{archive}:{info.filename}"
                _refuse_yaml(info.filename, where)
                if info.filename.endswith(JSON_SUFFIXES):
                    yield where, opened.read(info)
    except (zipfile.BadZipFile, OSError) as exc:
        raise AdvisoryError(f"cannot read the zip {archive}: {exc}", hint=EXPORT_HINT) from None


def _refuse_yaml(name: str, where: str) -> None:
    if name.endswith(YAML_SUFFIXES):
        raise AdvisoryError(f"{where} is a YAML advisory, and pypm reads OSV JSON only", hint=EXPORT_HINT)


def _json(data: bytes, where: str) -> object:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AdvisoryError(f"{where} is not JSON: {exc}", hint="the database is damaged; fetch it again") from None
