"""Figures for runs: every function takes tables and returns a matplotlib Figure.

``save_run_figures`` writes the ``make demo`` set as PNG.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")  # files only; notebooks and the dashboard pick their own backend
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from model.scenario import FAB_SEGMENTS  # noqa: E402

if TYPE_CHECKING:
    from model import ChipModel

__all__ = ["capacity_share_by_country", "region_map", "save_run_figures"]

BLOC_COLOURS = {"western": "#1f77b4", "china": "#d62728", "nonaligned": "#2ca02c"}


def capacity_share_by_country(metrics: pd.DataFrame, countries: list[str]) -> Figure:
    """Stacked areas: each country's share of world fab capacity, quarter by quarter."""
    cols = [f"share_{c}" for c in countries if f"share_{c}" in metrics]
    order = sorted(cols, key=lambda c: -metrics[c].iloc[0])
    fig, ax = plt.subplots(figsize=(9, 4.8))
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


def _region_capacity(sites: pd.DataFrame, step: int) -> pd.Series:
    s = sites[(sites["step"] == step) & (sites["status"] == "operating")]
    s = s[s["segment"].isin(FAB_SEGMENTS)]
    return s.groupby("region", observed=False)["capacity"].sum()


def _pacific_lon(lon: np.ndarray) -> np.ndarray:
    """Longitude on a Pacific-centred axis (the Americas east of Asia)."""
    lon = np.asarray(lon, dtype=float)
    return np.where(lon < -30, lon + 360.0, lon)


def region_map(sites: pd.DataFrame, regions: pd.DataFrame, steps: list[int],
               quarters: list[str], label_top: int = 14) -> Figure:
    """Longitude/latitude scatter per quarter: bubble area = fab capacity, colour = bloc.

    ``regions`` has columns region, lat, lon, bloc.  The longitude axis is
    Pacific-centred; the ``label_top`` largest regions of each panel are labelled.
    """
    fig, axes = plt.subplots(1, len(steps), figsize=(7 * len(steps), 5.2), squeeze=False)
    cap_max = max(_region_capacity(sites, s).max() for s in steps) or 1.0
    blocs = list(dict.fromkeys(regions["bloc"]))
    palette = plt.get_cmap("tab10")
    colours = {b: BLOC_COLOURS.get(b, palette(k)) for k, b in enumerate(blocs)}
    x_all = _pacific_lon(regions["lon"].to_numpy())
    for ax, step, q in zip(axes[0], steps, quarters):
        cap = _region_capacity(sites, step).reindex(regions["region"]).fillna(0.0).to_numpy()
        for bloc in blocs:
            sel = (regions["bloc"] == bloc).to_numpy()
            ax.scatter(x_all[sel], regions["lat"][sel], s=2000 * cap[sel] / cap_max + 5,
                       color=colours[bloc], alpha=0.5, edgecolors="k", linewidths=0.4, label=bloc)
        for k in np.argsort(-cap)[:label_top]:
            if cap[k] > 0:
                ax.annotate(regions["region"].iloc[k], (x_all[k], regions["lat"].iloc[k]), fontsize=6.5,
                            xytext=(4, 4), textcoords="offset points")
        ax.set_xlim(-20, 300)
        ticks = np.arange(0, 301, 60)
        ax.set_xticks(ticks, [f"{t if t <= 180 else t - 360}°" for t in ticks])
        ax.set_xlabel("longitude (°E; Pacific-centred)")
        ax.set_ylabel("latitude (°N)")
        ax.set_title(f"Front-end fab capacity by region, {q}")
        ax.grid(alpha=0.3)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, title=f"bloc (bubble area ∝ kwpm; largest = {cap_max:,.0f})",
               loc="lower center", ncol=len(blocs), markerscale=0.35)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
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
    """The ``make demo`` figures as PNG: country shares over time, map at first and last quarter."""
    mt = tables["metrics"]
    paths = []
    fig = capacity_share_by_country(mt, model.geo.countries)
    paths.append(out / "capacity_share_by_country.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    first, last = int(mt["step"].iloc[0]), int(mt["step"].iloc[-1])
    fig = region_map(tables["sites"], regions_frame(model), [first, last],
                     [str(mt["quarter"].iloc[0]), str(mt["quarter"].iloc[-1])])
    paths.append(out / "region_map.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
