"""Figures of a sweep: main effects, a heatmap of a two-parameter grid, Sobol bars, Morris μ*–σ, seed noise.

Which figures ``kyoso plot`` draws, and from which result, is declared by the
registered analyses (:data:`experiments.analysis.ANALYSES`, field
``figure``); every figure named there is a function of this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.analysis import ANALYSES, analyze_sweep
from experiments.plots.base import Figure, save, short_name, subplots
from experiments.store import read_manifest

__all__ = ["main_effects_figure", "grid_heatmap", "point_heatmap", "sobol_bars", "morris_scatter",
           "seed_noise_figure", "save_sweep_figures"]


def main_effects_figure(effects: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """One panel per parameter: mean of ``metric`` per level with its 95% interval.

    ``effects`` is :func:`experiments.analysis.main_effects` (parameter,
    level, mean, ci_low, ci_high, binned).
    """
    params = list(dict.fromkeys(effects["parameter"]))
    ncol = min(3, max(1, len(params)))
    nrow = -(-len(params) // ncol)
    fig, axes = subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False, sharey=True)
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
        ax.set_xlabel(short_name(p) + (" (quantile-bin median)" if binned else ""))
        ax.set_ylabel(f"{metric} ({at})")
        ax.set_title(short_name(p), fontsize=10)
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
    fig, ax = subplots(figsize=(1.1 * len(table.columns) + 3.2, 0.7 * len(table.index) + 2.4))
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
    fig, ax = subplots(figsize=(max(5.0, 1.3 * n + 2.5), 4.2))
    x = np.arange(n)
    w = 0.38
    ax.bar(x - w / 2, indices["S1"], w, yerr=indices["S1_conf"], capsize=4, label="first order S1", color="C0")
    ax.bar(x + w / 2, indices["ST"], w, yerr=indices["ST_conf"], capsize=4, label="total ST", color="C1")
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, [short_name(p) for p in indices["parameter"]], rotation=20, ha="right")
    ax.set_xlabel("parameter")
    ax.set_ylabel("Sobol index (share of variance)")
    ax.set_title(f"Sobol indices of {metric} ({at}); bars: 95% interval")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def morris_scatter(indices: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """Morris μ* (with its interval) against σ, one marker per parameter."""
    fig, ax = subplots(figsize=(6.4, 4.6))
    for k, r in enumerate(indices.itertuples()):
        ax.errorbar(r.mu_star, r.sigma, xerr=r.mu_star_conf, fmt="o", capsize=3, color=f"C{k % 10}",
                    label=short_name(r.parameter))
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
    fig, ax = subplots(figsize=(max(5.0, 1.0 * len(noise) + 3), 4.0))
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


def point_heatmap(points: pd.DataFrame, metric: str, at: str = "final") -> Figure:
    """:func:`grid_heatmap` of a two-parameter grid's point means (its parameters are the
    columns other than point, mean, sd and n, in order: x then y)."""
    x, y = [c for c in points.columns if c not in ("point", "mean", "sd", "n")]
    return grid_heatmap(points, x, y, metric, at)


def save_sweep_figures(root: Path, out: Path, metrics: list[str] | None = None, at: str = "final") -> list[Path]:
    """The ``kyoso plot`` figures of a sweep directory as PNG files in ``out``.

    Per metric, the figure of every analysis that ran and names one; then the
    figures that draw every metric's result together (seed noise).
    """
    manifest = read_manifest(root)
    metrics = list(metrics or manifest["metrics"])
    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    together: dict[str, list[dict]] = {}
    for metric in metrics:
        res = analyze_sweep(root, metric, at=at)
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
