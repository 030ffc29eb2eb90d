"""Parse simple-API project pages: PEP 691 JSON and PEP 503 HTML."""

from __future__ import annotations

import binascii
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
    if content_type.split(";")[0].strip().lower() == JSON_TYPE:  # media types ignore case (RFC 9110 8.3.1)
        return parse_json_page(body, page_url, index_url)
    return parse_html_page(body.decode("utf-8", "replace"), page_url, index_url)


#: The type each PEP 691 file key must have where it is present (``size`` also: not a bool).
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "filename": str, "url": str, "hashes": dict, "requires-python": (str, type(None)), "yanked": (bool, str),
    "size": (int, type(None)), "upload-time": (str, type(None)), "core-metadata": (bool, dict, type(None)),
    "dist-info-metadata": (bool, dict, type(None)), "data-dist-info-metadata": (bool, dict, type(None)),
}
_BROKEN_PAGE_HINT = "the index does not serve the simple API correctly; check index-url or try again later"


def _is_sha256(value: str) -> bool:
    """64 hex digits? (``unhexlify`` takes nothing else: faster than a regular expression,
    for pages of tens of thousands of files)."""
    try:
        binascii.unhexlify(value)
    except (binascii.Error, ValueError, TypeError):
        return False
    return len(value) == 64


class _Malformed(Exception):
    """A JSON file entry that is not what PEP 691 says it is (the message says how)."""


def parse_json_page(body: bytes, page_url: str, index_url: str) -> list[FileLink]:
    """Parse a PEP 691 JSON project page. A page that is not JSON with a ``files`` list, or
    a file entry whose keys have the wrong types, is one error naming the page: the server
    is broken, and a file read from a broken entry could be the wrong one (uv, whose
    parser is typed, fails the page alike; pip skips what it cannot read)."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        data = None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise IndexClientError(f"{redact(page_url)}: the index returned a malformed JSON page",
                               hint=_BROKEN_PAGE_HINT)
    links = []
    for entry in files:
        try:
            links.append(_json_link(entry, page_url, index_url))
        except _Malformed as exc:
            raise IndexClientError(f"{redact(page_url)}: the index returned a malformed file entry ({exc})",
                                   hint=_BROKEN_PAGE_HINT) from None
    return links


def _json_link(entry: object, page_url: str, index_url: str) -> FileLink:
    if not isinstance(entry, dict):
        raise _Malformed("not an object")
    get = entry.get
    filename, url, hashes, yanked, size = get("filename"), get("url"), get("hashes"), get("yanked"), get("size")
    if yanked is None:  # absent, or null as some indexes write it: not yanked (as pip reads it)
        yanked = False
    requires_python, upload_time = get("requires-python"), get("upload-time")
    # PEP 714: the new key, then the old one; then the HTML attribute's name, which PyPI's JSON
    # once used too (uv's pypi-types aliases all three)
    metadata = get("core-metadata", get("dist-info-metadata", get("data-dist-info-metadata")))
    sha256 = hashes.get("sha256") if type(hashes) is dict else None
    # PEP 691's types, in one expression (a page of PyPI's largest projects has tens of
    # thousands of entries); the slow path says what is wrong
    if not (type(filename) is str and filename and type(url) is str and (hashes is None or type(hashes) is dict)
            and (requires_python is None or type(requires_python) is str) and type(yanked) in (bool, str)
            and (upload_time is None or type(upload_time) is str)
            and (size is None or (type(size) is int and size >= 0))
            and (metadata is None or type(metadata) in (bool, dict)) and (sha256 is None or _is_sha256(sha256))):
        raise _Malformed(_what_is_wrong(entry))
    try:
        url = _absolute(page_url, url)
    except ValueError:
        raise _Malformed(f"{filename}: 'url' is not a URL") from None
    return FileLink(
        filename=filename,
        url=url,
        index_url=index_url,
        sha256=sha256.lower() if sha256 else None,  # hex digits in either case; the lock's are lower-case
        requires_python=requires_python or None,
        yanked=(yanked if isinstance(yanked, str) else "") if yanked else None,
        size=size,
        upload_time=upload_time,
        metadata=_metadata_hash(metadata),
    )


def _what_is_wrong(entry: object) -> str:
    """Why :func:`_json_link` refused ``entry`` (the slow path: for the message only)."""
    if not isinstance(entry, dict):
        return "not an object"
    filename = entry.get("filename")
    if not isinstance(filename, str) or not filename:
        return "'filename' is missing or not a string"
    for key, types in _JSON_TYPES.items():
        value = entry.get(key)
        if (value is not None or key == "url") and (
                not isinstance(value, types) or (key == "size" and (isinstance(value, bool) or value < 0))):
            return f"{filename}: '{key}' is not a {_type_names(types)}"
    return f"{filename}: its sha256 is not 64 hex digits"


def _type_names(types: type | tuple[type, ...]) -> str:
    names = {str: "string", dict: "object", bool: "boolean", int: "whole number >= 0"}
    return " or ".join(names[t] for t in (types if isinstance(types, tuple) else (types,)) if t in names)


def _absolute(base: str, url: str) -> str:
    """``url`` resolved against ``base`` (absolute URLs, the common case, skip urljoin)."""
    return url if url.startswith(("https://", "http://")) else urljoin(base, url)


def _metadata_hash(value: Any) -> str | None:
    """The PEP 658 file's sha256 ("" when offered without one), None when not offered (a
    wrong one is not used as a path: the download is found not to match it)."""
    if isinstance(value, dict):
        digest = value.get("sha256")
        return digest.lower() if isinstance(digest, str) else ""
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
    """Parse a PEP 503 HTML project page (also used for find-links pages). An anchor whose
    URL cannot be parsed, or whose ``#sha256=`` is not 64 hex digits, is skipped: HTML pages
    are often made by hand or by a web server's directory listing (as pip skips them)."""
    parser = _AnchorParser()
    parser.feed(text)
    base = (_joined(page_url, parser.base) or page_url) if parser.base else page_url
    links = []
    for attrs in parser.anchors:
        link = _html_link(attrs, base, index_url)
        if link is not None:
            links.append(link)
    return links


