"""The sample Python plugins in ``plugins/``, loaded the two ways a user loads them: by path
(``[tool.pypm] plugins = [{ path, object }]``) and as an installed entry point
(``pypm.plugins``). audit-gate refuses a lock naming a denied package and puts
``pylock.toml`` back; wheel-policy reports wheels tagged wider than this machine after a
sync, and with ``fail = true`` stops it (so the next sync runs again)."""

from __future__ import annotations

import importlib.util
import json
import os
import platform
import re
import shutil
import sys
from pathlib import Path
from types import ModuleType

import pytest
import tomllib
from packaging.tags import platform_tags

from pypm.testing import DistSpec
from tests.workspaces import write_project

PLUGINS = Path(__file__).resolve().parent.parent / "plugins"
AUDIT_GATE = PLUGINS / "audit-gate"
WHEEL_POLICY = PLUGINS / "wheel-policy"
#: the platform-tagged test wheels exist for this machine only: the marker keeps the lock from warning
THIS_LINUX = f"sys_platform == 'linux' and platform_machine == '{platform.machine()}'"
MACHINE = list(platform_tags())
#: this machine's most specific manylinux tag and its oldest (e.g. manylinux1_x86_64)
NEWEST_MANYLINUX = next((tag for tag in MACHINE if tag.startswith("manylinux")), None)
OLDEST_MANYLINUX = next((tag for tag in reversed(MACHINE) if tag.startswith("manylinux")), None)


def load_module(path: Path) -> ModuleType:
    """Import a sample plugin's module from its file (as the loader's ``path`` form does)."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def with_plugin(root: Path, deps: list[str], plugin_dir: Path, obj: str, extra: str = "") -> Path:
    """A project at ``root`` naming the plugin by its directory (relative to the config
    file), with ``extra`` TOML appended."""
    relative = Path(os.path.relpath(plugin_dir, root)).as_posix()
    write_project(root, deps, tool=f"plugins = [{{ path = {json.dumps(relative)}, object = {json.dumps(obj)} }}]")
    with (root / "pyproject.toml").open("a") as stream:
        stream.write(extra)
    return root


def error_line(result, code: int = 3) -> str:
    """The one ``error:`` line, which ends stderr."""
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert [line for line in lines if line.startswith("error:")] == lines[-1:], result.stderr
    assert "Traceback" not in result.stderr
    return lines[-1]


def locked(root: Path) -> dict[str, str]:
    """name -> version of the lock's packages."""
    data = tomllib.loads((root / "pylock.toml").read_text())
    return {p["name"]: p.get("version", "") for p in data["packages"]}


# audit-gate ------------------------------------------------------------------------------

@pytest.fixture
def audit_index(make_index):
    """alpha, badpkg 1.0 and other 3.1."""
    return make_index([DistSpec("alpha", "1.0"), DistSpec("badpkg", "1.0"), DistSpec("other", "3.1")])


def gated(tmp_path: Path, deps: list[str], deny: list[str]) -> Path:
    """A project with audit-gate by path and ``[tool.audit-gate] deny``."""
    return with_plugin(tmp_path / "proj", deps, AUDIT_GATE, "audit_gate:plugin",
                       f"\n[tool.audit-gate]\ndeny = {json.dumps(deny)}\n")


def test_audit_gate_refuses_the_lock_names_the_package_and_leaves_no_lock(tmp_path, audit_index, run_pypm) -> None:
    root = gated(tmp_path, ["alpha", "badpkg", "other"], ["badpkg<2", "Other"])
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": audit_index.url}, check=False)
    assert error_line(result) == (
        "error: plugin audit_gate stopped the run at post-lock: denied by [tool.audit-gate] in pyproject.toml: "
        "badpkg 1.0 (badpkg<2), other 3.1 (Other); the new pylock.toml is removed "
        "(fix what it reports, or run with --no-plugins)")
    assert not (root / "pylock.toml").exists()


