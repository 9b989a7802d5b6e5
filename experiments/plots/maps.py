"""Maps of capacity by region over country outlines: a bubble per region (area ∝ operating fab capacity).

The outlines are Natural Earth 1:110m (public domain), bundled in ``data/``
(see ``data/README.md``) and read with the standard ``json`` module, so
nothing is downloaded at run time.  Each panel is a Pacific-centred world view
(equal degrees on both axes) with a zoom on East and South-East Asia, where
most regions sit; region labels are placed so that they do not collide.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from experiments.plots.base import Figure, bloc_colours, country_colours, place_labels
from model.scenario import FAB_SEGMENTS

if TYPE_CHECKING:
    from model import ChipModel

__all__ = ["region_map", "region_map_small_multiples", "regions_frame", "land_rings"]

_LAND = Path(__file__).parent / "data" / "ne_110m_countries.geojson"
_WORLD = (-22.0, 300.0, -14.0, 64.0)        # lon (Pacific-centred), lat
_ASIA = (97.0, 147.0, -1.0, 46.0)           # the zoom: East and South-East Asia
_COLOUR_BY = ("country", "bloc")


def _region_capacity(sites: pd.DataFrame, step: int) -> pd.Series:
    s = sites[(sites["step"] == step) & (sites["status"] == "operating")]
    s = s[s["segment"].isin(FAB_SEGMENTS)]
    return s.groupby("region", observed=False)["capacity"].sum()


def _pacific_lon(lon: np.ndarray) -> np.ndarray:
    """Longitude on a Pacific-centred axis (the Americas east of Asia)."""
    lon = np.asarray(lon, dtype=float)
    return np.where(lon < -30, lon + 360.0, lon)


@lru_cache(maxsize=1)
def land_rings() -> tuple[np.ndarray, ...]:
    """Country outlines (Natural Earth 1:110m) as rings of (lon, lat), Pacific-centred."""
    rings = []
    for feature in json.loads(_LAND.read_text(encoding="utf-8"))["features"]:
        for polygon in feature["geometry"]["coordinates"]:
            ring = np.asarray(polygon[0], dtype=float)
            if ring[:, 0].mean() < -30:          # a whole ring moves, so none is torn apart
                ring = ring + np.array([360.0, 0.0])
            rings.append(ring)
    return tuple(rings)


def _draw_land(ax) -> None:
    from matplotlib.collections import PolyCollection

    ax.add_collection(PolyCollection(land_rings(), facecolors="0.9", edgecolors="0.65", linewidths=0.4,
                                     zorder=0))
    ax.set_facecolor("#eef4fa")


def _extent(ax, box: tuple[float, float, float, float]) -> None:
    ax.set_xlim(box[0], box[1])
    ax.set_ylim(box[2], box[3])
    ax.set_aspect("equal", adjustable="box")


def _inside(x: np.ndarray, y: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    return (x >= box[0]) & (x <= box[1]) & (y >= box[2]) & (y <= box[3])


def _colours(regions: pd.DataFrame, colour_by: str) -> tuple[str, dict[str, object]]:
    if colour_by not in _COLOUR_BY:
        raise ValueError(f"colour_by {colour_by!r}: expected one of {', '.join(_COLOUR_BY)}")
    if colour_by == "country" and "country" in regions:
        return "country", country_colours(list(dict.fromkeys(regions["country"])))
    return "bloc", bloc_colours(list(dict.fromkeys(regions["bloc"])))


class _Panel:
    """What one quarter draws: capacities, positions and colours of the regions."""

    def __init__(self, sites: pd.DataFrame, regions: pd.DataFrame, step: int, key: str,
                 colours: dict[str, object], cap_max: float, bubble: float):
        self.x = _pacific_lon(regions["lon"].to_numpy())
        self.y = regions["lat"].to_numpy(dtype=float)
        self.names = regions["region"].astype(str).to_numpy()
        self.cap = _region_capacity(sites, step).reindex(regions["region"]).fillna(0.0).to_numpy()
        self.group = regions[key].astype(str).to_numpy()
        self.colours, self.cap_max, self.bubble = colours, cap_max, bubble

    def bubbles(self, ax) -> None:
        for g, colour in self.colours.items():
            sel = self.group == g
            ax.scatter(self.x[sel], self.y[sel], s=self.bubble * self.cap[sel] / self.cap_max + 4, color=colour,
                       alpha=0.6, edgecolors="k", linewidths=0.4, zorder=3)

    def labels(self, ax, box, top: int, fontsize: float, skip=None) -> None:
        """Label the ``top`` largest regions inside ``box`` (and outside ``skip``, labelled elsewhere)."""
        shown = _inside(self.x, self.y, box) & (self.cap > 0)
        if skip is not None:
            shown &= ~_inside(self.x, self.y, skip)
        order = [k for k in np.argsort(-self.cap, kind="stable") if shown[k]][:top]
        place_labels(ax, [(self.x[k], self.y[k]) for k in order], [self.names[k] for k in order],
                     fontsize=fontsize)


def _world_axes(ax, title: str) -> None:
    _draw_land(ax)
    _extent(ax, _WORLD)
    ticks = np.arange(0, 301, 60)
    ax.set_xticks(ticks, [f"{t if t <= 180 else t - 360}°" for t in ticks])
    ax.set_xlabel("longitude (°E; Pacific-centred)")
    ax.set_ylabel("latitude (°N)")
    ax.set_title(title, fontsize=10)


def _legend(fig: Figure, key: str, colours: dict[str, object], cap_max: float, ncol: int) -> None:
    from matplotlib.lines import Line2D

    handles = [Line2D([], [], marker="o", ls="", markersize=8, color=c, alpha=0.7, markeredgecolor="k",
                      label=g) for g, c in colours.items()]
    fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), ncol), fontsize=8,
               title=f"{key} (bubble area ∝ operating fab capacity; largest = {cap_max:,.0f} kwpm)",
               title_fontsize=8)


def region_map(sites: pd.DataFrame, regions: pd.DataFrame, steps: list[int], quarters: list[str],
               label_top: int = 14, colour_by: str = "country") -> Figure:
    """Operating front-end fab capacity by region over country outlines, one column per quarter.

    Each column has a world view (Pacific-centred, equal degrees) above a zoom
    on East and South-East Asia.  Bubble area ∝ capacity on a common scale;
    colour by ``colour_by`` (``"country"``: Japan, Korea and Taiwan distinct;
    or ``"bloc"``).  Up to ``label_top`` of the largest regions are labelled
    in the zoom (half as many outside it in the world view), placed without
    collisions (leader lines where they had to move).  ``regions`` has columns region, country, lat, lon, bloc
    (:func:`regions_frame`).
    """
    n = len(steps)
    fig = Figure(figsize=(6.4 * n, 9.2))
    axes = fig.subplots(2, n, squeeze=False, gridspec_kw={"height_ratios": [1.0, 2.2]})
    cap_max = max(_region_capacity(sites, s).max() for s in steps) or 1.0
    key, colours = _colours(regions, colour_by)
    panels = [_Panel(sites, regions, s, key, colours, cap_max, 1400) for s in steps]
    for col, (p, q) in enumerate(zip(panels, quarters)):
        world, asia = axes[0][col], axes[1][col]
        _world_axes(world, f"Front-end fab capacity by region, {q}")
        world.add_patch(_zoom_box())
        p.bubbles(world)
        _draw_land(asia)
        _extent(asia, _ASIA)
        p.bubbles(asia)
        asia.set_xlabel("longitude (°E)")
        asia.set_ylabel("latitude (°N)")
        asia.set_title(f"East and South-East Asia (the dashed box above), {q}", fontsize=10)
    _legend(fig, key, colours, cap_max, 7 * n)
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    for col, p in enumerate(panels):
        p.labels(axes[0][col], _WORLD, max(3, label_top // 2), 7, skip=_ASIA)
        p.labels(axes[1][col], _ASIA, label_top, 7.5)
    return fig


def _zoom_box():
    from matplotlib.patches import Rectangle

    return Rectangle((_ASIA[0], _ASIA[2]), _ASIA[1] - _ASIA[0], _ASIA[3] - _ASIA[2], fill=False, ls="--",
                     lw=0.8, edgecolor="0.3", zorder=2)


def region_map_small_multiples(sites: pd.DataFrame, regions: pd.DataFrame, steps: list[int],
                               quarters: list[str], ncols: int = 3, label_top: int = 5,
                               colour_by: str = "country") -> Figure:
    """A grid of world views, one per quarter, on a common bubble scale.

    Bubble area = operating front-end fab capacity of a region (kwpm), colour
    by country (default) or bloc; the ``label_top`` largest regions of each
    panel are labelled without collisions.
    """
    n = len(steps)
    ncols = max(1, min(ncols, n))
    nrows = -(-n // ncols)
    height = 1.9 * nrows + 1.4
    fig = Figure(figsize=(5.2 * ncols, height))
    axes = fig.subplots(nrows, ncols, squeeze=False, sharex=True, sharey=True)
    cap_max = max(_region_capacity(sites, s).max() for s in steps) or 1.0
    key, colours = _colours(regions, colour_by)
    panels = [_Panel(sites, regions, s, key, colours, cap_max, 500) for s in steps]
    for ax, p, q in zip(axes.flat, panels, quarters):
        _world_axes(ax, str(q))
        p.bubbles(ax)
    for k, ax in enumerate(axes.flat):
        ax.set_visible(k < n)
        if k + ncols < n:               # a panel below carries the longitude axis
            ax.set_xlabel("")
            ax.tick_params(labelbottom=False)
        if k % ncols:
            ax.set_ylabel("")
            ax.tick_params(labelleft=False)
    fig.suptitle("Front-end fab capacity by region over time")
    _legend(fig, key, colours, cap_max, 7)
    fig.tight_layout(rect=(0, 0.9 / height, 1, 1 - 0.35 / height))
    for ax, p in zip(axes.flat, panels):
        p.labels(ax, _WORLD, label_top, 6)
    return fig


def regions_frame(model: ChipModel) -> pd.DataFrame:
    """Region coordinates, countries and blocs of a model, for :func:`region_map`."""
    geo = model.geo
    return pd.DataFrame({
        "region": geo.ids,
        "country": [geo.countries[c] for c in geo.country],
        "lat": geo.lat,
        "lon": geo.lon,
        "bloc": [geo.blocs[b] for b in geo.bloc],
    })
