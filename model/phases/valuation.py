"""The value of investing (ODD 7.4): what a project of a firm in a segment is worth at each region, and how much
capacity the market can add before the best project stops clearing the hurdle.

3.4 (:mod:`model.phases.invest`) calls :func:`value_projects`; the pure parts (expectations, discount factors,
profitability index, the search) are in :mod:`model.decisions`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import decisions
from .. import markets as markets_mod
from ..queries import KWPM_QUARTER_TO_USD_BN, input_bill
from .location import _money_by_country, _risk_by_country, admissible_regions, perceived_risk

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["value_projects", "project_values", "reference_index", "ProjectValues", "interp_tables", "bracket",
           "loan_offers", "best_loan", "grant_equivalent"]


def value_projects(w: World, sc: Scenario, share: np.ndarray, seg_total: np.ndarray) -> np.ndarray:
    """Expected projects per (firm, segment) from the value of investing (ODD 7.4).

    Each firm present in a segment values a project at every region open to
    it (expected price and utilisation at completion, unit cost, tariffs,
    capex net of grants and credits, a discount rate with the priced risk of
    its home × host pair, tax) and finds the market-wide addition A at which
    its best project's profitability index, relative to the reference
    project's, falls to the hurdle: it conjectures that rivals expand in
    proportion to their shares, so it adds its share σ of A, at the pace φ.
    """
    p = sc.params
    seg, mk = w.segments, w.markets
    fi, si = np.nonzero(share > 0)
    lam = np.zeros_like(share)
    if len(fi) == 0:
        return lam
    val = project_values(w, sc, fi, si)
    horizon_demand = mk.demand * (1.0 + mk.expected_growth) ** (seg.lag / 4.0)
    tight_now = np.divide(mk.demand, mk.capacity, out=np.zeros_like(mk.demand), where=mk.capacity > 0)
    ep, eu = mk.expected_price[fi, si], mk.expected_utilisation[fi, si]
    base, k_s = seg.base_price[si], seg_total[si]
    demand_then, tight_now = horizon_demand[si], tight_now[si]

    market = decisions.market_at_completion(ep, eu, tight_now, p.price_elasticity, base, p.price_floor, p.price_cap)

    k_pos = bool((k_s > 0).all())           # then k > 0 for every addition searched (≥ 0)

    def pi_at(addition: np.ndarray) -> np.ndarray:
        k = k_s + addition
        tight = demand_then / k if k_pos else np.divide(demand_then, k, out=np.zeros_like(addition), where=k > 0)
        price, util = market(tight)
        price *= util                       # a (p u) + b u + c, in place (fresh arrays from market)
        price *= val.a
        util *= val.b
        price += util
        price += val.c
        return price

    addition = decisions.profitable_expansion(pi_at, k_s, p.hurdle)
    lam[fi, si] = p.investment_pace * share[fi, si] * addition / seg.project_size[si]
    return np.minimum(lam, p.max_projects_per_quarter) if p.max_projects_per_quarter > 0 else lam


@dataclass
class ProjectValues:
    """A project's relative profitability index at its best open region, as a + b × (p u) + c × u... in the
    form PI/PI_ref = a (p u) + b u + c, with p and u the expected price and utilisation (one row per pair)."""

    a: np.ndarray
    b: np.ndarray
    c: np.ndarray
    region: np.ndarray            # the best region at today's expectations
    index: np.ndarray | None = None  # with full=True: the index at every region (rows × regions)


#: Rows per block in :func:`project_values` (a block's rows × regions arrays stay in the CPU cache).
_BLOCK_ROWS = 512


def _tables_and_slopes(rate: np.ndarray, si: np.ndarray, seg: Any, life_q: int, dep_q: int
                       ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray] | None]:
    """The grid of 257 rates between the lowest and highest in ``rate``, :func:`decisions.discount_factors`
    (F_out, F_life, F_dep) on it for each segment in ``si`` (segments × grid; rows of other segments 0), and
    their :func:`_slopes` (None on a grid that is not strictly increasing); kept while the inputs are the same
    (the rates' range often is, quarter after quarter)."""
    lo, hi = float(rate.min()), float(rate.max())
    present = np.unique(si)
    key = (lo.hex(), hi.hex(), life_q, dep_q, present.tobytes(), np.asarray(seg.lag).tobytes(),
           np.asarray(seg.ramp).tobytes())
    if _TABLE_CACHE.get("key") != key:
        grid, tables = _compute_tables(lo, hi, present, seg, life_q, dep_q)
        slopes = _slopes(grid, tables) if (np.diff(grid) > 0).all() else None
        _TABLE_CACHE["key"], _TABLE_CACHE["value"] = key, (grid, tables, slopes)
    return _TABLE_CACHE["value"]


#: The last grid, tables and slopes of :func:`_tables_and_slopes` with their inputs (read only).
_TABLE_CACHE: dict[str, Any] = {}


def _compute_tables(lo: float, hi: float, present: np.ndarray, seg: Any, life_q: int, dep_q: int
                    ) -> tuple[np.ndarray, list[np.ndarray]]:
    grid = np.linspace(lo, hi if hi > lo else lo + 1e-9, 257)
    tables = [np.zeros((len(seg.ids), len(grid))) for _ in range(3)]
    # One call for all segments present (a shorter ramp's extra terms add exact zeros).
    lag = np.asarray(seg.lag)[present].astype(np.int64)[:, None]
    ramp = np.asarray(seg.ramp)[present].astype(np.int64)[:, None]
    for t, table in zip(tables, decisions.discount_factors(grid[None, :], lag, life_q, ramp, dep_q)):
        t[present] = table
    return grid, tables


def _slopes(grid: np.ndarray, tables: list[np.ndarray]) -> list[np.ndarray]:
    """Each table's slope per grid interval, as ``np.interp`` computes it (last column 0, never used)."""
    out = []
    for t in tables:
        slope = np.zeros_like(t)
        slope[:, :-1] = np.diff(t, axis=1) / np.diff(grid)[None, :]
        out.append(slope)
    return out


def _discount_by_segment(rate: np.ndarray, si: np.ndarray, grid: np.ndarray, tables: list[np.ndarray],
                         slopes: list[np.ndarray] | None) -> list[np.ndarray]:
    """:func:`decisions.discount_factors` for rows of segments ``si`` (decisions × regions), linearly
    interpolated in the tables of :func:`_tables_and_slopes` (the factors are smooth in the rate, so the relative
    error is a few 1e-6; far faster than evaluating every cell); as ``np.interp`` per segment, bit for bit.
    ``slopes`` from :func:`_slopes`, or None for a grid that is not strictly increasing."""
    if slopes is not None:
        return interp_tables(rate, grid, si, tables, slopes)
    out = [np.empty_like(rate) for _ in range(3)]   # a degenerate grid: numpy's own interpolation
    for k in np.unique(si):
        rows = si == k
        for o, t in zip(out, tables):
            o[rows] = np.interp(rate[rows], grid, t[k])
    return out


def bracket(x: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Index j of the interval [grid[j], grid[j+1]) holding each x, at most len(grid) − 2 (``grid`` an evenly
    spaced, strictly increasing linspace spanning x), as ``np.searchsorted(grid, x, "right") − 1`` would give:
    the arithmetic guess is off by at most one interval (rounding), so one comparison each way corrects it."""
    n = len(grid)
    j = ((x - grid[0]) * ((n - 1) / (grid[-1] - grid[0]))).astype(np.int32).astype(np.intp)  # int32: fast cast
    np.clip(j, 0, n - 2, out=j)
    j -= grid[j] > x                                # never below 0: grid[0] is the lowest x
    right = np.append(grid[1:-1], np.inf)           # right end of each interval; the last one never moves on
    j += right[j] <= x
    return j


def interp_tables(x: np.ndarray, grid: np.ndarray, rows: np.ndarray, tables: list[np.ndarray],
                  slopes: list[np.ndarray] | None = None) -> list[np.ndarray]:
    """``np.interp(x[i], grid, t[rows[i]])`` for each table ``t`` (segments × grid), bit for bit, with one search
    for all tables (``grid`` an evenly spaced, strictly increasing linspace spanning ``x``; numpy's formula: the
    slope of the interval times the distance from its left end, plus the left value; the last grid point
    exactly gives the last value).  ``slopes``: :func:`_slopes` of the tables, if already computed."""
    n = len(grid)
    j = bracket(x, grid)
    dx = x - grid[j]
    j += (rows * n)[:, None]
    end = np.flatnonzero(x == grid[-1])
    j_end = j.ravel()[end] + 1
    out = []
    for t, slope in zip(tables, slopes if slopes is not None else _slopes(grid, tables)):
        flat = t.ravel()
        r = slope.ravel()[j]
        r *= dx
        r += flat[j]
        r.ravel()[end] = flat[j_end]
        out.append(r)
    return out


def loan_offers(w: World, firms: np.ndarray, capex: np.ndarray) -> np.ndarray | None:
    """The policy loan (USD bn) each government would lend now to a project of ``firms[k]`` of capex
    ``capex[k]`` (a column) in its country (decisions × countries), or None when no government lends (ODD 7.1).
    A government that lends to home firms only offers nothing to other firms."""
    pol = w.policy
    if not pol.lends:
        return None
    home = w.firms.home[np.asarray(firms, dtype=np.int64)]
    eligible = ~pol.loan_home_only[None, :] | (home[:, None] == np.arange(len(pol.loan_share))[None, :])
    return decisions.policy_loan(pol.loan_share, pol.loan_available, np.asarray(capex, dtype=float), eligible)


def best_loan(w: World, capex: np.ndarray) -> np.ndarray | float:
    """The largest policy loan a firm could get anywhere for a project of each segment (firms × segments; 0.0
    when no government lends): what the finance check of 3.4 counts before the location is chosen."""
    n_f = w.firms.n
    loan = loan_offers(w, np.repeat(np.arange(n_f), len(capex)), np.tile(capex, n_f)[:, None])
    return 0.0 if loan is None else loan.max(axis=1).reshape(n_f, len(capex))


def grant_equivalent(w: World, sc: Scenario, firms: np.ndarray, capex: np.ndarray) -> np.ndarray | None:
    """The policy loan as a grant share of capex at each region (decisions × regions; None when no government
    lends), for the net-subsidy term of the location logit when money enters it as terms (ODD 7.5)."""
    loan = loan_offers(w, firms, capex)
    if loan is None:
        return None
    relief = decisions.loan_rate_relief(loan, capex, w.policy.loan_rate_cut)
    p = sc.params
    return decisions.loan_grant_equivalent(relief, p.discount_rate, p.project_life)[:, w.geo.country]


_REFERENCE_CACHE: dict[tuple, np.ndarray] = {}


def reference_index(sc: Scenario, seg: Any) -> np.ndarray:
    """Profitability index of the reference project per segment: unsubsidised, reference wage, no tariff,
    no risk premium, at base price and target utilisation (the hurdle's unit, ODD 7.4); constant over a run,
    so kept per set of inputs."""
    p = sc.params
    key = (p.project_life, p.depreciation_years, p.discount_rate, p.target_utilisation, p.maintenance_rate,
           p.tax_rate) + tuple(np.asarray(a).tobytes() for a in (seg.lag, seg.ramp, seg.base_price, seg.cost_share,
                                                                 seg.project_size, seg.capex_per_capacity))
    if key not in _REFERENCE_CACHE:
        if len(_REFERENCE_CACHE) > 64:
            _REFERENCE_CACHE.clear()
        _REFERENCE_CACHE[key] = _reference_index(sc, seg)
    return _REFERENCE_CACHE[key].copy()


def _reference_index(sc: Scenario, seg: Any) -> np.ndarray:
    p = sc.params
    life_q, dep_q = int(round(4 * p.project_life)), int(round(4 * p.depreciation_years))
    f_out, f_life, f_dep = decisions.discount_factors(np.full(len(seg.ids), p.discount_rate), seg.lag, life_q,
                                                      seg.ramp, dep_q)
    unit_margin = seg.base_price * (1.0 - seg.cost_share) * p.target_utilisation
    margin = unit_margin * seg.project_size * KWPM_QUARTER_TO_USD_BN
    capex = seg.project_size * seg.capex_per_capacity
    return decisions.profitability_index(margin, f_out, f_life, f_dep, capex, 0.0, p.maintenance_rate, p.tax_rate,
                                         dep_q)


def project_values(w: World, sc: Scenario, fi: np.ndarray, si: np.ndarray, full: bool = False) -> ProjectValues:
    """The relative profitability index of a project of firm ``fi[k]`` in segment ``si[k]`` at its best region,
    as a linear function of the expected price × utilisation and utilisation (so the search over additions
    does not revisit regions).  With ``full``, also the index at today's expectations at every region
    (``index``, rows × regions; −inf where the region is closed to the firm)."""
    p = sc.params
    geo, seg = w.geo, w.segments
    fi, si = np.asarray(fi, dtype=np.int64), np.asarray(si, dtype=np.int64)
    capex, net_c, _, tariff_c, _, _ = _money_by_country(w, fi, si, location=False)
    # Columns: host countries when the priced risk is the same in all regions of a country (then every term
    # but unit cost is a country's, computed once per country), else regions.
    country = geo.country
    risk_c = _risk_by_country(w)
    if risk_c is not None:
        col, net_s, tariff, risk = country, net_c, tariff_c, risk_c[w.firms.home[fi]]
    else:
        col, net_s, tariff, risk = None, net_c[:, country], tariff_c[:, country], perceived_risk(w, w.firms.home[fi])

    allowed = admissible_regions(w, fi)
    life_q, dep_q = int(round(4 * p.project_life)), int(round(4 * p.depreciation_years))
    rate = (p.risk_premium * w.firms.risk_aversion[fi])[:, None] * risk
    rate += p.discount_rate
    loan = loan_offers(w, fi, capex)
    if loan is not None:                # a policy loan lowers the discount rate where it is offered (ODD 7.4)
        relief = decisions.loan_rate_relief(loan, capex, w.policy.loan_rate_cut)
        rate = decisions.loan_discount_rate(rate, relief if col is not None else relief[:, country])
    grid, tables, slopes = _tables_and_slopes(rate, si, seg, life_q, dep_q)
    # Unit cost depends on the segment and region only: computed per (segment, region), then taken by row.
    cost_sr = markets_mod.unit_cost(seg.base_price[:, None], seg.cost_share[:, None], seg.labour_intensity[:, None],
                                    geo.labour_cost[None, :], p.reference_wage)
    cost_sr = cost_sr + (input_bill(w) - input_bill(w, seg.base_price))[:, None]     # inputs at today's prices
    tax = w.policy.corporate_tax[w.firms.home[fi]][:, None]
    scale = seg.project_size[si][:, None] * KWPM_QUARTER_TO_USD_BN
    ref = reference_index(sc, seg)[si][:, None]
    ep, eu = w.markets.expected_price[fi, si][:, None], w.markets.expected_utilisation[fi, si][:, None]
    m = len(fi)
    best = np.empty(m, dtype=np.int64)
    out_a, out_b, out_c = np.empty(m), np.empty(m), np.empty(m)
    # Blocks of rows, so that a block's arrays stay in cache; each cell is computed with the same operations
    # in the same order as the formula in the comment (results unchanged to the last bit).  The region-wide
    # arrays of a block live in buffers reused from block to block (no large temporaries).
    index = np.empty((m, geo.n)) if full else None
    rows_max = min(m, _BLOCK_ROWS)
    buf_b, buf_g, buf_now = (np.empty((rows_max, geo.n)) for _ in range(3))

    def by_region(x: np.ndarray, buf: np.ndarray) -> np.ndarray:
        if col is None:
            return x
        return np.take(x, col, axis=1, out=buf[: len(x)], mode="clip")     # x[:, col] (indices are valid)

    for lo in range(0, m, _BLOCK_ROWS):
        k = slice(lo, min(lo + _BLOCK_ROWS, m))
        n_k = k.stop - k.start
        f_out, f_life, f_dep = _discount_by_segment(rate[k], si[k], grid, tables, slopes)
        net = 1.0 - net_s[k]
        np.maximum(net, 0.05, out=net)
        net *= capex[k]
        # PI = (1 − tax) [(p(1 − τ) u − c u) scale F_out − m X F_life / 4] / net + tax X F_dep / (dep_q net),
        # over the reference project's PI: a (p u) + b u + c.
        one_tax = 1.0 - tax[k]
        a = 1.0 - tariff[k]                 # a = (1 − tax)(1 − τ) scale F_out / net / ref
        a *= one_tax
        a *= scale[k]
        a *= f_out
        a /= net
        a /= ref[k]
        b = np.take(cost_sr, si[k], axis=0, out=buf_b[:n_k], mode="clip")   # b = −(1 − tax) c scale F_out / net
        b *= -one_tax                                                       # / ref (by region)
        b *= scale[k]
        b *= by_region(f_out, buf_g)
        b /= by_region(net, buf_g)
        b /= ref[k]
        c = f_life                          # c = (−(1 − tax) m / 4 X F_life + tax X / dep_q F_dep) / net / ref
        c *= -one_tax * p.maintenance_rate / 4.0 * capex[k]
        f_dep *= tax[k] * capex[k] / dep_q
        c += f_dep
        c /= net
        c /= ref[k]
        ae = f_out                          # a ep eu + b eu + c at today's expectations
        np.multiply(a, ep[k], out=ae)
        ae *= eu[k]
        now = by_region(ae, buf_now)
        now += np.multiply(b, eu[k], out=buf_g[:n_k])
        now += by_region(c, buf_g)
        if allowed is not None:
            now[~allowed[k]] = -np.inf
        if index is not None:
            index[k] = now
        bk = now.argmax(axis=1)
        rows = np.arange(len(bk))
        at = bk if col is None else col[bk]
        best[k], out_a[k], out_b[k], out_c[k] = bk, a[rows, at], b[rows, bk], c[rows, at]
    return ProjectValues(a=out_a, b=out_b, c=out_c, region=best, index=index)
