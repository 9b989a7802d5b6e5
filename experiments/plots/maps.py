"""Maps of capacity by region: a bubble per region (area ∝ operating fab capacity), coloured by bloc."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from experiments.plots.base import Figure, bloc_colours, subplots
from model.scenario import FAB_SEGMENTS

if TYPE_CHECKING:
    from model import ChipModel

__all__ = ["region_map", "region_map_small_multiples", "regions_frame"]


def _region_capacity(sites: pd.DataFrame, step: int) -> pd.Series:
    s = sites[(sites["step"] == step) & (sites["status"] == "operating")]
    s = s[s["segment"].isin(FAB_SEGMENTS)]
    return s.groupby("region", observed=False)["capacity"].sum()


def _pacific_lon(lon: np.ndarray) -> np.ndarray:
    """Longitude on a Pacific-centred axis (the Americas east of Asia)."""
    lon = np.asarray(lon, dtype=float)
    return np.where(lon < -30, lon + 360.0, lon)


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
    fig, axes = subplots(1, len(steps), figsize=(7 * len(steps), 5.2), squeeze=False)
    cap_max = max(_region_capacity(sites, s).max() for s in steps) or 1.0
    colours = bloc_colours(list(dict.fromkeys(regions["bloc"])))
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
    fig, axes = subplots(nrows, ncols, figsize=(4.6 * ncols, 3.5 * nrows + 0.9), squeeze=False,
                         sharex=True, sharey=True)
    cap_max = max(_region_capacity(sites, s).max() for s in steps) or 1.0
    colours = bloc_colours(list(dict.fromkeys(regions["bloc"])))
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
