"""``pypm doctor``: one line per check, exit code = number of failures. Real parts only:
the CLI in a subprocess, a local index, the machine's own compiler and git, a closed port,
a local https server with a certificate made by ``openssl``, a cache on another filesystem."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import tempfile
from pathlib import Path

import pytest

from pypm.testing import DistSpec
from pypm.testing.plugin import RunPypm
from tests.workspaces import replace_in, write_project

SPECS = [DistSpec("alpha", "1.0"), DistSpec("beta", "1.0")]


def lines_of(stdout: str) -> dict[str, list[tuple[str, str]]]:
    """check -> [(status, rest of the line)] from the plain report."""
    found: dict[str, list[tuple[str, str]]] = {}
    for line in stdout.splitlines():
        status, check, rest = line.split(None, 2)
        assert status in ("ok", "warn", "fail", "info"), line
        found.setdefault(check, []).append((status, rest))
    return found


def doctor_json(run_pypm: RunPypm, cwd: Path, *args: str, env: dict[str, str] | None = None) -> tuple[dict, int]:
    """``pypm doctor --json``: (the document, the exit code), checked against each other."""
    proc = run_pypm("doctor", "--json", *args, cwd=cwd, env_extra=env, check=False)
    document = json.loads(proc.stdout)
    fails = [c for c in document["checks"] if c["status"] == "fail"]
    assert document["failures"] == len(fails)
    assert document["warnings"] == sum(1 for c in document["checks"] if c["status"] == "warn")
    assert proc.returncode == len(fails), (proc.returncode, fails)
    assert proc.stderr.strip().endswith(f"{len(fails)} failure{'' if len(fails) == 1 else 's'}, "
                                        f"{document['warnings']} warning{'' if document['warnings'] == 1 else 's'}")
    return document, proc.returncode


def by_check(document: dict) -> dict[str, list[dict]]:
    """check -> its entries, in report order."""
    found: dict[str, list[dict]] = {}
    for entry in document["checks"]:
        found.setdefault(entry["check"], []).append(entry)
    return found


@pytest.fixture
def synced(tmp_path: Path, make_index, run_pypm: RunPypm) -> tuple[Path, dict[str, str], str]:
    """A project locked and synced against a local index: (root, env, index URL)."""
    index = make_index(SPECS)
    env = {"PYPM_INDEX_URL": index.url}
    root = write_project(tmp_path / "proj", ["alpha"])
    run_pypm("sync", cwd=root, env_extra=env)
    return root, env, index.url


def test_doctor_in_a_synced_project_reports_each_check(synced, run_pypm: RunPypm) -> None:
    root, env, url = synced
    proc = run_pypm("doctor", cwd=root, env_extra=env, check=False)
    found = lines_of(proc.stdout)
    assert list(found)[:3] == ["project", "settings", "venv"]
    assert found["project"] == [("ok", f"{root.resolve()} (1 member: proj)")]
    assert found["venv"] == [("ok", ".venv matches pylock.toml, which is current")]
    status, text = found["python-headers"][0]
    assert status == "ok" and "Python.h found in" in text and ".venv's Python" in text
    assert found["compiler"][0][0] == "ok" and "compiles, links and runs a test program" in found["compiler"][0][1]
    assert found["openssl"][0] == ("ok", found["openssl"][0][1]) and ssl.OPENSSL_VERSION in found["openssl"][0][1]
    assert found["tls"] == [("info", f"127.0.0.1:{url.split(':')[2].split('/')[0]}: plain http on this machine,"
                                     " no TLS")]
    assert found["index"][0][0] == "ok" and found["index"][0][1].startswith(f"{url} answers (HTTP 200 in ")
    assert found["cache"][0][0] == "ok" and "is writable" in found["cache"][0][1]
    assert found["hardlink"] == [("ok", f"hardlinks work from {env_cache(run_pypm)} to {root.resolve() / '.venv'}")]
    assert all(status == "ok" for status, _ in found["disk"])
    assert found["git"][0][0] == "ok" and found["git"][0][1].startswith("git version")
    assert found["wasi"][0][0] == "info"
    assert found["plugins"][0][0] == "info" and found["plugins"][0][1].startswith("no plugins")
    assert proc.returncode == 0, proc.stdout
    assert proc.stderr.strip() == "0 failures, 0 warnings"
    cache = Path(env_cache(run_pypm))
    assert not [p for p in [*cache.iterdir(), *root.iterdir(), *(root / ".venv").iterdir()]
                if p.name.startswith(".pypm-doctor-")], "doctor left a probe file behind"


def test_doctor_loads_each_plugin_and_counts_the_broken_ones(synced, run_pypm: RunPypm, tmp_path: Path) -> None:
    root, env, _url = synced
    good = tmp_path / "good"
    good.mkdir()
    (good / "good.py").write_text("def plugin(pypm):\n    pypm.hook('post-lock', lambda context: 0)\n")
    with (root / "pyproject.toml").open("a") as pyproject:
        pyproject.write(f'\n[tool.pypm]\nplugins = [{{ path = "{good.as_posix()}", object = "good:plugin" }}, '
                        '"missing_module:plugin", "no-such-native"]\n')
    document, code = doctor_json(run_pypm, root, env={**env, "PYPM_PLUGIN_DIR": str(tmp_path / "plugin-dir")})
    rows = [(c["status"], c["message"]) for c in by_check(document)["plugins"]]
    assert rows[0] == ("ok", f"good:plugin (from {good.as_posix()}) loads")
    assert [status for status, _ in rows[1:]] == ["fail", "fail"] and code == 2
    assert "cannot import missing_module" in rows[1][1] and "no native plugin named 'no-such-native'" in rows[2][1]
    off = run_pypm("--no-plugins", "doctor", cwd=root, env_extra=env, check=False)
    assert off.returncode == 0 and "info  plugins        plugins are disabled" in off.stdout


def env_cache(run_pypm: RunPypm) -> str:
    """The cache dir the ``run_pypm`` fixture gives pypm (``PYPM_CACHE_DIR``)."""
    proc = run_pypm("cache", "dir", cwd=Path(tempfile.gettempdir()))
    return proc.stdout.strip()


def test_doctor_warns_when_the_venv_or_the_lock_is_stale(synced, run_pypm: RunPypm) -> None:
    root, env, _ = synced
    replace_in(root / "pyproject.toml", '"alpha"', '"alpha", "beta"')
    document, code = doctor_json(run_pypm, root, env=env)
    assert by_check(document)["venv"] == [{"check": "venv", "status": "warn", "message": "pylock.toml is stale: the"
                                           " project or its settings changed since it was locked",
                                           "hint": "run `pypm sync`, which locks first"}]
    assert code == 0
    run_pypm("lock", cwd=root, env_extra=env)
    document, _ = doctor_json(run_pypm, root, env=env)
    assert by_check(document)["venv"][0]["message"] == ".venv does not match pylock.toml (as `pypm sync` would" \
                                                       " install it)"
    (root / "pylock.toml").unlink()
    document, _ = doctor_json(run_pypm, root, env=env)
    assert by_check(document)["venv"][0]["hint"] == "run `pypm lock`"


def hidden_path(tmp_path: Path, keep: tuple[str, ...]) -> str:
    """A PATH of one directory holding links to ``keep`` only (no C compiler)."""
    directory = tmp_path / "bin-without-cc"
    directory.mkdir()
    for tool in keep:
        found = shutil.which(tool)
        assert found, f"{tool} is needed on PATH for this test"
        (directory / tool).symlink_to(found)
    return str(directory)


def test_doctor_reports_a_missing_compiler_when_path_hides_it(synced, run_pypm: RunPypm, tmp_path: Path) -> None:
    """The issue's done-when: a missing compiler is a fail line and counts in the exit code."""
    root, env, _ = synced
    hidden = {**env, "PATH": hidden_path(tmp_path, ("git",)), "CC": ""}
    document, code = doctor_json(run_pypm, root, env=hidden)
    compiler = by_check(document)["compiler"]
    assert compiler == [{"check": "compiler", "status": "fail",
                         "message": "no C compiler: CC is unset and none of cc, gcc, clang is on PATH",
                         "hint": "install a C compiler: build-essential, the Xcode command line tools or the MSVC"
                                 " Build Tools"}]
    assert by_check(document)["git"][0]["status"] == "ok"  # what PATH still holds is found
    assert code == 1
    proc = run_pypm("doctor", cwd=root, env_extra=hidden, check=False)
    assert proc.returncode == 1, [line for line in proc.stdout.splitlines() if line.startswith("fail")]
    assert [line.split()[:2] for line in proc.stdout.splitlines() if line.startswith("fail")] == [["fail", "compiler"]]


