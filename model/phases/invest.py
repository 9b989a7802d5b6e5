"""ODD 3.4 — firms decide whether to invest (trigger, finance, deferral) and where (location logit)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import decisions
from .. import markets as markets_mod
from ..queries import KWPM_QUARTER_TO_USD_BN, input_bill, present_capacity, skilled_pools
from ..scenario import quarter_label
from ..sites import BUILDING, LIVE
from .base import phase

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["PHASE", "firms_invest", "value_projects", "project_values", "reference_index", "ProjectValues",
           "money_terms", "MoneyTerms", "LocationCache", "prepare_location_cache", "location_inputs",
           "perceived_risk", "start_project", "term_weights", "interp_tables", "bracket"]


def term_weights(sc: Scenario) -> np.ndarray:
    """Weights of the location-utility terms, in the order of ``decisions.TERMS``."""
    p = sc.params
    return np.array([p.w_subsidy, p.w_labour, p.w_risk, p.w_infrastructure, p.w_skill, p.w_agglomeration,
                     p.w_home, p.w_bloc, p.w_tariff, p.w_distance, p.w_coordination, p.w_expansion])


@phase("invest", "3.4", reads=("segments", "geo", "ledger", "clock"),
       writes=("sites", "firms", "markets", "policy", "risk", "chain", "counters", "log"))
def firms_invest(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Investment trigger for every (firm, segment), then location choice for those that invest.

    Firms decide simultaneously on the quarter's state (ODD 7.5): one batch
    of location logits, then projects start in random order and subsidy
    money is first come, first served.
    """
    p = sc.params
    seg = w.segments
    c = w.counters
    mk = w.markets
    n_f, n_seg = w.firms.n, len(seg.ids)
    # Firms revise their expectations of price and utilisation (ODD 7.4).
    mk.expected_price = decisions.adaptive(mk.expected_price, mk.price[None, :], p.expectation_speed)
    mk.expected_utilisation = decisions.adaptive(mk.expected_utilisation, mk.utilisation[None, :],
                                                 p.expectation_speed)
    cap_fs = w.sites.sum_by(("firm", "segment"), (n_f, n_seg), status=LIVE)
    seg_total = cap_fs.sum(axis=0)
    c.quarter_investments = 0
    c.quarter_investment_capex = 0.0
    c.quarter_deferrals = 0
    c.quarter_value_pairs = 0
    c.quarter_finance_blocked = 0
    share = np.divide(cap_fs, seg_total, out=np.zeros_like(cap_fs), where=seg_total > 0)
    if p.investment_rule == "gap":
        gap = decisions.capacity_gap(mk.demand, mk.expected_growth, seg.lag, seg_total, p.target_utilisation)
        if not (gap > 0).any():
            return
        lam = decisions.expected_projects(share, gap, seg.project_size, p.investment_pace,
                                          p.max_projects_per_quarter)
    else:
        lam = value_projects(w, sc, share, seg_total)
    capex = seg.project_size * seg.capex_per_capacity
    annual_rev = 4.0 * w.ledger.flows["revenue"]
    ok = decisions.can_finance(w.ledger.cash[:, None], w.ledger.debt[:, None], annual_rev[:, None],
                               capex[None, :], p.equity_share, p.max_leverage)
    c.quarter_value_pairs = int((lam > 0).sum())
    c.quarter_finance_blocked = int(((lam > 0) & ~ok).sum())
    lam = np.where(ok, lam, 0.0)
    fi, si = np.nonzero(lam)
    if len(fi) == 0:
        return
    n = decisions.project_counts(lam[fi, si], rng.random(len(fi)))
    fi, si = np.repeat(fi, n), np.repeat(si, n)      # a firm may start several projects in a segment
    if len(fi) == 0:
        return
    open_ = admissible_regions(w, fi)
    if open_ is not None:                            # a project with nowhere to go is not started
        fi, si = fi[open_.any(axis=1)], si[open_.any(axis=1)]
        if len(fi) == 0:
            return
    inputs, grant, capex_i = location_inputs(w, sc, prepare_location_cache(w, sc), fi, si,
                                             allowed=open_[open_.any(axis=1)] if open_ is not None else None)
    terms = decisions.location_terms(inputs, p.coordination_spread)
    contrib, v = decisions.location_utility(terms, term_weights(sc))
    prob_r = decisions.logit_probabilities(v, p.logit_scale, inputs.allowed)
    choice = decisions.sample_choice(prob_r, rng.random(len(fi)))
    v_other = v.copy() if inputs.allowed is None else np.where(inputs.allowed, v, -np.inf)
    v_other[np.arange(len(fi)), choice] = -np.inf
    clock = w.clock
    batch = _Batch(fi, si, choice.tolist(), v_other.argmax(axis=1).tolist(), capex_i[:, 0].tolist(), grant,
                   inputs.has_site, prob_r, v, contrib, quarter_label(clock.start_year, clock.start_q, clock.step))
    _start_in_random_order(w, sc, rng, batch, annual_rev)


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


