"""Figures of a sweep: main effects, a heatmap of a two-parameter grid, Sobol bars, Morris μ*–σ, seed noise,
policies compared on common design points and seeds.

Which figures ``kyoso plot`` draws, and from which result, is declared by the
registered analyses (:data:`experiments.analysis.ANALYSES`, field
``figure``); every figure named there is a function of this module.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis import ANALYSES, analyze_sweep
from experiments.plots.base import Figure, metric_label, parameter_label, parameter_name, save, subplots, value_axis
from experiments.sensitivity import seed_noise
from experiments.store import read_manifest

__all__ = ["main_effects_figure", "noise_share", "grid_heatmap", "point_heatmap", "sobol_bars", "morris_scatter",
           "seed_noise_figure", "policy_comparison_figure", "save_sweep_figures"]


_AT = {"final": "final quarter", "mean": "mean over quarters", "max": "maximum over quarters",
       "min": "minimum over quarters"}


def _at(at: str) -> str:
    """How each run was reduced to one number, in words."""
    return _AT.get(at, f"in {at}")


def _metric(metric: str, at: str) -> tuple[str, str, float]:
    """The metric's name in words, its axis label with unit and reduction, and the display factor."""
    label, factor = metric_label(metric)
    name = metric_label(metric)[0].split(" (")[0]
    unit = label[len(name):].strip()
    return name, f"{name}, {_at(at)} {unit}".strip(), factor


def _tick(v: object) -> str:
    return f"{v:g}" if isinstance(v, (float, np.floating)) else str(v)


