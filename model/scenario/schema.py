"""Scenario schema: the pydantic models that state every parameter once.

Every numeric field is made with :func:`_f`, so its description carries its
unit and bounds (and a source where there is one); the CLI's ``--set``, sweep
validation, dashboard sliders and the parameter table in docs/ODD.md §8.1
read them from here (through :mod:`model.scenario.paths`).  This module is
declarations only: cross-references between tables are checked in
:mod:`model.scenario.references`, files are read in :mod:`model.scenario.loading`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .quarters import QUARTER_PATTERN, quarter_index
from .references import check_references
from .vocabulary import (
    CONDITION_NAMES,
    POLICY_SETTINGS,
    COUNTRY,
    EVENT_REQUIRES,
    EVENT_TYPES,
    SEGMENTS,
    SiteStatus,
)

__all__ = ["Scenario", "Meta", "DataFiles", "Params", "Segment", "Region", "Conditions", "Government",
           "Site", "Firm", "Generated", "CountryTrust", "Network", "Knowledge", "Institute", "Lever",
           "InvestmentProtection", "ExportControl", "Talent", "Standards", "IPRegime", "Fund",
           "Cocreation", "Event", "RandomEvents", "Learning", "BilateralRisk", "InvestorRisk", "Resilience", "Share"]


def _f(default: Any, unit: str, doc: str, *, source: str | None = None, **bounds: Any) -> Any:
    """A field whose description carries its unit and bounds (and source)."""
    parts = []
    for key, sym in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
        if key in bounds:
            parts.append(f"{sym} {bounds[key]}")
    desc = f"{doc} [{unit}{'; ' + ', '.join(parts) if parts else ''}]"
    extra = {"unit": unit}
    if source:
        extra["source"] = source
    return Field(default, description=desc, json_schema_extra=extra, **bounds)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, validate_assignment=True)


Share = Annotated[float, Field(ge=0.0, le=1.0)]

#: Source of the location-logit weights whose sign the literature fixes.
_HRS = "sign: Head, Ries & Swenson (1995); magnitude assumed (ODD §7.5)"


# --------------------------------------------------------------------------- meta
class Meta(_Strict):
    name: str = Field("unnamed", description="Scenario name [text]")
    description: str = Field("", description="What the scenario represents [text]")
    start_quarter: str = Field("2025Q1", description="First simulated quarter, e.g. 2025Q1 [YYYYQn]")
    horizon: int = _f(64, "quarters", "Number of quarters a run lasts by default", ge=1, le=400)
    unstarted_sites: str = Field("given", description="Sites whose construction_start is in or after the start year: 'given' = they enter as announced projects; 'decided' = they are left out, so new fabs from the start on are the firms' own decisions (a backcast) [given|decided]")

    @field_validator("unstarted_sites")
    @classmethod
    def _unstarted(cls, v: str) -> str:
        if v not in ("given", "decided"):
            raise ValueError(f"expected 'given' or 'decided', got {v!r}")
        return v

    @field_validator("start_quarter")
    @classmethod
    def _quarter(cls, v: str) -> str:
        if not QUARTER_PATTERN.match(v):
            raise ValueError(f"expected a quarter like 2025Q1, got {v!r}")
        return v

    @property
    def start_year(self) -> int:
        return int(QUARTER_PATTERN.match(self.start_quarter).group(1))

    @property
    def start_q(self) -> int:
        return int(QUARTER_PATTERN.match(self.start_quarter).group(2))


class DataFiles(_Strict):
    """CSV tables merged into the scenario before validation (paths relative to the TOML)."""

    regions: str | None = Field(None, description="CSV of regions [path]")
    firms: str | None = Field(None, description="CSV of firms [path]")
    sites: str | None = Field(None, description="CSV of firm sites [path]")


# --------------------------------------------------------------------- behaviour
class Params(_Strict):
    """Behavioural parameters: location-logit weights, investment trigger, finance, prices.

    Weights multiply the location-choice terms of ``model.decisions``; their
    magnitudes are the team's calibration (docs/ODD.md §7), their signs follow
    Head, Ries & Swenson (1995) and the dossier §8.1.
    """

    logit_scale: float = _f(1.0, "utility units", "Scale μ of the Gumbel noise in the location logit (P ∝ exp(V/μ))", gt=0.0, le=100.0, source=_HRS)
    w_subsidy: float = _f(6.0, "utility per unit of capex share", "Weight of net subsidy (grant + tax credit − condition costs, as a share of capex)", ge=0.0, le=100.0, source=_HRS)
    w_labour: float = _f(4.0, "utility per log-wage unit", "Weight of labour cost: × segment labour intensity × ln(wage / reference wage)", ge=0.0, le=100.0, source=_HRS)
    w_risk: float = _f(6.0, "utility per risk-index unit", "Weight of political risk (index 0–1) × the firm's risk aversion", ge=0.0, le=100.0, source=_HRS)
    w_infrastructure: float = _f(5.0, "utility per reliability unit", "Weight of power reliability (index 0–1)", ge=0.0, le=100.0, source=_HRS)
    w_skill: float = _f(2.0, "utility per availability unit", "Weight of skilled-labour availability pool/(pool + employed) (0–1)", ge=0.0, le=100.0, source=_HRS)
    w_agglomeration: float = _f(0.6, "utility per log-capacity unit", "Weight of agglomeration ln(1 + (same-segment + link weight × linked-segment capacity)/scale)", ge=0.0, le=100.0, source=_HRS)
    agglomeration_link_weight: float = _f(0.3, "dimensionless", "Weight of linked (supplier/customer) segment capacity in the agglomeration term", ge=0.0, le=10.0)
    agglomeration_scale: float = _f(50.0, "kwpm", "Capacity that counts as one unit in the agglomeration term", gt=0.0, le=1e5)
    w_home: float = _f(1.5, "utility", "Home bias: bonus for a region in the firm's home country", ge=0.0, le=100.0, source=_HRS)
    w_bloc: float = _f(1.0, "utility", "Bonus for a region in the firm's home bloc", ge=0.0, le=100.0, source=_HRS)
    w_tariff: float = _f(5.0, "utility per tariff-rate unit", "Weight of the demand-weighted tariff faced by exports from the region", ge=0.0, le=100.0, source=_HRS)
    w_distance: float = _f(0.1, "utility per 1000 km", "Weight of logistics distance to linked-segment capacity", ge=0.0, le=100.0, source=_HRS)
    w_coordination: float = _f(0.4, "utility per log-site unit", "Coordination cost of one more site: × (ln(2 + number of regions where the firm has sites) + spread term)", ge=0.0, le=100.0)
    coordination_spread: float = _f(0.05, "per 1000 km (× w_coordination)", "Spread part of the coordination cost per 1000 km of mean distance to the firm's existing site regions", ge=0.0, le=100.0)
    w_expansion: float = _f(1.0, "utility", "Bonus for expanding an existing same-segment site (brownfield)", ge=0.0, le=100.0)
    location_money: str = Field("terms", description="How money enters the location logit: terms (the calibrated subsidy, labour, risk and tariff terms) or value (one term, w_value × (the project's profitability index at the region relative to the reference project − 1), in their place; ODD 7.5) [terms|value]")
    w_value: float = _f(6.0, "utility per unit of relative profitability index", "Weight of the value term when location_money = value; 6 = w_subsidy, so a grant of a tenth of capex moves utility about as much in both modes near the reference project (model assumption)", ge=0.0, le=100.0)

    target_utilisation: float = _f(0.85, "share", "Utilisation firms plan capacity for; investment triggers when expected utilisation exceeds it", gt=0.1, le=1.0)
    initial_utilisation: float = _f(0.85, "share", "Utilisation of fab segments' operating capacity at step 0 (sets initial final demand)", gt=0.1, le=1.0)
    investment_pace: float = _f(0.5, "share per quarter", "Share of the profitable expansion (investment_rule = value) or of the expected capacity gap (gap) that firms act on in one quarter", gt=0.0, le=1.0)
    max_projects_per_quarter: int = _f(0, "projects per firm, segment and quarter", "Most projects a firm starts in one segment in a quarter; 0 = no cap (kyoso 0.1 capped at 1, which held the largest memory makers below their share; model assumption)", ge=0, le=100)
    investment_rule: str = Field("value", description="How many projects firms start: value (while the best project's profitability index clears the hurdle, ODD 7.4) or gap (a share of the capacity gap, as kyoso 0.1) [value|gap]")
    expectation_speed: float = _f(0.25, "share per quarter", "Adaptive expectations of price and utilisation: weight of this quarter's observation (Nerlove 1958; 0.25 = a mean lag of 3 quarters; model assumption)", ge=0.0, le=1.0)
    discount_rate: float = _f(0.08, "per year", "Firms' cost of capital before the risk premium (model assumption: of the order of the industry's cost of capital, not estimated)", ge=0.0, le=1.0)
    risk_premium: float = _f(0.10, "per year per risk unit", "Discount-rate premium per unit of priced risk × the firm's risk aversion (model assumption)", ge=0.0, le=10.0)
    project_life: float = _f(15.0, "years", "Years a new site operates in the valuation of a project (model assumption)", gt=0.0, le=60.0)
    hurdle: float = _f(1.0, "× reference profitability index", "A firm invests while its best project's profitability index is at least this multiple of the reference project's (unsubsidised, reference wage, no tariff, no risk premium, at base price and target utilisation); 1 = a project as good as the reference project just clears (ODD 7.4)", gt=0.0, le=10.0)
    depreciation_years: float = _f(5.0, "years", "Straight-line depreciation of fab capital for tax (model assumption: the usual life of wafer-fab equipment)", gt=0.0, le=50.0)
    maintenance_rate: float = _f(0.03, "share of replacement capex per year", "Sustaining capex of an operating site, as a share of its capacity's replacement capex per year (model assumption)", ge=0.0, le=1.0)
    tax_rate: float = _f(0.20, "share of profit", "Corporate tax on profits for firms whose home government sets no corporate_tax (model assumption)", ge=0.0, le=1.0)
    payout_ratio: float = _f(0.3, "share of after-tax profit", "Share of positive after-tax profit paid out to shareholders each quarter (model assumption)", ge=0.0, le=1.0)
    equity_share: float = _f(0.3, "share", "Share of a project's capex the firm must hold in cash (not yet set aside this quarter) to start it", ge=0.0, le=1.0)
    max_leverage: float = _f(3.0, "debt / annual revenue", "Firms with more debt than this multiple of annual revenue do not invest", ge=0.0, le=100.0)
    interest_rate: float = _f(0.05, "per year", "Interest on firm debt", ge=0.0, le=1.0)
    repayment_share: float = _f(0.25, "share per quarter", "Share of positive cash used to repay debt each quarter", ge=0.0, le=1.0)
    price_elasticity: float = _f(1.5, "dimensionless", "Inverse price flexibility η: price ∝ (demand / (target utilisation × capacity))^(1/η)", gt=0.1, le=100.0)
    demand_elasticity: float = _f(0.0, "dimensionless", "Price elasticity of final chip demand in each market region (demand ∝ (price × (1 + tariff paid) / base price)^(−ε), on last quarter's price); 0 = demand does not respond to prices, as kyoso 0.1 (no sourced estimate in the dossier)", ge=0.0, le=5.0)
    price_capacity: str = Field("available", description="Capacity prices clear against: available (operating capacity less outages and the exports a blockade stops) or operating (every operating site, as in kyoso 0.1) [available|operating]")
    price_input_shortage: bool = Field(True, description="With price_capacity = available, fab capacity also counts only the share of planned output that last quarter's inputs allowed, so missing inputs raise chip prices [bool]")
    price_floor: float = _f(0.5, "× base price", "Lowest price relative to the segment base price", gt=0.0, le=1.0)
    price_cap: float = _f(2.0, "× base price", "Highest price relative to the segment base price", ge=1.0, le=100.0)
    reference_wage: float = _f(2687.0, "USD / month", "Wage at which labour cost neither raises nor lowers unit cost", gt=0.0, le=1e5, source="Japan manufacturing wage 2021, calibration_regions.csv (ILOSTAT via secondary compilation) [M]")
    wage_response: float = _f(0.25, "per year per unit of shortage", "Wage growth per unit of a region's skilled-labour shortage (shortage 0.2 → wages +5%/yr at 0.25); 0 keeps wages fixed as in kyoso 0.1 (model assumption)", ge=0.0, le=10.0)
    skilled_labour_growth: float = _f(0.03, "per year", "Growth of every region's skilled-labour pool (training, migration)", ge=-0.5, le=1.0)
    shortage_delay: float = _f(0.5, "per quarter per unit shortage", "Probability that a project started in the model slips one quarter, × its region's skilled-labour shortage (0–1); announced sites keep their dates", ge=0.0, le=1.0)
    expansion_lag_factor: float = _f(0.6, "share of lag", "Construction lag of a brownfield expansion relative to a new site", gt=0.0, le=1.0)
    milestone_shares: list[Share] = Field([0.2, 0.3, 0.5], description="Share of a subsidy paid at the start, the midpoint and the completion of construction [shares summing to 1]")
    concern_countries: list[str] = Field(["CN"], description="Countries of concern under subsidy guardrails: a government's concern_ban condition costs recipients in proportion to their capacity there [ISO codes]")

    @field_validator("milestone_shares")
    @classmethod
    def _milestones(cls, v: list[float]) -> list[float]:
        if len(v) != 3 or abs(sum(v) - 1.0) > 1e-9:
            raise ValueError(f"expected 3 shares summing to 1, got {v}")
        return v


# ---------------------------------------------------------------------- segments

    @field_validator("location_money")
    @classmethod
    def _location_money(cls, v: str) -> str:
        if v not in ("terms", "value"):
            raise ValueError(f"expected 'terms' or 'value', got {v!r}")
        return v

    @field_validator("investment_rule")
    @classmethod
    def _investment_rule(cls, v: str) -> str:
        if v not in ("value", "gap"):
            raise ValueError(f"expected 'value' or 'gap', got {v!r}")
        return v

    @field_validator("price_capacity")
    @classmethod
    def _price_capacity(cls, v: str) -> str:
        if v not in ("available", "operating"):
            raise ValueError(f"expected 'available' or 'operating', got {v!r}")
        return v


class Segment(_Strict):
    input_coefficients: dict[str, Annotated[float, Field(ge=0.0, le=10.0)]] = Field(
        default_factory=dict,
        description="Units of each upstream segment's capacity needed per unit of this segment's output [unit/unit; 0–10]",
    )
    construction_lag: int = _f(8, "quarters", "Quarters from ground-breaking to operation of a new site", ge=1, le=40)
    labour_intensity: float = _f(0.1, "share", "Labour share of unit cost at the reference wage", ge=0.0, le=1.0)
    demand_growth: float | None = _f(None, "per year", "Growth of final demand; None = demand derived from downstream segments", ge=-0.5, le=1.0)
    project_size: float = _f(50.0, "kwpm", "Capacity of a typical new project", gt=0.0, le=1e4)
    capex_per_capacity: float = _f(0.05, "USD bn per kwpm", "Capital cost of one kwpm of new capacity", gt=0.0, le=10.0)
    price: float = _f(1000.0, "USD per 200mm-eq wafer", "Base price of one unit of output", gt=0.0, le=1e6)
    cost_share: float = _f(0.6, "share of base price", "Unit operating cost at the reference wage, as a share of the base price", gt=0.0, le=1.0)
    workers_per_capacity: float = _f(0.02, "thousand workers per kwpm", "Skilled workers one kwpm of capacity employs", ge=0.0, le=10.0)
    ramp_quarters: int = _f(0, "quarters", "Quarters a site completed in the model takes to reach full yield: in its k-th operating quarter (k = 0..n−1) it produces (k+1)/(n+1) of its capacity; 0 = full output at once (docs/ODD.md §7.10)", ge=0, le=40)
    tech_premium: float = _f(0.0, "price share per technology unit", "Price premium of technology: a site's realised price is p × (1 + premium × (t − mean t of the segment's output)), t its firm's technology in the segment (capped at the leading-edge threshold on non-leading-edge sites); revenue-neutral over the segment; 0 = one price for all (docs/ODD.md §7.15)", ge=0.0, le=10.0)
    leading_edge_threshold: float | None = _f(None, "index 0–1", "Technology in this segment a firm needs for a site it completes here to be leading-edge; empty = the segment has no leading edge (docs/ODD.md §7.15)", ge=0.0, le=1.0)
    source: str = Field("", description="Where the numbers come from [text]")


# --------------------------------------------------------------------- geography
class Region(_Strict):
    country: str = Field(..., description="ISO 3166 alpha-2 country code (EU = aggregate Europe & Mideast) [code]")
    name: str = Field("", description="Human-readable name [text]")
    lat: float = _f(0.0, "degrees", "Latitude", ge=-90.0, le=90.0)
    lon: float = _f(0.0, "degrees", "Longitude", ge=-180.0, le=180.0)
    labour_cost: float = _f(1000.0, "USD / month", "Manufacturing wage", gt=0.0, le=1e5)
    skilled_labour: float = _f(10.0, "thousand workers", "Skilled semiconductor workers available", ge=0.0, le=1e5)
    power_reliability: float = _f(0.95, "index 0–1", "Power reliability (1 = no outages)", ge=0.0, le=1.0)
    political_risk: float = _f(0.4, "index 0–1", "Political-instability index (2.5 − WGI political stability)/5; drives the random political-event hazard (ODD §7.17), not the risk investors price", ge=0.0, le=1.0)
    investor_risk: float | None = _f(None, "index 0–1", "Country risk a foreign investor prices here: (2.5 − mean(WGI regulatory quality, rule of law))/5 (ODD §7.18); empty = political_risk", ge=0.0, le=1.0)
    source: str = Field("", description="Where the numbers come from [text]")
    note: str = Field("", description="Derivations and assumptions [text]")

    @field_validator("country")
    @classmethod
    def _cc(cls, v: str) -> str:
        if not COUNTRY.match(v):
            raise ValueError(f"expected a two-letter upper-case country code, got {v!r}")
        return v


class Conditions(_Strict):
    """Conditions attached to a subsidy, each costing the recipient a share of capex."""

    technology_transfer: float = _f(0.0, "share of capex", "Cost of technology-transfer demands", ge=0.0, le=1.0)
    data_disclosure: float = _f(0.0, "share of capex", "Cost of data-disclosure demands", ge=0.0, le=1.0)
    local_content: float = _f(0.0, "share of capex", "Cost of local-content rules", ge=0.0, le=1.0)
    concern_ban: float = _f(0.0, "share of capex", "Cost of the ban on expansion in countries of concern, × the firm's capacity share there", ge=0.0, le=1.0)

    def flat_cost(self) -> float:
        return self.technology_transfer + self.data_disclosure + self.local_content


class Government(_Strict):
    name: str = Field("", description="Country name [text]")
    bloc: str = Field(..., description="Geopolitical bloc of the country [id]")
    subsidy_rate: float = _f(0.0, "share of capex", "Grant share of capex offered to new projects", ge=0.0, le=1.0)
    budget: float = _f(0.0, "USD bn", "Subsidy budget available at the start", ge=0.0, le=1e4)
    annual_budget: float = _f(0.0, "USD bn per year", "New subsidy money appropriated each year (paid in quarterly)", ge=0.0, le=1e3)
    tax_credit: float = _f(0.0, "share of capex", "Investment tax credit, paid on completion (not budget-limited)", ge=0.0, le=1.0)
    tariff: float = _f(0.0, "ad valorem share", "Tariff on semiconductor imports from other countries", ge=0.0, le=5.0)
    tariff_exempt: list[str] = Field(default_factory=list, description="Countries whose exports this tariff spares [ISO codes]")
    market_share: float = _f(0.0, "share", "Share of world semiconductor demand in this country", ge=0.0, le=1.0)
    conditions: Conditions = Field(default_factory=Conditions, description="Conditions attached to its subsidies")
    strategic_target: float | None = _f(None, "share of world fab capacity", "Capacity share the government steers its subsidy rate toward; empty = fixed rate", ge=0.0, le=1.0)
    target_adjustment: float = _f(0.5, "rate per unit share gap per quarter", "How fast the subsidy rate moves toward the strategic target", ge=0.0, le=100.0)
    max_subsidy_rate: float = _f(0.5, "share of capex", "Highest subsidy rate the target rule may set", ge=0.0, le=1.0)
    rival_response: float = _f(0.0, "share of the gap per year", "Subsidy race: each year the subsidy rate closes this share of its gap to the highest rate another government offers (only upward, within max_subsidy_rate, while money is left); 0 = no response", ge=0.0, le=10.0)
    condition_drift: float = _f(0.0, "share of capex per year", "Yearly tightening of the technology-transfer and data-disclosure conditions", ge=0.0, le=1.0)
    condition_cap: float = _f(0.2, "share of capex", "Most the drift may add to the conditions' flat cost", ge=0.0, le=1.0)
    tit_for_tat: bool = Field(False, description="Answer another country's tariff on its exports with the same rate [bool]")
    guardrail_years: float = _f(0.0, "years", "After this government commits a grant to a firm, the firm may start no project in a country of concern (params.concern_countries) for this long; 0 = no guardrail (CHIPS Act: 10 years, 88 FR 65600)", ge=0.0, le=50.0)
    corporate_tax: float | None = _f(None, "share of profit", "Effective corporate tax rate of firms headquartered here; empty = params.tax_rate", ge=0.0, le=1.0)
    local_sourcing_share: float = _f(0.0, "share of partnerships", "Local-content rule: a firm holding a grant from this government must have at least this share of its supply partnerships for each input with suppliers whose home is this country (new partnerships are formed locally until it does); 0 = none", ge=0.0, le=1.0)
    screens_concern: bool = Field(False, description="Investment screening: firms whose home is a country of concern (params.concern_countries) may not build here [bool]")
    loan_budget: float = _f(0.0, "USD bn", "Policy-loan envelope: what the government (through its development bank) may lend at a preferential rate, drawn down by the loans made when projects start (not repaid into it, ODD 7.1); 0 = no policy loans", ge=0.0, le=1e4)
    loan_share: float = _f(0.0, "share of capex", "Share of an eligible project's capex a policy loan covers, capped by the envelope left: it lowers the project's discount rate by loan_share × loan_rate_cut and is financed outside the firm's own cash and leverage check (ODD 7.1, 7.4)", ge=0.0, le=1.0)
    loan_rate_cut: float = _f(0.0, "per year", "Interest preference of a policy loan below the firm's cost of debt (0.01 = 1 percentage point a year)", ge=0.0, le=0.2)
    loan_home_only: bool = Field(True, description="Policy loans go only to firms whose home is this country (building here); false = to any firm building here [bool]")
    source: str = Field("", description="Where the numbers come from [text]")


# ------------------------------------------------------------------------- firms
class Site(_Strict):
    region: str = Field(..., description="Region id [CC-Name]")
    segment: str = Field(..., description="Segment id [one of SEGMENTS]")
    capacity: float = _f(..., "kwpm", "Capacity (200mm-eq wafers/month for fabs; wafer-equivalents served for others)", gt=0.0, le=1e5)
    status: SiteStatus = Field(SiteStatus.OPERATING, description="operating or building at the start [status]")
    online: int | None = _f(None, "year", "Year an announced site comes online (building sites)", ge=1990, le=2100)
    leading_edge: bool = Field(False, description="Leading-edge (≤7nm-class logic, leading DRAM/HBM) [bool]")
    since: int | None = _f(None, "year", "Year an operating site began volume production; a scenario starting before it treats the site as building", ge=1950, le=2100)
    capacity_2020: float | None = _f(None, "kwpm", "Capacity at the end of 2020 where it differed from capacity (expanded since); a scenario starting in 2021 or earlier with meta.unstarted_sites = 'decided' uses it (0 = the site is left out); empty = capacity", ge=0.0, le=1e5)
    announced: int | None = _f(None, "year", "Year the site (or the phase this row holds) was announced", ge=1950, le=2100)
    construction_start: int | None = _f(None, "year", "Year construction began (or is planned to); with meta.unstarted_sites = 'decided' a scenario starting in or before that year leaves the site out, for the firms to decide", ge=1950, le=2100)
    history_source: str = Field("", description="Where the since / announced / construction_start years come from, or the rule that estimated them [text]")
    product: str = Field("", description="What the site makes [text]")
    source: str = Field("", description="Where the numbers come from [text]")
    note: str = Field("", description="Derivations and assumptions [text]")

    @field_validator("segment")
    @classmethod
    def _seg(cls, v: str) -> str:
        if v not in SEGMENTS:
            raise ValueError(f"expected one of {', '.join(SEGMENTS)}, got {v!r}")
        return v

    @model_validator(mode="after")
    def _online(self) -> Site:
        if self.status == SiteStatus.BUILDING and self.online is None:
            raise ValueError("a building site needs an 'online' year")
        return self


class Firm(_Strict):
    name: str = Field("", description="Firm name [text]")
    home: str = Field(..., description="Home country [ISO code]")
    kind: str = Field("named", description="named, aggregate or generated [text]")
    risk_aversion: float = _f(1.0, "dimensionless", "Multiplier on political risk in location choice", ge=0.0, le=10.0)
    cash: float = _f(1.0, "USD bn", "Cash available at the start", ge=0.0, le=1e4)
    technology: float | None = _f(None, "index 0–1", "Technology level in every segment; empty = derived per segment from the firm's sites (docs/ODD.md §5.5)", ge=0.0, le=1.0)
    technology_by_segment: dict[str, Annotated[float, Field(ge=0.0, le=1.0)]] = Field(
        default_factory=dict,
        description="Technology level in the named segments, e.g. {logic = 0.9}; over `technology` and the derived "
                    "level in those segments (docs/ODD.md §5.5) [index 0–1 per segment id]")
    sites: list[Site] = Field(default_factory=list, description="Existing and announced sites")
    source: str = Field("", description="Where the numbers come from [text]")
    note: str = Field("", description="Derivations and assumptions [text]")

    @field_validator("technology_by_segment")
    @classmethod
    def _tech_segments(cls, v: dict[str, float]) -> dict[str, float]:
        for s in v:
            if s not in SEGMENTS:
                raise ValueError(f"unknown segment {s!r} (expected one of {', '.join(SEGMENTS)})")
        return v


class Generated(_Strict):
    """Distributions that generated firms are drawn from (see docs/ODD.md)."""

    home_weights: dict[str, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict, description="Relative weight of each home country [weight ≥ 0]; empty = by fab capacity")
    segment_weights: dict[str, Annotated[float, Field(ge=0.0)]] = Field(default_factory=dict, description="Relative weight of each segment [weight ≥ 0]; empty = by world capacity")
    size_median: float = _f(5.0, "kwpm", "Median initial capacity (lognormal)", gt=0.0, le=1e4)
    size_sigma: float = _f(1.0, "log units", "Dispersion of initial capacity (lognormal σ)", ge=0.0, le=5.0)
    cash_per_capacity: float = _f(0.02, "USD bn per kwpm", "Initial cash per unit of initial capacity", ge=0.0, le=10.0)
    risk_aversion_low: float = _f(0.5, "dimensionless", "Lower bound of uniform risk aversion", ge=0.0, le=10.0)
    risk_aversion_high: float = _f(1.5, "dimensionless", "Upper bound of uniform risk aversion", ge=0.0, le=10.0)

    @model_validator(mode="after")
    def _bounds(self) -> Generated:
        if self.risk_aversion_low > self.risk_aversion_high:
            raise ValueError("risk_aversion_low must not exceed risk_aversion_high")
        return self


# ----------------------------------------------------------------- value chain
class CountryTrust(_Strict):
    """Initial trust between the firms of two countries (symmetric)."""

    a: str = Field(..., description="First country [ISO code]")
    b: str = Field(..., description="Second country [ISO code]")
    trust: float = _f(0.5, "index 0–1", "Initial trust between the two countries' firms", ge=0.0, le=1.0)
    source: str = Field("", description="Where the value comes from [text]")


class Network(_Strict):
    """Supply partnerships, partner choice and trust (docs/ODD.md §7.8-7.11)."""

    sources_per_input: int = _f(2, "suppliers", "Suppliers a buyer asks for per input segment (1 = single sourcing); large buyers ask for more, and fewer are found while candidates run out", ge=1, le=10)
    max_sources: int = _f(8, "suppliers", "Most suppliers a buyer holds for one input (large buyers need several)", ge=1, le=50)
    candidates: int = _f(16, "suppliers", "Suppliers sampled (with replacement, in proportion to spare capacity, at least spare_floor of capacity) for each partner choice", ge=1, le=1000)
    spare_floor: float = _f(0.05, "share of capacity", "Share of a supplier's capacity always counted as spare when candidates are sampled, so fully committed suppliers are still considered now and then (model assumption)", ge=0.0, le=1.0)
    formation_rounds: int = _f(4, "rounds", "Rounds in which a quarter's partnership requests are served when there are many, so suppliers chosen early show less spare capacity to later buyers (model assumption)", ge=1)
    formation_round_min_requests: int = _f(64, "requests", "More partnership requests than this in a quarter are split into formation_rounds rounds; fewer are served in one round (model assumption)", ge=0)
    partner_logit_scale: float = _f(1.0, "utility units", "Scale of the Gumbel noise in partner choice", gt=0.0, le=100.0)
    w_technology: float = _f(2.0, "utility per technology unit", "Weight of the supplier's technology level in the input it supplies (0–1)", ge=0.0, le=100.0)
    w_price: float = _f(3.0, "utility per relative-cost unit", "Weight of the supplier's delivered cost relative to the segment base price", ge=0.0, le=100.0)
    w_trust: float = _f(3.0, "utility per trust unit", "Weight of trust between buyer and supplier (0–1)", ge=0.0, le=100.0)
    w_distance: float = _f(0.1, "utility per 1000 km", "Weight of the distance between buyer and supplier", ge=0.0, le=100.0)
    w_export_control: float = _f(2.0, "utility per exposure unit", "Weight of export-control exposure of the link (0–1)", ge=0.0, le=100.0)
    w_ip: float = _f(1.0, "utility per exposure unit", "Weight of IP-leakage exposure of a cross-border link (0–1)", ge=0.0, le=100.0)
    spot_share: float = _f(0.5, "share", "Share of an input still missing after partnership deliveries that a buyer can buy on the spot market from spare capacity", ge=0.0, le=1.0)
    break_trust: float = _f(0.05, "index 0–1", "A partnership whose trust falls below this ends", ge=0.0, le=1.0)
    switching_cost: float = _f(1.0, "utility", "Utility an incumbent partner keeps over a challenger when a partnership is reviewed", ge=0.0, le=100.0)
    review_probability: float = _f(0.05, "per quarter", "Probability that a partnership is reviewed (and possibly switched) in a quarter", ge=0.0, le=1.0)
    ally_licence_exposure: float = _f(0.3, "index 0–1", "Export-control exposure of a cross-border link within one bloc (across blocs it is 1)", ge=0.0, le=1.0, source="assumption, after Japan's 2019 licensing for Korea (dossier §7)")
    licence_friction: float = _f(0.05, "share of deliveries", "Deliveries lost to licence delays on a fully exposed link", ge=0.0, le=1.0)
    disruption_probability: float = _f(0.02, "per quarter", "Probability that a fully exposed link is disrupted in a quarter", ge=0.0, le=1.0)
    disruption_severity: float = _f(0.5, "share of deliveries", "Deliveries lost on a disrupted link", ge=0.0, le=1.0)
    trust_gain: float = _f(0.02, "per quarter", "Trust gained by a partnership in a quarter of full delivery", ge=0.0, le=1.0)
    trust_loss: float = _f(0.3, "per unit shortfall", "Trust lost per unit of delivery shortfall (1 − fill rate)", ge=0.0, le=10.0)
    project_trust_gain: float = _f(0.01, "share per quarter", "Share of the way to full trust a country pair moves per quarter of each active joint project between them", ge=0.0, le=1.0)
    country_trust_rate: float = _f(0.1, "per quarter", "Speed at which country-pair trust follows its firms' partnership trust", ge=0.0, le=1.0)
    domestic_trust: float = _f(0.8, "index 0–1", "Initial trust between firms of the same country", ge=0.0, le=1.0)
    default_trust: float = _f(0.5, "index 0–1", "Initial trust between firms of countries not listed in country_trust", ge=0.0, le=1.0)
    country_trust: list[CountryTrust] = Field(default_factory=list, description="Initial trust of listed country pairs")


class Knowledge(_Strict):
    """Technology levels, spillovers and the leader's sharing decision."""

    own_progress: float = _f(0.002, "per quarter", "Technology gained by every firm from its own R&D", ge=0.0, le=0.1)
    partnership_spill: float = _f(0.01, "share of gap per quarter", "Share of the technology gap a follower closes per quarter along a supply partnership at full sharing", ge=0.0, le=1.0)
    project_spill: float = _f(0.06, "share of gap per quarter", "Share of the gap a follower closes per quarter in a joint project at full sharing", ge=0.0, le=1.0)
    institute_bonus: float = _f(0.5, "share", "Extra spill in a project from the host institute's researcher exchange, at a full exchange", ge=0.0, le=10.0)
    researchers_per_project: float = _f(10.0, "researchers", "Researchers a project needs from its host for a full exchange; a host with fewer per active project gives a proportionally smaller bonus", gt=0.0, le=1e4)
    base_sharing: float = _f(0.8, "share", "Sharing rate of a leader that expects balanced gains and full trust", ge=0.0, le=1.0)
    trust_sharing_floor: float = _f(0.5, "share", "Trust factor of the sharing rule at zero trust: s = base × (floor + (1 − floor) × trust) × (1 − min(1, aversion × asymmetry)); at 0.5 a leader shares half as much with a partner it does not trust at all as with one it fully trusts (model assumption)", ge=0.0, le=1.0)
    asymmetry_aversion: float = _f(1.0, "dimensionless", "How strongly a leader cuts sharing when the follower expects to gain more (0 = not at all)", ge=0.0, le=10.0)
    complementarity: float = _f(0.3, "dimensionless", "Leader's expected gain relative to the follower's gap-based gain (what the follower brings)", ge=0.0, le=10.0)
    stage_gate_incentive: float = _f(0.5, "dimensionless", "Leader's extra expected gain under stage-gated funding (the next stage's money depends on the KPI), relative to the follower's gain", ge=0.0, le=10.0)
    joint_ownership_leakage: float = _f(1.0, "share", "Share of the follower's gain the leader counts under joint IP ownership", ge=0.0, le=1.0)
    transfer_per_capex: float = _f(2.0, "share of gap per unit of capex share", "Technology transfer demanded with a grant: firms of the host country in the project's segment close min(1, this × the technology_transfer condition) of their gap to the recipient's technology when the project starts (a 5 % of capex demand closes 10 %; model assumption)", ge=0.0, le=100.0)
    yield_penalty: float = _f(0.2, "share of unit cost per technology unit", "Extra unit cost of a firm below the technology frontier: c × (1 + penalty × (1 − technology in the site's segment)); 0.2 = a firm at the 0.5 floor pays 10% more per good wafer than one at 1 (yield loss; model assumption, docs/ODD.md §7.3)", ge=0.0, le=10.0)
    rival_weight: float = _f(0.5, "share", "Weight of a follower's expected gain in the leader's expected loss when the two have no segment in common (supplier and customer); a competitor in a common segment counts fully (model assumption, docs/ODD.md §7.12)", ge=0.0, le=1.0)
    closeness_scale: float = _f(0.2, "index 0–1", "Technology gap at which the leader's expected loss from a follower's gain has fallen to 1/e of its value at a zero gap: the closer a competitor, the more a gain costs the leader; a very large value (100) restores the gap-free rule of kyoso 0.1 (model assumption, docs/ODD.md §7.12)", gt=0.0, le=100.0)
    technology_floor: float = _f(0.5, "index 0–1", "Technology level derived for a firm in a segment without a given one: floor + (1 − floor) × x, where x is the leading-edge share of its operating capacity in the segment (fab segments) or else the square root of its capacity there relative to the segment's largest firm's; a segment where it has no operating capacity starts at the floor (model assumption, docs/ODD.md §5.5)", ge=0.0, le=1.0)


