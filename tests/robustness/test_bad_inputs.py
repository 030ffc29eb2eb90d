"""The bad-input corpus: every kind of broken file, setting, path, interpreter, index answer
and filesystem pypm can meet, each run through the real CLI in a subprocess.

Each case must end with one ``error:`` line on stderr (the last line; progress lines may come
before it), a non-zero exit (2 for command-line mistakes), no traceback, no "internal error",
and every file as it was before: the hashes of ``pyproject.toml`` and ``pylock.toml`` and a
listing of ``.venv`` (names, kinds, sizes), and no temp file beside them. The one file left
out is ``.venv``'s sync stamp, which a sync removes first on purpose (so a sync that stops
half-way never looks complete).

Read the table below as: case id, the command, what makes the input bad, a fragment the
error line must contain (case-insensitive), then the project it starts from and the exit.
"""

from __future__ import annotations

import hashlib
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.robustness import fs_faults
from tests.robustness.conftest import MiB, Scene

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="mounts, chattr and RLIMIT_FSIZE are POSIX tools")

Step = Callable[[Scene], None]
STAMP = ".pypm-sync.json"


# ----------------------------------------------------------------------------- the steps


def put(rel: str, content: str | bytes) -> Step:
    """Write ``content`` at ``rel`` (in the project; ``{config}`` etc. are filled in)."""

    def step(scene: Scene) -> None:
        path = _where(scene, rel)
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.is_dir():
            shutil.rmtree(path)
        path.write_bytes(content if isinstance(content, bytes) else content.encode())

    return step


def directory(rel: str) -> Step:
    """Put a (non-empty) directory where ``rel`` should be a file."""

    def step(scene: Scene) -> None:
        path = _where(scene, rel)
        if path.is_file():
            path.unlink()
        path.mkdir(parents=True, exist_ok=True)
        (path / "user-file.txt").write_text("mine\n")

    return step


def edit(rel: str, old: str, new: str) -> Step:
    """Replace ``old`` (which must be there) by ``new`` in the file at ``rel``."""

    def step(scene: Scene) -> None:
        path = _where(scene, rel)
        text = path.read_text()
        assert old in text, f"{old!r} not in {path}"
        path.write_text(text.replace(old, scene.format(new) if "{" in new else new))

    return step


def setenv(**values: str) -> Step:
    """Set environment variables of the run (``{root}`` etc. are filled in)."""

    def step(scene: Scene) -> None:
        scene.env.update({key: scene.format(value) for key, value in values.items()})

    return step


def executable(rel: str, content: str) -> Step:
    """Write an executable script at ``rel``."""

    def step(scene: Scene) -> None:
        put(rel, content)(scene)
        _where(scene, rel).chmod(0o755)

    return step


def lie(name: str) -> Step:
    """Use the lying index telling ``name`` as the index."""
    return lambda scene: scene.env.update(PYPM_INDEX_URL=scene.world.liar.url(name))


def files_lie(name: str) -> Step:
    """Point every file URL of the lock at the lying index telling ``name``."""

    def step(scene: Scene) -> None:
        lock = scene.root / "pylock.toml"
        good = scene.world.index.url.replace("/simple/", "/files/")
        assert good in lock.read_text()
        lock.write_text(lock.read_text().replace(good, scene.world.liar.files_url(name)))

    return step


def ran(*args: str) -> Step:
    """Run pypm (successfully) as part of the arrangement."""

    def step(scene: Scene) -> None:
        proc = scene.run(*args)
        assert proc.returncode == 0, proc.stderr

    return step


def read_only(rel: str) -> Step:
    """Make a directory (``.`` for the project, ``{cache}`` for the cache) read-only."""

    def step(scene: Scene) -> None:
        path = _where(scene, rel)
        path.mkdir(exist_ok=True)
        scene.undo.append(fs_faults.make_read_only(path))

    return step


