"""The whole mutable state of one run, as a few named sub-states of numpy arrays.

``World`` is what the phases (``model/phases/``) read and write; each phase
declares which sub-states it reads and which it writes, and
``tests/test_phases.py`` runs every phase with the others frozen, so a hidden
write fails the suite.  ``ChipModel`` owns one ``World``; the Mesa agents
(``model/agents.py``) are views over it.

Sub-states (attribute of ``World`` → class):

* ``segments`` → :class:`Segments` — per-segment technology and cost (fixed for a run)
* ``geo``      → :class:`~model.geography.Geography` — regions (skilled pools grow)
* ``firms``    → :class:`Firms` — who the firms are (fixed after the build)
* ``sites``    → :class:`~model.sites.SiteRegistry` — every block of capacity
* ``policy``   → :class:`Policy` — governments and their policy arrays
* ``events``   → :class:`~model.events.EventBook` — shocks in force
* ``risk``     → :class:`Risk` — perceived risk, uncertainty, visibility, deferrals
* ``markets``  → :class:`Markets` — demand, utilisation, prices
* ``chain``    → :class:`ValueChain` — partnerships, trust, technology, levers, institutes, fund
* ``supply``   → :class:`SupplyOutcome` — what the supply phase produced
* ``ledger``   → :class:`Ledger` — firms' cash, debt and this quarter's flows
* ``counters`` → :class:`Counters` — per-quarter and cumulative counts
* ``log``      → :class:`Log` — investment decisions (rows of the investments table)
* ``clock``    → :class:`Clock` — the current step
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from .events import EventBook
from .geography import Geography
from .network import PartnershipBook
from .columns import SubState
from .sites import SiteRegistry

__all__ = [
    "World", "SubState", "Segments", "Firms", "Policy", "GovernmentState", "Risk", "Markets", "ValueChain",
    "InstituteState", "FundState", "SupplyOutcome", "Ledger", "Counters", "Log", "Clock", "SUBSTATES",
    "FIRM_FLOWS",
]

#: Per-firm money flows of a quarter (USD bn), in the order of the firms table.
FIRM_FLOWS = ("revenue", "opex", "capex", "subsidy", "tax_credit", "interest", "fund", "maintenance",
              "depreciation", "tax", "payout", "inputs", "input_tariff")


@dataclass(eq=False)
class Segments(SubState):
    """Per-segment arrays from the scenario's [segments] (index = segment number)."""

    ids: list[str]
    coef: np.ndarray                 # input coefficients a[d, u]: u needed per unit of d
    linked: np.ndarray               # d and u trade with each other (either way)
    is_final: np.ndarray             # has exogenous final demand (the fab segments)
    growth_final: np.ndarray         # annual growth of final demand
    lag: np.ndarray                  # construction lag (quarters)
    labour_intensity: np.ndarray
    project_size: np.ndarray         # kwpm per project
    capex_per_capacity: np.ndarray   # USD bn per kwpm
    base_price: np.ndarray           # USD per 200mm-eq wafer
    cost_share: np.ndarray
    workers: np.ndarray              # thousand skilled workers per kwpm
    ramp: np.ndarray                 # quarters from completion to full yield
    tech_premium: np.ndarray         # price share per unit of technology above the segment's mean
    le_threshold: np.ndarray         # technology needed for a leading-edge site (NaN = no leading edge)
    fab_mask: np.ndarray             # front-end fab segments


@dataclass(eq=False)
class Firms(SubState):
    """Who the firms are (index = firm number); fixed once the world is built."""

    ids: list[str]
    names: list[str]
    kind: list[str]                  # named, aggregate or generated
    home: np.ndarray                 # country number
    risk_aversion: np.ndarray
    sites: list[list[int]]           # site numbers of each firm

    @property
    def n(self) -> int:
        return len(self.ids)

    def add_site(self, sites: SiteRegistry, firm: int, region: int, segment: int, capacity: float,
                 status: int, **kw: Any) -> int:
        """Register a site in ``sites`` and note it under its firm; returns its number."""
        i = sites.add(firm=firm, region=region, segment=segment, capacity=capacity, status=status, **kw)
        self.sites[firm].append(i)
        return i


