"""Figures for runs and sweeps: every function takes tables and returns a matplotlib Figure.

``save_run_figures`` writes the ``make demo`` set as PNG; ``save_sweep_figures``
writes the ``kyoso plot`` set (main effects, a heatmap for two-parameter
grids, Sobol bars with intervals, Morris μ*–σ, seed noise) for a sweep.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Mapping

import matplotlib

# Files only (the CLI, tests): Agg, unless a backend was chosen already.
# Jupyter kernels set MPLBACKEND to the inline backend, and forcing Agg there
# would stop a returned Figure from displaying; the figures below are plain
# ``Figure`` objects (not pyplot-managed), so a cell that returns one shows it
# exactly once and nothing needs closing.
if "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")
elif os.environ.get("MPLBACKEND", "") in ("inline", "module://matplotlib_inline.backend_inline"):
    try:  # loading the inline backend registers IPython's Figure formatter (plain Figures never load it)
        import matplotlib_inline.backend_inline  # noqa: F401
    except ImportError:
        pass
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from model.scenario import FAB_SEGMENTS  # noqa: E402

if TYPE_CHECKING:
    from model import ChipModel

__all__ = [
    "BLOC_COLOURS",
    "metric_label",
    "capacity_share_by_country",
    "capacity_share_by_bloc",
    "concentration_over_time",
    "region_map",
    "region_map_small_multiples",
    "regions_frame",
    "partnership_network",
    "events_timeline",
    "scenario_comparison",
    "scenario_intervals",
    "save_run_figures",
    "main_effects_figure",
    "grid_heatmap",
    "sobol_bars",
    "morris_scatter",
    "seed_noise_figure",
    "save_sweep_figures",
]

BLOC_COLOURS = {"western": "#1f77b4", "china": "#d62728", "nonaligned": "#2ca02c"}


def _subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (8, 5), **kw):
    """``plt.subplots`` without pyplot's global figure list (see the backend note above)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


def capacity_share_by_country(metrics: pd.DataFrame, countries: list[str]) -> Figure:
    """Stacked areas: each country's share of world fab capacity, quarter by quarter."""
    cols = [f"share_{c}" for c in countries if f"share_{c}" in metrics]
    order = sorted(cols, key=lambda c: -metrics[c].iloc[0])
    fig, ax = _subplots(figsize=(9, 4.8))
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


# Axis labels with units for the metrics the figures show most (docs/ODD.md §7.21);
# shares are drawn in per cent.
_METRIC_UNITS: dict[str, tuple[str, float]] = {
    "supply_shortfall": ("supply shortfall (% of planned fab output)", 100.0),
    "stranded_capacity": ("stranded capacity (kwpm)", 1.0),
    "stranded_capital": ("stranded capital (USD bn)", 1.0),
    "unit_cost_index": ("unit cost index (step 0 = 1)", 1.0),
    "knowledge_sharing_rate": ("knowledge sharing rate (share 0–1)", 1.0),
    "partnerships_jk": ("JP–KR partnerships (count)", 1.0),
    "partnerships_active": ("active partnerships (count)", 1.0),
    "partnerships_cross_border_share": ("cross-border partnerships (%)", 100.0),
    "trust_jk": ("JP–KR trust (index 0–1)", 1.0),
    "clustering_index": ("clustering index (regional Herfindahl, 0–1)", 1.0),
    "hhi_country": ("country HHI (0–1)", 1.0),
    "capacity_fab": ("operating fab capacity (kwpm)", 1.0),
    "subsidy_paid_cumulative": ("subsidies paid since start (USD bn)", 1.0),
    "investments_started": ("projects started (count per quarter)", 1.0),
    "friendshored_share": ("friend-shored share of new capacity (%)", 100.0),
    "labour_shortage": ("skilled-labour shortage (% of need)", 100.0),
    "events_active": ("active events (count)", 1.0),
}


