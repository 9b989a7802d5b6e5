"""The value chain between countries: a layered flow figure and a country × country trade matrix.

Both read the ``partnerships`` table (one row per active supply partnership
and quarter: buyer and supplier with their home countries, the ``input`` the
supplier provides — materials, equipment or packaging — the buyer's fab
segment, and the volume ``delivered`` this quarter, in kwpm-eq) and, for the
layered figure, the ``sites`` table (capacity of each layer by country).
Volumes are wafer-equivalents, not money: buyers do not pay suppliers in the
model yet.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from experiments.plots.base import Figure, country_colours, subplots
from model.scenario import FAB_SEGMENTS

__all__ = ["value_chain_figure", "trade_matrix", "country_flows", "partnership_network"]

_UPSTREAM = ("materials", "equipment")
_VOLUME = "delivered volume (kwpm-eq per quarter)"
_HIGHLIGHT = ("JP", "KR")
_HIGHLIGHT_COLOUR = "black"


def _at_step(partnerships: pd.DataFrame, step: int | None) -> tuple[pd.DataFrame, int, str]:
    if step is None:
        step = int(partnerships["step"].max()) if len(partnerships) else 0
    links = partnerships[partnerships["step"] == step]
    quarter = str(links["quarter"].iloc[0]) if len(links) else f"step {step}"
    return links, step, quarter


def country_flows(partnerships: pd.DataFrame, step: int | None = None) -> pd.DataFrame:
    """Delivered volume between countries in one quarter (default: the last recorded), by stage.

    Rows: ``source``, ``target`` (countries), ``stage`` (``"upstream"``:
    materials or equipment supplier → fab buyer; ``"packaging"``: fab buyer →
    packaging supplier), ``input`` and ``volume`` (kwpm-eq per quarter).
    """
    links, _, _ = _at_step(partnerships, step)
    up = links[links["input"].isin(_UPSTREAM)]
    pk = links[links["input"] == "packaging"]
    frames = [pd.DataFrame({"source": up["supplier_home"].astype(str), "target": up["buyer_home"].astype(str),
                            "stage": "upstream", "input": up["input"].astype(str),
                            "volume": up["delivered"].astype(float)}),
              pd.DataFrame({"source": pk["buyer_home"].astype(str), "target": pk["supplier_home"].astype(str),
                            "stage": "packaging", "input": "packaging", "volume": pk["delivered"].astype(float)})]
    flows = pd.concat(frames, ignore_index=True)
    return flows.groupby(["stage", "input", "source", "target"], as_index=False)["volume"].sum()


def _layer_capacity(sites: pd.DataFrame, step: int, segments: tuple[str, ...], min_share: float) -> pd.Series:
    """Operating capacity by country in ``segments`` (kwpm); countries under ``min_share`` pooled as 'other'."""
    s = sites[(sites["step"] == step) & (sites["status"] == "operating") & sites["segment"].isin(segments)]
    cap = s.groupby(s["country"].astype(str))["capacity"].sum().sort_values(ascending=False)
    cap = cap[cap > 0]
    small = cap < min_share * cap.sum()
    if small.sum() > 1:
        cap = pd.concat([cap[~small], pd.Series({"other": cap[small].sum()})])
    return cap


def _stack(cap: pd.Series, gap: float, floor: float) -> dict[str, tuple[float, float]]:
    """Node spans (bottom, top) in a column of height 1: heights ∝ capacity, at least ``floor``."""
    n = len(cap)
    room = 1.0 - gap * max(n - 1, 0)
    h = np.maximum(cap.to_numpy(dtype=float) / max(cap.sum(), 1e-12) * room, floor)
    h *= room / h.sum() if h.sum() > room else 1.0
    spans, top = {}, 1.0
    for c, hk in zip(cap.index, h):
        spans[str(c)] = (top - hk, top)
        top -= hk + gap
    return spans


_PLACE = {"materials": (0.0, 0.52, 1.0), "equipment": (0.0, 0.0, 0.48), "fabs": (1.0, 0.0, 1.0),
          "packaging": (2.0, 0.0, 1.0)}    # layer → column x and its vertical band (materials above equipment)
_W = 0.09                                # node width (column units)
_SEG_ALPHA = dict(zip(FAB_SEGMENTS, (1.0, 0.75, 0.5, 0.3)))


def _draw_nodes(ax, layers: dict[str, pd.Series], sites: pd.DataFrame, step: int,
                colours: dict[str, object]) -> dict[tuple[str, str], float]:
    """A box per country and layer, labelled with country and capacity; returns each box's centre."""
    from matplotlib.patches import Rectangle

    centres = {}
    for layer, cap in layers.items():
        x, lo, hi = _PLACE[layer]
        for c, (b, t) in _stack(cap, 0.012 / (hi - lo), 0.022 / (hi - lo)).items():
            y0, y1 = lo + b * (hi - lo), lo + t * (hi - lo)
            centres[(layer, c)] = (y0 + y1) / 2
            if layer == "fabs":
                _fab_node(ax, sites, step, c, x, y0, y1, colours[c], set(cap.index))
            else:
                ax.add_patch(Rectangle((x - _W / 2, y0), _W, y1 - y0, color=colours[c], ec="k", lw=0.5, zorder=3))
            side = -1 if x == 0 else 1
            ax.text(x + side * (_W / 2 + 0.02), (y0 + y1) / 2, f"{c} {cap[c]:,.0f}", fontsize=7.5, zorder=6,
                    ha="right" if side < 0 else "left", va="center",
                    bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.8})
        if layer in _UPSTREAM:
            ax.text(x - _W / 2 - 0.25, (lo + hi) / 2, layer, rotation=90, ha="center", va="center", fontsize=9,
                    color="0.3")
    return centres


