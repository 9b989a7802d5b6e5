"""The phases of a quarter, one module each, in the order of docs/ODD.md §3.

Each phase is a function ``run(w, sc, rng)`` of the world, the scenario and
the model's random generator, declared with :func:`phase`: which sub-states
of the :class:`~model.world.World` it reads and which it writes.  The
declarations are checked (``tests/test_phases.py`` freezes every sub-state a
phase does not declare as written) and drawn as a table in
docs/ARCHITECTURE.md (``python -m model.phases``).
"""

from __future__ import annotations

from . import accounting, construction, events, invest, learning, markets, policy, supply
from .base import Phase, phase

__all__ = ["Phase", "phase", "SCHEDULE"]

#: The phases of one quarter, in order (ODD §3.1-3.8; data collection is the model's own).
SCHEDULE: tuple[Phase, ...] = (events.PHASE, policy.PHASE, markets.PHASE, invest.PHASE, construction.PHASE,
                               supply.PHASE, learning.PHASE, accounting.PHASE)