class Institute(_Strict):
    """A research institute hosting joint projects and exchanging researchers."""

    name: str = Field("", description="Name [text]")
    country: str = Field(..., description="Host country [ISO code]")
    researchers: float = _f(100.0, "researchers", "Researchers available for exchange", ge=0.0, le=1e6)
    source: str = Field("", description="Where it comes from [text]")


class Lever(_Strict):
    enabled: bool = Field(False, description="Whether the lever is on [bool]")
    members: list[str] | None = Field(None, description="Member countries; empty = cocreation.members [ISO codes]")


class InvestmentProtection(Lever):
    strength: float = _f(0.5, "share", "Share of the bilateral part of investor risk (ODD §7.18) removed for investors from a member in another member; the host's country risk is unchanged", ge=0.0, le=1.0)


class ExportControl(Lever):
    strength: float = _f(1.0, "share", "Share of export-control exposure removed on links between members", ge=0.0, le=1.0)
    restriction_relief: float = _f(0.5, "share", "Share of an export restriction between two members that the consultation between their export-control authorities licenses through while it is in force (blockades are not relieved)", ge=0.0, le=1.0, source="model assumption: the column (§4) asks for regular consultation between the two export-control bodies to cut political stalls; no source gives how much of a restriction it undoes")


class Talent(Lever):
    mobility: float = _f(0.3, "share", "Share of other members' free skilled pool that can move to a member's regions", ge=0.0, le=1.0)