@dataclass(eq=False)
class GovernmentState(SubState):
    """One government's money and instruments (``agents.Government`` is its view).

    ``budget`` is money not yet paid out; ``outstanding`` is the part of it
    already promised to projects.  A government commits at most what is
    available (budget − outstanding), so it never pays beyond its budget.
    """

    cidx: int
    code: str
    name: str
    bloc: str
    subsidy_rate: float
    budget: float
    annual_budget: float
    tax_credit: float
    tariff: float
    tariff_exempt: list[str]
    market_share: float
    conditions: Any                  # scenario.Conditions (a copy this government may tighten)
    rules: Any = None                # the scenario's Government spec: target, drift, tit-for-tat
    drift_added: float = 0.0         # share of capex added to conditions by the drift
    outstanding: float = 0.0         # USD bn promised, not yet paid
    paid_total: float = 0.0          # USD bn paid since the start
    tax_credit_total: float = 0.0    # USD bn of tax credits granted
    appropriated_total: float = 0.0
    loan_budget: float = 0.0         # USD bn of the policy-loan envelope not yet lent (ODD 7.1)
    loan_share: float = 0.0          # share of an eligible project's capex a loan covers
    loan_rate_cut: float = 0.0       # per year below the firm's cost of debt
    loan_home_only: bool = True      # loans only to firms whose home is this country
    lent_total: float = 0.0          # USD bn lent since the start
    loan_appropriated: float = 0.0   # USD bn added to the envelope by policy_change events

    @property
    def tit_for_tat(self) -> bool:
        return bool(getattr(self.rules, "tit_for_tat", False))

    @property
    def available(self) -> float:
        """Budget not yet promised (USD bn)."""
        return max(self.budget - self.outstanding, 0.0)

    @property
    def condition_cost(self) -> float:
        """Flat cost of the conditions, as a share of capex."""
        return self.conditions.flat_cost()

    def set_policy(self, capacity_share: float = 0.0, rival_rate: float = 0.0) -> None:
        """Quarterly policy (ODD 7.1, 7.19).

        The year's appropriation arrives in quarterly parts.  With a strategic
        target, the subsidy rate moves toward closing the gap between the
        target and the country's share of world fab capacity, within
        [0, max_subsidy_rate] and only while money is left; with a rival
        response it also closes that share of the gap to the highest rival
        rate ``rival_rate`` per year.  Conditions drift tighter (technology
        transfer and data disclosure, half each) up to a cap.
        """
        top_up = self.annual_budget / 4.0
        self.budget += top_up
        self.appropriated_total += top_up
        r = self.rules
        if r is None:
            return
        step = 0.0
        if r.strategic_target is not None:
            step += r.target_adjustment * (r.strategic_target - capacity_share) / 4.0
        if r.rival_response > 0 and rival_rate > self.subsidy_rate:
            step += r.rival_response * (rival_rate - self.subsidy_rate) / 4.0
        if step != 0.0 and self.available > 0:
            self.subsidy_rate = float(min(max(self.subsidy_rate + step, 0.0), max(r.max_subsidy_rate, 0.0)))
        if r.condition_drift > 0 and self.drift_added < r.condition_cap:
            add = min(r.condition_drift / 4.0, r.condition_cap - self.drift_added)
            self.conditions.technology_transfer = min(1.0, self.conditions.technology_transfer + add / 2)
            self.conditions.data_disclosure = min(1.0, self.conditions.data_disclosure + add / 2)
            self.drift_added += add

    def commit(self, amount: float) -> float:
        """Promise up to ``amount`` to a project; returns what was promised."""
        granted = min(max(amount, 0.0), self.available)
        self.outstanding += granted
        return granted

    def pay(self, amount: float) -> None:
        """Pay out part of what was promised."""
        if amount > self.outstanding + 1e-9 or amount > self.budget + 1e-9:
            raise RuntimeError(f"government {self.code}: payment {amount} exceeds its commitments")
        self.outstanding = max(self.outstanding - amount, 0.0)
        self.budget = max(self.budget - amount, 0.0)
        self.paid_total += amount

    def loan_for(self, capex: float) -> float:
        """The policy loan a project of ``capex`` would get now: loan_share × capex within the envelope left."""
        if self.loan_share <= 0.0 or self.loan_budget <= 0.0:
            return 0.0
        return min(self.loan_share * capex, self.loan_budget)

    def lend(self, amount: float) -> float:
        """Lend up to ``amount`` from the envelope; returns what was lent."""
        lent = min(max(amount, 0.0), self.loan_budget)
        self.loan_budget -= lent
        self.lent_total += lent
        return lent