def metric_label(metric: str) -> tuple[str, float]:
    """Axis label with its unit, and the factor that converts the stored value to that unit."""
    if metric in _METRIC_UNITS:
        return _METRIC_UNITS[metric]
    if metric.startswith("share_bloc_"):
        return f"{metric.removeprefix('share_bloc_')} bloc share of world fab capacity (%)", 100.0
    if metric.startswith("share_"):
        return f"{metric.removeprefix('share_')} share of world fab capacity (%)", 100.0
    if metric.startswith("shortfall_"):
        return f"{metric.removeprefix('shortfall_')} output shortfall (%)", 100.0
    if metric.startswith("clustering_"):
        return f"{metric.removeprefix('clustering_')} clustering (regional Herfindahl, 0–1)", 1.0
    if metric.startswith("capacity_"):
        return f"{metric.removeprefix('capacity_')} capacity (kwpm)", 1.0
    return metric, 1.0


def _quarter_axis(ax, steps: np.ndarray, quarters: np.ndarray, n_ticks: int = 8) -> None:
    """Step positions on the x axis, labelled with their quarters."""
    steps = np.asarray(steps)
    k = np.arange(0, len(steps), max(1, len(steps) // n_ticks))
    ax.set_xticks(steps[k], [str(q) for q in np.asarray(quarters)[k]], rotation=30)
    ax.set_xlim(steps.min(), max(steps.max(), steps.min() + 1))
    ax.set_xlabel("quarter")


def capacity_share_by_bloc(metrics: pd.DataFrame, blocs: list[str]) -> Figure:
    """Stacked areas: each bloc's share of world front-end fab capacity, quarter by quarter."""
    cols = [b for b in blocs if f"share_bloc_{b}" in metrics]
    colours = _bloc_colours(list(blocs))
    fig, ax = _subplots(figsize=(8.5, 4.6))
    x = metrics["step"].to_numpy()
    ax.stackplot(x, *[100 * metrics[f"share_bloc_{b}"].to_numpy() for b in cols], labels=cols,
                 colors=[colours[b] for b in cols], alpha=0.8)
    _quarter_axis(ax, x, metrics["quarter"].to_numpy())
    ax.set_ylim(0, 100)
    ax.set_ylabel("share of world fab capacity (%)")
    ax.set_title("Front-end fab capacity by bloc (share of 200mm-eq wafers/month)")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), title="bloc")
    fig.tight_layout()
    return fig


def concentration_over_time(metrics: pd.DataFrame) -> Figure:
    """Two panels: the clustering index (with each fab segment's) and the country HHI."""
    fig, (top, bottom) = _subplots(2, 1, figsize=(8.5, 6.4), sharex=True)
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
    _quarter_axis(bottom, x, metrics["quarter"].to_numpy())
    fig.suptitle("Concentration of front-end capacity over time")
    fig.tight_layout()
    return fig


def _homes(partnerships: pd.DataFrame, firms_home: object) -> dict[str, str]:
    """Firm id → home country from a firms table, a Series or mapping, else from the partnerships."""
    if isinstance(firms_home, pd.DataFrame):
        pairs = firms_home[["firm", "home"]].drop_duplicates("firm")
        return dict(zip(pairs["firm"].astype(str), pairs["home"].astype(str)))
    if isinstance(firms_home, pd.Series):
        return {str(k): str(v) for k, v in firms_home.items()}
    if isinstance(firms_home, Mapping):
        return {str(k): str(v) for k, v in firms_home.items()}
    homes = dict(zip(partnerships["buyer"].astype(str), partnerships["buyer_home"].astype(str)))
    homes.update(zip(partnerships["supplier"].astype(str), partnerships["supplier_home"].astype(str)))
    return homes


