"""The Pareto front of a robust search (``kyoso search``): pairwise scatter of the robust objectives.

Every evaluated lever set is a grey dot, the non-dominated feasible ones are
coloured; one panel per pair of objectives (the lower triangle of a scatter
matrix), or for a single objective its value against the order of
evaluation.  Axis labels come from the metric registry (label and unit of the
objective's metric, the reduction of a run, the robustness measure and which
way is better).
"""

from __future__ import annotations

import textwrap
from typing import TYPE_CHECKING, Any


from experiments.plots.base import Figure, metric_label, subplots

if TYPE_CHECKING:
    from experiments.search import Objective, SearchResult

__all__ = ["objective_label", "pareto_figure"]

_AT = {"final": "final quarter", "mean": "quarterly mean", "max": "quarterly max", "min": "quarterly min"}


def objective_label(o: Objective, width: int = 38) -> tuple[str, float]:
    """Axis label of a robust objective (with unit and the better direction) and the display factor."""
    label, factor = metric_label(o.metric)
    name = label.split(" (")[0]
    unit = label[len(name):].strip()
    at = _AT.get(str(o.at), f"in {o.at}")
    if o.robustness == "mean":
        rob = "mean over scenarios"
    elif o.robustness == "percentile":
        pct = o.q if o.direction == "max" else 100 - o.q
        rob = f"{_ordinal(pct)} percentile over scenarios"
    else:
        rob = ("max regret over scenarios" if o.q is None
               else f"{_ordinal(100 - o.q)} percentile of regret over scenarios")
    better = "↑ better" if o.sense == "max" else "↓ better"
    lines = [f"{name} {unit}".strip(), f"{at}; {rob}; {better}"]
    return "\n".join(textwrap.fill(line, width) for line in lines), factor


def _ordinal(p: float) -> str:
    """10 → '10th', 1 → '1st', 22.5 → '22.5th'."""
    if p != int(p):
        return f"{p:g}th"
    n = int(p)
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def pareto_figure(result: SearchResult) -> Figure:
    """The robust objectives of every evaluated lever set, the Pareto front highlighted."""
    objs: list[Any] = list(result.objectives)
    df = result.evaluations
    front = df["pareto"].to_numpy(dtype=bool)
    ok = df[[o.label for o in objs]].notna().all(axis=1).to_numpy()
    title = (f"{result.name}: {int(front.sum())} non-dominated of {len(df)} lever sets "
             f"({result.nfe} evaluations)")
    k = len(objs)
    if k == 1:
        o = objs[0]
        label, f = objective_label(o)
        fig, ax = subplots(figsize=(7.5, 4.8))
        y = df[o.label].to_numpy(dtype=float) * f
        order = df["order"].to_numpy()
        ax.scatter(order[ok & ~front], y[ok & ~front], s=12, c="0.7", label="evaluated")
        ax.scatter(order[front], y[front], s=30, c="#d62728", label="best")
        ax.set_xlabel("lever set (number, in the order evaluated)")
        ax.set_ylabel(label, fontsize=8)
        ax.legend(loc="best", fontsize=8, frameon=False)
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        return fig
    n = k - 1
    size = max(3.2, 9.0 / n)
    # a column shares its objective's x axis, a row its y axis: labels and tick labels on the outer panels only
    fig, axes = subplots(n, n, figsize=(size * n + 1.0, size * n + 0.6), squeeze=False, sharex="col", sharey="row")
    labels = [objective_label(o) for o in objs]
    for r in range(n):
        for c in range(n):
            ax = axes[r][c]
            if c > r:
                ax.set_visible(False)
                continue
            oy, ox = objs[r + 1], objs[c]
            (ly, fy), (lx, fx) = labels[r + 1], labels[c]
            x = df[ox.label].to_numpy(dtype=float) * fx
            y = df[oy.label].to_numpy(dtype=float) * fy
            ax.scatter(x[ok & ~front], y[ok & ~front], s=10, c="0.75", label="dominated")
            ax.scatter(x[front], y[front], s=26, c="#d62728", edgecolors="k", linewidths=0.4,
                       label="Pareto front")
            if r == n - 1:
                ax.set_xlabel(lx, fontsize=7)
            if c == 0:
                ax.set_ylabel(ly, fontsize=7)
            ax.tick_params(labelsize=7)
            if r == 0 and c == 0:
                ax.legend(loc="best", fontsize=7, frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
