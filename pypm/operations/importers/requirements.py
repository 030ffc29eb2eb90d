"""Import a pip requirements file, read as pip's "Requirements File Format" page describes it.

A small parser of the documented format rather than a library: ``requirements-parser``
leaves out what involves the file system (``-r``, ``-c``), and ``pip-requirements-parser``
(pip's own code, copied) has had no release since 2022; pip's parser is not a public API.

What pip does and this follows: UTF-8 unless a PEP 263 ``coding`` comment in the first two
lines says otherwise; a line ending in ``\\`` continues on the next, and a comment line ends
the continued line; comments (``#`` at the start or after whitespace) are stripped after
the lines are joined; ``${NAME}`` is replaced by a set environment variable; ``-r`` and
``-c`` paths are relative to the file that names them, and ``-r`` inside a constraints file
names requirements, ``-c`` inside a requirements file constraints; ``-i`` sets the index and
drops the extra indexes given before it; a relative ``--find-links`` directory is read
relative to the file when it exists there.

Pins (``==X``) become preferences (the lock keeps X) and the requirement is written without
them; any other specifier is kept as written. Constraints are never requirements: their
pins are preferences, their other specifiers are reported and left out.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pypm.operations.importers.common import (
    ImportContext,
    Imported,
    ImportRefused,
    Preference,
    requirement_text,
    sha256_of,
    without_credentials,
)

if TYPE_CHECKING:
    from packaging.requirements import Requirement

_ARCHIVES = (".whl", ".tar.gz", ".zip", ".tar.bz2", ".tgz")
_NAMED_URL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*@")
_COMMENT = re.compile(r"(^|\s+)#.*$")
_COMMENT_LINE = re.compile(r"^\s*#")
_ENV_VAR = re.compile(r"\$\{([A-Z0-9_]+)\}")
_CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")
#: Global options: name -> (canonical name, takes a value). Options pip accepts that do not
#: change what pypm locks are read and reported (``_IGNORED``).
_GLOBAL = {
    "-r": ("requirement", True), "--requirement": ("requirement", True),
    "-c": ("constraint", True), "--constraint": ("constraint", True),
    "-i": ("index-url", True), "--index-url": ("index-url", True),
    "--extra-index-url": ("extra-index-url", True),
    "-f": ("find-links", True), "--find-links": ("find-links", True),
    "--no-index": ("no-index", False),
    "-e": ("editable", True), "--editable": ("editable", True),
    "--pre": ("pre", False), "--prefer-binary": ("prefer-binary", False),
    "--require-hashes": ("require-hashes", False),
    "--only-binary": ("only-binary", True), "--no-binary": ("no-binary", True),
    "--trusted-host": ("trusted-host", True), "--use-feature": ("use-feature", True),
}
_PER_REQUIREMENT = {
    "--hash": ("hash", True),
    "-C": ("config-settings", True), "--config-settings": ("config-settings", True),
    "--global-option": ("global-option", True),
}
_IGNORED = {
    "pre": "--pre is not imported (pypm's prerelease setting decides; set prerelease = \"allow\" for pip's "
           "behaviour)",
    "no-index": "--no-index is not imported (pypm always reads its index settings)",
    "only-binary": "--only-binary is not imported", "no-binary": "--no-binary is not imported",
    "trusted-host": "--trusted-host is not imported",
    "config-settings": "--config-settings is not imported", "global-option": "--global-option is not imported",
}


@dataclass
class _State:
    """What the files read so far said."""

    context: ImportContext
    imported: Imported
    visiting: list[Path] = field(default_factory=list)
    index_url: str | None = None
    extra_index_urls: list[str] = field(default_factory=list)
    find_links: list[str] = field(default_factory=list)
    #: canonical name -> (entry as imported, the same entry pinned, marker, version) of each pin
    pinned: dict[str, list[tuple[str, str, str, str]]] = field(default_factory=dict)


def read_requirements(path: Path, context: ImportContext) -> Imported:
    """Read ``path`` (and what it includes) as requirements, preferences and indexes."""
    imported = Imported("requirements", path)
    state = _State(context, imported)
    _read_file(path, state, constraint=False)
    _keep_forked_pins(state)
    if state.index_url is not None:
        imported.indexes.index_url = without_credentials(state.index_url, imported.notes)
    imported.indexes.extra_index_urls = [without_credentials(url, imported.notes) for url in state.extra_index_urls]
    imported.indexes.find_links = state.find_links
    imported.notes = list(dict.fromkeys(imported.notes))
    return imported


def _read_file(path: Path, state: _State, constraint: bool) -> None:
    resolved = path.resolve()
    if resolved in state.visiting:
        raise ImportRefused(f"{path} includes itself (through {' -> '.join(p.name for p in state.visiting)})",
                            hint="remove the circular -r/-c line")
    if not path.is_file():
        where = f" (named in {state.visiting[-1]})" if state.visiting else ""
        raise ImportRefused(f"{path}: file not found{where}",
                            hint="-r and -c paths are relative to the file naming them")
    state.visiting.append(resolved)
    try:
        for number, line in logical_lines(decode(path.read_bytes(), path)):
            _read_line(path, number, line, state, constraint)
    finally:
        state.visiting.pop()


def decode(data: bytes, path: Path) -> str:
    """The file's text: a UTF-8 byte-order mark or a PEP 263 ``coding`` comment in the
    first two lines names the encoding, else UTF-8."""
    encoding = "utf-8"
    if data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    else:
        for line in data.splitlines()[:2]:
            match = _CODING.match(line)
            if match:
                encoding = match.group(1).decode("ascii")
                break
    try:
        return data.decode(encoding)
    except (LookupError, UnicodeDecodeError) as exc:
        raise ImportRefused(f"{path}: cannot decode as {encoding}: {exc}",
                            hint="save it as UTF-8 or name its encoding in a '# -*- coding: NAME -*-' line") from None


def logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each non-empty logical line: continuations joined,
    comments stripped, ``${VAR}`` expanded."""
    pending: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if _COMMENT_LINE.match(line) or not line.endswith("\\"):
            if pending:  # a comment line ends the continued line
                joined = "".join(pending) + ("" if _COMMENT_LINE.match(line) else line)
                pending, line, number = [], joined, start
            yield from _cleaned(number, line)
            continue
        if not pending:
            start = number
        pending.append(line[:-1])
    if pending:
        yield from _cleaned(start, "".join(pending))