def partnership_network(partnerships: pd.DataFrame, firms_home: object = None, step: int | None = None,
                        *, seed: int = 0, label_top: int = 12) -> Figure:
    """Supply partnerships between firms in one quarter (default: the last recorded).

    Nodes are firms (size ∝ number of partners, colour = home country); edges
    are active partnerships, orange when buyer and supplier have different
    home countries and grey when domestic.  ``firms_home`` is the firms table,
    a firm → home Series or mapping, or None (homes read from the
    partnerships table).  The spring layout is seeded, so the picture is
    reproducible.
    """
    import networkx as nx
    from matplotlib.collections import LineCollection
    from matplotlib.lines import Line2D

    if step is None:
        step = int(partnerships["step"].max()) if len(partnerships) else 0
    links = partnerships[partnerships["step"] == step]
    quarter = str(links["quarter"].iloc[0]) if len(links) else f"step {step}"
    homes = _homes(partnerships, firms_home)
    graph = nx.Graph()
    for b, s_, cross in zip(links["buyer"].astype(str), links["supplier"].astype(str), links["cross_border"]):
        if graph.has_edge(b, s_):
            graph[b][s_]["n"] += 1
        else:
            graph.add_edge(b, s_, n=1, cross=bool(cross))
    nodes = sorted(graph.nodes)
    countries = sorted({homes.get(n, "?") for n in nodes})
    palette = plt.get_cmap("tab20")       # colours keyed on every home country: stable across quarters
    ccol = {c: palette(k % 20) for k, c in enumerate(sorted(set(homes.values()) | set(countries)))}
    fig, ax = _subplots(figsize=(9.5, 7.5))
    if nodes:
        pos = nx.spring_layout(graph, seed=seed, k=1.8 / np.sqrt(len(nodes)))
        for cross, colour, z in ((False, "0.6", 1), (True, "#ff7f0e", 2)):
            segs = [(pos[a], pos[b]) for a, b, d in graph.edges(data=True) if d["cross"] == cross]
            widths = [0.4 + 0.4 * d["n"] for a, b, d in graph.edges(data=True) if d["cross"] == cross]
            if segs:
                ax.add_collection(LineCollection(segs, colors=colour, linewidths=widths, alpha=0.55, zorder=z))
        xy = np.array([pos[n] for n in nodes])
        degree = np.array([graph.degree[n] for n in nodes])
        ax.scatter(xy[:, 0], xy[:, 1], s=20 + 12 * degree, c=[ccol[homes.get(n, "?")] for n in nodes],
                   edgecolors="k", linewidths=0.5, zorder=3)
        for k in np.argsort(-degree, kind="stable")[:label_top]:
            ax.annotate(nodes[k], xy[k], fontsize=7, xytext=(4, 4), textcoords="offset points", zorder=4)
        ax.margins(0.05)
    else:
        ax.text(0.5, 0.5, "no active partnerships", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("spring-layout position (no unit; seeded)")
    ax.set_ylabel("spring-layout position (no unit; seeded)")
    n_cross = sum(d["cross"] for *_, d in graph.edges(data=True))
    ax.set_title(f"Supply partnerships between firms, {quarter}: {graph.number_of_nodes()} firms, "
                 f"{len(links)} partnerships ({n_cross} of {graph.number_of_edges()} firm pairs cross-border)",
                 fontsize=10)
    handles = [Line2D([], [], color="#ff7f0e", lw=2, label="cross-border"),
               Line2D([], [], color="0.6", lw=2, label="domestic")]
    handles += [Line2D([], [], marker="o", ls="", color=ccol[c], markeredgecolor="k", label=c)
                for c in countries]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
              title="edge / firm home")
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
    label, factor = metric_label(metric)
    x = metrics["step"].to_numpy()
    last = float(x.max()) if len(x) else 0.0
    ev = events.reset_index(drop=True) if len(events) else events
    types = list(dict.fromkeys(ev["type"].astype(str))) if len(ev) else []
    starts = ev["step"].to_numpy(dtype=float) if len(ev) else np.zeros(0)
    open_ended = ev["end_step"].isna().to_numpy() if len(ev) else np.zeros(0, dtype=bool)
    ends = np.where(open_ended, last, ev["end_step"].to_numpy(dtype=float) if len(ev) else 0.0)
    ends = np.maximum(ends, starts + 0.3)
    # Lanes: one per type, as many sub-rows as its overlapping events need.
    sub = np.zeros(len(ev), dtype=int)
    base, height = {}, {}
    y0 = 0
    for t in types:
        sel = (ev["type"].astype(str) == t).to_numpy()
        sub[sel] = _pack(starts[sel], ends[sel] + 0.01)
        base[t], height[t] = y0, int(sub[sel].max()) + 1
        y0 += height[t] + 1
    fig, (top, lanes) = _subplots(2, 1, figsize=(9.5, 6.0 + 0.12 * y0), sharex=True,
                                  gridspec_kw={"height_ratios": [2.2, 0.6 + 0.12 * max(y0, 4)]})
    top.plot(x, factor * metrics[metric].to_numpy(), color="k", lw=1.8, label=metric)
    colours = {t: f"C{k % 10}" for k, t in enumerate(types)}
    for k in range(len(ev)):
        t = str(ev["type"].iloc[k])
        if len(ev) <= shade_max:      # spans for events with an end, a dotted line where others start
            if open_ended[k]:
                top.axvline(starts[k], color=colours[t], ls=":", lw=1.2)
            else:
                top.axvspan(starts[k], ends[k], color=colours[t], alpha=0.12, lw=0)
        y = base[t] + sub[k]
        lanes.barh(y, ends[k] - starts[k], left=starts[k], height=0.8, color=colours[t],
                   alpha=0.35 if open_ended[k] else 0.8, edgecolor=colours[t])
        lanes.plot([starts[k]], [y], marker="v", color="k", ms=3.5)
    from matplotlib.patches import Patch

    handles, _ = top.get_legend_handles_labels()
    handles += [Patch(color=colours[t], alpha=0.8, label=f"{t} ({int((ev['type'].astype(str) == t).sum())})")
                for t in types]
    top.legend(handles=handles, loc="upper left", fontsize=8, title="metric / event type (count)")
    top.set_ylabel(label)
    top.grid(alpha=0.3)
    top.set_title(f"{metric} and the events of the run (▼ start; light bars: no set end)")
    if types:
        lanes.set_yticks([base[t] + (height[t] - 1) / 2 for t in types], types, fontsize=8)
        lanes.set_ylim(-0.7, y0 - 0.3)
    else:
        lanes.set_yticks([])
        lanes.text(0.5, 0.5, "no events in this run", ha="center", va="center", transform=lanes.transAxes)
    lanes.invert_yaxis()
    lanes.set_ylabel("event type")
    lanes.grid(axis="x", alpha=0.3)
    _quarter_axis(lanes, x, metrics["quarter"].to_numpy())
    fig.tight_layout()
    return fig


