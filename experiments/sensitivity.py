"""One value per run (:func:`reduce_runs`, :func:`outcomes`) and the estimates from those values.

The reducer turns a run's metrics table into one number per metric (final,
mean, max, min or a given quarter); sweeps, ``kyoso analyze``, ``kyoso
compare`` and notebooks share it.  The estimators: main effects, η², Sobol,
Morris, seed noise.

Plain functions of tables (pandas in, pandas or a dict out) that the
registered analyses of :mod:`experiments.analysis` call; SALib computes the
Sobol and Morris indices, scipy.stats the intervals and tests.  The
literature behind each is in :mod:`experiments.analysis`.
"""

from __future__ import annotations

import difflib
import re
from typing import Any

import numpy as np
import pandas as pd

from experiments.errors import UserError

__all__ = [
    "AT",
    "ID_COLUMNS",
    "OutcomeError",
    "parse_at",
    "at_phrase",
    "reduce_runs",
    "outcomes",
    "t_interval",
    "human",
    "human_interval",
    "metric_display",
    "run_values",
    "point_means",
    "seed_noise",
    "main_effects",
    "main_effect_summary",
    "inert_parameters",
    "paired_policy_differences",
    "sobol_indices",
    "morris_indices",
]

AT = ("final", "mean", "max", "min")
ID_COLUMNS = ("run_id", "point", "replication", "seed")
_QUARTER = re.compile(r"^\d{4}Q[1-4]$")


class OutcomeError(UserError, ValueError):
    """A bad ``at`` or metric name for :func:`outcomes` (a user error, also a ValueError)."""


def parse_at(at: str | int) -> str | int:
    """``at`` checked: one of :data:`AT`, a step number (int) or a quarter label such as ``'2030Q1'``."""
    if isinstance(at, (int, np.integer)) and not isinstance(at, bool):
        if at < 0:
            raise OutcomeError(f"--at {at}: a step number is ≥ 0")
        return int(at)
    if isinstance(at, str):
        text = at.strip()
        if text in AT or _QUARTER.match(text):
            return text
        if text.isdigit():
            return int(text)
    raise OutcomeError(f"--at {at!r}: expected one of {', '.join(AT)}, a step number or a quarter such as 2030Q1")


def at_phrase(at: str | int) -> str:
    """How a reduction reads in a heading: 'final quarter', 'mean over the quarters', 'step 8', '2030Q1'."""
    at = parse_at(at)
    return {"final": "final quarter", "mean": "mean over the quarters", "max": "maximum over the quarters",
            "min": "minimum over the quarters"}.get(at, f"step {at}" if isinstance(at, int) else at)


def reduce_runs(table: pd.DataFrame, metrics: list[str], at: str | int = "final",
                by: str | None = None) -> pd.DataFrame:
    """Each run (group of ``by``; the whole table if None) reduced to one row of ``metrics``.

    ``at``: ``"final"`` the last step's value; ``"mean"``, ``"max"``, ``"min"``
    over the simulated quarters 1…Q (the initial state, step 0, left out
    unless it is all there is); a step number or a quarter label (``'2030Q1'``):
    the value in that quarter.  The one reducer behind :func:`outcomes`,
    ``kyoso analyze --at``, sweeps and scenario comparisons.
    """
    at = parse_at(at)
    missing = [m for m in metrics if m not in table.columns]
    if missing:
        known = [c for c in table.columns if c not in (*ID_COLUMNS, "step", "quarter")]
        hints = {m: difflib.get_close_matches(m, known, n=3) for m in missing}
        raise OutcomeError("; ".join(f"metric {m!r} not in the table"
                                     + (f" (did you mean {', '.join(h)}?)" if h else "") for m, h in hints.items()))
    key = by or "_run"
    df = (table if by else table.assign(_run=0)).reset_index(drop=True)
    if at == "final":
        out = df.loc[df.groupby(key, sort=False)["step"].idxmax(), [key, *metrics]]
    elif at in AT:
        body = df[df["step"] >= 1]
        if body.empty:
            body = df
        out = body.groupby(key, sort=False)[metrics].agg(at).reset_index()
    else:
        column = "step" if isinstance(at, int) else "quarter"
        out = df.loc[df[column] == at, [key, *metrics]].drop_duplicates(key)
        if len(out) < df[key].nunique():
            span = f"steps {int(df['step'].min())}–{int(df['step'].max())}"
            if "quarter" in df:
                span += f", {df['quarter'].iloc[0]}–{df['quarter'].iloc[-1]}"
            raise OutcomeError(f"--at {at}: not a quarter of every run ({span})")
    out = out.reset_index(drop=True)
    return out if by else out.drop(columns=key)


