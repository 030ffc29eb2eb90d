"""Plugins: native ones compiled here with the system C compiler and loaded with ctypes,
Python ones from a path, their hooks in a real `pypm lock sync` on a real local index."""

from __future__ import annotations

import http.server
import json
import shutil
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from tests.workspaces import replace_in, write_project

ROOT = Path(__file__).resolve().parents[1]
NATIVE = ROOT / "tests" / "fixtures" / "native"
SUFFIX = ".dll" if sys.platform == "win32" else ".dylib" if sys.platform == "darwin" else ".so"


def compile_library(source: Path, out_dir: Path) -> Path:
    """``source`` built into a shared library with the system C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    assert compiler, "these tests need the system C compiler (cc)"
    out = out_dir / f"lib{source.stem}{SUFFIX}"
    flags = ["-dynamiclib"] if sys.platform == "darwin" else ["-shared", "-fPIC"]
    subprocess.run([compiler, *flags, "-fvisibility=hidden", f"-I{ROOT / 'include'}", "-o", str(out), str(source)],
                   check=True)
    return out


@pytest.fixture
def plugin_env(tmp_path: Path) -> dict[str, str]:
    return {"PYPM_PLUGIN_DIR": str(tmp_path / "plugin-dir")}


@pytest.fixture
def project(tmp_path: Path, make_index) -> tuple[Path, dict[str, str]]:
    index = make_index([DistSpec("alpha", "1.0")])
    root = tmp_path / "proj"
    write_project(root, ["alpha"])
    return root, {"PYPM_INDEX_URL": index.url, "PYPM_PLUGIN_DIR": str(tmp_path / "plugin-dir")}


def with_plugins(root: Path, entries: str) -> None:
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(text + f"\n[tool.pypm]\nplugins = {entries}\n")


def test_hello_is_compiled_added_and_run_with_its_arguments(tmp_path, plugin_env, run_pypm) -> None:
    library = compile_library(ROOT / "plugins" / "hello" / "hello.c", tmp_path)
    added = run_pypm("plugin", "add", "hello", str(library), cwd=tmp_path, env_extra=plugin_env)
    installed = Path(plugin_env["PYPM_PLUGIN_DIR"]) / f"pypm_hello{SUFFIX}"
    assert installed.is_file() and "Added the plugin hello" in added.stderr
    ran = run_pypm("plugin", "run", "hello", "one", "--two", "3", cwd=tmp_path, env_extra=plugin_env, check=False)
    assert ran.returncode == 4, "its return value (argc) is pypm's exit code"
    assert ran.stdout.splitlines() == ["Hello from the pypm plugin hello!", "argv[0] = hello", "argv[1] = one",
                                       "argv[2] = --two", "argv[3] = 3"]
    listed = run_pypm("plugin", "list", cwd=tmp_path, env_extra=plugin_env)
    assert listed.stdout.split("\t")[0] == "hello" and str(library) in listed.stdout
    run_pypm("plugin", "remove", "hello", cwd=tmp_path, env_extra=plugin_env)
    assert not installed.exists()
    empty = run_pypm("plugin", "list", cwd=tmp_path, env_extra=plugin_env)
    assert empty.stdout == "" and "No native plugin installed" in empty.stderr
    gone = run_pypm("plugin", "run", "hello", cwd=tmp_path, env_extra=plugin_env, check=False)
    assert gone.returncode == 2 and "no native plugin named 'hello'" in gone.stderr


def test_a_native_hook_sees_every_stage_of_lock_sync(project, tmp_path, run_pypm) -> None:
    root, env = project
    run_pypm("plugin", "add", "stages", str(compile_library(NATIVE / "stages.c", tmp_path)), cwd=root, env_extra=env)
    with_plugins(root, '["stages"]')
    log = tmp_path / "stages.log"
    run_pypm("lock", "sync", cwd=root, env_extra={**env, "PYPM_TEST_STAGE_LOG": str(log)})
    rows = [line.split(" ", 1) for line in log.read_text().splitlines()]
    assert [stage for stage, _ in rows] == ["pre-lock", "post-lock", "pre-sync", "post-sync"]
    contexts = {stage: json.loads(text) for stage, text in rows}
    assert all(c["abi"] == 1 and c["stage"] == s and c["workspace_root"] == str(root) for s, c in contexts.items())
    assert "alpha==1.0" in contexts["post-lock"]["result"]["locked"]
    assert "alpha" in contexts["post-sync"]["result"]["installed"]
    assert contexts["pre-sync"]["result"] is None and contexts["pre-sync"]["venv_path"] == str(root / ".venv")
    again = run_pypm("lock", "sync", cwd=root, env_extra={**env, "PYPM_TEST_STAGE_LOG": str(log)})
    assert "All up to date" in again.stderr and len(log.read_text().splitlines()) == 4, "no hook when nothing runs"


def test_a_failing_native_hook_stops_the_run_with_exit_3(project, tmp_path, run_pypm) -> None:
    root, env = project
    run_pypm("plugin", "add", "stages", str(compile_library(NATIVE / "stages.c", tmp_path)), cwd=root, env_extra=env)
    with_plugins(root, '["stages"]')
    failing = {**env, "PYPM_TEST_FAIL_AT": "post-lock"}
    stopped = run_pypm("lock", "sync", cwd=root, env_extra=failing, check=False)
    assert stopped.returncode == 3
    assert stopped.stderr.strip().splitlines()[-1] == (
        "error: plugin stages stopped the run at post-lock (pypm_hook returned 7); the new pylock.toml is removed "
        "(fix what it reports, or run with --no-plugins)")
    assert not (root / "pylock.toml").exists() and not (root / ".venv").exists()
    run_pypm("--no-plugins", "lock", "sync", cwd=root, env_extra=failing)
    assert (root / "pylock.toml").is_file()
    (root / "pyproject.toml").write_text((root / "pyproject.toml").read_text().replace('"alpha"', '"alpha>=1"'))
    stopped = run_pypm("lock", "sync", cwd=root, env_extra={**env, "PYPM_TEST_FAIL_AT": "post-sync"}, check=False)
    assert stopped.returncode == 3 and "at post-sync" in stopped.stderr
    dry = run_pypm("sync", "--dry-run", cwd=root, env_extra={**env, "PYPM_NO_PLUGINS": "1"})
    assert "sync: would run" in dry.stdout, "a sync a hook rejected is not up to date"


def test_a_failing_python_hook_stops_the_run_and_no_plugins_skips_it(project, tmp_path, run_pypm) -> None:
    root, env = project
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "gate.py").write_text(
        "def plugin(pypm):\n"
        "    @pypm.hook('pre-sync')\n"
        "    def refuse(context):\n"
        "        raise RuntimeError(f'no sync of {context.venv_path.name} today')\n")
    with_plugins(root, f'[{{ path = "{gate.as_posix()}", object = "gate:plugin" }}]')
    stopped = run_pypm("lock", "sync", cwd=root, env_extra=env, check=False)
    assert stopped.returncode == 3
    assert stopped.stderr.strip().splitlines()[-1] == (
        "error: plugin gate stopped the run at pre-sync: no sync of .venv today "
        "(fix what it reports, or run with --no-plugins)")
    assert (root / "pylock.toml").is_file() and not (root / ".venv").exists(), "the lock ran; the sync did not"
    run_pypm("--no-plugins", "sync", cwd=root, env_extra=env)
    assert (root / ".venv").is_dir()
    (root / ".venv" / ".pypm-sync.json").unlink()
    assert run_pypm("sync", cwd=root, env_extra={**env, "PYPM_NO_PLUGINS": "1"}).returncode == 0
    (gate / "gate.py").write_text("def plugin(pypm):\n    pypm.hook('pre-sync', lambda context: 2)\n")
    (root / ".venv" / ".pypm-sync.json").unlink()
    returned = run_pypm("sync", cwd=root, env_extra=env, check=False)
    assert returned.returncode == 3
    assert "plugin gate stopped the run at pre-sync (its hook returned 2)" in returned.stderr


def test_task_and_run_hooks_and_a_plugin_command(project, tmp_path, run_pypm) -> None:
    root, env = project
    plug = tmp_path / "plug"
    plug.mkdir()
    log = tmp_path / "python-stages.log"
    (plug / "recorder.py").write_text(
        "import pathlib\n"
        f"LOG = pathlib.Path({str(log)!r})\n"
        "def note(context):\n"
        "    with LOG.open('a') as f:\n"
        "        f.write(f'{context.stage} {context.task} {list(context.command)}\\n')\n"
        "def greet(options):\n"
        "    print(f'hi {options.who}')\n"
        "    return 5\n"
        "def plugin(pypm):\n"
        "    for stage in ('pre-task', 'post-task', 'pre-run'):\n"
        "        pypm.hook(stage, note)\n"
        "    pypm.command('greet', greet, help='say hi', add_arguments=lambda p: p.add_argument('who'))\n")
    with_plugins(root, f'[{{ path = "{plug.as_posix()}", object = "recorder:plugin" }}]\n'
                       '[tool.pypm.tasks]\nhello = "python -c \\"print(1)\\""')
    run_pypm("run", "hello", cwd=root, env_extra=env)
    run_pypm("run", "python", "-c", "pass", cwd=root, env_extra=env)
    assert log.read_text().splitlines() == ["pre-task hello []", "post-task hello []",
                                            "pre-run None ['python', '-c', 'pass']"]
    greeted = run_pypm("greet", "bob", cwd=root, env_extra=env, check=False)
    assert greeted.returncode == 5 and greeted.stdout == "hi bob\n"
    assert "greet" in run_pypm("--help", cwd=root, env_extra=env).stdout.split("plugin commands:")[1]
    bad = run_pypm("greet", cwd=root, env_extra=env, check=False)
    assert bad.returncode == 2 and "the following arguments are required: who" in bad.stderr
    off = run_pypm("--no-plugins", "greet", "bob", cwd=root, env_extra=env, check=False)
    assert off.returncode == 2 and "neither a pypm command nor a task" in off.stderr


def test_a_plugin_that_cannot_load_is_one_line(project, tmp_path, run_pypm) -> None:
    root, env = project
    with_plugins(root, '["no_such_module:plugin"]')
    failed = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 3 and "plugin no_such_module:plugin: cannot import no_such_module" in failed.stderr
    assert len(failed.stderr.strip().splitlines()) == 1
    write_project(root, ["alpha"])
    with_plugins(root, '["missing-native"]')
    failed = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 3 and "no native plugin named 'missing-native'" in failed.stderr
    for entries, says in (('"x"', "plugins must be a list"), ("[3]", "plugin entry 3 is not understood")):
        write_project(root, ["alpha"])
        with_plugins(root, entries)  # a mistake in the settings, not a plugin failing: exit 1, not 3
        failed = run_pypm("lock", cwd=root, env_extra=env, check=False)
        assert failed.returncode == 1 and says in failed.stderr, failed.stderr


@pytest.mark.parametrize(("source", "fragment"), [
    ("not_a_plugin.c", "exports no pypm_plugin_abi_version()"),
    ("abi2.c", "ABI version 2, pypm speaks 1"),
])
def test_libraries_that_are_no_pypm_plugin_are_refused(tmp_path, plugin_env, run_pypm, source, fragment) -> None:
    library = compile_library(NATIVE / source, tmp_path)
    refused = run_pypm("plugin", "add", "x", str(library), cwd=tmp_path, env_extra=plugin_env, check=False)
    assert refused.returncode == 3 and fragment in refused.stderr and len(refused.stderr.splitlines()) == 1
    assert not list(Path(plugin_env["PYPM_PLUGIN_DIR"]).glob("*pypm_x*")), "nothing is installed, no temp file left"


@pytest.mark.skipif(sys.platform != "linux", reason="an ELF header is patched")
def test_a_library_for_another_architecture_is_one_line(tmp_path, plugin_env, run_pypm) -> None:
    library = compile_library(ROOT / "plugins" / "hello" / "hello.c", tmp_path)
    data = bytearray(library.read_bytes())
    data[4] = 1  # EI_CLASS: 32-bit, as a library built for i386 or armv7 has
    other = tmp_path / "libother.so"
    other.write_bytes(bytes(data))
    refused = run_pypm("plugin", "add", "other", str(other), cwd=tmp_path, env_extra=plugin_env, check=False)
    assert refused.returncode == 3
    assert refused.stderr.strip() == (f"error: native plugin other: {other} does not load: wrong ELF class: ELFCLASS32 "
                                      "(build it for this machine's architecture and Python's platform)")


def test_run_of_a_plugin_without_main_is_one_line(tmp_path, plugin_env, run_pypm) -> None:
    run_pypm("plugin", "add", "hooks", str(compile_library(NATIVE / "no_main.c", tmp_path)), cwd=tmp_path,
             env_extra=plugin_env)
    ran = run_pypm("plugin", "run", "hooks", cwd=tmp_path, env_extra=plugin_env, check=False)
    assert ran.returncode == 3 and "exports no pypm_plugin_main()" in ran.stderr


def test_http_and_a_wrong_sha256_are_refused(tmp_path, plugin_env, run_pypm) -> None:
    library = compile_library(ROOT / "plugins" / "hello" / "hello.c", tmp_path)
    http = run_pypm("plugin", "add", "hello", "http://127.0.0.1:9/libhello.so", cwd=tmp_path, env_extra=plugin_env,
                    check=False)
    assert http.returncode == 2 and "plain http is refused" in http.stderr
    wrong = run_pypm("plugin", "add", "hello", str(library), "--sha256", "0" * 64, cwd=tmp_path,
                     env_extra=plugin_env, check=False)
    assert wrong.returncode == 1 and "not the 0000" in wrong.stderr
    assert not Path(plugin_env["PYPM_PLUGIN_DIR"]).exists() or not any(Path(plugin_env["PYPM_PLUGIN_DIR"]).iterdir())


@pytest.fixture
def https_server(tmp_path: Path):
    """A real HTTPS server on 127.0.0.1 with a self-signed certificate (made by openssl)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    openssl = shutil.which("openssl")
    assert openssl, "this test makes its certificate with the openssl command"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    served = tmp_path / "served"
    served.mkdir()

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(served), **kwargs)

        def log_message(self, *args) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{server.server_address[1]}", served, cert
    server.shutdown()


