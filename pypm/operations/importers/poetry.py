"""Import a Poetry project: ``pyproject.toml`` with ``[tool.poetry]`` and ``poetry.lock`` beside it.

Version constraints are converted as Poetry's "Dependency specification" page defines them
(and poetry-core's constraint parser reads them): ``^1.2.3`` is ``>=1.2.3,<2.0.0`` (the
left-most non-zero part may not change), ``~1.2`` is ``>=1.2.0,<1.3.0`` (``~1`` is
``>=1.0.0,<2.0.0``), ``1.2.*`` is ``>=1.2.0,<1.3.0``, ``*`` is any version, a bare ``1.2`` is
``==1.2``; commas or spaces join constraints, ``||`` separates alternatives. ``python``
becomes ``requires-python`` (and, on one dependency, a ``python_version`` marker);
``optional = true`` dependencies become the extras of ``[tool.poetry.extras]``;
``[tool.poetry.group.G.dependencies]`` and the legacy ``dev-dependencies`` become PEP 735
groups; ``[[tool.poetry.source]]`` become index settings, in Poetry's priority order.
A Poetry 2 project that already has ``[project]`` dependencies keeps them.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from packaging.version import InvalidVersion, Version

from pypm.operations.importers.common import (
    ImportContext,
    Imported,
    ImportRefused,
    Preference,
    is_pypi,
    package_pins,
    pep621_tables,
    read_toml,
    requirement_text,
    sha256_of,
    without_credentials,
)

_ANY = re.compile(r"(?i)^v?[x*](\.[x*])*$")
_WILDCARD = re.compile(r"^(==|!=)?v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:\.\*)+$")
_BASIC = re.compile(r"^(<>|!=|>=|<=|==|=|<|>)?\s*v?(.+)$")
_OPERATOR_SPACE = re.compile(r"(<>|!=|>=|<=|===|==|~=|=|<|>|\^|~)\s+")
#: Source priorities in the order Poetry consults them (PyPI, when implicit, after ``primary``).
_PRIORITIES = ("default", "primary", "secondary", "supplemental", "explicit")
_LOCAL_KEYS = ("git", "path", "url", "file")


class ConstraintError(ValueError):
    """A Poetry constraint that cannot be written as a PEP 440 specifier."""


def read_poetry(pyproject: Path, context: ImportContext) -> Imported:
    """Read a Poetry project (``pyproject`` and the ``poetry.lock`` beside it)."""
    data = read_toml(pyproject)
    poetry = data.get("tool", {}).get("poetry")
    if not isinstance(poetry, dict):
        raise ImportRefused(f"{pyproject} has no [tool.poetry] table")
    imported = Imported("poetry", pyproject)
    has_project = pep621_tables(data, pyproject, imported)
    dependencies = _table(poetry.get("dependencies"), "[tool.poetry.dependencies]")
    python = dependencies.get("python")
    if not has_project or "dependencies" not in data["project"]:
        main, optional = _dependencies(dependencies, imported)
        imported.requirements.extend(main)
        _extras(poetry, optional, imported)
    if imported.requires_python is None and isinstance(python, str):
        imported.requires_python = python_specifier(python, imported.notes)
    _groups(poetry, imported)
    for key in ("name", "version", "description"):
        if key not in imported.project and isinstance(poetry.get(key), str):
            imported.project[key] = poetry[key]
    _sources(poetry.get("source"), imported)
    imported.preferences.extend(poetry_lock_pins(pyproject.parent / "poetry.lock"))
    imported.not_a_package = poetry.get("package-mode") is False
    return imported


def _table(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ImportRefused(f"{where} must be a table")
    return value


def _dependencies(table: dict[str, Any], imported: Imported) -> tuple[list[str], dict[str, list[str]]]:
    """(required, optional by canonical name) requirement strings of a dependency table."""
    from packaging.utils import canonicalize_name

    required: list[str] = []
    optional: dict[str, list[str]] = {}
    for name, spec in table.items():
        if name == "python":
            continue
        for entry in spec if isinstance(spec, list) else [spec]:
            text, is_optional = dependency(name, entry, imported.notes)
            if is_optional:
                optional.setdefault(canonicalize_name(name), []).append(text)
            else:
                required.append(text)
    return required, optional


def dependency(name: str, spec: Any, notes: list[str]) -> tuple[str, bool]:
    """One Poetry dependency as a PEP 508 string, and whether it is ``optional``."""
    if isinstance(spec, str):
        spec = {"version": spec}
    if not isinstance(spec, dict):
        raise ImportRefused(f"dependency {name}: {spec!r} is not a version or a table")
    local = [key for key in _LOCAL_KEYS if key in spec]
    if local:
        raise ImportRefused(f"dependency {name} is a {local[0]} dependency, which pypm does not lock",
                            hint="make it a workspace member, or depend on a release from an index")
    try:
        specifier = poetry_constraint(str(spec.get("version", "*")))
        markers = [spec["markers"]] if isinstance(spec.get("markers"), str) else []
        if isinstance(spec.get("python"), str):
            markers.append(python_marker(spec["python"]))
    except ConstraintError as exc:
        raise ImportRefused(f"dependency {name}: {exc}", hint="write it as one range in the Poetry project") from None
    if isinstance(spec.get("platform"), str):
        markers.append(f'sys_platform == "{spec["platform"]}"')
    if "source" in spec:
        notes.append(f"dependency {name}: its source binding ({spec['source']}) is not imported "
                     "(pypm asks the indexes in order)")
    extras = spec.get("extras") or []
    markers = [m for m in markers if m]
    marker = " and ".join(f"({m})" for m in markers) if len(markers) > 1 else (markers[0] if markers else None)
    return requirement_text(name, list(extras), specifier, marker), bool(spec.get("optional"))


def _extras(poetry: dict[str, Any], optional: dict[str, list[str]], imported: Imported) -> None:
    from packaging.utils import canonicalize_name

    used = set()
    for extra, names in _table(poetry.get("extras"), "[tool.poetry.extras]").items():
        entries = imported.optional.setdefault(extra, [])
        for name in names if isinstance(names, list) else []:
            key = canonicalize_name(str(name))
            if key not in optional:
                raise ImportRefused(f"extra {extra} names {name}, which is not an optional dependency",
                                    hint="declare it with optional = true in [tool.poetry.dependencies]")
            used.add(key)
            entries.extend(text for text in optional[key] if text not in entries)
    for key in sorted(set(optional) - used):
        imported.notes.append(f"optional dependency {key} is in no extra: not imported")


def _groups(poetry: dict[str, Any], imported: Imported) -> None:
    tables = [("dev", poetry.get("dev-dependencies"))]
    for group, table in _table(poetry.get("group"), "[tool.poetry.group]").items():
        tables.append((group, table.get("dependencies") if isinstance(table, dict) else None))
    for group, table in tables:
        if table is None:
            continue
        settings = poetry.get("group", {}).get(group) if isinstance(poetry.get("group"), dict) else None
        if group != "dev" and not (isinstance(settings, dict) and settings.get("optional") is True):
            imported.notes.append(f"group {group}: Poetry installs it by default, pypm with `pypm sync --group "
                                  f"{group}` (pypm's default group is dev)")
        required, optional = _dependencies(_table(table, f"group {group}"), imported)
        entries = imported.groups.setdefault(group, [])
        entries.extend(text for text in required + [t for texts in optional.values() for t in texts]
                       if text not in entries)


def _sources(sources: Any, imported: Imported) -> None:
    """Poetry's sources in the order it asks them: ``default``, then ``primary`` ones (PyPI
    only when there is no primary source, as Poetry 2 does), ``supplemental``, ``explicit``.
    Explicit sources serve only the packages bound to them in Poetry; pypm has no binding,
    so they are asked last."""
    ranked: dict[str, list[str]] = {priority: [] for priority in _PRIORITIES}
    for source in sources if isinstance(sources, list) else []:
        if not isinstance(source, dict):
            continue
        priority = _priority(source)
        url = source.get("url")
        if not isinstance(url, str):
            url = "https://pypi.org/simple/" if str(source.get("name", "")).lower() == "pypi" else None
        if url is None:
            raise ImportRefused(f"source {source.get('name')!r} has no url")
        ranked[priority].append(without_credentials(url, imported.notes))
        if priority == "explicit":
            imported.notes.append(f"source {source.get('name')} is explicit in Poetry: pypm asks it after the others")
    first = ranked["default"] + ranked["primary"]
    pypi = [] if first else ["https://pypi.org/simple/"]
    urls = [*first, *pypi, *ranked["secondary"], *ranked["supplemental"], *ranked["explicit"]]
    if not urls or (len(urls) == 1 and is_pypi(urls[0])):
        return
    imported.indexes.index_url = None if is_pypi(urls[0]) else urls[0]
    imported.indexes.extra_index_urls = urls[1:]


def _priority(source: dict[str, Any]) -> str:
    priority = source.get("priority")
    if isinstance(priority, str) and priority in _PRIORITIES:
        return priority
    if source.get("default") is True:
        return "default"
    return "secondary" if source.get("secondary") is True else "primary"


def poetry_lock_pins(lock: Path) -> list[Preference]:
    """Every package of ``poetry.lock`` with its ``files`` hashes (lock-version 2: in the
    package; 1.x: under ``[metadata.files]``); path, VCS and URL packages give none."""
    if not lock.is_file():
        return []
    data = read_toml(lock)
    pins = package_pins(data.get("package"), lock.name, frozenset({"directory", "git", "file", "url"}))
    files = data.get("metadata", {}).get("files")
    if not isinstance(files, dict):
        return pins
    with_old_hashes = []
    for pin in pins:
        old = files.get(pin.name, [])
        digests = {d for entry in old if isinstance(entry, dict) and (d := sha256_of(entry.get("hash")))}
        with_old_hashes.append(pin._replace(hashes=pin.hashes | digests))
    return with_old_hashes


# --------------------------------------------------------------------------- constraints


def poetry_constraint(text: str) -> str:
    """A Poetry version constraint as a PEP 440 specifier ("" for any version)."""
    alternatives = [part for part in re.split(r"\s*\|\|?\s*", text.strip())]
    if len(alternatives) > 1:
        raise ConstraintError(f"{text!r} has alternatives ('||'), which a PEP 440 specifier cannot say")
    return ",".join(clause for part in _and_parts(alternatives[0]) if (clause := _single(part)))


def _and_parts(text: str) -> list[str]:
    joined = _OPERATOR_SPACE.sub(lambda m: m.group(1), text.strip().rstrip(","))
    return [part for part in re.split(r"[,\s]+", joined) if part]


def _single(text: str) -> str:
    if _ANY.match(text):
        return ""
    if text.startswith("^"):
        version = _version(text[1:], text)
        return f">={_padded(version)},<{_breaking(version)}"
    if text.startswith("~") and not text.startswith("~="):
        version = _version(text[1:], text)
        upper = _bump(version, 0 if len(version.release) == 1 else 1)
        return f">={_padded(version)},<{upper}"
    if text.startswith("~="):
        version = _version(text[2:], text)
        if len(version.release) in (2, 3):
            return text  # the same set in PEP 440
        return f">={version},<{_bump(version, 0 if len(version.release) == 2 else 1)}"
    wildcard = _WILDCARD.match(text)
    if wildcard:
        return _wildcard(wildcard)
    basic = _BASIC.match(text)
    if basic is None:
        raise ConstraintError(f"{text!r} is not a version constraint")
    operator = {"<>": "!=", "=": "==", None: "=="}.get(basic.group(1), basic.group(1))
    version = basic.group(2).strip()
    if version.endswith(".*") and operator not in ("==", "!="):
        version = version[:-2]
    _version(version.removesuffix(".*"), text)
    return f"{operator}{version}"


def _wildcard(match: re.Match[str]) -> str:
    """``1.2.*`` is ``>=1.2.0,<1.3.0``, ``1.*`` is ``>=1.0.0,<2.0.0``, ``0.*`` is
    ``<1.0.0`` (as poetry-core reads them); ``!=`` takes the same set away."""
    operator, major, minor = match.group(1), int(match.group(2)), match.group(3)
    if operator == "!=":
        return f"!={major}.{minor}.*" if minor is not None else f"!={major}.*"
    if minor is not None:
        return f">={major}.{minor}.0,<{major}.{int(minor) + 1}.0"
    return "<1.0.0" if major == 0 else f">={major}.0.0,<{major + 1}.0.0"


def _version(text: str, constraint: str) -> Version:
    try:
        return Version(text.strip())
    except InvalidVersion:
        raise ConstraintError(f"{constraint!r}: {text!r} is not a version") from None


def _padded(version: Version) -> str:
    """``version`` with its release padded to three parts (``1.2`` -> ``1.2.0``), as
    Poetry's documentation writes the lower bounds."""
    release = list(version.release) + [0] * (3 - len(version.release))
    text = ".".join(str(part) for part in release)
    text = f"{version.epoch}!{text}" if version.epoch else text
    if version.pre is not None:
        text += f"{version.pre[0]}{version.pre[1]}"
    if version.post is not None:
        text += f".post{version.post}"
    if version.dev is not None:
        text += f".dev{version.dev}"
    return text + (f"+{version.local}" if version.local else "")


