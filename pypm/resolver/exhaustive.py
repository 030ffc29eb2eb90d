"""A second, exhaustive search for when resolvelib's backjumping says "impossible".

resolvelib 1.2.1 backjumps: on a dead end it may undo several pins at once and keeps the
incompatibilities learned under them. That can skip a solution (sarugaku/resolvelib#206):
for root -> b, where b 3.0 needs a missing c, b 2.0 needs a, and a needs b==3.0, it
never tries b 1.0 and says the graph is unsatisfiable (uv locks b 1.0).

:class:`ChronologicalResolution` is resolvelib's own search with plain chronological
backtracking instead: a dead end undoes only the last pin, and the only incompatibility
carried back is that candidate (with the ones already tried for the same name at that
level), so every candidate of every decision is tried in turn. It is slower in the worst
case, so the resolver runs it only after a conflict it cannot fork its way out of, with a
bounded number of rounds.
"""

from __future__ import annotations

from typing import Any

from pypm.resolver.pin_memo import PinMemoResolution


class ChronologicalResolution(PinMemoResolution):
    """resolvelib's resolution loop with chronological backtracking (complete search)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Optimistic backjumping saves and restores states around the same flawed jump.
        self._optimistic_backjumping_ratio = 0.0

    def _backjump(self, causes: list[Any]) -> bool:
        """Undo the last pin and exclude its candidate, going further back while the
        name so narrowed has no candidate left; False once nothing is left to undo.

        The stack on entry: ``[..., X, Y, Z]`` where Z failed to pin and Y is the state
        whose last pin is undone; X is Y before that pin (resolvelib pins in the top state
        in place, then pushes a copy of it)."""
        while len(self._states) >= 3:
            del self._states[-1]
            undone = self._states.pop()
            name, candidate = undone.mapping.popitem()
            self._push_new_state()
            known = self.state.criteria[name].incompatibilities  # X's; _patch_criteria adds them
            tried = [c for c in undone.criteria[name].incompatibilities if c not in known]
            if self._patch_criteria([(name, [*tried, candidate])]):
                return True
        return False
