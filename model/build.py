"""Build a :class:`~model.world.World` from a validated scenario, in dependency order.

Every sub-state is built from the ones before it; nothing is read before it
exists.  The random draws happen in a fixed order (generated firms, the
initial partnerships, the firms with visibility), so a seed gives the same
world on every backend.  Initial partnerships form before the events of the
first quarter are in force (the events book exists, but has not fired).
"""

from __future__ import annotations

import numpy as np

from . import decisions, network
from .events import EventBook
from .geography import Geography
from .phases import events as events_phase
from .phases import supply as supply_phase
from .scenario import FAB_SEGMENTS, SEGMENTS, Meta, Scenario, ScenarioError, Site, SiteStatus, start_step_of_year
from .sites import BUILDING, OPERATING, SiteRegistry
from .world import (FIRM_FLOWS, Clock, Counters, Firms, FundState, GovernmentState, InstituteState, Ledger, Levers,
                    Log, Markets, Policy, Risk, Segments, SupplyOutcome, ValueChain, World)
from .queries import unit_cost_index
from .phases.markets import market_update

__all__ = ["build_world"]


def build_world(sc: Scenario, rng: np.random.Generator) -> World:
    """The world at step 0 of scenario ``sc`` (draws from ``rng``)."""
    geo = Geography.from_scenario(sc)
    segments = build_segments(sc)
    governments = build_governments(sc, geo)
    sites = SiteRegistry(capacity_hint=256 + sc.n_generated_firms * 2)
    firms, cash = build_firms(sc, geo, sites)
    generate_firms(sc, geo, segments, firms, cash, sites, rng)
    n_f, n_c = firms.n, len(geo.countries)
    events = EventBook(sc, geo, firms.ids, governments)
    policy = Policy(governments=governments,
                    concern=np.array([c in sc.params.concern_countries for c in geo.countries]),
                    screens=np.array([sc.governments[c].screens_concern for c in geo.countries], dtype=bool),
                    guardrail_until=np.full(n_f, -1, dtype=np.int64),
                    corporate_tax=np.array([sc.params.tax_rate if sc.governments[c].corporate_tax is None
                                            else sc.governments[c].corporate_tax for c in geo.countries]),
                    local_share=np.array([sc.governments[c].local_sourcing_share for c in geo.countries]))
    policy.refresh(events)
    ledger = Ledger(cash=np.array(cash, dtype=float), debt=np.zeros(n_f),
                    flows={k: np.zeros(n_f) for k in FIRM_FLOWS})
    markets = build_markets(sc, geo, segments, sites)
    markets.expected_price = np.tile(markets.price, (n_f, 1))          # expectations start at step 0's market
    markets.expected_utilisation = np.tile(markets.utilisation, (n_f, 1))
    risk = build_risk(sc, geo, n_f)
    cap = sites.sum_by(("firm", "segment"), (n_f, len(SEGMENTS)))
    chain = build_value_chain(sc, geo, segments, firms, sites, cap)
    supply = SupplyOutcome(output=np.zeros_like(cap), reroute_cost=np.zeros(n_f),
                           trade=np.zeros((n_c, n_c, len(SEGMENTS))), input_share=np.ones(len(SEGMENTS)),
                           received=np.zeros((n_f, n_c, len(SEGMENTS))),
                           shortfall_by_segment=np.zeros(len(SEGMENTS)),
                           shortfall_by_country=np.zeros(n_c))
    meta = sc.meta
    w = World(segments=segments, geo=geo, firms=firms, sites=sites, policy=policy, events=events, risk=risk,
              markets=markets, chain=chain, supply=supply, ledger=ledger, counters=Counters(), log=Log(),
              clock=Clock(step=0, start_year=meta.start_year, start_q=meta.start_q, horizon=meta.horizon))
    supply_phase.refresh_firm_costs(w, sc, cap)
    supply_phase.form_partnerships(w, sc, rng, cap, supply_phase.main_region(w))
    # Events that start in the first quarter are in force at step 0.
    events.fire(0, rng, sites, governments)
    policy.refresh(events)
    # Investment protection shields the bilateral part of investor risk; firms
    # start out pricing the risk of the relations and sanctions in force.
    risk.shield = events_phase.protection_shield(chain.levers.protected, chain.levers.protection_strength)
    risk.bilateral = events_phase.current_bilateral(w, sc)
    risk.perceived = events_phase.priced_risk(risk.country, risk.bilateral, geo.country)
    share = sc.resilience.visibility_share
    risk.visible = (rng.random(n_f) < share) if share > 0 else np.zeros(n_f, dtype=bool)
    markets.unit_cost_base = unit_cost_index(w, sc, raw=True)
    return w


