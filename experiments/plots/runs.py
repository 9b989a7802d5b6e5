"""Figures of one run over time: capacity shares, concentration, events, partnerships, shocks.

``save_run_figures`` writes the ``kyoso run`` / ``make demo`` set as PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from experiments.plots.base import Figure, bloc_colours, metric_label, plt, quarter_axis, save, subplots
from experiments.plots.maps import region_map, region_map_small_multiples, regions_frame
from experiments.plots.network import partnership_network
from model.scenario import FAB_SEGMENTS

if TYPE_CHECKING:
    from model import ChipModel

__all__ = ["capacity_share_by_country", "capacity_share_by_bloc", "concentration_over_time", "events_timeline",
           "partnership_figure", "shock_figure", "save_run_figures"]


def capacity_share_by_country(metrics: pd.DataFrame, countries: list[str]) -> Figure:
    """Stacked areas: each country's share of world fab capacity, quarter by quarter."""
    cols = [f"share_{c}" for c in countries if f"share_{c}" in metrics]
    order = sorted(cols, key=lambda c: -metrics[c].iloc[0])
    fig, ax = subplots(figsize=(9, 4.8))
    x = np.arange(len(metrics))
    colours = plt.get_cmap("tab20")(np.linspace(0, 1, 20))[: len(order)]
    ax.stackplot(x, *[100 * metrics[c].to_numpy() for c in order],
                 labels=[c.removeprefix("share_") for c in order], colors=colours)
    ticks = x[:: max(1, len(x) // 8)]
    ax.set_xticks(ticks, metrics["quarter"].astype(str).to_numpy()[ticks], rotation=30)
    ax.set_xlim(0, max(len(x) - 1, 1))
    ax.set_ylim(0, 100)
    ax.set_xlabel("quarter")
    ax.set_ylabel("share of world fab capacity (%)")
    ax.set_title("Front-end fab capacity by country (200mm-eq wafers/month)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="country", fontsize=8)
    fig.tight_layout()
    return fig


def capacity_share_by_bloc(metrics: pd.DataFrame, blocs: list[str]) -> Figure:
    """Stacked areas: each bloc's share of world front-end fab capacity, quarter by quarter."""
    cols = [b for b in blocs if f"share_bloc_{b}" in metrics]
    colours = bloc_colours(list(blocs))
    fig, ax = subplots(figsize=(8.5, 4.6))
    x = metrics["step"].to_numpy()
    ax.stackplot(x, *[100 * metrics[f"share_bloc_{b}"].to_numpy() for b in cols], labels=cols,
                 colors=[colours[b] for b in cols], alpha=0.8)
    quarter_axis(ax, x, metrics["quarter"].to_numpy())
    ax.set_ylim(0, 100)
    ax.set_ylabel("share of world fab capacity (%)")
    ax.set_title("Front-end fab capacity by bloc (share of 200mm-eq wafers/month)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="bloc")
    fig.tight_layout()
    return fig


def concentration_over_time(metrics: pd.DataFrame) -> Figure:
    """Two panels: the clustering index (with each fab segment's) and the country HHI."""
    fig, (top, bottom) = subplots(2, 1, figsize=(8.5, 6.4), sharex=True)
    x = metrics["step"].to_numpy()
    top.plot(x, metrics["clustering_index"], color="k", lw=2, label="clustering index (all segments)")
    for k, seg in enumerate(FAB_SEGMENTS):
        if f"clustering_{seg}" in metrics:
            top.plot(x, metrics[f"clustering_{seg}"], lw=1, ls="--", color=f"C{k}", label=seg)
    top.set_ylabel("regional Herfindahl (0–1)")
    top.set_title("Clustering of capacity across regions")
    top.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), title="index")
    top.grid(alpha=0.3)
    hhi = metrics["hhi_country"].to_numpy()
    bottom.plot(x, hhi, color="C3", lw=2, label="HHI of fab capacity across countries")
    bottom.set_ylabel("country HHI (0–1)")
    bottom.set_title("Concentration across countries")
    bottom.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    bottom.grid(alpha=0.3)
    quarter_axis(bottom, x, metrics["quarter"].to_numpy())
    fig.suptitle("Concentration of front-end capacity over time")
    fig.tight_layout()
    return fig


def _pack(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Greedy interval packing: a sub-row for each interval so that none in a row overlap."""
    rows_end: list[float] = []
    row = np.zeros(len(starts), dtype=int)
    for k in np.argsort(starts, kind="stable"):
        free = [i for i, e in enumerate(rows_end) if e <= starts[k]]
        if free:
            row[k] = free[0]
            rows_end[free[0]] = ends[k]
        else:
            row[k] = len(rows_end)
            rows_end.append(ends[k])
    return row


def _event_spans(events: pd.DataFrame, last: float) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Events with their start, end (open-ended ones run to ``last``; at least 0.3 long) and open-endedness."""
    ev = events.reset_index(drop=True) if len(events) else events
    starts = ev["step"].to_numpy(dtype=float) if len(ev) else np.zeros(0)
    open_ended = ev["end_step"].isna().to_numpy() if len(ev) else np.zeros(0, dtype=bool)
    ends = np.where(open_ended, last, ev["end_step"].to_numpy(dtype=float) if len(ev) else 0.0)
    return ev, starts, np.maximum(ends, starts + 0.3), open_ended


def _event_lanes(types: list[str], kinds: np.ndarray, starts: np.ndarray, ends: np.ndarray
                 ) -> tuple[np.ndarray, dict[str, int], dict[str, int], int]:
    """Lanes: one per type, as many sub-rows as its overlapping events need.

    Returns each event's sub-row, each type's first row and height, and the rows in all.
    """
    sub = np.zeros(len(kinds), dtype=int)
    base, height = {}, {}
    y0 = 0
    for t in types:
        sel = kinds == t
        sub[sel] = _pack(starts[sel], ends[sel] + 0.01)
        base[t], height[t] = y0, int(sub[sel].max()) + 1
        y0 += height[t] + 1
    return sub, base, height, y0


def _label_lanes(lanes, types: list[str], base: dict[str, int], height: dict[str, int], rows: int) -> None:
    if types:
        lanes.set_yticks([base[t] + (height[t] - 1) / 2 for t in types], types, fontsize=8)
        lanes.set_ylim(-0.7, rows - 0.3)
    else:
        lanes.set_yticks([])
        lanes.text(0.5, 0.5, "no events in this run", ha="center", va="center", transform=lanes.transAxes)
    lanes.invert_yaxis()
    lanes.set_ylabel("event type")
    lanes.grid(axis="x", alpha=0.3)


def events_timeline(metrics: pd.DataFrame, events: pd.DataFrame, metric: str = "supply_shortfall",
                    shade_max: int = 12) -> Figure:
    """A metric over time with the run's events drawn underneath, one lane per event type.

    Each event is a bar from its start (▼) to its end; open-ended events
    (tariffs, restrictions, lifted sanctions) run to the end of the run,
    lighter.  Overlapping events of a type are stacked inside its lane.  With
    at most ``shade_max`` events the metric panel is marked too (a shaded span
    per event with an end, a dotted line where an open-ended one starts), so
    a jump can be read against its cause.
    """
    from matplotlib.patches import Patch

    label, factor = metric_label(metric)
    x = metrics["step"].to_numpy()
    ev, starts, ends, open_ended = _event_spans(events, float(x.max()) if len(x) else 0.0)
    kinds = ev["type"].astype(str).to_numpy() if len(ev) else np.zeros(0, dtype=str)
    types = list(dict.fromkeys(kinds))
    sub, base, height, rows = _event_lanes(types, kinds, starts, ends)
    fig, (top, lanes) = subplots(2, 1, figsize=(9.5, 6.0 + 0.12 * rows), sharex=True,
                                 gridspec_kw={"height_ratios": [2.2, 0.6 + 0.12 * max(rows, 4)]})
    top.plot(x, factor * metrics[metric].to_numpy(), color="k", lw=1.8, label=metric)
    colours = {t: f"C{k % 10}" for k, t in enumerate(types)}
    for k, t in enumerate(kinds):
        if len(ev) <= shade_max:      # spans for events with an end, a dotted line where others start
            if open_ended[k]:
                top.axvline(starts[k], color=colours[t], ls=":", lw=1.2)
            else:
                top.axvspan(starts[k], ends[k], color=colours[t], alpha=0.12, lw=0)
        y = base[t] + sub[k]
        lanes.barh(y, ends[k] - starts[k], left=starts[k], height=0.8, color=colours[t],
                   alpha=0.35 if open_ended[k] else 0.8, edgecolor=colours[t])
        lanes.plot([starts[k]], [y], marker="v", color="k", ms=3.5)
    handles, _ = top.get_legend_handles_labels()
    handles += [Patch(color=colours[t], alpha=0.8, label=f"{t} ({int((kinds == t).sum())})") for t in types]
    top.legend(handles=handles, loc="upper left", fontsize=8, title="metric / event type (count)")
    top.set_ylabel(label)
    top.grid(alpha=0.3)
    top.set_title(f"{metric} and the events of the run (▼ start; light bars: no set end)")
    _label_lanes(lanes, types, base, height, rows)
    quarter_axis(lanes, x, metrics["quarter"].to_numpy())
    fig.tight_layout()
    return fig


def partnership_figure(metrics: pd.DataFrame) -> Figure:
    """Japan–Korea partnerships and mean trust, and the cross-border share of partnerships (dashboard)."""
    fig, (ax1, ax2) = subplots(1, 2, figsize=(9, 3.6))
    x = np.arange(len(metrics))
    ax1.plot(x, metrics["partnerships_jk"], color="C0", label="JP–KR partnerships")
    ax1.set_xlabel("quarter (steps)")
    ax1.set_ylabel("partnerships (count)")
    twin = ax1.twinx()
    twin.plot(x, metrics["trust_jk"], color="C3", ls="--", label="JP–KR mean trust")
    twin.set_ylabel("trust (0–1)")
    twin.set_ylim(0, 1)
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    ax1.set_title("Japan–Korea co-creation")
    ax2.plot(x, 100 * metrics["partnerships_cross_border_share"], color="C2", label="cross-border")
    ax2.set_ylim(0, 100)
    ax2.set_xlabel("quarter (steps)")
    ax2.set_ylabel("share of partnerships (%)")
    ax2.set_title(f"Cross-border partnerships ({int(metrics['partnerships_active'].iloc[-1])} active)")
    ax2.legend(loc="lower left", fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.set_xlim(0, max(len(x) - 1, 1))
    fig.tight_layout()
    return fig


def shock_figure(metrics: pd.DataFrame, events: pd.DataFrame) -> Figure:
    """Supply shortfall and stranded capacity, quarters with events in force shaded and labelled (dashboard)."""
    fig, ax = subplots(figsize=(9, 3.6))
    x = np.arange(len(metrics))
    ax.plot(x, 100 * metrics["supply_shortfall"], color="C3", label="supply shortfall (% of orders)")
    ax.set_xlabel("quarter (steps)")
    ax.set_ylabel("shortfall (%)")
    twin = ax.twinx()
    twin.plot(x, metrics["stranded_capacity"], color="C4", ls="--", label="stranded capacity (kwpm)")
    twin.set_ylabel("stranded capacity (kwpm)")
    active = metrics["events_active"].to_numpy() > 0
    for k in np.flatnonzero(active):
        ax.axvspan(k - 0.5, k + 0.5, color="orange", alpha=0.15, lw=0)
    if len(events):
        for step, grp in events.groupby("step"):
            ax.annotate(", ".join(dict.fromkeys(grp["type"].astype(str)))[:40], (int(step), 1.0),
                        xycoords=("data", "axes fraction"), rotation=90, fontsize=7, va="top", ha="right")
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper left", fontsize=8)
    ax.set_xlim(0, max(len(x) - 1, 1))
    ax.set_ylim(bottom=0)
    ax.set_title(f"Shocks ({int(active.sum())} quarters with events in force; shaded)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def save_run_figures(tables: dict[str, pd.DataFrame], model: ChipModel, out: Path) -> list[Path]:
    """The figures of one run as PNG (``kyoso run``, ``make demo``): capacity
    shares by country and by bloc, the region map at the first and last
    quarter and over time, concentration, the partnership network at the end,
    and the supply shortfall with the run's events."""
    mt = tables["metrics"]
    steps = mt["step"].to_numpy()
    quarters = mt["quarter"].astype(str).to_numpy()
    first, last = int(steps[0]), int(steps[-1])
    picks = sorted({int(x) for x in np.linspace(first, last, 6).round()})
    regions = regions_frame(model)
    figures = {
        "capacity_share_by_country": lambda: capacity_share_by_country(mt, model.geo.countries),
        "capacity_share_by_bloc": lambda: capacity_share_by_bloc(mt, model.geo.blocs),
        "region_map": lambda: region_map(tables["sites"], regions, [first, last],
                                         [quarters[0], quarters[-1]]),
        "region_map_over_time": lambda: region_map_small_multiples(
            tables["sites"], regions, picks, [quarters[list(steps).index(k)] for k in picks]),
        "concentration_over_time": lambda: concentration_over_time(mt),
        "partnership_network": lambda: partnership_network(tables["partnerships"], tables["firms"]),
        "events_timeline": lambda: events_timeline(mt, tables["events"]),
    }
    return [save(draw(), out / f"{name}.png") for name, draw in figures.items()]
