"""ChipModel: the world is built in ``__init__``; ``step()`` is one quarter.

The schedule (docs/ODD.md §3) in ``step()``:

1. events fire (scheduled and random shocks); firms update perceived risk
2. governments set policy (appropriations, strategic targets, conditions, tariffs)
3. demand and prices update (markets)
4. firms decide whether to invest, and where (trigger, deferral, location logit)
5. construction advances (capex spent, subsidies paid on milestones, delays)
6. supply: partnerships form and are reviewed, inputs flow, output follows
7. learning: trust, knowledge spillovers, the joint fund's projects
8. production and accounting
9. data collection
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import decisions, knowledge, markets, metrics, network, supply
from .agents import Firm, Government, Institute, JointFund
from .events import EventBook
from .geography import Geography
from .records import Recorder, quarter_label
from .scenario import FAB_SEGMENTS, SEGMENTS, Scenario, ScenarioError, SiteStatus, load_scenario
from .sites import BUILDING, OFFLINE, OPERATING, SiteRegistry

__all__ = ["ChipModel"]

#: Thousand wafers/month × 3 months × USD per wafer → USD bn per quarter.
KWPM_QUARTER_TO_USD_BN = 1000 * 3 / 1e9


class ChipModel(mesa.Model):
    """Semiconductor location and investment model (one step = one quarter).

    ``ChipModel(scenario="baseline", rng=1, governments__US__subsidy_rate=0.2)``:
    ``scenario`` is a built-in name, a TOML path or a :class:`Scenario`;
    keyword overrides are dotted paths with ``__`` for dots.  The validated
    scenario is ``model.spec`` (``model.scenario`` is Mesa's own object).
    """

    def __init__(self, scenario: str | Path | Scenario = "baseline", *, rng: Any = None,
                 **overrides: Any) -> None:
        super().__init__(rng=rng)
        self.spec: Scenario = load_scenario(scenario, **overrides)
        p = self.spec.params
        self.geo = Geography.from_scenario(self.spec)
        self._build_segments()
        self.term_weights = np.array([
            p.w_subsidy, p.w_labour, p.w_risk, p.w_infrastructure, p.w_skill, p.w_agglomeration,
            p.w_home, p.w_bloc, p.w_tariff, p.w_distance, p.w_coordination, p.w_expansion,
        ])
        self.log_wage = np.log(self.geo.labour_cost / p.reference_wage)
        self._build_governments()
        self.sites = SiteRegistry(capacity_hint=256 + self.spec.n_generated_firms * 2)
        self.firm_list: list[Firm] = []
        self.firm_sites: list[list[int]] = []
        self._build_firms()
        self._generate_firms(self.spec.n_generated_firms)
        n_f = len(self.firm_list)
        self.firm_home = np.array([f.home for f in self.firm_list], dtype=np.int64)
        self.cash = np.array(self._initial_cash, dtype=float)
        self.debt = np.zeros(n_f)
        self.flows = {k: np.zeros(n_f) for k in ("revenue", "opex", "capex", "subsidy", "tax_credit", "interest",
                                                 "fund")}
        self.site_unit_cost = np.zeros(0)
        self.quarter_investments = 0
        self.quarter_investment_capex = 0.0
        self._init_markets()
        self._init_value_chain()
        self._init_shocks()
        self.unit_cost_base = None
        self.unit_cost_base = self.unit_cost_index(raw=True)

        names = metrics.metric_names(self.geo.countries, self.geo.blocs)
        self._row: dict[str, float] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={"quarter": lambda m: m.quarter_of(m.steps),
                             **{n: (lambda m, n=n: m._row[n]) for n in names}}
        )
        self.recorder = Recorder()
        self.horizon = self.spec.meta.horizon
        self.running = True
        self.collect()

    # ================================================================ schedule
    def step(self) -> None:
        """One quarter, in the order of docs/ODD.md §3."""
        self.fire_events()              # ODD 3.1  shocks start and end; firms update perceived risk
        self.governments_set_policy()   # ODD 3.2  policy: appropriations, targets, conditions, tariffs
        self.update_markets()           # ODD 3.3  demand, utilisation, prices
        self.firms_invest()             # ODD 3.4  investment trigger, deferral, location choice
        self.advance_construction()     # ODD 3.5  capex, milestone subsidies, delays, completion
        self.supply_chain()             # ODD 3.6  partnerships, orders, rationing, deliveries
        self.learn()                    # ODD 3.7  trust, knowledge, joint-fund projects
        self.produce_and_account()      # ODD 3.8  revenue, costs, cash and debt
        self.collect()                  # ODD 3.9  metrics and tables
        if self.steps >= self.horizon:
            self.running = False

    def run(self, quarters: int | None = None) -> ChipModel:
        """Run ``quarters`` steps (default: the scenario horizon) and return self."""
        for _ in range(self.horizon if quarters is None else quarters):
            self.step()
        return self

    # ============================================================ construction
    def _build_segments(self) -> None:
        sc = self.spec
        segs = [sc.segments[s] for s in SEGMENTS]
        self.segment_ids = list(SEGMENTS)
        n = len(SEGMENTS)
        self.coef = np.zeros((n, n))
        for d, seg in enumerate(segs):
            for u, a in seg.input_coefficients.items():
                self.coef[d, SEGMENTS.index(u)] = a
        self.linked = (self.coef > 0) | (self.coef.T > 0)
        self.is_final = np.array([s.demand_growth is not None for s in segs])
        self.growth_final = np.array([s.demand_growth or 0.0 for s in segs])
        self.lag = np.array([s.construction_lag for s in segs], dtype=np.int64)
        self.labour_intensity = np.array([s.labour_intensity for s in segs])
        self.project_size = np.array([s.project_size for s in segs])
        self.capex_per_capacity = np.array([s.capex_per_capacity for s in segs])
        self.base_price = np.array([s.price for s in segs])
        self.cost_share = np.array([s.cost_share for s in segs])
        self.workers = np.array([s.workers_per_capacity for s in segs])
        self.fab_mask = np.array([s in FAB_SEGMENTS for s in SEGMENTS])

    def _build_governments(self) -> None:
        sc = self.spec
        self.governments: list[Government] = []
        for cidx, code in enumerate(self.geo.countries):
            g = sc.governments[code]
            self.governments.append(Government(
                self, cidx, code, g.name, g.bloc, g.subsidy_rate, g.budget, g.annual_budget,
                g.tax_credit, g.tariff, g.tariff_exempt, g.market_share, g.conditions.model_copy(), rules=g,
            ))
        n_c = len(self.governments)
        self.concern = np.array([c in sc.params.concern_countries for c in self.geo.countries])
        self.exempt = np.zeros((n_c, n_c), dtype=bool)
        self._policy_arrays()

    def _policy_arrays(self) -> None:
        """Country-level policy as arrays, and each region's tariff exposure."""
        gs = self.governments
        cidx = {c: i for i, c in enumerate(self.geo.countries)}
        self.exempt[:] = False
        for g in gs:
            for ex in g.tariff_exempt:
                self.exempt[g.cidx, cidx[ex]] = True
        self.gov_rate = np.array([g.subsidy_rate for g in gs])
        self.gov_available = np.array([g.available for g in gs])
        self.gov_tax_credit = np.array([g.tax_credit for g in gs])
        self.gov_condition = np.array([g.condition_cost for g in gs])
        self.gov_concern_cost = np.array([g.conditions.concern_ban for g in gs])
        self.gov_market = np.array([g.market_share for g in gs])
        if hasattr(self, "events"):
            self.tariff_matrix = self.events.tariff
            self.tariff_exempt_local = self.events.tariff_exempt_local
        else:
            self.tariff_matrix = np.where(self.exempt, 0.0, np.array([g.tariff for g in gs])[:, None])
            np.fill_diagonal(self.tariff_matrix, 0.0)
            self.tariff_exempt_local = np.zeros(len(gs), dtype=bool)

    def _start_step_of_year(self, year: int) -> int:
        meta = self.spec.meta
        return (year - meta.start_year) * 4 - (meta.start_q - 1)

    def _add_firm(self, firm_id: str, name: str, home: int, kind: str, risk_aversion: float,
                  cash: float) -> Firm:
        firm = Firm(self, len(self.firm_list), firm_id, name, home, kind, risk_aversion)
        self.firm_list.append(firm)
        self.firm_sites.append([])
        self._initial_cash.append(cash)
        return firm

    def _build_firms(self) -> None:
        self._initial_cash: list[float] = []
        cidx = {c: i for i, c in enumerate(self.geo.countries)}
        ridx = {r: i for i, r in enumerate(self.geo.ids)}
        for fid, spec in self.spec.firms.items():
            firm = self._add_firm(fid, spec.name, cidx[spec.home], spec.kind, spec.risk_aversion, spec.cash)
            for site in spec.sites:
                if site.status == SiteStatus.BUILDING:
                    online = max(1, self._start_step_of_year(site.online))
                    status = BUILDING
                elif site.since is not None and site.since >= self.spec.meta.start_year:
                    # A scenario starting before the site began (e.g. a 2019 backcast).
                    online = max(1, self._start_step_of_year(site.since))
                    status = BUILDING
                else:
                    online, status = 0, OPERATING
                self._add_site(firm.idx, ridx[site.region], SEGMENTS.index(site.segment), site.capacity,
                               status, start_step=-1, online_step=online,
                               leading_edge=site.leading_edge, product=site.product)

    def _add_site(self, firm: int, region: int, segment: int, capacity: float, status: int,
                  **kw: Any) -> int:
        i = self.sites.add(firm=firm, region=region, segment=segment, capacity=capacity,
                           status=status, **kw)
        self.firm_sites[firm].append(i)
        return i

    def _generate_firms(self, n: int) -> None:
        """Add ``n`` firms drawn from the scenario's [generated] distributions."""
        if n <= 0:
            return
        gen = self.spec.generated
        geo = self.geo
        present = self.sites.capacity_by(OPERATING, geo.n, len(SEGMENTS))
        if gen.home_weights:
            w_home = np.array([gen.home_weights.get(c, 0.0) for c in geo.countries])
        else:
            fab = present[:, self.fab_mask].sum(axis=1)
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
        rng = self.rng
        homes = rng.choice(len(geo.countries), size=n, p=w_home / w_home.sum())
        segs = rng.choice(len(SEGMENTS), size=n, p=w_seg / w_seg.sum())
        sizes = gen.size_median * np.exp(gen.size_sigma * rng.standard_normal(n))
        risk = rng.uniform(gen.risk_aversion_low, gen.risk_aversion_high, size=n)
        u_region = rng.random(n)
        width = len(str(n))
        for k in range(n):
            regions = np.flatnonzero(geo.country == homes[k])
            w = present[regions, segs[k]] + 0.1 * self.spec.params.agglomeration_scale
            r = regions[decisions.sample_choice(w / w.sum(), u_region[k])]
            firm = self._add_firm(f"gen_{k:0{width}d}", f"Generated {k}", int(homes[k]), "generated",
                                  float(risk[k]), float(sizes[k] * gen.cash_per_capacity))
            self._add_site(firm.idx, int(r), int(segs[k]), float(sizes[k]), OPERATING,
                           start_step=-1, online_step=0)

    def _init_markets(self) -> None:
        op = self.sites.capacity_by(OPERATING, self.geo.n, len(SEGMENTS)).sum(axis=0)
        u0 = self.spec.params.initial_utilisation
        self.demand_initial = u0 * op
        self.demand = np.zeros(len(SEGMENTS))
        self.utilisation = np.zeros(len(SEGMENTS))
        self.price = self.base_price.copy()
        self.expected_growth = self.growth_final.copy()
        self._market_update(op, step=0)

    def _init_value_chain(self) -> None:
        """Technology levels, trust, co-creation levers, institutes, the fund, partnerships."""
        sc = self.spec
        geo = self.geo
        n_c = len(geo.countries)
        cidx = {c: i for i, c in enumerate(geo.countries)}
        co = sc.cocreation

        def member_mask(lever) -> np.ndarray:
            mask = np.zeros(n_c, dtype=bool)
            if lever.enabled:
                mask[[cidx[c] for c in co.members_of(lever)]] = True
            return mask

        self.protected = member_mask(co.investment_protection)
        self.protection_strength = co.investment_protection.strength
        self.harmonised = member_mask(co.export_control)
        self.harmonise_strength = co.export_control.strength
        self.talent_members = member_mask(co.talent)
        self.talent_mobility = co.talent.mobility
        self.standard_members = member_mask(co.standards)
        self.standards_reduction = co.standards.switching_cost_reduction
        self.ip_keep = network.follower_keep(co.ip.regime, co.ip.licence_years, co.ip.licence_scope,
                                             co.ip.reference_years, sc.knowledge.joint_ownership_leakage)
        # Country-pair trust: domestic, listed pairs, default.
        net = sc.network
        self.country_trust = np.full((n_c, n_c), net.default_trust)
        np.fill_diagonal(self.country_trust, net.domestic_trust)
        for ct in net.country_trust:
            a, b = cidx[ct.a], cidx[ct.b]
            self.country_trust[a, b] = self.country_trust[b, a] = ct.trust
        # Technology: given per firm, else derived from its sites (docs/ODD.md §5).
        cap = supply.operating_capacity(self)
        s = self.sites
        lead = np.zeros(len(self.firm_list))
        op = s.col("status") == OPERATING
        fab_site = op & self.fab_mask[s.col("segment")]
        np.add.at(lead, s.col("firm")[fab_site & s.col("leading_edge")], s.col("capacity")[fab_site & s.col("leading_edge")])
        fab_cap = cap[:, self.fab_mask].sum(axis=1)
        seg_max = cap.max(axis=0)
        rel = np.divide(cap, seg_max, out=np.zeros_like(cap), where=seg_max > 0).max(axis=1)
        derived = np.where(fab_cap > 0, 0.5 + 0.5 * np.divide(lead, fab_cap, out=np.zeros_like(lead), where=fab_cap > 0),
                           0.5 + 0.5 * np.sqrt(rel))
        given = [self.spec.firms[f.firm_id].technology if f.firm_id in self.spec.firms else None
                 for f in self.firm_list]
        self.tech = np.array([g if g is not None else d for g, d in zip(given, derived)], dtype=float)
        self.institutes = [Institute(self, key, i.name, cidx[i.country], i.researchers)
                           for key, i in sc.institutes.items()]
        self.fund = (JointFund(self, co.fund, [cidx[c] for c in co.members_of(co.fund)])
                     if co.fund.enabled else None)
        self.partners = network.PartnershipBook(capacity_hint=64 + 8 * len(self.firm_list))
        self.supply_shortfall = 0.0
        self.shortfall_by_segment = np.zeros(len(SEGMENTS))
        self.output_fs = np.zeros_like(cap)
        self.supply_plan = np.zeros_like(cap)
        self.spot_deliveries = 0.0
        self.quarter_delays = 0
        self.total_delays = 0
        self.partnership_changes = 0
        self._refresh_firm_costs(cap)
        supply.form_partnerships(self, cap, supply._main_region(self))

    def _init_shocks(self) -> None:
        """Events, learned risk, visibility, and the counters the shock metrics read."""
        geo = self.geo
        n_c, n_f = len(geo.countries), len(self.firm_list)
        self.events = EventBook(self)
        self.events.fire()          # events that start in the first quarter are in force at step 0
        self._policy_arrays()
        self.perceived = np.tile(geo.political_risk, (n_c, 1))     # home country × region
        self.uncertainty = np.zeros((n_c, geo.n))
        share = self.spec.resilience.visibility_share
        self.visible = (self.rng.random(n_f) < share) if share > 0 else np.zeros(n_f, dtype=bool)
        self.deferral_count = np.zeros((n_f, len(SEGMENTS)), dtype=np.int64)
        self.extra_opex = np.zeros(n_f)
        self.quarter_deferrals = 0
        self.deferral_quarters_total = 0
        self.new_capacity_total = 0.0
        self.friendshored_total = 0.0
        self.completed_capacity_total = 0.0
        self.stranded = 0.0
        self.stranded_capital = 0.0
        self.shortfall_by_country = np.zeros(n_c)

    def _refresh_firm_costs(self, cap: np.ndarray) -> None:
        """Capacity-weighted unit cost of each firm in each segment (USD per unit)."""
        s = self.sites
        op = s.col("status") == OPERATING
        n_f = len(self.firm_list)
        cost = np.zeros((n_f, len(SEGMENTS)))
        np.add.at(cost, (s.col("firm")[op], s.col("segment")[op]), (self._site_unit_cost() * s.col("capacity"))[op])
        self.firm_unit_cost = np.where(cap > 0, np.divide(cost, cap, out=np.zeros_like(cost), where=cap > 0),
                                       self.base_price * self.cost_share)
        self.firm_capacity_total = cap.sum(axis=1)

    # ================================================================== phases
    def fire_events(self) -> None:
        """Shocks start and end; firms update the risk they perceive (ODD 3.1).

        Perceived risk P[h, r] of firms from country h for region r follows the
        signal (the region's political risk plus the impulses of events that hit
        the region or the home country) by exponential smoothing; uncertainty U
        smooths the squared surprise.
        """
        self.events.fire()
        learn = self.spec.learning
        a = learn.smoothing
        signal = self.geo.political_risk[None, :] + learn.impulse * self.events.impulse
        surprise = signal - self.perceived
        self.perceived += a * surprise
        self.uncertainty = (1.0 - a) * self.uncertainty + a * surprise**2

    def governments_set_policy(self) -> None:
        """Governments top up budgets, steer subsidies toward their targets and
        tighten conditions; tariffs (with tit-for-tat) come from the events; every
        region's skilled-labour pool grows by params.skilled_labour_growth (ODD 3.2, 7.7)."""
        op = self.sites.capacity_by(OPERATING, self.geo.n, len(SEGMENTS))[:, self.fab_mask].sum(axis=1)
        share = metrics.shares(np.bincount(self.geo.country, weights=op, minlength=len(self.geo.countries)))
        for g in self.governments:
            g.set_policy(float(share[g.cidx]))
        self._policy_arrays()
        self.geo.skilled_labour *= (1.0 + self.spec.params.skilled_labour_growth) ** 0.25

    def update_markets(self) -> None:
        """Demand grows, utilisation and prices respond to operating capacity."""
        op = self.sites.capacity_by(OPERATING, self.geo.n, len(SEGMENTS)).sum(axis=0)
        self._market_update(op, self.steps)

    def _market_update(self, op: np.ndarray, step: int) -> None:
        p = self.spec.params
        final = markets.final_demand(self.demand_initial, self.growth_final, step)
        fab_out = np.where(self.is_final, np.minimum(final, op), 0.0)
        self.demand = markets.derived_demand(self.coef, fab_out, final, self.is_final)
        self.utilisation = markets.utilisation(self.demand, op)
        self.price = markets.price(self.base_price, self.demand, op, p.target_utilisation,
                                   p.price_elasticity, p.price_floor, p.price_cap)
        # Derived segments expect the output-weighted growth of their customers.
        w = fab_out[:, None] * self.coef
        tot = w.sum(axis=0)
        derived_growth = np.divide(self.growth_final @ w, tot, out=np.zeros(len(tot)), where=tot > 0)
        self.expected_growth = np.where(self.is_final, self.growth_final, derived_growth)

    def firms_invest(self) -> None:
        """Investment trigger for every (firm, segment), then location choice for those that invest."""
        p = self.spec.params
        n_seg = len(SEGMENTS)
        s = self.sites
        live = s.col("status") != OFFLINE
        firm_col, seg_col, cap_col = s.col("firm")[live], s.col("segment")[live], s.col("capacity")[live]
        n_f = len(self.firm_list)
        cap_fs = np.zeros((n_f, n_seg))
        np.add.at(cap_fs, (firm_col, seg_col), cap_col)
        seg_total = cap_fs.sum(axis=0)
        gap = decisions.capacity_gap(self.demand, self.expected_growth, self.lag, seg_total,
                                     p.target_utilisation)
        self.quarter_investments = 0
        self.quarter_investment_capex = 0.0
        self.quarter_deferrals = 0
        if not (gap > 0).any():
            return
        share = np.divide(cap_fs, seg_total, out=np.zeros_like(cap_fs), where=seg_total > 0)
        prob = decisions.investment_probability(share, gap, self.project_size, p.investment_pace)
        capex = self.project_size * self.capex_per_capacity
        annual_rev = 4.0 * self.flows["revenue"]
        ok = decisions.can_finance(self.cash[:, None], self.debt[:, None], annual_rev[:, None],
                                   capex[None, :], p.equity_share, p.max_leverage)
        prob = np.where(ok, prob, 0.0)
        fi, si = np.nonzero(prob)
        if len(fi) == 0:
            return
        draws = self.rng.random(len(fi))
        hit = draws < prob[fi, si]
        fi, si = fi[hit], si[hit]
        if len(fi) == 0:
            return
        # Firms decide simultaneously on the quarter's state (ODD 7.5): one
        # batch of location logits, then projects start in random order and
        # subsidy money is first come, first served.
        self._prepare_location_cache()
        inputs, grant, capex_i = self.location_inputs(fi, si)
        terms = decisions.location_terms(inputs, p.coordination_spread)
        contrib, v = decisions.location_utility(terms, self.term_weights)
        prob_r = decisions.logit_probabilities(v, p.logit_scale, inputs.allowed)
        choice = decisions.sample_choice(prob_r, self.rng.random(len(fi)))
        rows = np.arange(len(fi))
        v_other = v.copy()
        v_other[rows, choice] = -np.inf
        other = v_other.argmax(axis=1)
        free_cash = self.cash.copy()            # cash not yet set aside this quarter
        choice_l, other_l = choice.tolist(), other.tolist()
        capex_l = capex_i[:, 0].tolist()
        quarter = self.quarter_of(self.steps)
        eq, lev = p.equity_share, p.max_leverage
        learn = self.spec.learning
        for k in self.rng.permutation(len(fi)).tolist():
            f = int(fi[k])
            seg = int(si[k])
            # The firm's earlier projects this quarter have set cash aside
            # (the scalar form of decisions.can_finance).
            need = eq * capex_l[k]
            debt, rev = self.debt[f], annual_rev[f]
            if free_cash[f] < need or (debt > lev * rev if rev > 0 else debt > 0):
                continue
            firm = self.firm_list[f]
            r, o = choice_l[k], other_l[k]
            # Real-options wait: defer while uncertainty about the chosen region is
            # high, up to max_deferral quarters in a row (ODD 7.18).
            h = self.firm_home[f]
            sigma2 = self.uncertainty[h, r] + learn.risk_variance * self.perceived[h, r] ** 2
            if sigma2 > learn.defer_threshold and self.deferral_count[f, seg] < learn.max_deferral:
                self.deferral_count[f, seg] += 1
                self.quarter_deferrals += 1
                self.recorder.investments.append(self._investment_row(
                    firm, seg, r, o, -1, False, 0.0, prob_r[k, r], v[k, r], v[k, o],
                    contrib[:, k, r], contrib[:, k, o], deferred=True, quarter=quarter))
                continue
            free_cash[f] -= need
            expansion = bool(inputs.has_site[k, r])
            site = firm.invest(seg, r, capex=capex_l[k], grant=float(grant[k, r]), expansion=expansion)
            self.recorder.investments.append(self._investment_row(
                firm, seg, r, o, site, expansion, capex_l[k], prob_r[k, r], v[k, r], v[k, o],
                contrib[:, k, r], contrib[:, k, o], deferred=False, quarter=quarter))
            self.deferral_quarters_total += int(self.deferral_count[f, seg])
            self.deferral_count[f, seg] = 0
            self.quarter_investments += 1
            self.quarter_investment_capex += capex_l[k]
            cap_new = float(self.sites.capacity[site])
            self.new_capacity_total += cap_new
            c = self.geo.country[r]
            if c != h and self.geo.country_bloc[c] == self.geo.country_bloc[h]:
                self.friendshored_total += cap_new

    def _investment_row(self, firm: Firm, seg: int, r: int, o: int, site: int, expansion: bool,
                        capex: float, prob: float, v_r: float, v_o: float, chosen: np.ndarray,
                        rejected: np.ndarray, *, deferred: bool, quarter: str) -> dict[str, Any]:
        """One row of the investments table (a deferral has site −1 and no capacity)."""
        return {
            "step": self.steps, "quarter": quarter, "firm": firm.firm_id,
            "home": firm.home_code, "segment": self.segment_ids[seg], "region": self.geo.ids[r],
            "country": self.geo.countries[self.geo.country[r]], "site": site, "expansion": expansion,
            "capacity": float(self.sites.capacity[site]) if site >= 0 else 0.0, "capex": capex,
            "subsidy_committed": float(self.sites.subsidy_committed[site]) if site >= 0 else 0.0,
            "probability": float(prob), "utility": float(v_r),
            "rejected_region": self.geo.ids[o], "rejected_utility": float(v_o),
            "deferred": deferred, "deferrals": int(self.deferral_count[firm.idx, seg]),
            "chosen_terms": chosen.copy(), "rejected_terms": rejected.copy(),
        }

    def advance_construction(self) -> None:
        """Spend capex on projects, pay subsidy milestones, complete projects."""
        s = self.sites
        n_f = len(self.firm_list)
        for k in ("capex", "subsidy", "tax_credit", "fund"):
            self.flows[k] = np.zeros(n_f)
        building = np.flatnonzero(s.col("status") == BUILDING)
        self.quarter_delays = 0
        if len(building) == 0:
            return
        t = self.steps
        start = s.start_step[building]
        in_model = start >= 0
        # Skilled-labour shortages delay projects started in the model by a quarter
        # (announced sites keep their announced dates).
        shortage = self.labour_shortage()[s.region[building]]
        slip = in_model & (s.online_step[building] > t) & \
            (self.rng.random(len(building)) < self.spec.params.shortage_delay * shortage)
        # Immigration enforcement against a home country's workers slows its
        # firms' projects in the host regions (ODD 7.6).
        for home, host, mag in self.events.immigration:
            hit = (self.firm_home[s.firm[building]] == home) & host[s.region[building]] \
                & (s.online_step[building] > t) & ~slip
            slip |= hit & (self.rng.random(len(building)) < mag)
        s.online_step[building[slip]] += 1
        self.quarter_delays = int(slip.sum())
        self.total_delays += self.quarter_delays
        online = s.online_step[building]
        duration = np.maximum(online - start, 1)
        completes = online <= t
        # Capex: evenly over the construction quarters; the rest on completion.
        remaining = s.capex_total[building] - s.capex_spent[building]
        spend = np.where(in_model, np.where(completes, remaining, np.minimum(s.capex_total[building] / duration,
                                                                            remaining)), 0.0)
        s.capex_spent[building] += spend
        np.add.at(self.flows["capex"], s.firm[building], spend)
        # Milestones: start (first quarter), midpoint, completion.
        progress = np.where(in_model, (t - start + 1) / duration, 0.0)
        reached = np.where(completes, 3, np.where(progress >= 0.5, 2, np.where(in_model, 1, 0)))
        shares = np.cumsum([0.0, *self.spec.params.milestone_shares])
        due = reached > s.milestones_paid[building]
        if due.any():
            idx = building[due]
            tranche = (shares[reached[due]] - shares[s.milestones_paid[idx]]) * s.subsidy_committed[idx]
            tranche = np.minimum(tranche, s.subsidy_committed[idx] - s.subsidy_paid[idx])
            s.subsidy_paid[idx] += tranche
            s.milestones_paid[idx] = reached[due]
            per_gov = np.bincount(s.gov[idx][s.gov[idx] >= 0], weights=tranche[s.gov[idx] >= 0],
                                  minlength=len(self.governments))
            for g in self.governments:
                if per_gov[g.cidx] > 0:
                    g.pay(float(per_gov[g.cidx]))
            np.add.at(self.flows["subsidy"], s.firm[idx], tranche)
        # Completion: operating from now on; the tax credit is granted on the capex.
        done = building[completes]
        if len(done):
            s.status[done] = OPERATING
            self.completed_capacity_total += float(s.capacity[done][s.start_step[done] >= 0].sum())
            credit = s.tax_credit[done] * s.capex_total[done]
            np.add.at(self.flows["tax_credit"], s.firm[done], credit)
            host = self.geo.country[s.region[done]]     # the host country grants the credit
            for g in self.governments:
                g.tax_credit_total += float(credit[host == g.cidx].sum())

    def supply_chain(self) -> None:
        """Partnerships end, are reviewed and form; inputs flow; output follows (ODD 3.6)."""
        cap = supply.operating_capacity(self)
        self._refresh_firm_costs(cap)
        main = supply._main_region(self)
        self.location_share = supply.location_shares(self)
        fab_idx = np.flatnonzero(self.fab_mask)
        self.main_fab_segment = fab_idx[cap[:, fab_idx].argmax(axis=1)]
        self.upcoming = (self.events.upcoming_restriction(self.spec.resilience.lead_quarters)
                         if self.visible.any() else np.zeros_like(self.events.restriction))
        changes = supply.review_partnerships(self, cap, main)
        changes += supply.form_partnerships(self, cap, main)
        self.partnership_changes = changes
        # Outages take capacity out of this quarter's production.
        avail = supply.available_capacity(self)
        cap_seg = avail.sum(axis=0)
        u = markets.utilisation(self.demand, cap.sum(axis=0))
        intended = np.where(self.fab_mask, cap * u, 0.0)       # what firms meant to make
        plan = np.where(self.fab_mask, avail * u, 0.0)          # what the running capacity allows
        out = supply.flows(self, avail, plan, main)
        self.output_fs = out
        plan = intended                                         # shortfall counts outages too
        planned = plan[:, self.fab_mask].sum(axis=0)
        made = out[:, self.fab_mask].sum(axis=0)
        self.shortfall_by_segment = np.zeros(len(SEGMENTS))
        self.shortfall_by_segment[self.fab_mask] = np.divide(planned - made, planned, out=np.zeros_like(planned),
                                                             where=planned > 0)
        self.supply_shortfall = float((planned - made).sum() / planned.sum()) if planned.sum() > 0 else 0.0
        # Shortfall of the fab output planned by each country's firms (by home country).
        n_c = len(self.geo.countries)
        p_c = np.bincount(self.firm_home, weights=plan[:, self.fab_mask].sum(axis=1), minlength=n_c)
        o_c = np.bincount(self.firm_home, weights=out[:, self.fab_mask].sum(axis=1), minlength=n_c)
        self.shortfall_by_country = np.divide(p_c - o_c, p_c, out=np.zeros(n_c), where=p_c > 0)
        self._stranded(cap, avail)
        self.utilisation = np.divide(out.sum(axis=0), cap_seg, out=np.zeros(len(SEGMENTS)), where=cap_seg > 0)

    def _stranded(self, cap: np.ndarray, avail: np.ndarray) -> None:
        """Capacity that cannot serve its markets: offline, or blockaded from export."""
        idle = cap - avail
        blocked = np.zeros_like(cap)
        if self.events.blockade.any():
            lost = np.einsum("fdc,c->fd", self.location_share, self.events.blockade * (1.0 - self.gov_market))
            blocked = avail * np.clip(lost, 0.0, 1.0) * self.fab_mask
        stranded = idle + blocked
        self.stranded = float(stranded.sum())
        self.stranded_capital = float((stranded * self.capex_per_capacity).sum())

    def learn(self) -> None:
        """Trust follows deliveries; knowledge spills; the joint fund runs its projects (ODD 3.7)."""
        knowledge.update_trust(self)
        knowledge.partnership_spillovers(self)
        knowledge.run_fund(self)

    def produce_and_account(self) -> None:
        """Sites produce their firm-segment's delivered output; cash and debt update (ODD 3.8)."""
        p = self.spec.params
        s = self.sites
        op_mask = s.col("status") == OPERATING
        seg = s.col("segment")
        firm_col = s.col("firm")
        cap = supply.operating_capacity(self)
        ratio = np.divide(self.output_fs, cap, out=np.zeros_like(cap), where=cap > 0)
        output = np.where(op_mask, ratio[firm_col, seg] * s.col("capacity"), 0.0)
        unit_cost = self._site_unit_cost()
        revenue = self.price[seg] * output * KWPM_QUARTER_TO_USD_BN
        opex = unit_cost * output * KWPM_QUARTER_TO_USD_BN
        n_f = len(self.firm_list)
        firm = s.col("firm")
        self.flows["revenue"] = np.bincount(firm, weights=revenue, minlength=n_f)
        self.flows["opex"] = (np.bincount(firm, weights=opex, minlength=n_f) + self.extra_opex
                              + self.visible * self.spec.resilience.visibility_cost)
        self.flows["interest"] = self.debt * p.interest_rate / 4.0
        net = (self.flows["revenue"] - self.flows["opex"] - self.flows["capex"] + self.flows["subsidy"]
               + self.flows["tax_credit"] + self.flows["fund"] - self.flows["interest"])
        cash = self.cash + net
        borrow = np.maximum(-cash, 0.0)          # shortfalls are financed by debt
        cash = cash + borrow
        debt = self.debt + borrow
        repay = np.where(borrow > 0, 0.0, np.minimum(debt, p.repayment_share * cash))
        self.cash = cash - repay
        self.debt = debt - repay

    def collect(self) -> None:
        """Metrics row (DataCollector) and table snapshots."""
        self._row = metrics.snapshot(self)
        self.datacollector.collect(self)
        self.recorder.record(self)

    # ========================================================= decision inputs
    def _prepare_location_cache(self) -> None:
        """Region-level inputs of this quarter's location decisions.

        Firms decide simultaneously on the state at the start of the quarter
        (capacity present, skilled labour, logistics); only subsidy budgets
        are first come, first served within the quarter.
        """
        p = self.spec.params
        geo = self.geo
        present = self._present_capacity()
        linked = present @ self.linked.astype(float)          # region × segment
        self._agglomeration = decisions.agglomeration(present, linked, p.agglomeration_link_weight,
                                                      p.agglomeration_scale)
        self._logistics = np.column_stack([decisions.linked_distance(geo.distance, linked[:, k])
                                           for k in range(len(SEGMENTS))])
        pool, employed = self.skilled_pools(present)
        self._skill = decisions.skilled_availability(pool, employed)

    def _present_capacity(self) -> np.ndarray:
        """Live (operating or building) capacity as a region × segment matrix."""
        s = self.sites
        live = s.col("status") != OFFLINE
        present = np.zeros((self.geo.n, len(SEGMENTS)))
        np.add.at(present, (s.col("region")[live], s.col("segment")[live]), s.col("capacity")[live])
        return present

    def skilled_pools(self, present: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Effective skilled pool per region and the workers its live capacity employs (thousands).

        With talent circulation on, each member's regions may draw on
        ``mobility`` × the free pools of the other members, shared in
        proportion to the regions' own pools.
        """
        geo = self.geo
        if present is None:
            present = self._present_capacity()
        employed = present @ self.workers
        pool = geo.skilled_labour
        if not self.talent_members.any():
            return pool, employed
        n_c = len(geo.countries)
        free_c = np.bincount(geo.country, weights=np.maximum(pool - employed, 0.0), minlength=n_c)
        pool_c = np.bincount(geo.country, weights=pool, minlength=n_c)
        member_free = free_c[self.talent_members].sum()
        inflow_c = np.where(self.talent_members, self.talent_mobility * (member_free - free_c), 0.0)
        share = np.divide(pool, pool_c[geo.country], out=np.zeros_like(pool), where=pool_c[geo.country] > 0)
        return pool + inflow_c[geo.country] * share, employed

    def labour_shortage(self) -> np.ndarray:
        """Share of each region's skilled-labour need that its effective pool cannot meet (0–1)."""
        pool, employed = self.skilled_pools()
        return np.divide(np.maximum(employed - pool, 0.0), employed, out=np.zeros_like(employed), where=employed > 0)

    def location_inputs(self, firms: np.ndarray, segments: np.ndarray
                        ) -> tuple[decisions.LocationInputs, np.ndarray, np.ndarray]:
        """Gather the arrays for location decisions of ``firms[i]`` in ``segments[i]``.

        Returns the inputs (decisions × regions), the grant each region's
        government would commit (USD bn, decisions × regions) and each
        project's capex (USD bn, a decisions × 1 column).
        """
        geo = self.geo
        s = self.sites
        firms = np.asarray(firms, dtype=np.int64)
        segments = np.asarray(segments, dtype=np.int64)
        m = len(firms)
        n_r, n_s = geo.n, len(SEGMENTS)
        capex = (self.project_size[segments] * self.capex_per_capacity[segments])[:, None]
        # Where each deciding firm already is (any segment) and has a same-segment site.
        live = s.col("status") != OFFLINE
        f_col, r_col, g_col, c_col = s.col("firm")[live], s.col("region")[live], s.col("segment")[live], s.col("capacity")[live]
        row_of = np.full(len(self.firm_list), -1, dtype=np.int64)
        row_of[firms] = np.arange(m)      # a firm deciding twice: both rows see the same sites
        mine = row_of[f_col] >= 0
        present_fr = np.zeros((len(self.firm_list), n_r))
        np.add.at(present_fr, (f_col[mine], r_col[mine]), c_col[mine])
        present_in = present_fr[firms] > 0
        seg_fr = np.zeros((len(self.firm_list), n_s, n_r), dtype=bool)
        seg_fr[f_col[mine], g_col[mine], r_col[mine]] = True
        has_site = seg_fr[firms, segments]
        n_sites = present_in.sum(axis=1, keepdims=True)
        spread = np.divide(present_in @ geo.distance, n_sites, out=np.zeros((m, n_r)), where=n_sites > 0)
        # Subsidy: conditions, plus the concern-country ban weighted by the firm's exposure there.
        cap_f = present_fr[firms]
        total = cap_f.sum(axis=1, keepdims=True)
        concern_share = np.divide(cap_f[:, self.concern[geo.country]].sum(axis=1, keepdims=True), total,
                                  out=np.zeros((m, 1)), where=total > 0)
        cond = self.gov_condition + self.gov_concern_cost * concern_share
        net_c, grant_c = decisions.subsidy_offer(self.gov_rate, self.gov_available, capex,
                                                 self.gov_tax_credit, cond)
        homes = self.firm_home[firms]
        ra = np.array([self.firm_list[f].risk_aversion for f in firms])[:, None]
        # Tariffs on exports from each region, weighted by the importers' market
        # shares; an importer that spares local producers (exempt_local) waives
        # its tariff for a firm already there or choosing a region there.
        n_c = len(geo.countries)
        in_country = np.zeros((m, n_c), dtype=bool)
        in_country[:, :] = (present_in[:, :, None] & (geo.country[None, :, None] == np.arange(n_c)[None, None, :])).any(axis=1)
        duty = self.gov_market[:, None] * self.tariff_matrix[:, geo.country]          # importer × region
        waived = self.tariff_exempt_local[None, :, None] & (
            in_country[:, :, None] | (geo.country[None, None, :] == np.arange(n_c)[None, :, None]))
        tariff = (duty[None, :, :] * ~waived).sum(axis=1)                                # decisions × region
        inputs = decisions.LocationInputs(
            net_subsidy=net_c[:, geo.country],
            log_wage=self.log_wage,
            labour_intensity=self.labour_intensity[segments][:, None],
            political_risk=self.perceived_risk(homes),
            risk_aversion=ra,
            power_reliability=geo.power_reliability,
            skill=self._skill,
            agglomeration=self._agglomeration[:, segments].T,
            is_home=geo.country[None, :] == homes[:, None],
            same_bloc=geo.bloc[None, :] == geo.country_bloc[homes][:, None],
            tariff=tariff,
            distance=self._logistics[:, segments].T,
            n_sites=n_sites,
            spread=spread,
            has_site=has_site,
        )
        return inputs, grant_c[:, geo.country], capex

    def perceived_risk(self, homes: np.ndarray) -> np.ndarray:
        """Political risk of each region as investors from countries ``homes`` see it
        (decisions × regions).

        Firms read the risk they have learned (``fire_events``); an
        investment-protection agreement removes ``strength`` of the risk of
        another member's regions for investors from a member.
        """
        geo = self.geo
        homes = np.asarray(homes)
        risk = self.perceived[homes]                       # learned from events (ODD 3.1)
        covered = self.protected[homes][:, None] & self.protected[geo.country][None, :] \
            & (geo.country[None, :] != homes[:, None])
        return np.where(covered, risk * (1.0 - self.protection_strength), risk)

    def start_project(self, firm: Firm, segment: int, region: int, *, capex: float, grant: float,
                      expansion: bool) -> int:
        """Register a new project: the government commits its grant, the site starts building."""
        p = self.spec.params
        c = int(self.geo.country[region])
        gov = self.governments[c]
        committed = gov.commit(grant)
        self.gov_available[c] = gov.available
        lag = int(self.lag[segment])
        if expansion:
            lag = max(1, int(round(lag * p.expansion_lag_factor)))
        capacity = float(self.project_size[segment])
        site = self._add_site(firm.idx, region, segment, capacity, BUILDING,
                              start_step=self.steps, online_step=self.steps + lag, expansion=expansion,
                              capex_total=capex, gov=c if committed > 0 else -1,
                              subsidy_committed=committed, tax_credit=gov.tax_credit)
        return site

    # ================================================================= helpers
    def _site_unit_cost(self) -> np.ndarray:
        s = self.sites
        seg = s.col("segment")
        wage = self.geo.labour_cost[s.col("region")]
        return markets.unit_cost(self.base_price[seg], self.cost_share[seg], self.labour_intensity[seg],
                                 wage, self.spec.params.reference_wage)

    def unit_cost_index(self, raw: bool = False) -> float:
        """Capacity-weighted unit cost relative to base price, over operating sites, indexed to step 0."""
        s = self.sites
        op = s.col("status") == OPERATING
        seg = s.col("segment")[op]
        cap = s.col("capacity")[op]
        if cap.sum() <= 0:
            return float("nan")
        rel = self._site_unit_cost()[op] / self.base_price[seg]
        value = float((rel * cap).sum() / cap.sum())
        if raw or not self.unit_cost_base:
            return value
        return value / self.unit_cost_base

    def firm_capacity_summary(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per firm: operating capacity, capacity being built, number of live sites."""
        s = self.sites
        n_f = len(self.firm_list)
        status = s.col("status")
        firm = s.col("firm")
        cap = s.col("capacity")
        op = np.bincount(firm, weights=np.where(status == OPERATING, cap, 0.0), minlength=n_f)
        building = np.bincount(firm, weights=np.where(status == BUILDING, cap, 0.0), minlength=n_f)
        n_sites = np.bincount(firm[status != OFFLINE], minlength=n_f)
        return op, building, n_sites

    def quarter_of(self, step: int) -> str:
        meta = self.spec.meta
        return quarter_label(meta.start_year, meta.start_q, step)

    # ================================================================= outputs
    def tables(self) -> dict[str, pd.DataFrame]:
        """Tidy output tables keyed by name: metrics, sites, firms, investments, events, partnerships."""
        mv = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        mv.insert(0, "step", np.arange(len(mv)))
        return {
            "metrics": mv,
            "sites": self.recorder.sites_table(self),
            "firms": self.recorder.firms_table(self),
            "investments": self.recorder.investments_table(),
            "events": self.recorder.events_table(self, mv),
            "partnerships": self.recorder.partnerships_table(self),
        }