def test_doctor_fails_when_cc_names_a_missing_compiler(synced, run_pypm: RunPypm) -> None:
    root, env, _ = synced
    document, code = doctor_json(run_pypm, root, env={**env, "CC": "no-such-cc -O2"})
    assert by_check(document)["compiler"][0]["message"] == "CC=no-such-cc -O2: no-such-cc is not found"
    assert code == 1


def test_doctor_honours_cc_and_reports_a_compiler_that_cannot_link(synced, run_pypm: RunPypm) -> None:
    """``CC`` with flags is used as given; flags that break the link are a fail line."""
    root, env, _ = synced
    document, code = doctor_json(run_pypm, root, env={**env, "CC": "gcc -Wl,--no-such-linker-option"})
    compiler = by_check(document)["compiler"][0]
    assert compiler["status"] == "fail" and compiler["message"].startswith(
        "gcc -Wl,--no-such-linker-option cannot compile and link a test program: ")
    assert code == 1
    document, code = doctor_json(run_pypm, root, env={**env, "CC": "gcc -O2"})
    assert by_check(document)["compiler"][0]["message"].startswith("gcc -O2 compiles, links and runs")
    assert code == 0


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_doctor_fails_for_an_unreachable_index_without_showing_credentials(synced, run_pypm: RunPypm) -> None:
    root, env, url = synced
    dead = f"http://user:s3cret@127.0.0.1:{closed_port()}/simple/"
    document, code = doctor_json(run_pypm, root, "--extra-index-url", dead, env=env)
    index = by_check(document)["index"]
    assert index[0]["status"] == "ok" and index[0]["message"].startswith(url)
    assert index[1]["status"] == "fail"
    assert index[1]["message"].startswith(f"{dead.replace('user:s3cret', '***')} cannot be reached: ConnectError")
    assert code == 1
    proc = run_pypm("doctor", "--extra-index-url", dead, cwd=root, env_extra=env, check=False)
    assert "s3cret" not in proc.stdout + proc.stderr and proc.returncode == 1