def _interval(values: np.ndarray, band: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and band over replications (rows): 95% t-interval of the mean, or min–max."""
    from scipy import stats

    mean = values.mean(axis=0)
    n = values.shape[0]
    if band == "range" or n < 2:
        return mean, values.min(axis=0), values.max(axis=0)
    half = stats.t.ppf(0.975, n - 1) * values.std(axis=0, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


_BANDS = {"ci": "95% interval of the mean", "range": "min–max over replications"}


def scenario_comparison(frames: dict[str, list[pd.DataFrame]], metric: str, band: str = "ci") -> Figure:
    """``metric`` over time per scenario: the mean over replications and a band.

    ``frames`` maps a scenario name to its replications' metrics tables (same
    steps; e.g. :func:`experiments.compare.replicate`).  ``band`` is ``"ci"``
    (95% t-interval of the mean) or ``"range"`` (min–max over replications).
    """
    if band not in _BANDS:
        raise ValueError(f"band {band!r}: expected one of {', '.join(_BANDS)}")
    label, factor = metric_label(metric)
    fig, ax = _subplots(figsize=(9, 4.8))
    x = q = None
    n_reps = set()
    for k, (name, runs) in enumerate(frames.items()):
        values = factor * np.vstack([r[metric].to_numpy(dtype=float) for r in runs])
        x, q = runs[0]["step"].to_numpy(), runs[0]["quarter"].to_numpy()
        mean, lo, hi = _interval(values, band)
        ax.fill_between(x, lo, hi, color=f"C{k % 10}", alpha=0.2, lw=0)
        ax.plot(x, mean, color=f"C{k % 10}", lw=1.8, label=f"{name} (n={len(runs)})")
        n_reps.add(len(runs))
    if x is not None:
        _quarter_axis(ax, x, q)
    ax.set_ylabel(label)
    ax.set_title(f"{metric} by scenario: mean and {_BANDS[band]}")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title="scenario (replications)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def scenario_intervals(summary: pd.DataFrame, metrics: list[str] | None = None, ncols: int = 3) -> Figure:
    """One panel per metric: per scenario, the mean over replications (dot) and its 95% interval.

    Dots and whiskers rather than bars: many metrics are indices far from 0
    (the unit-cost index), where bars from zero would hide the differences.

    ``summary`` has columns scenario, metric, mean, ci_low, ci_high (e.g.
    :func:`experiments.compare.compare_final`).
    """
    metrics = list(metrics or dict.fromkeys(summary["metric"]))
    scenarios = list(dict.fromkeys(summary["scenario"]))
    ncols = max(1, min(ncols, len(metrics)))
    nrows = -(-len(metrics) // ncols)
    fig, axes = _subplots(nrows, ncols, figsize=(4.4 * ncols, 3.4 * nrows + 0.8), squeeze=False)
    x = np.arange(len(scenarios))
    for ax, metric in zip(axes.flat, metrics):
        label, factor = metric_label(metric)
        sub = summary[summary["metric"] == metric].set_index("scenario").reindex(scenarios)
        mean = factor * sub["mean"].to_numpy(dtype=float)
        err = factor * np.vstack([sub["mean"] - sub["ci_low"], sub["ci_high"] - sub["mean"]]).astype(float)
        for k in range(len(x)):
            ax.errorbar(x[k], mean[k], yerr=np.nan_to_num(err[:, k:k + 1]), fmt="o", ms=7, capsize=4,
                        color=f"C{k % 10}")
        ax.set_xlim(-0.6, len(x) - 0.4)
        ax.set_xticks(x, scenarios, rotation=30, ha="right", fontsize=8)
        ax.set_xlabel("scenario")
        ax.set_ylabel(label, fontsize=8)
        ax.set_title(metric, fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=f"C{k % 10}", label=s) for k, s in enumerate(scenarios)],
               loc="lower center", ncol=min(len(scenarios), 5), title="scenario (dot: mean; whiskers: 95% interval)")
    fig.suptitle("Scenarios compared (value per run, over replications)")
    fig.tight_layout(rect=(0, 0.1 + 0.04 / nrows, 1, 0.96))
    return fig


def _region_capacity(sites: pd.DataFrame, step: int) -> pd.Series:
    s = sites[(sites["step"] == step) & (sites["status"] == "operating")]
    s = s[s["segment"].isin(FAB_SEGMENTS)]
    return s.groupby("region", observed=False)["capacity"].sum()


def _pacific_lon(lon: np.ndarray) -> np.ndarray:
    """Longitude on a Pacific-centred axis (the Americas east of Asia)."""
    lon = np.asarray(lon, dtype=float)
    return np.where(lon < -30, lon + 360.0, lon)


def _bloc_colours(blocs: list[str]) -> dict[str, object]:
    palette = plt.get_cmap("tab10")
    return {b: BLOC_COLOURS.get(b, palette(k)) for k, b in enumerate(blocs)}


def _region_panel(ax, sites: pd.DataFrame, regions: pd.DataFrame, step: int, title: str, cap_max: float,
                  colours: dict[str, object], label_top: int, bubble: float, fontsize: float) -> None:
    """One map panel: a bubble per region (area ∝ operating fab capacity), coloured by bloc."""
    x_all = _pacific_lon(regions["lon"].to_numpy())
    cap = _region_capacity(sites, step).reindex(regions["region"]).fillna(0.0).to_numpy()
    for bloc, colour in colours.items():
        sel = (regions["bloc"] == bloc).to_numpy()
        ax.scatter(x_all[sel], regions["lat"][sel], s=bubble * cap[sel] / cap_max + 5,
                   color=colour, alpha=0.5, edgecolors="k", linewidths=0.4, label=bloc)
    for k in np.argsort(-cap)[:label_top]:
        if cap[k] > 0:
            ax.annotate(regions["region"].iloc[k], (x_all[k], regions["lat"].iloc[k]), fontsize=fontsize,
                        xytext=(4, 4), textcoords="offset points")
    ax.set_xlim(-20, 300)
    ticks = np.arange(0, 301, 60)
    ax.set_xticks(ticks, [f"{t if t <= 180 else t - 360}°" for t in ticks])
    ax.set_xlabel("longitude (°E; Pacific-centred)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(title)
    ax.grid(alpha=0.3)


def _bloc_legend(fig: Figure, colours: dict[str, object], cap_max: float) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", markersize=9, color=c, alpha=0.6, markeredgecolor="k",
                      label=b) for b, c in colours.items()]
    fig.legend(handles=handles, title=f"bloc (bubble area ∝ capacity; largest = {cap_max:,.0f} kwpm)",
               loc="lower center", ncol=len(colours))


def region_map(sites: pd.DataFrame, regions: pd.DataFrame, steps: list[int],
               quarters: list[str], label_top: int = 14) -> Figure:
    """Longitude/latitude scatter per quarter: bubble area = fab capacity, colour = bloc.

    ``regions`` has columns region, lat, lon, bloc (:func:`regions_frame`).  The
    longitude axis is Pacific-centred; the ``label_top`` largest regions of
    each panel are labelled.
    """
    fig, axes = _subplots(1, len(steps), figsize=(7 * len(steps), 5.2), squeeze=False)
    cap_max = max(_region_capacity(sites, s).max() for s in steps) or 1.0
    colours = _bloc_colours(list(dict.fromkeys(regions["bloc"])))
    for ax, step, q in zip(axes[0], steps, quarters):
        _region_panel(ax, sites, regions, step, f"Front-end fab capacity by region, {q}", cap_max, colours,
                      label_top, 2000, 6.5)
    _bloc_legend(fig, colours, cap_max)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    return fig


def region_map_small_multiples(sites: pd.DataFrame, regions: pd.DataFrame, steps: list[int],
                               quarters: list[str], ncols: int = 3, label_top: int = 5) -> Figure:
    """A grid of :func:`region_map` panels, one per quarter, on a common bubble scale.

    Bubble area = operating front-end fab capacity of a region (kwpm), colour =
    bloc; the ``label_top`` largest regions of each panel are labelled.
    """
    n = len(steps)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    fig, axes = _subplots(nrows, ncols, figsize=(4.6 * ncols, 3.5 * nrows + 0.9), squeeze=False,
                          sharex=True, sharey=True)
    cap_max = max(_region_capacity(sites, s).max() for s in steps) or 1.0
    colours = _bloc_colours(list(dict.fromkeys(regions["bloc"])))
    for ax, step, q in zip(axes.flat, steps, quarters):
        _region_panel(ax, sites, regions, step, str(q), cap_max, colours, label_top, 700, 5.5)
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle("Front-end fab capacity by region over time")
    _bloc_legend(fig, colours, cap_max)
    fig.tight_layout(rect=(0, 0.07 + 0.05 / nrows, 1, 0.97))
    return fig


def regions_frame(model: ChipModel) -> pd.DataFrame:
    """Region coordinates and blocs of a model, for :func:`region_map`."""
    geo = model.geo
    return pd.DataFrame({
        "region": geo.ids,
        "lat": geo.lat,
        "lon": geo.lon,
        "bloc": [geo.blocs[b] for b in geo.bloc],
    })


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
    paths = []
    for name, draw in figures.items():
        fig = draw()
        paths.append(out / f"{name}.png")
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)
    return paths


# ===================================================================== sweeps
def _short(path: str) -> str:
    """``governments.US.subsidy_rate`` → ``US.subsidy_rate`` for axis labels."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else path


