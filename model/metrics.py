"""Model-level metrics (the ``metrics`` table): concentration, clustering, cost.

Pure functions over arrays, plus :func:`snapshot`, which reads a model's
state and returns one row.  Names are snake_case and documented in
docs/ODD.md §7.21 (Observation).

Clustering index: the Herfindahl index of a segment's operating capacity
across regions, Σ_r s_r².  It is 1 when all capacity sits in one region and
1/R when it is spread evenly; it rises when new capacity goes where capacity
already is, which is what agglomeration does.  It is chosen over the
Ellison–Glaeser index because the model's regions are few and unequal and
because it needs no plant-size correction to stay in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .queries import KWPM_QUARTER_TO_USD_BN, firm_technology, skilled_pools, unit_cost_index
from .scenario import FAB_SEGMENTS, SEGMENTS
from .sites import BUILDING, OPERATING

if TYPE_CHECKING:
    from .scenario import Scenario
    from .world import World

__all__ = ["Metric", "METRICS", "shares", "hhi", "herfindahl_columns", "metric_names", "catalog", "describe", "label",
           "odd_table", "snapshot"]


def shares(values: np.ndarray) -> np.ndarray:
    """Values over their sum (zeros if the sum is zero)."""
    total = values.sum()
    return values / total if total > 0 else np.zeros_like(values, dtype=float)


def hhi(values: np.ndarray) -> float:
    """Herfindahl–Hirschman index of the shares of ``values`` (0–1)."""
    s = shares(np.asarray(values, dtype=float))
    return float((s**2).sum())


def herfindahl_columns(matrix: np.ndarray) -> np.ndarray:
    """Herfindahl index of each column's distribution over rows (0 for empty columns)."""
    totals = matrix.sum(axis=0)
    s = np.divide(matrix, totals, out=np.zeros_like(matrix, dtype=float), where=totals > 0)
    return (s**2).sum(axis=0)


# ------------------------------------------------------------------ registry
@dataclass(frozen=True)
class Metric:
    """One metric (or one family: ``{segment}``, ``{fab_segment}``, ``{country}``, ``{bloc}`` in the name).

    ``unit`` is the stored unit; ``scale`` × value is in ``display``, the unit
    figures show (100 turns a share into %).  ``group`` names the function of
    this module that computes it (one pass per group each quarter).
    """

    name: str
    label: str
    unit: str
    definition: str
    group: str
    odd: str = "7.21"
    scale: float = 1.0
    display: str = ""

    @property
    def over(self) -> str | None:
        """The key a family runs over, or None for a single metric."""
        for key in ("fab_segment", "segment", "country", "bloc"):
            if "{" + key + "}" in self.name:
                return key
        return None

    @property
    def display_unit(self) -> str:
        return self.display or self.unit


_SEG, _FAB, _C, _B = "{segment}", "{fab_segment}", "{country}", "{bloc}"
_S = dict(scale=100.0, display="%")        # a share shown in per cent

