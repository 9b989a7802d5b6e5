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
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from experiments.errors import UserError
from experiments.runner import run_scenario
from experiments.sensitivity import at_phrase, human_interval, metric_display, parse_at, reduce_runs, t_interval
from model.metrics import catalog
from model.scenario import Scenario

__all__ = ["replication_seeds", "replicate", "run_seeds", "compare_final", "compare_scenarios", "Comparison",
           "DEFAULT_METRICS"]


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
                      overrides: dict[str, Any] | None = None) -> Comparison:
    """Run every scenario on the common seeds 0…``seeds``−1 and compare them (``kyoso compare``).

    The first scenario is the reference: every other gets the paired
    difference (same seed) to it with a 95% t-interval, which is narrower
    than comparing the two intervals because the seeds' luck cancels.
    """
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
