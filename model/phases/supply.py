"""ODD 3.6 — supply: partnerships end, are reviewed and form; inputs flow; output follows.

The partner rules are in ``supply_partners``, the deliveries in
``supply_flows``; this module derives what both read from the sites
(capacity, location shares, costs) and what the metrics read afterwards
(shortfalls, stranded capacity).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import markets
from ..queries import site_unit_cost, yield_share
from ..sites import LIVE
from .base import phase
from .supply_flows import flows
from .supply_partners import form_partnerships, review_partnerships

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["PHASE", "supply_chain", "operating_capacity", "available_capacity", "location_shares", "main_region",
           "refresh_firm_costs", "form_partnerships"]


@phase("supply", "3.6", reads=("segments", "geo", "firms", "sites", "events", "policy", "risk", "clock"),
       writes=("chain", "supply", "markets"))
def supply_chain(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Partnerships end, are reviewed and form; inputs flow; output follows.

    Also writes the rerouting costs (``supply.reroute_cost``), which accounting
    adds to opex, and the markets' utilisation (delivered output over available capacity).
    """
    seg, ch = w.segments, w.chain
    ramp = yield_share(w)                # the sites do not change within the phase: computed once
    cap = operating_capacity(w, ramp)
    refresh_firm_costs(w, sc, cap, ramp)
    main = main_region(w)
    ch.location_share = location_shares(w)
    fab_idx = np.flatnonzero(seg.fab_mask)
    ch.main_fab_segment = fab_idx[cap[:, fab_idx].argmax(axis=1)]
    ch.upcoming = (w.events.upcoming_restriction(sc.resilience.lead_quarters)
                   if w.risk.visible.any() else np.zeros_like(w.events.restriction))
    changes = review_partnerships(w, sc, rng, cap, main)
    changes += form_partnerships(w, sc, rng, cap, main)
    w.supply.partnership_changes = changes
    # Outages take capacity out of this quarter's production.
    avail = available_capacity(w, ramp)
    u = markets.utilisation(w.markets.demand, cap.sum(axis=0))
    intended = np.where(seg.fab_mask, cap * u, 0.0)       # what firms meant to make
    plan = np.where(seg.fab_mask, avail * u, 0.0)          # what the running capacity allows
    out = flows(w, sc, rng, avail, plan, main)
    _record_outcome(w, out, intended, cap, avail)


def _record_outcome(w: World, out: np.ndarray, intended: np.ndarray, cap: np.ndarray, avail: np.ndarray) -> None:
    """Output, shortfalls (against intended output, so outages count), stranded capacity, utilisation."""
    fab, sup = w.segments.fab_mask, w.supply
    sup.output = out
    planned = intended[:, fab].sum(axis=0)
    made = out[:, fab].sum(axis=0)
    sup.shortfall_by_segment = np.zeros(len(w.segments.ids))
    sup.shortfall_by_segment[fab] = np.divide(planned - made, planned, out=np.zeros_like(planned),
                                              where=planned > 0)
    sup.shortfall = float((planned - made).sum() / planned.sum()) if planned.sum() > 0 else 0.0
    # Shortfall of the fab output planned by each country's firms (by home country).
    n_c = len(w.geo.countries)
    p_c = np.bincount(w.firms.home, weights=intended[:, fab].sum(axis=1), minlength=n_c)
    o_c = np.bincount(w.firms.home, weights=out[:, fab].sum(axis=1), minlength=n_c)
    sup.shortfall_by_country = np.divide(p_c - o_c, p_c, out=np.zeros(n_c), where=p_c > 0)
    _stranded(w, cap, avail)
    cap_seg = avail.sum(axis=0)
    w.markets.utilisation = np.divide(out.sum(axis=0), cap_seg, out=np.zeros(len(w.segments.ids)),
                                      where=cap_seg > 0)


def _stranded(w: World, cap: np.ndarray, avail: np.ndarray) -> None:
    """Capacity that cannot serve its markets: offline, or blockaded from export."""
    idle = cap - avail
    blocked = np.zeros_like(cap)
    if w.events.blockade.any():
        lost = np.einsum("fdc,c->fd", w.chain.location_share, w.events.blockade * (1.0 - w.policy.market))
        blocked = avail * np.clip(lost, 0.0, 1.0) * w.segments.fab_mask
    stranded = idle + blocked
    w.supply.stranded = float(stranded.sum())
    w.supply.stranded_capital = float((stranded * w.segments.capex_per_capacity).sum())


def operating_capacity(w: World, ramp: np.ndarray | None = None) -> np.ndarray:
    """Operating capacity (kwpm) able to produce, as a firm × segment matrix: each site's
    capacity × its yield share while it ramps up (:func:`model.queries.yield_share`, or ``ramp`` if given)."""
    return w.sites.sum_by(("firm", "segment"), (w.firms.n, len(w.segments.ids)),
                          weight=yield_share(w) if ramp is None else ramp)


def available_capacity(w: World, ramp: np.ndarray | None = None) -> np.ndarray:
    """Operating capacity able to run this quarter (ramp-up and outages removed), firm × segment."""
    return w.sites.sum_by(("firm", "segment"), (w.firms.n, len(w.segments.ids)),
                          weight=w.events.availability(w.sites.n) * (yield_share(w) if ramp is None else ramp))


def location_shares(w: World) -> np.ndarray:
    """Share of each firm-segment's operating capacity located in each country (firm × segment × country)."""
    s, geo = w.sites, w.geo
    country = geo.country[s.col("region")]
    out = s.sum_by(("firm", "segment", country), (w.firms.n, len(w.segments.ids), len(geo.countries)))
    tot = out.sum(axis=2, keepdims=True)
    return np.divide(out, tot, out=out, where=tot > 0)      # in place: rows with no capacity are zeros already


def main_region(w: World) -> np.ndarray:
    """Each firm's region with the most live capacity (its headquarters' proxy)."""
    return w.sites.sum_by(("firm", "region"), (w.firms.n, w.geo.n), status=LIVE).argmax(axis=1)


def refresh_firm_costs(w: World, sc: Scenario, cap: np.ndarray, ramp: np.ndarray | None = None) -> None:
    """Capacity-weighted unit cost of each firm in each segment (USD per unit), and its total capacity
    (``ramp``: :func:`model.queries.yield_share`, if already computed)."""
    seg, ch = w.segments, w.chain
    cost = w.sites.sum_by(("firm", "segment"), cap.shape,
                          weight=site_unit_cost(w, sc) * (yield_share(w) if ramp is None else ramp))
    ch.firm_unit_cost = np.where(cap > 0, np.divide(cost, cap, out=np.zeros_like(cost), where=cap > 0),
                                 seg.base_price * seg.cost_share)
    ch.firm_capacity_total = cap.sum(axis=1)


PHASE = supply_chain