def test_https_download_with_a_pinned_sha256(tmp_path, plugin_env, run_pypm, https_server) -> None:
    import hashlib

    url, served, cert = https_server
    library = compile_library(ROOT / "plugins" / "hello" / "hello.c", served)
    digest = hashlib.sha256(library.read_bytes()).hexdigest()
    env = {**plugin_env, "SSL_CERT_FILE": str(cert)}
    untrusted = run_pypm("plugin", "add", "hello", f"{url}/{library.name}", cwd=tmp_path, env_extra=plugin_env,
                         check=False)
    assert untrusted.returncode == 1 and "certificate" in untrusted.stderr.lower(), untrusted.stderr
    run_pypm("plugin", "add", "hello", f"{url}/{library.name}", "--sha256", digest, cwd=tmp_path, env_extra=env)
    ran = run_pypm("plugin", "run", "hello", "x", cwd=tmp_path, env_extra=plugin_env, check=False)
    assert ran.returncode == 2 and "argv[1] = x" in ran.stdout
    missing = run_pypm("plugin", "add", "other", f"{url}/nothing.so", cwd=tmp_path, env_extra=env, check=False)
    assert missing.returncode == 1 and "HTTP 404" in missing.stderr


def test_post_lock_hooks_guard_pypm_add(tmp_path, make_index, run_pypm) -> None:
    """`pypm add` locks before it writes pyproject.toml: a post-lock hook that stops it
    leaves both files as they were."""
    index = make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")])
    env = {"PYPM_INDEX_URL": index.url}
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "gate.py").write_text(
        "def plugin(pypm):\n"
        "    @pypm.hook('post-lock')\n"
        "    def deny(context):\n"
        "        if any(row.startswith('beta==') for row in context.result.locked):\n"
        "            raise RuntimeError('beta is denied')\n")
    root = tmp_path / "proj"
    write_project(root, ["alpha"])
    with_plugins(root, f'[{{ path = "{gate.as_posix()}", object = "gate:plugin" }}]')
    run_pypm("lock", cwd=root, env_extra=env)
    before = {name: (root / name).read_bytes() for name in ("pyproject.toml", "pylock.toml")}
    stopped = run_pypm("add", "beta", cwd=root, env_extra=env, check=False)
    assert stopped.returncode == 3 and "plugin gate stopped the run at post-lock: beta is denied" in stopped.stderr
    assert {name: (root / name).read_bytes() for name in before} == before


