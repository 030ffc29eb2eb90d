"""How each tool is driven: its environment, its lock/sync/version commands, its files.

Every tool works on its own copy of the project with its own cache directory and the same
index URL. Settings are passed through each tool's environment variables (or, for Poetry,
a source in the copy's ``pyproject.toml``); user and machine configuration is shut out.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

from benchmarks.toolenv import ToolEnv

__all__ = ["Adapter", "ADAPTERS", "TOOL_NAMES", "clean_env"]

TOOL_NAMES = ("pypm", "uv", "pip-tools", "poetry", "pdm")
_DROP = (
    "PIP_",
    "UV_",
    "PDM_",
    "POETRY_",
    "PYPM_",
    "PYP_",
    "VIRTUAL_ENV",
    "CONDA_",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONDONTWRITEBYTECODE",
)


def clean_env(base: dict[str, str], home: Path, python: Path) -> dict[str, str]:
    """The environment shared by all tools: no tool settings, private XDG dirs, ``python`` first on PATH."""
    env = {k: v for k, v in base.items() if not k.startswith(_DROP)}
    env.update(
        {
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_DATA_HOME": str(home / "data"),
            "XDG_STATE_HOME": str(home / "state"),
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
            "NO_COLOR": "1",
            "PATH": f"{python.parent}{os.pathsep}{base.get('PATH', '/usr/bin:/bin')}",
        }
    )
    return env


@dataclass
class Adapter:
    """Commands and files of one tool (subclasses fill in the details)."""

    name: str = ""
    lock_files: tuple[str, ...] = ()
    state_paths: tuple[str, ...] = ()  # project-local state a fresh clone lacks
    venv = ".venv"

    def env(self, tool: ToolEnv, cache: Path, index_url: str, python: Path) -> dict[str, str]:
        """Variables added to :func:`clean_env` for this tool."""
        return {}

    def prepare_project(self, project: Path, index_url: str) -> None:
        """One-time edits to the tool's copy of the project (not timed)."""

    def lock(self, tool: ToolEnv) -> list[list[str]]:
        """Commands that write the lock file."""
        raise NotImplementedError

    def sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """Commands that make ``.venv`` match the lock."""
        raise NotImplementedError

    def before_sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """Untimed commands a user of the tool runs before syncing into a missing ``.venv``."""
        return []

    def lock_sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """The no-op 'lock then sync' pair (one call where the tool has one)."""
        return self.lock(tool) + self.sync(tool, python)

    def version(self, tool: ToolEnv) -> list[list[str]]:
        """``--version``."""
        return [[tool.exe(self.name), "--version"]]


class Pypm(Adapter):
    """pypm: ``pypm lock``, ``pypm sync``, ``pypm lock sync``."""

    def __init__(self) -> None:
        """pylock.toml, state in .pypm/."""
        super().__init__("pypm", ("pylock.toml",), (".pypm",))

    def env(self, tool: ToolEnv, cache: Path, index_url: str, python: Path) -> dict[str, str]:
        """Index, cache and interpreter through PYPM_* variables."""
        return {"PYPM_INDEX_URL": index_url, "PYPM_CACHE_DIR": str(cache), "PYPM_PYTHON": str(python)}

    def lock(self, tool: ToolEnv) -> list[list[str]]:
        """``pypm lock``."""
        return [[tool.exe("pypm"), "lock"]]

    def sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """``pypm sync``."""
        return [[tool.exe("pypm"), "sync"]]

    def lock_sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """``pypm lock sync`` in one call."""
        return [[tool.exe("pypm"), "lock", "sync"]]


class Uv(Adapter):
    """uv: ``uv lock``, ``uv sync``."""

    def __init__(self) -> None:
        """uv.lock."""
        super().__init__("uv", ("uv.lock",), ())

    def env(self, tool: ToolEnv, cache: Path, index_url: str, python: Path) -> dict[str, str]:
        """Index, cache and interpreter through UV_* variables; no uv.toml, no downloads of Pythons."""
        return {
            "UV_DEFAULT_INDEX": index_url,
            "UV_CACHE_DIR": str(cache),
            "UV_PYTHON": str(python),
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_NO_CONFIG": "1",
        }

    def lock_sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """``uv sync``: the one uv command that locks when needed and syncs (the fair
        comparison for ``pypm lock sync``; ``uv lock && uv sync`` would pay two starts)."""
        return self.sync(tool, python)

    def lock(self, tool: ToolEnv) -> list[list[str]]:
        """``uv lock``."""
        return [[tool.exe("uv"), "lock"]]

    def sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """``uv sync`` (default groups: dev)."""
        return [[tool.exe("uv"), "sync"]]


