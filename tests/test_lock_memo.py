"""Remembered resolutions (pypm.lock.memo) and the doit-free chain (pypm.graph.direct):
a lock re-made from the same inputs and the same index pages is written from its record;
a page that changed, a refresh or an upgrade resolves again. Real index on 127.0.0.1,
real ``pypm`` processes."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import tomli_w

from pypm.testing import DistSpec, build_wheel
from tests.test_lock_behaviour import lock, packages, project_with

RECALLED = "written from its record"


def relock(run_pypm, root: Path, index, *args: str, env: dict | None = None):
    """Delete pylock.toml and lock again with -v; the result."""
    (root / "pylock.toml").unlink()
    index.clear_requests()
    return run_pypm("-v", "lock", *args, cwd=root, env_extra={"PYPM_INDEX_URL": index.url, **(env or {})})


def page_statuses(index) -> dict[str, list[int]]:
    seen: dict[str, list[int]] = {}
    for record in index.requests:
        seen.setdefault(record.path, []).append(record.status)
    return seen


def alpha_needing_beta(tmp_path: Path, make_index):
    """An index with alpha 1.0 (which needs beta) and beta 1.0; a project that needs alpha."""
    index = make_index([DistSpec("alpha", "1.0", requires=["beta"]), DistSpec("beta", "1.0")])
    return index, project_with(tmp_path / "p", ["alpha"])


def test_the_same_inputs_and_fresh_pages_write_the_remembered_lock(tmp_path, make_index, run_pypm) -> None:
    index, root = alpha_needing_beta(tmp_path, make_index)
    said = lock(run_pypm, root, index).stderr
    assert "Locked 3 packages in pylock.toml" in said  # the project, alpha, beta
    first = (root / "pylock.toml").read_bytes()
    result = relock(run_pypm, root, index)
    assert RECALLED in result.stderr
    assert "Locked 3 packages in pylock.toml" in result.stderr
    assert index.requests == []
    assert (root / "pylock.toml").read_bytes() == first


def test_stale_pages_are_revalidated_and_a_304_confirms_the_record(tmp_path, make_index, run_pypm) -> None:
    index, root = alpha_needing_beta(tmp_path, make_index)
    env = {"PYPM_INDEX_PAGE_TTL": "0"}
    lock(run_pypm, root, index, env=env)
    first = (root / "pylock.toml").read_bytes()
    result = relock(run_pypm, root, index, env=env)
    assert RECALLED in result.stderr
    assert page_statuses(index) == {"/simple/alpha/": [304], "/simple/beta/": [304]}
    assert (root / "pylock.toml").read_bytes() == first


def test_a_page_that_changed_resolves_again(tmp_path, make_index, run_pypm) -> None:
    index, root = alpha_needing_beta(tmp_path, make_index)
    env = {"PYPM_INDEX_PAGE_TTL": "0"}
    lock(run_pypm, root, index, env=env)
    build_wheel(DistSpec("beta", "2.0"), index.files_dir)  # beta's page now lists 2.0
    result = relock(run_pypm, root, index, env=env)
    assert RECALLED not in result.stderr
    assert packages(root)["beta"]["version"] == "2.0"
    result = relock(run_pypm, root, index, env=env)  # the new resolution is remembered in turn
    assert RECALLED in result.stderr
    assert packages(root)["beta"]["version"] == "2.0"


def test_refresh_and_upgrade_never_use_a_record(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index)
    build_wheel(DistSpec("alpha", "2.0"), index.files_dir)
    result = relock(run_pypm, root, index, "--refresh")
    assert RECALLED not in result.stderr
    assert packages(root)["alpha"]["version"] == "2.0"
    build_wheel(DistSpec("alpha", "3.0"), index.files_dir)
    result = run_pypm("-v", "lock", "--upgrade", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    assert RECALLED not in result.stderr
    assert packages(root)["alpha"]["version"] == "3.0"


def test_a_changed_record_of_a_page_is_not_trusted(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """The record's page digests are compared with the stored pages: a record whose page
    digest no longer matches (here: edited) is not used."""
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    lock(run_pypm, root, index)
    records = list((Path(pypm_env["PYPM_CACHE_DIR"]) / "resolutions-v1").glob("*.json"))
    assert len(records) == 1
    data = json.loads(records[0].read_text())
    assert list(data["pages"]) == [f"{index.url}alpha/"]
    data["pages"][f"{index.url}alpha/"] = "0" * 64
    data["lock"] = data["lock"].replace('version = "1.0"', 'version = "9.9"')
    records[0].write_text(json.dumps(data))
    result = relock(run_pypm, root, index)
    assert RECALLED not in result.stderr
    assert packages(root)["alpha"]["version"] == "1.0"


def test_find_links_workspaces_are_not_remembered(tmp_path, make_index, run_pypm, pypm_env) -> None:
    links = tmp_path / "links"
    links.mkdir()
    build_wheel(DistSpec("alpha", "1.0"), links)
    index = make_index([DistSpec("beta", "1.0")])
    root = project_with(tmp_path / "p", ["alpha", "beta"], extra_tool=f'find-links = ["{links.as_posix()}"]\n')
    lock(run_pypm, root, index)
    assert not list((Path(pypm_env["PYPM_CACHE_DIR"]) / "resolutions-v1").glob("*.json"))
    result = relock(run_pypm, root, index)
    assert RECALLED not in result.stderr


def test_lock_and_sync_run_without_doit_and_doit_catches_up(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    run_pypm("lock", "sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    state = root / ".pypm"
    assert not (state / "doit.sqlite3").exists()
    assert (state / "direct-runs").read_text().split() == ["lock", "sync"]
    status = run_pypm("status", cwd=root, env_extra={"PYPM_INDEX_URL": index.url}).stdout
    assert "lock: up to date (by hash: fresh; doit: up-to-date" in status
    assert "sync: up to date (by hash: fresh; doit: up-to-date" in status
    assert not (state / "direct-runs").exists()


def test_the_lock_is_read_from_its_parsed_copy_while_its_bytes_are_the_same(tmp_path) -> None:
    from pypm.lock.reader import load_lock_data

    lock_path = tmp_path / "pylock.toml"
    lock_path.write_text('lock-version = "1.0"\ncreated-by = "pypm"\n[[packages]]\nname = "alpha"\nversion = "1.0"\n')
    assert load_lock_data(lock_path)["packages"][0]["name"] == "alpha"
    copy = tmp_path / ".pypm" / "pylock.toml.parsed.json"
    assert not copy.exists(), "no .pypm/: nothing is written"
    (tmp_path / ".pypm").mkdir()
    assert load_lock_data(lock_path)["packages"][0]["name"] == "alpha"
    stored = json.loads(copy.read_text())
    stored["data"]["packages"][0]["name"] = "from-the-copy"
    copy.write_text(json.dumps(stored))
    assert load_lock_data(lock_path)["packages"][0]["name"] == "from-the-copy"
    lock_path.write_text(lock_path.read_text().replace('"alpha"', '"beta"'))
    assert load_lock_data(lock_path)["packages"][0]["name"] == "beta"
    assert json.loads(copy.read_text())["data"]["packages"][0]["name"] == "beta"


def test_a_lock_with_toml_datetimes_is_read_from_its_parsed_copy_with_the_same_values(tmp_path) -> None:
    """PEP 751's ``upload-time`` (uv's exports write it) is a TOML datetime, which JSON
    cannot hold: the parsed copy keeps it tagged and gives back the very same values, so
    such a lock too is parsed from TOML once, and still validates."""
    import datetime

    import tomllib

    from pypm.lock.reader import load_lock_data, read_lock

    text = (
        'lock-version = "1.0"\ncreated-by = "uv"\nrequires-python = ">=3.10"\n'
        "[[packages]]\nname = \"alpha\"\nversion = \"1.0\"\n"
        '[[packages.wheels]]\nname = "alpha-1.0-py3-none-any.whl"\n'
        'url = "https://files.example/alpha-1.0-py3-none-any.whl"\nsize = 10\n'
        "upload-time = 2024-03-01T12:30:45.123456Z\n"
        f'hashes = {{sha256 = "{"0" * 64}"}}\n'
        "[tool.x]\nday = 2024-03-01\nat = 07:32:00\nlocal = 1979-05-27T07:32:00\n"
    )
    first, second, cache = tmp_path / "one" / "pylock.toml", tmp_path / "two" / "pylock.toml", tmp_path / "cache"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(text)
    expected = tomllib.loads(text)
    assert load_lock_data(first, cache) == expected
    [copy] = (cache / "lock-parses-v1").glob("*.json")
    stored = json.loads(copy.read_text())
    stored["data"]["created-by"] = "the-copy"  # proves the next read comes from the copy
    copy.write_text(json.dumps(stored))
    again = load_lock_data(second, cache)
    assert again["created-by"] == "the-copy"
    assert again["packages"][0]["wheels"][0]["upload-time"] == expected["packages"][0]["wheels"][0]["upload-time"]
    assert again["tool"] == expected["tool"]
    assert isinstance(again["tool"]["x"]["day"], datetime.date) and isinstance(again["tool"]["x"]["at"], datetime.time)
    lock = read_lock(second, cache)  # packaging's validation takes the revived datetime
    assert lock.packages[0].wheels[0].upload_time == datetime.datetime(2024, 3, 1, 12, 30, 45, 123456,
                                                                      tzinfo=datetime.timezone.utc)


def test_an_index_url_with_credentials_is_remembered_without_them(tmp_path, make_index, run_pypm, pypm_env) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    secret = index.url.replace("http://", "http://alice:s3cret@")
    root = project_with(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": secret}
    run_pypm("lock", cwd=root, env_extra=env)
    [record] = (Path(pypm_env["PYPM_CACHE_DIR"]) / "resolutions-v1").glob("*.json")
    assert list(json.loads(record.read_text())["pages"]) == [f"{index.url}alpha/"]
    (root / "pylock.toml").unlink()
    index.clear_requests()
    result = run_pypm("-v", "lock", cwd=root, env_extra=env)
    assert RECALLED in result.stderr and index.requests == []


def test_stale_pages_of_an_index_with_credentials_are_revalidated(tmp_path, make_index, run_pypm) -> None:
    index = make_index([DistSpec("alpha", "1.0")])
    root = project_with(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url.replace("http://", "http://alice:s3cret@"), "PYPM_INDEX_PAGE_TTL": "0"}
    run_pypm("lock", cwd=root, env_extra=env)
    (root / "pylock.toml").unlink()
    index.clear_requests()
    result = run_pypm("-v", "lock", cwd=root, env_extra=env)
    assert RECALLED in result.stderr
    assert page_statuses(index) == {"/simple/alpha/": [304]}


def test_only_the_most_recently_used_records_are_kept(tmp_path, monkeypatch) -> None:
    import os

    from pypm.lock import memo

    monkeypatch.setattr(memo, "KEPT_RECORDS", 3)
    lock_path = tmp_path / "pylock.toml"
    lock_path.write_text("lock-version = '1.0'\n")
    keys = [f"{n:064x}" for n in range(5)]
    for age, key in enumerate(keys):
        memo.remember(tmp_path, key, lock_path, 1, None, {})
        os.utime(tmp_path / "resolutions-v1" / f"{key}.json", (1000 + age, 1000 + age))
    stranger = tmp_path / "resolutions-v1" / "notes.txt"
    stranger.write_text("not pypm's")
    assert memo.recall(tmp_path, keys[2]) is not None  # used now: kept
    memo.remember(tmp_path, f"{9:064x}", lock_path, 1, None, {})
    kept = sorted(p.name for p in (tmp_path / "resolutions-v1").glob("*.json"))
    assert kept == sorted(f"{key}.json" for key in (keys[2], keys[4], f"{9:064x}"))
    assert stranger.exists()


def test_a_lock_read_with_a_cache_dir_is_parsed_once_for_every_checkout(tmp_path) -> None:
    from pypm.lock.reader import load_lock_data

    text = 'lock-version = "1.0"\ncreated-by = "pypm"\n[[packages]]\nname = "alpha"\nversion = "1.0"\n'
    first, second, cache = tmp_path / "one" / "pylock.toml", tmp_path / "two" / "pylock.toml", tmp_path / "cache"
    for path in (first, second):
        path.parent.mkdir()
        path.write_text(text)
    assert load_lock_data(first, cache)["packages"][0]["name"] == "alpha"
    [copy] = (cache / "lock-parses-v1").glob("*.json")
    stored = json.loads(copy.read_text())
    stored["data"]["packages"][0]["name"] = "from-the-copy"
    copy.write_text(json.dumps(stored))
    assert load_lock_data(second, cache)["packages"][0]["name"] == "from-the-copy", "the other checkout used it"
    second.write_text(text.replace('"alpha"', '"beta"'))
    assert load_lock_data(second, cache)["packages"][0]["name"] == "beta"
    assert len(list((cache / "lock-parses-v1").glob("*.json"))) == 2
    assert not (tmp_path / "one" / ".pypm").exists()


def test_a_changed_deciding_library_resolves_again(tmp_path, make_index, run_pypm, pypm_env) -> None:
    """The libraries whose code decides a lock are part of the key like pypm's own code:
    with another copy of one (an upgrade, here tomli_w, which writes the lock's text) found
    first, the remembered lock is not written again."""
    index, root = alpha_needing_beta(tmp_path, make_index)
    lock(run_pypm, root, index)
    assert RECALLED in relock(run_pypm, root, index).stderr
    shadow = tmp_path / "shadow"
    shutil.copytree(Path(tomli_w.__file__).parent, shadow / "tomli_w")
    upgraded = {"PYTHONPATH": os.pathsep.join([str(shadow), pypm_env["PYTHONPATH"]])}
    said = relock(run_pypm, root, index, env=upgraded).stderr
    assert RECALLED not in said and "Locked 3 packages" in said
    assert RECALLED in relock(run_pypm, root, index, env=upgraded).stderr  # remembered under the new key