def test_a_hook_calling_exit_stops_the_run_and_its_lock_is_not_kept(project, tmp_path, run_pypm) -> None:
    root, env = project
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "gate.py").write_text("import sys\ndef plugin(pypm):\n    pypm.hook('post-lock', lambda c: sys.exit(5))\n")
    with_plugins(root, f'[{{ path = "{gate.as_posix()}", object = "gate:plugin" }}]')
    stopped = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert stopped.returncode == 3 and "plugin gate stopped the run at post-lock (it called exit(5))" in stopped.stderr
    assert not (root / "pylock.toml").exists()


def test_adding_a_plugin_makes_the_lock_and_sync_run_again(project, tmp_path, run_pypm) -> None:
    """A gate added to a project already locked and synced checks them: the plugins list
    is an input of both."""
    root, env = project
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    log = tmp_path / "seen.log"
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "gate.py").write_text(
        f"import pathlib\nLOG = pathlib.Path({str(log)!r})\n"
        "def plugin(pypm):\n"
        "    for stage in ('post-lock', 'post-sync'):\n"
        "        pypm.hook(stage, lambda c: LOG.open('a').write(c.stage + '\\n') and None)\n")
    with_plugins(root, f'[{{ path = "{gate.as_posix()}", object = "gate:plugin" }}]')
    lock_before = (root / "pylock.toml").read_text().split("[tool.pypm]")[0]
    run_pypm("lock", "sync", cwd=root, env_extra=env)
    assert log.read_text().splitlines() == ["post-lock", "post-sync"]
    assert (root / "pylock.toml").read_text().split("[tool.pypm]")[0] == lock_before, "the same packages"
    assert "All up to date" in run_pypm("lock", "sync", cwd=root, env_extra=env).stderr


