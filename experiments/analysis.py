"""Sensitivity indices and summaries of a sweep.

Each run is reduced to one number per metric (``at="final"``: the value in
the last quarter; ``at="mean"``: the mean over the simulated quarters, steps
1…Q, leaving out the initial state).  Then:

* **Sobol** designs: first-order and total indices with bootstrap confidence
  intervals from ``SALib.analyze.sobol`` on the mean over replications of each
  design point (Saltelli 2002; Jansen 1999 for the total index).
* **Morris** designs: μ, μ*, σ and the confidence interval of μ* from
  ``SALib.analyze.morris`` (Campolongo, Cariboni & Saltelli 2007).
* **Main effects** for every design: mean, standard deviation and 95%
  interval of the metric at each level of each parameter (grid values, or
  quantile bins for continuous designs), the share of variance the main effect
  explains (η², the first-order index of a full factorial) and Spearman's ρ.
* **Seed noise**: because the model is stochastic, a one-way ANOVA with the
  design points as groups splits the runs' variance into the part between
  replications of the same point (seed noise) and the part between points
  (parameters); the variance-component estimate (Searle, Casella & McCulloch
  1992, ch. 3) says what share of a single run's variance is noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from experiments.runner import UserError
from experiments.store import load_results, read_manifest

__all__ = [
    "AT",
    "METHODS",
    "run_values",
    "point_means",
    "seed_noise",
    "main_effects",
    "main_effect_summary",
    "sobol_indices",
    "morris_indices",
    "SweepAnalysis",
    "analyze_sweep",
]

AT = ("final", "mean")
METHODS = ("sobol", "morris", "main")
ID_COLUMNS = ("run_id", "point", "replication", "seed")


def run_values(results: pd.DataFrame, metric: str, at: str = "final",
               parameters: list[str] | None = None) -> pd.DataFrame:
    """One row per run: identifiers, parameters and ``value`` (the metric reduced by ``at``)."""
    if at not in AT:
        raise UserError(f"--at {at!r}: expected one of {', '.join(AT)}")
    if metric not in results.columns:
        raise UserError(f"--metric {metric!r}: not stored in this sweep")
    params = list(parameters) if parameters is not None else [
        c for c in results.columns if c not in (*ID_COLUMNS, "step", "quarter") and "." in c]
    keys = [c for c in (*ID_COLUMNS, *params) if c in results.columns]
    groups = results.groupby("run_id", sort=False)
    if at == "final":
        idx = groups["step"].idxmax()
        out = results.loc[idx, keys + [metric]]
    else:
        body = results[results["step"] >= 1]
        if body.empty:
            body = results
        first = body.groupby("run_id", sort=False)[keys].first()
        out = first.drop(columns="run_id", errors="ignore").reset_index()
        out[metric] = body.groupby("run_id", sort=False)[metric].mean().to_numpy()
    out = out.rename(columns={metric: "value"}).reset_index(drop=True)
    return out.sort_values(["point", "replication"], kind="stable").reset_index(drop=True)


def point_means(values: pd.DataFrame, parameters: list[str]) -> pd.DataFrame:
    """Mean, standard deviation and count of ``value`` per design point."""
    g = values.groupby("point", sort=True)
    out = g[parameters].first()
    out["mean"] = g["value"].mean()
    out["sd"] = g["value"].std(ddof=1)
    out["n"] = g["value"].size()
    return out.reset_index()


def seed_noise(values: pd.DataFrame) -> dict[str, Any]:
    """Split the runs' variance into seed noise (within points) and parameters (between points).

    Returns sums of squares and their shares, the one-way ANOVA F test, and
    the variance components σ²_seed = MS_within and σ²_param = (MS_between −
    MS_within)/n₀ (floored at 0; n₀ the effective replications per point),
    with ``share_seed`` = σ²_seed / (σ²_seed + σ²_param): the share of one
    run's variance that is noise.  Needs ≥ 2 replications of some point.
    """
    y = values["value"].to_numpy(dtype=float)
    grp = values["point"].to_numpy()
    out: dict[str, Any] = {"runs": int(len(y)), "points": int(len(np.unique(grp)))}
    nan = float("nan")
    if len(y) == 0 or np.isnan(y).any():
        return out | {"note": "the metric is missing or NaN in some runs", "share_seed": nan}
    sizes = pd.Series(y).groupby(grp).size().to_numpy()
    means = pd.Series(y).groupby(grp).transform("mean").to_numpy()
    grand = y.mean()
    ss_total = float(((y - grand) ** 2).sum())
    ss_within = float(((y - means) ** 2).sum())
    ss_between = ss_total - ss_within
    k, n = out["points"], out["runs"]
    df_b, df_w = k - 1, n - k
    out |= {"ss_total": ss_total, "ss_between": ss_between, "ss_within": ss_within,
            "df_between": df_b, "df_within": df_w, "variance_total": ss_total / max(n - 1, 1)}
    if df_w <= 0:
        return out | {"note": "one run per point: seed noise cannot be told apart from parameters "
                              "(use replications ≥ 2)", "share_seed": nan, "share_ss_within": nan}
    if ss_total <= 0.0:
        return out | {"note": "the metric is constant over all runs", "share_seed": nan,
                      "share_ss_within": nan, "var_seed": 0.0, "var_param": 0.0}
    ms_w = ss_within / df_w
    out["share_ss_within"] = ss_within / ss_total
    out["share_ss_between"] = ss_between / ss_total
    out["var_seed"] = ms_w
    if df_b <= 0:
        return out | {"var_param": nan, "share_seed": 1.0 if ms_w > 0 else nan,
                      "note": "one design point: all variance is seed noise"}
    ms_b = ss_between / df_b
    n0 = (n - float((sizes ** 2).sum()) / n) / df_b
    var_param = max(0.0, (ms_b - ms_w) / n0)
    out["var_param"] = var_param
    out["share_seed"] = ms_w / (ms_w + var_param) if ms_w + var_param > 0 else nan
    if ms_w > 0:
        out["F"] = ms_b / ms_w
        out["p_value"] = float(stats.f.sf(out["F"], df_b, df_w))
    else:
        out["F"], out["p_value"] = float("inf"), 0.0
    out["note"] = ""
    return out


def _levels(x: pd.Series, bins: int) -> tuple[pd.Series, bool]:
    """Levels of a parameter: its values if few, else quantile bins (labelled by median)."""
    if x.nunique() <= bins or not np.issubdtype(x.dtype, np.number):
        return x, False
    cut = pd.qcut(x.astype(float), q=bins, duplicates="drop")
    centre = x.groupby(cut, observed=True).transform("median")
    return centre, True


def main_effects(values: pd.DataFrame, parameters: list[str], bins: int = 5) -> pd.DataFrame:
    """Per parameter and level: mean, sd, n and the 95% interval of the mean of ``value``.

    Levels are the grid values, or for continuous designs ``bins`` quantile
    bins labelled by their median value (column ``binned``).
    """
    rows = []
    for p in parameters:
        level, binned = _levels(values[p], bins)
        g = values.groupby(level, sort=True)["value"]
        stat = pd.DataFrame({"mean": g.mean(), "sd": g.std(ddof=1), "n": g.size()})
        half = stats.t.ppf(0.975, np.maximum(stat["n"] - 1, 1)) * stat["sd"].fillna(0) / np.sqrt(stat["n"])
        for lev, r, h in zip(stat.index, stat.itertuples(), half):
            rows.append({"parameter": p, "level": lev, "mean": r.mean, "sd": r.sd, "n": int(r.n),
                         "ci_low": r.mean - h, "ci_high": r.mean + h, "binned": binned})
    return pd.DataFrame(rows, columns=["parameter", "level", "mean", "sd", "n", "ci_low", "ci_high", "binned"])


def main_effect_summary(values: pd.DataFrame, parameters: list[str], bins: int = 5) -> pd.DataFrame:
    """Per parameter: η² (variance share of its main effect), Spearman ρ and the range of level means."""
    y = values["value"].astype(float)
    ss_total = float(((y - y.mean()) ** 2).sum())
    rows = []
    for p in parameters:
        level, _ = _levels(values[p], bins)
        means = y.groupby(level).transform("mean")
        ss_main = float(((means - y.mean()) ** 2).sum())
        numeric = np.issubdtype(values[p].dtype, np.number) and values[p].nunique() > 1 and y.nunique() > 1
        rho, pval = stats.spearmanr(values[p].astype(float), y) if numeric else (np.nan, np.nan)
        lm = y.groupby(level).mean()
        rows.append({"parameter": p, "eta2": ss_main / ss_total if ss_total > 0 else np.nan,
                     "spearman_rho": float(rho), "spearman_p": float(pval),
                     "effect_range": float(lm.max() - lm.min())})
    return pd.DataFrame(rows)


def _point_vector(design: dict[str, Any], pm: pd.DataFrame, metric: str) -> np.ndarray:
    n_points = len(design["matrix"])
    y = pm.set_index("point")["mean"].reindex(range(n_points)).to_numpy(dtype=float)
    missing = int(np.isnan(y).sum())
    if missing:
        raise UserError(f"{metric}: {missing} of {n_points} design points have no successful run (or a NaN "
                        "value); the indices need every point (resume the sweep, or check failed/)")
    return y


def sobol_indices(design: dict[str, Any], pm: pd.DataFrame, metric: str = "value", *,
                  seed: int = 0, conf_level: float = 0.95, num_resamples: int = 1000) -> pd.DataFrame:
    """Sobol S1 and ST with confidence half-widths (SALib) from the point means."""
    from SALib.analyze import sobol

    y = _point_vector(design, pm, metric)
    problem = design["problem"]
    res = sobol.analyze(problem, y, calc_second_order=bool(design.get("second_order")),
                        num_resamples=num_resamples, conf_level=conf_level, seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "S1": res["S1"], "S1_conf": res["S1_conf"],
                         "ST": res["ST"], "ST_conf": res["ST_conf"]})


def morris_indices(design: dict[str, Any], pm: pd.DataFrame, metric: str = "value", *,
                   seed: int = 0, conf_level: float = 0.95, num_resamples: int = 1000) -> pd.DataFrame:
    """Morris μ, μ*, σ and the confidence half-width of μ* (SALib) from the point means."""
    from SALib.analyze import morris

    y = _point_vector(design, pm, metric)
    x = np.asarray(design["matrix"], dtype=float)
    problem = design["problem"]
    res = morris.analyze(problem, x, y, num_resamples=num_resamples, conf_level=conf_level,
                         num_levels=int(design.get("levels", 4)), seed=seed)
    return pd.DataFrame({"parameter": problem["names"], "mu": res["mu"], "mu_star": res["mu_star"],
                         "sigma": res["sigma"], "mu_star_conf": res["mu_star_conf"]})


@dataclass
class SweepAnalysis:
    """The analysis of one metric of one sweep (tables; :meth:`text` prints them)."""

    metric: str
    at: str
    method: str
    design: str
    parameters: list[str]
    values: pd.DataFrame
    points: pd.DataFrame
    effects: pd.DataFrame
    effect_summary: pd.DataFrame
    noise: dict[str, Any]
    indices: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    def text(self) -> str:
        fmt = lambda v: f"{v:.4g}"  # noqa: E731
        lines = [f"{self.metric} ({self.at}), {self.design} design: {self.noise['runs']} runs at "
                 f"{self.noise['points']} points"]
        if self.method == "sobol" and self.indices is not None:
            lines += ["", "Sobol indices (SALib; ± half-width of the 95% interval):"]
            for r in self.indices.itertuples():
                lines.append(f"  {r.parameter:<44} S1 {r.S1:7.3f} ± {r.S1_conf:.3f}   ST {r.ST:7.3f} ± {r.ST_conf:.3f}")
        elif self.method == "morris" and self.indices is not None:
            lines += ["", "Morris elementary effects (SALib; μ* ± half-width of the 95% interval):"]
            for r in self.indices.itertuples():
                lines.append(f"  {r.parameter:<44} μ* {fmt(r.mu_star):>10} ± {fmt(r.mu_star_conf):<10} "
                             f"μ {fmt(r.mu):>10}  σ {fmt(r.sigma):>10}")
        lines += ["", "Main effects (η² = variance share of the main effect; Spearman ρ):"]
        for r in self.effect_summary.itertuples():
            lines.append(f"  {r.parameter:<44} η² {r.eta2:6.3f}   ρ {r.spearman_rho:6.3f}   "
                         f"range of level means {fmt(r.effect_range)}")
        for p in self.parameters:
            sub = self.effects[self.effects["parameter"] == p]
            cells = "  ".join(f"{fmt(lv)}→{fmt(m)}" for lv, m in zip(sub["level"], sub["mean"]))
            lines.append(f"    {p}: {cells}")
        nz = self.noise
        lines += ["", "Seed noise (one-way ANOVA over design points):"]
        if np.isfinite(nz.get("share_seed", np.nan)):
            lines.append(f"  {100 * nz['share_seed']:.1f}% of one run's variance is seed noise "
                         f"(σ²_seed {fmt(nz['var_seed'])}, σ²_param {fmt(nz['var_param'])}); "
                         f"{100 * nz['share_ss_within']:.1f}% of the sum of squares lies within points; "
                         f"F = {fmt(nz.get('F', np.nan))}, p = {fmt(nz.get('p_value', np.nan))}")
        else:
            lines.append(f"  {nz.get('note', 'not available')}")
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def analyze_sweep(root: str | Path, metric: str, method: str | None = None, at: str = "final",
                  *, seed: int = 0, bins: int = 5) -> SweepAnalysis:
    """Analyse one metric of a sweep directory (the ``kyoso analyze`` command)."""
    manifest = read_manifest(root)
    design = manifest["design"]
    kind = design["kind"]
    if metric not in manifest["metrics"]:
        raise UserError(f"--metric {metric!r}: not stored in this sweep (stored: {', '.join(manifest['metrics'])})")
    if at not in AT:
        raise UserError(f"--at {at!r}: expected one of {', '.join(AT)}")
    default = {"sobol": "sobol", "morris": "morris"}.get(kind, "main")
    method = method or default
    if method not in METHODS:
        raise UserError(f"--method {method!r}: expected one of {', '.join(METHODS)}")
    if method in ("sobol", "morris") and kind != method:
        raise UserError(f"--method {method}: needs a {method} design; this sweep used the {kind} design "
                        f"(use --method main)")
    params = list(design["names"])
    results = load_results(root, columns=[*ID_COLUMNS, *params, "step", metric])
    values = run_values(results, metric, at, params)
    pm = point_means(values, params)
    notes = []
    indices = None
    if method == "sobol":
        indices = sobol_indices(design, pm, metric, seed=seed)
        if manifest["replications"] > 1:
            notes.append(f"indices use the mean of {manifest['replications']} replications per point; "
                         "the seed noise left in the means lowers S1 and raises ST")
    elif method == "morris":
        indices = morris_indices(design, pm, metric, seed=seed)
    status_missing = manifest["n_runs"] - values["run_id"].nunique()
    if status_missing:
        notes.append(f"{status_missing} planned runs are missing (failed or not run yet)")
    return SweepAnalysis(metric=metric, at=at, method=method, design=kind, parameters=params, values=values,
                         points=pm, effects=main_effects(values, params, bins),
                         effect_summary=main_effect_summary(values, params, bins),
                         noise=seed_noise(values), indices=indices, notes=notes)