#: Every metric of the metrics table, in column order (docs/ODD.md §7.21 is generated from it).
METRICS: tuple[Metric, ...] = (
    Metric(f"capacity_{_SEG}", f"{_SEG} capacity", "kwpm", "world operating capacity of the segment", "market"),
    Metric(f"demand_{_SEG}", f"{_SEG} demand", "kwpm", "$D_s$ from 3.3 (step 0: §5.4)", "market"),
    Metric(f"utilisation_{_SEG}", f"{_SEG} utilisation", "share",
           "delivered output over available capacity (operating, less outages) from 3.6 (step 0: from initial "
           "demand, §5.4)", "market", **_S),
    Metric(f"price_{_SEG}", f"{_SEG} price", "USD per 200 mm-eq wafer", "$p_s$ from 3.3", "market"),
    Metric("price_chips", "chip price index", "base prices = 1",
           r"final-demand-weighted price of the fab segments over their base prices, "
           r"$\sum_s D_s p_s / \sum_s D_s \bar p_s$ (the price buyers of chips pay, before tariffs)", "market"),
    Metric("capacity_fab", "operating fab capacity", "kwpm", "operating capacity of logic + memory + sensors + power",
           "concentration"),
    Metric("capacity_building", "capacity under construction", "kwpm",
           "capacity of all `building` sites, fab and non-fab added together", "concentration"),
    Metric(f"share_{_C}", f"{_C} share of world fab capacity", "share",
           "country's share of operating fab capacity (by site location)", "concentration", **_S),
    Metric(f"share_bloc_{_B}", f"{_B} bloc share of world fab capacity", "share",
           "bloc's share of operating fab capacity", "concentration", **_S),
    Metric("leading_edge_share", "leading-edge share", "share",
           "share of operating capacity in the segments with a `leading_edge_threshold` (logic and memory in the "
           "baseline) that is flagged leading-edge (NaN if there is none)", "concentration", **_S),
    Metric("hhi_country", "country HHI", "0–1",
           r"Herfindahl index of operating fab capacity across countries, $\sum_c \text{share}_c^2$", "concentration"),
    Metric(f"clustering_{_SEG}", f"{_SEG} clustering", "0–1",
           r"$H_s = \sum_r (K_{rs}/K_s)^2$ over regions, operating capacity (0 if the segment is empty)",
           "concentration", display="regional Herfindahl, 0–1"),
    Metric("clustering_index", "clustering index", "0–1",
           r"$\sum_s (K_s / \sum_{s'} K_{s'})\,H_s$: $H_s$ weighted by each segment's share of all operating "
           "capacity (kwpm of all seven segments added)", "concentration", display="regional Herfindahl, 0–1"),
    Metric("active_sites", "operating sites", "count", "operating sites", "money"),
    Metric("sites_building", "sites under construction", "count", "building sites", "money"),
    Metric("investments_started", "projects started", "count per quarter", "projects started in 3.4", "money"),
    Metric("investment_capex", "capex of projects started", "USD bn per quarter",
           "total capex $X_s$ of those projects (committed, not yet spent)", "money"),
    Metric(f"fab_starts_{_C}", f"fab projects started in {_C}", "count per quarter",
           "projects of the fab segments (logic, memory, sensors, power) started in 3.4 in the country, "
           "greenfield and expansion (the model's counterpart of SEMI's construction starts, §12.1)", "money"),
    Metric(f"fab_capex_{_C}", f"capex of fab projects started in {_C}", "USD bn per quarter",
           "total capex of those projects (committed at the start)", "money"),
    Metric("subsidy_paid", "subsidies paid", "USD bn per quarter", "milestone payments this quarter", "money"),
    Metric("subsidy_paid_cumulative", "subsidies paid since start", "USD bn", "all payments since step 0", "money"),
    Metric("subsidy_committed", "subsidies committed, not yet paid", "USD bn",
           "grants promised and not yet paid (sum of `outstanding`)", "money"),
    Metric("tax_credit_paid", "tax credits paid", "USD bn per quarter", "tax credits paid to firms this quarter",
           "money"),
    Metric("government_budget", "government budgets", "USD bn",
           "sum of budgets not yet paid out (includes committed money)", "money"),
    Metric("policy_loans_lent", "policy loans made", "USD bn per quarter",
           "principal of the policy loans governments made to projects started this quarter (ODD 7.1)", "money"),
    Metric("policy_loans_outstanding", "policy loans in force", "USD bn",
           "principal of the policy loans made and not yet repaid (each is in force for params.project_life years)",
           "money"),
    Metric("policy_loan_budget", "policy-loan envelopes left", "USD bn",
           "sum of the governments' loan_budget not yet lent", "money"),
    Metric("unit_cost_index", "unit cost index", "step 0 = 1",
           r"capacity-weighted mean of $c_i/\bar p_s$ over operating sites, over its step-0 value", "money"),
    Metric("firm_cash", "firms' cash", "USD bn", "sum over firms", "money"),
    Metric("cost_per_output", "operating cost per unit of output", "USD per USD of output at base prices",
           "firms' own operating costs (incl. rerouting and visibility), inputs paid to suppliers, input tariffs and "
           "sustaining capex, over the value of all output at base prices (0 at step 0); it rises when inputs are "
           "paid for but not turned into output, rerouted or taxed, and when input prices rise", "money"),
    Metric("finance_blocked_share", "investment stopped by finance", "share",
           "of the (firm, segment) pairs whose best project clears the hurdle this quarter (§7.4), the share the "
           "finance check stops (0 when none clears)", "money", scale=100.0, display="% of pairs"),
    Metric("firm_tax", "corporate tax paid", "USD bn per quarter", "tax on firms' positive profit (§7.15)", "money"),
    Metric("firm_payout", "payout to shareholders", "USD bn per quarter",
           "share of positive after-tax profit paid out (§7.15)", "money"),
    Metric("firm_debt", "firms' debt", "USD bn", "sum over firms", "money"),
    Metric("revenue", "firms' revenue", "USD bn per quarter", "sum of firm revenue", "money"),
    Metric("supply_shortfall", "supply shortfall", "share",
           "planned fab output lost for lack of inputs, all fab segments (§7.10); 0 at step 0", "value_chain",
           scale=100.0, display="% of planned fab output"),
    Metric(f"shortfall_{_FAB}", f"{_FAB} output shortfall", "share",
           "the same per fab segment (logic, memory, sensors, power)", "value_chain", **_S),
    Metric("spot_deliveries", "spot-market deliveries", "kwpm-eq",
           "input bought on the spot market this quarter, both stages", "value_chain"),
    Metric("partnerships_active", "active partnerships", "count", "active partnerships at the end of the step",
           "value_chain"),
    Metric("partnerships_cross_border_share", "cross-border partnerships", "share",
           "of those, the share whose buyer and supplier have different homes (0 if none)", "value_chain", **_S),
    Metric("partnerships_jk", "JP–KR partnerships", "count",
           "active partnerships between a JP-home and a KR-home firm, either way round", "value_chain"),
    Metric("partnerships_members", "partnerships between co-creation members", "count",
           "active cross-border partnerships between two countries of `cocreation.members`", "value_chain"),
    Metric("partnership_changes", "partnership changes", "count per quarter",
           "partnerships ended, switched and formed in 3.6", "value_chain"),
    Metric("trust_jk", "JP–KR trust", "index 0–1", "country-pair trust JP–KR (NaN if either country is missing)",
           "value_chain"),
    Metric("technology_mean", "mean technology", "index 0–1",
           "mean over all firms of a firm's technology: its segment levels weighted by its live capacity in each "
           "segment (its best level if it has none)", "value_chain"),
    Metric("technology_JP", "JP firms' technology", "index 0–1",
           "mean technology of JP-home firms (each firm's levels weighted by its live capacity per segment)",
           "value_chain"),
    Metric("technology_KR", "KR firms' technology", "index 0–1",
           "mean technology of KR-home firms (each firm's levels weighted by its live capacity per segment)",
           "value_chain"),
    Metric("knowledge_gap_jk", "JP–KR knowledge gap", "index 0–1",
           "mean absolute technology gap over active JP–KR partnerships (the buyer's level in its fab segment "
           "against the supplier's in the input) and active JP–KR joint projects that have run at least one "
           "quarter (the two firms' levels in the project's segments); the gaps the sharing rule sees (NaN if "
           "none)", "value_chain"),
    Metric("knowledge_sharing_rate", "knowledge sharing rate", "share",
           "mean over active partnerships with deliveries this quarter (their `sharing`) and active projects "
           "(their latest sharing rate) (NaN if none)", "value_chain", display="share 0–1"),
    Metric("project_sharing_rate", "joint projects' sharing rate", "share",
           "mean of the latest sharing rate of active projects (NaN if none)", "value_chain"),
    Metric("projects_active", "active joint projects", "count", "active joint projects (0 without a fund)",
           "value_chain"),
    Metric("fund_budget", "fund budget", "USD bn", "the fund's unspent budget (0 without a fund)", "value_chain"),
    Metric("fund_spent", "fund spent", "USD bn", "all the fund has paid since step 0 (0 without a fund)",
           "value_chain"),
    Metric("kpi_attainment", "stage KPIs met", "share",
           "stage KPIs met over stage KPIs checked so far (NaN before the first check or without a fund)",
           "value_chain", **_S),
    Metric("construction_delays", "construction delays", "count per quarter",
           "projects that slipped a quarter in 3.5", "value_chain"),
    Metric("labour_shortage", "skilled-labour shortage", "share",
           r"$\sum_r \max(E_r - \tilde P_r, 0) / \sum_r E_r$: world skilled-labour need not met by effective pools",
           "value_chain", scale=100.0, display="% of need"),
    Metric("trade_JP_KR", "inputs delivered from Japan to Korea", "USD bn per quarter",
           "value at this quarter's prices of the inputs JP-home suppliers delivered to KR-home buyers (partnerships "
           "and spot market, §7.10)", "value_chain"),
    Metric("trade_KR_JP", "inputs delivered from Korea to Japan", "USD bn per quarter",
           "the same from KR-home suppliers to JP-home buyers", "value_chain"),
    Metric(f"shortfall_{_C}", f"{_C} firms' output shortfall", "share",
           "fab output lost, against intended output, by the firms of that home country (§7.20); 0 if they "
           "intend none", "shocks", **_S),
    Metric("events_active", "active events", "count",
           "events in the active list at the end of 3.1 (scheduled, library and random; tariff and "
           "`sanctions_lifted` events stay until their own end)", "shocks"),
    Metric("stranded_capacity", "stranded capacity", "kwpm",
           "operating capacity offline under outages plus fab capacity that cannot export past a blockade (§7.20)",
           "shocks"),
    Metric("stranded_capital", "stranded capital", "USD bn",
           "stranded capacity × the segment's `capex_per_capacity`", "shocks"),
    Metric("deferrals", "projects deferred", "count per quarter", "candidate projects deferred in 3.4 (§7.18)",
           "shocks"),
    Metric("deferral_quarters", "quarters waited by deferred projects", "quarters",
           "cumulative quarters waited by the projects that started after deferring", "shocks"),
    Metric("friendshored_share", "friend-shored share of new capacity", "share",
           "cumulative capacity of projects started in a country other than the firm's home but in its bloc, "
           "over all capacity started since step 0 (0 before the first project)", "shocks", **_S),
    Metric("subsidy_per_capacity", "subsidy per unit of completed capacity", "USD bn per kwpm",
           "cumulative subsidy paid by all governments, over the cumulative capacity of projects started in the "
           "model that have been completed (0 before the first completion); the numerator includes grants paid on "
           "projects still building", "shocks"),
    Metric("perceived_risk_mean", "mean perceived political risk", "index",
           "mean of $P_{hr}$ over all home countries and regions (§7.18)", "shocks"),
    Metric("tariff_mean", "mean tariff faced by exports", "ad valorem share",
           r"$\frac{1}{C}\sum_e \sum_i m_i t_{ie}$: the market-weighted tariff that each exporting country's chips "
           "face, averaged over the $C$ countries", "shocks", **_S),
)
_BY_NAME = {m.name: m for m in METRICS}