def _joined(base: str, href: str) -> str | None:
    """``href`` resolved against ``base``; None when it is not a URL (``http://[broken/``)."""
    try:
        return urljoin(base, href)
    except ValueError:
        return None


def _html_link(attrs: dict[str, str | None], base: str, index_url: str) -> FileLink | None:
    """The file an anchor links, None for an anchor that links none pypm can use."""
    href = attrs.get("href")
    joined = _joined(base, href) if href else None
    if joined is None:
        return None
    url, fragment = urldefrag(joined)
    sha256 = _fragment_hash(fragment)
    if sha256 is not None and not _is_sha256(sha256):
        return None
    metadata = attrs.get("data-core-metadata", attrs.get("data-dist-info-metadata"))
    yanked = attrs.get("data-yanked")
    return FileLink(
        filename=_unquote(url.split("?", 1)[0].rsplit("/", 1)[-1]),  # a query (a signed URL's) is not in it, as uv
        url=url,
        index_url=index_url,
        sha256=sha256,
        requires_python=attrs.get("data-requires-python") or None,
        yanked=yanked if yanked is not None else None,
        metadata=_html_metadata(metadata),
    )


def _unquote(filename: str) -> str:
    from urllib.parse import unquote

    return unquote(filename)


def _fragment_hash(fragment: str) -> str | None:
    if fragment.startswith("sha256="):
        return fragment[len("sha256="):].lower()
    return None


def _html_metadata(value: str | None) -> str | None:
    if value is None or value == "false":
        return None
    if value.startswith("sha256="):
        return value[len("sha256="):].lower()
    return ""
