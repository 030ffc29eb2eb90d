"""The repeated no-op: "all up to date" again, checked without parsing any TOML.

When the full freshness check (:mod:`pypm.graph.freshness`) finds the requested
operations up to date, it records what that verdict was computed from, in
``.pypm/noop-verdict.marshal`` at the workspace root:

- the *content* (sha256) of every file the check reads, and the absence of those it looked
  for: ``pyproject.toml`` / ``pypm-workspace.toml`` in the root and in every directory the
  root search climbed through, each member's ``pyproject.toml``, ``setup.py`` and
  ``setup.cfg``, ``.python-version``, the user settings file, ``pylock.toml`` and, for
  ``sync``, ``.venv``'s stamp, interpreter description and ``pyvenv.cfg``;
- for a workspace that declares no ``requires-python`` (its lock's default follows the
  Python a sync would use), ``.venv``'s interpreter description and ``pyvenv.cfg`` for
  ``lock`` too, and where ``.venv``'s interpreter leads and the stat of the file there;
- the listing (names, kinds, link targets) of every directory the workspace's ``members``
  and ``exclude`` globs look into, so a member that appears or goes is seen, and where
  each of their matches and each path source leads (its real path), so a symlink on the
  way that is pointed elsewhere is seen too; for a lone project below a workspace that
  does not take it, the same of that workspace's globs (a link made there can make the
  project its member);
- for a ``python`` setting that is a path or a command name, the file it names and, for a
  command, PATH and the file of that name in each of its directories;
- for ``sync``, whether each editable member has a ``src/`` directory (its ``.pth`` names
  ``src/`` or the member's own directory);
- the environment variables settings come from (every ``PYPM_*``, and those that place the
  user settings file and the cache; as one sha256 of their names and values, so that a
  credential in an index URL is not written down), the working directory, the interpreter pypm runs on,
  and the files of pypm's own modules the check ran (a reinstalled or edited pypm
  re-checks).

The next plain ``pypm lock`` / ``sync`` in that directory compares all of it and, for
``sync``, re-checks ``.venv``'s own signals the stamp recorded (its interpreter and
site-packages, :func:`pypm.operations.venv_state.venv_matches_stamp`), as the full check
would. Anything different, missing or unreadable falls back to the full check, which
records a new verdict when it finds everything up to date. Files are compared by
content, not by size and time, so an edit within the same second is not missed; the
record is written only when every observation was the same before and after the full
check, so a file edited while it ran is not recorded as what the verdict saw.

Not recorded (the full check runs every time): a member with ``dynamic`` metadata (its
signature walks its sources), a path dependency that is not editable (its whole tree is
an input of the sync), a ``**`` or ``..`` in a workspace glob, a workspace root
named by ``PYPM_WORKSPACE_ROOT``, and a working directory other than the workspace root.

The record is in :mod:`marshal`'s format, which needs no import (``json`` imports ``re``,
a fifth of a no-op); it also holds ``.venv``'s stamp and interpreter description as the
full check parsed them, whose files' content it compares. This module imports ``os``,
``sys`` and ``marshal`` only; what recording needs is imported when it records.
"""

from __future__ import annotations

import marshal
import os
import sys

from pypm import __version__
from pypm.operations.venv_state import sha256, venv_matches_stamp

TYPE_CHECKING = False  # typing's import is a tenth of a no-op
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from pypm.graph.context import GraphContext