def test_a_task_keeps_its_name_over_a_plugin_command(project, tmp_path, run_pypm) -> None:
    root, env = project
    plug = tmp_path / "plug"
    plug.mkdir()
    (plug / "cmd.py").write_text("def plugin(pypm):\n    pypm.command('hello', lambda o: print('plugin'))\n")
    with_plugins(root, f'[{{ path = "{plug.as_posix()}", object = "cmd:plugin" }}]\n'
                       '[tool.pypm.tasks]\nhello = "python -c \\"print(\'task\')\\""')
    clash = run_pypm("hello", cwd=root, env_extra=env, check=False)
    assert clash.returncode == 3 and "a module named cmd is already loaded" in clash.stderr, "stdlib's cmd is"
    (plug / "cmd.py").rename(plug / "hello_cmd.py")
    replace_in(root / "pyproject.toml", '"cmd:plugin"', '"hello_cmd:plugin"')
    assert run_pypm("hello", cwd=root, env_extra=env).stdout.strip() == "task"
    off = run_pypm("--no-plugins", "nothing-here", cwd=root, env_extra=env, check=False)
    assert off.returncode == 2 and "plugins are off, so no plugin command either" in off.stderr


def test_a_workspace_file_may_hold_other_tools_tables(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = tmp_path / "ws"
    write_project(root / "app", ["alpha"], name="app")
    (root / "pypm-workspace.toml").write_text('[workspace]\nmembers = ["app"]\n\n[tool.audit-gate]\ndeny = []\n')
    run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    (root / "pypm-workspace.toml").write_text("[tool.x]\ny = 1\n")
    empty = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}, check=False)
    assert empty.returncode == 1 and "(add [workspace] members = [...])" in empty.stderr


