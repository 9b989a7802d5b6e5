"""Figures of one run over time: capacity shares, concentration, events, partnerships, shocks.

``run_figures`` names the ``kyoso run`` / ``make demo`` set; ``save_run_figures`` writes it as PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np
import pandas as pd

from experiments.plots.base import (Figure, bloc_colours, country_colours, metric_label, quarter_axis, save, subplots,
                                   value_axis)
from experiments.plots.maps import region_map, region_map_small_multiples, regions_frame
from experiments.plots.network import trade_matrix, value_chain_figure
from model.scenario import FAB_SEGMENTS

if TYPE_CHECKING:
    from model import ChipModel

__all__ = ["capacity_share_by_country", "capacity_share_by_bloc", "concentration_over_time", "events_timeline",
           "partnership_figure", "shock_figure", "run_figures", "save_run_figures", "save_readme_figures"]


def _share_stack(ax, metrics: pd.DataFrame, columns: list[str], names: list[str], colours: list) -> None:
    """Stacked areas of share metrics in per cent, 0–100, over the quarter axis."""
    x = metrics["step"].to_numpy()
    ax.stackplot(x, *[metric_label(c)[1] * metrics[c].to_numpy() for c in columns], labels=names, colors=colours,
                 alpha=0.85)
    quarter_axis(ax, x, metrics["quarter"].astype(str).to_numpy())
    ax.set_ylim(0, 100)
    ax.set_ylabel("share of world fab capacity (%)")


def capacity_share_by_country(metrics: pd.DataFrame, countries: list[str]) -> Figure:
    """Stacked areas: each country's share of world front-end fab capacity, quarter by quarter."""
    cols = [f"share_{c}" for c in countries if f"share_{c}" in metrics]
    order = sorted(cols, key=lambda c: -metrics[c].iloc[0])
    names = [c.removeprefix("share_") for c in order]
    colours = country_colours(names)
    fig, ax = subplots(figsize=(9, 4.8))
    _share_stack(ax, metrics, order, names, [colours[n] for n in names])
    ax.set_title("Share of world front-end fab capacity by country (by site location)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="country", fontsize=8)
    fig.tight_layout()
    return fig


def capacity_share_by_bloc(metrics: pd.DataFrame, blocs: list[str]) -> Figure:
    """Stacked areas: each bloc's share of world front-end fab capacity, quarter by quarter."""
    cols = [b for b in blocs if f"share_bloc_{b}" in metrics]
    colours = bloc_colours(list(blocs))
    fig, ax = subplots(figsize=(8.5, 4.6))
    _share_stack(ax, metrics, [f"share_bloc_{b}" for b in cols], cols, [colours[b] for b in cols])
    ax.set_title("Share of world front-end fab capacity by bloc")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="bloc")
    fig.tight_layout()
    return fig


def concentration_over_time(metrics: pd.DataFrame) -> Figure:
    """Two panels, both from 0: the clustering index (with each fab segment's) and the country HHI."""
    fig, (top, bottom) = subplots(2, 1, figsize=(9.5, 6.4), sharex=True)
    x = metrics["step"].to_numpy()
    top.plot(x, metrics["clustering_index"], color="k", lw=2, label="all segments")
    shown = [metrics["clustering_index"].to_numpy()]
    for k, seg in enumerate(FAB_SEGMENTS):
        if f"clustering_{seg}" in metrics:
            top.plot(x, metrics[f"clustering_{seg}"], lw=1, ls="--", color=f"C{k}", label=seg)
            shown.append(metrics[f"clustering_{seg}"].to_numpy())
    top.set_ylim(0, 1)
    top.set_ylabel(metric_label("clustering_index")[0].replace(" (", "\n("))
    top.set_title("Clustering of capacity across regions")
    top.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5), title="clustering of")
    top.grid(alpha=0.3)
    hhi = metrics["hhi_country"].to_numpy(dtype=float)
    bottom.plot(x, hhi, color="C3", lw=2, label="HHI across countries")
    value_axis(bottom, hhi, pad=1.3)
    change = hhi[-1] - hhi[0] if len(hhi) else 0.0
    bottom.set_ylabel(metric_label("hhi_country")[0])
    bottom.set_title(f"Concentration across countries (change over the run: {change:+.3f})")
    bottom.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
    bottom.grid(alpha=0.3)
    quarter_axis(bottom, x, metrics["quarter"].to_numpy())
    fig.suptitle("Concentration of front-end capacity over time (axes from 0)")
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