def _keys(metric: Metric, countries: list[str], blocs: list[str]) -> list[str]:
    over = metric.over
    if over is None:
        return [""]
    return {"segment": list(SEGMENTS), "fab_segment": list(FAB_SEGMENTS), "country": countries,
            "bloc": blocs}[over]


def expand(metric: Metric, countries: list[str], blocs: list[str]) -> list[str]:
    """The concrete column names of a metric (one per key of a family)."""
    if metric.over is None:
        return [metric.name]
    tag = "{" + metric.over + "}"
    return [metric.name.replace(tag, k) for k in _keys(metric, countries, blocs)]


def metric_names(countries: list[str], blocs: list[str]) -> list[str]:
    """Column names of the metrics table, in order."""
    return [n for m in METRICS for n in expand(m, countries, blocs)]


def catalog(scenario: Any = "baseline") -> list[str]:
    """Metric names of a scenario's metrics table, from the scenario alone (no model is built)."""
    from .scenario import Scenario, load_scenario
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    return metric_names(list(sc.governments), list(sc.blocs))


def describe(name: str) -> tuple[Metric, str]:
    """The registry entry of a concrete metric name and its key ('' for a single metric).

    Raises KeyError for a name that is no metric of any scenario."""
    if name in _BY_NAME and _BY_NAME[name].over is None:
        return _BY_NAME[name], ""
    candidates = []
    for m in METRICS:
        if m.over is None:
            continue
        prefix, _, suffix = m.name.partition("{" + m.over + "}")
        if name.startswith(prefix) and name.endswith(suffix) and len(name) > len(prefix) + len(suffix):
            key = name[len(prefix): len(name) - len(suffix)]
            static = _keys(m, [], [])
            if m.over in ("segment", "fab_segment") and key not in static:
                continue
            if m.over == "country" and not (len(key) == 2 and key.isupper()):
                continue
            candidates.append((len(prefix), m, key))
    if not candidates:
        raise KeyError(name)
    _, m, key = max(candidates, key=lambda c: c[0])
    return m, key