def _breaking(version: Version) -> str:
    """The first version a caret excludes: the next major unless the major is 0, then the
    next minor unless the minor is 0 too, then the next patch (poetry-core's ``next_breaking``)."""
    release = version.release
    if release[0] > 0 or len(release) == 1:
        return _bump(version, 0)
    if release[1] > 0 or len(release) == 2:
        return _bump(version, 1)
    return _bump(version, 2)


def _bump(version: Version, position: int) -> str:
    """The release with part ``position`` incremented, the later parts zero (three parts at least)."""
    release = list(version.release) + [0] * (3 - len(version.release))
    release = release[:position] + [release[position] + 1] + [0] * (len(release) - position - 1)
    text = ".".join(str(part) for part in release[:max(3, position + 1)])
    return f"{version.epoch}!{text}" if version.epoch else text


def python_specifier(text: str, notes: list[str]) -> str:
    """A Poetry ``python`` constraint as ``requires-python``; alternatives (``~2.7 || ^3.6``)
    become the lowest lower bound (pypm reads only the lower bounds of ``requires-python``)."""
    from packaging.specifiers import SpecifierSet

    alternatives = [part for part in re.split(r"\s*\|\|?\s*", text.strip()) if part]
    if len(alternatives) == 1:
        try:
            return _python_text(poetry_constraint(text))
        except ConstraintError as exc:
            raise ImportRefused(f"python {text!r}: {exc}") from None
    lowest: Version | None = None
    for alternative in alternatives:
        try:
            specifiers = SpecifierSet(poetry_constraint(alternative))
        except ConstraintError as exc:
            raise ImportRefused(f"python {text!r}: {exc}") from None
        bounds = [Version(s.version) for s in specifiers if s.operator in (">=", ">", "==", "~=")]
        if not bounds:
            notes.append(f"python {text!r} has no lower bound: requires-python is not set")
            return ""
        lowest = min([*bounds, *([lowest] if lowest else [])])
    specifier = _python_text(f">={lowest}")
    notes.append(f"python {text!r} is imported as requires-python {specifier}")
    return specifier


