"""Create ``.venv`` and describe its interpreter (cached beside it)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pypm.errors import InstallError
from pypm.fsutil import atomic_write_text

INFO_FILE = ".pypm-interpreter.json"


@dataclass(frozen=True)
class Interpreter:
    """What an environment's Python is: executable, marker environment, tags, scheme."""

    executable: Path
    version: str
    environment: dict[str, str]
    tags: list[str]
    scheme: dict[str, str]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Interpreter:
        """Build from :mod:`pypm.install.interpreter_info` output."""
        return cls(Path(data["executable"]), data["version"], data["environment"], data["tags"], data["scheme"])


def venv_python(venv: Path) -> Path:
    """The interpreter path inside a venv on this platform."""
    if os.name == "nt":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def venv_bin(venv: Path) -> Path:
    """The scripts directory of a venv on this platform."""
    return venv / ("Scripts" if os.name == "nt" else "bin")


def describe_interpreter(python: Path) -> dict[str, Any]:
    """Run :mod:`pypm.install.interpreter_info` under ``python`` and return its JSON."""
    import packaging

    script = Path(__file__).with_name("interpreter_info.py")
    env = {**os.environ, "PYTHONPATH": str(Path(packaging.__file__).parent.parent)}
    env.pop("PYTHONHOME", None)
    try:
        out = subprocess.run(
            [str(python), str(script)],
            capture_output=True, text=True, env=env, check=True,
        ).stdout
        return json.loads(out)
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        raise InstallError(f"cannot run the interpreter {python}: {exc}") from None


def find_base_python(requested: str | None) -> Path:
    """The interpreter to build ``.venv`` from: a path, a version like ``3.12``, or ours."""
    if not requested:
        return Path(getattr(sys, "_base_executable", sys.executable))
    candidate = Path(requested).expanduser()
    if candidate.is_file():
        return candidate
    found = _python_on_path(requested) or _python_in_version_dirs(requested)
    if found is None:
        raise InstallError(f"no Python interpreter found for {requested!r}", hint="give a path or install that Python")
    return found


def _python_on_path(version: str) -> Path | None:
    """``pythonX.Y`` on PATH, skipping version-manager shims (they may not resolve)."""
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        if not directory or "shims" in Path(directory).parts:
            continue
        found = shutil.which(f"python{version}", path=directory)
        if found:
            return Path(found)
    return None


def _python_in_version_dirs(version: str) -> Path | None:
    """``pythonX.Y`` installed by pyenv or asdf (newest patch release first)."""
    home = Path.home()
    roots = [Path(os.environ.get("PYENV_ROOT", home / ".pyenv")) / "versions", home / ".asdf" / "installs" / "python"]
    for root in roots:
        matches = sorted(root.glob(f"{version}*/bin/python{version}"), key=_version_key, reverse=True)
        if matches:
            return matches[0]
    return None


def _version_key(path: Path) -> tuple[int, ...]:
    """Sort key of ``.../3.10.13/bin/python3.10`` by its version directory."""
    return tuple(int(part) if part.isdigit() else -1 for part in path.parent.parent.name.split("."))


def ensure_venv(venv: Path, requested_python: str | None) -> Interpreter:
    """Return the venv's interpreter, (re)creating the venv when missing or mismatched."""
    info_file = venv / INFO_FILE
    base = find_base_python(requested_python)
    if info_file.is_file() and venv_python(venv).exists():
        data = json.loads(info_file.read_text("utf-8"))
        if data.get("base") == str(base):
            return Interpreter.from_json(data)
    if venv.exists():
        shutil.rmtree(venv)
    if _is_running_interpreter(base):
        data = _create_in_process(venv)
    else:
        _create(venv, base)
        data = describe_interpreter(venv_python(venv))
    (venv / ".gitignore").write_text("*\n")
    data["base"] = str(base)
    atomic_write_text(info_file, json.dumps(data, indent=1))
    return Interpreter.from_json(data)


def _is_running_interpreter(base: Path) -> bool:
    running = Path(getattr(sys, "_base_executable", sys.executable))
    try:
        return base.resolve() == running.resolve()
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
        "version": ".".join(str(part) for part in sys.version_info[:3]),
        "environment": dict(default_environment()),
        "tags": [str(tag) for tag in tags.sys_tags()],
        "scheme": {key: paths[key] for key in ("purelib", "platlib", "scripts", "data", "include")},
        "is_venv": True,
        "pathsep": os.pathsep,
    }


def _create(venv: Path, base: Path) -> None:
    result = subprocess.run(
        [str(base), "-m", "venv", "--without-pip", str(venv)], capture_output=True, text=True
    )
    if result.returncode != 0:
        shutil.rmtree(venv, ignore_errors=True)
        detail = (result.stderr.strip().splitlines() or ["unknown error"])[-1]
        raise InstallError(f"cannot create {venv} with {base}: {detail}")
