"""``pypm doctor``: what pypm needs from this machine and this project, one
:class:`CheckResult` per line. Each check is a small function that does not raise: a
problem is a ``fail`` or ``warn`` result with a hint; ``info`` lines are never counted.

The checks run side by side (threads): most wait on a subprocess or the network. Every
file a check makes (a test program, a probe file in the cache, a hardlink) is made under a
fresh name and removed again; nothing else is touched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

from pypm.config import DEFAULT_SOURCE, Settings
from pypm.operations.doctor_model import NO_PROJECT, STATUSES, CheckResult, Freshness, Target, error_result
from pypm.operations.doctor_network import check_network, check_openssl
from pypm.workspace.discovery import RawWorkspace

__all__ = ["CheckResult", "Target", "counts", "report_json", "report_lines", "run_checks", "summary"]

MIB = 1024**2
GIB = 1024**3
WARN_FREE, FAIL_FREE = GIB, 100 * MIB
VENV_PYTHON = ".venv's Python"
COMPILER_HINT = "install a C compiler: build-essential, the Xcode command line tools or the MSVC Build Tools"
_PROBE_PREFIX = ".pypm-doctor-"
_C_PROGRAM = '#include <stdio.h>\nint main(void) { puts("pypm-doctor"); return 0; }\n'
_INCLUDE_SCRIPT = "import sys, sysconfig; print(sysconfig.get_path('include')); print(sys.version.split()[0])"


def run_checks(start: Path, overrides: Mapping[str, tuple[Any, str]] | None = None,
               freshness: Freshness | None = None) -> list[CheckResult]:
    """Every check for the workspace found from ``start`` (or none), with the settings
    ``overrides`` (name -> (value, flag)) of the command line; in report order."""
    target = load_target(start, overrides or {})
    target.freshness = freshness
    _import_check_modules()
    checks = (check_venv, check_python_headers, check_compiler, check_openssl, check_network, check_cache,
              check_hardlink, check_disk, check_git, check_wasi, check_plugins)
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = [pool.submit(_guarded, check, target) for check in checks]
        return [*target.found, *(result for future in futures for result in future.result())]


# Every module a check imports lazily. They are imported here, in the calling thread,
# before the checks start: two threads importing one package at once can make
# CPython's import locks report a deadlock (seen in CI as ``_DeadlockError`` on
# ``importlib.resources.abc``), which would turn a check into a false failure.
_CHECK_MODULES = ("errno", "secrets", "shlex", "ssl", "urllib.parse", "importlib.metadata",
                  "importlib.resources", "httpx", "pypm.errors", "pypm.install.venv",
                  "pypm.interpreter", "pypm.store.layout", "pypm.store.link", "pypm.plugins.loader",
                  "pypm.plugins.installed",
                  "pypm.index.auth", "pypm.index.http", "pypm.index.pages", "pypm.index.file_facts",
                  "pypm.index.transport_policy")


def _import_check_modules() -> None:
    """Import what the checks need before they run in parallel (see ``_CHECK_MODULES``)."""
    import importlib

    for name in _CHECK_MODULES:
        importlib.import_module(name)


def _guarded(check: Callable[[Target], list[CheckResult]], target: Target) -> list[CheckResult]:
    """The check's results; a check that breaks is a fail line, not a traceback."""
    try:
        return check(target)
    except Exception as exc:  # noqa: BLE001 - reported as the check's own line
        name = check.__name__.removeprefix("check_").replace("_", "-")
        reason = " ".join(str(exc).split())
        return [CheckResult(name, "fail", f"the check itself failed: {type(exc).__name__}: {reason}")]


def counts(results: list[CheckResult]) -> dict[str, int]:
    """How many results have each status."""
    return {status: sum(1 for r in results if r.status == status) for status in STATUSES}


def summary(results: list[CheckResult]) -> str:
    """``2 failures, 1 warning``."""
    found = counts(results)
    return f"{_plural(found['fail'], 'failure')}, {_plural(found['warn'], 'warning')}"


def report_json(results: list[CheckResult]) -> str:
    """The results and their counts as one JSON document."""
    import json

    found = counts(results)
    document = {"checks": [asdict(r) for r in results], "failures": found["fail"], "warnings": found["warn"]}
    return json.dumps(document, indent=2)


def report_lines(results: list[CheckResult]) -> list[str]:
    """One aligned line per result."""
    width = max((len(r.check) for r in results), default=0)
    return [result.line(width) for result in results]


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# --------------------------------------------------------------------------- project and settings


