"""Parse simple-API project pages: PEP 691 JSON and PEP 503 HTML."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urldefrag, urljoin

from pypm.errors import IndexClientError
from pypm.index.links import FileLink
from pypm.index.urls import redact

JSON_TYPE = "application/vnd.pypi.simple.v1+json"
ACCEPT = f"{JSON_TYPE}, application/vnd.pypi.simple.v1+html;q=0.2, text/html;q=0.01"


def parse_page(body: bytes, content_type: str, page_url: str, index_url: str) -> list[FileLink]:
    """Parse a project page in whichever format the server answered with."""
    if content_type.split(";")[0].strip() == JSON_TYPE:
        return parse_json_page(body, page_url, index_url)
    return parse_html_page(body.decode("utf-8", "replace"), page_url, index_url)


def parse_json_page(body: bytes, page_url: str, index_url: str) -> list[FileLink]:
    """Parse a PEP 691 JSON project page."""
    try:
        data = json.loads(body)
        files = data["files"]
    except (ValueError, KeyError, TypeError, RecursionError):
        raise IndexClientError(f"{redact(page_url)}: the index returned a malformed JSON page") from None
    links = []
    for entry in files:
        try:
            links.append(_json_link(entry, page_url, index_url))
        except (KeyError, TypeError, AttributeError):
            raise IndexClientError(f"{redact(page_url)}: the index returned a malformed file entry") from None
    return links


def _json_link(entry: dict[str, Any], page_url: str, index_url: str) -> FileLink:
    metadata = entry.get("core-metadata", entry.get("data-dist-info-metadata"))
    yanked = entry.get("yanked", False)
    return FileLink(
        filename=entry["filename"],
        url=_absolute(page_url, entry["url"]),
        index_url=index_url,
        sha256=(entry.get("hashes") or {}).get("sha256"),
        requires_python=entry.get("requires-python") or None,
        yanked=(yanked if isinstance(yanked, str) else "") if yanked else None,
        size=entry.get("size"),
        upload_time=entry.get("upload-time"),
        metadata=_metadata_hash(metadata),
    )


def _absolute(base: str, url: str) -> str:
    """``url`` resolved against ``base`` (absolute URLs, the common case, skip urljoin)."""
    return url if url.startswith(("https://", "http://")) else urljoin(base, url)


def _metadata_hash(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("sha256", "")
    return "" if value is True else None


class _AnchorParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: list[dict[str, str | None]] = []
        self.base: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.anchors.append(dict(attrs))
        elif tag == "base" and self.base is None:
            self.base = dict(attrs).get("href")


def parse_html_page(text: str, page_url: str, index_url: str) -> list[FileLink]:
    """Parse a PEP 503 HTML project page (also used for find-links pages)."""
    parser = _AnchorParser()
    parser.feed(text)
    base = urljoin(page_url, parser.base) if parser.base else page_url
    links = []
    for attrs in parser.anchors:
        href = attrs.get("href")
        if not href:
            continue
        url, fragment = urldefrag(urljoin(base, href))
        filename = url.rsplit("/", 1)[-1]
        metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
        yanked = attrs.get("data-yanked")
        links.append(FileLink(
            filename=_unquote(filename),
            url=url,
            index_url=index_url,
            sha256=_fragment_hash(fragment),
            requires_python=attrs.get("data-requires-python") or None,
            yanked=yanked if yanked is not None else None,
            metadata=_html_metadata(metadata),
        ))
    return links


def _unquote(filename: str) -> str:
    from urllib.parse import unquote

    return unquote(filename)


def _fragment_hash(fragment: str) -> str | None:
    if fragment.startswith("sha256="):
        return fragment[len("sha256="):]
    return None


def _html_metadata(value: str | None) -> str | None:
    if value is None or value == "false":
        return None
    if value.startswith("sha256="):
        return value[len("sha256="):]
    return ""