class Standards(Lever):
    switching_cost_reduction: float = _f(0.5, "share", "Share of the switching cost removed between members by common supply-chain standards", ge=0.0, le=1.0)


class IPRegime(_Strict):
    regime: str = Field("joint", description="IP regime of partnerships and joint projects between firms of two different member countries: joint (ownership) or licence (time- and use-limited); all other partnerships are joint [joint|licence]")
    licence_years: float = _f(5.0, "years", "Length of a limited licence: the follower gains nothing more along a licensed partnership or project this long after it started", ge=0.0, le=100.0)
    licence_scope: float = _f(0.5, "share", "Share of fields of use a limited licence covers", ge=0.0, le=1.0)
    reference_years: float = _f(10.0, "years", "Licence length at which the follower keeps the full gain", gt=0.0, le=100.0)

    @field_validator("regime")
    @classmethod
    def _regime(cls, v: str) -> str:
        if v not in ("joint", "licence"):
            raise ValueError(f"expected 'joint' or 'licence', got {v!r}")
        return v


class Fund(Lever):
    """A partnership fund for joint research projects (lump-sum or stage-gated)."""

    mode: str = Field("lump_sum", description="lump_sum or stage_gated [mode]")
    budget: float = _f(0.0, "USD bn", "Money in the fund at the start", ge=0.0, le=1e3)
    contributions: dict[str, Annotated[float, Field(ge=0.0, le=1e3)]] = Field(default_factory=dict, description="Annual contribution by country [USD bn per year ≥ 0]")
    projects_per_year: float = _f(4.0, "projects per year", "Joint projects the fund starts per year (while money lasts)", ge=0.0, le=1000.0)
    stage_budget: float = _f(0.02, "USD bn", "Money for a project's first stage", gt=0.0, le=100.0)
    stages: int = _f(3, "stages", "Stages of a project", ge=1, le=20)
    stage_quarters: int = _f(4, "quarters", "Length of a stage", ge=1, le=40)
    kpi_target: float = _f(0.5, "sharing rate", "KPI of a stage: the leader's mean sharing rate over the stage", ge=0.0, le=1.0)
    stage_growth: float = _f(0.25, "share", "Growth of the next stage's money when the KPI is met (stage-gated)", ge=0.0, le=10.0)

    @field_validator("mode")
    @classmethod
    def _mode(cls, v: str) -> str:
        if v not in ("lump_sum", "stage_gated"):
            raise ValueError(f"expected 'lump_sum' or 'stage_gated', got {v!r}")
        return v