def load_target(start: Path, overrides: Mapping[str, tuple[Any, str]]) -> Target:
    """The workspace and its settings as far as they load, with a line for each."""
    from pypm.errors import PypmError

    raw, project_line = _find_project(start)
    settings, settings_line = _load_settings(raw, project_line is not None)
    for name, (value, flag) in overrides.items():
        settings.override(name, value, source=flag)  # a bad value is a command-line mistake (exit 2)
    target = Target(settings)
    if raw is not None:
        try:
            from pypm.workspace.model import validate_workspace

            members = sorted(name for name, member in validate_workspace(raw, settings).members.items()
                             if not member.path_dependency)  # path dependencies are no members
            target.raw = raw
            project_line = CheckResult("project", "ok", f"{raw.root} ({_plural(len(members), 'member')}: "
                                                        f"{', '.join(members)})")
        except (PypmError, OSError) as exc:
            project_line = error_result("project", exc)
    if project_line is None:
        project_line = CheckResult("project", "info", f"{NO_PROJECT} (nothing found from {start} up)")
    elif target.raw is None:
        target.no_project = "not checked: the project does not load"
    target.found = [project_line, settings_line]
    return target


def _find_project(start: Path) -> tuple[RawWorkspace | None, CheckResult | None]:
    """The raw workspace, or the fail line saying why it does not load; (None, None)
    when there is no project at all from ``start`` up."""
    from pypm.errors import PypmError
    from pypm.operations.cache import workspace_or_none

    try:
        return workspace_or_none(start), None
    except (PypmError, OSError) as exc:
        return None, error_result("project", exc)


def _load_settings(raw: RawWorkspace | None, broken: bool) -> tuple[Settings, CheckResult]:
    """The settings, every value checked now (markers too), and their line; the
    defaults when they do not load, so the other checks still run."""
    from pypm.config import load_settings
    from pypm.errors import PypmError

    try:
        settings = load_settings(raw.tool_table, raw.config_file) if raw is not None else load_settings({})
        settings.check()
    except (PypmError, OSError) as exc:
        return Settings({}), error_result("settings", exc, "the other checks use the defaults")
    read = "PYPM_* variables, the user config" + (" and [tool.pypm]" if raw is not None else "")
    return settings, CheckResult("settings", "ok", f"valid ({read}{'; project not read' if broken else ''})")


# --------------------------------------------------------------------------- the project's environment


def check_venv(target: Target) -> list[CheckResult]:
    """Does ``.venv`` match ``pylock.toml``, and the lock the project (the default selection)?"""
    from pypm.errors import PypmError

    if target.raw is None or target.freshness is None:
        return [CheckResult("venv", "info", target.no_project)]
    root = target.raw.root
    if not (root / "pylock.toml").is_file():
        return [CheckResult("venv", "warn", f"no pylock.toml in {root}", "run `pypm lock`")]
    try:
        lock_fresh, venv_fresh = target.freshness(target.raw, target.settings)
    except (PypmError, OSError) as exc:
        reason = error_result("venv", exc).message
        return [CheckResult("venv", "warn", f"cannot tell whether .venv is current: {reason}", "run `pypm sync`")]
    if not lock_fresh:
        return [CheckResult("venv", "warn", "pylock.toml is stale: the project or its settings changed since it was"
                            " locked", "run `pypm sync`, which locks first")]
    if not (root / ".venv").is_dir():
        return [CheckResult("venv", "warn", f"no .venv in {root}", "run `pypm sync`")]
    if not venv_fresh:
        return [CheckResult("venv", "warn", ".venv does not match pylock.toml (as `pypm sync` would install it)",
                            "run `pypm sync`")]
    return [CheckResult("venv", "ok", ".venv matches pylock.toml, which is current")]


def check_python_headers(target: Target) -> list[CheckResult]:
    """``Python.h`` where the interpreter of ``.venv`` (or the one pypm would make it
    from) says its headers are: C extensions built from source need it."""
    from pypm.errors import PypmError

    try:
        python, which = _python_to_check(target)
    except PypmError as exc:
        return [error_result("python-headers", exc)]
    found = _include_dir(python)
    if isinstance(found, str):
        return [CheckResult("python-headers", "fail", f"{python} ({which}) does not run: {found}",
                            "run `pypm sync` to recreate .venv" if which == VENV_PYTHON else "")]
    include, version = found
    if (Path(include) / "Python.h").is_file():
        return [CheckResult("python-headers", "ok", f"Python.h found in {include} for {python} ({version}, {which})")]
    return [CheckResult("python-headers", "fail", f"no Python.h in {include} for {python} ({version}, {which})",
                        f"install the headers of Python {version}: python3-dev or python3-devel, or use a Python"
                        " that ships them")]


