"""Model-level metrics (the ``metrics`` table): concentration, clustering, cost.

Pure functions over arrays, plus :func:`snapshot`, which reads a model's
state and returns one row.  Names are snake_case and documented in
docs/ODD.md §7 (Observation).

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

from .scenario import FAB_SEGMENTS, SEGMENTS
from .sites import BUILDING, OPERATING

if TYPE_CHECKING:
    from .model import ChipModel

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
    ]
    return names


def snapshot(m: ChipModel) -> dict[str, float]:
    """One row of the metrics table for the model's current state."""
    geo = m.geo
    sites = m.sites
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
        row[f"demand_{s}"] = float(m.demand[k])
        row[f"utilisation_{s}"] = float(m.utilisation[k])
        row[f"price_{s}"] = float(m.price[k])
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
    row["investments_started"] = float(m.quarter_investments)
    row["investment_capex"] = float(m.quarter_investment_capex)
    row["subsidy_paid"] = float(m.flows["subsidy"].sum())
    row["subsidy_paid_cumulative"] = float(sum(g.paid_total for g in m.governments))
    row["subsidy_committed"] = float(sum(g.outstanding for g in m.governments))
    row["tax_credit_paid"] = float(m.flows["tax_credit"].sum())
    row["government_budget"] = float(sum(g.budget for g in m.governments))
    row["unit_cost_index"] = m.unit_cost_index()
    row["firm_cash"] = float(m.cash.sum())
    row["firm_debt"] = float(m.debt.sum())
    row["revenue"] = float(m.flows["revenue"].sum())
    return row
