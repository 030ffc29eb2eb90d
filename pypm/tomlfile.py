"""Reading TOML files with errors that name the file, line and column."""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

from pypm.errors import PypmError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised only on Python 3.10
    import tomli as tomllib

_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_END = re.compile(r"\s*\(at end of document\)\s*$")


def _end_position(text: str) -> tuple[int, int]:
    """1-based line and column just past the last character of ``text``."""
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def read_toml(path: Path, error: type[PypmError] = PypmError) -> dict[str, Any]:
    """Parse the TOML file at ``path``; raise ``error`` naming file, line and column."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{path}: file not found") from None
    except IsADirectoryError:
        raise error(f"{path} is a directory where a file is expected", hint="move it out of the way") from None
    except OSError as exc:
        raise error(f"{path}: cannot read file: {exc.strerror}") from None
    try:
        text = data.decode("utf-8")
        return tomllib.loads(text)
    except UnicodeDecodeError:
        raise error(f"{path}: not valid UTF-8", hint="save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise error(_describe_toml_error(path, exc, text), hint="fix the TOML syntax") from None
    except RecursionError:  # tomllib parses nested arrays and inline tables recursively
        raise error(f"{path}: invalid TOML: arrays or tables nested too deeply", hint="flatten the data") from None


def _describe_toml_error(path: Path, exc: Exception, text: str) -> str:
    """Format a TOML decode error as ``path:line:column: message``."""
    message = str(exc.args[0]) if exc.args else str(exc)
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "colno", None)
    match = _POSITION.search(message)
    if match:
        line, column = int(match.group(1)), int(match.group(2))
        message = message[: match.start()]
    elif end := _END.search(message):
        message = message[: end.start()] + " at end of file"
        line, column = _end_position(text)
    if line is None:
        return f"{path}: invalid TOML: {message}"
    return f"{path}:{line}:{column}: invalid TOML: {message}"
