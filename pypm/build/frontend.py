"""PEP 517 frontend on pypa/build's ``ProjectBuilder``: metadata (the prepare hook, else a
wheel build), wheels from sdists and PEP 660 editable wheels, each in an isolated build
environment of the *target* interpreter (the one the result is for: ``.venv``'s when
syncing; pypm's own when reading metadata for the lock).

Built wheels are cached by the sdist's sha256 and the wheel's tags: a cached wheel is
reused only for an interpreter that accepts its tags, and a freshly built wheel that the
target does not accept is refused rather than installed.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pypm.build.environment import build_environment, tag_ranks, wheel_rank
from pypm.build.source import fetch_sdist, remove_tree, static_metadata, unpack_sdist
from pypm.errors import PypmError
from pypm.fsutil import atomic_write_bytes
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.index.metadata import DistMetadata, metadata_from_wheel, parse_metadata
from pypm.store.layout import BUILT, EDITABLES, SDIST_METADATA, TREE_WHEELS

if TYPE_CHECKING:
    from pypm.interpreter import Interpreter



class BuildError(PypmError):
    """A PEP 517 hook failed."""


class HookUnavailable(BuildError):
    """The build backend does not implement an (optional) hook."""


class _BuildEnv:
    """A pypm build environment seen through pypa/build's ``IsolatedEnv`` protocol."""

    def __init__(self, interpreter: Interpreter, extra_environ: dict[str, str] | None = None) -> None:
        self.interpreter = interpreter
        self.extra_environ = dict(extra_environ or {})

    @property
    def python_executable(self) -> str:
        """The build environment's interpreter."""
        return str(self.interpreter.executable)

    def make_extra_environ(self) -> dict[str, str]:
        """The build environment's scripts first on PATH (backends may call tools)."""
        scripts = self.interpreter.scheme["scripts"]
        return {**self.extra_environ, "PATH": os.pathsep.join([scripts, os.environ.get("PATH", "")])}