def outcomes(model_or_tables: Any, names: str | list[str], at: str | int = "final") -> dict[str, float]:
    """Metrics of one run reduced to numbers: ``{name: value}`` (see :func:`reduce_runs` for ``at``).

    ``model_or_tables``: a ``ChipModel`` (its ``metrics()``), the dict of
    ``model.tables()`` or the metrics table itself::

        outcomes(model, ["share_US", "subsidy_paid_cumulative"], at="final")
        outcomes(tables, "supply_shortfall", at="max")
        outcomes(model, "share_CN", at="2030Q1")
    """
    if isinstance(model_or_tables, pd.DataFrame):
        table = model_or_tables
    elif isinstance(model_or_tables, dict):
        table = model_or_tables["metrics"]
    else:
        table = model_or_tables.metrics()
    names = [names] if isinstance(names, str) else list(names)
    row = reduce_runs(table, names, at).iloc[0]
    return {n: float(row[n]) for n in names}


def t_interval(values: Any, level: float = 0.95) -> dict[str, float]:
    """Mean, sd, n and the ``level`` t-interval of the mean of the finite ``values`` (NaN when n < 2)."""
    from scipy import stats

    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    n = len(v)
    mean = float(v.mean()) if n else float("nan")
    sd = float(v.std(ddof=1)) if n > 1 else float("nan")
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
    return {"mean": mean, "sd": sd, "n": n, "ci_low": mean - half, "ci_high": mean + half}


def _decimals(x: float, digits: int = 3) -> int:
    if not np.isfinite(x) or x == 0:
        return 0
    return max(0, digits - 1 - int(np.floor(np.log10(abs(x)))))


def human(x: float, decimals: int | None = None, digits: int = 3) -> str:
    """A number for people: ``digits`` significant figures (or ``decimals``), thousands separated."""
    if not np.isfinite(x):
        return "n/a" if np.isnan(x) else ("∞" if x > 0 else "−∞")
    d = _decimals(x, digits) if decimals is None else decimals
    text = f"{x:,.{d}f}"
    if float(text.replace(",", "")) == 0:        # no '-0.00'; a bare 0 when the precision was not given
        return "0" if decimals is None else text.lstrip("-")
    return text


def human_interval(mean: float, low: float, high: float, unit: str = "") -> str:
    """``'12.3 [10.1, 14.5] %'``: the mean and its interval, three significant figures of the largest."""
    finite = [abs(v) for v in (mean, low, high) if np.isfinite(v)]
    d = min(_decimals(max(finite)) if finite else 0, 6)
    body = human(mean, d) + (f" [{human(low, d)}, {human(high, d)}]" if np.isfinite(high - low) else "")
    return f"{body} {unit}".rstrip()


def metric_display(name: str) -> tuple[str, str, float]:
    """Label (no unit), display unit and the factor from stored value to that unit, from the metric registry."""
    from model.metrics import describe, label

    text, scale = label(name, with_unit=False)
    try:
        unit = describe(name)[0].display_unit
    except KeyError:
        unit = ""
    return text, unit, scale

def run_values(results: pd.DataFrame, metric: str, at: str | int = "final",
               parameters: list[str] | None = None) -> pd.DataFrame:
    """One row per run: identifiers, parameters and ``value`` (the metric reduced by ``at``)."""
    if metric not in results.columns:
        raise UserError(f"--metric {metric!r}: not stored in this sweep")
    params = list(parameters) if parameters is not None else [
        c for c in results.columns if c not in (*ID_COLUMNS, "step", "quarter") and "." in c]
    keys = [c for c in (*ID_COLUMNS, "policy", *params) if c in results.columns]
    ids = results.groupby("run_id", sort=False)[[k for k in keys if k != "run_id"]].first().reset_index()
    reduced = reduce_runs(results, [metric], at, by="run_id")
    out = ids.merge(reduced, on="run_id", how="inner", sort=False)
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
    from scipy import stats

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
    from scipy import stats

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
    from scipy import stats

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


def _salib_seed(seed: int) -> int:
    """SALib treats a seed of 0 as no seed at all, so seed s is passed on as s + 1."""
    return int(seed) + 1


def sobol_indices(design: dict[str, Any], pm: pd.DataFrame, metric: str = "value", *,
                  seed: int = 0, conf_level: float = 0.95, num_resamples: int = 1000) -> pd.DataFrame:
    """Sobol S1 and ST with confidence half-widths (SALib) from the point means."""
    from SALib.analyze import sobol

    y = _point_vector(design, pm, metric)
    problem = design["problem"]
    res = sobol.analyze(problem, y, calc_second_order=bool(design.get("second_order")),
                        num_resamples=num_resamples, conf_level=conf_level, seed=_salib_seed(seed))
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
                         num_levels=int(design.get("levels", 4)), seed=_salib_seed(seed))
    return pd.DataFrame({"parameter": problem["names"], "mu": res["mu"], "mu_star": res["mu_star"],
                         "sigma": res["sigma"], "mu_star_conf": res["mu_star_conf"]})


