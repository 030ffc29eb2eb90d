"""Resolver scenario conformance: run the scenarios of ``shared/resolver-scenarios``.

``python -m pypm.scenarios PATH...`` turns each scenario TOML into a real local index,
resolves its root requirements with pypm's resolver and compares with ``[expected]``.
"""

from pypm.scenarios.model import Scenario, ScenarioError, load_scenario, parse_scenario
from pypm.scenarios.runner import Outcome, discover, run_many, run_scenario

__all__ = [
    "Outcome", "Scenario", "ScenarioError", "discover", "load_scenario", "parse_scenario", "run_many", "run_scenario",
]