def full(rel: str, room: int) -> Step:
    """Put ``rel`` (a directory) on a small tmpfs filled up to ``room`` bytes free; where
    this machine may not mount, cap every file the run writes at ``room`` bytes instead
    (RLIMIT_FSIZE: EFBIG)."""
    size = max(room * 2, MiB)

    def step(scene: Scene) -> None:
        path = _where(scene, rel)
        if not fs_faults.can_mount():
            scene.preexec = fs_faults.file_size_limit(room)
            return
        keep = _move_out(path)
        scene.undo.append(fs_faults.mount_small_tmpfs(path, size))
        _move_in(keep, path)
        fs_faults.fill(path, leave_bytes=room)

    return step


def _move_out(path: Path) -> Path | None:
    if not path.exists():
        return None
    aside = path.with_name(path.name + ".before-mount")
    path.rename(aside)
    path.mkdir()
    return aside


def _move_in(aside: Path | None, path: Path) -> None:
    if aside is None:
        return
    for child in aside.iterdir():
        shutil.move(str(child), str(path / child.name))
    aside.rmdir()


def _where(scene: Scene, rel: str) -> Path:
    return Path(scene.format(rel)) if rel.startswith("{") else scene.root / rel


# ----------------------------------------------------------------------------- the corpus


@dataclass(frozen=True)
class Case:
    """One bad input: run ``args`` after ``steps`` broke the ``base`` project."""

    id: str
    args: tuple[str, ...]
    steps: tuple[Step, ...]
    expect: str
    base: str = "project"
    exit_code: int = 1
    xfail: str | None = None


def case(id: str, args: str, *steps: Step, expect: str, base: str = "project", exit_code: int = 1,
         xfail: str | None = None) -> Case:
    """A row of the table (``args`` is split on spaces)."""
    return Case(id, tuple(args.split()), steps, expect, base, exit_code, xfail)


DEEP_ARRAY = "a = " + "[" * 30_000 + "]" * 30_000 + "\n"
DEEP_TABLE = "a = " + "{b = " * 30_000 + "1" + "}" * 30_000 + "\n"
PROJECT = '[project]\nname = "proj"\nversion = "1.0"\nrequires-python = ">=3.10"\n'
NOT_UTF8 = b'[project]\nname = "caf\xe9"\n'
WS_ROOT = '[tool.pypm.workspace]\nmembers = ["packages/*"]\n'