# ------------------------------------------------------------ inert parameters
def _eta2_codes(y: np.ndarray, codes: np.ndarray, ss_total: float) -> float:
    """η² of ``y`` grouped by integer ``codes``: between-group sum of squares over ``ss_total``."""
    n = np.bincount(codes)
    sums = np.bincount(codes, weights=y)
    keep = n > 0
    return float(((sums[keep] ** 2 / n[keep]).sum() - y.sum() ** 2 / len(y)) / ss_total)


def inert_parameters(values: pd.DataFrame, parameters: list[str], *, design: str = "lhs",
                     gated: dict[str, str] | None = None, bins: int = 5, alpha: float = 0.05,
                     permutations: int = 999, seed: int = 0) -> pd.DataFrame:
    """Which parameters cannot act (gated to nothing) or show no main effect beyond chance.

    ``values``: one row per run (:func:`run_values`, one policy only), with
    ``point`` and the parameter columns; levels as in
    :func:`main_effect_summary` (values, or ``bins`` quantile bins), whose η²
    is tested:

    * **grid** designs with replications: the one-way F test of the level
      means against the seed noise alone (the pure-error mean square between
      replications of the same point, :func:`seed_noise`): in a full
      factorial every level of one parameter sees every combination of the
      others, so without an effect its level means differ by seed noise only
      (the main-effect test of a factorial ANOVA with the pure-error term).
    * other designs (lhs, sobol, morris; a grid without replications): a
      permutation test (``permutations`` draws, seeded): the parameter's
      values are shuffled among the design points (the runs of a point move
      together, so replications are not counted as independent evidence) and
      η² recomputed; p = (1 + #{η²_perm ≥ η²}) / (1 + permutations).  The
      null distribution holds the seed noise *and* the chance alignment with
      the other sampled parameters, which is what lifts an inert
      parameter's η² above 0 (the issue's 0.078).

    A parameter is flagged ``inert`` when it is in ``gated`` (parameter →
    reason) or p ≥ ``alpha``; with no more design points than levels the
    permutation test cannot tell anything (p is NaN, not flagged).  Returns one row per parameter: parameter,
    eta2, eta2_null (η² expected without an effect: the permutation mean,
    or (L − 1)·σ²_seed / SS_total for the F test), p_value, test, gated
    (reason or ''), inert, why ('' when not flagged).
    """
    from scipy import stats

    gated = dict(gated or {})
    df = values[np.isfinite(values["value"].to_numpy(dtype=float))].reset_index(drop=True)
    y = df["value"].to_numpy(dtype=float)
    ss_total = float(((y - y.mean()) ** 2).sum()) if len(y) else 0.0
    nz = seed_noise(df) if len(y) else {}
    replicated = int(nz.get("df_within", 0) or 0) > 0 and float(nz.get("var_seed", 0.0) or 0.0) > 0
    points, run_point = np.unique(df["point"].to_numpy(), return_inverse=True)
    rng = np.random.default_rng(seed)
    perms = [rng.permutation(len(points)) for _ in range(permutations)] if len(points) > 1 else []
    rows = []
    for p in parameters:
        row: dict[str, Any] = {"parameter": p, "eta2": np.nan, "eta2_null": np.nan, "p_value": np.nan,
                               "test": "", "gated": gated.get(p, ""), "inert": False, "why": ""}
        level, _ = _levels(df[p], bins) if len(df) else (df[p], False)
        codes = pd.factorize(level, sort=True)[0]
        n_levels = int(codes.max()) + 1 if len(codes) else 0
        if ss_total > 0 and n_levels > 1:
            eta2 = _eta2_codes(y, codes, ss_total)
            row["eta2"] = eta2
            if design == "grid" and replicated:
                df_b, df_w = n_levels - 1, int(nz["df_within"])
                f = (eta2 * ss_total / df_b) / float(nz["var_seed"])
                row |= {"p_value": float(stats.f.sf(f, df_b, df_w)), "eta2_null": df_b * float(nz["var_seed"]) / ss_total,
                        "test": "F test of level means against seed noise"}
            elif perms:
                by_point = np.zeros(len(points), dtype=np.int64)
                by_point[run_point] = codes
                if n_levels >= len(points):       # one point per level: every shuffle gives the same η²
                    row["test"] = "no test: one design point per level"
                    rows.append(row | ({"inert": True, "why": f"gated to nothing: {row['gated']}"}
                                       if row["gated"] else {}))
                    continue
                null = np.array([_eta2_codes(y, by_point[perm][run_point], ss_total) for perm in perms])
                row |= {"p_value": float((1 + (null >= eta2 - 1e-12).sum()) / (1 + len(null))),
                        "eta2_null": float(null.mean()), "test": f"permutation test over design points ({len(null)} draws)"}
        elif ss_total <= 0 and len(y):
            row |= {"eta2": np.nan, "p_value": 1.0, "test": "the metric is constant"}
        if row["gated"]:
            row |= {"inert": True, "why": f"gated to nothing: {row['gated']}"}
        elif np.isfinite(row["p_value"]) and row["p_value"] >= alpha:
            eta = f"η² {row['eta2']:.3f}, by chance ≈ {row['eta2_null']:.3f}; " if np.isfinite(row["eta2"]) else ""
            row |= {"inert": True, "why": f"effect not distinguishable from chance ({eta}{row['test'].split(' (')[0]} "
                                          f"p = {row['p_value']:.2g})"}
        rows.append(row)
    return pd.DataFrame(rows, columns=["parameter", "eta2", "eta2_null", "p_value", "test", "gated", "inert", "why"])


