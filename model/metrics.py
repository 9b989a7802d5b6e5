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

from typing import TYPE_CHECKING

import numpy as np

from .queries import skilled_pools, unit_cost_index
from .scenario import FAB_SEGMENTS, SEGMENTS
from .sites import BUILDING, OPERATING

if TYPE_CHECKING:
    from .scenario import Scenario
    from .world import World

__all__ = ["shares", "hhi", "herfindahl_columns", "metric_names", "snapshot"]


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


def metric_names(countries: list[str], blocs: list[str]) -> list[str]:
    """Column names of the metrics table, in order."""
    names = [f"capacity_{s}" for s in SEGMENTS]
    names += [f"demand_{s}" for s in SEGMENTS]
    names += [f"utilisation_{s}" for s in SEGMENTS]
    names += [f"price_{s}" for s in SEGMENTS]
    names += ["capacity_fab", "capacity_building"]
    names += [f"share_{c}" for c in countries]
    names += [f"share_bloc_{b}" for b in blocs]
    names += ["hhi_country"]
    names += [f"clustering_{s}" for s in SEGMENTS]
    names += [
        "clustering_index",
        "active_sites",
        "sites_building",
        "investments_started",
        "investment_capex",
        "subsidy_paid",
        "subsidy_paid_cumulative",
        "subsidy_committed",
        "tax_credit_paid",
        "government_budget",
        "unit_cost_index",
        "firm_cash",
        "firm_debt",
        "revenue",
        # value chain (docs/ODD.md §7.21)
        "supply_shortfall",
        *[f"shortfall_{s}" for s in FAB_SEGMENTS],
        "spot_deliveries",
        "partnerships_active",
        "partnerships_cross_border_share",
        "partnerships_jk",
        "partnerships_members",
        "partnership_changes",
        "trust_jk",
        "technology_mean",
        "technology_JP",
        "technology_KR",
        "knowledge_gap_jk",
        "knowledge_sharing_rate",
        "project_sharing_rate",
        "projects_active",
        "fund_budget",
        "fund_spent",
        "kpi_attainment",
        "construction_delays",
        "labour_shortage",
        # shocks and policy (docs/ODD.md §7.21)
        *[f"shortfall_{c}" for c in countries],
        "events_active",
        "stranded_capacity",
        "stranded_capital",
        "deferrals",
        "deferral_quarters",
        "friendshored_share",
        "subsidy_per_capacity",
        "perceived_risk_mean",
        "tariff_mean",
    ]
    return names


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if len(values) else float("nan")


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
    row: dict[str, float] = {
        "supply_shortfall": float(w.supply.shortfall),
        "spot_deliveries": float(w.supply.spot_deliveries),
        "partnerships_active": float(len(act)),
        "partnerships_cross_border_share": float(cross.mean()) if len(act) else 0.0,
        "partnerships_jk": float(jk.sum()),
        "partnerships_members": float((cross & members[hb] & members[hs]).sum()),
        "partnership_changes": float(w.supply.partnership_changes),
        "trust_jk": float(w.chain.country_trust[jp, kr]) if jp >= 0 and kr >= 0 else float("nan"),
        "technology_mean": float(w.chain.tech.mean()) if len(w.chain.tech) else float("nan"),
        "technology_JP": _mean(w.chain.tech[w.firms.home == jp]),
        "technology_KR": _mean(w.chain.tech[w.firms.home == kr]),
    }
    for k, s in enumerate(SEGMENTS):
        if s in FAB_SEGMENTS:
            row[f"shortfall_{s}"] = float(w.supply.shortfall_by_segment[k])
    # Knowledge between Japan and Korea: partnerships and the fund's projects.
    gaps = list(np.abs(w.chain.tech[book.buyer[act][jk]] - w.chain.tech[book.supplier[act][jk]]))
    sharing = list(book.sharing[act][book.delivered[act] > 0])
    project_sharing = []
    fund = w.chain.fund
    if fund is not None:
        for p in fund.projects:
            if p["status"] == "active" and p["sharing"]:
                project_sharing.append(p["sharing"][-1])
                a, b = w.firms.home[p["leader"]], w.firms.home[p["follower"]]
                if {a, b} == {jp, kr}:
                    gaps.append(abs(w.chain.tech[p["leader"]] - w.chain.tech[p["follower"]]))
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


def snapshot(w: World, sc: Scenario) -> dict[str, float]:
    """One row of the metrics table for the model's current state."""
    geo = w.geo
    sites = w.sites
    n_seg = len(SEGMENTS)
    op = sites.capacity_by(OPERATING, geo.n, n_seg)        # region × segment
    cap_seg = op.sum(axis=0)
    fab_cols = [SEGMENTS.index(s) for s in FAB_SEGMENTS]
    fab_by_region = op[:, fab_cols].sum(axis=1)
    fab_by_country = np.bincount(geo.country, weights=fab_by_region, minlength=len(geo.countries))
    fab_by_bloc = np.bincount(geo.country_bloc, weights=fab_by_country, minlength=len(geo.blocs))

    row: dict[str, float] = {}
    for k, s in enumerate(SEGMENTS):
        row[f"capacity_{s}"] = float(cap_seg[k])
        row[f"demand_{s}"] = float(w.markets.demand[k])
        row[f"utilisation_{s}"] = float(w.markets.utilisation[k])
        row[f"price_{s}"] = float(w.markets.price[k])
    row["capacity_fab"] = float(fab_by_region.sum())
    status = sites.col("status")
    row["capacity_building"] = float(sites.col("capacity")[status == BUILDING].sum())
    for c, v in zip(geo.countries, shares(fab_by_country)):
        row[f"share_{c}"] = float(v)
    for b, v in zip(geo.blocs, shares(fab_by_bloc)):
        row[f"share_bloc_{b}"] = float(v)
    row["hhi_country"] = hhi(fab_by_country)
    clus = herfindahl_columns(op)
    for k, s in enumerate(SEGMENTS):
        row[f"clustering_{s}"] = float(clus[k])
    row["clustering_index"] = float((clus * shares(cap_seg)).sum())
    row["active_sites"] = float((status == OPERATING).sum())
    row["sites_building"] = float((status == BUILDING).sum())
    row["investments_started"] = float(w.counters.quarter_investments)
    row["investment_capex"] = float(w.counters.quarter_investment_capex)
    row["subsidy_paid"] = float(w.ledger.flows["subsidy"].sum())
    row["subsidy_paid_cumulative"] = float(sum(g.paid_total for g in w.policy.governments))
    row["subsidy_committed"] = float(sum(g.outstanding for g in w.policy.governments))
    row["tax_credit_paid"] = float(w.ledger.flows["tax_credit"].sum())
    row["government_budget"] = float(sum(g.budget for g in w.policy.governments))
    row["unit_cost_index"] = unit_cost_index(w, sc)
    row["firm_cash"] = float(w.ledger.cash.sum())
    row["firm_debt"] = float(w.ledger.debt.sum())
    row["revenue"] = float(w.ledger.flows["revenue"].sum())
    row.update(value_chain(w, sc))
    row.update(shocks(w, sc))
    return row