def test_audit_gate_puts_the_previous_lock_back(tmp_path, audit_index, run_pypm) -> None:
    env = {"PYPM_INDEX_URL": audit_index.url}
    root = gated(tmp_path, ["alpha"], ["badpkg"])
    run_pypm("lock", cwd=root, env_extra=env)  # passes the gate: nothing denied is locked
    before = (root / "pylock.toml").read_bytes()
    text = (root / "pyproject.toml").read_text()
    (root / "pyproject.toml").write_text(text.replace('dependencies = ["alpha"]', 'dependencies = ["alpha", "badpkg"]'))
    result = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert "denied by [tool.audit-gate] in pyproject.toml: badpkg 1.0 (badpkg); pylock.toml is as it was" \
        in error_line(result)
    assert (root / "pylock.toml").read_bytes() == before


def test_audit_gate_refuses_pypm_add_of_a_denied_package(tmp_path, audit_index, run_pypm) -> None:
    env = {"PYPM_INDEX_URL": audit_index.url}
    root = gated(tmp_path, ["alpha"], ["badpkg"])
    run_pypm("lock", cwd=root, env_extra=env)
    before = {name: (root / name).read_bytes() for name in ("pyproject.toml", "pylock.toml")}
    result = run_pypm("add", "badpkg", cwd=root, env_extra=env, check=False)
    assert "plugin audit_gate stopped the run at post-lock: denied by [tool.audit-gate] in pyproject.toml: " \
           "badpkg 1.0 (badpkg)" in error_line(result)
    assert {name: (root / name).read_bytes() for name in before} == before
    assert not (root / ".venv").exists()


@pytest.mark.parametrize(("how", "env"), [("--no-plugins", {}), ("env", {"PYPM_NO_PLUGINS": "1"})])
def test_audit_gate_is_not_loaded_without_plugins(tmp_path, audit_index, run_pypm, how, env) -> None:
    root = gated(tmp_path, ["badpkg"], ["badpkg"])
    args = ["--no-plugins", "lock"] if how == "--no-plugins" else ["lock"]
    run_pypm(*args, cwd=root, env_extra={"PYPM_INDEX_URL": audit_index.url, **env})
    assert locked(root)["badpkg"] == "1.0"


@pytest.mark.parametrize(("entry", "denied"), [
    ("badpkg", True), ("BadPkg>=1.0", True), ("badpkg<2", True), ("badpkg==1.*", True),
    ("badpkg<1.0", False), ("badpkg>1.0", False), ("badpkg!=1.0", False), ("alpha-other", False),
])
def test_audit_gate_denies_the_versions_an_entry_matches(tmp_path, audit_index, run_pypm, entry, denied) -> None:
    root = gated(tmp_path, ["badpkg"], [entry])
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": audit_index.url}, check=False)
    if denied:
        assert f"in pyproject.toml: badpkg 1.0 ({entry})" in error_line(result)
        assert not (root / "pylock.toml").exists()
    else:
        assert result.returncode == 0, result.stderr
        assert locked(root)["badpkg"] == "1.0"


@pytest.mark.parametrize(("deny", "says"), [
    (["badpkg<<2"], "deny entry 'badpkg<<2' is not a PEP 508 requirement ("),
    (["badpkg; sys_platform == 'win32'"], "may only be a name and a version specifier (no extras, markers or URLs)"),
    ("badpkg", "deny must be a list of requirement strings"),
])
def test_audit_gate_names_a_bad_deny_list(tmp_path, audit_index, run_pypm, deny, says) -> None:
    root = gated(tmp_path, ["alpha"], deny)
    result = run_pypm("lock", cwd=root, env_extra={"PYPM_INDEX_URL": audit_index.url}, check=False)
    line = error_line(result)
    assert line.startswith("error: plugin audit_gate stopped the run at post-lock: [tool.audit-gate] in pyproject.toml")
    assert says in line
    assert not (root / "pylock.toml").exists()