FILES = [
    # pyproject.toml
    case("pyproject-syntax", "lock", put("pyproject.toml", "[project\nname = 'x'\n"), expect="invalid TOML"),
    case("pyproject-not-utf8", "lock", put("pyproject.toml", NOT_UTF8), expect="not valid UTF-8"),
    case("pyproject-nul-bytes", "lock", put("pyproject.toml", b"\x00\x01\x02"), expect="invalid TOML"),
    case("pyproject-deep-arrays", "lock", put("pyproject.toml", PROJECT + DEEP_ARRAY), expect="nested too deeply"),
    case("pyproject-deep-tables", "lock", put("pyproject.toml", PROJECT + DEEP_TABLE), expect="nested too deeply"),
    case("pyproject-empty", "lock", put("pyproject.toml", ""), expect="no [project] table"),
    case("pyproject-is-directory", "lock", directory("pyproject.toml"), expect="pyproject.toml is a directory"),
    case("project-name-missing", "lock", put("pyproject.toml", '[project]\nversion = "1"\n'), expect="name"),
    case("project-name-invalid", "lock", put("pyproject.toml", '[project]\nname = "-x-"\nversion = "1"\n'),
         expect="name"),
    case("project-version-invalid", "lock", edit("pyproject.toml", 'version = "1.0"', 'version = "one"'),
         expect="version"),
    case("dependencies-not-a-list", "lock", edit("pyproject.toml", '["alpha"]', '"alpha"'), expect="dependencies"),
    case("dependency-unparsable", "lock", edit("pyproject.toml", '"alpha"', '"alpha >>> 1"'), expect="alpha >>> 1"),
    case("requires-python-invalid", "lock", edit("pyproject.toml", '">=3.10"', '"banana"'), expect="banana"),
    case("group-not-a-list", "lock", put("pyproject.toml", PROJECT + '[dependency-groups]\ndev = "x"\n'),
         expect="dev"),
    case("group-includes-itself", "lock",
         put("pyproject.toml", PROJECT + '[dependency-groups]\ndev = [{include-group = "dev"}]\n'), expect="dev"),
    case("tool-pypm-not-a-table", "lock", put("pyproject.toml", PROJECT + "[tool]\npypm = 5\n"),
         expect="[tool.pypm] must be a table"),
    case("tool-pypm-unknown-setting", "lock", put("pyproject.toml", PROJECT + "[tool.pypm]\nindex_url = 'x'\n"),
         expect="unknown setting 'index_url'"),
    case("tool-pypm-wrong-type", "lock", put("pyproject.toml", PROJECT + "[tool.pypm]\noffline = 'perhaps'\n"),
         expect="'offline'"),
    case("members-not-a-list", "lock", put("pyproject.toml", '[tool.pypm.workspace]\nmembers = "packages/*"\n'),
         expect="members"),
    case("member-outside-root", "lock", put("pyproject.toml", '[tool.pypm.workspace]\nmembers = ["../x"]\n'),
         expect="outside the root"),
    case("member-without-pyproject", "lock", put("pyproject.toml", WS_ROOT), put("packages/a/README", "hi\n"),
         expect="has no pyproject.toml"),
    case("member-pyproject-syntax", "lock", put("pyproject.toml", WS_ROOT), put("packages/a/pyproject.toml", "[x"),
         expect="invalid TOML"),
    # pypm-workspace.toml
    case("workspace-file-syntax", "lock", put("pypm-workspace.toml", "[workspace\n"), expect="invalid TOML"),
    case("workspace-file-deep", "lock", put("pypm-workspace.toml", DEEP_ARRAY), expect="nested too deeply"),
    case("workspace-file-members", "lock", put("pypm-workspace.toml", "[workspace]\nmembers = 3\n"),
         expect="members"),
    case("workspace-file-unknown-key", "lock",
         put("pypm-workspace.toml", 'bogus = 1\n[workspace]\nmembers = ["packages/*"]\n'),
         put("packages/a/pyproject.toml", PROJECT.replace("proj", "a")), expect="unknown setting 'bogus'"),
    # the user config file
    case("config-syntax", "lock", put("{config}", "index-url = \n"), expect="invalid TOML"),
    case("config-not-utf8", "lock", put("{config}", b'index-url = "\xff"\n'), expect="not valid UTF-8"),
    case("config-deep", "lock", put("{config}", DEEP_TABLE), expect="nested too deeply"),
    case("config-unknown-key", "lock", put("{config}", "colour = 'blue'\n"), expect="unknown setting 'colour'"),
    case("config-wrong-value", "lock", put("{config}", "link-mode = 'teleport'\n"), expect="'link-mode'"),
    case("config-is-directory", "lock", directory("{config}"), expect="config.toml is a directory"),
    # pylock.toml
    case("lock-syntax", "sync --frozen", put("pylock.toml", "lock-version = \n"), expect="invalid TOML",
         base="locked"),
    case("lock-not-utf8", "sync --frozen", put("pylock.toml", b"lock-version = '\xff'\n"), expect="not valid UTF-8",
         base="locked"),
    case("lock-deep", "sync --frozen", put("pylock.toml", DEEP_ARRAY), expect="nested too deeply", base="locked"),
    case("lock-empty", "sync --frozen", put("pylock.toml", ""), expect="not a valid PEP 751 lock", base="locked"),
    case("lock-is-directory", "sync --frozen", directory("pylock.toml"), expect="pylock.toml is a directory",
         base="locked"),
    case("lock-version-2", "sync --frozen", edit("pylock.toml", 'lock-version = "1.0"', 'lock-version = "2.0"'),
         expect="version 2.0 is not supported", base="locked"),
    case("lock-packages-not-array", "sync --frozen",
         put("pylock.toml", 'lock-version = "1.0"\ncreated-by = "me"\npackages = 5\n'), expect="packages",
         base="locked"),
    # `sync` would re-lock a damaged lock (it is stale); --frozen installs it as it is: one error line
    case("lock-body-broken-header-fresh", "sync --frozen", edit("pylock.toml", "[[packages]]", "[[packages]\n"),
         expect="invalid TOML", base="locked"),
    case("lock-marker-invalid", "sync --frozen",
         edit("pylock.toml", "[[packages]]\nname = \"alpha\"", "[[packages]]\nname = \"alpha\"\nmarker = \"os >< 1\""),
         expect="marker", base="locked"),
    case("lock-sha256-wrong", "sync --frozen", edit("pylock.toml", 'sha256 = "', 'sha256 = "0000'),
         expect="sha256", base="locked"),
    case("lock-wheel-url-404", "sync --frozen", files_lie("404-everything"), expect="404", base="locked"),
    # pypm's state in .pypm and .venv
    case("state-dir-is-file", "lock", put(".pypm", "not a directory\n"), expect=".pypm is a file"),
    case("state-db-is-directory", "lock", directory(".pypm/doit.sqlite3"), expect="doit.sqlite3 is a directory"),
    case("state-lock-is-directory", "lock", directory(".pypm/graph.lock"), expect="graph.lock is a directory"),
    case("venv-is-file", "sync", put(".venv", "my notes\n"), expect=".venv", base="locked"),
    case("venv-is-user-directory", "sync", directory(".venv"), expect="pypm does not replace what it did not make",
         base="locked"),
]