#: Rows per block in :func:`project_values` (a block's rows × regions arrays stay in the CPU cache).
_BLOCK_ROWS = 512


def _discount_tables(rate: np.ndarray, si: np.ndarray, seg: Any, life_q: int, dep_q: int
                     ) -> tuple[np.ndarray, list[np.ndarray]]:
    """The grid of 257 rates between the lowest and highest in ``rate``, and :func:`decisions.discount_factors`
    (F_out, F_life, F_dep) on it for each segment in ``si`` (segments × grid; rows of other segments 0)."""
    grid, tables, _ = _tables_and_slopes(rate, si, seg, life_q, dep_q)
    return grid, tables


def _tables_and_slopes(rate: np.ndarray, si: np.ndarray, seg: Any, life_q: int, dep_q: int
                       ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray] | None]:
    """:func:`_discount_tables` and their :func:`_slopes` (None on a grid that is not strictly increasing),
    kept while the inputs are the same (the rates' range often is, quarter after quarter)."""
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
    interpolated in the tables of :func:`_discount_tables` (the factors are smooth in the rate, so the relative
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


def project_values(w: World, sc: Scenario, fi: np.ndarray, si: np.ndarray) -> ProjectValues:
    """The relative profitability index of a project of firm ``fi[k]`` in segment ``si[k]`` at its best region,
    as a linear function of the expected price × utilisation and utilisation (so the search over additions
    does not revisit regions)."""
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
        bk = now.argmax(axis=1)
        rows = np.arange(len(bk))
        at = bk if col is None else col[bk]
        best[k], out_a[k], out_b[k], out_c[k] = bk, a[rows, at], b[rows, bk], c[rows, at]
    return ProjectValues(a=out_a, b=out_b, c=out_c, region=best)


@dataclass
class _Batch:
    """This quarter's location decisions, one row per (firm, segment) that invests."""

    firm: np.ndarray
    segment: np.ndarray
    choice: list[int]
    runner_up: list[int]
    capex: list[float]
    grant: np.ndarray
    has_site: np.ndarray
    prob: np.ndarray
    utility: np.ndarray
    contrib: np.ndarray
    quarter: str


def _start_in_random_order(w: World, sc: Scenario, rng: np.random.Generator, b: _Batch,
                           annual_rev: np.ndarray) -> None:
    """Start (or defer) the chosen projects in random order; cash is set aside as they start."""
    p, learn = sc.params, sc.learning
    risk, c, geo = w.risk, w.counters, w.geo
    # Python lists for the scalar reads of the loop (the same values; the cash set aside stays a float).
    free_cash = w.ledger.cash.tolist()          # cash not yet set aside this quarter
    debts, revs = w.ledger.debt.tolist(), annual_rev.tolist()
    firms, segs, homes = b.firm.tolist(), b.segment.tolist(), w.firms.home.tolist()
    country, bloc = geo.country.tolist(), geo.country_bloc.tolist()
    eq, lev = p.equity_share, p.max_leverage
    step, pol = w.clock.step, w.policy
    rows: list[tuple[int, int, bool, float, bool, int]] = []    # k, site, expansion, capex, deferred, deferrals
    for k in rng.permutation(len(firms)).tolist():
        f, seg = firms[k], segs[k]
        # The firm's earlier projects this quarter have set cash aside
        # (the scalar form of decisions.can_finance).
        need = eq * b.capex[k]
        debt, rev = debts[f], revs[f]
        if free_cash[f] < need or (debt > lev * rev if rev > 0 else debt > 0):
            continue
        r = b.choice[k]
        if pol.guardrail_until[f] >= step and pol.concern[country[r]]:
            continue                    # a grant taken earlier this quarter already bars the country (ODD 7.1)
        # Real-options wait: defer while uncertainty about the chosen region is
        # high, up to max_deferral quarters in a row (ODD 7.18).
        h = homes[f]
        sigma2 = risk.uncertainty[h, r] + learn.risk_variance * risk.perceived[h, r] ** 2
        if sigma2 > learn.defer_threshold and risk.deferral_count[f, seg] < learn.max_deferral:
            risk.deferral_count[f, seg] += 1
            c.quarter_deferrals += 1
            rows.append((k, -1, False, 0.0, True, int(risk.deferral_count[f, seg])))
            continue
        free_cash[f] -= need
        expansion = bool(b.has_site[k, r])
        site = start_project(w, sc, f, seg, r, capex=b.capex[k], grant=float(b.grant[k, r]), expansion=expansion)
        deferrals = int(risk.deferral_count[f, seg])
        rows.append((k, site, expansion, b.capex[k], False, deferrals))
        c.deferral_quarters_total += deferrals
        risk.deferral_count[f, seg] = 0
        c.quarter_investments += 1
        c.quarter_investment_capex += b.capex[k]
        cap_new = float(w.sites.capacity[site])
        c.new_capacity_total += cap_new
        host = country[r]
        if host != h and bloc[host] == bloc[h]:
            c.friendshored_total += cap_new
    if rows:
        w.log.investments.append(_investment_rows(w, b, rows))


def _investment_rows(w: World, b: _Batch, rows: list[tuple[int, int, bool, float, bool, int]]) -> dict[str, Any]:
    """This quarter's rows of the investments table as columns (a deferral has site −1 and no capacity)."""
    geo, firms, sites = w.geo, w.firms, w.sites
    k = np.array([r[0] for r in rows], dtype=np.int64)
    site = np.array([r[1] for r in rows], dtype=np.int64)
    f, seg = b.firm[k], b.segment[k]
    r = np.array(b.choice, dtype=np.int64)[k]
    o = np.array(b.runner_up, dtype=np.int64)[k]
    built = site >= 0
    ids, countries = np.array(firms.ids, dtype=object), np.array(geo.countries, dtype=object)
    regions, segs = np.array(geo.ids, dtype=object), np.array(w.segments.ids, dtype=object)
    return {
        "step": np.full(len(rows), w.clock.step, dtype=np.int64), "quarter": np.full(len(rows), b.quarter, dtype=object),
        "firm": ids[f], "home": countries[firms.home[f]], "segment": segs[seg], "region": regions[r],
        "country": countries[geo.country[r]], "site": site, "expansion": np.array([x[2] for x in rows], dtype=bool),
        "capacity": np.where(built, sites.col("capacity")[np.maximum(site, 0)], 0.0),
        "capex": np.array([x[3] for x in rows], dtype=float),
        "subsidy_committed": np.where(built, sites.col("subsidy_committed")[np.maximum(site, 0)], 0.0),
        "probability": b.prob[k, r], "utility": b.utility[k, r], "rejected_region": regions[o],
        "rejected_utility": b.utility[k, o], "deferred": np.array([x[4] for x in rows], dtype=bool),
        "deferrals": np.array([x[5] for x in rows], dtype=np.int64),
        "chosen_terms": b.contrib[:, k, r].T.copy(), "rejected_terms": b.contrib[:, k, o].T.copy(),
    }


_UNSET = object()


@dataclass
class LocationCache:
    """Region-level inputs of this quarter's location decisions (region × segment)."""

    agglomeration: np.ndarray
    logistics: np.ndarray
    skill: np.ndarray


def prepare_location_cache(w: World, sc: Scenario) -> LocationCache:
    """Region-level inputs of this quarter's location decisions.

    Firms decide simultaneously on the state at the start of the quarter
    (capacity present, skilled labour, logistics); only subsidy budgets
    are first come, first served within the quarter.
    """
    p = sc.params
    present = present_capacity(w)
    linked = present @ w.segments.linked.astype(float)          # region × segment
    pool, employed = skilled_pools(w, present)
    return LocationCache(
        agglomeration=decisions.agglomeration(present, linked, p.agglomeration_link_weight, p.agglomeration_scale),
        logistics=np.column_stack([decisions.linked_distance(w.geo.distance, linked[:, k])
                                   for k in range(len(w.segments.ids))]),
        skill=decisions.skilled_availability(pool, employed),
    )


def _firm_presence(w: World, firms: np.ndarray, segments: np.ndarray, with_sites: bool = True
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """Live capacity of each deciding firm by region, and (``with_sites``) whether it has a same-segment
    site there."""
    s = w.sites
    n_r, n_s, n_f = w.geo.n, len(w.segments.ids), w.firms.n
    # A firm's row sums its own live sites only, in site order (a firm deciding twice: both rows the same).
    present_fr = s.sum_by(("firm", "region"), (n_f, n_r), status=LIVE)
    if not with_sites:
        return present_fr[firms], None
    live = s.select(LIVE)
    row_of = np.full(n_f, -1, dtype=np.int64)
    row_of[firms] = np.arange(len(firms))
    mine = live & (row_of[s.col("firm")] >= 0)
    seg_fr = np.zeros((n_f, n_s, n_r), dtype=bool)
    seg_fr[s.col("firm")[mine], s.col("segment")[mine], s.col("region")[mine]] = True
    return present_fr[firms], seg_fr[firms, segments]


def location_inputs(w: World, sc: Scenario, cache: LocationCache, firms: np.ndarray, segments: np.ndarray,
                    allowed: np.ndarray | None | object = _UNSET
                    ) -> tuple[decisions.LocationInputs, np.ndarray, np.ndarray]:
    """Gather the arrays for location decisions of ``firms[i]`` in ``segments[i]``.

    Returns the inputs (decisions × regions), the grant each region's
    government would commit (USD bn, decisions × regions) and each
    project's capex (USD bn, a decisions × 1 column).
    """
    geo, seg = w.geo, w.segments
    money = money_terms(w, firms, segments)
    firms, segments, homes = money.firms, money.segments, w.firms.home[money.firms]
    n_sites = money.present_in.sum(axis=1, keepdims=True)
    spread = np.divide(money.present_in @ geo.distance, n_sites, out=np.zeros((len(firms), geo.n)),
                       where=n_sites > 0)
    if allowed is _UNSET:                           # not given by a caller that has it already
        allowed = admissible_regions(w, firms)
    inputs = decisions.LocationInputs(
        net_subsidy=money.net_subsidy,
        log_wage=np.log(geo.labour_cost / sc.params.reference_wage),
        labour_intensity=seg.labour_intensity[segments][:, None],
        political_risk=money.risk,
        risk_aversion=w.firms.risk_aversion[firms][:, None],
        power_reliability=geo.power_reliability,
        skill=cache.skill,
        agglomeration=cache.agglomeration[:, segments].T,
        is_home=geo.country[None, :] == homes[:, None],
        same_bloc=geo.bloc[None, :] == geo.country_bloc[homes][:, None],
        tariff=money.tariff,
        distance=cache.logistics[:, segments].T,
        n_sites=n_sites,
        spread=spread,
        has_site=money.has_site,
        allowed=allowed,
    )
    return inputs, money.grant, money.capex


@dataclass
class MoneyTerms:
    """The pecuniary inputs of a project of ``firms[k]`` in ``segments[k]`` at every region (decisions × regions)."""

    firms: np.ndarray
    segments: np.ndarray
    capex: np.ndarray             # USD bn, decisions × 1
    net_subsidy: np.ndarray       # share of capex: grant + credit − conditions (incl. the concern ban)
    grant: np.ndarray | None      # USD bn the region's government would commit now
    tariff: np.ndarray            # market-weighted tariff on exports from the region
    risk: np.ndarray              # risk the firm's home prices in the region
    present_in: np.ndarray        # bool: the firm has live capacity in the region
    has_site: np.ndarray | None   # bool: it has a same-segment site there


def money_terms(w: World, firms: np.ndarray, segments: np.ndarray, location: bool = True) -> MoneyTerms:
    """Subsidy offers, tariffs and priced risk for projects of ``firms[k]`` in ``segments[k]``; shared by the
    location logit and the valuation of 3.4 (which needs neither the grant nor the same-segment sites:
    ``location=False`` leaves them None)."""
    firms = np.asarray(firms, dtype=np.int64)
    segments = np.asarray(segments, dtype=np.int64)
    capex, net_c, grant_c, tariff_c, present_in, has_site = _money_by_country(w, firms, segments, location)
    col = w.geo.country                             # each region's country
    return MoneyTerms(firms=firms, segments=segments, capex=capex, net_subsidy=net_c[:, col],
                      grant=grant_c[:, col] if location else None, tariff=tariff_c[:, col],
                      risk=perceived_risk(w, w.firms.home[firms]), present_in=present_in, has_site=has_site)


def _money_by_country(w: World, firms: np.ndarray, segments: np.ndarray, location: bool
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Capex (decisions × 1), net subsidy, grant and tariff by host country (decisions × countries), presence
    by region and (``location``) same-segment sites: the parts of :func:`money_terms` that depend on the host
    country alone."""
    geo, seg, pol = w.geo, w.segments, w.policy
    m = len(firms)
    capex = (seg.project_size[segments] * seg.capex_per_capacity[segments])[:, None]
    cap_f, has_site = _firm_presence(w, firms, segments, with_sites=location)
    present_in = cap_f > 0
    # Subsidy: conditions, plus the concern-country ban weighted by the firm's exposure there.
    total = cap_f.sum(axis=1, keepdims=True)
    concern_share = np.divide(cap_f[:, pol.concern[geo.country]].sum(axis=1, keepdims=True), total,
                              out=np.zeros((m, 1)), where=total > 0)
    cond = pol.condition + pol.concern_cost * concern_share
    net_c, grant_c = decisions.subsidy_offer(pol.rate, pol.available, capex, pol.tax_credit, cond)
    return capex, net_c, grant_c, _tariff_by_country(w, present_in), present_in, has_site


def admissible_regions(w: World, firms: np.ndarray) -> np.ndarray | None:
    """Regions each deciding firm may build in (decisions × regions), or None when all are open.

    Investment screening closes a screening country's regions to firms whose
    home is a country of concern; a subsidy guardrail closes the regions of
    the countries of concern to a firm until its guardrail ends (ODD 7.1).
    """
    geo, pol = w.geo, w.policy
    concern_home = pol.concern[w.firms.home[firms]]
    barred = pol.guardrail_until[firms] >= w.clock.step
    if not (concern_home & pol.screens.any()).any() and not barred.any():
        return None
    host_screens = pol.screens[geo.country][None, :]
    host_concern = pol.concern[geo.country][None, :]
    return ~((concern_home[:, None] & host_screens) | (barred[:, None] & host_concern))


def _risk_by_country(w: World) -> np.ndarray | None:
    """Priced risk by home × host country when it is the same in every region of a host country, else None."""
    perceived, country = w.risk.perceived, w.geo.country
    first = np.zeros(len(w.geo.countries), dtype=np.int64)
    first[country[::-1]] = np.arange(w.geo.n)[::-1]     # the first region of each country (0: none)
    by_country = perceived[:, first]
    return by_country if np.array_equal(perceived, by_country[:, country]) else None


def _tariff_faced(w: World, present_in: np.ndarray) -> np.ndarray:
    """Tariff on exports from each region, weighted by the importers' market shares (decisions × regions).

    An importer that spares local producers (exempt_local) waives its tariff
    for a firm already there or choosing a region there.
    """
    return _tariff_by_country(w, present_in)[:, w.geo.country]


def _tariff_by_country(w: World, present_in: np.ndarray) -> np.ndarray:
    """:func:`_tariff_faced` by exporting country (decisions × countries); ``present_in`` is by region."""
    geo, pol = w.geo, w.policy
    m = present_in.shape[0]
    duty = pol.market[:, None] * pol.tariff                                         # importer × exporter
    out = np.repeat(duty.sum(axis=0)[None, :], m, axis=0)
    hosts = np.zeros(duty.shape[1], dtype=bool)
    hosts[geo.country] = True                       # countries with regions
    for i in np.flatnonzero(pol.tariff_exempt_local & duty[:, hosts].any(axis=1)):
        there = geo.country == i
        waived = present_in[:, there].any(axis=1)[:, None] | (np.arange(duty.shape[1]) == i)[None, :]
        out -= duty[i][None, :] * waived
    return out


def perceived_risk(w: World, homes: np.ndarray) -> np.ndarray:
    """Risk investors from countries ``homes`` price in each region (decisions × regions).

    P[h, r] = the host's country risk + the bilateral risk of h and the host's
    country (relation, standing premia, sanctions in force; investment
    protection removes ``strength`` of this part between members) + what
    firms learned from events (ODD 7.18); the events phase keeps it in
    ``risk.perceived``.
    """
    return w.risk.perceived[np.asarray(homes)]


def start_project(w: World, sc: Scenario, firm: int, segment: int, region: int, *, capex: float, grant: float,
                  expansion: bool) -> int:
    """Register a new project: the government commits its grant, the site starts building."""
    c = int(w.geo.country[region])
    gov = w.policy.governments[c]
    years = gov.rules.guardrail_years if gov.rules is not None else 0.0
    if years > 0 and grant > 0 and _started_in_concern(w, firm):
        grant = 0.0                     # a guardrailed grant is not offered to a firm expanding there now
    committed = gov.commit(grant)
    w.policy.available[c] = gov.available
    lag = int(w.segments.lag[segment])
    if expansion:
        lag = max(1, int(round(lag * sc.params.expansion_lag_factor)))
    t = w.clock.step
    if committed > 0 and years > 0:                 # the award's guardrail (88 FR 65600)
        w.policy.guardrail_until[firm] = max(w.policy.guardrail_until[firm], t + int(round(4 * years)))
    conditions = gov.condition_cost if committed > 0 else 0.0
    if committed > 0 and gov.conditions.technology_transfer > 0:
        transfer_technology(w, sc, firm, segment, c, gov.conditions.technology_transfer)
    # The conditions of a grant are paid in cash with the capex (ODD 7.6); the concern ban is not a cash cost.
    return w.firms.add_site(w.sites, firm, region, segment, float(w.segments.project_size[segment]), BUILDING,
                            start_step=t, online_step=t + lag, expansion=expansion,
                            capex_total=capex * (1.0 + conditions),
                            gov=c if committed > 0 else -1, subsidy_committed=committed,
                            tax_credit=gov.tax_credit)


def _started_in_concern(w: World, firm: int) -> bool:
    """Whether ``firm`` started a project in a country of concern this quarter."""
    s, t = w.sites, w.clock.step
    mine = np.asarray(w.firms.sites[firm], dtype=np.int64)
    if len(mine) == 0:
        return False
    now = mine[s.col("start_step")[mine] == t]
    return bool(w.policy.concern[w.geo.country[s.col("region")[now]]].any())


def transfer_technology(w: World, sc: Scenario, firm: int, segment: int, country: int, demand: float) -> None:
    """A grant's technology-transfer condition: firms of the host country present in the segment close
    min(1, transfer_per_capex × demand) of their gap to the recipient's technology (ODD 7.6)."""
    share = min(1.0, sc.knowledge.transfer_per_capex * demand)
    if share <= 0:
        return
    tech = w.chain.tech
    s = w.sites
    live = s.select(LIVE) & (s.col("segment") == segment)
    local = np.unique(s.col("firm")[live])
    local = local[(w.firms.home[local] == country) & (local != firm) & (tech[local] < tech[firm])]
    tech[local] += share * (tech[firm] - tech[local])


PHASE = firms_invest