def _include_dir(python: Path) -> tuple[str, str] | str:
    """(include directory, version) as ``python`` reports them, or why it does not run."""
    done = _run([str(python), "-I", "-c", _INCLUDE_SCRIPT], timeout=60)
    words = done.stdout.strip().splitlines()
    if done.returncode != 0 or len(words) != 2:
        return _error_line(done.stderr) or f"exit code {done.returncode}"
    return words[0], words[1]


def _python_to_check(target: Target) -> tuple[Path, str]:
    """``.venv``'s interpreter, else the one pypm would create ``.venv`` from."""
    from pypm.install.venv import find_base_python
    from pypm.interpreter import venv_python

    if target.raw is not None and venv_python(target.raw.root / ".venv").exists():
        return venv_python(target.raw.root / ".venv"), VENV_PYTHON
    which = "the Python pypm would use" if target.raw is None else "no .venv yet: the Python pypm would make it from"
    return find_base_python(target.settings["python"]), which


# --------------------------------------------------------------------------- cache and disk


def check_cache(target: Target) -> list[CheckResult]:
    """The cache directory exists and a sync can write what it writes there (or it can be
    created): new files in it, in pypm's directories in it and in the store's buckets,
    and the store's lock file opened for writing. Nothing is changed: probe files are
    deleted at once, and the lock file is opened, not created."""
    cache = target.settings.cache_dir
    source = target.settings.sources.get("cache-dir", DEFAULT_SOURCE)
    shown = f"{cache} ({'the default' if source == DEFAULT_SOURCE else 'from ' + source})"
    hint = "fix its permissions, or set PYPM_CACHE_DIR to a writable directory"
    if cache.is_symlink() and not cache.exists():
        return [CheckResult("cache", "fail", f"{shown} is a symbolic link to {os.readlink(cache)}, which does not"
                            " exist", "create the directory it points to, or remove the link")]
    if not cache.exists():
        parent = _existing_parent(cache)
        if os.access(parent, os.W_OK | os.X_OK):
            return [CheckResult("cache", "ok", f"{shown} does not exist yet; pypm can create it")]
        return [CheckResult("cache", "fail", f"{shown} does not exist, and {parent} is not writable", hint)]
    if not cache.is_dir():
        return [CheckResult("cache", "fail", f"{shown} is a file where a directory is expected",
                            "move it out of the way or set PYPM_CACHE_DIR")]
    try:
        _probe_directory(cache)
    except OSError as exc:
        return [CheckResult("cache", "fail", f"{shown} is not writable: {_reason(exc)}", hint)]
    problem = _cache_inside_problem(cache)
    if problem is not None:
        return [CheckResult("cache", "fail", f"{shown}: {problem}", "fix the permissions there (a `sudo pypm` may "
                            "have left it to root), or run `pypm cache clean` as its owner")]
    return [CheckResult("cache", "ok", f"{shown} is writable")]


def _probe_directory(directory: Path) -> None:
    """Write a file in ``directory`` and delete it (OSError when that fails)."""
    with tempfile.NamedTemporaryFile(dir=directory, prefix=_PROBE_PREFIX) as probe:
        probe.write(b"pypm doctor\n")
        probe.flush()


def _cache_inside_problem(cache: Path) -> str | None:
    """What in the cache a sync could not write (None: nothing): the store's lock file,
    which every sync opens for writing, and pypm's directories and the store's buckets,
    which it writes new files into."""
    from pypm.store.layout import CACHE_DIRS, STORE
    from pypm.store.lock import lock_file_name

    lock = cache / lock_file_name()
    if lock.exists() or lock.is_symlink():
        try:
            os.close(os.open(lock, os.O_RDWR))  # no O_CREAT, no O_TRUNC: nothing changes
        except OSError as exc:
            return f"its lock file {lock.name} cannot be opened for writing: {_reason(exc)}"
    store = cache / STORE
    buckets = sorted(p for p in store.iterdir() if p.is_dir()) if store.is_dir() and not store.is_symlink() else []
    for directory in [*(cache / name for name in CACHE_DIRS), *buckets]:
        if not directory.exists():
            continue
        if not directory.is_dir():
            return f"{directory.relative_to(cache)} is a file where a directory is expected"
        try:
            _probe_directory(directory)
        except OSError as exc:
            return f"{directory.relative_to(cache)} is not writable: {_reason(exc)}"
    return None