SETTINGS = [
    case("env-link-mode", "sync", setenv(PYPM_LINK_MODE="teleport"), expect="PYPM_LINK_MODE", base="locked"),
    case("env-offline", "lock", setenv(PYPM_OFFLINE="perhaps"), expect="PYPM_OFFLINE"),
    case("env-prerelease", "lock", setenv(PYPM_PRERELEASE="sometimes"), expect="PYPM_PRERELEASE"),
    case("env-environments-marker", "lock", setenv(PYPM_ENVIRONMENTS="sys_platform=linux"),
         expect="PYPM_ENVIRONMENTS: setting 'environments': invalid marker"),
    case("env-index-url-not-a-url", "lock", setenv(PYPM_INDEX_URL="not a url"), expect="not a url"),
    case("env-index-url-ftp", "lock", setenv(PYPM_INDEX_URL="ftp://127.0.0.1/simple/"), expect="ftp://"),
    case("env-index-url-dead", "lock", setenv(PYPM_INDEX_URL="http://127.0.0.1:9/simple/"), expect="127.0.0.1:9"),
    case("env-find-links-missing", "lock", setenv(PYPM_FIND_LINKS="{tmp}/no-such-dir"), expect="no-such-dir"),
    case("env-cache-dir-is-file", "lock", put("{tmp}/a-file", "x"), setenv(PYPM_CACHE_DIR="{tmp}/a-file"),
         expect="a-file is a file where a directory is expected"),
    case("env-cache-dir-under-file", "lock", put("{tmp}/a-file", "x"), setenv(PYPM_CACHE_DIR="{tmp}/a-file/cache"),
         expect="a-file is a file where a directory is expected"),
    case("env-workspace-root-missing", "lock", setenv(PYP_WORKSPACE_ROOT="{tmp}/nowhere"), expect="nowhere"),
    case("setting-cache-dir-number", "lock", put("pyproject.toml", PROJECT + "[tool.pypm]\ncache-dir = 5\n"),
         expect="'cache-dir'"),
]

