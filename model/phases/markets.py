"""ODD 3.3 — markets: demand grows; utilisation and prices respond to operating capacity."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import markets
from ..sites import OPERATING
from .base import phase

if TYPE_CHECKING:
    from ..scenario import Params, Scenario
    from ..world import Markets, Segments, World


@phase("markets", "3.3", reads=("sites", "segments", "geo", "clock"), writes=("markets",))
def update_markets(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Demand grows, utilisation and prices respond to operating capacity."""
    op = w.sites.capacity_by(OPERATING, w.geo.n, len(w.segments.ids)).sum(axis=0)
    market_update(w.markets, w.segments, sc.params, op, w.clock.step)


def market_update(mk: Markets, seg: Segments, p: Params, op: np.ndarray, step: int) -> None:
    """Demand, utilisation, prices and expected growth given operating capacity ``op`` per segment."""
    final = markets.final_demand(mk.demand_initial, seg.growth_final, step)
    fab_out = np.where(seg.is_final, np.minimum(final, op), 0.0)
    mk.demand = markets.derived_demand(seg.coef, fab_out, final, seg.is_final)
    mk.utilisation = markets.utilisation(mk.demand, op)
    mk.price = markets.price(seg.base_price, mk.demand, op, p.target_utilisation, p.price_elasticity,
                             p.price_floor, p.price_cap)
    # Derived segments expect the output-weighted growth of their customers.
    wgt = fab_out[:, None] * seg.coef
    tot = wgt.sum(axis=0)
    derived_growth = np.divide(seg.growth_final @ wgt, tot, out=np.zeros(len(tot)), where=tot > 0)
    mk.expected_growth = np.where(seg.is_final, seg.growth_final, derived_growth)


PHASE = update_markets
