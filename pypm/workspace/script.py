"""PEP 723 inline script metadata: read a script's ``# /// script`` block, and rewrite
it in place (``pypm add --script``) keeping the rest of the file byte for byte.

The block is found with the specification's reference regular expression; two ``script``
blocks are an error, as the PEP requires.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pypm.errors import UsageError, WorkspaceError

#: The reference regex of PEP 723 (https://peps.python.org/pep-0723/#reference-implementation).
BLOCK = re.compile(r"(?m)^# /// (?P<type>[a-zA-Z0-9-]+)$\s(?P<content>(^#(| .*)$\s)+)^# ///$")
_BOM = "\ufeff"
_LINES = re.compile(r"[^\n]*\n|[^\n]+\Z")


def _script_blocks(text: str) -> list[re.Match[str]]:
    return [match for match in BLOCK.finditer(text) if match.group("type") == "script"]


def _content(match: re.Match[str]) -> str:
    return "".join(line[2:] if line.startswith("# ") else line[1:]
                   for line in match.group("content").splitlines(keepends=True))


def read_text(path: Path) -> str:
    """The script's text (one-line errors for unreadable files)."""
    try:
        return path.read_bytes().decode("utf-8")  # line ends as they are: an edit keeps them
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}", hint="give a Python script") from None


def _normalized(text: str) -> str:
    """``text`` as the block's regular expression reads it: without a leading UTF-8 byte
    order mark (Python reads source files with one), with ``\n`` line ends."""
    return text.removeprefix(_BOM).replace("\r\n", "\n")


def has_metadata(path: Path) -> bool:
    """Does the file hold a ``# /// script`` block?"""
    try:
        return bool(_script_blocks(_normalized(path.read_bytes().decode("utf-8"))))
    except (OSError, UnicodeDecodeError):
        return False


def script_metadata(path: Path) -> dict[str, Any]:
    """The script's metadata table (empty when it has no block)."""
    from pypm.tomlfile import tomllib

    blocks = _script_blocks(_normalized(read_text(path)))
    if len(blocks) > 1:
        raise WorkspaceError(f"{path}: more than one `# /// script` block", hint="PEP 723 allows one; merge them")
    if not blocks:
        return {}
    try:
        data = tomllib.loads(_content(blocks[0]))
    except tomllib.TOMLDecodeError as exc:
        raise WorkspaceError(f"{path}: the `# /// script` block is not valid TOML: {exc}") from None
    _check(path, data)
    return data


def _check(path: Path, data: dict[str, Any]) -> None:
    dependencies = data.get("dependencies", [])
    if not isinstance(dependencies, list) or not all(isinstance(d, str) for d in dependencies):
        raise WorkspaceError(f"{path}: `dependencies` in the script block must be a list of strings")
    if "requires-python" in data and not isinstance(data["requires-python"], str):
        raise WorkspaceError(f"{path}: `requires-python` in the script block must be a string")
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    for index, text in enumerate(dependencies):
        try:
            Requirement(text)
        except InvalidRequirement as exc:
            reason = str(exc).splitlines()[0]
            raise WorkspaceError(f"{path}: dependencies[{index}] in the script block: invalid requirement {text!r}: "
                                 f"{reason}", hint="write a PEP 508 string such as 'requests>=2.31'") from None
    if data.get("requires-python"):
        try:
            SpecifierSet(data["requires-python"])
        except InvalidSpecifier:
            raise WorkspaceError(f"{path}: requires-python in the script block: {data['requires-python']!r} is not a "
                                 "version specifier", hint="write one such as '>=3.10'") from None


def with_block(text: str, content: str) -> str:
    """``text`` with its script block's content replaced by ``content`` (TOML), or a new
    block at the top (after a ``#!`` line) when it has none. Only the block's lines
    change: the others keep their bytes and line ends, a byte order mark stays first, and
    the block's lines end as its first line did (a new block's as the file's first line)."""
    bom = _BOM if text.startswith(_BOM) else ""
    lines = _LINES.findall(text[len(bom):])
    unix = "".join(line[:-2] + "\n" if line.endswith("\r\n") else line for line in lines)
    blocks = _script_blocks(unix)
    if blocks:
        first = unix.count("\n", 0, blocks[0].start())
        last = unix.count("\n", 0, blocks[0].end())
        block = _block_lines(content, _ending(lines[first]))
        return bom + "".join(lines[:first]) + block + _terminator(lines[last]) + "".join(lines[last + 1:])
    ending = _ending(lines[0]) if lines else "\n"
    block = _block_lines(content, ending) + ending
    if lines and lines[0].startswith("#!"):
        shebang = lines[0] if _terminator(lines[0]) else lines[0] + ending
        return bom + shebang + block + "".join(lines[1:])
    return bom + block + "".join(lines)


def _block_lines(content: str, ending: str) -> str:
    """The ``# /// script`` block holding ``content``, its lines ending in ``ending``,
    the last one without."""
    commented = [f"# {line}" if line.strip() else "#" for line in content.splitlines()]
    return ending.join(["# /// script", *commented, "# ///"])


def _terminator(line: str) -> str:
    """The line end ``line`` has ('' for a last line without one)."""
    return "\r\n" if line.endswith("\r\n") else "\n" if line.endswith("\n") else ""


def _ending(line: str) -> str:
    """The line end to write beside ``line``: its own, ``\n`` when it has none."""
    return _terminator(line) or "\n"


def block_content(text: str) -> str:
    """The TOML inside the script block ('' when there is none)."""
    blocks = _script_blocks(_normalized(text))
    return _content(blocks[0]) if blocks else ""