def build_risk(sc: Scenario, geo: Geography, n_firms: int) -> Risk:
    """Investor risk at the start (docs/ODD.md §7.18): country risk per region, standing bilateral risk per pair.

    ``perceived`` and ``bilateral`` are set once the levers and the events in
    force at step 0 are known (:func:`build_world`).
    """
    n_c = len(geo.countries)
    cidx = {c: i for i, c in enumerate(geo.countries)}
    regs = [sc.regions[r] for r in geo.ids]
    country = np.array([r.political_risk if r.investor_risk is None else r.investor_risk for r in regs], dtype=float)
    ir = sc.investor_risk
    base = events_phase.bilateral_base(geo.country_bloc, ir.same_bloc, ir.other_bloc,
                                       [(cidx[p.a], cidx[p.b], p.premium) for p in ir.pairs])
    return Risk(perceived=np.tile(country, (n_c, 1)), country=country, pair_base=base, shield=np.ones((n_c, n_c)),
                bilateral=np.zeros((n_c, n_c)), uncertainty=np.zeros((n_c, geo.n)),
                visible=np.zeros(n_firms, dtype=bool), deferral_count=np.zeros((n_firms, len(SEGMENTS)), dtype=np.int64))


def build_segments(sc: Scenario) -> Segments:
    """Per-segment arrays; the input coefficients as a downstream × upstream matrix."""
    segs = [sc.segments[s] for s in SEGMENTS]
    n = len(SEGMENTS)
    coef = np.zeros((n, n))
    for d, seg in enumerate(segs):
        for u, a in seg.input_coefficients.items():
            coef[d, SEGMENTS.index(u)] = a
    return Segments(
        ids=list(SEGMENTS), coef=coef, linked=(coef > 0) | (coef.T > 0),
        is_final=np.array([s.demand_growth is not None for s in segs]),
        growth_final=np.array([s.demand_growth or 0.0 for s in segs]),
        lag=np.array([s.construction_lag for s in segs], dtype=np.int64),
        labour_intensity=np.array([s.labour_intensity for s in segs]),
        project_size=np.array([s.project_size for s in segs]),
        capex_per_capacity=np.array([s.capex_per_capacity for s in segs]),
        base_price=np.array([s.price for s in segs]),
        cost_share=np.array([s.cost_share for s in segs]),
        workers=np.array([s.workers_per_capacity for s in segs]),
        ramp=np.array([s.ramp_quarters for s in segs], dtype=np.int64),
        tech_premium=np.array([s.tech_premium for s in segs], dtype=float),
        le_threshold=np.array([np.nan if s.leading_edge_threshold is None else s.leading_edge_threshold
                               for s in segs], dtype=float),
        fab_mask=np.array([s in FAB_SEGMENTS for s in SEGMENTS]),
    )


def build_governments(sc: Scenario, geo: Geography) -> list[GovernmentState]:
    """One government per country, in country order."""
    out = []
    for cidx, code in enumerate(geo.countries):
        g = sc.governments[code]
        out.append(GovernmentState(
            cidx=cidx, code=code, name=g.name or code, bloc=g.bloc, subsidy_rate=g.subsidy_rate, budget=g.budget,
            annual_budget=g.annual_budget, tax_credit=g.tax_credit, tariff=g.tariff,
            tariff_exempt=list(g.tariff_exempt), market_share=g.market_share,
            loan_budget=g.loan_budget, loan_share=g.loan_share, loan_rate_cut=g.loan_rate_cut,
            loan_home_only=g.loan_home_only, conditions=g.conditions.model_copy(), rules=g))
    return out


def _add_firm(firms: Firms, cash: list[float], firm_id: str, name: str, home: int, kind: str,
              risk_aversion: float, money: float) -> int:
    firms.ids.append(firm_id)
    firms.names.append(name or firm_id)
    firms.kind.append(kind)
    firms.home = np.append(firms.home, home).astype(np.int64)
    firms.risk_aversion = np.append(firms.risk_aversion, float(risk_aversion))
    firms.sites.append([])
    cash.append(money)
    return len(firms.ids) - 1


def site_exists_at_start(site: Site, meta: Meta) -> bool:
    """Whether a site of the data is in the start state: with ``meta.unstarted_sites = "decided"``
    a site whose construction begins in or after the start year is left for the firms to decide."""
    return not (meta.unstarted_sites == "decided" and site.construction_start is not None
                and site.construction_start >= meta.start_year)