# ------------------------------------------------------------ policies
def paired_policy_differences(values: pd.DataFrame, reference: str, parameters: list[str] | None = None,
                              level: float = 0.95) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Every policy against ``reference`` on common (point, replication) pairs.

    ``values``: one row per run with ``policy``, ``point``, ``replication``
    and ``value`` (runs of a pair share their seed).  Returns three tables:

    * per policy: mean, sd, n and the ``level`` t-interval of the mean over its runs;
    * per policy ≠ reference: the mean paired difference (policy − reference)
      with its t-interval over pairs, the paired t test's p, the share of
      pairs where the policy is higher (ties count half), and ``within_noise``
      (the interval contains 0: not distinguishable from seed noise);
    * per policy ≠ reference and design point: the parameters, the mean
      difference over the point's replications with its t-interval (NaN with
      one replication) and ``verdict`` higher / lower / unclear.
    """
    from scipy import stats

    pol = values["policy"].astype(str)
    order = list(dict.fromkeys(pol))
    params = list(parameters or [])
    summary = []
    for name in order:
        ci = t_interval(values.loc[pol == name, "value"], level)
        summary.append({"policy": name, "reference": name == reference, **ci})
    ref = values[pol == reference].set_index(["point", "replication"])["value"]
    paired, by_point = [], []
    for name in order:
        if name == reference:
            continue
        other = values[pol == name].set_index(["point", "replication"])
        joined = other[["value"]].join(ref.rename("ref"), how="inner")
        d = (joined["value"] - joined["ref"]).to_numpy(dtype=float)
        d = d[np.isfinite(d)]
        ci = t_interval(d, level)
        p_value = float(stats.ttest_1samp(d, 0.0).pvalue) if len(d) > 1 and np.std(d) > 0 else (
            1.0 if len(d) > 1 else float("nan"))
        higher = float(((d > 0).sum() + 0.5 * (d == 0).sum()) / len(d)) if len(d) else float("nan")
        within = bool(not (ci["ci_low"] > 0 or ci["ci_high"] < 0)) if np.isfinite(ci["ci_low"]) else True
        paired.append({"policy": name, "reference": reference, "diff": ci["mean"], "sd": ci["sd"], "n_pairs": ci["n"],
                       "ci_low": ci["ci_low"], "ci_high": ci["ci_high"], "p_value": p_value,
                       "share_higher": higher, "within_noise": within})
        diffs = (joined["value"] - joined["ref"]).rename("diff").reset_index()
        first = other.reset_index().groupby("point")[params].first() if params else None
        for pt, g in diffs.groupby("point", sort=True):
            c = t_interval(g["diff"], level)
            verdict = ("higher" if c["ci_low"] > 0 else "lower" if c["ci_high"] < 0 else "unclear") \
                if np.isfinite(c["ci_low"]) else "unclear"
            row = {"policy": name, "point": int(pt)}
            if first is not None:
                row |= first.loc[pt].to_dict()
            by_point.append(row | {"diff": c["mean"], "ci_low": c["ci_low"], "ci_high": c["ci_high"], "n": c["n"],
                                   "verdict": verdict})
    cols = ["policy", "point", *params, "diff", "ci_low", "ci_high", "n", "verdict"]
    return (pd.DataFrame(summary),
            pd.DataFrame(paired, columns=["policy", "reference", "diff", "sd", "n_pairs", "ci_low", "ci_high",
                                          "p_value", "share_higher", "within_noise"]),
            pd.DataFrame(by_point, columns=cols))