def test_bundle_hooks_and_a_refused_archive_is_removed(tmp_path, make_index, run_pypm) -> None:
    from tests.workspaces import lone_flit_project

    index = make_index([DistSpec("alpha", "1.0")])
    root = lone_flit_project(tmp_path / "lone", index)
    gate = tmp_path / "gate"
    gate.mkdir()
    (gate / "bundle_gate.py").write_text(
        "import os\n"
        "def plugin(pypm):\n"
        "    @pypm.hook('post-bundle')\n"
        "    def check(context):\n"
        "        assert os.path.isfile(context.result.archive), 'the archive is there when post-bundle runs'\n"
        "        return 9 if os.environ.get('REFUSE_BUNDLE') else 0\n")
    with_plugins(root, f'[{{ path = "{gate.as_posix()}", object = "bundle_gate:plugin" }}]')
    env = {"PYPM_INDEX_URL": index.url, "SOURCE_DATE_EPOCH": "1700000000"}
    archive = root / "dist" / "lone-2.0-bundle.tar.gz"
    refused = run_pypm("lock", "sync", "bundle", cwd=root, env_extra={**env, "REFUSE_BUNDLE": "1"}, check=False)
    assert refused.returncode == 3 and refused.stderr.strip().splitlines()[-1] == (
        "error: plugin bundle_gate stopped the run at post-bundle (its hook returned 9); the archive is removed "
        "(fix what it reports, or run with --no-plugins)")
    assert not archive.exists()
    run_pypm("bundle", cwd=root, env_extra=env)
    assert archive.is_file()
    assert "All up to date (bundle)" in run_pypm("bundle", cwd=root, env_extra=env).stderr


