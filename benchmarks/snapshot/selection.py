"""Which (project, version) pairs the benchmark projects need, found by ``uv lock`` (universal)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

__all__ = ["universal_selection", "parse_uv_lock"]


def parse_uv_lock(text: str) -> dict[str, set[str]]:
    """Registry packages of a ``uv.lock`` as {normalized name: {versions}}."""
    data = tomllib.loads(text)
    selected: dict[str, set[str]] = {}
    for package in data.get("package", []):
        source = package.get("source", {})
        if "registry" not in source:
            continue  # the project itself (virtual/editable) or a path dependency
        selected.setdefault(package["name"], set()).add(str(package["version"]))
    return selected


def universal_selection(
    pyprojects: list[Path], uv: str, index_url: str, python: str, cache_dir: Path
) -> dict[str, set[str]]:
    """Lock each project (all groups, every platform and Python it allows) and merge the picks.

    ``uv lock`` keeps forks (e.g. one numpy for Python 3.10, another for 3.11+), so every
    version another tool may pick for some environment is part of the union.
    """
    merged: dict[str, set[str]] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "PIP_", "VIRTUAL_ENV"))}
    env.update({"UV_CACHE_DIR": str(cache_dir), "UV_PYTHON": python, "UV_PYTHON_DOWNLOADS": "never"})
    for pyproject in pyprojects:
        with tempfile.TemporaryDirectory(prefix="bench-select-") as tmp:
            shutil.copy(pyproject, Path(tmp) / "pyproject.toml")
            proc = subprocess.run(
                [uv, "lock", "--no-config", "--default-index", index_url],
                cwd=tmp,
                env=env,
                capture_output=True,
                text=True,
                timeout=900,
            )
            if proc.returncode != 0:
                raise RuntimeError(f"uv lock failed for {pyproject}:\n{proc.stderr[-2000:]}")
            for name, versions in parse_uv_lock((Path(tmp) / "uv.lock").read_text()).items():
                merged.setdefault(name, set()).update(versions)
    return merged