def _python_text(specifier: str) -> str:
    """``>=3.8.0,<4.0.0`` as ``>=3.8,<4.0`` (a ``.0`` third part says nothing about Python)."""
    return ",".join(re.sub(r"^([^\d]*\d+\.\d+)\.0$", r"\1", clause) for clause in specifier.split(",") if clause)


def python_marker(text: str) -> str:
    """A Poetry ``python`` constraint on one dependency as an environment marker: each
    clause on ``python_version`` (``python_full_version`` when a third part or a
    pre-release matters); alternatives joined with ``or``; "" for any Python."""
    alternatives = [part for part in re.split(r"\s*\|\|?\s*", text.strip()) if part]
    rendered = []
    for alternative in alternatives:
        clauses = []
        for clause in _python_text(poetry_constraint(alternative)).split(","):
            if not clause:
                continue
            match = re.match(r"^(===|==|!=|>=|<=|~=|<|>)(.+)$", clause)
            if match is None:
                raise ConstraintError(f"python {text!r} cannot be a marker")
            operator, version = match.groups()
            full = version.endswith(".*") or len(version.split(".")) > 2 or not re.fullmatch(r"[\d.]+", version)
            clauses.append(f'{"python_full_version" if full else "python_version"} {operator} "{version}"')
        if clauses:
            rendered.append(" and ".join(clauses))
    if not rendered:
        return ""
    return rendered[0] if len(rendered) == 1 else " or ".join(f"({part})" for part in rendered)