def plugin_rows(run_pypm, root: Path, env: dict[str, str]) -> list[tuple[str, str]]:
    """(status, message) of each plugins row of ``pypm doctor --json``."""
    done = run_pypm("doctor", "--json", cwd=root, env_extra=env, check=False)
    return [(c["status"], c["message"]) for c in json.loads(done.stdout)["checks"] if c["check"] == "plugins"]


@pytest.mark.parametrize(("source", "says"), [
    ("import sys\ndef plugin(pypm):\n    sys.exit(9)\n", "plugin boom failed to register: it called exit(9)"),
    ("import sys\nsys.exit('bye')\ndef plugin(pypm):\n    pass\n", "plugin boom does not load: it called exit('bye')"),
])
def test_a_plugin_calling_exit_as_it_loads_is_reported_by_help_and_doctor(project, tmp_path, run_pypm, source,
                                                                          says) -> None:
    root, env = project
    plug = tmp_path / "plug"
    plug.mkdir()
    (plug / "boom.py").write_text(source)
    with_plugins(root, f'[{{ path = "{plug.as_posix()}", object = "boom:plugin" }}]')
    helped = run_pypm("--help", cwd=root, env_extra=env, check=False)
    assert helped.returncode == 0 and "usage: pypm" in helped.stdout
    assert f"(plugins not loaded: {says} (fix what it reports" in helped.stdout
    assert plugin_rows(run_pypm, root, env) == [("fail", f"{says} (fix what it reports, or run with --no-plugins)")]
    locked = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert locked.returncode == 3 and locked.stderr.strip() == (
        f"error: {says} (fix what it reports, or run with --no-plugins)")