def build_firms(sc: Scenario, geo: Geography, sites: SiteRegistry) -> tuple[Firms, list[float]]:
    """The scenario's firms with their existing and announced sites."""
    firms = Firms(ids=[], names=[], kind=[], home=np.zeros(0, dtype=np.int64), risk_aversion=np.zeros(0),
                  sites=[])
    cash: list[float] = []
    cidx = {c: i for i, c in enumerate(geo.countries)}
    ridx = {r: i for i, r in enumerate(geo.ids)}
    meta = sc.meta
    for fid, spec in sc.firms.items():
        f = _add_firm(firms, cash, fid, spec.name, cidx[spec.home], spec.kind, spec.risk_aversion, spec.cash)
        for site in spec.sites:
            if not site_exists_at_start(site, meta):
                continue
            if site.status == SiteStatus.BUILDING:
                online, status = max(1, start_step_of_year(meta, site.online)), BUILDING
            elif site.since is not None and site.since >= meta.start_year:
                # A scenario starting before the site began (e.g. a 2019 backcast).
                online, status = max(1, start_step_of_year(meta, site.since)), BUILDING
            else:
                online, status = 0, OPERATING
            capacity = site.capacity
            if site.capacity_2020 is not None and meta.unstarted_sites == "decided" and meta.start_year <= 2021:
                capacity = site.capacity_2020      # the site as it stood at the end of 2020 (a backcast)
            if capacity <= 0:
                continue
            firms.add_site(sites, f, ridx[site.region], SEGMENTS.index(site.segment), capacity, status,
                     start_step=-1, online_step=online, leading_edge=site.leading_edge, product=site.product)
    return firms, cash


def generate_firms(sc: Scenario, geo: Geography, segments: Segments, firms: Firms, cash: list[float],
                   sites: SiteRegistry, rng: np.random.Generator) -> None:
    """Add ``n_generated_firms`` firms drawn from the scenario's [generated] distributions."""
    n = sc.n_generated_firms
    if n <= 0:
        return
    gen = sc.generated
    present = sites.capacity_by(OPERATING, geo.n, len(SEGMENTS))
    if gen.home_weights:
        w_home = np.array([gen.home_weights.get(c, 0.0) for c in geo.countries])
    else:
        fab = present[:, segments.fab_mask].sum(axis=1)
        w_home = np.bincount(geo.country, weights=fab, minlength=len(geo.countries))
    if gen.segment_weights:
        w_seg = np.array([gen.segment_weights.get(s, 0.0) for s in SEGMENTS])
    else:
        w_seg = present.sum(axis=0)
    # A home country without regions cannot host its firm's first site.
    has_region = np.bincount(geo.country, minlength=len(geo.countries)) > 0
    w_home = np.where(has_region, w_home, 0.0)
    if w_home.sum() <= 0 or w_seg.sum() <= 0:
        raise ScenarioError("generated.home_weights / generated.segment_weights: weights must not all be zero "
                            "(and a home country needs at least one region)")
    homes = rng.choice(len(geo.countries), size=n, p=w_home / w_home.sum())
    segs = rng.choice(len(SEGMENTS), size=n, p=w_seg / w_seg.sum())
    sizes = gen.size_median * np.exp(gen.size_sigma * rng.standard_normal(n))
    risk = rng.uniform(gen.risk_aversion_low, gen.risk_aversion_high, size=n)
    u_region = rng.random(n)
    width = len(str(n))
    # Grow the firm arrays once, then fill them (appending one by one is quadratic).
    start = firms.n
    firms.home = np.concatenate([firms.home, homes.astype(np.int64)])
    firms.risk_aversion = np.concatenate([firms.risk_aversion, risk.astype(float)])
    for k in range(n):
        regions = np.flatnonzero(geo.country == homes[k])
        wt = present[regions, segs[k]] + 0.1 * sc.params.agglomeration_scale
        r = regions[decisions.sample_choice(wt / wt.sum(), u_region[k])]
        firms.ids.append(f"gen_{k:0{width}d}")
        firms.names.append(f"Generated {k}")
        firms.kind.append("generated")
        firms.sites.append([])
        cash.append(float(sizes[k] * gen.cash_per_capacity))
        firms.add_site(sites, start + k, int(r), int(segs[k]), float(sizes[k]), OPERATING,
                 start_step=-1, online_step=0)


def build_markets(sc: Scenario, geo: Geography, segments: Segments, sites: SiteRegistry) -> Markets:
    """Initial demand is initial utilisation × operating capacity; prices follow from it."""
    op = sites.capacity_by(OPERATING, geo.n, len(SEGMENTS)).sum(axis=0)
    n = len(SEGMENTS)
    mk = Markets(demand_initial=sc.params.initial_utilisation * op, demand=np.zeros(n), utilisation=np.zeros(n),
                 price=segments.base_price.copy(), expected_growth=segments.growth_final.copy())
    market_update(mk, segments, sc.params, op, step=0)
    return mk


