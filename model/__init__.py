"""kyoso: an agent-based model of where semiconductor firms build fabs.

Public API::

    from model import ChipModel, load_scenario, Scenario
    m = ChipModel("baseline", rng=1).run(16)
    tables = m.tables()      # metrics, sites, firms, investments, events
"""

from .model import ChipModel
from .scenario import (
    FAB_SEGMENTS,
    SEGMENTS,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    load_scenario,
)

__all__ = [
    "ChipModel",
    "Scenario",
    "ScenarioError",
    "load_scenario",
    "builtin_scenarios",
    "SEGMENTS",
    "FAB_SEGMENTS",
]