class SdistBuilder:
    """Gets metadata and wheels out of sdists and source trees, for ``target`` (default:
    the running interpreter); results cached under ``cache_dir``. ``offline``: use the
    cache only (sdists and build requirements must be there already)."""

    def __init__(self, client: IndexClient, cache_dir: Path, target: Interpreter | None = None,
                 offline: bool = False) -> None:
        self.client = client
        self.cache_dir = cache_dir
        self.target = target
        self.offline = offline
        #: variables every backend run sees (``SOURCE_DATE_EPOCH`` for bundles)
        self.extra_environ: dict[str, str] = {}
        self._building: set[str] = set()
        self._guard = threading.Lock()

    def metadata(self, link: FileLink) -> DistMetadata:
        """Core metadata of an sdist: static PKG-INFO, the prepare hook, or a built wheel."""
        archive, digest = fetch_sdist(link, self.cache_dir, self.offline)
        cached = self.cache_dir / SDIST_METADATA / digest[:2] / f"{digest}.METADATA"
        if not cached.is_file():
            atomic_write_bytes(cached, self._with_source(archive, digest, self._metadata_from_source))
        return parse_metadata(cached.read_bytes(), link.filename)

    def build_wheel(self, link: FileLink) -> Path:
        """A wheel built from the sdist for the target (cached by the sdist's hash and the
        wheel's tags)."""
        archive, digest = fetch_sdist(link, self.cache_dir, self.offline)
        out_dir = self.cache_dir / BUILT / digest[:2] / digest
        cached = self._matching_wheel(out_dir)
        if cached is not None:
            return cached
        wheel = self._with_source(archive, digest, lambda source: self._build(source, out_dir, "wheel"))
        return Path(wheel.decode())

    def build_editable(self, project: Path, key: str) -> Path | None:
        """A PEP 660 editable wheel of the project at ``project`` for the target (cached
        under ``key`` and the wheel's tags); None when its backend has no ``build_editable``."""
        out_dir = self.cache_dir / EDITABLES / key[:2] / key
        cached = self._matching_wheel(out_dir)
        if cached is not None:
            return cached
        try:
            return Path(self._build(project, out_dir, "editable").decode())
        except HookUnavailable:
            return None

    def build_project_wheel(self, project: Path, out_dir: Path) -> Path:
        """A regular wheel of the source tree at ``project`` (a workspace member), built
        into ``out_dir``."""
        return Path(self._build(project, out_dir, "wheel").decode())

    def build_tree_wheel(self, project: Path, key: str) -> Path:
        """A regular wheel of the source tree at ``project`` (a path dependency that is not
        editable) for the target, cached under ``key`` (what the tree holds) and the
        wheel's tags. Once a new one is built, older builds of that directory go: a
        changed tree never needs them again."""
        builds = self.cache_dir / TREE_WHEELS / hashlib.sha256(str(project).encode()).hexdigest()[:24]
        out_dir = builds / key
        cached = self._matching_wheel(out_dir)
        if cached is not None:
            return cached
        wheel = Path(self._build(project, out_dir, "wheel").decode())
        for old in builds.iterdir():
            if old != out_dir and old.is_dir() and not old.is_symlink():
                remove_tree(old)
        return wheel

    def editable_metadata(self, project: Path) -> tuple[bytes, bytes]:
        """``METADATA`` and ``entry_points.txt`` (empty when absent) of the project at
        ``project`` as an editable install would have them: the PEP 660
        ``prepare_metadata_for_build_editable`` hook, else the wheel's metadata (the prepare
        hook or a wheel build)."""
        with self._project(project, "editable") as builder, tempfile.TemporaryDirectory(prefix="pypm-metadata-") as out:
            info = _call(project, lambda: builder.prepare("editable", out))
            if info is None:
                info = _call(project, lambda: builder.metadata_path(out))
            points = Path(info) / "entry_points.txt"
            return (Path(info) / "METADATA").read_bytes(), points.read_bytes() if points.is_file() else b""

    def _matching_wheel(self, out_dir: Path) -> Path | None:
        """The cached wheel in ``out_dir`` the target accepts best, if any."""
        ranks = tag_ranks(self.target)
        best: tuple[int, Path] | None = None
        for wheel in sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []:
            rank = wheel_rank(wheel.name, ranks)
            if rank is not None and (best is None or rank < best[0]):
                best = (rank, wheel)
        return best[1] if best else None

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
        with self._project(source, "wheel") as builder, tempfile.TemporaryDirectory(prefix="pypm-metadata-") as out:
            info = _call(source, lambda: builder.metadata_path(out))
            return (Path(info) / "METADATA").read_bytes()

    def _build(self, source: Path, out_dir: Path, kind: str = "wheel") -> bytes:
        out_dir.mkdir(parents=True, exist_ok=True)
        with self._project(source, kind) as builder, tempfile.TemporaryDirectory(
            prefix="pypm-wheel-", dir=out_dir.parent
        ) as staging:
            built = Path(_call(source, lambda: builder.build(kind, staging)))
            with built.open("rb") as handle:
                metadata_from_wheel(handle, built.name)  # refuse a broken wheel before caching it
            if wheel_rank(built.name, tag_ranks(self.target)) is None:
                raise BuildError(f"{source.name}: the backend built {built.name}, which the target interpreter"
                                 " cannot install")
            built.replace(out_dir / built.name)
        return str(out_dir / built.name).encode()

    @contextmanager
    def _project(self, source: Path, kind: str) -> Iterator[Any]:
        """A ``ProjectBuilder`` whose backend runs in a build environment of the target with
        the build requirements, and what ``get_requires_for_build_<kind>`` adds, installed."""
        from build import BuildException, ProjectBuilder
        from pyproject_hooks import quiet_subprocess_runner

        try:
            requires = sorted(ProjectBuilder(source, runner=quiet_subprocess_runner).build_system_requires)
        except BuildException as exc:
            raise BuildError(f"{source.name}: {exc}") from None
        builder = ProjectBuilder.from_isolated_env(self._environment(requires), source, runner=quiet_subprocess_runner)
        extra = sorted(_call(source, lambda: builder.get_requires_for_build(kind)))
        if extra:
            builder = ProjectBuilder.from_isolated_env(self._environment([*requires, *extra]), source,
                                                       runner=quiet_subprocess_runner)
        yield builder

    def _environment(self, requirements: list[str]) -> _BuildEnv:
        interpreter = build_environment(requirements, self.client, self.cache_dir, self.build_wheel, self.target,
                                        self.offline)
        return _BuildEnv(interpreter, self.extra_environ)


def _call(source: Path, hook: Callable[[], Any]) -> Any:
    """Run a hook through pypa/build; its failures become one-line :class:`BuildError`s."""
    from build import BuildBackendException, BuildException
    from pyproject_hooks import BackendUnavailable, HookMissing

    try:
        return hook()
    except BuildBackendException as exc:
        cause = exc.exception
        if isinstance(cause, HookMissing):
            raise HookUnavailable(f"{source.name}: build backend lacks the hook {cause.hook_name}") from None
        if isinstance(cause, BackendUnavailable):
            raise BuildError(f"{source.name}: build backend unavailable: {cause.message or cause}") from None
        output = getattr(cause, "output", None) or getattr(cause, "stderr", None) or b""
        if isinstance(output, str):
            output = output.encode()
        last = output.decode(errors="replace").strip().splitlines()[-1:] if output else []
        raise BuildError(f"{source.name}: build failed: {(last or [str(cause) or str(exc)])[0]}") from None
    except BuildException as exc:
        raise BuildError(f"{source.name}: {exc}") from None
