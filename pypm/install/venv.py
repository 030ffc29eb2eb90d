"""Create ``.venv`` and describe its interpreter (cached beside it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pypm.config import expanded_path, is_python_variant, is_version_request, looks_like_path
from pypm.errors import InstallError
from pypm.fsutil import atomic_write_text
from pypm.install.venv_place import describes_this_venv
from pypm.interpreter import Interpreter, venv_bin, venv_python

__all__ = ["Interpreter", "describe_interpreter", "ensure_venv", "find_base_python", "project_venv",
           "venv_bin", "venv_python"]

INFO_FILE = ".pypm-interpreter.json"
ASIDE_SUFFIX = ".pypm-old"
OWNER_MARK = ".pypm-venv"  # created first in every venv pypm makes: its existence proves pypm made it


def describe_interpreter(python: Path) -> dict[str, Any]:
    """Run :mod:`pypm.install.interpreter_info` (standard library only) under ``python``
    and return its description, with the wheel tags it accepts added by pypm."""
    from pypm.install.interpreter_tags import tags_for

    script = Path(__file__).with_name("interpreter_info.py")
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONHOME", "PYTHONPATH")}
    hint = "give --python a Python interpreter's path or a version such as 3.12"
    try:
        result = subprocess.run([str(python), str(script)], capture_output=True, text=True, errors="replace",
                                env=env, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        raise InstallError(f"{python} is not a Python interpreter pypm can run ({reason})", hint=hint) from None
    try:
        data = json.loads(result.stdout) if result.returncode == 0 else None
    except ValueError:
        data = None
    if not isinstance(data, dict) or not {"version", "environment", "scheme", "config"} <= data.keys():
        detail = (result.stderr.strip().splitlines() or [f"exit code {result.returncode}, no description"])[-1]
        raise InstallError(f"{python} is not a usable Python interpreter: {detail}", hint=hint)
    data["tags"] = tags_for(data)
    return data


def python_version_for(venv: Path, settings: Any) -> str:
    """The version of the Python a sync would use: the ``python`` setting's (see
    :func:`requested_base`), else that of a complete ``venv``, else the running one."""
    base = requested_base(settings)
    if base is None:
        kept = complete_venv(venv)
        return kept.version if kept is not None else _running_version()
    return _base_version(base)


def requested_base(settings: Any) -> Path | None:
    """The interpreter the ``python`` setting names (None when it is not set); when it names
    no usable one, the error says where the value came from (``--python``, a file, a
    variable)."""
    requested = settings["python"]
    if not requested:
        return None
    try:
        return find_base_python(requested)
    except InstallError as exc:
        raise InstallError(f"{settings.describe('python')}: {exc.message}", hint=exc.hint) from None


def find_base_python(requested: str | None) -> Path:
    """The interpreter to build ``.venv`` from: a path, a version like ``3.12``, or ours."""
    if not requested:
        return _running_base()
    candidate = expanded_path(requested, "python")
    if candidate.is_file():
        return candidate.absolute()  # recorded as the venv's base: the same file from any directory
    if looks_like_path(requested):
        what = "a directory" if candidate.is_dir() else "missing"
        raise InstallError(f"{requested}: {what}, not a Python interpreter",
                           hint="give the path of a python executable or a version such as 3.12")
    if re.fullmatch(r"2(\.\d+)*", requested):
        raise InstallError(f"Python {requested}: pypm makes environments for Python 3 only",
                           hint="give a Python 3 version such as 3.12")
    if re.fullmatch(r"\d+\.\d+t", requested):  # free-threaded: its command is pythonX.Yt (as python.org names it)
        return _named_python(f"python{requested}")
    if is_python_variant(requested):
        raise InstallError(f"Python {requested!r}: pypm matches versions such as 3.13 or 3.13.1 (and 3.13t), not debug "
                           "or pre-release requests", hint="give that interpreter's path or command name instead")
    if not is_version_request(requested):  # a command name such as python3.11 or pypy3 (as uv takes)
        return _named_python(requested)
    found = _python_for_version(requested)
    if found is None:
        raise InstallError(f"no Python interpreter found for {requested!r}", hint="give a path or install that Python")
    return found


def _named_python(command: str) -> Path:
    """The interpreter named ``command`` on PATH, else one error line."""
    named = _command_on_path(command)
    if named is None:
        raise InstallError(f"no Python interpreter named {command!r} on PATH",
                           hint="give a path, a version such as 3.12, or a command on PATH")
    return named


def _python_for_version(requested: str) -> Path | None:
    """An interpreter whose version fits ``requested`` (``3``, ``3.12`` or ``3.12.1``), as uv
    matches a version request against every interpreter it finds. By name first (the fast
    path: no subprocess for ``3.12``): ``python3.12`` on PATH, then a pyenv or asdf version
    directory; for ``3.12.1`` the one on PATH must report that version. Then every
    interpreter ``pypm python list`` finds (``python``, ``python3``, ``py -0p`` on Windows)."""
    from pypm.install.pythons import discover, reported_version

    parts = requested.split(".")
    named = _command_on_path("python" + ".".join(parts[:2]))
    if named is not None and (len(parts) < 3 or reported_version(named) == requested):
        return named
    found = _python_in_version_dirs(requested)
    if found is not None:
        return found
    return next((python.path for python in discover() if version_fits(python.version, requested)), None)


def version_fits(version: str, requested: str) -> bool:
    """``version`` (``3.12.1``) is the one ``requested`` (``3``, ``3.12``, ``3.12.1``) asks for."""
    wanted = requested.split(".")
    return version.split(".")[: len(wanted)] == wanted


def _command_on_path(command: str) -> Path | None:
    """``command`` on PATH, skipping version-manager shims (they may not resolve)."""
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or "shims" in Path(directory).parts:
            continue
        found = shutil.which(command, path=directory)
        if found:
            return Path(found)
    return None


def _python_in_version_dirs(version: str) -> Path | None:
    """``pythonX.Y`` of a pyenv or asdf version directory whose name fits ``version``
    (``3.10``: the newest patch release first; ``3.10.13``: that one)."""
    home = Path.home()
    roots = [Path(os.environ.get("PYENV_ROOT", home / ".pyenv")) / "versions", home / ".asdf" / "installs" / "python"]
    command = "python" + ".".join(version.split(".")[:2])
    for root in roots:
        matches = [path for path in root.glob(f"{version}*/bin/{command}")
                   if version_fits(path.parent.parent.name, version)]
        if matches:
            return max(matches, key=_version_key)
    return None


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key of ``.../3.10.13/bin/python3.10`` by its version directory."""
    return tuple(int(part) if part.isdigit() else -1 for part in path.parent.parent.name.split("."))