def test_doctor_reports_an_index_refusing_pypm_and_bad_find_links(synced, make_index, run_pypm: RunPypm,
                                                                   tmp_path: Path) -> None:
    from pypm.testing.index_server import Fault

    root, env, _ = synced
    locked = make_index(SPECS, faults=[Fault("/simple/", status=401, times=None)])
    missing = tmp_path / "no-such-wheels"
    document, code = doctor_json(run_pypm, root, "--index-url", locked.url, "--find-links", str(missing),
                                 "--find-links", str(tmp_path), env=env)
    index = by_check(document)["index"][0]
    assert index["status"] == "fail" and "refuses pypm (HTTP 401 in" in index["message"]
    assert [entry["status"] for entry in by_check(document)["find-links"]] == ["fail", "ok"]
    assert by_check(document)["find-links"][0]["message"] == f"{missing}: {missing} is not a directory"
    assert code == 2


def test_doctor_outside_a_project_and_with_a_broken_pyproject(tmp_path: Path, make_index,
                                                              run_pypm: RunPypm) -> None:
    index = make_index(SPECS)
    env = {"PYPM_INDEX_URL": index.url}
    empty = tmp_path / "nothing"
    empty.mkdir()
    document, code = doctor_json(run_pypm, empty, env=env)
    checks = by_check(document)
    assert checks["project"][0]["status"] == "info" and checks["project"][0]["message"].startswith(
        "no pypm project here")
    assert checks["venv"][0] == {"check": "venv", "status": "info", "message": "no pypm project here", "hint": ""}
    assert checks["hardlink"][0]["status"] == "info"
    assert "the Python pypm would use" in checks["python-headers"][0]["message"]
    assert code == 0
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("[project\nname = 'x'\n")
    document, code = doctor_json(run_pypm, broken, env=env)
    checks = by_check(document)
    assert checks["project"][0]["status"] == "fail" and "pyproject.toml" in checks["project"][0]["message"]
    assert checks["venv"][0]["message"] == "not checked: the project does not load"
    assert checks["index"][0]["status"] == "ok"  # the other checks still ran
    assert code == 1


def test_doctor_reports_a_cache_dir_that_is_a_file(synced, run_pypm: RunPypm, tmp_path: Path) -> None:
    root, env, _ = synced
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a cache\n")
    document, code = doctor_json(run_pypm, root, "--cache-dir", str(blocker), env=env)
    cache = by_check(document)["cache"][0]
    assert cache["status"] == "fail" and cache["message"] == (f"{blocker} (from --cache-dir) is a file where a"
                                                              " directory is expected")
    assert blocker.read_text() == "not a cache\n"
    assert code == 1


def test_doctor_warns_when_pypm_remembered_that_hardlinks_failed(synced, run_pypm: RunPypm) -> None:
    """A copy marker left from another time (pypm.store.link) keeps sync copying: said so."""
    root, env, _ = synced
    cache = Path(env_cache(run_pypm))
    venv = root / ".venv"
    marker = cache / "link-modes-v1" / f"{cache.stat().st_dev}-{venv.stat().st_dev}"
    marker.parent.mkdir(exist_ok=True)
    marker.write_text("copy\n")
    document, code = doctor_json(run_pypm, root, env=env)
    hardlink = by_check(document)["hardlink"][0]
    assert hardlink["status"] == "warn" and "recorded that they failed before" in hardlink["message"]
    assert hardlink["hint"] == f"delete {cache / 'link-modes-v1'} to let it hardlink again"
    assert code == 0


