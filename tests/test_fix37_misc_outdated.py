"""``pypm outdated`` against a local index: which requirements bound "Allowed", yanked
locked versions, and the pre-release setting."""

from __future__ import annotations

from pathlib import Path

from pypm.testing import DistSpec, build_wheel
from pypm.testing.plugin import MakeIndex, RunPypm
from tests.workspaces import write_project

FOO = [DistSpec("foo", version) for version in ("1.0", "1.5", "2.0", "2.1")]


def test_requirements_whose_marker_cannot_hold_do_not_bound_allowed(tmp_path: Path, make_index: MakeIndex,
                                                                    run_pypm: RunPypm) -> None:
    """A member's ``foo<2; python_version < '3.8'`` cannot hold under requires-python >=3.11,
    nor can ``foo<1.6; sys_platform == 'win32'`` within ``environments`` (Linux only): the
    lock took foo 2.0, which is also the newest allowed."""
    env = {"PYPM_INDEX_URL": make_index(FOO).url}
    for name, bound in (("python", "foo<2; python_version < '3.8'"), ("platform", "foo<1.6; sys_platform == 'win32'")):
        root = write_project(tmp_path / name, [bound, "foo>=1.5,<2.1; python_version >= '3.8'"],
                             tool="environments = [\"sys_platform == 'linux'\"]")
        run_pypm("lock", cwd=root, env_extra=env)
        out = run_pypm("outdated", cwd=root, env_extra=env).stdout
        assert out.splitlines() == ["Package  Locked  Allowed  Latest", "foo      2.0     2.0      2.1"], name


def test_a_yanked_locked_or_pinned_version_is_not_outdated(tmp_path: Path, make_index: MakeIndex,
                                                           run_pypm: RunPypm) -> None:
    """PEP 592: foo 2.2, yanked, may be locked when pinned with ``==`` (``pinned``), and a
    version yanked after locking stays locked (``ranged``): neither is shown as outdated
    with the older 2.1 as its newest release; a newer release is still shown."""
    index = make_index(FOO + [DistSpec("foo", "2.2")], yanked={"foo==2.2": "broken"})
    env = {"PYPM_INDEX_URL": index.url, "PYPM_INDEX_PAGE_TTL": "0"}
    pinned = write_project(tmp_path / "pinned", ["foo==2.2"])
    ranged = write_project(tmp_path / "ranged", ["foo>=2"])
    index.yanked.clear()
    run_pypm("lock", cwd=ranged, env_extra=env)
    index.yanked["foo==2.2"] = "broken"
    for root in (pinned, ranged):
        run_pypm("lock", cwd=root, env_extra=env)
        assert 'version = "2.2"' in (root / "pylock.toml").read_text()
        quiet = run_pypm("outdated", cwd=root, env_extra=env)
        assert quiet.stdout == "" and "newest" in quiet.stderr, root.name
        tree = run_pypm("tree", "--outdated", cwd=root, env_extra=env).stdout
        assert "foo 2.2" in tree and "latest" not in tree
    # a lock made before the pin moved to the yanked 2.2: that is what an upgrade takes
    write_project(pinned, ["foo==2.1"])
    run_pypm("lock", cwd=pinned, env_extra=env)
    write_project(pinned, ["foo==2.2"])
    stale = run_pypm("outdated", "--frozen", cwd=pinned, env_extra=env).stdout
    assert stale.splitlines() == ["Package  Locked  Allowed  Latest", "foo      2.1     2.2      2.2"]
    build_wheel(DistSpec("foo", "2.3"), index.files_dir)
    out = run_pypm("outdated", cwd=ranged, env_extra=env).stdout
    assert out.splitlines() == ["Package  Locked  Allowed  Latest", "foo      2.2     2.3      2.3"]


def test_pre_releases_count_as_the_resolver_takes_them(tmp_path: Path, make_index: MakeIndex,
                                                      run_pypm: RunPypm) -> None:
    """An explicit ``>=1.0rc1`` (the default mode) and ``prerelease = "allow"`` let an
    upgrade take 1.1rc1, so outdated shows it; a plain ``>=1`` in the default mode does not."""
    index = make_index([DistSpec("pre", "1.0")])
    env = {"PYPM_INDEX_URL": index.url, "PYPM_INDEX_PAGE_TTL": "0"}
    explicit = write_project(tmp_path / "explicit", ["pre>=1.0rc1"])
    allow = write_project(tmp_path / "allow", ["pre>=1"], tool='prerelease = "allow"')
    plain = write_project(tmp_path / "plain", ["pre>=1"])
    for root in (explicit, allow, plain):
        run_pypm("lock", cwd=root, env_extra=env)
    build_wheel(DistSpec("pre", "1.1rc1"), index.files_dir)
    for root in (explicit, allow):
        out = run_pypm("outdated", cwd=root, env_extra=env).stdout
        assert out.splitlines() == ["Package  Locked  Allowed  Latest", "pre      1.0     1.1rc1   1.1rc1"], root.name
        assert "(latest: 1.1rc1)" in run_pypm("tree", "--outdated", cwd=root, env_extra=env).stdout
        run_pypm("lock", "--upgrade", cwd=root, env_extra=env)
        assert 'version = "1.1rc1"' in (root / "pylock.toml").read_text()  # what the upgrade takes
    quiet = run_pypm("outdated", cwd=plain, env_extra=env)
    assert quiet.stdout == "" and "newest" in quiet.stderr