def _cleaned(number: int, line: str) -> Iterator[tuple[int, str]]:
    text = _COMMENT.sub("", line).strip()
    text = _ENV_VAR.sub(lambda m: os.environ.get(m.group(1), m.group(0)), text)
    if text:
        yield number, text


def _read_line(path: Path, number: int, line: str, state: _State, constraint: bool) -> None:
    where = f"{path.name}:{number}"
    requirement, options_text = _split_options(line)
    try:
        tokens = shlex.split(options_text)
    except ValueError as exc:
        raise ImportRefused(f"{where}: cannot read the options {options_text!r}: {exc}") from None
    if not requirement:
        for option, value in _options(tokens, _GLOBAL, where):
            _global_option(path, where, option, value, state)
        return
    options = list(_options(tokens, _PER_REQUIREMENT, where))
    for option, _value in options:
        if option in _IGNORED:
            state.imported.notes.append(f"{where}: {_IGNORED[option]}")
    hashes = [value for option, value in options if option == "hash"]
    _requirement(path, where, requirement, hashes, state, constraint)


def _split_options(line: str) -> tuple[str, str]:
    """The requirement and the options after it: the options start at the first word that
    starts with ``-`` (as pip splits a line)."""
    words = line.split(" ")
    for index, word in enumerate(words):
        if word.startswith("-"):
            return " ".join(words[:index]).strip(), " ".join(words[index:])
    return line.strip(), ""


def _options(tokens: list[str], known: dict[str, tuple[str, bool]], where: str) -> Iterator[tuple[str, str]]:
    """(canonical option, value) for each option among ``tokens``: ``--opt=V``, ``--opt V``,
    ``-oV`` and ``-o V``."""
    index = 0
    while index < len(tokens):
        token = tokens[index]
        name, attached = token, None
        if token.startswith("--") and "=" in token:
            name, attached = token.split("=", 1)
        elif not token.startswith("--") and len(token) > 2 and token[:2] in known:
            name, attached = token[:2], token[2:]
        if name not in known:
            what = "is not a requirements-file option" if token.startswith("-") else "is not an option"
            raise ImportRefused(f"{where}: {token!r} {what}", hint="see pip's Requirements File Format")
        canonical, takes_value = known[name]
        index += 1
        if not takes_value:
            yield canonical, ""
            continue
        if attached is None:
            if index >= len(tokens):
                raise ImportRefused(f"{where}: {name} needs a value")
            attached, index = tokens[index], index + 1
        yield canonical, attached