def label(name: str, *, with_unit: bool = True) -> tuple[str, float]:
    """Axis label of a metric (with its display unit) and the factor from stored value to that unit."""
    try:
        m, key = describe(name)
    except KeyError:
        return name, 1.0
    text = m.label.replace("{" + m.over + "}", key) if m.over else m.label
    return (f"{text} ({m.display_unit})" if with_unit else text), m.scale


def odd_table() -> str:
    """The metric table of docs/ODD.md §7.21, rendered from the registry."""
    rows = ["| metric | unit | definition |", "|---|---|---|"]
    for m in METRICS:
        shown = m.name.replace("{", "<").replace("}", ">").replace("<fab_segment>", "<fab segment>")
        rows.append(f"| `{shown}` | {m.unit} | {m.definition} |")
    return "\n".join(rows)


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


def trade_value(volume: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Deliveries between home countries (kwpm-eq, supplier home × buyer home × input) valued
    at a quarter's prices (USD bn per quarter)."""
    return volume * price[None, None, :] * KWPM_QUARTER_TO_USD_BN


def value_chain(w: World, sc: Scenario) -> dict[str, float]:
    """Partnership, trust, knowledge, fund and supply metrics."""
    geo = w.geo
    book = w.chain.partners
    act = np.flatnonzero(book.active)
    hb = w.firms.home[book.buyer[act]]
    hs = w.firms.home[book.supplier[act]]
    cross = hb != hs
    code = {c: i for i, c in enumerate(geo.countries)}
    jp, kr = code.get("JP", -1), code.get("KR", -1)
    jk = ((hb == jp) & (hs == kr)) | ((hb == kr) & (hs == jp))
    members = np.zeros(len(geo.countries), dtype=bool)
    members[[code[c] for c in sc.cocreation.members if c in code]] = True
    tech, tech_f = w.chain.tech, firm_technology(w)
    row: dict[str, float] = {
        "supply_shortfall": float(w.supply.shortfall),
        "spot_deliveries": float(w.supply.spot_deliveries),
        "partnerships_active": float(len(act)),
        "partnerships_cross_border_share": float(cross.mean()) if len(act) else 0.0,
        "partnerships_jk": float(jk.sum()),
        "partnerships_members": float((cross & members[hb] & members[hs]).sum()),
        "partnership_changes": float(w.supply.partnership_changes),
        "trust_jk": float(w.chain.country_trust[jp, kr]) if jp >= 0 and kr >= 0 else float("nan"),
        "technology_mean": float(tech_f.mean()) if len(tech_f) else float("nan"),
        "technology_JP": _mean(tech_f[w.firms.home == jp]),
        "technology_KR": _mean(tech_f[w.firms.home == kr]),
    }
    for k, s in enumerate(SEGMENTS):
        if s in FAB_SEGMENTS:
            row[f"shortfall_{s}"] = float(w.supply.shortfall_by_segment[k])
    # Knowledge between Japan and Korea: partnerships and the fund's projects.
    ljk = act[jk]
    gaps = np.abs(tech[book.buyer[ljk], book.buyer_segment[ljk]] - tech[book.supplier[ljk], book.input[ljk]]).tolist()
    sharing = book.sharing[act][book.delivered[act] > 0].tolist()
    project_sharing = []
    fund = w.chain.fund
    if fund is not None:
        for p in fund.projects:
            if p["status"] == "active" and p["sharing"]:
                project_sharing.append(p["sharing"][-1])
                a, b = w.firms.home[p["leader"]], w.firms.home[p["follower"]]
                if {a, b} == {jp, kr}:
                    gaps.append(abs(tech[p["leader"], p["leader_segment"]]
                                    - tech[p["follower"], p["follower_segment"]]))
    row["knowledge_gap_jk"] = _mean(np.array(gaps))
    row["knowledge_sharing_rate"] = _mean(np.array(sharing + project_sharing))
    row["project_sharing_rate"] = _mean(np.array(project_sharing))
    row["projects_active"] = float(sum(p["status"] == "active" for p in fund.projects)) if fund else 0.0
    row["fund_budget"] = float(fund.budget) if fund else 0.0
    row["fund_spent"] = float(fund.spent) if fund else 0.0
    row["kpi_attainment"] = float(fund.kpi_attainment) if fund else float("nan")
    row["construction_delays"] = float(w.counters.quarter_delays)
    pool, employed = skilled_pools(w)
    short = np.maximum(employed - pool, 0.0)
    row["labour_shortage"] = float(short.sum() / employed.sum()) if employed.sum() > 0 else 0.0
    both = jp >= 0 and kr >= 0
    if both:                                        # the two rows of trade_value that the metrics read
        value = trade_value(w.supply.trade[[jp, kr], [kr, jp]][:, None, :], w.markets.price)[:, 0, :]
        row["trade_JP_KR"], row["trade_KR_JP"] = float(value[0].sum()), float(value[1].sum())
    else:
        row["trade_JP_KR"] = row["trade_KR_JP"] = float("nan")
    return row


def shocks(w: World, sc: Scenario) -> dict[str, float]:
    """Shock, resilience and policy metrics."""
    geo = w.geo
    row: dict[str, float] = {f"shortfall_{c}": float(v) for c, v in zip(geo.countries, w.supply.shortfall_by_country)}
    row["events_active"] = float(len(w.events.active))
    row["stranded_capacity"] = float(w.supply.stranded)
    row["stranded_capital"] = float(w.supply.stranded_capital)
    row["deferrals"] = float(w.counters.quarter_deferrals)
    row["deferral_quarters"] = float(w.counters.deferral_quarters_total)
    row["friendshored_share"] = (w.counters.friendshored_total / w.counters.new_capacity_total) if w.counters.new_capacity_total > 0 else 0.0
    paid = sum(g.paid_total for g in w.policy.governments)
    row["subsidy_per_capacity"] = paid / w.counters.completed_capacity_total if w.counters.completed_capacity_total > 0 else 0.0
    row["perceived_risk_mean"] = float(w.risk.perceived.mean())
    # Mean over exporting countries of the market-weighted tariff their exports face.
    row["tariff_mean"] = float((w.policy.market @ w.policy.tariff).mean())
    return row


def market(w: World, sc: Scenario, op: np.ndarray) -> dict[str, float]:
    """Capacity, demand, utilisation and price per segment."""
    cap_seg = op.sum(axis=0)
    row: dict[str, float] = {}
    values = zip(cap_seg.tolist(), w.markets.demand.tolist(), w.markets.utilisation.tolist(), w.markets.price.tolist())
    for s, (c, d, u, p) in zip(SEGMENTS, values):
        row[f"capacity_{s}"] = c
        row[f"demand_{s}"] = d
        row[f"utilisation_{s}"] = u
        row[f"price_{s}"] = p
    fab = w.segments.fab_mask
    d = w.markets.demand[fab]
    base = float((d * w.segments.base_price[fab]).sum())
    row["price_chips"] = float((d * w.markets.price[fab]).sum()) / base if base > 0 else float("nan")
    return row


def concentration(w: World, sc: Scenario, op: np.ndarray) -> dict[str, float]:
    """Where fab capacity is: shares by country and bloc, HHI, regional clustering."""
    geo, sites = w.geo, w.sites
    cap_seg = op.sum(axis=0)
    fab_cols = [SEGMENTS.index(s) for s in FAB_SEGMENTS]
    fab_by_region = op[:, fab_cols].sum(axis=1)
    fab_by_country = np.bincount(geo.country, weights=fab_by_region, minlength=len(geo.countries))
    fab_by_bloc = np.bincount(geo.country_bloc, weights=fab_by_country, minlength=len(geo.blocs))
    row: dict[str, float] = {"capacity_fab": float(fab_by_region.sum())}
    row["capacity_building"] = float(sites.col("capacity")[sites.col("status") == BUILDING].sum())
    for c, v in zip(geo.countries, shares(fab_by_country)):
        row[f"share_{c}"] = float(v)
    for b, v in zip(geo.blocs, shares(fab_by_bloc)):
        row[f"share_bloc_{b}"] = float(v)
    row["hhi_country"] = hhi(fab_by_country)
    le_segments = ~np.isnan(w.segments.le_threshold)
    on = sites.select(OPERATING) & le_segments[sites.col("segment")]
    cap_le = sites.col("capacity")[on]
    row["leading_edge_share"] = (float(cap_le[sites.col("leading_edge")[on]].sum() / cap_le.sum())
                                 if cap_le.sum() > 0 else float("nan"))
    clus = herfindahl_columns(op)
    for k, s in enumerate(SEGMENTS):
        row[f"clustering_{s}"] = float(clus[k])
    row["clustering_index"] = float((clus * shares(cap_seg)).sum())
    return row


def money(w: World, sc: Scenario, op: np.ndarray) -> dict[str, float]:
    """Sites, projects, subsidies, budgets, costs and firms' money."""
    status = w.sites.col("status")
    govs = w.policy.governments
    flows = w.ledger.flows
    return {
        "active_sites": float((status == OPERATING).sum()),
        "sites_building": float((status == BUILDING).sum()),
        "investments_started": float(w.counters.quarter_investments),
        "investment_capex": float(w.counters.quarter_investment_capex),
        **_fab_starts(w),
        "subsidy_paid": float(flows["subsidy"].sum()),
        "subsidy_paid_cumulative": float(sum(g.paid_total for g in govs)),
        "subsidy_committed": float(sum(g.outstanding for g in govs)),
        "tax_credit_paid": float(flows["tax_credit"].sum()),
        "government_budget": float(sum(g.budget for g in govs)),
        **_policy_loans(w),
        "unit_cost_index": unit_cost_index(w, sc),
        "firm_cash": float(w.ledger.cash.sum()),
        "cost_per_output": _cost_per_output(w),
        "finance_blocked_share": (w.counters.quarter_finance_blocked / w.counters.quarter_value_pairs
                                  if w.counters.quarter_value_pairs else 0.0),
        "firm_tax": float(flows["tax"].sum()),
        "firm_payout": float(flows["payout"].sum()),
        "firm_debt": float(w.ledger.debt.sum()),
        "revenue": float(flows["revenue"].sum()),
    }


def _policy_loans(w: World) -> dict[str, float]:
    """Policy loans made this quarter, in force, and the envelopes left (USD bn)."""
    pol, t = w.policy, w.clock.step
    return {"policy_loans_lent": float(pol.loan_amount[pol.loan_start == t].sum()),
            "policy_loans_outstanding": float(pol.loan_amount[pol.loans_in_force(t)].sum()),
            "policy_loan_budget": float(sum(g.loan_budget for g in pol.governments))}


def _fab_starts(w: World) -> dict[str, float]:
    """Fab projects started this quarter, and their capex, by country of the site."""
    s, geo = w.sites, w.geo
    started = np.flatnonzero((s.col("start_step") == w.clock.step) & w.segments.fab_mask[s.col("segment")])
    country = geo.country[s.col("region")[started]]
    n = np.bincount(country, minlength=len(geo.countries))
    capex = np.bincount(country, weights=s.col("capex_total")[started], minlength=len(geo.countries))
    row = {f"fab_starts_{c}": float(v) for c, v in zip(geo.countries, n)}
    row.update({f"fab_capex_{c}": float(v) for c, v in zip(geo.countries, capex)})
    return row


def _cost_per_output(w: World) -> float:
    """Operating costs of the quarter over the value of its output at base prices (0 before any accounting)."""
    f = w.ledger.flows
    cost = float((f["opex"] + f["inputs"] + f["input_tariff"] + f["maintenance"]).sum())
    value = float((w.supply.output.sum(axis=0) * w.segments.base_price).sum()) * KWPM_QUARTER_TO_USD_BN
    return cost / value if value > 0 and cost > 0 else 0.0


def snapshot(w: World, sc: Scenario) -> dict[str, float]:
    """One row of the metrics table for the world's current state (the DataCollector orders it)."""
    op = w.sites.capacity_by(OPERATING, w.geo.n, len(SEGMENTS))        # region × segment
    row: dict[str, float] = {}
    for fn in (market, concentration, money):
        row.update(fn(w, sc, op))
    row.update(value_chain(w, sc))
    row.update(shocks(w, sc))
    return row


#: The functions that compute each group of metrics (``Metric.group``).
GROUPS = {"market": market, "concentration": concentration, "money": money, "value_chain": value_chain,
          "shocks": shocks}
