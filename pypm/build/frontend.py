"""PEP 517 frontend: metadata (``prepare_metadata_for_build_wheel``, falling back to a
wheel build) and wheels from sdists, cached by the sdist's sha256."""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pypm.build.source import fetch_sdist, remove_tree, static_metadata, unpack_sdist
from pypm.errors import PypmError
from pypm.fsutil import atomic_write_bytes
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.index.metadata import DistMetadata, metadata_from_wheel, parse_metadata

EDITABLES = "editable-wheels-v1"
DEFAULT_BUILD_SYSTEM = {"requires": ["setuptools>=40.8.0"], "build-backend": "setuptools.build_meta:__legacy__"}


class BuildError(PypmError):
    """A PEP 517 hook failed."""


class HookUnavailable(BuildError):
    """The build backend does not implement an (optional) hook."""


class SdistBuilder:
    """Gets metadata and wheels out of sdists; results cached under ``cache_dir``."""

    def __init__(self, client: IndexClient, cache_dir: Path) -> None:
        self.client = client
        self.cache_dir = cache_dir
        self._building: set[str] = set()
        self._guard = threading.Lock()

    def metadata(self, link: FileLink) -> DistMetadata:
        """Core metadata of an sdist: static PKG-INFO, the prepare hook, or a built wheel."""
        archive, digest = fetch_sdist(link, self.cache_dir)
        cached = self.cache_dir / "sdist-metadata-v1" / digest[:2] / f"{digest}.METADATA"
        if not cached.is_file():
            atomic_write_bytes(cached, self._with_source(archive, digest, self._metadata_from_source))
        return parse_metadata(cached.read_bytes(), link.filename)

    def build_wheel(self, link: FileLink) -> Path:
        """A wheel built from the sdist (cached by the sdist's hash)."""
        archive, digest = fetch_sdist(link, self.cache_dir)
        out_dir = self.cache_dir / "built-wheels-v1" / digest[:2] / digest
        built = sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []
        if built:
            return built[0]
        wheel = self._with_source(archive, digest, lambda source: self._build(source, out_dir, "wheel"))
        return Path(wheel.decode())

    def _with_source(self, archive: Path, digest: str, work: Callable[[Path], bytes]) -> bytes:
        with self._guard:
            if digest in self._building:
                raise BuildError(f"{archive.name}: its build requirements need itself to build")
            self._building.add(digest)
        temp = Path(tempfile.mkdtemp(prefix="pypm-build-"))
        try:
            return work(unpack_sdist(archive, temp))
        finally:
            remove_tree(temp)
            with self._guard:
                self._building.discard(digest)

    def _metadata_from_source(self, source: Path) -> bytes:
        static = static_metadata(source)
        if static is not None:
            return static
        hooks = self._hooks(source)
        with tempfile.TemporaryDirectory(prefix="pypm-metadata-") as out:
            name = _call(source, lambda: hooks.prepare_metadata_for_build_wheel(out, _allow_fallback=True))
            return (Path(out) / name / "METADATA").read_bytes()

    def build_editable(self, project: Path, key: str) -> Path | None:
        """A PEP 660 editable wheel of the project at ``project`` (cached under ``key``);
        None when its backend has no ``build_editable`` hook."""
        out_dir = self.cache_dir / EDITABLES / key[:2] / key
        built = sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []
        if built:
            return built[0]
        try:
            return Path(self._build(project, out_dir, "editable").decode())
        except HookUnavailable:
            return None

    def _build(self, source: Path, out_dir: Path, kind: str = "wheel") -> bytes:
        hooks = self._hooks(source, kind)
        out_dir.mkdir(parents=True, exist_ok=True)
        build = hooks.build_editable if kind == "editable" else hooks.build_wheel
        with tempfile.TemporaryDirectory(prefix="pypm-wheel-", dir=out_dir.parent) as staging:
            name = _call(source, lambda: build(staging))
            with (Path(staging) / name).open("rb") as handle:
                metadata_from_wheel(handle, name)  # refuse a broken wheel before caching it
            (Path(staging) / name).replace(out_dir / name)
        return str(out_dir / name).encode()

    def _hooks(self, source: Path, kind: str = "wheel") -> Any:
        from pyproject_hooks import BuildBackendHookCaller, quiet_subprocess_runner

        from pypm.build.environment import build_environment

        system = _build_system(source)
        env = build_environment(system["requires"], self.client, self.cache_dir, self.build_wheel)
        hooks = BuildBackendHookCaller(
            str(source), system["build-backend"], backend_path=system.get("backend-path"),
            python_executable=str(env.executable), runner=quiet_subprocess_runner,
        )
        editable = kind == "editable"
        get_requires = hooks.get_requires_for_build_editable if editable else hooks.get_requires_for_build_wheel
        extra = _call(source, get_requires)
        if extra:
            env = build_environment([*system["requires"], *extra], self.client, self.cache_dir, self.build_wheel)
            hooks.python_executable = str(env.executable)
        return hooks


def _build_system(source: Path) -> dict[str, Any]:
    from pypm.tomlfile import read_toml

    pyproject = source / "pyproject.toml"
    table = read_toml(pyproject, BuildError).get("build-system", {}) if pyproject.is_file() else {}
    if "build-backend" not in table:
        return {**DEFAULT_BUILD_SYSTEM, "requires": table.get("requires", DEFAULT_BUILD_SYSTEM["requires"])}
    return table


def _call(source: Path, hook: Callable[[], Any]) -> Any:
    from pyproject_hooks import BackendUnavailable, HookMissing

    try:
        return hook()
    except BackendUnavailable as exc:
        raise BuildError(f"{source.name}: build backend unavailable: {exc.message or exc}") from None
    except HookMissing as exc:
        raise HookUnavailable(f"{source.name}: build backend lacks the hook {exc.hook_name}") from None
    except Exception as exc:  # noqa: BLE001 - the backend's own failure, reported in one line
        output = getattr(exc, "output", None) or getattr(exc, "stderr", None) or b""
        last = output.decode(errors="replace").strip().splitlines()[-1:] if output else []
        raise BuildError(f"{source.name}: build failed: {(last or [str(exc)])[0]}") from None