def main_effects_figure(effects: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """One panel per parameter: mean of ``metric`` per level with its 95% interval.

    ``effects`` is :func:`experiments.analysis.main_effects` (parameter,
    level, mean, ci_low, ci_high, binned, n).
    """
    name, ylabel, factor = _metric(metric, at)
    params = list(dict.fromkeys(effects["parameter"]))
    ncol = min(3, max(1, len(params)))
    nrow = -(-len(params) // ncol)
    fig, axes = subplots(nrow, ncol, figsize=(4.8 * ncol, 3.7 * nrow + 0.6), squeeze=False, sharey=True)
    for ax, p in zip(axes.flat, params):
        sub = effects[effects["parameter"] == p]
        x = sub["level"].to_numpy()
        numeric = np.issubdtype(np.asarray(x).dtype, np.number)
        xs = x.astype(float) if numeric else np.arange(len(x))
        ax.fill_between(xs, factor * sub["ci_low"], factor * sub["ci_high"], alpha=0.25, color="C0",
                        label="95% interval of the mean")
        ax.plot(xs, factor * sub["mean"], "o-", color="C0", label="mean over runs")
        if not numeric:
            ax.set_xticks(xs, [str(v) for v in x])
        binned = bool(sub["binned"].any())
        ax.set_xlabel(parameter_label(p) + ("\n(quantile-bin median)" if binned else ""), fontsize=9)
        n = sub["n"].astype(int) if "n" in sub else None
        runs = f"; n = {n.min()}–{n.max()} runs per level" if n is not None and n.min() != n.max() else (
            f"; n = {n.iloc[0]} runs per level" if n is not None and len(n) else "")
        ax.set_title(parameter_name(p) + runs, fontsize=9)
        ax.grid(alpha=0.3)
    value_axis(axes[0][0], factor * effects[["ci_low", "ci_high", "mean"]].to_numpy(dtype=float))   # shared y
    for row in axes:
        row[0].set_ylabel(ylabel, fontsize=9)
    for ax in list(axes.flat)[len(params):]:
        ax.set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=8)
    fig.suptitle(f"Main effects on {name} ({_at(at)} of each run)")
    fig.tight_layout(rect=(0, 0.07, 1, 0.95))
    return fig


def noise_share(points: pd.DataFrame) -> float:
    """The share of one run's variance that is seed noise, from point means, sds and counts.

    Rebuilds, per point, ``n`` values with that mean and sd (the one-way ANOVA
    depends on nothing else) and hands them to
    :func:`experiments.sensitivity.seed_noise`; NaN when no point is replicated.
    """
    rows = []
    for k, r in enumerate(points.itertuples()):
        n = int(r.n)
        z = np.arange(n) - (n - 1) / 2
        z = z / z.std(ddof=1) if n > 1 else z
        sd = float(r.sd) if n > 1 and np.isfinite(r.sd) else 0.0
        rows.append(pd.DataFrame({"point": k, "value": float(r.mean) + sd * z}))
    if not rows:
        return float("nan")
    return float(seed_noise(pd.concat(rows, ignore_index=True)).get("share_seed", float("nan")))


def grid_heatmap(points: pd.DataFrame, x: str, y: str, metric: str, at: str = "final") -> Figure:
    """Mean of ``metric`` over replications on a two-parameter grid, each cell with its n.

    ``points``: :func:`experiments.analysis.point_means` (columns x, y, mean,
    n, and sd).  The title gives the share of one run's variance that is
    seed noise (:func:`noise_share`), so a pattern can be read against it.
    """
    name, clabel, factor = _metric(metric, at)
    table = points.pivot_table(index=y, columns=x, values="mean", aggfunc="mean").sort_index()
    table = table.reindex(sorted(table.columns), axis=1)
    counts = (points.pivot_table(index=y, columns=x, values="n", aggfunc="sum").reindex_like(table)
              if "n" in points else None)
    fig, ax = subplots(figsize=(1.2 * len(table.columns) + 4.2, 0.75 * len(table.index) + 2.8))
    vals = factor * table.to_numpy(dtype=float)
    im = ax.imshow(vals, origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(table.columns)), [_tick(v) for v in table.columns])
    ax.set_yticks(range(len(table.index)), [_tick(v) for v in table.index])
    lo, hi = np.nanmin(vals), np.nanmax(vals)
    for i in range(vals.shape[0]):
        for j in range(vals.shape[1]):
            if np.isfinite(vals[i, j]):
                light = (vals[i, j] - lo) / (hi - lo) > 0.6 if hi > lo else False
                n = f"\nn={int(counts.iloc[i, j])}" if counts is not None else ""
                ax.text(j, i, f"{vals[i, j]:.3g}{n}", ha="center", va="center",
                        fontsize=7, color="black" if light else "white")
    ax.set_xlabel(parameter_label(x))
    ax.set_ylabel(parameter_label(y))
    share = noise_share(points) if {"sd", "n"} <= set(points.columns) else float("nan")
    noise = (f"{100 * share:.0f}% of one run's variance is seed noise" if np.isfinite(share)
             else "seed noise unknown (one run per cell)")
    ax.set_title(f"{name} ({_at(at)}), mean over replications\n{noise}", fontsize=10)
    cbar = fig.colorbar(im, ax=ax)
    cbar.set_label(clabel)
    fig.tight_layout()
    return fig