@dataclass(eq=False)
class Policy(SubState):
    """Governments and the country-level policy arrays the decisions read (index = country)."""

    governments: list[GovernmentState]
    concern: np.ndarray              # countries of concern (params.concern_countries)
    screens: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))    # screens concern-country firms
    guardrail_until: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # firm: barred until
    corporate_tax: np.ndarray = field(default_factory=lambda: np.zeros(0))  # effective tax on home firms' profit
    local_share: np.ndarray = field(default_factory=lambda: np.zeros(0))    # local-content rule for grant holders
    rate: np.ndarray = field(default_factory=lambda: np.zeros(0))          # subsidy rate
    available: np.ndarray = field(default_factory=lambda: np.zeros(0))     # USD bn uncommitted
    tax_credit: np.ndarray = field(default_factory=lambda: np.zeros(0))
    condition: np.ndarray = field(default_factory=lambda: np.zeros(0))     # flat cost share
    concern_cost: np.ndarray = field(default_factory=lambda: np.zeros(0))
    market: np.ndarray = field(default_factory=lambda: np.zeros(0))        # share of world demand
    tariff: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))   # importer × exporter
    tariff_exempt_local: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    loan_share: np.ndarray = field(default_factory=lambda: np.zeros(0))     # policy loan, share of capex
    loan_rate_cut: np.ndarray = field(default_factory=lambda: np.zeros(0))  # per year below the cost of debt
    loan_available: np.ndarray = field(default_factory=lambda: np.zeros(0))  # USD bn of the envelope not lent
    loan_home_only: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # The policy loans made (one entry per loan, ODD 7.1): borrower, lender country, principal (USD bn), rate
    # cut (per year), the step it was made and the first step it is no longer in force (repaid).
    loan_firm: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    loan_country: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    loan_amount: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loan_cut: np.ndarray = field(default_factory=lambda: np.zeros(0))
    loan_start: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    loan_end: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def refresh(self, events: EventBook) -> None:
        """Policy arrays from the governments; tariffs in force from the events."""
        gs = self.governments
        self.rate = np.array([g.subsidy_rate for g in gs])
        self.loan_share = np.array([g.loan_share for g in gs])
        self.loan_rate_cut = np.array([g.loan_rate_cut for g in gs])
        self.loan_available = np.array([g.loan_budget if g.loan_share > 0 else 0.0 for g in gs])
        self.loan_home_only = np.array([g.loan_home_only for g in gs], dtype=bool)
        self.available = np.array([g.available for g in gs])
        self.tax_credit = np.array([g.tax_credit for g in gs])
        self.condition = np.array([g.condition_cost for g in gs])
        self.concern_cost = np.array([g.conditions.concern_ban for g in gs])
        self.market = np.array([g.market_share for g in gs])
        self.tariff = events.tariff
        self.tariff_exempt_local = events.tariff_exempt_local

    @property
    def lends(self) -> bool:
        """Whether any government offers a policy loan now (envelope left and a share above 0)."""
        return bool((self.loan_available > 0).any())

    def record_loan(self, firm: int, country: int, amount: float, cut: float, start: int, end: int) -> None:
        """Note a policy loan made (the arrays grow by one entry)."""
        self.loan_firm = np.append(self.loan_firm, np.int64(firm))
        self.loan_country = np.append(self.loan_country, np.int64(country))
        self.loan_amount = np.append(self.loan_amount, float(amount))
        self.loan_cut = np.append(self.loan_cut, float(cut))
        self.loan_start = np.append(self.loan_start, np.int64(start))
        self.loan_end = np.append(self.loan_end, np.int64(end))

    def loans_in_force(self, step: int) -> np.ndarray:
        """Mask of the policy loans made and not yet repaid at ``step``."""
        return (self.loan_start <= step) & (step < self.loan_end)


