"""Details of what an install writes: REQUESTED only for what the user asked for, C headers
where pip and uv put them."""

from __future__ import annotations

import sys

from pypm.testing import DistSpec
from tests.test_installer import project
from tests.test_lock_sync import site_packages


def test_requested_only_for_direct_dependencies_and_headers_under_include_site(
    tmp_path, make_index, run_pypm
) -> None:
    index = make_index([
        DistSpec("direct", "1.0", requires=["transitive"]),
        DistSpec("transitive", "1.0", files={
            "transitive/__init__.py": "",
            "transitive-1.0.data/headers/transitive.h": "#define TRANSITIVE 1\n",
        }),
        DistSpec("tool", "1.0"),
    ])
    root = project(tmp_path / "p", ["direct"], dev=["tool"])
    run_pypm("sync", cwd=root, env_extra={"PYPM_INDEX_URL": index.url})
    site = site_packages(root / ".venv")[0]
    requested = {info.name.split("-")[0]: (info / "REQUESTED").exists() for info in site.glob("*.dist-info")}
    assert requested == {"direct": True, "tool": True, "p": True, "transitive": False}
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    header = root / ".venv" / "include" / "site" / version / "transitive" / "transitive.h"
    assert header.read_text() == "#define TRANSITIVE 1\n"
    record = next(site.glob("transitive-1.0.dist-info/RECORD")).read_text()
    assert f"include/site/{version}/transitive/transitive.h" in record


def test_install_info_is_read_from_the_store_pointer_and_from_older_installs(tmp_path, make_index, run_pypm) -> None:
    """How a dist-info was installed (link mode) is kept in ``pypm-store.json``; a
    dist-info an older pypm installed keeps it in ``pypm-install.json`` and is read from
    there, so a sync does not reinstall it while the link mode is the same."""
    import json

    from pypm.install.installed import INSTALL_INFO, installed_distributions

    index = make_index([DistSpec("alpha", "1.0")])
    root = project(tmp_path / "p", ["alpha"])
    env = {"PYPM_INDEX_URL": index.url}
    run_pypm("sync", cwd=root, env_extra=env)
    site = site_packages(root / ".venv")[0]
    dist_info = next(site.glob("alpha-1.0.dist-info"))
    pointer = json.loads((dist_info / "pypm-store.json").read_text())
    assert pointer["link-mode"] == "hardlink" and not (dist_info / INSTALL_INFO).exists()
    found = installed_distributions([site])["alpha"]
    assert found.install_info == {"link-mode": "hardlink"} and found.store == pointer["store"]

    # As an older pypm left it: the pointer names the store only, the mode is in its own file.
    (dist_info / "pypm-store.json").write_text(json.dumps({"store": pointer["store"]}))
    (dist_info / INSTALL_INFO).write_text(json.dumps({"link-mode": "copy"}))
    assert installed_distributions([site])["alpha"].install_info == {"link-mode": "copy"}
    run_pypm("sync", cwd=root, env_extra=env)  # recorded as copy, asked for hardlink: reinstalled
    assert installed_distributions([site])["alpha"].install_info == {"link-mode": "hardlink"}


def test_a_relative_cache_dir_in_symlink_mode_links_into_the_one_cache(tmp_path, make_index, run_pypm) -> None:
    """``cache-dir = ".pypm-cache"`` in ``[tool.pypm]`` is the project's directory, from
    any directory: symlink mode linked ``.pypm-cache/store-v1/...`` relative to each link
    (every link dangled, the packages imported empty), and a sync from a subdirectory made
    a second cache there."""
    import subprocess

    from tests.workspaces import write_project

    index = make_index([DistSpec("alpha", "2.0")])
    root = write_project(tmp_path / "p", ["alpha"], requires_python=">=3.10",
                         tool='link-mode = "symlink"\ncache-dir = ".pypm-cache"\n')
    env = {"PYPM_INDEX_URL": index.url, "PYPM_CACHE_DIR": ""}  # empty: unset, so the file's value counts
    run_pypm("sync", cwd=root, env_extra=env)
    python = root / ".venv" / "bin" / "python"
    code = "import alpha, importlib.metadata as m; print(m.version('alpha'), alpha.__file__ is not None)"
    out = subprocess.run([str(python), "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["2.0", "True"], out
    (root / "sub").mkdir()
    run_pypm("sync", "--reinstall", cwd=root / "sub", env_extra=env)
    assert not (root / "sub" / ".pypm-cache").exists()
    assert (root / ".pypm-cache" / "store-v1").is_dir()