def sobol_bars(indices: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """First-order (S1) and total (ST) Sobol indices with their 95% intervals
    (``indices``: :func:`experiments.analysis.sobol_indices`).

    A hatched bar with a ✕ marks an index whose interval is wider than the
    index itself: too few runs to tell it from zero (a note says so).
    """
    name, _, _ = _metric(metric, at)
    n = len(indices)
    fig, ax = subplots(figsize=(max(6.0, 1.5 * n + 4.0), 4.8))
    x = np.arange(n)
    w = 0.38
    vague = 0
    from matplotlib.patches import Patch

    handles = []
    for shift, col, colour, label in ((-w / 2, "S1", "C0", "first order S1"), (w / 2, "ST", "C1", "total ST")):
        v, conf = indices[col].to_numpy(dtype=float), indices[f"{col}_conf"].to_numpy(dtype=float)
        wide = conf > np.abs(v)
        vague += int(wide.sum())
        ax.bar(x + shift, v, w, yerr=conf, capsize=4, color=colour,
               hatch=["//" if k else "" for k in wide], edgecolor="k", linewidth=0.4)
        ax.plot((x + shift)[wide], np.zeros(wide.sum()), "x", color="k", ms=7, mew=1.5)
        handles.append(Patch(facecolor=colour, edgecolor="k", linewidth=0.4, label=label))
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, [parameter_name(p) for p in indices["parameter"]], rotation=20, ha="right", fontsize=8)
    ax.set_xlabel("parameter")
    ax.set_ylabel("Sobol index (share of variance, 0–1)")
    ax.set_title(f"Sobol indices of {name}\n({_at(at)}; whiskers: 95% interval)", fontsize=10)
    if vague:
        handles.append(Patch(facecolor="white", edgecolor="k", hatch="//",
                             label=f"✕ interval wider than the index ({vague}):\nnot told apart from 0; more runs"))
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def morris_scatter(indices: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """Morris μ* (with its interval) against σ, one marker per parameter, in the metric's unit."""
    name, label, factor = _metric(metric, at)
    unit = label.rsplit("(", 1)[1].rstrip(")") if "(" in label else "metric unit"
    fig, ax = subplots(figsize=(8.4, 4.8))
    for k, r in enumerate(indices.itertuples()):
        ax.errorbar(factor * r.mu_star, factor * r.sigma, xerr=factor * r.mu_star_conf, fmt="o", capsize=3,
                    color=f"C{k % 10}", label=parameter_name(r.parameter))
    lim = factor * float(max(indices["mu_star"].max(), indices["sigma"].max(), 1e-12)) * 1.1
    ax.plot([0, lim], [0, lim], "k:", lw=0.8, label="σ = μ*")
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.set_xlabel(f"μ*: mean absolute elementary effect ({unit})")
    ax.set_ylabel(f"σ: spread of elementary effects ({unit})")
    ax.set_title(f"Morris screening of {name}\n({_at(at)})", fontsize=10)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), title="parameter", title_fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def seed_noise_figure(noise: pd.DataFrame, at: str = "final") -> Figure:
    """Per metric, the share of one run's variance that is seed noise vs parameters
    (``noise``: rows of :func:`experiments.analysis.seed_noise` with a ``metric`` column)."""
    fig, ax = subplots(figsize=(max(6.0, 1.1 * len(noise) + 3.5), 4.6))
    x = np.arange(len(noise))
    seed = noise["share_seed"].fillna(0).to_numpy()
    ax.bar(x, 100 * (1 - seed), label="parameters (between points)", color="C0")
    ax.bar(x, 100 * seed, bottom=100 * (1 - seed), label="seed noise (between replications)", color="C7")
    for k, v in enumerate(seed):
        ax.text(k, 100 * (1 - v) + 50 * v, f"{100 * v:.0f}%", ha="center", va="center", fontsize=8)
    ax.set_xticks(x, [textwrap.fill(_metric(m, at)[0], 16) for m in noise["metric"]], fontsize=8)
    ax.set_ylim(0, 100)
    ax.set_xlabel("metric")
    ax.set_ylabel("share of a run's variance (%)")
    ax.set_title(f"How much is seed noise? ({_at(at)} of each run)", fontsize=10)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    return fig