@dataclass(eq=False)
class Risk(SubState):
    """The risk investors price (home country × region), and their foresight (ODD §7.18).

    P[h, r] = country[r] + bilateral[h, c(r)] + what firms learned from events;
    ``perceived`` holds the whole of it, ``bilateral`` its bilateral part.
    """

    perceived: np.ndarray            # priced risk P[h, r] (learned)
    country: np.ndarray              # host country risk of each region (investor_risk)
    pair_base: np.ndarray            # standing bilateral risk b0[h, c]: relation + listed premia
    shield: np.ndarray               # share of the bilateral part left by investment protection [h, c]
    bilateral: np.ndarray            # bilateral part in P (smoothed, after protection) [h, c]
    uncertainty: np.ndarray          # smoothed squared surprise U[h, r]
    visible: np.ndarray              # firm sees scheduled disruptions coming
    deferral_count: np.ndarray       # firm × segment: quarters deferred in a row


@dataclass(eq=False)
class Markets(SubState):
    """World markets per segment."""

    demand_initial: np.ndarray
    demand: np.ndarray
    utilisation: np.ndarray
    price: np.ndarray
    expected_growth: np.ndarray
    capacity: np.ndarray = field(default_factory=lambda: np.zeros(0))           # segment: what prices cleared against
    expected_price: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # firm × segment (adaptive)
    expected_utilisation: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))  # firm × segment
    unit_cost_base: float = 0.0      # capacity-weighted unit cost index at step 0


@dataclass(eq=False)
class InstituteState(SubState):
    """A public research institute that hosts joint projects (``agents.Institute`` is its view)."""

    key: str
    name: str
    country: int
    researchers: float
    projects_hosted: int = 0


@dataclass(eq=False)
class FundState(SubState):
    """A partnership fund that pays for joint projects (``agents.JointFund`` is its view).

    It never pays beyond its budget: a stage starts only if its money is there.
    """

    spec: Any
    members: list[int]               # country numbers
    budget: float                    # USD bn available
    contributed: float = 0.0         # USD bn received since the start
    spent: float = 0.0               # USD bn paid since the start
    kpi_checks: int = 0
    kpi_met: int = 0
    projects: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kpi_attainment(self) -> float:
        """Share of stage KPIs met so far (NaN before the first check)."""
        return self.kpi_met / self.kpi_checks if self.kpi_checks else float("nan")

    def collect_contributions(self) -> None:
        per_quarter = sum(self.spec.contributions.values()) / 4.0
        self.budget += per_quarter
        self.contributed += per_quarter

    def pay(self, amount: float) -> bool:
        """Pay ``amount`` if the budget allows it (all or nothing)."""
        if amount > self.budget + 1e-12:
            return False
        self.budget = max(self.budget - amount, 0.0)
        self.spent += amount
        return True


@dataclass(eq=False)
class Levers(SubState):
    """The co-creation levers as country masks and strengths (fixed for a run)."""

    protected: np.ndarray            # investment-protection members
    protection_strength: float
    harmonised: np.ndarray           # export-control harmonisation members
    harmonise_strength: float
    talent_members: np.ndarray
    talent_mobility: float
    standard_members: np.ndarray
    standards_reduction: float
    ip_keep: float                   # κ of a licensed link: share of a knowledge gain the follower keeps
    ip_joint_keep: float             # κ of a jointly owned link: share of the gain the leader counts
    ip_licence: bool                 # the licence regime is on (for links between different members)
    ip_members: np.ndarray           # country mask of the IP regime's members (cocreation.members)
    licence_quarters: int            # quarters a licence runs from the start of its link or project