def other_filesystem() -> Path | None:
    """A writable directory on another filesystem than the temp dir, if the machine has one."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK) and shm.stat().st_dev != Path(tempfile.gettempdir()).stat().st_dev:
        return shm
    return None


@pytest.mark.skipif(other_filesystem() is None, reason="needs /dev/shm on another filesystem than the temp dir")
def test_doctor_warns_that_a_cache_on_another_filesystem_means_copies(synced, run_pypm: RunPypm) -> None:
    root, env, _ = synced
    cache = Path(tempfile.mkdtemp(prefix="pypm-doctor-test-", dir=other_filesystem()))
    try:
        document, code = doctor_json(run_pypm, root, "--cache-dir", str(cache), env=env)
        hardlink = by_check(document)["hardlink"][0]
        assert hardlink["status"] == "warn"
        assert hardlink["message"] == (f"pypm will copy instead of hardlinking from {cache} to {root.resolve()}/.venv"
                                       " (the cache and the project are on different filesystems)")
        assert hardlink["hint"] == "put the cache on the project's filesystem (PYPM_CACHE_DIR)"
        assert list(cache.iterdir()) == []  # the probe file is gone
        assert code == 0
    finally:
        shutil.rmtree(cache)


# --------------------------------------------------------------------------- TLS against a local https index


def test_doctor_verifies_tls_with_the_trust_pypm_uses(https_index, tmp_path: Path, run_pypm: RunPypm) -> None:
    """A self-signed certificate fails verification; trusted through SSL_CERT_FILE (as
    pypm's HTTP client trusts it) it verifies and the index answers."""
    url, cert = https_index
    where = url.split("/")[2]
    untrusted = {"SSL_CERT_FILE": "", "SSL_CERT_DIR": ""}
    document, code = doctor_json(run_pypm, tmp_path, "--index-url", url, env=untrusted)
    tls = by_check(document)["tls"]
    assert tls[0]["status"] == "fail" and tls[0]["message"].startswith(f"{where}: certificate verify failed: ")
    assert tls[0]["hint"].startswith("pypm trusts certifi's CA bundle;")
    assert by_check(document)["index"][0]["status"] == "fail"
    assert code == 2
    document, code = doctor_json(run_pypm, tmp_path, "--index-url", url, env={**untrusted, "SSL_CERT_FILE": str(cert)})
    tls = by_check(document)["tls"]
    assert tls[0]["status"] == "ok" and tls[0]["message"].startswith(f"{where}: certificate verified (TLSv1.")
    assert by_check(document)["openssl"][0]["message"].endswith(f"trusting SSL_CERT_FILE={cert}")
    assert by_check(document)["index"][0]["status"] == "ok"
    assert code == 0


def test_doctor_help_lists_only_what_it_honours(run_pypm: RunPypm, tmp_path: Path) -> None:
    proc = run_pypm("doctor", "--help", cwd=tmp_path)
    for option in ("--json", "--index-url", "--extra-index-url", "--find-links", "--cache-dir"):
        assert option in proc.stdout
    for option in ("--offline", "--python", "--link-mode", "--frozen"):
        assert option not in proc.stdout


def test_doctor_fails_a_plain_http_index_pypm_refuses_without_contacting_it(synced, run_pypm: RunPypm) -> None:
    root, env, _url = synced
    document, code = doctor_json(run_pypm, root, env={**env, "PYPM_INDEX_URL": "http://alice:pw@pypi.example.org/simple/"})
    found = by_check(document)
    assert found["tls"][0]["status"] == "fail" and "plain http, which pypm refuses" in found["tls"][0]["message"]
    assert found["index"][0]["message"].endswith("not contacted: plain http, which pypm refuses")
    assert code >= 1 and "pw@" not in json.dumps(document)


def test_the_hardlink_check_tells_a_cache_dir_that_is_a_file_from_a_missing_one(synced, run_pypm: RunPypm,
                                                                                 tmp_path: Path) -> None:
    root, env, _ = synced
    blocker = tmp_path / "cache-file"
    blocker.write_text("not a cache\n")
    for cache in (blocker, blocker / "below"):
        document, _ = doctor_json(run_pypm, root, "--cache-dir", str(cache), env=env)
        assert by_check(document)["cache"][0]["status"] == "fail"
        hardlink = by_check(document)["hardlink"][0]
        assert (hardlink["status"], hardlink["message"]) == (
            "info", f"not checked: {blocker} exists but is not a directory (see the cache check)")
    missing = tmp_path / "no-cache-yet"
    document, _ = doctor_json(run_pypm, root, "--cache-dir", str(missing), env=env)
    assert by_check(document)["hardlink"][0]["message"] == (
        f"{missing} does not exist yet; it would be on the project's filesystem")
    assert blocker.read_text() == "not a cache\n" and not missing.exists()