def main_effects_figure(effects: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """One panel per parameter: mean of ``metric`` per level with its 95% interval.

    ``effects`` is :func:`experiments.analysis.main_effects` (parameter,
    level, mean, ci_low, ci_high, binned).
    """
    params = list(dict.fromkeys(effects["parameter"]))
    ncol = min(3, max(1, len(params)))
    nrow = -(-len(params) // ncol)
    fig, axes = _subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False, sharey=True)
    for ax, p in zip(axes.flat, params):
        sub = effects[effects["parameter"] == p]
        x = sub["level"].to_numpy()
        numeric = np.issubdtype(np.asarray(x).dtype, np.number)
        xs = x.astype(float) if numeric else np.arange(len(x))
        ax.fill_between(xs, sub["ci_low"], sub["ci_high"], alpha=0.25, color="C0", label="95% interval of the mean")
        ax.plot(xs, sub["mean"], "o-", color="C0", label="mean over runs")
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in x])
        binned = bool(sub["binned"].any())
        ax.set_xlabel(_short(p) + (" (quantile-bin median)" if binned else ""))
        ax.set_ylabel(f"{metric} ({at})")
        ax.set_title(_short(p), fontsize=10)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(params):]:
        ax.set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2)
    fig.suptitle(f"Main effects on {metric} ({at} value per run)")
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    return fig