VERDICT_FORMAT = 1
STATE_DIR = ".pypm"
VERDICT_FILE = "noop-verdict.marshal"
#: Variables that set a setting (``PYPM_*``, and the workspace root's old ``PYP_*`` name).
ENV_PREFIXES = ("PYPM_", "PYP_")
#: Variables that place the user settings file and the cache (platformdirs' inputs on each
#: platform; the cache's place matters to :mod:`pypm.graph.lock_recall`, which reads it).
ENV_NAMES = ("HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "APPDATA", "LOCALAPPDATA", "USERPROFILE")


def verdict_holds(operations: list[str]) -> bool:
    """True when the verdict recorded in the working directory covers ``operations`` and
    every observation it was computed from is unchanged (see the module docstring)."""
    return holding_record(VERDICT_FILE, operations) is not None


def holding_record(file_name: str, operations: list[str]) -> dict[str, Any] | None:
    """The record ``.pypm/<file_name>`` of the working directory when it covers
    ``operations`` and every observation it was computed from is unchanged; else None
    (also used by :mod:`pypm.graph.lock_recall`, whose records observe the same inputs)."""
    cwd = os.getcwd()
    try:
        with open(os.path.join(cwd, STATE_DIR, file_name), "rb") as file:
            record = marshal.loads(file.read())
        return record if observation_holds(record, cwd, operations) else None
    except (OSError, EOFError, ValueError, KeyError, TypeError, AttributeError):
        return None


def observation_holds(record: dict[str, Any], cwd: str, operations: list[str],
                      leaving_out: frozenset[str] = frozenset()) -> bool:
    """True when every observation of ``record`` (what :func:`observe` took) is the same in
    ``cwd`` now, for ``operations`` (also used by :mod:`pypm.graph.sync_replay`, which
    lists directories ``leaving_out`` pypm's own paths, as its record was taken)."""
    if record.get("format") != VERDICT_FORMAT or record.get("cwd") != cwd:
        return False
    if record.get("pypm") != __version__ or record.get("python") != _interpreter():
        return False
    if not set(operations) <= set(record["operations"]) or record["env"] != settings_environment():
        return False
    if any(stat_signal(path) != signal for path, signal in record["code"].items()):
        return False
    if any(_listing_digest(path, leaving_out) != digest for path, digest in record["listings"].items()):
        return False
    if any(os.path.realpath(path) != real for path, real in record["leads-to"].items()):
        return False
    if any(_file_digest(path) != digest for path, digest in record["files"].items()):
        return False
    if _python_request(record["python-request"][0]) != record["python-request"][1]:
        return False
    if any(_file_signal(path) != signal for path, signal in record["interpreters"].items()):
        return False
    if "sync" not in operations:
        return True
    if any(os.path.isdir(path) != is_dir for path, is_dir in record["source-layouts"].items()):
        return False
    return venv_matches_stamp(record["venv-info"], record["venv-stamp"])  # their files' content was just compared


def _interpreter() -> list[str]:
    return [sys.executable, sys.version]


def settings_environment() -> str:
    """sha256 of the variables settings come from (names and values, sorted): their values
    may hold credentials (``PYPM_INDEX_URL=https://user:token@host/simple``), so the record
    holds no value in plain text."""
    rows = sorted(f"{name}={value}" for name, value in os.environ.items()
                  if name.startswith(ENV_PREFIXES) or name in ENV_NAMES)
    return sha256("\0".join(rows).encode()).hexdigest()


def _python_request(requested: str | None) -> list[Any] | None:
    """What a ``python`` setting that is a path or a command name leads to depends on (the
    sync stamp records where it leads, :mod:`pypm.operations.stamp`): the file at that path
    (its real path and stat) and, for a command, PATH (as a digest) and the file of that
    name in each of its directories, so that another one appearing earlier is seen. None
    for no setting or a version (``3.12``), whose interpreter no setting of its own names."""
    if not requested or _is_version_request(requested):
        return None
    search = os.environ.get("PATH", "")
    command = "python" + requested if requested[0].isdigit() else requested  # 3.13t: python3.13t on PATH
    names = [command, *(command + ext for ext in os.environ.get("PATHEXT", "").split(os.pathsep) if ext)]
    on_path = [stat_signal(os.path.join(directory, name))
               for directory in search.split(os.pathsep) if directory for name in names]
    return [*_file_signal(os.path.abspath(os.path.expanduser(requested))), sha256(search.encode()).hexdigest(), on_path]


def _is_version_request(requested: str) -> bool:
    """:func:`pypm.config.is_version_request` without ``re`` or that module's imports: each
    dot-separated part is one or more decimal digits (what ``\\d`` matches)."""
    return all(part.isdecimal() for part in requested.split("."))


def _file_signal(path: str) -> list[Any]:
    """Where ``path`` leads (its real path) and the stat of the file there (None: missing
    or a dangling link): an interpreter's, whose content is not read."""
    return [os.path.realpath(path), stat_signal(path)]


def _file_digest(path: str) -> str | None:
    """sha256 of the file's bytes; None when it does not exist; the error number when it
    cannot be read (a directory, say)."""
    try:
        with open(path, "rb") as file:
            return sha256(file.read()).hexdigest()
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"error {exc.errno}"


def _listing_digest(path: str, leaving_out: frozenset[str] = frozenset()) -> str | None:
    """sha256 of the directory's entries: name, kind and, for a link, its target (but
    not the entries whose paths are ``leaving_out``)."""
    try:
        with os.scandir(path) as entries:
            rows = sorted(_entry_row(entry) for entry in entries if entry.path not in leaving_out)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        return f"error {exc.errno}"
    return sha256("\0".join(rows).encode()).hexdigest()


def _entry_row(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        try:
            return f"{entry.name}\x01{os.readlink(entry.path)}"
        except OSError:
            return f"{entry.name}\x01?"
    return f"{entry.name}\x02" if entry.is_dir() else entry.name


def stat_signal(path: str) -> list[int] | None:
    """inode, size, mtime and mode of the file at ``path`` (None: missing)."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return [stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_mode]


# -- recording (after a full check; may import what it needs) ------------------------------


def observe(ctx: GraphContext, operations: list[str], written: frozenset[str] = frozenset()) -> dict[str, Any] | None:
    """What a verdict on ``operations`` for ``ctx`` depends on, as :func:`verdict_holds`
    compares it; None when this workspace or invocation is not recorded (``written``:
    paths of files the run made, left out of their directories' listings)."""
    from pypm.workspace.discovery import root_override
    from pypm.workspace.member_sources import dynamic_fields

    raw = ctx.raw
    cwd = os.getcwd()
    if root_override() is not None or os.path.normcase(os.path.realpath(cwd)) != os.path.normcase(str(raw.root)):
        return None
    if any(dynamic_fields(member) or not member.editable for member in raw.members):
        return None
    listings = _glob_listings(raw.root, raw.workspace_table)
    declined = raw.declined_by  # a link made where its globs look could make this project its member
    outer_listings = _glob_listings(declined.root, declined.table) if declined is not None else []
    if listings is None or outer_listings is None:
        return None
    listings += outer_listings
    files = _input_files(ctx, operations)
    record: dict[str, Any] = {
        "format": VERDICT_FORMAT,
        "pypm": __version__,
        "python": _interpreter(),
        "cwd": cwd,
        "operations": sorted(operations),
        "env": settings_environment(),
        "code": {path: stat_signal(path) for path in _pypm_module_files()},
        "listings": {str(path): _listing_digest(str(path), written) for path in listings},
        "leads-to": {str(path): os.path.realpath(path)
                     for path in [*raw.resolved_paths, *(declined.matched if declined is not None else [])]},
        "files": {str(path): _file_digest(str(path)) for path in files},
        "python-request": [ctx.settings["python"], _python_request(ctx.settings["python"])],
        "interpreters": {path: _file_signal(path) for path in _default_python_interpreters(ctx)},
    }
    if "sync" in operations:
        from pypm.operations.stamp import read_stamp
        from pypm.operations.venv_state import read_interpreter_info

        record["venv-info"] = read_interpreter_info(ctx.venv_path)
        record["venv-stamp"] = read_stamp(ctx.venv_path)
        # whether each editable member has a src/ directory: the stamp's signature of its
        # install follows it (pypm.workspace.member_sources.install_signature)
        layouts = [str(member.path / "src") for member in raw.members if member.editable]
        record["source-layouts"] = {path: os.path.isdir(path) for path in layouts}
    return record


def _input_files(ctx: GraphContext, operations: list[str]) -> list[Path]:
    """Every file the full check reads or looks for (see the module docstring)."""
    from pypm.config import PYTHON_VERSION_FILE, user_config_path
    from pypm.operations.stamp import stamp_path
    from pypm.operations.venv_state import INTERPRETER_INFO
    from pypm.workspace.discovery import PYPROJECT, WORKSPACE_FILE
    from pypm.workspace.member_sources import BUILD_FILES

    raw = ctx.raw
    searched = [raw.root] if raw.workspace_table is not None else [raw.root, *raw.root.parents]
    files = [directory / name for directory in searched for name in (WORKSPACE_FILE, PYPROJECT)]
    for member in raw.members:
        files += [member.pyproject, *(member.path / name for name in BUILD_FILES)]
    files += [raw.root / PYTHON_VERSION_FILE, user_config_path(), ctx.lock_path]
    if "sync" in operations:
        files.append(stamp_path(ctx.venv_path))
    if "sync" in operations or _default_python_interpreters(ctx):
        files += [ctx.venv_path / INTERPRETER_INFO, ctx.venv_path / "pyvenv.cfg"]
    return list(dict.fromkeys(files))


def _default_python_interpreters(ctx: GraphContext) -> list[str]:
    """For a workspace that declares no ``requires-python``: ``.venv``'s interpreter, whose
    version sets the default the lock is checked against (with ``.venv``'s description and
    ``pyvenv.cfg``, :func:`pypm.operations.default_python.sync_python_version`; the ``python``
    setting is observed as ``python-request``); nothing when one is declared."""
    from pypm.interpreter import venv_python
    from pypm.operations.default_python import declares_requires_python

    return [] if declares_requires_python(ctx.raw) else [str(venv_python(ctx.venv_path))]


def _glob_listings(root: Path, table: Any) -> list[Path] | None:
    """The directories the workspace's ``members`` and ``exclude`` patterns look into
    (a superset); None for a pattern with ``**`` or ``..``."""
    import fnmatch

    from pypm.workspace.discovery import is_glob

    patterns = [*table.get("members", []), *(table.get("exclude", []) or [])] if isinstance(table, dict) else []
    looked_into: list[Path] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            continue
        parts = pattern.replace("\\", "/").split("/")
        if any("**" in part or part == ".." for part in parts) or os.path.isabs(pattern):
            return None
        level = [root]
        for part in (part for part in parts if part not in ("", ".")):
            looked_into += level
            if is_glob(part):
                level = [d / name for d in level for name in _names(d) if fnmatch.fnmatch(name, part)]
            else:
                level = [d / part for d in level]
    return list(dict.fromkeys(looked_into))


def _names(directory: Path) -> list[str]:
    try:
        return os.listdir(directory)
    except OSError:
        return []


def _pypm_module_files() -> list[str]:
    """The files of the pypm modules loaded so far: the code that reached the verdict."""
    files = []
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if (name == "pypm" or name.startswith("pypm.")) and path:
            files.append(path)
    return sorted(files)


def record_verdict(ctx: GraphContext, operations: list[str], before: dict[str, Any] | None,
                   file_name: str = VERDICT_FILE, extra: dict[str, Any] | None = None,
                   written: tuple[Path, ...] = ()) -> None:
    """Write the verdict that ``operations`` are up to date, observed as ``before`` (taken
    before the full check), when a second look finds the workspace and every observation
    unchanged. Best effort: a record that cannot be written only costs the next no-op time.

    ``file_name``, ``extra`` and ``written`` serve other records of the same observations
    (:mod:`pypm.graph.lock_recall`): the file in ``.pypm/``, what the record adds, and the
    files the run itself wrote, whose observation is kept as ``before`` saw it."""
    from pypm.fsutil import atomic_write_bytes
    from pypm.graph.context import GraphContext

    if before is None or not (ctx.state_dir).is_dir():
        return
    ours = frozenset(str(path) for path in written)
    again = GraphContext.load(ctx.raw.root)
    after = observe(again, operations, ours)
    if after is None or _parsed(again) != _parsed(ctx) or _compared(after, ours) != _compared(before, ours):
        return
    # "code" is taken after the check, which loaded the modules that reached the verdict
    record = {**before, "code": after["code"], **(extra or {})}
    try:
        atomic_write_bytes(ctx.state_dir / file_name, marshal.dumps(record))
    except (OSError, ValueError):  # ValueError: a value marshal cannot write
        return


def _compared(record: dict[str, Any], written: frozenset[str]) -> dict[str, Any]:
    """What must be the same before and after: all but pypm's code and the files written."""
    files = {path: digest for path, digest in record["files"].items() if path not in written}
    return {**_without_code(record), "files": files}


def _without_code(record: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in record.items() if key != "code"}


def _parsed(ctx: GraphContext) -> list[Any]:
    """What the workspace's files said when ``ctx`` was loaded."""
    raw = ctx.raw
    return [str(raw.config_file), raw.root_data, [(str(m.path), m.data) for m in raw.members], ctx.settings.values]
