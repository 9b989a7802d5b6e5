"""Scenarios compared: a metric over time per scenario with a band, and final values with intervals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from experiments.plots.base import Figure, metric_label, quarter_axis, subplots, value_axis

__all__ = ["scenario_comparison", "scenario_intervals"]


def _interval(values: np.ndarray, band: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and band over replications (rows): 95% t-interval of the mean, or min–max."""
    from scipy import stats

    mean = values.mean(axis=0)
    n = values.shape[0]
    if band == "range" or n < 2:
        return mean, values.min(axis=0), values.max(axis=0)
    half = stats.t.ppf(0.975, n - 1) * values.std(axis=0, ddof=1) / np.sqrt(n)
    return mean, mean - half, mean + half


def _name(scenario: str) -> str:
    """A scenario as shown: its file's stem when it is a path."""
    return Path(scenario).stem if "/" in scenario or scenario.endswith(".toml") else scenario


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
    fig, ax = subplots(figsize=(9, 4.8))
    x = q = None
    n_reps = set()
    shown = []
    for k, (name, runs) in enumerate(frames.items()):
        values = factor * np.vstack([r[metric].to_numpy(dtype=float) for r in runs])
        x, q = runs[0]["step"].to_numpy(), runs[0]["quarter"].to_numpy()
        mean, lo, hi = _interval(values, band)
        ax.fill_between(x, lo, hi, color=f"C{k % 10}", alpha=0.2, lw=0)
        ax.plot(x, mean, color=f"C{k % 10}", lw=1.8, label=f"{_name(name)} (n={len(runs)})")
        shown += [lo, hi]
        n_reps.add(len(runs))
    if x is not None:
        quarter_axis(ax, x, q)
    value_axis(ax, np.concatenate(shown) if shown else [])
    ax.set_ylabel(label)
    ax.set_title(f"{label.split(' (')[0]} by scenario: mean and {_BANDS[band]}")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, title="scenario (replications)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def scenario_intervals(summary: pd.DataFrame, metrics: list[str] | None = None, ncols: int = 3) -> Figure:
    """One panel per metric: per scenario, the mean over replications (dot) and its 95% interval.

    Dots and whiskers rather than bars: many metrics are indices far from 0
    (the unit-cost index), where bars from zero would hide the differences;
    such an axis keeps its range, with the break marked (``//``) and said in
    the panel title; other axes start at 0.

    ``summary`` has columns scenario, metric, mean, ci_low, ci_high (e.g.
    :func:`experiments.compare.compare_final`).
    """
    metrics = list(metrics or dict.fromkeys(summary["metric"]))
    scenarios = list(dict.fromkeys(summary["scenario"]))
    ncols = max(1, min(ncols, len(metrics)))
    nrows = -(-len(metrics) // ncols)
    fig, axes = subplots(nrows, ncols, figsize=(4.4 * ncols, 3.4 * nrows + 0.8), squeeze=False)
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
        ax.set_xticks(x, [_name(s) for s in scenarios], rotation=30, ha="right", fontsize=8)
        ax.set_xlabel("scenario")
        broken = value_axis(ax, np.concatenate([mean - err[0], mean + err[1]]), allow_break=True)
        ax.set_ylabel(label, fontsize=8)
        ax.set_title(label.split(" (")[0] + (" (axis not from 0)" if broken else ""), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.set_visible(False)
    from matplotlib.patches import Patch

    fig.legend(handles=[Patch(color=f"C{k % 10}", label=_name(s)) for k, s in enumerate(scenarios)],
               loc="lower center", ncol=min(len(scenarios), 5), title="scenario (dot: mean; whiskers: 95% interval)")
    fig.suptitle("Scenarios compared (value per run, over replications)")
    fig.tight_layout(rect=(0, 0.1 + 0.04 / nrows, 1, 0.96))
    return fig