def ensure_venv(venv: Path, requested_python: str | None) -> Interpreter:
    """The interpreter of a venv at a path pypm owns (build environments in its cache),
    (re)created in place when missing or made from another base interpreter."""
    base = find_base_python(requested_python)
    current = _reusable(venv, base)
    if current is not None:
        return current
    if venv.is_symlink() or venv.is_file():
        venv.unlink()
    elif venv.exists():
        shutil.rmtree(venv)
    return _create_venv(venv, base)


@contextmanager
def project_venv(
    venv: Path, requested_python: str | None, requires_python: Any, stamp_name: str
) -> Iterator[Interpreter]:
    """The project's ``.venv`` for the duration of a sync.

    With no interpreter requested, a complete ``.venv`` whose Python satisfies
    ``requires_python`` is kept whatever made it (so an earlier ``--python`` sticks, as with
    uv); a new one is made from the running interpreter when it satisfies
    ``requires_python``, else from the newest installed one that does.

    A matching environment is used in place. Otherwise the interpreter is checked against
    ``requires_python`` first, the old environment (only what pypm may replace: a directory
    with ``pyvenv.cfg``) is moved aside, and a new one is created; if the block fails, the
    new one is removed and the old one put back. A crash in between is undone by the next
    call (:func:`recover_interrupted_swap`; ``stamp_name`` is the file a complete sync
    leaves in the environment).
    """
    recover_interrupted_swap(venv, stamp_name)
    if requested_python is None:
        kept = complete_venv(venv)
        if kept is not None and _satisfies(kept.version, requires_python):
            yield kept
            return
        base = _base_before_a_move(venv, requires_python) or _default_base(requires_python)
    else:
        kept = _kept_for_version(venv, requested_python)
        if kept is not None:
            _check_requires_python(kept.version, requires_python, kept.executable, venv)
            yield kept
            return
        base = find_base_python(requested_python)
    current = _reusable(venv, base)
    if current is not None:
        _check_requires_python(current.version, requires_python, current.executable, venv)
        yield current
        return
    _check_replaceable(venv)
    _check_requires_python(_base_version(base), requires_python, base, venv)
    aside = _aside_path(venv)
    moved = venv.exists()
    if moved and (aside.exists() or aside.is_symlink()):
        raise InstallError(f"{aside} is in the way of replacing {venv.name}", hint=f"move {aside.name} away")
    if moved:
        os.replace(venv, aside)
    try:
        yield _create_venv(venv, base)
    except BaseException:
        # Nothing was at `venv` after the old one moved aside: what is there now is ours.
        if venv.is_dir() and not venv.is_symlink():
            shutil.rmtree(venv)
        if moved:
            os.replace(aside, venv)
        raise
    if moved:
        shutil.rmtree(aside, ignore_errors=True)