def policy_comparison_figure(result: dict, metric: str, at: str = "final") -> Figure:
    """Policies against the reference (``result``: the "policies" analysis of :mod:`experiments.analysis`).

    Left: each policy's mean with its 95% interval.  Right: the paired
    difference policy − reference at every design point (mean over its
    replications, 95% t-interval), points sorted by the difference, coloured
    by whether the interval lies above 0, below 0 or across it; the dashed
    line is the mean difference over all pairs.
    """
    name, ylabel, factor = _metric(metric, at)
    summary, paired, by_point = result["summary"], result["paired"], result["by_point"]
    ref = result["reference"]
    fig, (left, right) = subplots(1, 2, figsize=(12.5, 4.8), gridspec_kw={"width_ratios": [1, 2.2]})
    x = np.arange(len(summary))
    mean = factor * summary["mean"].to_numpy(dtype=float)
    err = np.vstack([mean - factor * summary["ci_low"].to_numpy(dtype=float),
                     factor * summary["ci_high"].to_numpy(dtype=float) - mean])
    left.errorbar(x, mean, yerr=np.nan_to_num(err), fmt="o", capsize=5, color="C0", label="mean, 95% interval")
    left.set_xticks(x, [f"{p}\n(reference)" if p == ref else p for p in summary["policy"]], fontsize=8)
    left.set_xlabel("policy")
    left.set_ylabel(textwrap.fill(ylabel, 42), fontsize=9)      # long metric labels wrap, never clip
    left.set_title(textwrap.fill(f"{name} by policy", 40), fontsize=10)
    left.legend(fontsize=8, loc="best")
    left.grid(alpha=0.3)
    colours = {"higher": "C2", "lower": "C3", "unclear": "C7"}
    labelled: set[str] = set()
    offset = 0
    for k, r in enumerate(paired.itertuples()):
        sub = by_point[by_point["policy"] == r.policy].sort_values("diff", kind="stable")
        xs = offset + np.arange(len(sub))
        d = factor * sub["diff"].to_numpy(dtype=float)
        lo = factor * sub["ci_low"].to_numpy(dtype=float)
        hi = factor * sub["ci_high"].to_numpy(dtype=float)
        for verdict, colour in colours.items():
            m = (sub["verdict"] == verdict).to_numpy()
            if m.any():
                label = {"higher": "interval above 0", "lower": "interval below 0",
                         "unclear": "interval across 0"}[verdict]
                right.errorbar(xs[m], d[m], yerr=np.nan_to_num(np.vstack([d[m] - lo[m], hi[m] - d[m]])), fmt="o",
                               ms=3, capsize=2, color=colour, label=None if label in labelled else label)
                labelled.add(label)
        right.hlines(factor * r.diff, xs[0] - 0.5 if len(xs) else 0, xs[-1] + 0.5 if len(xs) else 1,
                     colors=f"C{k % 10}", linestyles="--",
                     label=f"{r.policy} − {ref}: mean over {r.n_pairs} pairs")
        offset += len(sub) + 2
    right.axhline(0, color="k", lw=0.7)
    right.set_xlabel("design point (sorted by the difference" + ("; one block per policy)" if len(paired) > 1 else ")"))
    right.set_ylabel(textwrap.fill(f"difference in {name}" + (f" ({ylabel.rsplit('(', 1)[1]}" if "(" in ylabel else ""),
                                   48), fontsize=9)
    right.set_title(f"Paired difference policy − {ref} at each design point\n(mean over replications with the "
                    "same seeds; whiskers: 95% t interval)", fontsize=10)
    right.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    right.grid(alpha=0.3)
    fig.suptitle(f"Policies compared on common design points and seeds ({_at(at)} of each run)")
    fig.tight_layout(rect=(0, 0, 1, 0.94))
    return fig


def point_heatmap(points: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """:func:`grid_heatmap` of a two-parameter grid's point means (its parameters are the
    columns other than point, mean, sd and n, in order: x then y)."""
    x, y = [c for c in points.columns if c not in ("point", "mean", "sd", "n")]
    return grid_heatmap(points, x, y, metric, at)


def save_sweep_figures(root: Path, out: Path, metrics: list[str] | None = None, at: str = "final", *,
                       policy: str | None = None, reference: str | None = None) -> list[Path]:
    """The ``kyoso plot`` figures of a sweep directory as PNG files in ``out``.

    Per metric, the figure of every analysis that ran and names one; then the
    figures that draw every metric's result together (seed noise).  With
    policies, the analyses of ``policy`` (default the first) and the policy
    comparison against ``reference``.
    """
    manifest = read_manifest(root)
    metrics = list(metrics or manifest["metrics"])
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    together: dict[str, list[dict]] = {}
    for metric in metrics:
        res = analyze_sweep(root, metric, at=at, policy=policy, reference=reference)
        for a in ANALYSES:
            if a.figure is None or a.name not in res.results:
                continue
            result = res.results[a.name]
            if a.across_metrics:
                together.setdefault(a.name, []).append({"metric": metric, **result})
            elif a.shown(result):
                paths.append(save(globals()[a.figure](result, metric, at), out / f"{a.file}_{metric}.png"))
    for name, rows in together.items():
        a = ANALYSES.get(name)
        if any(a.shown(r) for r in rows):
            paths.append(save(globals()[a.figure](pd.DataFrame(rows), at), out / f"{a.file}.png"))
    return paths