def grid_heatmap(points: pd.DataFrame, x: str, y: str, metric: str, at: str = "final") -> Figure:
    """Mean of ``metric`` over replications on a two-parameter grid (``points``:
    :func:`experiments.analysis.point_means`, columns x, y, mean, n)."""
    table = points.pivot_table(index=y, columns=x, values="mean", aggfunc="mean").sort_index()
    table = table.reindex(sorted(table.columns), axis=1)
    fig, ax = _subplots(figsize=(1.1 * len(table.columns) + 3.2, 0.7 * len(table.index) + 2.4))
    im = ax.imshow(table.to_numpy(), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(table.columns)), [f"{v:g}" if isinstance(v, float) else str(v) for v in table.columns])
    ax.set_yticks(range(len(table.index)), [f"{v:g}" if isinstance(v, float) else str(v) for v in table.index])
    vals = table.to_numpy()
    lo, hi = np.nanmin(vals), np.nanmax(vals)
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            if np.isfinite(vals[i, j]):
                light = (vals[i, j] - lo) / (hi - lo) > 0.6 if hi > lo else False
                ax.text(j, i, f"{vals[i, j]:.3g}", ha="center", va="center", fontsize=8,
                        color="black" if light else "white")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(f"{metric} ({at}), mean over replications")
    cbar = fig.colorbar(im, ax=ax)
    cbar.set_label(f"{metric} ({at})")   # the colour legend
    fig.tight_layout()
    return fig


