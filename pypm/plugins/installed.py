"""The user's native plugins: ``pypm plugin add | list | remove | run``.

They live in the user plugin directory (platformdirs' data dir ``plugins/``, or
``PYPM_PLUGIN_DIR``) as ``pypm_<name>.so`` (``.dylib``, ``.dll``), with ``plugins.json``
recording each one's source and sha256. pypm replaces or removes only files that record
names: anything else in the directory is not pypm's.

A library is taken from a path or an https URL (plain http is refused: anyone on the way
could swap the code pypm is about to run; ``--sha256`` pins the bytes). It is checked
before it is installed: it must load here and speak pypm's ABI.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from pypm import ui
from pypm.errors import PluginError, PypmError, UsageError
from pypm.plugins.native import NativePlugin, library_suffix

PLUGIN_DIR_VAR = "PYPM_PLUGIN_DIR"
RECORD = "plugins.json"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # whole names only (fullmatch): `$` takes a final "\n"
_SHA256 = re.compile(r"[0-9a-f]{64}")
#: A plugin larger than this is refused while it downloads.
MAX_DOWNLOAD = 256 * 1024 * 1024


@dataclass(frozen=True)
class InstalledPlugin:
    """One native plugin in the plugin directory."""

    name: str
    path: Path
    sha256: str
    source: str


def plugin_dir() -> Path:
    """Where native plugins live (``PYPM_PLUGIN_DIR``, else the user data dir's ``plugins``)."""
    from pypm.config import user_data_dir

    return user_data_dir("plugins", PLUGIN_DIR_VAR)


def library_file(name: str) -> str:
    """``pypm_<name>`` with this platform's library suffix."""
    return f"pypm_{name}{library_suffix()}"


def is_plugin_name(name: str) -> bool:
    """Can ``name`` name a plugin (letters, digits, ``-`` and ``_``, nothing else)?"""
    return _NAME.fullmatch(name) is not None


def check_name(name: str) -> str:
    """``name`` when it can name a plugin (letters, digits, ``-`` and ``_``), else a usage error."""
    if not is_plugin_name(name):
        raise UsageError(f"{name!r} is not a plugin name", hint="use letters, digits, - and _ (e.g. hello)")
    return name


def installed_plugins() -> dict[str, InstalledPlugin]:
    """Every plugin the record names, by name."""
    directory = plugin_dir()
    rows = _read_record(directory)
    return {name: InstalledPlugin(name, directory / row["file"], row["sha256"], row["source"])
            for name, row in sorted(rows.items())}


def installed_path(name: str, missing: type[PypmError] = PluginError) -> Path:
    """The library of the installed plugin ``name`` (``missing``: the error when there is
    none: a plugin the project names that cannot load, or a usage error)."""
    directory = plugin_dir()
    row = _read_record(directory).get(name)
    if row is None:
        raise missing(f"no native plugin named {name!r}",
                      hint=f"`pypm plugin add {name} PATH-OR-URL` installs one; `pypm plugin list` lists them")
    return _recorded_path(directory, name, row)


def add_plugin(name: str, source: str, sha256: str | None = None) -> InstalledPlugin:
    """Copy or download ``source`` (a path or an https URL), check its sha256 and that it
    loads and speaks pypm's ABI, then install it as ``name`` (replacing the plugin of
    that name, never a file pypm did not record)."""
    check_name(name)
    if sha256 is not None and not _SHA256.fullmatch(sha256.lower()):
        raise UsageError(f"--sha256 {sha256}: not a sha256 (64 hex digits)")
    directory = plugin_dir()
    target = directory / library_file(name)
    record = _read_record(directory)
    if target.exists() and record.get(name, {}).get("file") != target.name:
        raise PypmError(f"{target} is there and pypm did not install it", hint="move it away, or pick another name")
    data = _fetch(source)
    digest = _sha256(data)
    if sha256 is not None and digest != sha256.lower():
        raise PypmError(f"{source}: sha256 is {digest}, not the {sha256.lower()} --sha256 pins",
                          hint="check the file, or the pinned hash")
    directory.mkdir(parents=True, exist_ok=True)
    staged = directory / f".{library_file(name)}.{os.getpid()}.tmp{library_suffix()}"
    try:
        staged.write_bytes(data)
        with NativePlugin(name, staged, _shown_source(source)):
            pass  # loads and speaks the ABI, else PluginError
        os.replace(staged, target)
    finally:
        staged.unlink(missing_ok=True)
    record[name] = {"file": target.name, "sha256": digest, "source": _shown_source(source)}
    _write_record(directory, record)
    return InstalledPlugin(name, target, digest, record[name]["source"])


def remove_plugin(name: str) -> Path:
    """Delete the installed plugin ``name`` (its library and its record)."""
    directory = plugin_dir()
    record = _read_record(directory)
    if name not in record:
        raise UsageError(f"no native plugin named {name!r}", hint="`pypm plugin list` lists them")
    path = _recorded_path(directory, name, record.pop(name))
    path.unlink(missing_ok=True)
    _write_record(directory, record)
    return path


def _recorded_path(directory: Path, name: str, row: dict[str, str]) -> Path:
    """The library ``row`` of the record gives for ``name``: only the file pypm makes for
    that name, in ``directory`` (a record naming any other file, in there or elsewhere, is
    refused: pypm runs or deletes nothing it did not install)."""
    if not is_plugin_name(name) or row["file"] != library_file(name):
        raise PluginError(f"{directory / RECORD}: the entry {name!r} names the file {row['file']!r}, which is not "
                          "the library pypm installs for it; pypm leaves it alone", hint="fix or delete that entry")
    return directory / row["file"]


def _fetch(source: str) -> bytes:
    """The bytes of a local file or of an https URL."""
    scheme = source.split("://", 1)[0].lower() if "://" in source else ""
    if scheme == "http":
        raise UsageError(f"{_shown_source(source)}: plain http is refused for plugins (their code runs in pypm)",
                          hint="use an https URL, or download it and give the path")
    if scheme == "https":
        return _download(source)
    if scheme:
        raise UsageError(f"{_shown_source(source)}: pypm takes a path or an https URL", hint="e.g. ./libhello.so")
    path = Path(source).expanduser()
    if not path.is_file():
        what = "does not exist" if not path.exists() else "is not a file"
        raise UsageError(f"{source} {what}", hint="give the path of the plugin's shared library")
    return path.read_bytes()


def _download(url: str) -> bytes:
    from pypm.index.http import Unreachable, fetch, make_http_client, redact

    with make_http_client() as client:
        try:
            reply = fetch(client, url)
        except Unreachable as exc:
            raise PypmError(f"{redact(url)}: {exc}", hint="check the URL and the network") from None
    if not reply.url.lower().startswith("https://"):
        raise PypmError(f"{redact(url)} redirected to {redact(reply.url)}, which is not https",
                        hint="use a URL that stays on https")
    if reply.status_code != 200:
        raise PypmError(f"{redact(url)}: HTTP {reply.status_code}", hint="check the URL")
    if len(reply.content) > MAX_DOWNLOAD:
        raise PypmError(f"{redact(url)}: larger than {MAX_DOWNLOAD // 2**20} MiB", hint="check the URL")
    return reply.content


def _shown_source(source: str) -> str:
    """A source as recorded and shown: URLs without credentials, paths absolute."""
    if "://" in source:
        from pypm.index.http import redact

        return redact(source)
    return str(Path(source).expanduser().resolve())


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def _read_record(directory: Path) -> dict[str, dict[str, str]]:
    path = directory / RECORD
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise PluginError(f"{path} cannot be read ({exc})", hint=f"fix or delete it ({PLUGIN_DIR_VAR} moves the dir)") \
            from None
    rows = data.get("plugins") if isinstance(data, dict) else None
    if not isinstance(rows, dict):
        raise PluginError(f"{path} is not pypm's plugin record", hint="fix or delete it")
    return {name: row for name, row in rows.items()
            if isinstance(row, dict) and all(isinstance(row.get(k), str) for k in ("file", "sha256", "source"))}


def _write_record(directory: Path, record: dict[str, dict[str, str]]) -> None:
    from pypm.fsutil import atomic_write_text

    atomic_write_text(directory / RECORD, json.dumps({"plugins": record}, indent=2, sort_keys=True) + "\n")
    ui.detail(f"plugin record: {directory / RECORD}")
