"""ODD 3.3 — markets: demand grows; utilisation and prices respond to the capacity that can serve it.

By default (``params.price_capacity = "available"``) prices clear against
available capacity: operating sites less what outages take out, and for the
fab segments less the exports a blockade stops (a blockaded country's chips
reach only its own market).  ``"operating"`` clears against every operating
site, as kyoso 0.1 did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import markets
from ..queries import yield_share
from ..sites import OPERATING
from .base import phase

if TYPE_CHECKING:
    from ..scenario import Params, Scenario
    from ..world import Markets, Segments, World


@phase("markets", "3.3", reads=("sites", "segments", "geo", "events", "policy", "supply", "clock"),
       writes=("markets",))
def update_markets(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Demand grows, utilisation and prices respond to the capacity that can serve the market."""
    response = markets.demand_response(w.markets.price, w.segments.base_price, w.policy.market, chip_tariff_paid(w),
                                       sc.params.demand_elasticity) * w.events.demand_factor
    market_update(w.markets, w.segments, sc.params, market_capacity(w, sc), w.clock.step, response)


def chip_tariff_paid(w: World) -> np.ndarray:
    """Average tariff each country's buyers pay on chips: its tariffs on exporters weighted by their
    shares of world operating fab capacity (local production and exempt_local producers pay none)."""
    fab_by_region = w.sites.capacity_by(OPERATING, w.geo.n, len(w.segments.ids))[:, w.segments.fab_mask].sum(axis=1)
    cap_c = np.bincount(w.geo.country, weights=fab_by_region, minlength=len(w.geo.countries))
    share = cap_c / cap_c.sum() if cap_c.sum() > 0 else cap_c
    paid = w.policy.tariff @ share
    return np.where(w.policy.tariff_exempt_local, 0.0, paid)


def market_capacity(w: World, sc: Scenario) -> np.ndarray:
    """Capacity per segment that prices clear against (kwpm): available or operating (``params.price_capacity``),
    each site counted at its yield share while it ramps up (:func:`model.queries.yield_share`).

    Available = Σ over operating sites of capacity × availability (outages), and
    for fab segments × (1 − b_c (1 − m_c)) with b_c the blockade of the site's
    country and m_c its share of world demand (its own market stays reachable),
    and × the share of planned output that last quarter's inputs allowed
    (``params.price_input_shortage``), so that missing materials, equipment or
    packaging raise chip prices.
    """
    n_seg = len(w.segments.ids)
    ramp = yield_share(w)
    if sc.params.price_capacity == "operating":
        return w.sites.sum_by(("segment",), (n_seg,), status=OPERATING, weight=ramp)
    s = w.sites
    weight = w.events.availability(s.n) * ramp
    blockade = w.events.blockade
    if blockade.any():
        country = w.geo.country[s.col("region")]
        reach = 1.0 - blockade[country] * (1.0 - w.policy.market[country])
        weight = weight * np.where(w.segments.fab_mask[s.col("segment")], reach, 1.0)
    cap = s.sum_by(("segment",), (n_seg,), weight=weight)
    return cap * w.supply.input_share if sc.params.price_input_shortage else cap


def market_update(mk: Markets, seg: Segments, p: Params, cap: np.ndarray, step: int,
                  response: np.ndarray | None = None) -> None:
    """Demand, utilisation, prices and expected growth given the capacity ``cap`` per segment that
    the market clears against (:func:`market_capacity`; operating capacity at step 0); ``response``
    scales final demand for last quarter's prices and tariffs (:func:`model.markets.demand_response`)."""
    final = markets.final_demand(mk.demand_initial, seg.growth_final, step)
    if response is not None:
        final = final * response
    fab_out = np.where(seg.is_final, np.minimum(final, cap), 0.0)
    mk.demand = markets.derived_demand(seg.coef, fab_out, final, seg.is_final)
    mk.capacity = np.asarray(cap, dtype=float).copy()
    mk.utilisation = markets.utilisation(mk.demand, cap)
    mk.price = markets.price(seg.base_price, mk.demand, cap, p.target_utilisation, p.price_elasticity,
                             p.price_floor, p.price_cap)
    # Derived segments expect the output-weighted growth of their customers.
    wgt = fab_out[:, None] * seg.coef
    tot = wgt.sum(axis=0)
    derived_growth = np.divide(seg.growth_final @ wgt, tot, out=np.zeros(len(tot)), where=tot > 0)
    mk.expected_growth = np.where(seg.is_final, seg.growth_final, derived_growth)


PHASE = update_markets