@dataclass(eq=False)
class ValueChain(SubState):
    """Partnerships, trust, technology and what the supply phase derives from the sites."""

    levers: Levers
    partners: PartnershipBook
    country_trust: np.ndarray        # country × country, 0–1
    tech: np.ndarray                 # firm × segment technology level, 0–1 (docs/ODD.md §5.5, §7.12)
    institutes: list[InstituteState]
    fund: FundState | None
    firm_unit_cost: np.ndarray       # firm × segment, USD per unit
    firm_capacity_total: np.ndarray  # firm: operating capacity, all segments
    location_share: np.ndarray       # firm × segment × country share of operating capacity
    main_fab_segment: np.ndarray     # firm: its largest fab segment
    upcoming: np.ndarray             # scheduled blocks coming within the visibility lead
    fund_grants: np.ndarray          # firm: USD bn the joint fund granted this quarter


@dataclass(eq=False)
class SupplyOutcome(SubState):
    """What this quarter's supply phase delivered and lost."""

    output: np.ndarray               # firm × segment, kwpm(-eq) made or delivered
    reroute_cost: np.ndarray         # firm: USD bn paid to reroute cut deliveries this quarter
    trade: np.ndarray                # supplier home × buyer home × input: kwpm-eq received this quarter
    input_share: np.ndarray          # segment: share of planned fab output its inputs allowed (1 upstream)
    received: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))  # buyer × supplier home × input
    shortfall: float = 0.0           # world fab output lost, share of intended
    shortfall_by_segment: np.ndarray = field(default_factory=lambda: np.zeros(0))
    shortfall_by_country: np.ndarray = field(default_factory=lambda: np.zeros(0))
    spot_deliveries: float = 0.0
    stranded: float = 0.0            # kwpm
    stranded_capital: float = 0.0    # USD bn
    partnership_changes: int = 0


@dataclass(eq=False)
class Ledger(SubState):
    """Firms' money: stocks and this quarter's flows (USD bn)."""

    cash: np.ndarray
    debt: np.ndarray
    flows: dict[str, np.ndarray]     # FIRM_FLOWS → per-firm amount this quarter


@dataclass(eq=False)
class Counters(SubState):
    """Counts the metrics read: this quarter's and cumulative."""

    quarter_investments: int = 0
    quarter_investment_capex: float = 0.0
    quarter_deferrals: int = 0
    quarter_delays: int = 0
    total_delays: int = 0
    deferral_quarters_total: int = 0
    new_capacity_total: float = 0.0
    friendshored_total: float = 0.0
    completed_capacity_total: float = 0.0
    quarter_value_pairs: int = 0             # (firm, segment) pairs whose best project clears the hurdle
    quarter_finance_blocked: int = 0         # of those, pairs the finance check stops


@dataclass(eq=False)
class Log(SubState):
    """The investments table, one chunk of columns per quarter, appended by the invest phase."""

    investments: list[dict[str, np.ndarray]] = field(default_factory=list)


@dataclass(eq=False)
class Clock(SubState):
    """The step being run (0 while building; Mesa's ``steps`` during ``step()``)."""

    step: int = 0
    start_year: int = 2025
    start_q: int = 1
    horizon: int = 64


@dataclass(eq=False)
class World:
    """The state of one run; see the module docstring for the sub-states."""

    segments: Segments
    geo: Geography
    firms: Firms
    sites: SiteRegistry
    policy: Policy
    events: EventBook
    risk: Risk
    markets: Markets
    chain: ValueChain
    supply: SupplyOutcome
    ledger: Ledger
    counters: Counters
    log: Log
    clock: Clock


#: Names of the World's sub-states, in declaration order.
SUBSTATES: tuple[str, ...] = tuple(f.name for f in fields(World))
