"""PEP 723 scripts: ``pypm run script.py``, ``pypm lock --script``, ``pypm add --script``,
against a real local index."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pypm.testing import DistSpec, build_wheel

SCRIPT = '''#!/usr/bin/env python3
# A script with its own dependencies.
# /// script
# requires-python = ">=3.10"
# dependencies = [
#     "alpha",  # the one it needs
# ]
# ///
import sys

import alpha

print("alpha", alpha.__version__, *sys.argv[1:])
'''


@pytest.fixture
def index(make_index):
    return make_index([DistSpec("alpha", "1.0"), DistSpec("beta", "2.0")])


def script_env(tmp_path: Path, index) -> dict[str, str]:
    return {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": str(tmp_path / "cache")}


def write_script(tmp_path: Path) -> Path:
    script = tmp_path / "work" / "tool.py"
    script.parent.mkdir()
    script.write_text(SCRIPT)
    return script


def test_a_script_runs_and_its_second_run_resolves_nothing(tmp_path, index, run_pypm) -> None:
    script = write_script(tmp_path)
    env = script_env(tmp_path, index)
    first = run_pypm("run", "tool.py", "x", cwd=script.parent, env_extra=env)
    assert first.stdout.strip() == "alpha 1.0 x"
    assert "for the environment of tool.py" in first.stderr and ".venv" not in first.stderr, first.stderr
    index.clear_requests()
    second = run_pypm("run", "tool.py", "y", cwd=script.parent, env_extra=env)
    assert second.stdout.strip() == "alpha 1.0 y"
    assert index.requests == [], "the second run reaches no index"
    other = script.with_name("other.py")
    other.write_text(SCRIPT.replace("alpha 1.0", "x"))
    run_pypm("run", "other.py", cwd=script.parent, env_extra=env)
    envs = list((tmp_path / "cache" / "script-envs").iterdir())
    assert len(envs) == 1, "scripts with the same requirements share one environment"


def test_a_script_lock_is_written_and_used(tmp_path, index, run_pypm) -> None:
    script = write_script(tmp_path)
    env = script_env(tmp_path, index)
    run_pypm("lock", "--script", "tool.py", cwd=script.parent, env_extra=env)
    lock = script.with_name("tool.py.lock")
    assert 'name = "alpha"' in lock.read_text() and 'version = "1.0"' in lock.read_text()
    build_wheel(DistSpec("alpha", "9.0"), index.files_dir)  # newer, but the script lock pins 1.0
    shutil.rmtree(tmp_path / "cache" / "script-envs")
    index.clear_requests()
    result = run_pypm("run", "tool.py", cwd=script.parent, env_extra={**env, "PYPM_INDEX_PAGE_TTL": "0"})
    assert result.stdout.strip() == "alpha 1.0"
    assert not any(r.path.startswith("/simple/") for r in index.requests), "installed from the script lock"


def test_add_script_edits_the_block_and_keeps_the_rest(tmp_path, index, run_pypm) -> None:
    script = write_script(tmp_path)
    env = script_env(tmp_path, index)
    run_pypm("add", "--script", "tool.py", "beta>=2", cwd=script.parent, env_extra=env)
    text = script.read_text()
    assert text == SCRIPT.replace('#     "alpha",  # the one it needs\n',
                                  '#     "alpha",  # the one it needs\n#     "beta>=2",\n')
    failed = run_pypm("add", "--script", "tool.py", "beta>=5", cwd=script.parent, env_extra=env, check=False)
    assert failed.returncode == 1 and script.read_text() == text
    bad = run_pypm("add", "--script", "tool.py", "not valid!", cwd=script.parent, env_extra=env, check=False)
    assert bad.returncode == 2 and script.read_text() == text
    run_pypm("remove", "--script", "tool.py", "beta", cwd=script.parent, env_extra=env)
    assert script.read_text() == SCRIPT


def test_a_script_without_metadata_runs_with_the_project_python(tmp_path, index, run_pypm) -> None:
    from tests.workspaces import write_project

    root = write_project(tmp_path / "proj", ["alpha"])
    (root / "plain.py").write_text("import alpha\nprint('plain', alpha.__version__)\n")
    result = run_pypm("run", "plain.py", cwd=root, env_extra=script_env(tmp_path, index))
    assert result.stdout.strip() == "plain 1.0"


def test_a_failed_script_edit_leaves_a_crlf_script_byte_identical(tmp_path, index, run_pypm) -> None:
    script = write_script(tmp_path)
    script.write_bytes(SCRIPT.replace("\n", "\r\n").encode())
    before = script.read_bytes()
    env = script_env(tmp_path, index)
    failed = run_pypm("add", "--script", "tool.py", "beta>=5", cwd=script.parent, env_extra=env, check=False)
    assert failed.returncode == 1 and script.read_bytes() == before
    run_pypm("add", "--script", "tool.py", "beta", cwd=script.parent, env_extra=env)
    assert b'#     "beta",\r\n' in script.read_bytes()


def test_a_script_lock_pypm_did_not_write_is_never_replaced(tmp_path, index, run_pypm) -> None:
    script = write_script(tmp_path)
    foreign = script.with_name("tool.py.lock")
    foreign.write_text("version = 1\n# a lock another tool wrote\n")
    env = script_env(tmp_path, index)
    assert run_pypm("run", "tool.py", cwd=script.parent, env_extra=env).stdout.strip() == "alpha 1.0"
    refused = run_pypm("lock", "--script", "tool.py", cwd=script.parent, env_extra=env, check=False)
    assert refused.returncode == 2 and "not a lock pypm wrote" in refused.stderr
    assert foreign.read_text() == "version = 1\n# a lock another tool wrote\n"


@pytest.mark.parametrize(("block", "says"), [
    ('# dependencies = ["rich >>> 3"]', "dependencies[0] in the script block: invalid requirement 'rich >>> 3'"),
    ('# requires-python = "bogus"', "requires-python in the script block: 'bogus' is not a version specifier"),
])
def test_a_bad_script_block_is_one_line_naming_the_script(tmp_path, index, run_pypm, block: str, says: str) -> None:
    """The script's own metadata is what is wrong (not a generated pyproject.toml): exit 1."""
    from tests.test_init_and_cli_errors import assert_one_error_line

    script = tmp_path / "bad.py"
    script.write_text(f"# /// script\n{block}\n# ///\nprint(1)\n")
    line = assert_one_error_line(run_pypm("run", "bad.py", cwd=tmp_path, env_extra=script_env(tmp_path, index),
                                          check=False), 1)
    assert line.startswith(f"error: {script}: {says}") or line.startswith(f"error: bad.py: {says}"), line


