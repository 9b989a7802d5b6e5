"""Scenarios side by side: replications with common seeds, and their summaries with intervals.

A sweep varies parameters of one scenario; comparing *scenarios* (different
files) needs a plain loop of runs.  Each scenario gets the same replication
seeds (common random numbers), so differences between scenarios are not
differences in luck::

    from experiments.compare import replicate, compare_final
    frames = replicate(["status_quo", "taiwan_contingency"], replications=5, quarters=32, seed=1)
    compare_final(frames, ["supply_shortfall", "unit_cost_index"], at="mean")

:func:`compare_scenarios` (the ``kyoso compare`` command) runs scenarios on the
seeds 0…N−1 and adds the paired difference of each to the first::

    from experiments.compare import compare_scenarios
    cmp = compare_scenarios(["status_quo", "taiwan_contingency"], seeds=5, quarters=32)
    print(cmp.text()); cmp.write("out/compare")        # compare.csv, compare.tex

With ``posterior=`` (a ``draws.csv`` of ``kyoso estimate``, or its directory)
every scenario also runs over the first ``draws`` parameter draws, the same
draws and seeds for every scenario, and :class:`PosteriorComparison` splits the
variance of each outcome and of each paired difference into a parameter part
and a seed part (law of total variance, :func:`variance_decomposition`)::

    cmp = compare_scenarios(["status_quo", "jk_cocreation"], seeds=4, quarters=32,
                            posterior="out/estimate", draws=8)
    print(cmp.text())
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from experiments.errors import UserError
from experiments.runner import run_scenario
from experiments.sensitivity import at_phrase, human, human_interval, metric_display, parse_at, reduce_runs, t_interval
from model.metrics import catalog
from model.scenario import Scenario

__all__ = ["replication_seeds", "replicate", "run_seeds", "compare_final", "compare_scenarios", "Comparison",
           "DEFAULT_METRICS", "PosteriorComparison", "load_posterior", "variance_decomposition", "POSTERIOR_BACKENDS"]


def replication_seeds(seed: int, replications: int) -> list[int]:
    """Integer seeds for ``replications`` runs, spawned from ``SeedSequence(seed)``."""
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(c.generate_state(1)[0]) for c in children]


def replicate(scenarios: Iterable[str | Path | Scenario], replications: int = 5, quarters: int | None = None,
              seed: int = 0, overrides: dict[str, Any] | None = None) -> dict[str, list[pd.DataFrame]]:
    """Run every scenario ``replications`` times with the same seeds; the metrics tables by scenario name.

    ``quarters`` defaults to each scenario's horizon; ``overrides`` (dotted
    paths) apply to every run.
    """
    return run_seeds(scenarios, replication_seeds(seed, replications), quarters, overrides)


def run_seeds(scenarios: Iterable[str | Path | Scenario], seeds: list[int], quarters: int | None = None,
              overrides: dict[str, Any] | None = None) -> dict[str, list[pd.DataFrame]]:
    """Run every scenario once per seed (the same seeds for all); the metrics tables by scenario name."""
    frames: dict[str, list[pd.DataFrame]] = {}
    for sc in scenarios:
        runs = []
        for s in seeds:
            model = run_scenario(sc, seed=s, quarters=quarters, overrides=overrides)
            runs.append(model.metrics())
        frames[model.spec.meta.name if not isinstance(sc, str) else sc] = runs
    return frames


def compare_final(frames: dict[str, list[pd.DataFrame]], metrics: list[str], at: str | int = "final") -> pd.DataFrame:
    """One row per scenario × metric: mean over replications, sd, n and the 95% t-interval of the mean.

    Each run is reduced to one number by :func:`experiments.sensitivity.reduce_runs`:
    its last quarter (``at="final"``), its mean, maximum or minimum over the
    simulated quarters 1…Q (``"mean"``, ``"max"``, e.g. the worst shortfall,
    ``"min"``), or its value in one quarter (a step number or ``'2030Q1'``).
    """
    rows = []
    for name, runs in frames.items():
        values = _run_values(runs, metrics, at)
        for metric in metrics:
            rows.append({"scenario": name, "metric": metric, "at": str(at)} | t_interval(values[metric]))
    return pd.DataFrame(rows, columns=["scenario", "metric", "at", "mean", "sd", "n", "ci_low", "ci_high"])


def _run_values(runs: list[pd.DataFrame], metrics: list[str], at: str | int) -> pd.DataFrame:
    """One row per run (in order) of the metrics reduced by ``at``."""
    table = pd.concat([r.assign(_rep=i) for i, r in enumerate(runs)], ignore_index=True)
    return reduce_runs(table, metrics, at, by="_rep").set_index("_rep").sort_index()


#: What ``kyoso compare`` reports when no ``--metrics`` are given.
DEFAULT_METRICS = ("capacity_fab", "hhi_country", "clustering_index", "supply_shortfall", "unit_cost_index",
                   "subsidy_paid_cumulative")


@dataclass
class Comparison:
    """Scenarios on common seeds: per scenario × metric the mean over seeds with its 95% t-interval, and for
    every scenario after the first the paired difference to the first (same seed) with its 95% interval.

    ``table`` is in stored units; :meth:`text` prints display units from the metric registry.
    """

    scenarios: list[str]
    metrics: list[str]
    seeds: list[int]
    at: str | int
    quarters: int | None
    table: pd.DataFrame
    values: dict[str, pd.DataFrame]      # scenario → one row per seed, one column per metric (stored units)
    frames: dict[str, list[pd.DataFrame]]  # scenario → the runs' metrics tables, one per seed

    def reduce(self, metrics: Iterable[str], at: str | int = "final") -> "Comparison":
        """The same runs compared on other metrics or another reduction (no new runs)."""
        return _comparison(self.frames, list(metrics), at, self.seeds, self.quarters)

    def display_table(self) -> pd.DataFrame:
        """``table`` in display units (% for shares), with label and unit columns; the interval of a metric
        that cannot be negative (counts, capacities, shares) is cut at 0."""
        out = self.table.copy()
        shown = {m: metric_display(m) for m in self.metrics}
        out.insert(1, "label", out["metric"].map(lambda m: shown[m][0]))
        out.insert(2, "unit", out["metric"].map(lambda m: shown[m][1]))
        scale = out["metric"].map(lambda m: shown[m][2])
        for col in ("mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high"):
            out[col] = out[col] * scale
        floor = out["metric"].map(_nonnegative)
        out.loc[floor, "ci_low"] = out.loc[floor, "ci_low"].clip(lower=0.0)
        return out

    def text(self) -> str:
        first = self.scenarios[0]
        lines = [f"{len(self.scenarios)} scenarios on seeds {self.seeds[0]}…{self.seeds[-1]} "
                 f"(n = {len(self.seeds)} each, common seeds); {at_phrase(self.at)} of each run; "
                 f"mean [95% t-interval over seeds, cut at 0 where a metric cannot be negative]; "
                 f"Δ: paired difference to {first} [95% interval]"]
        shown = self.display_table()
        width = max(len(s) for s in self.scenarios)
        for metric in self.metrics:
            sub = shown[shown["metric"] == metric]
            lines += ["", f"{sub['label'].iloc[0]} ({sub['unit'].iloc[0] or 'no unit'})  [{metric}]"]
            for r in sub.itertuples():
                cell = f"  {r.scenario:<{width}}  {human_interval(r.mean, r.ci_low, r.ci_high)}"
                if r.scenario != first:
                    cell += f"   Δ {human_interval(r.diff, r.diff_low, r.diff_high)}"
                    if np.isfinite(r.diff_low) and r.diff_low <= 0 <= r.diff_high:
                        cell += " (interval includes 0)"
                lines.append(cell)
        return "\n".join(lines)

    def latex(self) -> str:
        """A LaTeX ``tabular`` (booktabs) of :meth:`display_table`: mean [interval] and Δ per metric × scenario."""
        def esc(text: str) -> str:
            for a, b in (("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"), ("−", "-"), ("–", "--"),
                         ("…", r"\ldots{}"), ("Δ", r"$\Delta$")):
                text = text.replace(a, b)
            return text

        first = self.scenarios[0]
        rows = [r"\begin{tabular}{llll}", r"\toprule",
                rf"metric & scenario & mean [95\% CI] & $\Delta$ to {esc(first)} [95\% CI] \\", r"\midrule"]
        shown = self.display_table()
        for metric in self.metrics:
            sub = shown[shown["metric"] == metric]
            name = f"{sub['label'].iloc[0]} ({sub['unit'].iloc[0]})" if sub["unit"].iloc[0] else sub["label"].iloc[0]
            for i, r in enumerate(sub.itertuples()):
                diff = "" if r.scenario == first else human_interval(r.diff, r.diff_low, r.diff_high)
                rows.append(f"{esc(name) if i == 0 else ''} & {esc(r.scenario)} & "
                            f"{esc(human_interval(r.mean, r.ci_low, r.ci_high))} & {esc(diff)} \\\\")
            rows.append(r"\addlinespace")
        rows[-1:] = [r"\bottomrule", r"\end{tabular}"]
        return "\n".join(rows) + "\n"

    def write(self, out: str | Path) -> list[Path]:
        """``compare.csv`` (stored and display units) and ``compare.tex`` in directory ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv, tex = out / "compare.csv", out / "compare.tex"
        shown = self.display_table()
        table = self.table.merge(shown[["scenario", "metric", "label", "unit", "mean", "ci_low", "ci_high",
                                        "diff", "diff_low", "diff_high"]],
                                 on=["scenario", "metric"], suffixes=("", "_display"))
        table.to_csv(csv, index=False)
        tex.write_text(self.latex())
        return [csv, tex]