COMMAND_LINE = [
    case("unknown-command", "frobnicate", expect="frobnicate", exit_code=2),
    case("unknown-option", "sync --frobnicate", expect="--frobnicate", exit_code=2),
    case("bad-choice", "sync --link-mode teleport", expect="teleport", exit_code=2),
    case("missing-value", "sync --python", expect="--python", exit_code=2),
    case("bad-prerelease", "lock --prerelease sometimes", expect="sometimes", exit_code=2),
    case("frozen-with-lock", "lock --frozen", expect="--frozen", exit_code=2),
    case("not-combinable", "sync status", expect="status", exit_code=2),
    case("project-dir-missing", "--project {tmp}/nowhere lock", expect="nowhere", exit_code=2),
    case("project-dir-is-file", "--project {root}/pyproject.toml lock", expect="not a directory", exit_code=2),
    case("cache-subcommand-unknown", "cache frobnicate", expect="frobnicate", exit_code=2),
]

INTERPRETERS = [
    case("python-hostname", "sync --python /etc/hostname", expect="/etc/hostname", base="synced"),
    case("python-true", "sync --python /bin/true", expect="/bin/true", base="synced"),
    case("python-false", "sync --python /bin/false", expect="/bin/false", base="synced"),
    case("python-missing-path", "sync --python {tmp}/no/python3", expect="no/python3", base="synced"),
    case("python-directory", "sync --python /usr", expect="/usr", base="synced"),
    case("python-unknown-version", "sync --python 2.1", expect="2.1", base="synced"),
    case("python-prints-garbage", "sync --python {tmp}/fake-python",
         executable("{tmp}/fake-python", "#!/bin/sh\necho '{not json'\n"), expect="fake-python", base="synced"),
    case("python-not-executable", "sync --python {tmp}/python3", put("{tmp}/python3", "print('hi')\n"),
         expect="python3", base="synced"),
    case("env-python-hostname", "sync", setenv(PYPM_PYTHON="/etc/hostname"), expect="/etc/hostname", base="synced"),
]

INDEX_ANSWERS = [
    case("index-json-nested-deeply", "lock", lie("json-nested-deeply"), expect="alpha"),
    *(case(f"index-{name}", "lock", lie(name), expect=fragment) for name, fragment in [
        ("garbage-json", "alpha"),
        ("json-not-an-object", "alpha"),
        ("json-files-not-a-list", "alpha"),
        ("json-file-entries-wrong", "alpha"),
        ("json-api-version-999", "alpha"),
        ("html-no-links", "alpha"),
        ("html-not-utf8", "alpha"),
        ("wrong-content-type", "alpha"),
        ("empty-body", "alpha"),
        ("truncated-page", "peer closed connection"),
        ("404-everything", "alpha"),
        ("403-everything", "403"),
        ("500-everything", "500"),
        ("redirect-loop", "redirect"),
        ("wheel-not-a-zip", "alpha-1.0-py3-none-any.whl"),
        ("metadata-garbage", "alpha"),
        ("invalid-filenames", "alpha"),
    ]),
    case("download-truncated", "sync --frozen", files_lie("truncated-file"), expect="alpha-1.0", base="locked"),
    case("download-garbage", "sync --frozen", files_lie("garbage-file"), expect="sha256", base="locked"),
    case("download-html-page", "sync --frozen", files_lie("html-instead-of-file"), expect="alpha-1.0",
         base="locked"),
]

# read-only: EROFS under a read-only mount, EPERM under chattr +i, EACCES under chmod
# (see fs_faults); the line names the path and says "make it writable" for all three.
# RLIMIT_FSIZE (no mount) caps every file, so there the cache's first write fails instead
LOCK_WRITE_FULL = "no space left on device while writing {root}/pylock.toml" if fs_faults.can_mount() else (
    "no space left on device while writing")