def sobol_bars(indices: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """First-order (S1) and total (ST) Sobol indices with their confidence intervals
    (``indices``: :func:`experiments.analysis.sobol_indices`)."""
    n = len(indices)
    fig, ax = _subplots(figsize=(max(5.0, 1.3 * n + 2.5), 4.2))
    x = np.arange(n)
    w = 0.38
    ax.bar(x - w / 2, indices["S1"], w, yerr=indices["S1_conf"], capsize=4, label="first order S1", color="C0")
    ax.bar(x + w / 2, indices["ST"], w, yerr=indices["ST_conf"], capsize=4, label="total ST", color="C1")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, [_short(p) for p in indices["parameter"]], rotation=20, ha="right")
    ax.set_xlabel("parameter")
    ax.set_ylabel("Sobol index (share of variance)")
    ax.set_title(f"Sobol indices of {metric} ({at}); bars: 95% interval")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def morris_scatter(indices: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """Morris μ* (with its interval) against σ, one marker per parameter."""
    fig, ax = _subplots(figsize=(6.4, 4.6))
    for k, r in enumerate(indices.itertuples()):
        ax.errorbar(r.mu_star, r.sigma, xerr=r.mu_star_conf, fmt="o", capsize=3, color=f"C{k % 10}",
                    label=_short(r.parameter))
    lim = float(max(indices["mu_star"].max(), indices["sigma"].max(), 1e-12)) * 1.1
    ax.plot([0, lim], [0, lim], "k:", lw=0.8, label="σ = μ*")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel("μ* (mean absolute elementary effect)")
    ax.set_ylabel("σ (spread of elementary effects)")
    ax.set_title(f"Morris screening of {metric} ({at})")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def seed_noise_figure(noise: pd.DataFrame, at: str = "final") -> Figure:
    """Per metric, the share of one run's variance that is seed noise vs parameters
    (``noise``: rows of :func:`experiments.analysis.seed_noise` with a ``metric`` column)."""
    fig, ax = _subplots(figsize=(max(5.0, 1.0 * len(noise) + 3), 4.0))
    x = np.arange(len(noise))
    seed = noise["share_seed"].fillna(0).to_numpy()
    ax.bar(x, 100 * (1 - seed), label="parameters (between points)", color="C0")
    ax.bar(x, 100 * seed, bottom=100 * (1 - seed), label="seed noise (between replications)", color="C7")
    ax.set_xticks(x, noise["metric"], rotation=20, ha="right")
    ax.set_ylim(0, 100)
    ax.set_xlabel("metric")
    ax.set_ylabel("share of a run's variance (%)")
    ax.set_title(f"How much is seed noise? ({at} value per run)")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def save_sweep_figures(root: Path, out: Path, metrics: list[str] | None = None, at: str = "final") -> list[Path]:
    """The ``kyoso plot`` figures of a sweep directory as PNG files in ``out``."""
    from experiments.analysis import analyze_sweep
    from experiments.store import read_manifest

    manifest = read_manifest(root)
    metrics = list(metrics or manifest["metrics"])
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    noise_rows = []

    def save(fig: Figure, name: str) -> None:
        paths.append(out / name)
        fig.savefig(paths[-1], dpi=110)
        plt.close(fig)

    for metric in metrics:
        res = analyze_sweep(root, metric, at=at)
        save(main_effects_figure(res.effects, metric, at), f"main_effects_{metric}.png")
        if res.design == "grid" and len(res.parameters) == 2:
            x, y = res.parameters
            save(grid_heatmap(res.points, x, y, metric, at), f"heatmap_{metric}.png")
        if res.method == "sobol" and res.indices is not None:
            save(sobol_bars(res.indices, metric, at), f"sobol_{metric}.png")
        if res.method == "morris" and res.indices is not None:
            save(morris_scatter(res.indices, metric, at), f"morris_{metric}.png")
        noise_rows.append({"metric": metric, **res.noise})
    noise = pd.DataFrame(noise_rows)
    if "share_seed" in noise and noise["share_seed"].notna().any():
        save(seed_noise_figure(noise, at), "seed_noise.png")
    return paths