def _global_option(path: Path, where: str, option: str, value: str, state: _State) -> None:
    if option in ("requirement", "constraint"):
        _read_file(path.parent / value, state, constraint=option == "constraint")
    elif option == "index-url":
        state.index_url, state.extra_index_urls = value, []  # pip: -i replaces every index given so far
    elif option == "extra-index-url":
        state.extra_index_urls.append(value)
    elif option == "find-links":
        state.find_links.append(_find_links(path, value, state.context))
    elif option == "editable":
        _local_project(path, where, value, state)
    elif option in _IGNORED:
        state.imported.notes.append(f"{where}: {_IGNORED[option]}")


def _find_links(path: Path, value: str, context: ImportContext) -> str:
    """A URL as it is; a directory as found relative to the file (as pip does), else as given."""
    if "://" in value or value.startswith("file:"):
        return value
    beside = path.parent / value
    return context.location(beside) if beside.exists() else value


def _local_project(path: Path, where: str, value: str, state: _State) -> None:
    """``-e PATH`` (or a bare path): the project being imported into is skipped; anything
    else cannot be locked from an index."""
    location = value.removeprefix("file://") if value.startswith("file://") else value
    if "://" not in location and state.context.is_project_dir(path.parent / location):
        state.imported.notes.append(f"{where}: {value} is a project of this workspace: pypm installs it (skipped)")
        return
    raise ImportRefused(f"{where}: {value!r} is a local or VCS project, which pypm does not lock",
                        hint="make it a workspace member, or depend on a release from an index, then import again")


def _requirement(path: Path, where: str, text: str, hashes: list[str], state: _State, constraint: bool) -> None:
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    if _is_location(text):
        _local_project(path, where, text, state)
        return
    try:
        requirement = Requirement(text)
    except InvalidRequirement as exc:
        raise ImportRefused(f"{where}: {text!r} is not a requirement: {exc}") from None
    if requirement.url:
        raise ImportRefused(f"{where}: {requirement.name} @ {requirement.url} is a direct URL requirement, "
                            "which pypm does not lock", hint="depend on a release from an index, then import again")
    pin = pinned_version(requirement)
    digests = [sha256_of(h) for h in hashes]
    if hashes and not any(digests):
        state.imported.notes.append(f"{where}: {requirement.name} has no sha256 hash (pypm locks sha256 only)")
    if pin is not None:
        state.imported.preferences.append(
            Preference(requirement.name, pin, frozenset(d for d in digests if d), where))
    elif hashes:
        state.imported.notes.append(f"{where}: the hashes of {requirement.name} are not checked (it is not pinned)")
    if constraint:
        if pin is None:
            state.imported.notes.append(f"{where}: constraint {text!r} is not imported (only pins of constraints "
                                        "are kept, as the locked versions)")
        return
    marker = str(requirement.marker) if requirement.marker else None
    entry = text if pin is None else requirement_text(requirement.name, sorted(requirement.extras), "", marker)
    if pin is not None:
        pinned = requirement_text(requirement.name, sorted(requirement.extras), str(requirement.specifier), marker)
        state.pinned.setdefault(canonicalize_name(requirement.name), []).append((entry, pinned, marker or "", pin))
    if entry not in state.imported.requirements:
        state.imported.requirements.append(entry)


def _keep_forked_pins(state: _State) -> None:
    """A package pinned to different versions for different markers (``alpha==1.0;
    python_version < "3.12"`` and ``alpha==2.0; python_version >= "3.12"``, as a universal
    ``pip-compile`` or ``uv pip compile`` writes) keeps its pins as requirements: one
    preferred version per package cannot say that. A package pinned once stays a bare
    requirement with the pin as the lock's preference."""
    requirements = state.imported.requirements
    for pins in state.pinned.values():
        versions = {version for *_, version in pins}
        markers = {marker for _, _, marker, _ in pins}
        if len(versions) < 2 or len(markers) != len(pins):
            continue
        for entry, pinned, _, _ in pins:
            if entry in requirements:
                requirements[requirements.index(entry)] = pinned


def _is_location(text: str) -> bool:
    """A path or URL standing where a requirement would (``./pkg``, ``x.whl``, ``git+https://...``)."""
    head = text.split(";")[0].strip()
    if _NAMED_URL.match(head):
        return False  # name @ URL: a PEP 508 requirement (refused as a direct URL)
    if head.startswith((".", "/", "~")) or head.endswith(_ARCHIVES):
        return True
    return "://" in head and "@" not in head.split("://")[0]


def pinned_version(requirement: Requirement) -> str | None:
    """The version of a requirement pinned with one ``==X`` (no wildcard) or ``===X``."""
    specifiers = list(requirement.specifier)
    if len(specifiers) != 1:
        return None
    spec = specifiers[0]
    if spec.operator == "===" or (spec.operator == "==" and not spec.version.endswith(".*")):
        return spec.version
    return None