FILESYSTEMS = [
    case("project-read-only", "lock", read_only("."), expect=".pypm: make it writable"),
    case("project-read-only-synced", "lock --upgrade", read_only("."), expect="make it writable", base="synced"),
    case("state-dir-read-only", "lock", read_only(".pypm"), expect="make it writable"),
    # a new link mode makes sync reinstall from the cache: the first write into .venv fails
    case("venv-read-only", "sync --frozen --link-mode copy", read_only(".venv"), expect="make it writable",
         base="synced"),
    case("cache-read-only", "lock", read_only("{cache}"), expect="or set PYPM_CACHE_DIR"),
    case("cache-full", "sync", full("{cache}", room=MiB), expect="no space left on device", base="locked-beta",
         ),
    case("project-full", "lock", full(".", room=0), expect="no space left on device"),
    case("project-full-at-lock-write", "lock", ran("lock"),
         put("pyproject.toml", PROJECT + 'dependencies = ["beta"]\n'),
         full(".", room=0), expect=LOCK_WRITE_FULL),
]

OTHER_COMMANDS = [
    case("sync-frozen-without-lock", "sync --frozen", expect="pylock.toml does not exist"),
    case("status-state-dir-is-file", "status", put(".pypm", "x\n"), expect=".pypm is a file", base="locked"),
    case("run-venv-is-file", "run python -c pass", put(".venv", "x\n"), expect=".venv is a file", base="locked"),
    case("init-under-a-file", "init {root}/pyproject.toml/sub", expect="pyproject.toml is a file"),
    case("init-read-only", "init {root}/sub", read_only("."), expect="make it writable"),
    case("cache-info-cache-dir-is-file", "cache info", put("{tmp}/a-file", "x"), setenv(PYPM_CACHE_DIR="{tmp}/a-file"),
         expect="a-file is a file"),
]

CASES = [*FILES, *SETTINGS, *COMMAND_LINE, *INTERPRETERS, *INDEX_ANSWERS, *FILESYSTEMS, *OTHER_COMMANDS]


# ----------------------------------------------------------------------------- the check


def _digest(path: Path) -> str:
    if path.is_dir():
        return "directory"
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else "missing"


def _listing(venv: Path) -> list[tuple[str, str, int]]:
    if not venv.is_dir():
        return [("", _digest(venv), 0)]
    rows = []
    for path in sorted(venv.rglob("*")):
        if path.name == STAMP and path.parent == venv:
            continue
        kind = "link" if path.is_symlink() else "dir" if path.is_dir() else "file"
        rows.append((path.relative_to(venv).as_posix(), kind, path.lstat().st_size if kind == "file" else 0))
    return rows


def fingerprint(root: Path) -> dict[str, object]:
    """What must not change: pyproject and lock hashes, the .venv listing, no temp files."""
    return {
        "pyproject.toml": _digest(root / "pyproject.toml"),
        "pylock.toml": _digest(root / "pylock.toml"),
        ".venv": _listing(root / ".venv"),
        "temp files": sorted(p.name for p in root.glob(".*.tmp")) if root.is_dir() else [],
    }


def _params() -> list[object]:
    marks = {c.id: [pytest.mark.xfail(strict=True, reason=c.xfail)] if c.xfail else [] for c in CASES}
    return [pytest.param(c, id=c.id, marks=marks[c.id]) for c in CASES]


def test_corpus_is_large_and_ids_are_unique() -> None:
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("bad", _params())
def test_bad_input_ends_with_one_error_line_and_changes_nothing(bad: Case, scene: Scene) -> None:
    scene.start(bad.base)
    for step in bad.steps:
        step(scene)
    before = fingerprint(scene.root)

    proc = scene.run(*bad.args)

    output = proc.stdout + proc.stderr
    lines = proc.stderr.rstrip("\n").splitlines()
    print(f"[{bad.id}] exit {proc.returncode}: {lines[-1] if lines else '(nothing on stderr)'}")
    assert "Traceback" not in output and "internal error" not in output, output
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], proc.stderr
    assert proc.returncode == bad.exit_code, output
    assert scene.format(bad.expect).lower() in lines[-1].lower(), lines[-1]
    assert fingerprint(scene.root) == before