class Cocreation(_Strict):
    """The Japan–Korea co-creation levers of the source column (§4), each switchable."""

    members: list[str] = Field(["JP", "KR"], description="Member countries of the co-creation network (add ASEAN and India for an Asian Knowledge Network) [ISO codes]")
    investment_protection: InvestmentProtection = Field(default_factory=InvestmentProtection)
    export_control: ExportControl = Field(default_factory=ExportControl)
    talent: Talent = Field(default_factory=Talent)
    standards: Standards = Field(default_factory=Standards)
    fund: Fund = Field(default_factory=Fund)
    ip: IPRegime = Field(default_factory=IPRegime)

    def members_of(self, lever: Lever) -> list[str]:
        return list(lever.members) if lever.members else list(self.members)


# ------------------------------------------------------------------ shocks
class Event(_Strict):
    """A dated shock.  ``end`` is the first quarter in which it no longer acts."""

    id: str = Field("", description="Identifier (needed for sanctions_lifted to name it) [text]")
    type: str = Field(..., description=f"One of {', '.join(EVENT_TYPES)} [type]")
    start: str = Field(..., description="First quarter in force, e.g. 2025Q3 [YYYYQn]")
    end: str | None = Field(None, description="First quarter no longer in force; empty = to the end [YYYYQn]")
    exporter: str | None = Field(None, description="Exporting country (export_restriction) [ISO code]")
    importer: str | None = Field(None, description="Importing country (export_restriction) [ISO code]")
    country: str | None = Field(None, description="Country acting or hit (tariff: importer; subsidy_tightening; blockade; immigration_enforcement: host country) [ISO code]")
    exporters: list[str] = Field(default_factory=list, description="Countries a tariff applies to; empty = all others [ISO codes]")
    exempt_local: bool = Field(False, description="Tariff spares firms with capacity in the importing country [bool]")
    region: str | None = Field(None, description="Region hit (outage; immigration_enforcement host) [CC-Name]")
    firm: str | None = Field(None, description="Firm hit (outage, optional) [firm id]")
    home: str | None = Field(None, description="Home country of the targeted workers (immigration_enforcement) [ISO code]")
    segments: list[str] = Field(default_factory=list, description="Segments concerned; empty = all (a tariff is on chips; naming materials, equipment or packaging also puts it on those inputs, paid by the importing buyer) [segment ids]")
    condition: str = Field("technology_transfer", description=f"Condition tightened: one of {', '.join(CONDITION_NAMES)} [name]")
    lifts: str | None = Field(None, description="Id of the event a sanctions_lifted event ends [text]")
    settings: dict[str, float] = Field(default_factory=dict, description=f"policy_change: the government's new instruments, any of {', '.join(POLICY_SETTINGS)} (rates as shares of capex; annual_budget in USD bn per year; budget and loan_budget in USD bn are added to what is left, an appropriation; loan_rate_cut per year, at most 0.2); at the event's end the rates return to their earlier values [name = value]")
    magnitude: float = _f(1.0, "share (tariff: ad valorem)", "Strength of the event", ge=0.0, le=5.0)
    description: str = Field("", description="What happened [text]")
    source: str = Field("", description="Where it is documented [text]")

    @field_validator("type")
    @classmethod
    def _type(cls, v: str) -> str:
        if v not in EVENT_TYPES:
            raise ValueError(f"expected one of {', '.join(EVENT_TYPES)}, got {v!r}")
        return v

    @field_validator("start", "end")
    @classmethod
    def _q(cls, v: str | None) -> str | None:
        if v is not None and not QUARTER_PATTERN.match(v):
            raise ValueError(f"expected a quarter like 2025Q3, got {v!r}")
        return v

    @field_validator("condition")
    @classmethod
    def _cond(cls, v: str) -> str:
        if v not in CONDITION_NAMES:
            raise ValueError(f"expected one of {', '.join(CONDITION_NAMES)}, got {v!r}")
        return v

    @field_validator("settings")
    @classmethod
    def _settings(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            if k not in POLICY_SETTINGS:
                raise ValueError(f"{k!r} is not a policy instrument, expected one of {', '.join(POLICY_SETTINGS)}")
            hi = 1e4 if k in ("budget", "annual_budget", "loan_budget") else 0.2 if k == "loan_rate_cut" else 1.0
            if not 0.0 <= x <= hi:
                raise ValueError(f"{k} = {x}, expected between 0 and {hi:g}")
        return v

    @model_validator(mode="after")
    def _shape(self) -> Event:
        if EVENT_TYPES[self.type] and self.magnitude > 1.0:
            raise ValueError(f"magnitude: {self.magnitude} is a share for {self.type} events, expected ≤ 1")
        for name in EVENT_REQUIRES[self.type]:
            if getattr(self, name) in (None, "", {}):
                raise ValueError(f"{name}: required for a {self.type} event")
        if self.type == "immigration_enforcement" and self.region is None and self.country is None:
            raise ValueError("region or country: a host is required for an immigration_enforcement event")
        if self.end is not None and quarter_index(self.end) <= quarter_index(self.start):
            raise ValueError(f"end: {self.end} is not after start {self.start}")
        return self


class RandomEvents(_Strict):
    """Political and infrastructure shocks drawn each quarter for every region."""

    enabled: bool = Field(False, description="Draw random events [bool]")
    political_rate: float = _f(0.02, "per quarter", "Political-event hazard of a region with political risk 1 (× the region's risk index)", ge=0.0, le=1.0)
    infrastructure_rate: float = _f(0.5, "per quarter", "Infrastructure-event hazard of a region with power reliability 0 (× 1 − reliability)", ge=0.0, le=1.0)
    magnitude_alpha: float = _f(2.0, "dimensionless", "Beta(α, β) distribution of the share of capacity knocked out: α", gt=0.0, le=100.0)
    magnitude_beta: float = _f(5.0, "dimensionless", "Beta(α, β): β", gt=0.0, le=100.0)
    mean_duration: float = _f(1.5, "quarters", "Mean duration of a random event (1 + Poisson)", ge=0.0, le=40.0)


class Learning(_Strict):
    """How firms learn political risk from events and wait under uncertainty."""

    smoothing: float = _f(0.25, "share per quarter", "Weight of this quarter's signal in perceived risk (exponential smoothing)", ge=0.0, le=1.0)
    impulse: float = _f(0.5, "risk units per unit magnitude", "Rise of the risk signal for a region (and home country) an event hits", ge=0.0, le=10.0)
    risk_variance: float = _f(0.1, "per risk² unit", "Baseline uncertainty per unit of squared perceived risk", ge=0.0, le=10.0)
    defer_threshold: float = _f(0.05, "risk² units", "Uncertainty about the chosen region above which a firm defers its investment", gt=0.0, le=10.0)
    max_deferral: int = _f(4, "quarters", "Consecutive deferrals after which a firm invests anyway", ge=0, le=40)


class BilateralRisk(_Strict):
    """A standing political premium between two countries' investors (past shocks before the run)."""

    a: str = Field(..., description="First country [ISO code]")
    b: str = Field(..., description="Second country [ISO code]")
    premium: float = _f(0.0, "index 0–1", "Bilateral risk added for investors of either country in the other", ge=0.0, le=1.0)
    source: str = Field("", description="Where the value comes from [text]")


class InvestorRisk(_Strict):
    """The bilateral (home × host country) part of the risk investors price (ODD §7.18).

    Priced risk P[h, r] = country risk of r + b[h, c(r)] + what firms learned from events;
    b = relation base + listed premia + sanction × restrictions in force between the pair.
    """

    same_bloc: float = _f(0.03, "index 0–1", "Bilateral risk of a host in another country of the investor's bloc (alliance)", ge=0.0, le=1.0, source="assumption")
    other_bloc: float = _f(0.12, "index 0–1", "Bilateral risk of a host in another bloc", ge=0.0, le=1.0, source="assumption (kept so that no baseline pair defers: 0.1 × P² < learning.defer_threshold)")
    sanction: float = _f(0.25, "risk units per unit magnitude", "Rise of the bilateral risk, in both directions, per unit of export restriction in force between the two countries (1 − ∏(1 − m) over those events)", ge=0.0, le=10.0, source="assumption")
    pairs: list[BilateralRisk] = Field(default_factory=list, description="Standing premia of listed country pairs (past shocks before the run)")


class Resilience(_Strict):
    """Visibility of the supply chain, and alternative routes."""

    visibility_share: float = _f(0.0, "share of firms", "Firms that invest in supply-chain visibility (drawn at the start)", ge=0.0, le=1.0)
    visibility_cost: float = _f(0.002, "USD bn per quarter", "Running cost of visibility for a firm", ge=0.0, le=10.0)
    lead_quarters: int = _f(2, "quarters", "How far ahead a firm with visibility sees scheduled disruptions of its suppliers", ge=0, le=20)
    reroute_share: float = _f(0.3, "share", "Share of a cut link's deliveries that alternative routes can carry", ge=0.0, le=1.0)
    reroute_cost: float = _f(0.15, "share of input value", "Extra logistics cost of rerouted deliveries", ge=0.0, le=10.0)
    switch_threshold: float = _f(0.5, "share of deliveries", "A buyer with visibility switches ahead of a scheduled disruption that will block more than this share of a partnership's deliveries (model assumption)", ge=0.0, le=1.0)
    recovery_tolerance: float = _f(0.005, "share of planned output", "Supply has recovered from an event when the supply shortfall is back within this of its level in the quarter before the event (events table; model assumption: half a percentage point)", ge=0.0, le=1.0)


# ---------------------------------------------------------------------- scenario
class Scenario(_Strict):
    """A whole scenario: the world at the start and the rules that move it."""

    base: str | None = Field(None, description="Built-in or file this scenario inherits from [name/path]")
    meta: Meta = Field(default_factory=Meta)
    data: DataFiles = Field(default_factory=DataFiles)
    n_generated_firms: int = _f(0, "firms", "Firms added by drawing from the generated-firm distributions (table generated)", ge=0, le=1_000_000)
    params: Params = Field(default_factory=Params)
    generated: Generated = Field(default_factory=Generated)
    segments: dict[str, Segment]
    regions: dict[str, Region]
    governments: dict[str, Government]
    firms: dict[str, Firm]
    network: Network = Field(default_factory=Network)
    knowledge: Knowledge = Field(default_factory=Knowledge)
    institutes: dict[str, Institute] = Field(default_factory=dict)
    cocreation: Cocreation = Field(default_factory=Cocreation)
    events: list[Event] = Field(default_factory=list, description="Dated shocks")
    event_library: list[str] = Field(default_factory=list, description="Ids of historical events from model/data/events_library.toml to include [ids]")
    random_events: RandomEvents = Field(default_factory=RandomEvents)
    learning: Learning = Field(default_factory=Learning)
    investor_risk: InvestorRisk = Field(default_factory=InvestorRisk)
    resilience: Resilience = Field(default_factory=Resilience)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        check_references(self)
        for k, pair in enumerate(self.investor_risk.pairs):
            for side in ("a", "b"):
                cc = getattr(pair, side)
                if cc not in self.governments:
                    raise ValueError(f"investor_risk.pairs.{k}.{side}: unknown country {cc!r} "
                                     f"(expected one of {', '.join(self.governments)})")
            if pair.a == pair.b:
                raise ValueError(f"investor_risk.pairs.{k}: a and b are both {pair.a!r}, expected two countries")
        return self

    @property
    def blocs(self) -> list[str]:
        """Blocs in order of first appearance among governments."""
        return list(dict.fromkeys(g.bloc for g in self.governments.values()))
