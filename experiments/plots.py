"""Figures for runs and sweeps: every function takes tables and returns a matplotlib Figure.

``save_run_figures`` writes the ``make demo`` set as PNG; ``save_sweep_figures``
writes the ``kyoso plot`` set (main effects, a heatmap for two-parameter
grids, Sobol bars with intervals, Morris μ*–σ, seed noise) for a sweep.
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

__all__ = [
    "capacity_share_by_country",
    "region_map",
    "save_run_figures",
    "main_effects_figure",
    "grid_heatmap",
    "sobol_bars",
    "morris_scatter",
    "seed_noise_figure",
    "save_sweep_figures",
]

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
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.6 * ncol, 3.6 * nrow), squeeze=False, sharey=True)
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
    fig, ax = plt.subplots(figsize=(1.1 * len(table.columns) + 3.2, 0.7 * len(table.index) + 2.4))
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
    fig, ax = plt.subplots(figsize=(max(5.0, 1.3 * n + 2.5), 4.2))
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
    fig, ax = plt.subplots(figsize=(6.4, 4.6))
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
    fig, ax = plt.subplots(figsize=(max(5.0, 1.0 * len(noise) + 3), 4.0))
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
