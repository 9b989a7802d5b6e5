"""ODD 3.4 — firms decide how much to invest (value and finance, :mod:`.valuation`), defer or start, and where
(the location logit over the inputs of :mod:`.location`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .. import decisions
from ..scenario import quarter_label
from ..sites import BUILDING, LIVE
from .base import phase
from .location import admissible_regions, location_inputs, prepare_location_cache
from .valuation import best_loan, grant_equivalent, project_values, value_projects

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["PHASE", "firms_invest", "start_project", "term_weights"]


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
    # A policy loan finances its part outside the firm's own check: counted here at the best loan the firm could
    # get anywhere (its location is not chosen yet), and at the chosen region's when the project starts (ODD 7.1).
    ok = decisions.can_finance(w.ledger.cash[:, None], w.ledger.debt[:, None], annual_rev[:, None],
                               capex[None, :], p.equity_share, p.max_leverage, best_loan(w, capex))
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
    loan_equiv = grant_equivalent(w, sc, fi, capex_i) if p.location_money == "terms" else None
    if loan_equiv is not None:          # a policy loan enters location choice as its grant equivalent (ODD 7.5)
        inputs = dataclasses.replace(inputs, net_subsidy=inputs.net_subsidy + loan_equiv)
    terms = decisions.location_terms(inputs, p.coordination_spread)
    contrib, v = decisions.location_utility(terms, term_weights(sc))
    if p.location_money == "value":
        # The money terms in one currency (ODD 7.5): the project's relative profitability index at each region
        # replaces the subsidy, labour, risk and tariff terms.
        index = project_values(w, sc, fi, si, full=True).index
        v = decisions.value_utility(contrib, index, p.w_value, inputs.allowed)
    prob_r = decisions.logit_probabilities(v, p.logit_scale, inputs.allowed)
    choice = decisions.sample_choice(prob_r, rng.random(len(fi)))
    v_other = v.copy() if inputs.allowed is None else np.where(inputs.allowed, v, -np.inf)
    v_other[np.arange(len(fi)), choice] = -np.inf
    clock = w.clock
    batch = _Batch(fi, si, choice.tolist(), v_other.argmax(axis=1).tolist(), capex_i[:, 0].tolist(), grant,
                   inputs.has_site, prob_r, v, contrib, quarter_label(clock.start_year, clock.start_q, clock.step))
    _start_in_random_order(w, sc, rng, batch, annual_rev)


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
    lends = pol.lends
    rows: list[tuple[int, int, bool, float, bool, int]] = []    # k, site, expansion, capex, deferred, deferrals
    for k in rng.permutation(len(firms)).tolist():
        f, seg = firms[k], segs[k]
        r = b.choice[k]
        # The firm's earlier projects this quarter have set cash aside (the scalar form of
        # decisions.can_finance); a policy loan of the chosen country finances its part outside it (ODD 7.1).
        loan = _policy_loan(pol, homes[f], country[r], b.capex[k]) if lends else 0.0
        need = eq * (b.capex[k] - loan) if loan > 0 else eq * b.capex[k]
        debt, rev = debts[f], revs[f]
        if free_cash[f] < need or (loan < b.capex[k] and (debt > lev * rev if rev > 0 else debt > 0)):
            continue
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
        site = start_project(w, sc, f, seg, r, capex=b.capex[k], grant=float(b.grant[k, r]), expansion=expansion,
                             loan=loan)
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


def _policy_loan(pol: Any, home: int, host: int, capex: float) -> float:
    """The policy loan the government of ``host`` lends now to a project of a firm whose home is ``home``."""
    gov = pol.governments[host]
    return gov.loan_for(capex) if (home == host or not gov.loan_home_only) else 0.0


def start_project(w: World, sc: Scenario, firm: int, segment: int, region: int, *, capex: float, grant: float,
                  expansion: bool, loan: float = 0.0) -> int:
    """Register a new project: the government commits its grant and lends its policy loan (drawn from its
    envelope now, in force for params.project_life years, ODD 7.1), the site starts building."""
    c = int(w.geo.country[region])
    gov = w.policy.governments[c]
    t = w.clock.step
    if loan > 0:
        lent = gov.lend(loan)
        w.policy.loan_available[c] = gov.loan_budget if gov.loan_share > 0 else 0.0
        if lent > 0:
            w.policy.record_loan(firm, c, lent, gov.loan_rate_cut, t, t + int(round(4 * sc.params.project_life)))
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
    min(1, transfer_per_capex × demand) of their gap to the recipient's technology, in that segment (ODD 7.6)."""
    share = min(1.0, sc.knowledge.transfer_per_capex * demand)
    if share <= 0:
        return
    tech = w.chain.tech[:, segment]                  # a view: the levels in the project's segment
    s = w.sites
    live = s.select(LIVE) & (s.col("segment") == segment)
    local = np.unique(s.col("firm")[live])
    local = local[(w.firms.home[local] == country) & (local != firm) & (tech[local] < tech[firm])]
    tech[local] += share * (tech[firm] - tech[local])


PHASE = firms_invest