def check_hardlink(target: Target) -> list[CheckResult]:
    """Hardlinks from the cache into the project work (same filesystem), as sync makes them."""
    if target.raw is None:
        return [CheckResult("hardlink", "info", target.no_project)]
    mode = target.settings["link-mode"]
    if mode != "hardlink":
        return [CheckResult("hardlink", "info", f"not used: {target.settings.describe('link-mode')}")]
    cache, root = target.settings.cache_dir, target.raw.root
    into = next(folder for folder in (root / ".venv", root / ".pypm", root) if folder.is_dir())
    copying = (f"pypm will copy instead of hardlinking from {cache} to {into}",
               "put the cache on the project's filesystem (PYPM_CACHE_DIR)")
    blocker = _existing_parent(cache)  # the cache, or where it would be made
    if not blocker.is_dir():
        return [CheckResult("hardlink", "info", f"not checked: {blocker} exists but is not a directory (see the "
                            "cache check)")]
    if not cache.is_dir():
        if _device(cache) != _device(into):
            return [CheckResult("hardlink", "warn", f"{copying[0]}: the cache would be on another filesystem",
                                copying[1])]
        return [CheckResult("hardlink", "ok", f"{cache} does not exist yet; it would be on the project's filesystem")]
    failure = _try_hardlink(cache, into)
    if failure:
        return [CheckResult("hardlink", "warn", f"{copying[0]} ({failure})", copying[1])]
    from pypm.store.layout import LINK_MODES
    from pypm.store.link import effective_link_mode

    if effective_link_mode(mode, cache, into) != "hardlink":
        return [CheckResult("hardlink", "warn", f"hardlinks from {cache} to {into} work, but pypm recorded that they"
                            " failed before, so it copies", f"delete {cache / LINK_MODES} to let it hardlink again")]
    return [CheckResult("hardlink", "ok", f"hardlinks work from {cache} to {into}")]


def _try_hardlink(cache: Path, into: Path) -> str:
    """Hardlink a new file of the cache into ``into`` and remove both: "" when it worked,
    else why not."""
    import errno
    import secrets

    link = into / f"{_PROBE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
    made: list[Path] = []
    try:
        handle, source = tempfile.mkstemp(prefix=_PROBE_PREFIX, dir=cache)
        os.close(handle)
        made.append(Path(source))
        os.link(source, link)
        made.append(link)
    except OSError as exc:
        return "the cache and the project are on different filesystems" if exc.errno == errno.EXDEV else _reason(exc)
    finally:
        for path in made:
            path.unlink(missing_ok=True)
    return ""


def check_disk(target: Target) -> list[CheckResult]:
    """Free space for the cache and the project: warn under 1 GiB, fail under 100 MiB (one
    line per filesystem)."""
    places = [("cache", target.settings.cache_dir), *([("project", target.raw.root)] if target.raw else [])]
    by_device: dict[int, list[tuple[str, Path]]] = {}
    for what, path in places:
        by_device.setdefault(_device(path), []).append((what, _existing_parent(path)))
    results = []
    for group in by_device.values():
        free = shutil.disk_usage(group[0][1]).free
        status = "fail" if free < FAIL_FREE else "warn" if free < WARN_FREE else "ok"
        what = " and the ".join(name for name, _ in group)
        hint = "" if status == "ok" else "free some space, or move the cache elsewhere (PYPM_CACHE_DIR)"
        results.append(CheckResult("disk", status, f"{_size(free)} free for the {what} ({group[0][1]})", hint))
    return results


def _existing_parent(path: Path) -> Path:
    """``path``, or its nearest ancestor that exists."""
    while not path.exists() and path.parent != path:
        path = path.parent
    return path


def _device(path: Path) -> int:
    return _existing_parent(path).stat().st_dev


def _size(count: int) -> str:
    return f"{count / GIB:.1f} GiB" if count >= GIB else f"{count / MIB:.0f} MiB"


# --------------------------------------------------------------------------- tools


def check_compiler(target: Target) -> list[CheckResult]:
    """A C compiler (``$CC``, else cc, gcc or clang on PATH; cl on Windows) compiles, links
    and runs a small program."""
    command = _compiler_command()
    if isinstance(command, str):
        return [CheckResult("compiler", "fail", command, COMPILER_HINT)]
    name = " ".join(command)
    with tempfile.TemporaryDirectory(prefix="pypm-doctor-") as scratch:
        source, program = Path(scratch) / "check.c", Path(scratch) / ("check.exe" if os.name == "nt" else "check")
        source.write_text(_C_PROGRAM)
        build = [*command, "/nologo", str(source), f"/Fe{program}"] if _is_msvc(command) else \
            [*command, str(source), "-o", str(program)]
        built = _run(build, cwd=scratch, timeout=120)
        if built.returncode != 0 or not program.exists():
            return [CheckResult("compiler", "fail", f"{name} cannot compile and link a test program: "
                                f"{_error_line(built.stderr or built.stdout)}",
                                "check that the C library headers are installed; " + COMPILER_HINT)]
        ran = _run([str(program)], cwd=scratch, timeout=30)
    if ran.stdout.strip() != "pypm-doctor":
        return [CheckResult("compiler", "warn", f"{name} builds programs that do not run here: "
                            f"{_error_line(ran.stderr) or f'exit code {ran.returncode}'}")]
    return [CheckResult("compiler", "ok", f"{name} compiles, links and runs a test program ({_version_of(command)})")]