def test_a_link_planted_at_a_temp_name_does_not_redirect_the_script_lock(tmp_path, index, run_pypm) -> None:
    """``tool.py.lock`` is written through a fresh temp name: a cloned repository's
    ``tool.py.lock.tmp -> ~/.bashrc`` is not written through."""
    script = write_script(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    (script.parent / "tool.py.lock.tmp").symlink_to(victim)
    run_pypm("lock", "--script", "tool.py", cwd=script.parent, env_extra=script_env(tmp_path, index))
    assert victim.read_text() == "precious\n"
    lock = script.with_name("tool.py.lock")
    assert not lock.is_symlink() and 'name = "alpha"' in lock.read_text()


def test_a_linked_script_is_edited_through_its_link_and_kept_on_failure(tmp_path, index, run_pypm) -> None:
    """As uv's edits: the file a linked script leads to is changed and the link kept; a
    failing edit leaves both as they were."""
    real = write_script(tmp_path)
    link = real.with_name("link.py")
    link.symlink_to("tool.py")
    env = script_env(tmp_path, index)
    failed = run_pypm("add", "--script", "link.py", "beta>=5", cwd=real.parent, env_extra=env, check=False)
    assert failed.returncode == 1 and link.is_symlink() and real.read_text() == SCRIPT
    run_pypm("add", "--script", "link.py", "beta", cwd=real.parent, env_extra=env)
    assert link.is_symlink() and '#     "beta",\n' in real.read_text()


def test_a_script_with_a_byte_order_mark_is_read_and_edited(tmp_path, index, run_pypm) -> None:
    """Python reads a source file that starts with a UTF-8 byte order mark; so does pypm,
    and an edit keeps the mark first (a block put before it would be a syntax error)."""
    script = write_script(tmp_path)
    script.write_bytes(b"\xef\xbb\xbf" + SCRIPT.split("\n", 2)[2].encode())  # the block on the first line
    env = script_env(tmp_path, index)
    assert run_pypm("run", "tool.py", cwd=script.parent, env_extra=env).stdout.strip() == "alpha 1.0"
    run_pypm("add", "--script", "tool.py", "beta", cwd=script.parent, env_extra=env)
    data = script.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf# /// script\n") and data.count(b"# /// script") == 1 and b'"beta",' in data
    assert run_pypm("run", "tool.py", cwd=script.parent, env_extra=env).stdout.strip() == "alpha 1.0"


def test_an_edit_changes_only_the_block_lines_of_a_script_with_mixed_line_ends(tmp_path, index, run_pypm) -> None:
    script = write_script(tmp_path)
    head, rest = SCRIPT.split("# ///\n", 1)
    mixed = head.replace("\n", "\r\n") + "# ///\r\n" + rest  # a CRLF header, LF code
    script.write_bytes(mixed.encode())
    run_pypm("add", "--script", "tool.py", "beta", cwd=script.parent, env_extra=script_env(tmp_path, index))
    expected = mixed.replace('#     "alpha",  # the one it needs\r\n',
                             '#     "alpha",  # the one it needs\r\n#     "beta",\r\n')
    assert script.read_bytes() == expected.encode()
