"""ODD 3.1 — events fire, and firms update the political risk they perceive."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import phase

if TYPE_CHECKING:
    import numpy as np

    from ..scenario import Scenario
    from ..world import World


@phase("events", "3.1", reads=("geo", "sites", "clock"), writes=("events", "policy", "risk"))
def fire_events(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Shocks start and end; firms update the risk they perceive.

    Perceived risk P[h, r] of firms from country h for region r follows the
    signal (the region's political risk plus the impulses of events that hit
    the region or the home country) by exponential smoothing; uncertainty U
    smooths the squared surprise.  Subsidy tightening changes a government's
    conditions (policy).
    """
    w.events.fire(w.clock.step, rng, w.sites, w.policy.governments)
    learn = sc.learning
    a = learn.smoothing
    risk = w.risk
    signal = w.geo.political_risk[None, :] + learn.impulse * w.events.impulse
    surprise = signal - risk.perceived
    risk.perceived += a * surprise
    risk.uncertainty = (1.0 - a) * risk.uncertainty + a * surprise**2


PHASE = fire_events
