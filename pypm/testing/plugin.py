"""pytest plugin for pypm's test-suite: local package indexes, isolated environments, CLI runner.

Enable with ``pytest_plugins = ["pypm.testing.plugin"]`` in the root ``conftest.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import pytest

import pypm
from pypm.testing.builders import DistSpec, build_sdist, build_wheel
from pypm.testing.index_server import IndexServer

NETWORK_ENV_VAR = "PYPM_TEST_NETWORK"


class MakeIndex(Protocol):
    """Signature of the ``make_index`` fixture's factory."""

    def __call__(
        self,
        specs: Sequence[DistSpec],
        flavour: str = "json",
        sdists: Sequence[DistSpec] = (),
        **server_kwargs: Any,
    ) -> IndexServer:
        """Build the given dists into a fresh directory and serve them."""
        ...


class RunPypm(Protocol):
    """Signature of the ``run_pypm`` fixture's runner."""

    def __call__(
        self,
        *args: str | os.PathLike[str],
        cwd: Path,
        env_extra: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = 600,
    ) -> subprocess.CompletedProcess[str]:
        """Run ``python -m pypm *args`` and return the completed process."""
        ...


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--run-network``."""
    parser.addoption(
        "--run-network",
        action="store_true",
        default=False,
        help=f"run tests marked 'network' (also enabled by {NETWORK_ENV_VAR}=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``network`` marker."""
    config.addinivalue_line(
        "markers",
        f"network: needs internet access; skipped unless --run-network or {NETWORK_ENV_VAR}=1",
    )


def network_enabled(config: pytest.Config) -> bool:
    """Return True when tests marked ``network`` should run."""
    return bool(config.getoption("--run-network")) or os.environ.get(NETWORK_ENV_VAR) == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip ``network`` tests unless enabled."""
    if network_enabled(config):
        return
    skip = pytest.mark.skip(reason=f"network test: pass --run-network or set {NETWORK_ENV_VAR}=1")
    for item in items:
        if item.get_closest_marker("network") is not None:
            item.add_marker(skip)


@pytest.fixture
def make_index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MakeIndex]:
    """Provide a factory that builds wheels (and sdists) into a fresh dir and serves them.

    ``make_index(specs, flavour="json", sdists=(), **server_kwargs)`` returns a
    started :class:`IndexServer`; every server is stopped at teardown.
    """
    servers: list[IndexServer] = []

    def factory(
        specs: Sequence[DistSpec],
        flavour: str = "json",
        sdists: Sequence[DistSpec] = (),
        **server_kwargs: Any,
    ) -> IndexServer:
        files_dir = tmp_path_factory.mktemp("index-files")
        for spec in specs:
            build_wheel(spec, files_dir)
        for spec in sdists:
            build_sdist(spec, files_dir)
        server = IndexServer(files_dir, flavour, **server_kwargs)
        servers.append(server)
        return server.start()

    yield factory
    for server in servers:
        server.stop()


def _source_root() -> Path:
    """Directory containing the ``pypm`` package being tested."""
    return Path(pypm.__file__).resolve().parent.parent


@pytest.fixture
def pypm_env(tmp_path: Path) -> dict[str, str]:
    """Environment variables for running pypm in isolation.

    Outer ``PYPM_*`` variables are dropped; ``PYPM_CACHE_DIR`` points at a fresh
    temp dir, ``PYPM_CONFIG_FILE`` at a path that does not exist, ``NO_COLOR=1``,
    and the pypm source root is prepended to ``PYTHONPATH``.
    """
    base = Path(tempfile.mkdtemp(prefix="pypm-env-", dir=tmp_path))
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYPM_")}
    (base / "cache").mkdir()
    env["PYPM_CACHE_DIR"] = str(base / "cache")
    env["PYPM_CONFIG_FILE"] = str(base / "no-such-config" / "config.toml")
    env["NO_COLOR"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    paths = [str(_source_root()), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def _format_failure(cmd: Sequence[str], proc: subprocess.CompletedProcess[str]) -> str:
    """Human-readable report of a failed pypm run."""
    return (
        f"pypm exited with status {proc.returncode}: {' '.join(cmd)}\n"
        f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    )


@pytest.fixture
def run_pypm(pypm_env: dict[str, str]) -> RunPypm:
    """Provide a runner: ``run_pypm(*args, cwd=..., env_extra=None, check=True)``.

    Runs ``[sys.executable, "-m", "pypm", *args]`` with text output captured;
    with ``check`` a non-zero exit fails the test, showing stdout and stderr.
    """

    def run(
        *args: str | os.PathLike[str],
        cwd: Path,
        env_extra: Mapping[str, str] | None = None,
        check: bool = True,
        timeout: float | None = 600,
    ) -> subprocess.CompletedProcess[str]:
        env = dict(pypm_env)
        env.update(env_extra or {})
        cmd = [sys.executable, "-m", "pypm", *(os.fspath(arg) for arg in args)]
        proc = subprocess.run(
            cmd,
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        if check and proc.returncode != 0:
            pytest.fail(_format_failure(cmd, proc), pytrace=False)
        return proc

    return run


__all__: list[str] = ["MakeIndex", "RunPypm", "make_index", "network_enabled", "pypm_env", "run_pypm"]