def test_audit_gate_as_an_installed_entry_point(tmp_path, audit_index, run_pypm, pypm_env) -> None:
    site = tmp_path / "site"
    dist_info = site / "pypm_audit_gate-0.1.0.dist-info"
    dist_info.mkdir(parents=True)
    shutil.copy(AUDIT_GATE / "audit_gate.py", site)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: pypm-audit-gate\nVersion: 0.1.0\n")
    entry_points = tomllib.loads((AUDIT_GATE / "pyproject.toml").read_text())["project"]["entry-points"]
    assert entry_points == {"pypm.plugins": {"audit-gate": "audit_gate:plugin"}}
    (dist_info / "entry_points.txt").write_text("[pypm.plugins]\naudit-gate = audit_gate:plugin\n")
    root = write_project(tmp_path / "proj", ["badpkg"])  # no [tool.pypm] plugins: the entry point is enough
    with (root / "pyproject.toml").open("a") as stream:
        stream.write('\n[tool.audit-gate]\ndeny = ["badpkg"]\n')
    env = {"PYPM_INDEX_URL": audit_index.url, "PYTHONPATH": os.pathsep.join([pypm_env["PYTHONPATH"], str(site)])}
    result = run_pypm("lock", cwd=root, env_extra=env, check=False)
    assert error_line(result).startswith(
        "error: plugin audit-gate stopped the run at post-lock: denied by [tool.audit-gate] in pyproject.toml: "
        "badpkg 1.0 (badpkg);")
    assert not (root / "pylock.toml").exists()
    run_pypm("--no-plugins", "lock", cwd=root, env_extra=env)
    assert locked(root)["badpkg"] == "1.0"


# wheel-policy ----------------------------------------------------------------------------

def test_this_machine_has_manylinux_tags() -> None:
    """The wheel-policy tests below need them; on Linux x86_64 with glibc there are."""
    if sys.platform == "linux":
        assert NEWEST_MANYLINUX is not None and OLDEST_MANYLINUX is not None
        assert MACHINE.index(NEWEST_MANYLINUX) < MACHINE.index(OLDEST_MANYLINUX)


@pytest.fixture
def policy_index(make_index):
    """alpha, widepkg (this machine's oldest manylinux tag) and narrowpkg (its newest)."""
    if NEWEST_MANYLINUX is None or OLDEST_MANYLINUX is None:
        pytest.skip("this machine has no manylinux tags (not glibc Linux)")
    return make_index([DistSpec("alpha", "1.0"), DistSpec("widepkg", "1.0", tag=f"py3-none-{OLDEST_MANYLINUX}"),
                       DistSpec("narrowpkg", "2.0", tag=f"py3-none-{NEWEST_MANYLINUX}")])


def policed(tmp_path: Path, deps: list[str], fail: bool | None = None) -> Path:
    """A project with wheel-policy by path (and ``[tool.wheel-policy] fail`` unless None)."""
    extra = "" if fail is None else f"\n[tool.wheel-policy]\nfail = {json.dumps(fail)}\n"
    return with_plugin(tmp_path / "proj", deps, WHEEL_POLICY, "wheel_policy:plugin", extra)


def policy_lines(result) -> list[str]:
    """What wheel-policy printed."""
    return [line for line in result.stderr.splitlines() if line.startswith("wheel-policy:")]


def test_wheel_policy_reports_the_wider_wheel_only(tmp_path, policy_index, run_pypm) -> None:
    root = policed(tmp_path, ["alpha", f"widepkg; {THIS_LINUX}", f"narrowpkg; {THIS_LINUX}"])
    result = run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": policy_index.url})
    lines = policy_lines(result)
    assert lines[0] == (f"wheel-policy: widepkg 1.0 is tagged {OLDEST_MANYLINUX}, wider than this machine's "
                        f"{NEWEST_MANYLINUX} (check it with auditwheel show)")
    assert len(lines) == 2 and not any("narrowpkg" in line for line in lines)
    assert re.fullmatch(rf"wheel-policy: 1 of \d+ installed wheel\(s\) tagged wider than this machine's "
                        rf"{NEWEST_MANYLINUX} \(\[tool.wheel-policy\] fail = true would stop the run\)", lines[1])
    assert (root / ".venv").is_dir()


