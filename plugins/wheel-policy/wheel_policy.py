"""wheel-policy: a pypm plugin that reports installed wheels tagged wider than this machine.

At ``post-sync`` it reads the ``Tag:`` lines of every ``*.dist-info/WHEEL`` in ``.venv``'s
site-packages and prints, on stderr, one line per wheel whose platform tag claims more
than running it here can show (see :func:`wider_tag`), then a summary. It returns 0,
unless the workspace root's config file says::

    [tool.wheel-policy]
    fail = true

and such a wheel is there: then it returns 1, pypm stops with exit code 3 and ``.venv`` is
not marked as synced (the next ``pypm sync`` runs, and checks, again).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import TYPE_CHECKING

from packaging.tags import parse_tag, platform_tags

if TYPE_CHECKING:
    from pypm.plugins import HookContext, Registry

TABLE = "wheel-policy"
#: Platform tags that name a compatibility policy (a floor of system libraries or OS
#: version, and for macOS possibly several architectures) rather than one build machine.
POLICY_PREFIXES = ("manylinux", "musllinux", "macosx")


@dataclass(frozen=True)
class InstalledWheel:
    """One ``*.dist-info`` with a ``WHEEL`` file: its project, version and platform tags."""

    name: str
    version: str
    platforms: frozenset[str]


def plugin(registry: Registry) -> None:
    """Register the ``post-sync`` check on pypm's registry."""
    registry.hook("post-sync", check_wheels)


def check_wheels(context: HookContext) -> int:
    """Report the wider wheels of ``.venv`` on stderr; 1 when there are some and
    ``[tool.wheel-policy] fail = true``, else 0."""
    fail = read_fail_setting(context)
    machine = list(platform_tags())
    own = machine_policy_tag(machine)
    wheels = installed_wheels(context.venv_path)
    found = 0
    for wheel in wheels:
        tag = wider_tag(wheel.platforms, machine, own)
        if tag is not None:
            found += 1
            print(f"{TABLE}: {wheel.name} {wheel.version} is tagged {tag}, wider than this machine's {own} "
                  f"(check it with {_checker(tag)})", file=sys.stderr)
    print(summary(found, len(wheels), own, fail), file=sys.stderr)
    return 1 if fail and found else 0


def read_fail_setting(context: HookContext) -> bool:
    """``[tool.wheel-policy] fail`` of the config file (False when absent)."""
    where = f"[tool.{TABLE}] in {context.config_file.name}"
    table = context.tool_table(TABLE)
    if not isinstance(table, dict):
        raise ValueError(f"{where} must be a table, e.g. fail = true")
    fail = table.get("fail", False)
    if not isinstance(fail, bool):
        raise ValueError(f"{where}: fail must be true or false, not {fail!r}")
    return fail


def machine_policy_tag(machine: list[str]) -> str | None:
    """This machine's most specific policy tag: the first one ``platform_tags()`` yields
    (e.g. ``manylinux_2_35_x86_64`` with glibc 2.35; packaging lists ``linux_x86_64``,
    which is no policy, before it). None where there is none (Windows, other systems)."""
    return next((tag for tag in machine if _is_policy(tag)), None)


def wider_tag(platforms: frozenset[str], machine: list[str], own: str | None) -> str | None:
    """The platform tag that makes a wheel *wider* than this machine, or None.

    A policy tag (manylinux, musllinux, macosx) promises that the wheel runs on every system
    the policy covers: glibc (musl, macOS) versions back to the one in the tag and, for
    macOS multi-architecture tags (``universal2``, ``intel``, ``fat*``...), every
    architecture in it. This machine can only vouch for its own most specific policy tag
    (``own``, e.g. ``manylinux_2_35_x86_64``): a wheel that ran here has shown it works
    with this glibc and this architecture, nothing older and nothing else. So a wheel is
    wider when this machine accepts one of its policy tags but not ``own`` itself: its
    claim reaches older systems (or other architectures) than this one, and only a tool
    that reads the binaries (auditwheel show, delocate-listdeps) can check it. Its most
    specific such tag is reported. ``any`` and plain ``linux_*``/``win_*`` tags promise
    nothing beyond the machine that built them, so they are never wider; tags this
    machine does not accept at all are not this check's business.
    """
    if own is None:
        return None
    rank = {tag: index for index, tag in enumerate(machine)}
    accepted = sorted((tag for tag in platforms if tag in rank and _is_policy(tag)), key=rank.__getitem__)
    if not accepted or own in accepted:
        return None
    return accepted[0]


def _is_policy(tag: str) -> bool:
    return tag.startswith(POLICY_PREFIXES)


def _checker(tag: str) -> str:
    """The tool that checks what a wheel with ``tag`` links against."""
    return "delocate-listdeps" if tag.startswith("macosx") else "auditwheel show"


def summary(found: int, checked: int, own: str | None, fail: bool) -> str:
    """The closing line: how many wheels were checked and how many are wider."""
    if own is None:
        return (f"{TABLE}: {checked} installed wheel(s) checked; this machine has no manylinux, musllinux "
                "or macosx tag, so none is wider")
    if not found:
        return f"{TABLE}: {checked} installed wheel(s) checked, none tagged wider than this machine's {own}"
    verdict = "fail = true stops the run" if fail else "fail = true would stop the run"
    return (f"{TABLE}: {found} of {checked} installed wheel(s) tagged wider than this machine's {own} "
            f"([tool.{TABLE}] {verdict})")


def installed_wheels(venv: Path) -> list[InstalledWheel]:
    """Every ``*.dist-info`` with a ``WHEEL`` file in ``venv``'s site-packages, by name."""
    wheels = []
    for directory in site_packages(venv):
        for dist_info in sorted(directory.glob("*.dist-info")):
            wheel_file = dist_info / "WHEEL"
            if wheel_file.is_file():
                name, version = _name_and_version(dist_info)
                wheels.append(InstalledWheel(name, version, wheel_platforms(wheel_file)))
    return sorted(wheels, key=lambda wheel: wheel.name.lower())


def site_packages(venv: Path) -> list[Path]:
    """``venv``'s site-packages: ``lib/python3*/site-packages`` (POSIX), ``Lib/site-packages`` (Windows)."""
    return sorted({*venv.glob("lib/python3*/site-packages"), *venv.glob("Lib/site-packages")})


def wheel_platforms(wheel_file: Path) -> frozenset[str]:
    """The platform parts of a ``WHEEL`` file's ``Tag:`` lines (compressed tags expanded)."""
    headers = BytesHeaderParser().parsebytes(wheel_file.read_bytes())
    platforms = set()
    for value in headers.get_all("Tag", []):
        try:
            platforms.update(tag.platform for tag in parse_tag(value.strip()))
        except ValueError:
            continue  # not a tag: nothing to claim
    return frozenset(platforms)


def _name_and_version(dist_info: Path) -> tuple[str, str]:
    """Name and version from ``METADATA``, else from the directory's ``name-version`` name."""
    stem_name, _, stem_version = dist_info.name[: -len(".dist-info")].partition("-")
    try:
        headers = BytesHeaderParser().parsebytes((dist_info / "METADATA").read_bytes())
    except OSError:
        return stem_name, stem_version
    return str(headers.get("Name", stem_name)), str(headers.get("Version", stem_version))