def build_levers(sc: Scenario, geo: Geography) -> Levers:
    """The co-creation levers as country masks (docs/ODD.md §7.11-7.15)."""
    co = sc.cocreation
    cidx = {c: i for i, c in enumerate(geo.countries)}

    def member_mask(lever) -> np.ndarray:
        mask = np.zeros(len(geo.countries), dtype=bool)
        if lever.enabled:
            mask[[cidx[c] for c in co.members_of(lever)]] = True
        return mask

    return Levers(
        protected=member_mask(co.investment_protection), protection_strength=co.investment_protection.strength,
        harmonised=member_mask(co.export_control), harmonise_strength=co.export_control.strength,
        talent_members=member_mask(co.talent), talent_mobility=co.talent.mobility,
        standard_members=member_mask(co.standards), standards_reduction=co.standards.switching_cost_reduction,
        ip_keep=network.follower_keep(co.ip.regime, co.ip.licence_years, co.ip.licence_scope,
                                      co.ip.reference_years, sc.knowledge.joint_ownership_leakage),
        ip_joint_keep=sc.knowledge.joint_ownership_leakage,
        ip_licence=co.ip.regime == "licence",
        ip_members=np.isin(np.array(geo.countries), co.members),
        licence_quarters=int(round(4 * co.ip.licence_years)),
    )


def initial_technology(sc: Scenario, segments: Segments, firms: Firms, sites: SiteRegistry,
                       cap: np.ndarray) -> np.ndarray:
    """Technology per firm and segment (firm × segment): given in the scenario, else derived from the firm's
    operating sites in the segment (docs/ODD.md §5.5).

    With floor τ0 = ``knowledge.technology_floor``: in a fab segment d, τ0 + (1 − τ0) × the leading-edge share
    of the firm's operating capacity in d; in another segment, τ0 + (1 − τ0) × sqrt(its capacity in d relative
    to the largest firm's there); in a segment where it has no operating capacity, τ0 (nothing shows a lead
    there, and a lead in one process does not carry to another: Samsung leads in memory, not in foundry logic;
    model assumption).  A firm's ``technology`` replaces the derived level in every segment, its
    ``technology_by_segment`` in the segments it names.  A firm in one segment gets the level kyoso had per
    firm before levels were per segment.
    """
    n_f, n_s = cap.shape
    lead_sites = sites.select(OPERATING) & sites.col("leading_edge")
    lead = sites.sum_by(("firm", "segment"), (n_f, n_s), weight=lead_sites.astype(float))
    seg_max = cap.max(axis=0) if n_f else np.zeros(n_s)
    rel = np.divide(cap, seg_max, out=np.zeros_like(cap), where=seg_max > 0)
    share = np.divide(lead, cap, out=np.zeros_like(cap), where=cap > 0)
    floor = sc.knowledge.technology_floor
    span = 1.0 - floor
    tech = np.where(segments.fab_mask[None, :], floor + span * share, floor + span * np.sqrt(rel))
    tech[cap <= 0] = floor
    for f, fid in enumerate(firms.ids):
        spec = sc.firms.get(fid)
        if spec is None:
            continue
        if spec.technology is not None:
            tech[f] = spec.technology
        for seg, level in spec.technology_by_segment.items():
            tech[f, SEGMENTS.index(seg)] = level
    return tech


def build_value_chain(sc: Scenario, geo: Geography, segments: Segments, firms: Firms, sites: SiteRegistry,
                      cap: np.ndarray) -> ValueChain:
    """Levers, country-pair trust, technology, institutes, the fund; no partnerships yet."""
    n_c, n_f = len(geo.countries), firms.n
    cidx = {c: i for i, c in enumerate(geo.countries)}
    net = sc.network
    trust = np.full((n_c, n_c), net.default_trust)
    np.fill_diagonal(trust, net.domestic_trust)
    for ct in net.country_trust:
        a, b = cidx[ct.a], cidx[ct.b]
        trust[a, b] = trust[b, a] = ct.trust
    co = sc.cocreation
    fund = (FundState(spec=co.fund, members=[cidx[c] for c in co.members_of(co.fund)], budget=co.fund.budget)
            if co.fund.enabled else None)
    fab_idx = np.flatnonzero(segments.fab_mask)
    return ValueChain(
        levers=build_levers(sc, geo),
        partners=network.PartnershipBook(capacity_hint=64 + 8 * n_f),
        country_trust=trust,
        tech=initial_technology(sc, segments, firms, sites, cap),
        institutes=[InstituteState(key=key, name=i.name or key, country=cidx[i.country], researchers=i.researchers)
                    for key, i in sc.institutes.items()],
        fund=fund,
        firm_unit_cost=np.zeros_like(cap),
        firm_capacity_total=cap.sum(axis=1),
        location_share=np.zeros((n_f, len(SEGMENTS), n_c)),
        main_fab_segment=fab_idx[cap[:, fab_idx].argmax(axis=1)] if n_f else np.zeros(0, dtype=np.int64),
        upcoming=np.zeros((n_c, n_c, len(SEGMENTS))),
        fund_grants=np.zeros(n_f),
    )
