"""Figures of scenario discovery (:mod:`experiments.discovery`): PRIM's peeling trajectory, the PRIM box,
the CART tree and the extra-trees feature scores.  Each function takes the tables of a
:class:`experiments.discovery.DiscoveryResult` and returns a matplotlib Figure.

Drawn here rather than with EMA Workbench's own plotting (seaborn, graphviz for the tree) so that
they follow the other figures of kyoso: plain Figures, titles, units on value axes; the tree is
scikit-learn's ``plot_tree`` (matplotlib only).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from experiments.plots.base import Figure, parameter_name, renderer, subplots

__all__ = ["prim_trajectory_figure", "prim_box_figure", "cart_tree_figure", "feature_scores_figure"]


def prim_trajectory_figure(trajectory: pd.DataFrame, *, title: str = "", threshold: float | None = None) -> Figure:
    """Coverage against density of every box on PRIM's peeling trajectory, coloured by the number of
    restricted inputs; the chosen box ringed, the density threshold dashed."""
    from matplotlib import colormaps
    from matplotlib.colors import BoundaryNorm

    fig, ax = subplots(figsize=(7.2, 5.2))
    dims = trajectory["res_dim"].to_numpy(dtype=int)
    top = max(int(dims.max()), 1)
    cmap = colormaps["viridis"].resampled(top + 1)
    norm = BoundaryNorm(np.arange(-0.5, top + 1.5), top + 1)
    sc = ax.scatter(trajectory["coverage"], trajectory["density"], c=dims, cmap=cmap, norm=norm, s=28,
                    edgecolor="k", linewidth=0.3, zorder=3)
    chosen = trajectory[trajectory["chosen"]] if "chosen" in trajectory else trajectory.iloc[:0]
    if len(chosen):
        r = chosen.iloc[0]
        ax.scatter([r["coverage"]], [r["density"]], s=160, facecolor="none", edgecolor="C3", linewidth=1.6,
                   zorder=4, label=f"box {int(r['box'])} (reported)")
    if threshold is not None:
        ax.axhline(threshold, color="0.4", ls="--", lw=0.9, label=f"density threshold {threshold:g}")
    ax.set_xlim(-0.02, 1.05)
    ax.set_ylim(-0.02, 1.05)
    ax.set_xlabel("coverage (share of all cases in the box, 0–1)")
    ax.set_ylabel("density (share of the box's runs that are cases, 0–1)")
    ax.set_title(f"PRIM peeling trajectory{': ' + title if title else ''}", fontsize=10)
    bar = fig.colorbar(sc, ax=ax, ticks=range(top + 1))
    bar.set_label("restricted inputs (count)")
    ax.grid(alpha=0.3)
    if len(chosen) or threshold is not None:
        ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


def _num(v: Any) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def prim_box_figure(box: pd.DataFrame, stats: dict[str, Any], *, title: str = "") -> Figure:
    """The chosen box: per restricted input its limits within the input's sampled range (scaled to
    0–1), with the limits and their quasi-p values written beside it."""
    n = max(len(box), 1)
    fig, ax = subplots(figsize=(8.0, 1.5 + 0.55 * n))
    labels = []
    for k, r in enumerate(box.itertuples()):
        lo, hi, rlo, rhi = (_num(v) for v in (r.low, r.high, r.range_low, r.range_high))
        y = n - 1 - k
        ax.plot([0, 1], [y, y], color="0.8", lw=6, solid_capstyle="butt", zorder=1)
        if None not in (lo, hi, rlo, rhi) and rhi > rlo:
            a, b = (lo - rlo) / (rhi - rlo), (hi - rlo) / (rhi - rlo)
            qs = [q for q in (r.qp_low, r.qp_high) if np.isfinite(q)]
            weak = bool(qs) and all(q >= 0.05 for q in qs)
            ax.plot([a, b], [y, y], color="#9ecae1" if weak else "C0", lw=6, solid_capstyle="butt", zorder=2)
            qps = [f"{q:.1g}" if np.isfinite(q) else "–" for q in (r.qp_low, r.qp_high)]
            ax.text(1.03, y, f"{lo:.3g} – {hi:.3g}  (quasi-p {qps[0]}, {qps[1]})" + ("  ~" if weak else ""),
                    va="center", fontsize=8)
        else:
            ax.text(1.03, y, f"{r.low}", va="center", fontsize=8)
        labels.append(parameter_name(str(r.parameter)))
    ax.set_yticks(range(n - 1, n - 1 - len(box), -1) if len(box) else [], labels)
    ax.set_ylim(-0.7, n - 0.3)
    ax.set_xlim(0, 1)
    ax.set_xlabel("position within the sampled range (0 = lowest, 1 = highest value sampled)")
    if not len(box):
        ax.text(0.5, 0, "the box restricts no input", ha="center", va="center", fontsize=9)
    ax.set_ylabel("restricted input")
    ax.set_title(f"PRIM box{': ' + title if title else ''}\ncoverage {stats['coverage']:.2f}, density "
                 f"{stats['density']:.2f}, mass {stats['mass']:.2f}\npale ~: every limit of the input has quasi-p "
                 "≥ 0.05 (not significant)", fontsize=10)
    fig.tight_layout()
    return fig


def cart_tree_figure(cart: Any, *, title: str = "") -> Figure:
    """The CART tree (scikit-learn's ``plot_tree``): splits, runs and cases per node, leaves coloured by
    their share of cases."""
    from sklearn.tree import plot_tree

    leaves = max(int(cart.tree.get_n_leaves()), 1)
    depth = max(int(cart.tree.get_depth()), 1)
    fig, ax = subplots(figsize=(min(3.0 + 1.7 * leaves, 28.0), 1.6 + 1.5 * depth))
    renderer(fig)                     # plot_tree sizes its boxes with the canvas's renderer
    plot_tree(cart.tree, feature_names=[parameter_name(f) for f in cart.features], class_names=["other", "case"],
              filled=True, impurity=False, ax=ax, fontsize=7, rounded=True)
    ax.set_title(f"CART tree{': ' + title if title else ''}\n(value = [runs not cases, cases] per node)",
                 fontsize=10)
    fig.tight_layout()
    return fig


def feature_scores_figure(scores: pd.DataFrame, *, title: str = "", inert: list[str] | None = None) -> Figure:
    """Extra-trees feature scores, largest first; inputs flagged inert hatched."""
    from matplotlib.patches import Patch

    inert = set(inert or [])
    s = scores.sort_values("score", ascending=True)
    fig, ax = subplots(figsize=(7.2, 1.4 + 0.42 * max(len(s), 1)))
    hatch = ["//" if p in inert else "" for p in s["parameter"]]
    ax.barh(range(len(s)), s["score"], color="C0", hatch=hatch, edgecolor="k", linewidth=0.4)
    ax.set_yticks(range(len(s)), [parameter_name(p) for p in s["parameter"]], fontsize=8)
    ax.set_xlabel("feature score (share of the impurity decrease, 0–1)")
    ax.set_ylabel("input")
    ax.set_xlim(0, max(float(s["score"].max()) * 1.15, 0.05) if len(s) else 1)
    if len(s):
        ax.axvline(1 / len(s), color="0.4", ls="--", lw=0.9, label=f"equal shares (1/{len(s)})")
    ax.set_title(f"Extra-trees feature scores{': ' + title if title else ''}", fontsize=10)
    handles, _ = ax.get_legend_handles_labels()
    if inert & set(s["parameter"]):
        handles.append(Patch(facecolor="C0", edgecolor="k", hatch="//", label="inert input"))
    if handles:
        ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
