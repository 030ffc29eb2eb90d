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


def has_metadata(path: Path) -> bool:
    """Does the file hold a ``# /// script`` block?"""
    try:
        return bool(_script_blocks(path.read_text("utf-8")))
    except (OSError, UnicodeDecodeError):
        return False


def script_metadata(path: Path) -> dict[str, Any]:
    """The script's metadata table (empty when it has no block)."""
    from pypm.tomlfile import tomllib

    blocks = _script_blocks(read_text(path).replace("\r\n", "\n"))
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
    block at the top (after a ``#!`` line) when it has none."""
    commented = "".join(f"# {line}" if line.strip() else "#\n" for line in content.splitlines(keepends=True))
    block = f"# /// script\n{commented}# ///\n"
    blocks = _script_blocks(text)
    if blocks:
        match = blocks[0]
        return text[: match.start()] + block.rstrip("\n") + text[match.end():]
    if text.startswith("#!"):
        first, _, rest = text.partition("\n")
        return f"{first}\n{block}{rest}"
    return block + text


def block_content(text: str) -> str:
    """The TOML inside the script block ('' when there is none)."""
    blocks = _script_blocks(text)
    return _content(blocks[0]) if blocks else ""
