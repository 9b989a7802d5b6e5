"""Derived quantities that several phases and the metrics read (pure reads of the world).

Unit costs of sites, the capacity-weighted unit cost index, skilled-labour
pools with talent circulation, and per-firm capacity summaries.  Capacity
itself is always :meth:`model.sites.SiteRegistry.sum_by`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import markets, network
from .sites import ANY, BUILDING, LIVE, OPERATING, leading_edge_allowed, ramp_share

if TYPE_CHECKING:
    from .scenario import Scenario
    from .world import World

__all__ = ["site_unit_cost", "input_bill", "yield_share", "site_technology", "firm_technology",
           "site_price_technology", "project_leading_edge",
           "unit_cost_index", "present_capacity", "skilled_pools", "labour_shortage",
           "firm_capacity_summary", "KWPM_QUARTER_TO_USD_BN"]

#: Thousand wafers/month × 3 months × USD per wafer → USD bn per quarter.
KWPM_QUARTER_TO_USD_BN = 1000 * 3 / 1e9


def input_bill(w: World, prices: np.ndarray | None = None) -> np.ndarray:
    """Purchased inputs per unit of each segment's output at ``prices`` (default: this quarter's),
    Σ_u a[d, u] p_u in USD per unit (0 for segments without inputs)."""
    return w.segments.coef @ (w.markets.price if prices is None else prices)


def site_unit_cost(w: World, sc: Scenario) -> np.ndarray:
    """Operating cost per good unit of each site's output (USD per 200mm-eq wafer), inputs at this quarter's prices.

    The wage rule of :func:`model.markets.unit_cost` holds the inputs at base
    prices; their price changes since pass through, Σ_u a[s, u] (p_u − p̄_u);
    the sum × the yield factor of its firm's technology in the site's segment, 1 +
    ``knowledge.yield_penalty`` × (1 − tech) (docs/ODD.md §7.3).
    """
    s, seg = w.sites, w.segments
    k = s.col("segment")
    base = markets.unit_cost(seg.base_price[k], seg.cost_share[k], seg.labour_intensity[k],
                             w.geo.labour_cost[s.col("region")], sc.params.reference_wage)
    inputs = (input_bill(w) - input_bill(w, seg.base_price))[k]
    return (base + inputs) * network.yield_cost_factor(site_technology(w), sc.knowledge.yield_penalty)


def yield_share(w: World) -> np.ndarray:
    """Share of each site's capacity it can produce this quarter while its yield ramps up
    (:func:`model.sites.ramp_share`; 1 for sites operating at the start)."""
    s = w.sites
    return ramp_share(s.col("online_step"), w.clock.step, w.segments.ramp[s.col("segment")])


def site_technology(w: World) -> np.ndarray:
    """Each site's firm's technology in the site's segment (docs/ODD.md §5.5)."""
    s = w.sites
    return w.chain.tech[s.col("firm"), s.col("segment")]


def firm_technology(w: World) -> np.ndarray:
    """Each firm's technology as one number (docs/ODD.md §7.21): its segment levels weighted by its live
    (operating and building) capacity in each segment, the segments it is in (§2.2); a firm with no live
    capacity, its best level.  A firm in one segment: its level there."""
    tech = w.chain.tech
    return weighted_technology(tech, w.sites.sum_by(("firm", "segment"), tech.shape, status=LIVE))


def weighted_technology(tech: np.ndarray, cap: np.ndarray) -> np.ndarray:
    """:func:`firm_technology` from the levels (firms × segments) and the live capacity (firms × segments)."""
    tot = cap.sum(axis=1)
    share = np.divide(cap, tot[:, None], out=np.zeros_like(cap), where=tot[:, None] > 0)
    # As the level in its largest segment plus the weighted deviations from it, so that a firm in one segment,
    # or with one level in all its segments, gets exactly that level.
    main = tech[np.arange(len(tot)), cap.argmax(axis=1)] if tech.shape[1] else np.zeros(len(tot))
    weighted = main + (share * (tech - main[:, None])).sum(axis=1)
    best = tech.max(axis=1) if tech.shape[1] else np.zeros(len(tot))
    return np.where(tot > 0, weighted, best)


def site_price_technology(w: World) -> np.ndarray:
    """Technology that sets each site's price premium (docs/ODD.md §7.15): its firm's in the site's segment,
    capped at the segment's leading-edge threshold unless the site is leading-edge."""
    s = w.sites
    t = site_technology(w)
    thr = w.segments.le_threshold[s.col("segment")]
    capped = np.where(np.isnan(thr), t, np.minimum(t, np.nan_to_num(thr, nan=1.0)))
    return np.where(s.col("leading_edge"), t, capped)


def project_leading_edge(w: World, firm: int | np.ndarray, segment: int | np.ndarray) -> np.ndarray:
    """Whether a site of ``firm`` in ``segment`` would be leading-edge now (its firm's
    technology in ``segment`` ≥ the segment's threshold); construction decides it on completion."""
    return leading_edge_allowed(w.chain.tech[firm, segment], w.segments.le_threshold[segment])


def unit_cost_index(w: World, sc: Scenario, raw: bool = False) -> float:
    """Capacity-weighted unit cost relative to base price over operating sites, indexed to step 0."""
    s = w.sites
    op = s.select(OPERATING)
    k = s.col("segment")[op]
    cap = s.col("capacity")[op]
    if cap.sum() <= 0:
        return float("nan")
    rel = site_unit_cost(w, sc)[op] / w.segments.base_price[k]
    value = float((rel * cap).sum() / cap.sum())
    base = w.markets.unit_cost_base
    if raw or not base:
        return value
    return value / base


def present_capacity(w: World) -> np.ndarray:
    """Live (operating or building) capacity as a region × segment matrix."""
    return w.sites.sum_by(("region", "segment"), (w.geo.n, len(w.segments.ids)), status=LIVE)


def skilled_pools(w: World, present: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Effective skilled pool per region and the workers its live capacity employs (thousands).

    With talent circulation on, each member's regions may draw on
    ``mobility`` × the free pools of the other members, shared in
    proportion to the regions' own pools.
    """
    geo = w.geo
    lv = w.chain.levers
    if present is None:
        present = present_capacity(w)
    employed = present @ w.segments.workers
    pool = geo.skilled_labour
    if not lv.talent_members.any():
        return pool, employed
    n_c = len(geo.countries)
    free_c = np.bincount(geo.country, weights=np.maximum(pool - employed, 0.0), minlength=n_c)
    pool_c = np.bincount(geo.country, weights=pool, minlength=n_c)
    member_free = free_c[lv.talent_members].sum()
    inflow_c = np.where(lv.talent_members, lv.talent_mobility * (member_free - free_c), 0.0)
    share = np.divide(pool, pool_c[geo.country], out=np.zeros_like(pool), where=pool_c[geo.country] > 0)
    return pool + inflow_c[geo.country] * share, employed


def labour_shortage(w: World) -> np.ndarray:
    """Share of each region's skilled-labour need that its effective pool cannot meet (0–1)."""
    pool, employed = skilled_pools(w)
    return np.divide(np.maximum(employed - pool, 0.0), employed, out=np.zeros_like(employed), where=employed > 0)


def firm_capacity_summary(w: World) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per firm: operating capacity, capacity being built, number of live sites."""
    s, n_f = w.sites, w.firms.n
    by_status = s.sum_by(("firm", "status"), (n_f, 3), status=ANY)      # status codes 0-2 as columns
    n_sites = np.bincount(s.col("firm")[s.select(LIVE)], minlength=n_f)
    return by_status[:, OPERATING], by_status[:, BUILDING], n_sites