class PipTools(Adapter):
    """pip-tools: ``pip-compile requirements.in`` then ``pip-sync`` into a venv the runner made."""

    def __init__(self) -> None:
        """requirements.txt, compiled from a requirements.in written from pyproject.toml."""
        super().__init__("pip-tools", ("requirements.txt",), ())

    def env(self, tool: ToolEnv, cache: Path, index_url: str, python: Path) -> dict[str, str]:
        """pip's index and cache; pip-compile's own cache is passed on the command line."""
        self._cache, self._index = cache, index_url
        return {"PIP_INDEX_URL": index_url, "PIP_CACHE_DIR": str(cache / "pip")}

    def prepare_project(self, project: Path, index_url: str) -> None:
        """pip-tools has no dependency groups: list dependencies and every group in requirements.in."""
        data = tomllib.loads((project / "pyproject.toml").read_text())
        lines = list(data.get("project", {}).get("dependencies", []))
        for group in data.get("dependency-groups", {}).values():
            lines.extend(item for item in group if isinstance(item, str))
        (project / "requirements.in").write_text("\n".join(lines) + "\n")

    def lock(self, tool: ToolEnv) -> list[list[str]]:
        """``pip-compile`` (this environment only: pip-tools cannot lock universally)."""
        return [
            [
                tool.exe("pip-compile"),
                "--quiet",
                "--index-url",
                self._index,
                "--cache-dir",
                str(self._cache / "pip-tools"),
                "--output-file",
                "requirements.txt",
                "requirements.in",
            ]
        ]

    def before_sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """pip-sync needs a venv with pip in it: the runner makes one (untimed)."""
        return [[str(python), "-m", "venv", ".venv"]]

    def sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """``pip-sync --python-executable .venv/bin/python requirements.txt``."""
        return [
            [
                tool.exe("pip-sync"),
                "--quiet",
                "--index-url",
                self._index,
                "--python-executable",
                ".venv/bin/python",
                "requirements.txt",
            ]
        ]

    def version(self, tool: ToolEnv) -> list[list[str]]:
        """``pip-compile --version``."""
        return [[tool.exe("pip-compile"), "--version"]]


class Poetry(Adapter):
    """Poetry 2: ``poetry lock``, ``poetry install --no-root`` (PEP 621 project, in-project venv)."""

    def __init__(self) -> None:
        """poetry.lock."""
        super().__init__("poetry", ("poetry.lock",), ())

    def env(self, tool: ToolEnv, cache: Path, index_url: str, python: Path) -> dict[str, str]:
        """Cache, config and in-project venv through POETRY_* variables."""
        return {
            "POETRY_CACHE_DIR": str(cache),
            "POETRY_CONFIG_DIR": str(cache.parent / "config" / "poetry"),
            "POETRY_DATA_DIR": str(cache.parent / "data" / "poetry"),
            "POETRY_VIRTUALENVS_IN_PROJECT": "true",
            "POETRY_NO_INTERACTION": "1",
        }

    def prepare_project(self, project: Path, index_url: str) -> None:
        """Make the benchmark's index Poetry's primary source (Poetry has no index env var)."""
        path = project / "pyproject.toml"
        text = path.read_text().rstrip("\n")
        text += f'\n\n[[tool.poetry.source]]\nname = "bench"\nurl = "{index_url}"\npriority = "primary"\n'
        path.write_text(text)

    def lock(self, tool: ToolEnv) -> list[list[str]]:
        """``poetry lock``."""
        return [[tool.exe("poetry"), "lock"]]

    def sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """``poetry install --no-root``."""
        return [[tool.exe("poetry"), "install", "--no-root"]]


class Pdm(Adapter):
    """PDM: ``pdm lock``, ``pdm sync``."""

    def __init__(self) -> None:
        """pdm.lock; .pdm-python remembers the interpreter."""
        super().__init__("pdm", ("pdm.lock",), (".pdm-python",))

    def env(self, tool: ToolEnv, cache: Path, index_url: str, python: Path) -> dict[str, str]:
        """Index, cache and interpreter through PDM_* variables; no update check."""
        return {
            "PDM_PYPI_URL": index_url,
            "PDM_CACHE_DIR": str(cache),
            "PDM_CHECK_UPDATE": "false",
            "PDM_NON_INTERACTIVE": "1",
        }

    def lock(self, tool: ToolEnv) -> list[list[str]]:
        """``pdm lock``."""
        return [[tool.exe("pdm"), "lock"]]

    def sync(self, tool: ToolEnv, python: Path) -> list[list[str]]:
        """``pdm sync --no-self`` (the project has no build system; Poetry's ``--no-root`` likewise)."""
        return [[tool.exe("pdm"), "sync", "--no-self"]]


ADAPTERS: dict[str, type[Adapter]] = {"pypm": Pypm, "uv": Uv, "pip-tools": PipTools, "poetry": Poetry, "pdm": Pdm}
