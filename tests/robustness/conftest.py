"""One world for every robustness test: a real index, a lying index, and locked projects
made once; each test gets a fresh copy of a project (a "scene") to break."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import pypm
from pypm.testing import DistSpec, build_wheel
from pypm.testing.index_server import IndexServer
from tests.robustness.lying_index import LyingIndex

MiB = 1024 * 1024
SPECS = [DistSpec("alpha", "1.0"), DistSpec("beta", "1.0", pad_bytes=2 * MiB)]
PROJECTS = {"alpha": ["alpha"], "beta": ["alpha", "beta"]}


def pyproject_text(dependencies: list[str]) -> str:
    """A one-member project depending on ``dependencies``."""
    deps = ", ".join(f'"{d}"' for d in dependencies)
    return f'[project]\nname = "proj"\nversion = "1.0"\nrequires-python = ">=3.10"\ndependencies = [{deps}]\n'


def base_env(cache: Path, config: Path, index_url: str) -> dict[str, str]:
    """The environment of an isolated pypm run (no outer PYPM_* variables)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYPM_", "PYP_"))}
    source_root = str(Path(pypm.__file__).resolve().parent.parent)
    env.update({
        "PYPM_CACHE_DIR": str(cache), "PYPM_CONFIG_FILE": str(config), "PYPM_INDEX_URL": index_url,
        "NO_COLOR": "1", "PYTHONIOENCODING": "utf-8",
        "PYTHONPATH": os.pathsep.join([source_root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]),
    })
    return env


def run_pypm(args: list[str], cwd: Path, env: dict[str, str], preexec: Callable[[], None] | None = None,
             timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m pypm *args`` in ``cwd``, output captured as text."""
    return subprocess.run([sys.executable, "-m", "pypm", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          encoding="utf-8", errors="replace", timeout=timeout, stdin=subprocess.DEVNULL,
                          preexec_fn=preexec)


def checked(proc: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    """Fail the test (showing the output) unless ``proc`` succeeded."""
    if proc.returncode != 0:
        pytest.fail(f"pypm {proc.args[3:]} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}", pytrace=False)
    return proc


@dataclass
class World:
    """What every scene shares: the files, a real index, a lying one, the locked templates."""

    files_dir: Path
    index: IndexServer
    liar: LyingIndex
    pyprojects: dict[str, str]
    locks: dict[str, str]


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Build the dists, start both indexes and lock each template project once."""
    files_dir = tmp_path_factory.mktemp("robust-files")
    for spec in SPECS:
        build_wheel(spec, files_dir)
    index = IndexServer(files_dir, "json").start()
    liar = LyingIndex(files_dir).start()
    base = tmp_path_factory.mktemp("robust-templates")
    pyprojects, locks = {}, {}
    for name, deps in PROJECTS.items():
        root = base / name
        root.mkdir()
        pyprojects[name] = pyproject_text(deps)
        (root / "pyproject.toml").write_text(pyprojects[name])
        checked(run_pypm(["lock"], root, base_env(base / "cache", base / "no-config.toml", index.url)))
        locks[name] = (root / "pylock.toml").read_text()
    yield World(files_dir, index, liar, pyprojects, locks)
    liar.stop()
    index.stop()


@dataclass
class Scene:
    """One project to break: its root, its own cache and user config path, the environment
    pypm runs with, what to undo afterwards (mounts), and a ``preexec_fn`` for the run."""

    world: World
    root: Path
    cache: Path
    config: Path
    env: dict[str, str]
    undo: list[Callable[[], None]] = field(default_factory=list)
    preexec: Callable[[], None] | None = None

    def run(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        """Run pypm in the project with this scene's environment."""
        return run_pypm([self.format(a) for a in args], self.root, self.env, self.preexec, timeout)

    def format(self, text: str) -> str:
        """Fill ``{root}``, ``{cache}``, ``{config}`` and ``{tmp}`` in ``text``."""
        return text.format(root=self.root, cache=self.cache, config=self.config, tmp=self.root.parent)

    def start(self, base: str) -> None:
        """Lay out the project: ``project`` (pyproject only), ``locked``, ``synced``, or
        ``locked-beta`` (a lock that needs a 2 MiB download)."""
        template = "beta" if base == "locked-beta" else "alpha"
        (self.root / "pyproject.toml").write_text(self.world.pyprojects[template])
        if base != "project":
            (self.root / "pylock.toml").write_text(self.world.locks[template])
        if base == "synced":
            checked(self.run("sync", "--frozen", "-q"))


@pytest.fixture
def scene(world: World, tmp_path: Path) -> Iterator[Scene]:
    """A fresh, empty project directory and cache for one test; mounts are undone after."""
    root, cache = tmp_path / "proj", tmp_path / "cache"
    root.mkdir()
    cache.mkdir()
    config = tmp_path / "user-config" / "config.toml"
    made = Scene(world, root, cache, config, base_env(cache, config, world.index.url))
    yield made
    for undo in reversed(made.undo):
        undo()
    shutil.rmtree(tmp_path, ignore_errors=True)
