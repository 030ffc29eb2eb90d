"""Render the simple-API pages of a snapshot: PEP 691 JSON (v1.1) and PEP 503 HTML."""

from __future__ import annotations

import html
import json
from typing import Any

from benchmarks.snapshot.store import Snapshot

__all__ = ["JSON_TYPE", "HTML_TYPE", "negotiate", "project_json", "project_html", "index_json", "index_html"]

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
HTML_TYPE = "text/html"
_HTML_V1 = "application/vnd.pypi.simple.v1+html"


def negotiate(accept: str | None) -> str:
    """Pick JSON or HTML from an ``Accept`` header (q-values honoured; HTML by default)."""
    if not accept:
        return HTML_TYPE
    best, best_q = HTML_TYPE, -1.0
    for position, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media, q = fields[0].lower(), 1.0
        for param in fields[1:]:
            if param.startswith("q="):
                try:
                    q = float(param[2:])
                except ValueError:
                    q = 0.0
        if media == JSON_TYPE:
            kind = JSON_TYPE
        elif media in (HTML_TYPE, _HTML_V1, "application/vnd.pypi.simple.latest+html", "*/*"):
            kind = HTML_TYPE
        elif media == "application/vnd.pypi.simple.latest+json":
            kind = JSON_TYPE
        else:
            continue
        score = q - position * 1e-6  # earlier entries win ties
        if q > 0 and score > best_q:
            best, best_q = kind, score
    return best


def _file_entry(snap: Snapshot, entry: dict[str, Any], files_url: str) -> dict[str, Any]:
    out: dict[str, Any] = {
        "filename": entry["filename"],
        "url": files_url + entry["filename"],
        "hashes": dict(entry["hashes"]),
        "requires-python": entry.get("requires-python"),
        "size": entry["size"],
        "upload-time": entry.get("upload-time"),
        "yanked": entry.get("yanked", False),
    }
    meta = snap.metadata(entry["filename"])
    if meta is not None:
        out["core-metadata"] = {"sha256": meta[1]}
        out["data-dist-info-metadata"] = {"sha256": meta[1]}
    return out


def project_json(snap: Snapshot, name: str, files_url: str) -> bytes:
    """PEP 691 JSON page of ``name`` (which must exist)."""
    project = snap.projects[name]
    body = {
        "meta": {"api-version": "1.1"},
        "name": name,
        "versions": list(project["versions"]),
        "files": [_file_entry(snap, e, files_url) for e in project["files"]],
    }
    return json.dumps(body, separators=(",", ":")).encode()


def project_html(snap: Snapshot, name: str, files_url: str) -> bytes:
    """PEP 503 HTML page of ``name`` with PEP 592/658 attributes."""
    rows = []
    for entry in snap.projects[name]["files"]:
        item = _file_entry(snap, entry, files_url)
        attrs = [f'href="{html.escape(item["url"])}#sha256={item["hashes"]["sha256"]}"']
        if item["requires-python"]:
            attrs.append(f'data-requires-python="{html.escape(item["requires-python"])}"')
        if "core-metadata" in item:
            value = f"sha256={item['core-metadata']['sha256']}"
            attrs.append(f'data-core-metadata="{value}" data-dist-info-metadata="{value}"')
        yanked = item["yanked"]
        if yanked:
            reason = yanked if isinstance(yanked, str) else ""
            attrs.append(f'data-yanked="{html.escape(reason)}"')
        rows.append(f"    <a {' '.join(attrs)}>{html.escape(item['filename'])}</a><br/>")
    text = (
        '<!DOCTYPE html>\n<html>\n  <head>\n    <meta name="pypi:repository-version" content="1.1">\n'
        f"    <title>Links for {html.escape(name)}</title>\n  </head>\n  <body>\n"
        f"    <h1>Links for {html.escape(name)}</h1>\n" + "\n".join(rows) + "\n  </body>\n</html>\n"
    )
    return text.encode()


def index_json(snap: Snapshot) -> bytes:
    """PEP 691 JSON project list."""
    body = {"meta": {"api-version": "1.1"}, "projects": [{"name": n} for n in sorted(snap.projects)]}
    return json.dumps(body, separators=(",", ":")).encode()


def index_html(snap: Snapshot) -> bytes:
    """PEP 503 HTML project list."""
    links = "\n".join(f'    <a href="{html.escape(n)}/">{html.escape(n)}</a><br/>' for n in sorted(snap.projects))
    return f"<!DOCTYPE html>\n<html>\n  <body>\n{links}\n  </body>\n</html>\n".encode()