def test_wheel_policy_fail_stops_sync_and_the_next_sync_runs_again(tmp_path, policy_index, run_pypm) -> None:
    env = {"PYPM_INDEX_URL": policy_index.url}
    root = policed(tmp_path, [f"widepkg; {THIS_LINUX}"], fail=True)
    for _ in range(2):  # .venv is not marked as synced: the second sync meets the hook again
        result = run_pypm("sync", cwd=root, env_extra=env, check=False)
        assert "All up to date" not in result.stderr
        assert policy_lines(result)[0].startswith(f"wheel-policy: widepkg 1.0 is tagged {OLDEST_MANYLINUX}")
        assert error_line(result) == (
            "error: plugin wheel_policy stopped the run at post-sync (its hook returned 1); .venv is not marked "
            "as synced, so the next run syncs again (fix what it reports, or run with --no-plugins)")
    run_pypm("--no-plugins", "sync", cwd=root, env_extra=env)
    assert "All up to date" in run_pypm("--no-plugins", "sync", cwd=root, env_extra=env).stderr


def test_wheel_policy_fail_passes_a_machine_tagged_wheel(tmp_path, policy_index, run_pypm) -> None:
    root = policed(tmp_path, ["alpha", f"narrowpkg; {THIS_LINUX}"], fail=True)
    result = run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": policy_index.url})
    assert [line for line in policy_lines(result) if "narrowpkg" in line] == []
    assert re.fullmatch(rf"wheel-policy: \d+ installed wheel\(s\) checked, none tagged wider than this machine's "
                        rf"{NEWEST_MANYLINUX}", policy_lines(result)[-1])


def test_wheel_policy_names_a_bad_setting(tmp_path, policy_index, run_pypm) -> None:
    root = with_plugin(tmp_path / "proj", ["alpha"], WHEEL_POLICY, "wheel_policy:plugin",
                       '\n[tool.wheel-policy]\nfail = "yes"\n')
    result = run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": policy_index.url}, check=False)
    assert "plugin wheel_policy stopped the run at post-sync: [tool.wheel-policy] in pyproject.toml: fail must be " \
           "true or false, not 'yes'" in error_line(result)


MAC_ARM = ["macosx_14_0_arm64", "macosx_14_0_universal2", "macosx_13_0_arm64", "macosx_13_0_universal2",
           "macosx_11_0_arm64", "macosx_11_0_universal2"]


@pytest.mark.parametrize(("platforms", "wider"), [
    ({"macosx_14_0_arm64"}, None),
    ({"macosx_11_0_arm64"}, "macosx_11_0_arm64"),
    ({"macosx_14_0_universal2"}, "macosx_14_0_universal2"),  # multi-arch: more than this machine can show
    ({"macosx_11_0_universal2", "macosx_13_0_arm64"}, "macosx_13_0_arm64"),  # the most specific is named
    ({"macosx_11_0_arm64", "macosx_14_0_arm64"}, None),  # it also claims exactly this machine
    ({"macosx_10_9_x86_64"}, None),  # not accepted here: another machine's business
    ({"any"}, None),
])
def test_wider_tag_on_a_macos_machine(platforms, wider) -> None:
    module = load_module(WHEEL_POLICY / "wheel_policy.py")
    own = module.machine_policy_tag(MAC_ARM)
    assert own == "macosx_14_0_arm64"
    assert module.wider_tag(frozenset(platforms), MAC_ARM, own) == wider


def test_wider_tag_needs_a_policy_tag_on_the_machine() -> None:
    module = load_module(WHEEL_POLICY / "wheel_policy.py")
    linux_only = ["linux_x86_64"]
    assert module.machine_policy_tag(linux_only) is None
    assert module.wider_tag(frozenset({"linux_x86_64"}), linux_only, None) is None
    assert module.machine_policy_tag(["linux_x86_64", "manylinux_2_35_x86_64", "manylinux1_x86_64"]) \
        == "manylinux_2_35_x86_64"
