"""``pypm outdated`` against a local index: which requirements bound "Allowed", yanked
locked versions, and the pre-release setting."""

from __future__ import annotations

from pathlib import Path

from pypm.testing import DistSpec
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