def recover_interrupted_swap(venv: Path, complete_marker: str) -> None:
    """Finish or undo a replacement of ``venv`` that a crash interrupted: a new environment
    that completed (it has its stamp) stays, and the old one is deleted; otherwise the old
    one is put back."""
    aside = _aside_path(venv)
    if not _is_own_venv(aside):
        return
    if venv.is_dir() and not venv.is_symlink() and (venv / complete_marker).is_file():
        shutil.rmtree(aside, ignore_errors=True)
        return
    if venv.exists() or venv.is_symlink():
        if not _is_own_venv(venv):
            return  # something pypm did not make took its place: leave both alone
        shutil.rmtree(venv)
    os.replace(aside, venv)


def _aside_path(venv: Path) -> Path:
    return venv.with_name(venv.name + ASIDE_SUFFIX)


def _kept_for_version(venv: Path, requested: str) -> Interpreter | None:
    """A complete venv whose Python is the version ``requested`` (``3.11``: any 3.11.x),
    whichever installation made it: as uv keeps a venv that satisfies the request, a
    different ``python3.11`` first on PATH later does not replace it (and the no-op check,
    which records the request, agrees). None for a path or a command name."""
    if not is_version_request(requested):
        return None
    kept = complete_venv(venv)
    return kept if kept is not None and version_fits(kept.version, requested) else None


def _reusable(venv: Path, base: Path) -> Interpreter | None:
    """The venv's interpreter when it is a complete venv made from ``base``."""
    data = _complete_venv_data(venv)
    return Interpreter.from_json(data) if data is not None and data.get("base") == str(base) else None


def complete_venv(venv: Path) -> Interpreter | None:
    """The interpreter of a complete venv pypm made (its interpreter link not dangling)."""
    data = _complete_venv_data(venv)
    return Interpreter.from_json(data) if data is not None else None


def _complete_venv_data(venv: Path) -> dict[str, Any] | None:
    info_file = venv / INFO_FILE
    python = venv_python(venv)
    if not ((venv / "pyvenv.cfg").is_file() and info_file.is_file() and python.exists()):
        return None
    try:
        data = json.loads(info_file.read_text("utf-8"))
        Interpreter.from_json(data)
        # its interpreter must still lead where it led when the venv was made (one pointed
        # at another program is no longer this venv's Python; venvs made before this was
        # recorded are not checked)
        if data.get("runs") is not None and os.path.realpath(python) != data["runs"]:
            return None
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, dict) and describes_this_venv(data, venv) else None