def _event_table(ax, ev: pd.DataFrame, colours: dict[str, object], limit: int) -> None:
    """The events' descriptions as a list under the lanes: number, start quarter, type and target, text."""
    ax.set_axis_off()
    if not len(ev):
        return
    order = ev.sort_values("step", kind="stable")
    two = len(order) > 8
    per_col = -(-min(len(order), limit) // (2 if two else 1))
    width = 62 if two else 125
    for k, r in enumerate(order.head(limit).itertuples()):
        col, row = divmod(k, per_col)
        text = str(r.description) if isinstance(r.description, str) and r.description else "(no description)"
        target = f" {r.target}" if isinstance(r.target, str) and r.target else ""
        line = f"{r.quarter} {r.type}{target}: {text}"
        line = line if len(line) <= width else line[: width - 1] + "…"
        ax.text(0.5 * col, 1 - (row + 0.5) / max(per_col, 1), line, transform=ax.transAxes, fontsize=7,
                va="center", ha="left", color="k",
                bbox={"boxstyle": "square,pad=0.1", "fc": colours[str(r.type)], "alpha": 0.25, "ec": "none"})
    if len(order) > limit:
        ax.set_title(f"… and {len(order) - limit} more events (see the events table)", fontsize=7, loc="right")


def events_timeline(metrics: pd.DataFrame, events: pd.DataFrame, metric: str = "supply_shortfall",
                    shade_max: int = 12, list_max: int = 24) -> Figure:
    """A metric over time with the run's events drawn underneath, one lane per event type,
    and the events' descriptions listed below (the first ``list_max`` by start).

    Each event is a bar from its start (▼) to its end; open-ended events
    (tariffs, restrictions, lifted sanctions) run to the end of the run,
    lighter.  Overlapping events of a type are stacked inside its lane.  With
    at most ``shade_max`` events the metric panel is marked too (a shaded span
    per event with an end, a dotted line where an open-ended one starts), so
    a jump can be read against its cause.  The legend sits beside the panel,
    off the data.
    """
    from matplotlib.patches import Patch

    label, factor = metric_label(metric)
    x = metrics["step"].to_numpy()
    ev, starts, ends, open_ended = _event_spans(events, float(x.max()) if len(x) else 0.0)
    kinds = ev["type"].astype(str).to_numpy() if len(ev) else np.zeros(0, dtype=str)
    types = list(dict.fromkeys(kinds))
    sub, base, height, rows = _event_lanes(types, kinds, starts, ends)
    n_list = min(len(ev), list_max)
    list_rows = -(-n_list // 2) if n_list > 8 else n_list
    fig = Figure(figsize=(11, 5.6 + 0.12 * rows + 0.17 * list_rows))
    top, lanes, table = fig.subplots(3, 1, gridspec_kw={"height_ratios": [2.2, 0.6 + 0.12 * max(rows, 4),
                                                                          0.05 + 0.17 * list_rows]})
    lanes.sharex(top)
    y = factor * metrics[metric].to_numpy(dtype=float)
    top.plot(x, y, color="k", lw=1.8, label=metric_label(metric)[0].split(" (")[0])
    colours = {t: f"C{k % 10}" for k, t in enumerate(types)}
    for k, t in enumerate(kinds):
        if len(ev) <= shade_max:      # spans for events with an end, a dotted line where others start
            if open_ended[k]:
                top.axvline(starts[k], color=colours[t], ls=":", lw=1.2)
            else:
                top.axvspan(starts[k], ends[k], color=colours[t], alpha=0.12, lw=0)
        row = base[t] + sub[k]
        lanes.barh(row, ends[k] - starts[k], left=starts[k], height=0.8, color=colours[t],
                   alpha=0.35 if open_ended[k] else 0.8, edgecolor=colours[t])
        lanes.plot([starts[k]], [row], marker="v", color="k", ms=3.5)
    handles, _ = top.get_legend_handles_labels()
    handles += [Patch(color=colours[t], alpha=0.8, label=f"{t} ({int((kinds == t).sum())})") for t in types]
    top.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8,
               title="metric / event type (count)", title_fontsize=8)
    value_axis(top, y)
    top.set_ylabel(label)
    top.grid(alpha=0.3)
    top.tick_params(labelbottom=False)
    top.set_title(f"{metric_label(metric)[0].split(' (')[0]} and the events of the run "
                  "(▼ start; light bars: no set end)")
    _label_lanes(lanes, types, base, height, rows)
    quarter_axis(lanes, x, metrics["quarter"].to_numpy())
    _event_table(table, ev, colours, list_max)
    fig.tight_layout()
    return fig


def _time_axis(ax, metrics: pd.DataFrame) -> None:
    quarter_axis(ax, metrics["step"].to_numpy(), metrics["quarter"].astype(str).to_numpy(), n_ticks=6)


def partnership_figure(metrics: pd.DataFrame) -> Figure:
    """Japan–Korea partnerships and mean trust, and the cross-border share of partnerships (dashboard)."""
    fig, (ax1, ax2) = subplots(1, 2, figsize=(10, 3.8))
    x = metrics["step"].to_numpy()
    count, _ = metric_label("partnerships_jk")
    trust, _ = metric_label("trust_jk")
    ax1.plot(x, metrics["partnerships_jk"], color="C0", label="partnerships")
    value_axis(ax1, metrics["partnerships_jk"].to_numpy(dtype=float))
    ax1.set_ylabel(count)
    twin = ax1.twinx()
    twin.plot(x, metrics["trust_jk"], color="C3", ls="--", label="mean trust")
    twin.set_ylabel(trust)
    twin.set_ylim(0, 1)
    h1, l1 = ax1.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax1.legend(h1 + h2, l1 + l2, loc="lower left", fontsize=8)
    ax1.set_title("Japan–Korea co-creation")
    share, factor = metric_label("partnerships_cross_border_share")
    ax2.plot(x, factor * metrics["partnerships_cross_border_share"], color="C2", label="cross-border")
    ax2.set_ylim(0, 100)
    ax2.set_ylabel(share)
    ax2.set_title(f"Cross-border partnerships ({int(metrics['partnerships_active'].iloc[-1])} active)")
    ax2.legend(loc="lower left", fontsize=8)
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        _time_axis(ax, metrics)
    fig.tight_layout()
    return fig


def shock_figure(metrics: pd.DataFrame, events: pd.DataFrame) -> Figure:
    """Supply shortfall and stranded capacity, quarters with events in force shaded (dashboard).

    The event types starting in the run are listed beside the panel with their first quarter.
    """
    fig, ax = subplots(figsize=(10, 3.8))
    x = metrics["step"].to_numpy()
    short, f_short = metric_label("supply_shortfall")
    stranded, f_str = metric_label("stranded_capacity")
    ax.plot(x, f_short * metrics["supply_shortfall"], color="C3", label="supply shortfall")
    ax.set_ylabel(short)
    twin = ax.twinx()
    twin.plot(x, f_str * metrics["stranded_capacity"], color="C4", ls="--", label="stranded capacity")
    twin.set_ylabel(stranded)
    value_axis(ax, f_short * metrics["supply_shortfall"].to_numpy(dtype=float))
    value_axis(twin, f_str * metrics["stranded_capacity"].to_numpy(dtype=float))
    active = metrics["events_active"].to_numpy() > 0
    for k in x[active]:
        ax.axvspan(k - 0.5, k + 0.5, color="orange", alpha=0.15, lw=0)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    if len(events):
        from matplotlib.lines import Line2D

        first = events.sort_values("step").drop_duplicates("type")
        h2 += [Line2D([], [], ls="", label=f"{r.quarter}: {r.type}") for r in first.head(8).itertuples()]
        l2 += [f"{r.quarter}: {r.type}" for r in first.head(8).itertuples()]
    ax.legend(h1 + h2, l1 + l2, loc="upper left", bbox_to_anchor=(1.12, 1.0), fontsize=8,
              title="lines / first events", title_fontsize=8)
    _time_axis(ax, metrics)
    ax.set_title(f"Shocks ({int(active.sum())} quarters with events in force; shaded)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def run_figures(tables: dict[str, pd.DataFrame], model: ChipModel) -> dict[str, Callable[[], Figure]]:
    """The figures of one run (``kyoso run``, ``make demo``), by file name, each drawn when called:
    capacity shares by country and by bloc, the region map at the first and
    last quarter and over time, concentration, the value chain between
    countries and its trade matrix in the last quarter, and the supply
    shortfall with the run's events."""
    mt = tables["metrics"]
    steps = mt["step"].to_numpy()
    quarters = mt["quarter"].astype(str).to_numpy()
    first, last = int(steps[0]), int(steps[-1])
    picks = sorted({int(x) for x in np.linspace(first, last, 6).round()})
    regions = regions_frame(model)
    return {
        "capacity_share_by_country": lambda: capacity_share_by_country(mt, model.geo.countries),
        "capacity_share_by_bloc": lambda: capacity_share_by_bloc(mt, model.geo.blocs),
        "region_map": lambda: region_map(tables["sites"], regions, [first, last],
                                         [quarters[0], quarters[-1]]),
        "region_map_over_time": lambda: region_map_small_multiples(
            tables["sites"], regions, picks, [quarters[list(steps).index(k)] for k in picks]),
        "concentration_over_time": lambda: concentration_over_time(mt),
        "value_chain": lambda: value_chain_figure(tables["partnerships"], tables["sites"]),
        "trade_matrix": lambda: trade_matrix(tables["trade"] if "trade" in tables else tables["partnerships"]),
        "events_timeline": lambda: events_timeline(mt, tables["events"]),
    }


def save_run_figures(tables: dict[str, pd.DataFrame], model: ChipModel, out: Path) -> list[Path]:
    """The figures of :func:`run_figures` as PNG files in ``out``."""
    return [save(draw(), out / f"{name}.png") for name, draw in run_figures(tables, model).items()]


def save_readme_figures(tables: dict[str, pd.DataFrame], model: ChipModel, out: Path) -> list[Path]:
    """The README's figures (``docs/figures``): the region map and the value chain in the last quarter,
    as 256-colour PNGs (``python -m experiments.plots.readme``)."""
    mt = tables["metrics"]
    last, quarter = int(mt["step"].iloc[-1]), str(mt["quarter"].iloc[-1])
    out.mkdir(parents=True, exist_ok=True)
    return [save(region_map(tables["sites"], regions_frame(model), [last], [quarter]), out / "region_map.png",
                 palette=True),
            save(value_chain_figure(tables["partnerships"], tables["sites"]), out / "value_chain.png", palette=True)]