def compare_scenarios(scenarios: Iterable[str | Path], seeds: int = 5, quarters: int | None = None,
                      metrics: Iterable[str] | None = None, at: str | int = "final",
                      overrides: dict[str, Any] | None = None, *,
                      posterior: str | Path | pd.DataFrame | None = None, draws: int | None = None,
                      backend: str = "serial", workers: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> "Comparison | PosteriorComparison":
    """Run every scenario on the common seeds 0…``seeds``−1 and compare them (``kyoso compare``).

    The first scenario is the reference: every other gets the paired
    difference (same seed) to it with a 95% t-interval, which is narrower
    than comparing the two intervals because the seeds' luck cancels.

    With ``posterior`` (a ``draws.csv``, the directory holding one, or a
    DataFrame of that layout: a ``draw`` column and one column per dotted
    parameter path) every scenario runs on every seed for each of the first
    ``draws`` draws (default: all), the draw's values applied as overrides
    on top of ``overrides``; the result is a :class:`PosteriorComparison`.
    Those runs go to :func:`experiments.executors.open_executor` (``backend``
    ``"serial"`` or ``"processes"`` with ``workers``); ``progress(done, total)``
    is called after each run.
    """
    if posterior is None:
        for name, given in (("draws", draws), ("workers", workers)):
            if given is not None:
                raise UserError(f"compare: {name}={given!r} is only used with a posterior (--posterior)")
        if backend != "serial":
            raise UserError(f"compare: backend={backend!r} is only used with a posterior (--posterior)")
    scenarios = [str(s) for s in scenarios]
    if not scenarios:
        raise UserError("compare: name at least one scenario")
    if len(set(scenarios)) < len(scenarios):
        raise UserError(f"compare: a scenario is named twice ({', '.join(scenarios)})")
    metrics = list(metrics) if metrics else list(DEFAULT_METRICS)
    parse_at(at)
    for sc in scenarios:                                   # unknown metrics fail before any run
        reduce_runs(pd.DataFrame(columns=["step", "quarter", *catalog(sc)]), metrics)
    seed_list = list(range(int(seeds)))
    if posterior is not None:
        return _posterior_comparison(scenarios, seed_list, quarters, metrics, at, dict(overrides or {}), posterior,
                                     draws, backend, workers, progress)
    return _comparison(run_seeds(scenarios, seed_list, quarters, overrides), metrics, at, seed_list, quarters)


def _nonnegative(metric: str) -> bool:
    """Whether a metric cannot be negative (by its stored unit), so that its interval is cut at 0."""
    from model.metrics import describe

    try:
        unit = describe(metric)[0].unit
    except KeyError:
        return False
    return unit in _NONNEGATIVE


_NONNEGATIVE = {"0–1", "count", "count per quarter", "index 0–1", "kwpm", "kwpm-eq", "quarters", "share",
                "USD per 200 mm-eq wafer"}


def _comparison(frames: dict[str, list[pd.DataFrame]], metrics: list[str], at: str | int, seeds: list[int],
                quarters: int | None) -> Comparison:
    """Intervals per scenario and paired differences to the first scenario, from the runs' tables."""
    scenarios = list(frames)
    values = {name: _run_values(runs, metrics, at) for name, runs in frames.items()}
    table = compare_final(frames, metrics, at)
    ref = values[scenarios[0]]
    diffs = []
    for name in scenarios:
        for metric in metrics:
            d = (t_interval(values[name][metric] - ref[metric]) if name != scenarios[0]
                 else {"mean": np.nan, "ci_low": np.nan, "ci_high": np.nan})
            diffs.append({"scenario": name, "metric": metric, "diff": d["mean"], "diff_low": d["ci_low"],
                          "diff_high": d["ci_high"]})
    table = table.merge(pd.DataFrame(diffs), on=["scenario", "metric"], how="left")
    return Comparison(scenarios, metrics, seeds, at, quarters, table, values, frames)


# ----------------------------------------------------------------------------------------- posterior draws
#: Executors a posterior comparison can run on (see :func:`experiments.executors.open_executor`).
POSTERIOR_BACKENDS = ("serial", "processes")
#: The file ``kyoso estimate`` writes its posterior sample to.
DRAWS_FILE = "draws.csv"


def load_posterior(posterior: str | Path | pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The posterior sample as a table (a ``draw`` column, then one column per dotted parameter path), sorted by
    ``draw``, and a phrase naming where it came from.

    ``posterior`` is a ``draws.csv`` file, a directory holding one (what ``kyoso estimate`` writes), or a
    DataFrame of that layout.  Every parameter column must be a numeric scalar of the scenario schema with
    finite values, and the draws must be distinct whole numbers; anything else is a one-line UserError.
    """
    from model.scenario import ScenarioError
    from model.scenario.paths import describe_path

    if isinstance(posterior, pd.DataFrame):
        table, origin = posterior.copy(), "a posterior table"
    else:
        path = Path(posterior)
        file = path / DRAWS_FILE if path.is_dir() else path
        if path.is_dir() and not file.is_file():
            raise UserError(f"--posterior {path}: no {DRAWS_FILE} in this directory (expected the directory "
                            f"'kyoso estimate' wrote, or a {DRAWS_FILE} file)")
        if not file.is_file():
            raise UserError(f"--posterior {path}: no such file or directory (expected a {DRAWS_FILE} or the "
                            "directory holding one)")
        try:
            table = pd.read_csv(file)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise UserError(f"--posterior {file}: not a readable CSV ({str(exc).splitlines()[0] if str(exc) else exc})"
                            ) from None
        origin = str(file)
    table.columns = [str(c).strip() for c in table.columns]
    if "draw" not in table.columns:
        raise UserError(f"--posterior {origin}: no 'draw' column (expected the columns draw, then one per "
                        f"parameter path such as params.hurdle; got {', '.join(table.columns) or 'none'})")
    params = [c for c in table.columns if c != "draw"]
    if not params:
        raise UserError(f"--posterior {origin}: no parameter columns (expected one column per dotted parameter "
                        "path after 'draw', e.g. params.hurdle)")
    if table.empty:
        raise UserError(f"--posterior {origin}: no draws (the table has a header and no rows)")
    if len(set(params)) < len(params) or len({p.replace("__", ".") for p in params}) < len(params):
        raise UserError(f"--posterior {origin}: a parameter column appears twice ({', '.join(params)})")
    draw = pd.to_numeric(table["draw"], errors="coerce")
    if draw.isna().any() or not np.all(draw == np.round(draw)) or draw.duplicated().any():
        raise UserError(f"--posterior {origin}: column 'draw' has {table['draw'].tolist()[:6]}…; expected distinct "
                        "whole numbers (0…K−1)")
    table["draw"] = draw.astype(int)
    for col in params:
        try:
            info = describe_path(col)
        except ScenarioError as exc:
            raise UserError(f"--posterior {origin}: column {col!r} is not a scenario parameter path ({exc})") from None
        if info.kind not in ("float", "int"):
            raise UserError(f"--posterior {origin}: column {col!r} is a {info.kind} parameter; expected a numeric "
                            "(float or int) parameter")
        values = pd.to_numeric(table[col], errors="coerce")
        bad = table[col][~np.isfinite(values.to_numpy(dtype=float))]
        if len(bad):
            raise UserError(f"--posterior {origin}: column {col!r} has {bad.iloc[0]!r} in draw "
                            f"{table['draw'][bad.index[0]]}; expected a finite number")
        table[col] = values.astype(float)
    table = table.rename(columns={c: c.replace("__", ".") for c in params})
    return table.sort_values("draw", kind="stable").reset_index(drop=True), origin


def posterior_settings(posterior: str | Path | pd.DataFrame) -> dict[str, Any]:
    """The settings the draws were estimated under (``estimate.json`` beside ``draws.csv``: the estimation file's
    ``[fixed]`` overrides, such as ``params.location_money = "value"``); every draw is run with them.  Nothing
    for a bare table or a ``draws.csv`` without its ``estimate.json``."""
    if isinstance(posterior, pd.DataFrame):
        return {}
    path = Path(posterior)
    summary_file = (path if path.is_dir() else path.parent) / "estimate.json"
    if not summary_file.is_file():
        return {}
    try:
        summary = json.loads(summary_file.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise UserError(f"--posterior {path}: {summary_file.name} beside the draws is not valid JSON") from None
    return estimate_settings(summary) if isinstance(summary, dict) else {}


def estimate_settings(summary: dict[str, Any]) -> dict[str, Any]:
    """The settings an estimate holds only with: the estimation file's ``[fixed]`` overrides (for example
    ``params.location_money = "value"``), from ``estimate.json``'s ``fixed`` or, for an estimate written before
    kyoso recorded them, from the ``[fixed]`` table of the estimation file it names (nothing if that is gone)."""
    if isinstance(summary.get("fixed"), dict):
        return dict(summary["fixed"])
    origin = Path(str(summary.get("file", "")))
    if not origin.is_file():
        return {}
    import tomllib

    from experiments.sweepfile import SweepError, _flatten_fixed

    try:
        fixed = tomllib.loads(origin.read_text()).get("fixed", {})
        return dict(_flatten_fixed(fixed, str(origin))) if isinstance(fixed, dict) else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError, SweepError):
        return {}


def _draw_overrides(row: pd.Series, kinds: dict[str, str]) -> dict[str, Any]:
    """One draw's values as overrides (whole numbers as int for an int parameter)."""
    out: dict[str, Any] = {}
    for path, kind in kinds.items():
        v = float(row[path])
        out[path] = int(v) if kind == "int" and v.is_integer() else v
    return out


def variance_decomposition(values: Any, level: float = 0.95) -> dict[str, float]:
    """Mean, parameter and seed parts of the variance of ``values`` (draws × seeds, the same seeds in every draw).

    Law of total variance, Var(Y) = Var_θ(E[Y | θ]) + E_θ(Var[Y | θ]), estimated from the K × S table y_ds:

    * seed part  σ²_seed = mean over draws of the within-draw variance s²_d (over the S seeds, ddof 1);
    * parameter part σ²_θ = Var_d(ȳ_d) − MS_res / S, floored at 0: the variance over draws of the draws' seed
      means less the seed noise left in those means.  Because every draw runs on the *same* seeds (common
      random numbers), a seed's main effect is common to all draws and cancels from Var_d(ȳ_d); the seed noise
      left in it is the draw × seed interaction, estimated by the residual mean square
      MS_res = Σ (y_ds − ȳ_d − ȳ_s + ȳ)² / ((K−1)(S−1)).  (With independent seeds per draw that would be
      E_d(s²_d)/S; with common seeds that would also remove the seed main effect and bias σ²_θ down.)

    Also: the sd of each part and its share of σ²_θ + σ²_seed (NaN when both are 0); the ``level`` parameter
    interval, percentiles over draws of ȳ_d (it keeps the seed noise left in each draw's mean); and the
    ``level`` seed interval, the grand mean ± t(S−1) · √(σ²_seed / S): the t-interval a mean over S seeds has
    at the point estimate, with the within-draw variance averaged over draws.  Parameter columns need K ≥ 2,
    seed columns S ≥ 2 (else NaN); a table with a non-finite value gets the mean of its finite values and NaN
    for the rest.
    """
    from scipy import stats

    y = np.asarray(values, dtype=float)
    if y.ndim != 2 or y.size == 0:
        raise ValueError(f"variance_decomposition: expected a non-empty draws × seeds table, got shape {y.shape}")
    k, s = y.shape
    nan = float("nan")
    out = {"mean": nan, "draws": k, "seeds": s, "var_param": nan, "var_seed": nan, "sd_param": nan,
           "sd_seed": nan, "share_param": nan, "share_seed": nan, "param_low": nan, "param_high": nan,
           "seed_low": nan, "seed_high": nan}
    finite = np.isfinite(y)
    if not finite.any():
        return out
    out["mean"] = float(y[finite].mean())
    if not finite.all():
        return out
    grand = y.mean()
    draw_means = y.mean(axis=1)
    if s >= 2:
        var_seed = float(y.var(axis=1, ddof=1).mean())
        half = float(stats.t.ppf(0.5 + level / 2, s - 1) * np.sqrt(var_seed / s))
        out |= {"var_seed": var_seed, "seed_low": grand - half, "seed_high": grand + half}
    if k >= 2:
        tail = 100 * (1 - level) / 2
        low, high = np.percentile(draw_means, [tail, 100 - tail])
        between = float(draw_means.var(ddof=1))
        if s >= 2:
            resid = y - draw_means[:, None] - y.mean(axis=0)[None, :] + grand
            ms_res = float((resid ** 2).sum() / ((k - 1) * (s - 1)))
            between -= ms_res / s
        out |= {"var_param": max(0.0, between), "param_low": float(low), "param_high": float(high)}
    out["sd_param"], out["sd_seed"] = float(np.sqrt(out["var_param"])), float(np.sqrt(out["var_seed"]))
    total = out["var_param"] + out["var_seed"]
    if np.isfinite(total) and total > 0:
        out["share_param"], out["share_seed"] = out["var_param"] / total, out["var_seed"] / total
    return out


_DECOMP = ("mean", "param_low", "param_high", "seed_low", "seed_high", "sd_param", "sd_seed", "share_param",
           "share_seed")
_SCALED = ("mean", "param_low", "param_high", "seed_low", "seed_high", "sd_param", "sd_seed")


@dataclass
class PosteriorComparison:
    """Scenarios over posterior draws × common seeds, each outcome's variance split into parameter and seed parts.

    ``table`` has one row per scenario × metric (stored units): ``mean`` over draws and seeds, the 95%
    parameter interval ``param_low``/``param_high``, the 95% seed interval ``seed_low``/``seed_high``, the
    standard deviations ``sd_param``/``sd_seed`` and their shares of the variance ``share_param``/``share_seed``
    (:func:`variance_decomposition`); the same with the prefix ``diff_`` for the paired difference to the first
    scenario (same draw, same seed; NaN for the first).  ``values`` has one row per run: scenario, draw, seed
    and the metrics reduced by ``at``; ``posterior`` the draws used.
    """

    scenarios: list[str]
    metrics: list[str]
    seeds: list[int]
    draws: list[int]
    at: str | int
    quarters: int | None
    table: pd.DataFrame
    values: pd.DataFrame
    posterior: pd.DataFrame
    origin: str
    elapsed: float = float("nan")
    backend: str = "serial"
    settings: dict[str, Any] | None = None      #: the estimate's fixed settings every draw ran with

    @property
    def parameters(self) -> list[str]:
        return [c for c in self.posterior.columns if c != "draw"]

    def display_table(self) -> pd.DataFrame:
        """``table`` in display units (% for shares; sds scaled alike), with label and unit columns; the seed
        interval of a metric that cannot be negative is cut at 0."""
        out = self.table.copy()
        shown = {m: metric_display(m) for m in self.metrics}
        out.insert(1, "label", out["metric"].map(lambda m: shown[m][0]))
        out.insert(2, "unit", out["metric"].map(lambda m: shown[m][1]))
        scale = out["metric"].map(lambda m: shown[m][2])
        for col in (*_SCALED, *(f"diff_{c}" for c in _SCALED)):
            out[col] = out[col] * scale
        floor = out["metric"].map(_nonnegative)
        out.loc[floor, "seed_low"] = out.loc[floor, "seed_low"].clip(lower=0.0)
        return out

    def text(self) -> str:
        first = self.scenarios[0]
        params = ", ".join(self.parameters)
        s = len(self.seeds)
        lines = [f"{len(self.scenarios)} scenarios × {len(self.draws)} posterior draws ({params}; from {self.origin})"
                 f" × seeds {self.seeds[0]}…{self.seeds[-1]}: {len(self.scenarios) * len(self.draws) * s} runs, "
                 f"the same draws and seeds for every scenario; {at_phrase(self.at)} of each run",
                 *([f"  every draw with the settings it was estimated under: "
                    f"{', '.join(f'{k} = {v}' for k, v in self.settings.items())};"] if self.settings else []),
                 "  mean over draws and seeds;",
                 "  θ [..]: 95% parameter interval (2.5–97.5 percentiles over draws of each draw's mean over the "
                 "seeds);",
                 f"  seed [..]: 95% seed-noise interval (t-interval of a mean over {s} seeds at the point estimate, "
                 "within-draw variance averaged over draws; cut at 0 where a metric cannot be negative);",
                 "  sd θ, sd seed: standard deviations of one run's outcome from parameter uncertainty and from seed "
                 "noise (law of total variance), with their shares of the variance;",
                 f"  Δ: paired difference to {first} (same draw, same seed), split the same way"]
        shown = self.display_table()
        width = max(len(x) for x in self.scenarios) + 2
        for metric in self.metrics:
            sub = shown[shown["metric"] == metric]
            lines += ["", f"{sub['label'].iloc[0]} ({sub['unit'].iloc[0] or 'no unit'})  [{metric}]"]
            for r in sub.itertuples():
                lines.append(f"  {r.scenario:<{width}}" + _decomp_cell(r._asdict(), ""))
                if r.scenario != first:
                    cell = _decomp_cell(r._asdict(), "diff_", signed=True)
                    if np.isfinite(r.diff_param_low) and r.diff_param_low <= 0 <= r.diff_param_high:
                        cell += "  (θ interval includes 0)"
                    lines.append(f"  {'  Δ':<{width}}" + cell)
        return "\n".join(lines)

    def latex(self) -> str:
        """A LaTeX ``tabular`` (booktabs): per metric × scenario the mean [θ interval], the seed interval and the
        parameter share, and the same for the difference to the first scenario."""
        def esc(text: str) -> str:
            for a, b in (("&", r"\&"), ("%", r"\%"), ("_", r"\_"), ("#", r"\#"), ("−", "-"), ("–", "--"),
                         ("…", r"\ldots{}"), ("Δ", r"$\Delta$"), ("θ", r"$\theta$")):
                text = text.replace(a, b)
            return text

        def cells(r: dict, p: str) -> list[str]:
            d = _digits_of(r, p)
            share = r[f"{p}share_param"]
            return [human_interval(r[f"{p}mean"], r[f"{p}param_low"], r[f"{p}param_high"]),
                    f"[{human(r[f'{p}seed_low'], d)}, {human(r[f'{p}seed_high'], d)}]",
                    f"{100 * share:.0f}%" if np.isfinite(share) else "n/a"]

        first = self.scenarios[0]
        rows = [r"\begin{tabular}{llllllll}", r"\toprule",
                r"metric & scenario & mean [$\theta$ 95\%] & seed 95\% & $\theta$ share & "
                rf"$\Delta$ to {esc(first)} [$\theta$ 95\%] & $\Delta$ seed 95\% & $\Delta$ $\theta$ share \\",
                r"\midrule"]
        shown = self.display_table()
        for metric in self.metrics:
            sub = shown[shown["metric"] == metric]
            name = f"{sub['label'].iloc[0]} ({sub['unit'].iloc[0]})" if sub["unit"].iloc[0] else sub["label"].iloc[0]
            for i, r in enumerate(sub.to_dict("records")):
                diff = ["", "", ""] if r["scenario"] == first else cells(r, "diff_")
                rows.append(" & ".join(esc(x) for x in [name if i == 0 else "", r["scenario"], *cells(r, ""), *diff])
                            + r" \\")
            rows.append(r"\addlinespace")
        rows[-1:] = [r"\bottomrule", r"\end{tabular}"]
        return "\n".join(rows) + "\n"

    def write(self, out: str | Path) -> list[Path]:
        """``compare.csv`` (the decomposition in stored and display units), ``compare_runs.csv`` (one row per run:
        scenario, draw, seed, the draw's parameter values, the metrics) and ``compare.tex`` in directory ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        csv, runs, tex = out / "compare.csv", out / "compare_runs.csv", out / "compare.tex"
        shown = self.display_table()
        keep = ["scenario", "metric", "label", "unit", *_SCALED, *(f"diff_{c}" for c in _SCALED)]
        table = self.table.merge(shown[keep], on=["scenario", "metric"], suffixes=("", "_display"))
        table.to_csv(csv, index=False)
        self.values.merge(self.posterior, on="draw", how="left").to_csv(runs, index=False)
        tex.write_text(self.latex())
        return [csv, runs, tex]


def _digits_of(r: dict, prefix: str) -> int:
    """Decimals for a row's numbers: three significant figures of the largest of its mean and intervals."""
    finite = [abs(r[f"{prefix}{c}"]) for c in ("mean", "param_low", "param_high", "seed_low", "seed_high")
              if np.isfinite(r[f"{prefix}{c}"])]
    big = max(finite) if finite else 0.0
    return 0 if big == 0 else min(6, max(0, 2 - int(np.floor(np.log10(big)))))


def _decomp_cell(r: dict, prefix: str, signed: bool = False) -> str:
    """``mean  θ [lo, hi]  seed [lo, hi]  sd θ a (x%) · seed b (y%)`` for one row (display units)."""
    d = _digits_of(r, prefix)
    mean = r[f"{prefix}mean"]
    head = human(mean, d)
    if signed and np.isfinite(mean) and mean > 0 and head.strip("0.,") != "":
        head = "+" + head
    shares = (r[f"{prefix}share_param"], r[f"{prefix}share_seed"])
    if all(np.isfinite(x) for x in shares):
        split = (f"sd θ {human(r[f'{prefix}sd_param'])} ({100 * shares[0]:.0f}%) · "
                 f"seed {human(r[f'{prefix}sd_seed'])} ({100 * shares[1]:.0f}%)")
    elif r[f"{prefix}sd_param"] == 0 and r[f"{prefix}sd_seed"] == 0:
        split = "no variance over draws or seeds"
    else:                                           # one draw (no θ part) or a metric with a missing value
        split = f"sd θ {human(r[f'{prefix}sd_param'])} · seed {human(r[f'{prefix}sd_seed'])}"
    return (f"{head:>10}  θ [{human(r[f'{prefix}param_low'], d)}, {human(r[f'{prefix}param_high'], d)}]"
            f"  seed [{human(r[f'{prefix}seed_low'], d)}, {human(r[f'{prefix}seed_high'], d)}]  {split}")


def _run_reduced(scenario: str, seed: int, quarters: int | None, overrides: dict[str, Any], metrics: list[str],
                 at: str | int) -> dict[str, float]:
    """One run reduced to {metric: value} (a worker's task)."""
    import warnings

    from model.scenario.references import EventsBeyondHorizonWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsBeyondHorizonWarning)     # the checks before the runs said it once
        model = run_scenario(scenario, seed=seed, quarters=quarters, overrides=overrides)
    row = reduce_runs(model.metrics(), metrics, at).iloc[0]
    return {m: float(row[m]) for m in metrics}


