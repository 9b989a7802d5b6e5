"""Per-quarter records and the tidy output tables of ``ChipModel.tables()``.

Snapshots are numpy column copies (cheap at every step, even with 10,000
firms); ids and labels are attached only when tables are built.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .decisions import TERMS
from .metrics import trade_value
from .queries import firm_capacity_summary, weighted_technology
from .scenario import SEGMENTS, quarter_label
from .sites import LIVE, STATUS_ORDER
from .world import FIRM_FLOWS

if TYPE_CHECKING:
    from .scenario import Scenario
    from .world import World

__all__ = ["Recorder", "quarter_label", "EVENT_COLUMNS", "INVESTMENT_COLUMNS", "TRADE_COLUMNS", "TECH_COLUMNS"]

EVENT_COLUMNS = ["step", "quarter", "type", "target", "magnitude", "description", "event", "id", "origin",
                 "end_step", "recovery_quarters", "source"]
INVESTMENT_COLUMNS = (
    ["step", "quarter", "firm", "home", "segment", "region", "country", "site", "expansion",
     "capacity", "capex", "subsidy_committed", "probability", "utility", "rejected_region",
     "rejected_utility", "deferred", "deferrals"]
    + [f"chosen_{t}" for t in TERMS]
    + [f"rejected_{t}" for t in TERMS]
)
TRADE_COLUMNS = ["step", "quarter", "supplier_home", "buyer_home", "input", "volume", "value"]
_FIRM_FLOWS = FIRM_FLOWS
_LINK_STATE = ("trust", "ordered", "delivered", "sharing", "disrupted")
#: Columns of the firms table with the firm's technology in each segment (NaN where it holds no live capacity).
TECH_COLUMNS = tuple(f"technology_{s}" for s in SEGMENTS)


class Recorder:
    """Collects site and firm snapshots, investments and events."""

    def __init__(self) -> None:
        self.site_steps: list[tuple[int, int]] = []        # (step, number of sites)
        self.site_cols: dict[str, list[np.ndarray]] = {k: [] for k in ("status", "capacity")}
        self.firm_cols: dict[str, list[np.ndarray]] = {
            k: [] for k in ("cash", "debt", "capacity", "building", "n_sites", *_FIRM_FLOWS)
        }
        # technology levels and live capacity per firm × segment; the technology columns are made from them
        # when the table is built (cheaper than every quarter)
        self.tech: list[tuple[np.ndarray, np.ndarray]] = []
        self.firm_steps: list[int] = []
        self.link_steps: list[int] = []
        self.link_cols: dict[str, list[np.ndarray]] = {k: [] for k in ("id", *_LINK_STATE)}
        self.trade: list[tuple[int, np.ndarray, np.ndarray]] = []     # (step, volume matrix, prices)

    def record(self, w: World) -> None:
        """Snapshot the sites, firms and active partnerships at the end of a step."""
        step = w.clock.step
        n = w.sites.n
        self.site_steps.append((step, n))
        self.site_cols["status"].append(w.sites.col("status").copy())
        self.site_cols["capacity"].append(w.sites.col("capacity").copy())
        self.firm_steps.append(step)
        cap, building, n_sites = firm_capacity_summary(w)
        self.firm_cols["cash"].append(w.ledger.cash.copy())
        self.firm_cols["debt"].append(w.ledger.debt.copy())
        self.firm_cols["capacity"].append(cap)
        self.firm_cols["building"].append(building)
        self.firm_cols["n_sites"].append(n_sites)
        for k in _FIRM_FLOWS:
            self.firm_cols[k].append(w.ledger.flows[k].copy())
        tech = w.chain.tech
        self.tech.append((tech.copy(), w.sites.sum_by(("firm", "segment"), tech.shape, status=LIVE)))
        book = w.chain.partners
        act = np.flatnonzero(book.active)
        self.link_steps.append(step)
        self.link_cols["id"].append(act)
        for k in _LINK_STATE:
            self.link_cols[k].append(book.col(k)[act].copy())
        self.trade.append((step, w.supply.trade.copy(), w.markets.price.copy()))

    # ------------------------------------------------------------------ tables
    def tables(self, w: World, sc: Scenario, metrics: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """The output tables: metrics (given), sites, firms, investments, events, partnerships, trade."""
        return {
            "metrics": metrics,
            "sites": self.sites_table(w, sc),
            "firms": self.firms_table(w, sc),
            "investments": self.investments_table(w),
            "events": self.events_table(w, sc, metrics),
            "partnerships": self.partnerships_table(w, sc),
            "trade": self.trade_table(w, sc),
        }

    def trade_table(self, w: World, sc: Scenario) -> pd.DataFrame:
        """One row per quarter × supplier home × buyer home × input segment with deliveries:
        volume (kwpm-eq per month) and value at that quarter's prices (USD bn per quarter)."""
        parts = []
        countries = np.array(w.geo.countries, dtype=object)
        for step, volume, price in self.trade:
            value = trade_value(volume, price)
            h, k, u = np.nonzero(volume)
            parts.append(pd.DataFrame({"step": np.full(len(h), step, dtype=np.int64), "supplier_home": countries[h],
                                       "buyer_home": countries[k], "input": np.array(SEGMENTS, dtype=object)[u],
                                       "volume": volume[h, k, u], "value": value[h, k, u]}))
        df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=TRADE_COLUMNS)
        df.insert(1, "quarter", self._quarters(sc, df["step"].to_numpy()))
        for c in ("supplier_home", "buyer_home", "input"):
            df[c] = pd.Categorical(df[c])
        return df[TRADE_COLUMNS]

    def sites_table(self, w: World, sc: Scenario) -> pd.DataFrame:
        if not self.site_steps:
            return pd.DataFrame()
        counts = np.array([n for _, n in self.site_steps])
        steps = np.repeat([s for s, _ in self.site_steps], counts)
        site = np.concatenate([np.arange(n) for _, n in self.site_steps])
        firm = w.sites.col("firm")[site]
        region = w.sites.col("region")[site]
        status = np.concatenate(self.site_cols["status"])
        firm_ids = np.array(w.firms.ids, dtype=object)
        homes = np.array(w.geo.countries, dtype=object)[w.firms.home]
        df = pd.DataFrame({
            "step": steps,
            "quarter": self._quarters(sc, steps),
            "site": site,
            "firm": pd.Categorical(firm_ids[firm]),
            "home": pd.Categorical(homes[firm]),
            "region": pd.Categorical.from_codes(region, categories=w.geo.ids),
            "country": pd.Categorical(np.array(w.geo.countries, dtype=object)[w.geo.country[region]]),
            "segment": pd.Categorical.from_codes(w.sites.col("segment")[site], categories=list(SEGMENTS)),
            "status": pd.Categorical.from_codes(status.astype(np.int64), categories=[s.value for s in STATUS_ORDER]),
            "capacity": np.concatenate(self.site_cols["capacity"]),
            "leading_edge": w.sites.col("leading_edge")[site],
            "expansion": w.sites.col("expansion")[site],
            "online_step": w.sites.col("online_step")[site],
        })
        return df

    def firms_table(self, w: World, sc: Scenario) -> pd.DataFrame:
        if not self.firm_steps:
            return pd.DataFrame()
        counts = np.array([len(a) for a in self.firm_cols["cash"]])
        steps = np.repeat(self.firm_steps, counts)
        idx = np.concatenate([np.arange(c) for c in counts])
        firm_ids = np.array(w.firms.ids, dtype=object)
        names = np.array(w.firms.names, dtype=object)
        homes = np.array(w.geo.countries, dtype=object)[w.firms.home]
        kinds = np.array(w.firms.kind, dtype=object)
        data = {
            "step": steps,
            "quarter": self._quarters(sc, steps),
            "firm": pd.Categorical(firm_ids[idx]),
            "name": pd.Categorical(names[idx]),
            "home": pd.Categorical(homes[idx]),
            "kind": pd.Categorical(kinds[idx]),
        }
        for k, arrays in self.firm_cols.items():
            data[k] = np.concatenate(arrays)
        data["technology"] = np.concatenate([weighted_technology(t, c) for t, c in self.tech])
        levels = np.concatenate([np.where(c > 0, t, np.nan) for t, c in self.tech])
        for k, col in enumerate(TECH_COLUMNS):
            data[col] = levels[:, k]
        return pd.DataFrame(data)

    def partnerships_table(self, w: World, sc: Scenario) -> pd.DataFrame:
        """One row per quarter × active partnership."""
        counts = np.array([len(a) for a in self.link_cols["id"]])
        ids = np.concatenate(self.link_cols["id"]) if len(counts) else np.zeros(0, dtype=np.int64)
        steps = np.repeat(self.link_steps, counts)
        book = w.chain.partners
        firm_ids = np.array(w.firms.ids, dtype=object)
        homes = np.array(w.geo.countries, dtype=object)[w.firms.home]
        buyer, supplier = book.buyer[ids], book.supplier[ids]
        df = pd.DataFrame({
            "step": steps,
            "quarter": self._quarters(sc, steps),
            "partnership": ids,
            "buyer": pd.Categorical(firm_ids[buyer]),
            "buyer_home": pd.Categorical(homes[buyer]),
            "buyer_segment": pd.Categorical.from_codes(book.buyer_segment[ids], categories=list(SEGMENTS)),
            "supplier": pd.Categorical(firm_ids[supplier]),
            "supplier_home": pd.Categorical(homes[supplier]),
            "input": pd.Categorical.from_codes(book.input[ids], categories=list(SEGMENTS)),
            "cross_border": homes[buyer] != homes[supplier],
            "start_step": book.start_step[ids],
        })
        for k in _LINK_STATE:
            df[k] = np.concatenate(self.link_cols[k]) if len(counts) else np.zeros(0)
        df["fill_rate"] = np.divide(df["delivered"].to_numpy(), df["ordered"].to_numpy(),
                                    out=np.ones(len(df)), where=df["ordered"].to_numpy() > 0)
        return df

    def investments_table(self, w: World) -> pd.DataFrame:
        chunks = w.log.investments
        if not chunks:
            return pd.DataFrame(columns=INVESTMENT_COLUMNS)
        data = {c: np.concatenate([ch[c] for ch in chunks]) for c in chunks[0] if not c.endswith("_terms")}
        for side in ("chosen", "rejected"):
            terms = np.vstack([ch[f"{side}_terms"] for ch in chunks])
            for k, t in enumerate(TERMS):
                data[f"{side}_{t}"] = terms[:, k]
        return pd.DataFrame(data)[INVESTMENT_COLUMNS]

    def events_table(self, w: World, sc: Scenario, metrics: pd.DataFrame) -> pd.DataFrame:
        """One row per event, with the quarters supply took to recover.

        Recovery: quarters from the event's start until the supply shortfall is
        back within ``resilience.recovery_tolerance`` (0.5 percentage points by default) of its level in the quarter before;
        0 if it never rose above that level, empty if it never recovered
        within the run."""
        rows = [dict(r) for r in w.events.rows]
        tol = sc.resilience.recovery_tolerance
        short = metrics["supply_shortfall"].to_numpy() if len(metrics) else np.zeros(0)
        for r in rows:
            t0 = r["step"]
            pre = short[t0 - 1] if t0 >= 1 else short[0]
            after = short[t0:]
            worse = np.flatnonzero(after > pre + tol)
            if len(worse) == 0:
                r["recovery_quarters"] = 0.0
                continue
            back = np.flatnonzero(after[worse[0]:] <= pre + tol)
            r["recovery_quarters"] = float(worse[0] + back[0]) if len(back) else float("nan")
        df = pd.DataFrame(rows, columns=EVENT_COLUMNS)
        return df.astype({"end_step": "float64"}) if len(df) else df

    @staticmethod
    def _quarters(sc: Scenario, steps: np.ndarray) -> pd.Categorical:
        uniq = np.unique(steps)
        meta = sc.meta
        labels = {int(s): quarter_label(meta.start_year, meta.start_q, int(s)) for s in uniq}
        return pd.Categorical.from_codes(np.searchsorted(uniq, steps),
                                         categories=[labels[int(s)] for s in uniq])
