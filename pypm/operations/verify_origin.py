"""``pypm verify``'s origin check: each installed distribution against what the lock
selects for the environment (see :mod:`pypm.operations.verify`)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pypm.operations.verify_model import SHORT_HASH, Difference

if TYPE_CHECKING:
    from pypm.install.installed import InstalledDist
    from pypm.operations.sync import Planned
    from pypm.workspace.model import Workspace


def origin_differences(
    present: dict[str, InstalledDist], planned: dict[str, Planned], workspace: Workspace, inexact: bool
) -> tuple[list[Difference], dict[str, dict[str, Any]]]:
    """The origin differences (a locked package missing, an unlocked one present unless
    ``inexact``, one installed from something else than the lock says), and for each
    installed distribution what it was installed from, by name."""
    differences: list[Difference] = []
    origins: dict[str, dict[str, Any]] = {}
    for name in sorted(present.keys() | planned.keys()):
        dist, plan = present.get(name), planned.get(name)
        if dist is None:
            version = planned[name].version
            differences.append(Difference("origin", None, name, version, "not-installed",
                                          "locked but not installed", expected={"version": version}))
            continue
        origins[name] = installed_origin(dist)
        if plan is None:
            if not inexact:
                differences.append(Difference("origin", None, name, dist.version, "not-locked",
                                              "installed but not locked for this environment", found=origins[name]))
            continue
        differences += _compare(dist, plan, workspace, origins[name])
    return differences, origins


def installed_origin(dist: InstalledDist) -> dict[str, Any]:
    """What a distribution was installed from: the wheel's sha256 (pypm's store key) and,
    when its dist-info has a PEP 610 ``direct_url.json``, that URL and whether editable."""
    origin: dict[str, Any] = {"wheel-sha256": dist.store}
    url = _direct_url(dist)
    if url is not None:
        origin.update(url=url, editable=dist.editable)
    return origin


def _direct_url(dist: InstalledDist) -> str | None:
    try:
        data = json.loads((dist.dist_info / "direct_url.json").read_text("utf-8"))
    except (OSError, ValueError):
        return None
    url = data.get("url") if isinstance(data, dict) else None
    return url if isinstance(url, str) else None


def _compare(dist: InstalledDist, plan: Planned, workspace: Workspace, origin: dict[str, Any]) -> list[Difference]:
    """One installed distribution against its locked source."""
    from packaging.pylock import PackageDirectory, PackageWheel

    if isinstance(plan.source, PackageDirectory):
        return _compare_member(dist, plan, workspace, origin)

    def differs(reason: str, message: str, expected: dict[str, Any]) -> list[Difference]:
        return [Difference("origin", None, dist.name, dist.version, reason, message, expected, origin)]

    if dist.version != plan.version:
        return differs("version", f"installed, but pylock.toml locks {plan.version}", {"version": plan.version})
    if not isinstance(plan.source, PackageWheel):
        return []  # built here from the locked sdist: the lock has no hash of that wheel
    locked = plan.source.hashes["sha256"]
    if dist.store is None:
        return differs("unknown-wheel", "no record of the wheel it was installed from (not installed by pypm)",
                       {"wheel-sha256": locked})
    if dist.store != locked:
        return differs("wheel", f"installed from wheel sha256 {dist.store[:SHORT_HASH]}..., "
                                f"pylock.toml locks {locked[:SHORT_HASH]}...", {"wheel-sha256": locked})
    return []


def _compare_member(dist: InstalledDist, plan: Planned, workspace: Workspace,
                    origin: dict[str, Any]) -> list[Difference]:
    """A workspace member or path dependency: installed editable (or not) as locked, from
    its own directory. Its version is what its backend says, so it is not compared."""
    member = workspace.members[plan.name]
    url = member.path.as_uri()
    expected = {"url": url, "editable": plan.editable}
    kind = "editable" if plan.editable else "not editable"
    if origin.get("url") != url:
        where = origin.get("url") or "no recorded directory"
        return [Difference("origin", None, dist.name, dist.version, "directory",
                           f"locked {kind} from {url}, installed from {where}", expected, origin)]
    if dist.editable != plan.editable:
        return [Difference("origin", None, dist.name, dist.version, "editable",
                           f"locked {kind}, installed {'editable' if dist.editable else 'not editable'}",
                           expected, origin)]
    return []