def _posterior_comparison(scenarios: list[str], seeds: list[int], quarters: int | None, metrics: list[str],
                          at: str | int, overrides: dict[str, Any], posterior: str | Path | pd.DataFrame,
                          draws: int | None, backend: str, workers: int | None,
                          progress: Callable[[int, int], None] | None) -> PosteriorComparison:
    """Check everything, run scenarios × draws × seeds on an executor, decompose per scenario × metric."""
    from experiments.executors import open_executor
    from model.scenario import ScenarioError, load_scenario
    from model.scenario.paths import describe_path

    if backend not in POSTERIOR_BACKENDS:
        raise UserError(f"--backend {backend!r}: expected one of {', '.join(POSTERIOR_BACKENDS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, (int, np.integer))
                                or workers < 1):
        raise UserError(f"--workers {workers!r}: expected a whole number ≥ 1")
    if len(seeds) < 2:
        raise UserError(f"--seeds {len(seeds)}: expected ≥ 2 with --posterior (the seed part is the variance "
                        "over the seeds within a draw)")
    table, origin = load_posterior(posterior)
    available = len(table)
    if draws is None:
        draws = available
    if isinstance(draws, bool) or not isinstance(draws, (int, np.integer)) or not 1 <= draws <= available:
        raise UserError(f"--draws {draws!r}: expected a whole number from 1 to {available} (the draws in {origin})")
    table = table.iloc[: int(draws)].reset_index(drop=True)
    params = [c for c in table.columns if c != "draw"]
    kinds = {p: describe_path(p).kind for p in params}
    clash = [p for p in params if p in {k.replace("__", ".") for k in overrides}]
    if clash:
        raise UserError(f"--set {clash[0]}: also a column of the posterior {origin}; drop one of the two")
    draw_ids = [int(d) for d in table["draw"]]
    settings = {k: v for k, v in posterior_settings(posterior).items() if k not in overrides}
    per_draw = {d: {**settings, **_draw_overrides(row, kinds)} for d, (_, row) in zip(draw_ids, table.iterrows())}
    for sc in scenarios:                                   # bad values fail before any run, naming the draw
        for d, ov in per_draw.items():
            try:
                load_scenario(sc, **overrides, **ov)
            except ScenarioError as exc:
                raise UserError(f"--posterior {origin}: draw {d} in scenario {sc}: {exc}") from None
    tasks = [(sc, d, s) for sc in scenarios for d in draw_ids for s in seeds]
    t0 = time.perf_counter()
    results: dict[tuple[str, int, int], dict[str, float]] = {}
    with open_executor(backend, workers=workers) as (ex, _, desc):
        futures = [(key, ex.submit(_run_reduced, key[0], key[2], quarters, {**overrides, **per_draw[key[1]]},
                                   metrics, at)) for key in tasks]
        for i, (key, fut) in enumerate(futures, 1):
            results[key] = fut.result()
            if progress is not None:
                progress(i, len(futures))
    elapsed = time.perf_counter() - t0
    values = pd.DataFrame([{"scenario": sc, "draw": d, "seed": s} | results[(sc, d, s)] for sc, d, s in tasks])
    rows = []
    cube = {sc: {m: values[values["scenario"] == sc].pivot(index="draw", columns="seed", values=m)
                 .loc[draw_ids, seeds].to_numpy() for m in metrics} for sc in scenarios}
    for sc in scenarios:
        for m in metrics:
            level = variance_decomposition(cube[sc][m])
            diff = (variance_decomposition(cube[sc][m] - cube[scenarios[0]][m]) if sc != scenarios[0]
                    else {c: float("nan") for c in _DECOMP})
            rows.append({"scenario": sc, "metric": m, "at": str(at), "draws": len(draw_ids), "seeds": len(seeds)}
                        | {c: level[c] for c in _DECOMP} | {f"diff_{c}": diff[c] for c in _DECOMP})
    return PosteriorComparison(scenarios, metrics, seeds, draw_ids, at, quarters, pd.DataFrame(rows), values,
                               table, origin, elapsed, desc, settings)
