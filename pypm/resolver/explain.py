"""Turn resolvelib's ResolutionImpossible into one plain-language line."""

from __future__ import annotations

from typing import Any

from pypm.resolver.candidates import Req


def explain_impossible(exc: Any, provider: Any) -> str:
    """Say which requirements conflict, from which packages and members."""
    causes = list(exc.causes)
    reqs: list[Req] = [c.requirement for c in causes]
    names = sorted({r.name for r in reqs})
    if len(names) == 1:
        name = names[0]
        available = provider.available_versions(name) if name not in provider.members else []
        wants = "; ".join(sorted({r.describe() for r in reqs}))
        if name not in provider.members and not available:
            return f"no usable version of {name!r} found on the index ({wants})"
        shown = ", ".join(str(v) for v in available[-8:])
        return f"no version of {name!r} satisfies all requirements: {wants} (available: {shown})"
    wants = "; ".join(sorted({r.describe() for r in reqs}))
    return f"conflicting requirements on {', '.join(repr(n) for n in names)}: {wants}"
