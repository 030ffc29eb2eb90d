"""What every importer returns (:class:`Imported`) and the helpers they share: reading
TOML, PEP 508 strings, credentials kept out of files, a PEP 621 ``[project]`` read as it is,
lock-file pins."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit, urlunsplit

from pypm.errors import PypmError

#: The index pypm uses when none is set (``index-url`` is not written when it is this one).
PYPI_SIMPLE = "https://pypi.org/simple"
#: Keys of a PDM lock's package that come from a path, a VCS or a URL (no index pin).
_LOCAL_PACKAGE_KEYS = ("path", "git", "url")
CREDENTIALS_NOTE = ("credentials in {url} were not written to pyproject.toml: put them in ~/.netrc or the "
                    "keyring (pypm reads both)")


class ImportRefused(PypmError):
    """The file (or something in it) cannot be imported; nothing was written."""

    exit_code = 2


class Preference(NamedTuple):
    """A version the lock should keep (a pin of a requirements file, a lock file's version);
    ``hashes``: the sha256 digests the source recorded for it (empty: none recorded);
    ``origin``: where it came from, for messages (``requirements.txt:3``, ``poetry.lock``)."""

    name: str
    version: str
    hashes: frozenset[str] = frozenset()
    origin: str = ""


@dataclass
class Indexes:
    """Index settings for ``[tool.pypm]``: ``index_url`` None keeps pypm's default (PyPI)."""

    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when there is nothing to write."""
        return self.index_url is None and not self.extra_index_urls and not self.find_links

    def describe(self) -> list[str]:
        """``index URL``, ``2 extra indexes``, ``1 find-links location``: what is set."""
        parts = []
        if self.index_url is not None:
            parts.append(f"index {self.index_url}")
        if self.extra_index_urls:
            count = len(self.extra_index_urls)
            parts.append(f"{count} extra index{'es' if count != 1 else ''}")
        if self.find_links:
            count = len(self.find_links)
            parts.append(f"{count} find-links location{'s' if count != 1 else ''}")
        return parts


@dataclass
class Imported:
    """One imported project description, in pyproject terms.

    ``requirements``: for ``[project] dependencies``; ``groups``: PEP 735 groups;
    ``optional``: extras; ``requires_python``: for ``[project] requires-python`` (None: not
    said); ``indexes``: for ``[tool.pypm]``; ``preferences``: versions the lock keeps;
    ``project``: ``name``/``version``/``description`` for a ``[project]`` table that has to
    be created; ``notes``: what could not be carried over (printed as warnings);
    ``not_a_package``: the project is no package to build (Poetry's ``package-mode = false``)."""

    kind: str
    source: Path
    requirements: list[str] = field(default_factory=list)
    groups: dict[str, list[Any]] = field(default_factory=dict)
    optional: dict[str, list[str]] = field(default_factory=dict)
    requires_python: str | None = None
    indexes: Indexes = field(default_factory=Indexes)
    preferences: list[Preference] = field(default_factory=list)
    project: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    not_a_package: bool = False


@dataclass(frozen=True)
class ImportContext:
    """Where the import goes: the directory of the pyproject that is edited, and the
    workspace's project directories (an ``-e .`` naming one of them is the project itself)."""

    target_dir: Path
    project_dirs: tuple[Path, ...] = ()

    def is_project_dir(self, path: Path) -> bool:
        """True when ``path`` is the target's or a member's directory."""
        resolved = path.resolve()
        return resolved == self.target_dir.resolve() or any(resolved == p.resolve() for p in self.project_dirs)

    def location(self, path: Path) -> str:
        """A find-links directory as written to ``[tool.pypm]``: relative (POSIX) inside the
        target directory, else absolute."""
        resolved, root = path.resolve(), self.target_dir.resolve()
        if resolved == root or root in resolved.parents:
            return resolved.relative_to(root).as_posix() or "."
        return str(resolved)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file; an unreadable or invalid one is refused in one line."""
    from pypm.tomlfile import read_toml as read

    return read(path, ImportRefused)


def without_credentials(url: str, notes: list[str]) -> str:
    """``url`` without ``user:password@`` (which never goes into a project file); a note
    says where the credentials belong."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    clean = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    notes.append(CREDENTIALS_NOTE.format(url=clean))
    return clean


def is_pypi(url: str) -> bool:
    """True for PyPI's simple index (pypm's default index-url)."""
    return url.rstrip("/") == PYPI_SIMPLE


def requirement_text(name: str, extras: list[str] | tuple[str, ...] = (), specifier: str = "",
                     marker: str | None = None) -> str:
    """A PEP 508 string ``name[extras]specifier; marker``, checked by ``packaging``."""
    from packaging.requirements import InvalidRequirement, Requirement

    text = name + (f"[{','.join(extras)}]" if extras else "") + specifier + (f"; {marker}" if marker else "")
    try:
        Requirement(text)
    except InvalidRequirement as exc:
        raise ImportRefused(f"{name}: {text!r} is not a valid requirement: {exc}",
                            hint="fix the dependency in the file being imported") from None
    return text


def strings(values: Any, where: str) -> list[str]:
    """A list of requirement strings from a project file (anything else is refused)."""
    if values is None:
        return []
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise ImportRefused(f"{where} must be a list of requirement strings")
    return list(values)


def pep621_tables(data: dict[str, Any], path: Path, imported: Imported) -> bool:
    """Fill ``imported`` from the PEP 621 ``[project]`` and PEP 735 ``[dependency-groups]``
    tables of ``data`` (a pyproject whose other tables the caller reads); False when there
    is no ``[project]`` table. Group entries may be PEP 735 include tables; they are copied as
    they are."""
    project = data.get("project")
    if not isinstance(project, dict):
        return False
    imported.requirements.extend(strings(project.get("dependencies"), f"{path}: [project] dependencies"))
    extras = project.get("optional-dependencies") or {}
    if not isinstance(extras, dict):
        raise ImportRefused(f"{path}: [project.optional-dependencies] must be a table of lists")
    for extra, values in extras.items():
        imported.optional.setdefault(extra, []).extend(strings(values, f"{path}: optional-dependencies.{extra}"))
    if isinstance(project.get("requires-python"), str):
        imported.requires_python = project["requires-python"]
    groups = data.get("dependency-groups") or {}
    if not isinstance(groups, dict):
        raise ImportRefused(f"{path}: [dependency-groups] must be a table of lists")
    for group, values in groups.items():
        entries = values if isinstance(values, list) else []
        imported.groups.setdefault(group, []).extend(v for v in entries if isinstance(v, (str, dict)))
    for key in ("name", "version", "description"):
        if isinstance(project.get(key), str):
            imported.project[key] = project[key]
    return True


def package_pins(packages: Any, origin: str, skip: frozenset[str] = frozenset()) -> list[Preference]:
    """The pins of a TOML lock's ``[[package]]`` array (poetry.lock, pdm.lock, uv.lock):
    name, version and every ``sha256:`` hash of its ``files`` (Poetry, PDM) or its ``sdist``
    and ``wheels`` (uv). A package whose ``source`` is of a kind in ``skip`` (Poetry's
    ``type = "directory"``, uv's ``{ editable = "." }``: a path, a VCS checkout, the project
    itself) gives no pin."""
    pins = []
    for package in packages if isinstance(packages, list) else []:
        if not isinstance(package, dict) or not isinstance(package.get("name"), str):
            continue
        if _source_kind(package.get("source")) in skip or any(key in package for key in _LOCAL_PACKAGE_KEYS) \
                or package.get("editable") is True:
            continue
        version = package.get("version")
        if not isinstance(version, str):
            continue
        pins.append(Preference(package["name"], version, frozenset(_package_hashes(package)), origin))
    return pins


def _source_kind(source: Any) -> str | None:
    """Poetry's ``type`` of a package source, or the one key of uv's (``registry``,
    ``editable``, ``git``, ...)."""
    if not isinstance(source, dict):
        return None
    if isinstance(source.get("type"), str):
        return source["type"]
    return next(iter(source), None) if len(source) == 1 else None


def _package_hashes(package: dict[str, Any]) -> list[str]:
    files = package.get("files")
    entries = list(files) if isinstance(files, list) else []
    if isinstance(package.get("sdist"), dict):
        entries.append(package["sdist"])
    if isinstance(package.get("wheels"), list):
        entries.extend(package["wheels"])
    return [digest for entry in entries if isinstance(entry, dict) and (digest := sha256_of(entry.get("hash")))]


def sha256_of(text: Any) -> str | None:
    """The hex digest of a ``sha256:<hex>`` string (None for another algorithm or junk)."""
    if not isinstance(text, str) or not text.startswith("sha256:"):
        return None
    digest = text.removeprefix("sha256:").strip().lower()
    return digest if len(digest) == 64 and all(c in "0123456789abcdef" for c in digest) else None