def test_a_plugin_command_whose_arguments_break_is_the_plugins_failure(project, tmp_path, run_pypm) -> None:
    root, env = project
    plug = tmp_path / "plug"
    plug.mkdir()
    (plug / "myplug.py").write_text(
        "def plugin(pypm):\n"
        "    pypm.command('hello', lambda o: print('hi'), add_arguments=lambda p: p.add_argument('-h'))\n")
    with_plugins(root, f'[{{ path = "{plug.as_posix()}", object = "myplug:plugin" }}]')
    failed = run_pypm("hello", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 3, failed.stderr
    assert failed.stderr.strip() == ("error: pypm hello (plugin myplug) failed: argument -h: conflicting option "
                                     "string: -h (run with --no-plugins to do without it)")


def test_bad_plugin_entries_are_config_mistakes_and_doctor_checks_each_entry(project, tmp_path, run_pypm) -> None:
    root, env = project
    plug = tmp_path / "plug"
    plug.mkdir()
    (plug / "myplug.py").write_text("def plugin(pypm):\n    pypm.command('hello', lambda o: print('hi'))\n")
    good = f'{{ path = "{plug.as_posix()}", object = "myplug:plugin" }}'
    with_plugins(root, f'["bad name!", {good}, 42]')
    config = root / "pyproject.toml"
    failed = run_pypm("hello", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 1, "a mistake in the config file, not on the command line"
    assert failed.stderr.startswith(f"error: {config}: plugin entry 'bad name!' is not a plugin name")
    assert len(failed.stderr.strip().splitlines()) == 1
    rows = plugin_rows(run_pypm, root, env)
    assert [status for status, _ in rows] == ["fail", "ok", "fail"], rows
    assert rows[0][1].startswith(f"{config}: plugin entry 'bad name!' is not a plugin name")
    assert rows[1][1] == f"myplug:plugin (from {plug.as_posix()}) loads"
    assert rows[2][1].startswith(f"{config}: plugin entry 42 is not understood")
    write_project(root, ["alpha"])
    with_plugins(root, f'[42, {good}]')
    failed = run_pypm("hello", cwd=root, env_extra=env, check=False)
    assert failed.returncode == 1 and failed.stderr.startswith(f"error: {config}: plugin entry 42 is not understood")


def test_a_name_with_a_final_newline_is_no_plugin_name(tmp_path, plugin_env, run_pypm) -> None:
    library = compile_library(ROOT / "plugins" / "hello" / "hello.c", tmp_path)
    refused = run_pypm("plugin", "add", "evil\n", str(library), cwd=tmp_path, env_extra=plugin_env, check=False)
    assert refused.returncode == 2
    assert refused.stderr.strip() == ("error: 'evil\\n' is not a plugin name "
                                      "(use letters, digits, - and _ (e.g. hello))")
    plugins = Path(plugin_env["PYPM_PLUGIN_DIR"])
    assert not plugins.exists() or not any(plugins.iterdir()), "nothing installed"


@pytest.mark.parametrize("file", ["../precious.txt", "{precious}", "notes.txt"])
def test_a_record_naming_another_file_is_neither_removed_nor_run(tmp_path, plugin_env, run_pypm, file) -> None:
    library = compile_library(ROOT / "plugins" / "hello" / "hello.c", tmp_path)
    run_pypm("plugin", "add", "x", str(library), cwd=tmp_path, env_extra=plugin_env)
    plugins = Path(plugin_env["PYPM_PLUGIN_DIR"])
    record = plugins / "plugins.json"
    precious = tmp_path / "precious.txt"
    precious.write_text("keep me\n")
    (plugins / "notes.txt").write_text("mine\n")
    data = json.loads(record.read_text())
    data["plugins"]["x"]["file"] = file.format(precious=precious)  # outside the directory, or not pypm's file
    record.write_text(json.dumps(data))
    said = (f"error: {record}: the entry 'x' names the file {data['plugins']['x']['file']!r}, which is not the library "
            "pypm installs for it; pypm leaves it alone (fix or delete that entry)")
    for action in ("remove", "run"):
        refused = run_pypm("plugin", action, "x", cwd=tmp_path, env_extra=plugin_env, check=False)
        assert refused.returncode == 3 and refused.stderr.strip() == said, refused.stderr
    assert precious.read_text() == "keep me\n" and (plugins / "notes.txt").read_text() == "mine\n"
    assert (plugins / f"pypm_x{SUFFIX}").is_file() and json.loads(record.read_text()) == data, "nothing changed"
