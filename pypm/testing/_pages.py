"""Render PEP 503 (HTML) and PEP 691/700 (JSON) simple-index pages."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from urllib.parse import quote

from packaging.version import InvalidVersion, Version

from pypm.testing._catalog import IndexedFile

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_V1_TYPE = "application/vnd.pypi.simple.v1+html"
TEXT_HTML_TYPE = "text/html"
API_VERSION = "1.1"

# media range -> (served type, server preference; higher wins ties)
_ACCEPTABLE: dict[str, tuple[str, int]] = {
    JSON_TYPE: (JSON_TYPE, 3),
    "application/vnd.pypi.simple.latest+json": (JSON_TYPE, 3),
    HTML_V1_TYPE: (HTML_V1_TYPE, 2),
    "application/vnd.pypi.simple.latest+html": (HTML_V1_TYPE, 2),
    TEXT_HTML_TYPE: (TEXT_HTML_TYPE, 1),
    "text/*": (TEXT_HTML_TYPE, 0),
    "*/*": (TEXT_HTML_TYPE, 0),
}


def negotiate(accept: str | None) -> str:
    """Pick the media type to serve for an ``Accept`` header (PEP 691).

    Highest q-value wins; ties go to JSON, then v1+html, then text/html. Without
    an acceptable match the server falls back to ``text/html``.
    """
    best: tuple[float, int, str] | None = None
    for part in (accept or "").split(","):
        media, *params = [piece.strip() for piece in part.split(";")]
        choice = _ACCEPTABLE.get(media.lower())
        if choice is None:
            continue
        q = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value.strip())
                except ValueError:
                    q = 0.0
        if q <= 0:
            continue
        candidate = (q, choice[1], choice[0])
        if best is None or candidate[:2] > best[:2]:
            best = candidate
    return TEXT_HTML_TYPE if best is None else best[2]


def file_url(base_url: str, filename: str) -> str:
    """Absolute download URL of ``filename`` under ``base_url`` (``.../files/``)."""
    return base_url + quote(filename)


def _version_key(version: str) -> tuple[int, Version | str]:
    """Sort key putting valid versions in PEP 440 order, invalid ones after."""
    try:
        return (0, Version(version))
    except InvalidVersion:
        return (1, version)


def _yank_reason(info: IndexedFile, yanked: Mapping[str, str]) -> str | None:
    """Reason for yanking ``info`` (keyed by file name or ``name==version``), or None."""
    for key in (info.filename, f"{info.project}=={info.version}"):
        if key in yanked:
            return yanked[key]
    return None


def project_list_json(projects: Sequence[str]) -> bytes:
    """PEP 691 JSON project list."""
    body = {"meta": {"api-version": API_VERSION}, "projects": [{"name": n} for n in projects]}
    return json.dumps(body, indent=1).encode("utf-8")


def project_list_html(projects: Sequence[str]) -> bytes:
    """PEP 503 HTML project list."""
    links = "".join(f'<a href="/simple/{quote(n)}/">{html.escape(n)}</a><br/>\n' for n in projects)
    return _html_doc("Simple index", links)


def _html_doc(title: str, body: str) -> bytes:
    """Wrap ``body`` in a minimal HTML5 document."""
    return (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f'<meta name="pypi:repository-version" content="{API_VERSION}">\n'
        f"<title>{html.escape(title)}</title>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n{body}</body>\n</html>\n"
    ).encode()


def project_json(
    name: str, files: Sequence[IndexedFile], files_url: str, *, metadata_files: bool, yanked: Mapping[str, str]
) -> bytes:
    """PEP 691 (+ PEP 700, PEP 714) JSON project page."""
    entries = []
    for info in files:
        reason = _yank_reason(info, yanked)
        entry: dict[str, object] = {
            "filename": info.filename,
            "url": file_url(files_url, info.filename),
            "hashes": {"sha256": info.sha256},
            "requires-python": info.requires_python,
            "yanked": False if reason is None else (reason or True),
            "size": info.size,
            "upload-time": info.upload_time,
        }
        if metadata_files and info.metadata is not None:
            entry["core-metadata"] = {"sha256": info.metadata_sha256}
            entry["data-dist-info-metadata"] = {"sha256": info.metadata_sha256}
        entries.append(entry)
    versions = sorted({info.version for info in files}, key=_version_key)
    body = {"meta": {"api-version": API_VERSION}, "name": name, "versions": versions, "files": entries}
    return json.dumps(body, indent=1).encode("utf-8")


def project_html(
    name: str, files: Sequence[IndexedFile], files_url: str, *, metadata_files: bool, yanked: Mapping[str, str]
) -> bytes:
    """PEP 503 (+ PEP 592, PEP 658, PEP 714) HTML project page."""
    links = []
    for info in files:
        attrs = [f'href="{html.escape(file_url(files_url, info.filename))}#sha256={info.sha256}"']
        if info.requires_python is not None:
            attrs.append(f'data-requires-python="{html.escape(info.requires_python)}"')
        reason = _yank_reason(info, yanked)
        if reason is not None:
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        if metadata_files and info.metadata is not None:
            value = f"sha256={info.metadata_sha256}"
            attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        links.append(f"<a {' '.join(attrs)}>{html.escape(info.filename)}</a><br/>\n")
    return _html_doc(f"Links for {name}", "".join(links))