def _base_before_a_move(venv: Path, requires_python: Any) -> Path | None:
    """The base interpreter of a venv that moved with its project (so an earlier
    ``--python`` still sticks when it is made again there), when it still fits."""
    try:
        data = json.loads((venv / INFO_FILE).read_text("utf-8"))
        base, version = Path(data["base"]), str(data["version"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return base if base.is_file() and _satisfies(version, requires_python) else None


def _satisfies(version: str, requires_python: Any) -> bool:
    return requires_python is None or not str(requires_python) or requires_python.contains(version, prereleases=True)


def _default_base(requires_python: Any) -> Path:
    """The running interpreter when it satisfies ``requires_python``, else the newest
    installed interpreter that does (found as ``pypm python list`` finds them)."""
    running = _running_base()
    if _satisfies(_running_version(), requires_python):
        return running
    from pypm.install.pythons import discover

    for found in discover():  # newest first
        if _satisfies(found.version, requires_python):
            return found.path
    raise InstallError(
        f"no installed Python satisfies the project's requires-python {requires_python}",
        hint="install one (e.g. with pyenv or your system's packages) or give its path with --python",
    )


def _is_own_venv(venv: Path) -> bool:
    """A real directory pypm may replace: a virtual environment (``pyvenv.cfg``), one pypm
    began to create (its owner mark), or an empty directory."""
    if not venv.is_dir() or venv.is_symlink():
        return False
    return (venv / "pyvenv.cfg").is_file() or (venv / OWNER_MARK).is_file() or not any(venv.iterdir())


def _check_replaceable(venv: Path) -> None:
    """Raise unless ``venv`` is absent or a virtual environment (never delete what pypm did not make)."""
    if venv.is_symlink():
        raise InstallError(
            f"{venv} is a symbolic link, and the environment it points to must be replaced",
            hint="remove the link yourself; pypm then creates a new environment there",
        )
    if not venv.exists() or _is_own_venv(venv):
        return
    kind = "a directory that is not a virtual environment (no pyvenv.cfg)" if venv.is_dir() else "not a directory"
    raise InstallError(f"{venv} is {kind}; pypm does not replace what it did not make",
                       hint=f"move {venv.name} away or delete it yourself, then run the command again")


def _base_version(base: Path) -> str:
    """The version of the interpreter a new venv would be made from (no subprocess for ours)."""
    if _is_running_interpreter(base):
        return _running_version()
    return str(describe_interpreter(base)["version"])


def _check_requires_python(version: str, requires_python: Any, python: Path, venv: Path) -> None:
    """Raise when ``version`` is outside ``requires_python`` (a SpecifierSet or None), with
    a hint naming an installed interpreter that would do."""
    if _satisfies(version, requires_python):
        return
    from pypm.install.pythons import discover

    fitting = [found for found in discover() if _satisfies(found.version, requires_python)]
    hint = (f"choose an interpreter that does, e.g. `pypm sync --python {fitting[0].version}`" if fitting else
            "install a Python that does, then give it with --python")
    raise InstallError(
        f"Python {version} ({python}) does not satisfy the project's requires-python {requires_python};"
        f" {venv.name} was left as it was",
        hint=hint,
    )


def _create_venv(venv: Path, base: Path) -> Interpreter:
    # The owner mark goes in before anything else, so a creation killed half-way leaves a
    # directory pypm can prove it made (an empty one counts too: there is nothing to lose).
    venv.mkdir(parents=True, exist_ok=True)
    (venv / OWNER_MARK).touch()  # one step: either the directory is still empty, or it is marked
    if _is_running_interpreter(base):
        data = _create_in_process(venv)
    else:
        _create(venv, base)
        data = describe_interpreter(venv_python(venv))
    (venv / ".gitignore").write_text("*\n")
    data["base"] = str(base)
    data["runs"] = os.path.realpath(venv_python(venv))  # where its interpreter leads (a link, or itself)
    atomic_write_text(venv / INFO_FILE, json.dumps(data, indent=1))
    return Interpreter.from_json(data)


def _running_base() -> Path:
    """The base interpreter of the Python pypm runs on (outside any venv it runs in)."""
    return Path(getattr(sys, "_base_executable", sys.executable))


def _running_version() -> str:
    return ".".join(str(part) for part in sys.version_info[:3])


def _is_running_interpreter(base: Path) -> bool:
    try:
        return base.resolve() == _running_base().resolve()
    except OSError:
        return False


def _create_in_process(venv: Path) -> dict[str, Any]:
    """Create the venv with this interpreter's :mod:`venv` and describe it without a
    subprocess (same interpreter: same tags and marker environment)."""
    import sysconfig
    import venv as stdlib_venv

    from packaging import tags
    from packaging.markers import default_environment

    try:
        stdlib_venv.EnvBuilder(with_pip=False, symlinks=os.name != "nt").create(str(venv))
    except (OSError, subprocess.CalledProcessError) as exc:
        shutil.rmtree(venv, ignore_errors=True)
        raise InstallError(f"cannot create {venv}: {exc}") from None
    scheme_name = "venv" if "venv" in sysconfig.get_scheme_names() else ("nt" if os.name == "nt" else "posix_prefix")
    prefix = str(venv.resolve())
    paths = sysconfig.get_paths(scheme_name, vars={"base": prefix, "platbase": prefix, "installed_base": prefix,
                                                   "installed_platbase": prefix})
    return {
        "executable": str(venv_python(venv.resolve())),
        "prefix": prefix,
        "version": _running_version(),
        "environment": dict(default_environment()),
        "tags": [str(tag) for tag in tags.sys_tags()],
        "scheme": {key: paths[key] for key in ("purelib", "platlib", "scripts", "data", "include")},
        "is_venv": True,
        "pathsep": os.pathsep,
    }


def _create(venv: Path, base: Path) -> None:
    result = subprocess.run(
        [str(base), "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True, errors="replace"
    )
    if result.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        detail = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise InstallError(f"cannot create {venv} with {base}: {detail}")
