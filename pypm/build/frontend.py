"""PEP 517 frontend on pypa/build's ``ProjectBuilder``: metadata (the prepare hook, else a
wheel build), wheels from sdists and PEP 660 editable wheels, each in an isolated build
environment of the *target* interpreter (the one the result is for: ``.venv``'s when
syncing; pypm's own when reading metadata for the lock).

Built wheels are cached by the sdist's sha256 and the wheel's tags: a cached wheel is
reused only for an interpreter that accepts its tags, and a freshly built wheel that the
target does not accept is refused rather than installed. So is a wheel (or prepared
metadata) of another name or version than the one asked for (:mod:`pypm.build.identity`).
Every hook's output goes to a build log in the cache (:mod:`pypm.build.log`).
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
from pypm.build.identity import (
    Expected,
    check_metadata,
    check_wheel,
    expected_of_file,
    expected_of_tree,
    wheel_matches,
)
from pypm.build.log import BuildLog
from pypm.build.source import fetch_sdist, read_pyproject, remove_tree, static_metadata, unpack_sdist
from pypm.errors import BuildError
from pypm.fsutil import atomic_write_bytes
from pypm.index.client import IndexClient
from pypm.index.links import FileLink
from pypm.index.metadata import DistMetadata, metadata_from_wheel, parse_metadata
from pypm.store.layout import BUILT, EDITABLES, SDIST_METADATA, TREE_WHEELS

if TYPE_CHECKING:
    from pypm.interpreter import Interpreter

__all__ = ["BuildError", "HookUnavailable", "SdistBuilder"]


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

    def metadata(self, link: FileLink, name: str | None = None, version: str | None = None) -> DistMetadata:
        """Core metadata of an sdist: static PKG-INFO, the prepare hook, or a built wheel;
        refused unless it is of ``name`` and ``version`` (default: the sdist's file name's)."""
        expected = expected_of_file(link.filename, name, version)
        archive, digest = fetch_sdist(link, self.cache_dir, self.offline)
        cached = self.cache_dir / SDIST_METADATA / digest[:2] / f"{digest}.METADATA"
        fresh = not cached.is_file()
        data = (self._with_source(archive, digest, lambda source: self._metadata_from_source(source, expected))
                if fresh else cached.read_bytes())
        check_metadata(data, expected, link.filename)  # before caching; and a cached one from before the check
        if fresh:
            atomic_write_bytes(cached, data)
        return parse_metadata(data, link.filename)

    def build_wheel(self, link: FileLink, name: str | None = None, version: str | None = None) -> Path:
        """A wheel built from the sdist for the target (cached by the sdist's hash and the
        wheel's tags), refused unless it is of ``name`` and ``version`` (default: the sdist's
        file name's)."""
        expected = expected_of_file(link.filename, name, version)
        archive, digest = fetch_sdist(link, self.cache_dir, self.offline)
        out_dir = self.cache_dir / BUILT / digest[:2] / digest
        cached = self._matching_wheel(out_dir, expected)
        if cached is not None:
            return cached
        wheel = self._with_source(archive, digest, lambda source: self._build(source, out_dir, "wheel", expected))
        return Path(wheel.decode())

    def build_editable(self, project: Path, key: str) -> Path | None:
        """A PEP 660 editable wheel of the project at ``project`` for the target (cached
        under ``key`` and the wheel's tags); None when its backend has no ``build_editable``."""
        out_dir = self.cache_dir / EDITABLES / key[:2] / key
        expected = expected_of_tree(project)
        cached = self._matching_wheel(out_dir, expected)
        if cached is not None:
            return cached
        try:
            return Path(self._build(project, out_dir, "editable", expected).decode())
        except HookUnavailable:
            return None

    def build_project_wheel(self, project: Path, out_dir: Path) -> Path:
        """A regular wheel of the source tree at ``project`` (a workspace member), built
        into ``out_dir``."""
        return Path(self._build(project, out_dir, "wheel", expected_of_tree(project)).decode())

    def build_tree_wheel(self, project: Path, key: str) -> Path:
        """A regular wheel of the source tree at ``project`` (a path dependency that is not
        editable) for the target, cached under ``key`` (what the tree holds) and the
        wheel's tags. Once a new one is built, older builds of that directory go: a
        changed tree never needs them again."""
        builds = self.cache_dir / TREE_WHEELS / hashlib.sha256(str(project).encode()).hexdigest()[:24]
        out_dir = builds / key
        expected = expected_of_tree(project)
        cached = self._matching_wheel(out_dir, expected)
        if cached is not None:
            return cached
        wheel = Path(self._build(project, out_dir, "wheel", expected).decode())
        for old in builds.iterdir():
            if old != out_dir and old.is_dir() and not old.is_symlink():
                remove_tree(old)
        return wheel

    def editable_metadata(self, project: Path) -> tuple[bytes, bytes]:
        """``METADATA`` and ``entry_points.txt`` (empty when absent) of the project at
        ``project`` as an editable install would have them: the PEP 660
        ``prepare_metadata_for_build_editable`` hook, else the wheel's metadata (the prepare
        hook or a wheel build); refused unless of the name (and static version) its
        ``pyproject.toml`` gives."""
        expected = expected_of_tree(project)
        log = self._log(expected, project, "editable-metadata")
        with log.kept(), self._project(project, "editable", log) as builder, \
                tempfile.TemporaryDirectory(prefix="pypm-metadata-") as out:
            info = _call(lambda: builder.prepare("editable", out), log)
            if info is None:
                info = _call(lambda: builder.metadata_path(out), log)
            metadata, points = Path(info) / "METADATA", Path(info) / "entry_points.txt"
            check_metadata(metadata.read_bytes(), expected, "its build backend")
            return metadata.read_bytes(), points.read_bytes() if points.is_file() else b""

    def _log(self, expected: Expected | None, source: Path, kind: str) -> BuildLog:
        """The log of one build of ``source`` (named after ``expected`` when known)."""
        known = expected or Expected(source.name)
        return BuildLog(self.cache_dir, known.file_stem, kind, known.label, source)

    def _matching_wheel(self, out_dir: Path, expected: Expected | None) -> Path | None:
        """The cached wheel in ``out_dir`` the target accepts best, if any (only wheels of
        the ``expected`` name and version)."""
        ranks = tag_ranks(self.target)
        best: tuple[int, Path] | None = None
        for wheel in sorted(out_dir.glob("*.whl")) if out_dir.is_dir() else []:
            if not wheel_matches(wheel.name, expected):
                continue
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

    def _metadata_from_source(self, source: Path, expected: Expected | None) -> bytes:
        static = static_metadata(source)
        if static is not None:
            return static
        log = self._log(expected, source, "metadata")
        with log.kept(), self._project(source, "wheel", log) as builder, \
                tempfile.TemporaryDirectory(prefix="pypm-metadata-") as out:
            info = _call(lambda: builder.metadata_path(out), log)
            return (Path(info) / "METADATA").read_bytes()

    def _build(self, source: Path, out_dir: Path, kind: str, expected: Expected | None) -> bytes:
        """Build a ``kind`` wheel of ``source`` into ``out_dir``, refusing one the target
        cannot install or that is not of ``expected``; its output goes to a build log."""
        out_dir.mkdir(parents=True, exist_ok=True)
        log = self._log(expected, source, kind)
        with log.kept(), self._project(source, kind, log) as builder, tempfile.TemporaryDirectory(
            prefix="pypm-wheel-", dir=out_dir.parent
        ) as staging:
            built = Path(_call(lambda: builder.build(kind, staging), log))
            with built.open("rb") as handle:
                metadata = metadata_from_wheel(handle, built.name)  # refuse a broken wheel before caching it
            check_wheel(built, metadata, expected)
            if wheel_rank(built.name, tag_ranks(self.target)) is None:
                raise BuildError(f"{log.label}: the backend built {built.name}, which the target interpreter"
                                 " cannot install")
            built.replace(out_dir / built.name)
        return str(out_dir / built.name).encode()

    @contextmanager
    def _project(self, source: Path, kind: str, log: BuildLog) -> Iterator[Any]:
        """A ``ProjectBuilder`` whose backend runs in a build environment of the target with
        the build requirements, and what ``get_requires_for_build_<kind>`` adds, installed;
        its hooks' output goes to ``log``."""
        from build import BuildException, ProjectBuilder

        try:
            requires = sorted(ProjectBuilder(source, runner=log.runner).build_system_requires)
        except BuildException as exc:
            raise BuildError(f"{log.label}: {exc}", hint="fix the [build-system] table of its pyproject.toml") from None
        builder = ProjectBuilder.from_isolated_env(self._environment(requires), source, runner=log.runner)
        extra = sorted(_call(lambda: builder.get_requires_for_build(kind), log))
        if extra:
            builder = ProjectBuilder.from_isolated_env(self._environment([*requires, *extra]), source,
                                                       runner=log.runner)
        yield builder

    def _environment(self, requirements: list[str]) -> _BuildEnv:
        interpreter = build_environment(requirements, self.client, self.cache_dir, self.build_wheel, self.target,
                                        self.offline)
        return _BuildEnv(interpreter, self.extra_environ)


def _call(hook: Callable[[], Any], log: BuildLog) -> Any:
    """Run a hook through pypa/build; its failures become one-line :class:`BuildError`s
    naming the build log."""
    from build import BuildBackendException, BuildException
    from pyproject_hooks import BackendUnavailable, HookMissing

    try:
        return hook()
    except BuildBackendException as exc:
        cause = exc.exception
        if isinstance(cause, HookMissing):
            raise HookUnavailable(f"{log.label}: build backend lacks the hook {cause.hook_name}") from None
        if isinstance(cause, BackendUnavailable):
            raise _backend_unavailable(cause, log) from None
        last = log.last_line() or str(cause) or str(exc)
        raise BuildError(f"{log.label}: build failed: {last}", hint=log.hint) from None
    except BuildException as exc:
        raise BuildError(f"{log.label}: {exc}", hint=log.hint) from None


def _backend_unavailable(cause: Exception, log: BuildLog) -> BuildError:
    """The error for a backend the hook process cannot import (its traceback into the log).
    Read defensively: the attributes of pyproject-hooks' ``BackendUnavailable`` differ
    between its versions (recent ones have ``backend_name`` and no ``message``)."""
    traceback = str(getattr(cause, "traceback", "") or "")
    log.add(f"## the build backend could not be imported\n{traceback or cause}\n")
    name = getattr(cause, "backend_name", None) or _declared_backend(log.source)
    lines = [line.strip() for line in traceback.splitlines() if line.strip()]
    reason = lines[-1] if lines else (str(cause).strip().splitlines() or ["cannot import it"])[0]
    return BuildError(f"cannot import build backend {name!r} for {log.label}: {reason}",
                      hint=f"check build-backend and requires in its [build-system] table; {log.hint}")


def _declared_backend(source: Path) -> str:
    """The ``build-backend`` the tree's ``pyproject.toml`` names (PEP 517's default without one)."""
    table = read_pyproject(source).get("build-system")
    backend = table.get("build-backend") if isinstance(table, dict) else None
    return backend if isinstance(backend, str) else "setuptools.build_meta:__legacy__"
