"""ChipModel: the world is built in ``__init__``; ``step()`` is one quarter.

The schedule (docs/ODD.md §3) in ``step()``:

1. governments set policy (appropriations; tariffs and subsidy offers)
2. demand and prices update (markets)
3. firms decide whether to invest, and where (trigger + location logit)
4. construction advances (capex spent, subsidies paid on milestones)
5. production and accounting
6. data collection

Events (shocks) fire before step 1 and supply partnerships act between 4
and 5; the issues that add them plug in there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import decisions, markets, metrics
from .agents import Firm, Government
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
        self.flows = {k: np.zeros(n_f) for k in ("revenue", "opex", "capex", "subsidy", "tax_credit", "interest")}
        self.site_unit_cost = np.zeros(0)
        self.quarter_investments = 0
        self.quarter_investment_capex = 0.0
        self._init_markets()
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
        self.governments_set_policy()   # ODD 3.1  policy: appropriations, tariffs, offers
        self.update_markets()           # ODD 3.2  demand, utilisation, prices
        self.firms_invest()             # ODD 3.3  investment trigger and location choice
        self.advance_construction()     # ODD 3.4  capex, milestone subsidies, completion
        self.produce_and_account()      # ODD 3.5  output, revenue, costs, cash and debt
        self.collect()                  # ODD 3.6  metrics and tables
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
                g.tax_credit, g.tariff, g.tariff_exempt, g.market_share, g.conditions.model_copy(),
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
        self.region_tariff = decisions.tariff_exposure(
            self.geo.country, np.array([g.market_share for g in gs]), np.array([g.tariff for g in gs]),
            self.exempt,
        )

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

    # ================================================================== phases
    def governments_set_policy(self) -> None:
        """Governments top up budgets and set offers; policy arrays follow."""
        for g in self.governments:
            g.set_policy()
        self._policy_arrays()

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
        order = self.rng.permutation(len(fi))
        self._prepare_location_cache()
        for k in order:
            firm = self.firm_list[fi[k]]
            seg = int(si[k])
            # Finances may have changed with this quarter's earlier projects.
            if not decisions.can_finance(self.cash[firm.idx], self.debt[firm.idx], annual_rev[firm.idx],
                                         capex[seg], p.equity_share, p.max_leverage):
                continue
            record = firm.invest(seg)
            record["step"] = self.steps
            record["quarter"] = self.quarter_of(self.steps)
            self.recorder.investments.append(record)
            self.quarter_investments += 1
            self.quarter_investment_capex += record["capex"]

    def advance_construction(self) -> None:
        """Spend capex on projects, pay subsidy milestones, complete projects."""
        s = self.sites
        n_f = len(self.firm_list)
        for k in ("capex", "subsidy", "tax_credit"):
            self.flows[k] = np.zeros(n_f)
        building = np.flatnonzero(s.col("status") == BUILDING)
        if len(building) == 0:
            return
        t = self.steps
        start = s.start_step[building]
        online = s.online_step[building]
        in_model = start >= 0
        duration = np.maximum(online - start, 1)
        # Capex: evenly over the construction quarters of projects started in the model.
        spend = np.where(in_model, s.capex_total[building] / duration, 0.0)
        spend = np.minimum(spend, s.capex_total[building] - s.capex_spent[building])
        s.capex_spent[building] += spend
        np.add.at(self.flows["capex"], s.firm[building], spend)
        # Milestones: start (first quarter), midpoint, completion.
        progress = np.where(in_model, (t - start + 1) / duration, 0.0)
        completes = online <= t
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
            credit = s.tax_credit[done] * s.capex_total[done]
            np.add.at(self.flows["tax_credit"], s.firm[done], credit)
            gov = s.gov[done]
            for g in self.governments:
                g.tax_credit_total += float(credit[gov == g.cidx].sum())

    def produce_and_account(self) -> None:
        """Operating sites produce at their segment's utilisation; cash and debt update."""
        p = self.spec.params
        s = self.sites
        n_seg = len(SEGMENTS)
        op_mask = s.col("status") == OPERATING
        cap_seg = np.bincount(s.col("segment")[op_mask], weights=s.col("capacity")[op_mask], minlength=n_seg)
        u = markets.utilisation(self.demand, cap_seg)
        seg = s.col("segment")
        output = np.where(op_mask, u[seg] * s.col("capacity"), 0.0)
        unit_cost = self._site_unit_cost()
        revenue = self.price[seg] * output * KWPM_QUARTER_TO_USD_BN
        opex = unit_cost * output * KWPM_QUARTER_TO_USD_BN
        n_f = len(self.firm_list)
        firm = s.col("firm")
        self.flows["revenue"] = np.bincount(firm, weights=revenue, minlength=n_f)
        self.flows["opex"] = np.bincount(firm, weights=opex, minlength=n_f)
        self.flows["interest"] = self.debt * p.interest_rate / 4.0
        self.utilisation = u
        net = (self.flows["revenue"] - self.flows["opex"] - self.flows["capex"] + self.flows["subsidy"]
               + self.flows["tax_credit"] - self.flows["interest"])
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
        s = self.sites
        geo = self.geo
        live = s.col("status") != OFFLINE
        present = np.zeros((geo.n, len(SEGMENTS)))
        np.add.at(present, (s.col("region")[live], s.col("segment")[live]), s.col("capacity")[live])
        linked = present @ self.linked.astype(float)          # region × segment
        self._agglomeration = decisions.agglomeration(present, linked, p.agglomeration_link_weight,
                                                      p.agglomeration_scale)
        self._logistics = np.column_stack([decisions.linked_distance(geo.distance, linked[:, k])
                                           for k in range(len(SEGMENTS))])
        self._skill = decisions.skilled_availability(geo.skilled_labour, present @ self.workers)

    def location_inputs(self, firm: Firm, segment: int) -> tuple[decisions.LocationInputs, np.ndarray, float]:
        """Gather the arrays for one firm's location decision in ``segment``.

        Returns the inputs, the grant each region's government would commit
        (USD bn) and the project's capex (USD bn).
        """
        p = self.spec.params
        geo = self.geo
        sites = self.sites
        capex = float(self.project_size[segment] * self.capex_per_capacity[segment])
        my_sites = np.array(firm.sites(), dtype=np.int64)
        my_sites = my_sites[sites.status[my_sites] != OFFLINE]
        my_regions = sites.region[my_sites]
        my_caps = sites.capacity[my_sites]
        present_in = np.zeros(geo.n, dtype=bool)
        present_in[my_regions] = True
        has_site = np.zeros(geo.n, dtype=bool)
        has_site[my_regions[sites.segment[my_sites] == segment]] = True
        # Subsidy: conditions, plus the concern-country ban weighted by the firm's exposure there.
        total_cap = my_caps.sum()
        concern_share = (my_caps[self.concern[geo.country[my_regions]]].sum() / total_cap
                         if total_cap > 0 else 0.0)
        cond = self.gov_condition + self.gov_concern_cost * concern_share
        net_c, grant_c = decisions.subsidy_offer(self.gov_rate, self.gov_available, capex,
                                                 self.gov_tax_credit, cond)
        n_sites = int(present_in.sum())
        spread = geo.distance[:, present_in].mean(axis=1) if n_sites else np.zeros(geo.n)
        inputs = decisions.LocationInputs(
            net_subsidy=net_c[geo.country],
            log_wage=self.log_wage,
            labour_intensity=float(self.labour_intensity[segment]),
            political_risk=geo.political_risk,
            risk_aversion=firm.risk_aversion,
            power_reliability=geo.power_reliability,
            skill=self._skill,
            agglomeration=self._agglomeration[:, segment],
            is_home=geo.country == firm.home,
            same_bloc=geo.bloc == geo.country_bloc[firm.home],
            tariff=self.region_tariff,
            distance=self._logistics[:, segment],
            n_sites=n_sites,
            spread=spread,
            has_site=has_site,
        )
        return inputs, grant_c[geo.country], capex

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
        """Tidy output tables keyed by name: metrics, sites, firms, investments, events."""
        mv = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        mv.insert(0, "step", np.arange(len(mv)))
        return {
            "metrics": mv,
            "sites": self.recorder.sites_table(self),
            "firms": self.recorder.firms_table(self),
            "investments": self.recorder.investments_table(),
            "events": self.recorder.events_table(),
        }