def _draw_flows(ax, flows: pd.DataFrame, centres: dict[tuple[str, str], float], colours: dict[str, object],
                vmax: float) -> None:
    """A line per country pair and stage, width ∝ volume; Japan → Korea in black on top."""
    for r in flows.sort_values("volume").itertuples():
        src, dst = (r.input, "fabs") if r.stage == "upstream" else ("fabs", "packaging")
        a = centres.get((src, r.source), centres.get((src, "other")))
        b = centres.get((dst, r.target), centres.get((dst, "other")))
        if r.volume <= 0 or a is None or b is None:
            continue
        jk = (r.source, r.target) == _HIGHLIGHT
        ax.plot([_PLACE[src][0] + _W / 2, _PLACE[dst][0] - _W / 2], [a, b], solid_capstyle="butt",
                lw=0.3 + 9 * r.volume / vmax, color=_HIGHLIGHT_COLOUR if jk else colours.get(r.source, "0.5"),
                alpha=0.85 if jk else 0.35, zorder=5 if jk else 2)


def value_chain_figure(partnerships: pd.DataFrame, sites: pd.DataFrame, step: int | None = None,
                       *, min_share: float = 0.03) -> Figure:
    """The value chain of one quarter as layers of countries with the flows between them.

    Columns: upstream suppliers (materials above equipment) → fabs (logic,
    memory, sensors, power) → packaging.  A node is a country in a layer, its
    height ∝ the layer's operating capacity there (countries with less than
    ``min_share`` of a layer pooled as "other"; a fab node is shaded by
    segment).  A line is the volume delivered between two countries in the
    quarter (width ∝ kwpm-eq), in the colour of its source country;
    Japan→Korea flows are drawn in black on top.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    links, step, quarter = _at_step(partnerships, step)
    flows = country_flows(partnerships, step)
    layers = {layer: _layer_capacity(sites, step, segs, min_share) for layer, segs in (
        ("materials", ("materials",)), ("equipment", ("equipment",)), ("fabs", tuple(FAB_SEGMENTS)),
        ("packaging", ("packaging",)))}
    colours = country_colours(sorted({c for cap in layers.values() for c in cap.index} - {"other"}))
    colours["other"] = "0.75"
    fig, ax = subplots(figsize=(10.5, 7.6))
    centres = _draw_nodes(ax, layers, sites, step, colours)
    vmax = max(float(flows["volume"].max()) if len(flows) else 0.0, 1e-9)
    _draw_flows(ax, flows, centres, colours, vmax)
    ax.set_xlim(-0.5, 2.45)
    ax.set_ylim(-0.02, 1.06)
    ax.set_xticks([0, 1, 2], ["upstream suppliers\n(materials above, equipment below)",
                              "front-end fabs\n(shade: logic, memory, sensors, power)", "packaging"])
    ax.tick_params(axis="x", length=0)
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)
    ax.set_xlabel("stage of the value chain (node height ∝ operating capacity, kwpm; label: country, kwpm)")
    ax.set_title(f"The value chain by country, {quarter}: {len(links)} partnerships, "
                 f"{flows['volume'].sum():,.0f} kwpm-eq delivered", fontsize=10)
    handles = [Line2D([], [], color=_HIGHLIGHT_COLOUR, lw=4, label="Japan → Korea"),
               Line2D([], [], color="0.4", lw=0.3 + 9, alpha=0.5, label=f"{vmax:,.0f} kwpm-eq per quarter"),
               Line2D([], [], color="0.4", lw=0.3 + 9 * 0.25, alpha=0.5, label=f"{0.25 * vmax:,.0f}")]
    handles += [Patch(facecolor="0.3", alpha=_SEG_ALPHA[s], label=s) for s in FAB_SEGMENTS]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              title="flow (coloured by source)\n/ fab segment", title_fontsize=8)
    fig.tight_layout()
    return fig


def _fab_node(ax, sites: pd.DataFrame, step: int, country: str, x: float, y0: float, y1: float, colour,
              named: set[str]) -> None:
    """A fab node shaded by segment (the country's colour, one shade per segment, logic on top)."""
    from matplotlib.patches import Rectangle

    s = sites[(sites["step"] == step) & (sites["status"] == "operating") & sites["segment"].isin(FAB_SEGMENTS)]
    own = s["country"].astype(str)
    s = s[~own.isin(named - {"other"})] if country == "other" else s[own == country]
    by = s.groupby(s["segment"].astype(str))["capacity"].sum().reindex(FAB_SEGMENTS).fillna(0.0)
    total = max(by.sum(), 1e-12)
    top = y1
    for seg, v in by.items():
        h = (y1 - y0) * v / total
        ax.add_patch(Rectangle((x - _W / 2, top - h), _W, h, facecolor=colour, alpha=_SEG_ALPHA[seg], lw=0,
                               zorder=3))
        top -= h
    ax.add_patch(Rectangle((x - _W / 2, y0), _W, y1 - y0, fill=False, ec="k", lw=0.5, zorder=3))


def trade_matrix(partnerships: pd.DataFrame, step: int | None = None, *, summed: bool = False,
                 inputs: tuple[str, ...] = ("materials", "equipment", "packaging")) -> Figure:
    """Country × country matrix of inputs delivered: rows the supplier's home, columns the buyer's.

    From the ``trade`` table it shows the value at market prices (USD bn,
    partnerships and spot market); from the ``partnerships`` table the
    volume delivered along partnerships (kwpm-eq).  ``step``: one quarter
    (default the last recorded); ``summed=True`` adds up every recorded
    quarter instead.
    """
    is_trade = "value" in partnerships.columns
    column = "value" if is_trade else "delivered"
    if summed:
        links = partnerships
        when = f"summed over {partnerships['step'].nunique()} quarters"
        unit = "value (USD bn, summed over quarters)" if is_trade else "delivered volume (kwpm-eq, summed over quarters)"
    else:
        links, step, when = _at_step(partnerships, step)
        unit = "value at market prices (USD bn per quarter)" if is_trade else _VOLUME
    links = links[links["input"].isin(inputs)]
    countries = sorted(set(partnerships["supplier_home"].astype(str)) | set(partnerships["buyer_home"].astype(str)))
    table = (links.pivot_table(index="supplier_home", columns="buyer_home", values=column, aggfunc="sum",
                               observed=False)
             .reindex(index=countries, columns=countries).fillna(0.0))
    vals = table.to_numpy(dtype=float)
    n = len(countries)
    fig, ax = subplots(figsize=(0.62 * n + 3.4, 0.5 * n + 2.4))
    im = ax.imshow(vals, cmap="Blues", vmin=0, aspect="auto")
    hi = vals.max() if vals.size else 0.0
    for i in range(n):
        for j in range(n):
            if vals[i, j] > 0:
                ax.text(j, i, f"{vals[i, j]:,.1f}" if is_trade else f"{vals[i, j]:,.0f}", ha="center",
                        va="center", fontsize=6.5,
                        color="white" if vals[i, j] > 0.6 * hi else "black")
    if all(c in countries for c in _HIGHLIGHT):
        from matplotlib.patches import Rectangle

        i, j = countries.index(_HIGHLIGHT[0]), countries.index(_HIGHLIGHT[1])
        ax.add_patch(Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, ec=_HIGHLIGHT_COLOUR, lw=2, zorder=3))
    ax.set_xticks(range(n), countries)
    ax.set_yticks(range(n), countries)
    ax.set_xlabel("buyer's home country (fab owner)")
    ax.set_ylabel("supplier's home country")
    ax.set_title(f"Inputs delivered between countries, {when}\n({', '.join(inputs)}; box: Japan → Korea)",
                 fontsize=10)
    cbar = fig.colorbar(im, ax=ax)
    cbar.set_label(unit)
    fig.tight_layout()
    return fig



def partnership_network(partnerships: pd.DataFrame, firms_home: object = None, step: int | None = None,
                        **_: object) -> Figure:
    """Kept for notebooks that call it: now the country × country :func:`trade_matrix` of one quarter.

    The firm-level spring layout it used to draw (79 nodes with internal ids)
    is gone; ``firms_home`` is ignored (the partnerships table holds both
    homes).
    """
    return trade_matrix(partnerships, step)
