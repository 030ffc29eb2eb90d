"""Turn resolvelib's ResolutionImpossible into one plain-language line (and a hint)."""

from __future__ import annotations

from typing import Any

from packaging.version import Version

from pypm.resolver.candidates import Req


def explain_impossible(exc: Any, provider: Any) -> tuple[str, str | None]:
    """Say which requirements conflict, from which packages and members, and what to do."""
    reqs: list[Req] = [c.requirement for c in exc.causes]
    names = sorted({r.name for r in reqs})
    wants = "; ".join(sorted({r.describe() for r in reqs}))
    if len(names) != 1:
        return f"conflicting requirements on {', '.join(repr(n) for n in names)}: {wants}", None
    name = names[0]
    if name in provider.members:
        return _member_conflict(name, reqs, provider.members[name].version, wants)
    available = provider.available_versions(name)
    if provider.client.offline:
        return (f"offline, and no version of {name!r} in the cache satisfies all requirements: {wants}",
                "offline, only versions whose metadata is in the cache count; run `pypm lock` once online")
    if not available:
        return f"no usable version of {name!r} found on the index ({wants})", None
    shown = ", ".join(str(v) for v in available[-8:])
    message = f"no version of {name!r} satisfies all requirements: {wants} (available: {shown})"
    return message, _prerelease_hint(name, reqs, available)


def _member_conflict(name: str, reqs: list[Req], version: Version | None, wants: str) -> tuple[str, str | None]:
    """A requirement on a workspace member that its one version does not meet."""
    unmet = sorted({r.describe() for r in reqs if version is not None
                    and not r.specifier.contains(version, prereleases=True)})
    if not unmet:
        return f"the workspace member {name} cannot be used: {wants}", None
    return (f"{'; '.join(unmet)}, but the workspace member {name} is {version}",
            f"change the requirement or the version in {name}'s pyproject.toml")


def _prerelease_hint(name: str, reqs: list[Req], available: list[Version]) -> str | None:
    """When a pre-release satisfies the requirements but the pre-release policy left it out,
    or would fit but for PEP 440's ordering (``2.0b1`` sorts before ``2.0``, so ``>=2``
    excludes it), say how to ask for it."""
    fitting = [v for v in available if v.is_prerelease and all(r.specifier.contains(v, prereleases=True) for r in reqs)]
    if fitting:
        newest = max(fitting)
        return (f"only the pre-release {newest} would satisfy them, and pre-releases need an opt-in: name one in the "
                f"requirement (e.g. {name}>={newest}) or lock with --prerelease if-necessary")
    for version in reversed(available):
        if not version.is_prerelease:
            continue
        final = Version(version.base_version)
        if all(r.specifier.contains(final, prereleases=True) for r in reqs):
            return (f"{version} is a pre-release of {final} and sorts before it (PEP 440); "
                    f"to accept it, lower the bound, e.g. {name}>={version}")
    return None