def _compiler_command() -> list[str] | str:
    """The compiler command, or why there is none."""
    import shlex

    given = os.environ.get("CC", "").strip()
    if given:
        words = shlex.split(given, posix=os.name != "nt")
        return words if shutil.which(words[0]) else f"CC={given}: {words[0]} is not found"
    names = ("cl", "clang", "gcc") if os.name == "nt" else ("cc", "gcc", "clang")
    for compiler in names:
        if shutil.which(compiler):
            return [compiler]
    return f"no C compiler: CC is unset and none of {', '.join(names)} is on PATH"


def _is_msvc(command: list[str]) -> bool:
    return Path(command[0]).stem.lower() == "cl"


def _version_of(command: list[str]) -> str:
    """The compiler's own first line about its version (MSVC prints it for no arguments)."""
    done = _run(command if _is_msvc(command) else [*command, "--version"], timeout=30)
    lines = (done.stderr if _is_msvc(command) else done.stdout).strip().splitlines()
    return lines[0].strip() if lines else "version unknown"


def check_git(target: Target) -> list[CheckResult]:
    """``git --version``."""
    if shutil.which("git") is None:
        return [CheckResult("git", "warn", "git is not on PATH",
                            "install git: bundles date themselves by the lock's commit, and some build backends"
                            " ask git for the version")]
    done = _run(["git", "--version"], timeout=30)
    if done.returncode != 0:
        return [CheckResult("git", "warn", f"git does not run: {_error_line(done.stderr)}")]
    return [CheckResult("git", "ok", done.stdout.strip())]


def check_wasi(target: Target) -> list[CheckResult]:
    """The WebAssembly (WASI) toolchain, for information only: the SDK, a wasm32 clang,
    wasmtime."""
    found = []
    sdk = os.environ.get("WASI_SDK_PATH", "").strip()
    if sdk:
        found.append(f"WASI_SDK_PATH={sdk}" + ("" if (Path(sdk) / "bin" / "clang").exists() else " (no bin/clang)"))
    found.extend(tool for tool in ("wasm32-wasip1-clang", "wasm32-wasi-clang", "wasmtime") if shutil.which(tool))
    if shutil.which("clang") and "wasm32" in _run(["clang", "--print-targets"], timeout=30).stdout:
        found.append("clang (targets wasm32)")
    message = ", ".join(found) if found else "no WASI SDK, wasm32 clang or wasmtime (needed only to build for WASI)"
    return [CheckResult("wasi", "info", message)]


def _run(command: list[str], cwd: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a tool; an executable that cannot start is a completed process with exit code
    127 and the reason on stderr."""
    try:
        return subprocess.run(command, cwd=cwd, capture_output=True, text=True, errors="replace", timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        return subprocess.CompletedProcess(command, 127, "", _reason(exc))


def _reason(exc: BaseException) -> str:
    if isinstance(exc, subprocess.TimeoutExpired):
        return f"no answer within {exc.timeout:g}s"
    return getattr(exc, "strerror", None) or f"{type(exc).__name__}: {exc}"


def _error_line(text: str) -> str:
    """The first line of a tool's output that says "error", else its last non-blank line."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    return (errors or lines or [""])[0 if errors else -1]


def check_plugins(target: Target) -> list[CheckResult]:
    """Each plugin (entry points, ``[tool.pypm] plugins``) loads, each on its own."""
    from pypm.plugins.loader import DISABLE_VAR, plugin_problems, plugins_disabled

    if plugins_disabled():
        return [CheckResult("plugins", "info", f"plugins are disabled ({DISABLE_VAR} or --no-plugins)")]
    raw = target.raw
    rows = plugin_problems(raw.config_file if raw else None, raw.tool_table if raw else {},
                           raw.root / ".venv" if raw else None)
    if not rows:
        return [CheckResult("plugins", "info", "no plugins (entry points pypm.plugins, [tool.pypm] plugins)")]
    return [CheckResult("plugins", "ok", f"{name} loads") if problem is None
            else CheckResult("plugins", "fail", problem) for name, problem in rows]
