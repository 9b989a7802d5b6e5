"""Scenarios side by side: replications with common seeds, and their summaries with intervals.

A sweep varies parameters of one scenario; comparing *scenarios* (different
files) needs a plain loop of runs.  Each scenario gets the same replication
seeds (common random numbers), so differences between scenarios are not
differences in luck::

    from experiments.compare import replicate, compare_final
    frames = replicate(["status_quo", "taiwan_contingency"], replications=5, quarters=32, seed=1)
    compare_final(frames, ["supply_shortfall", "unit_cost_index"], at="mean")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import stats

from experiments.runner import run_scenario
from model.scenario import Scenario

__all__ = ["replication_seeds", "replicate", "compare_final"]


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
    seeds = replication_seeds(seed, replications)
    frames: dict[str, list[pd.DataFrame]] = {}
    for sc in scenarios:
        runs = []
        for s in seeds:
            model = run_scenario(sc, seed=s, quarters=quarters, overrides=overrides)
            runs.append(model.tables()["metrics"])
        frames[model.spec.meta.name if not isinstance(sc, str) else sc] = runs
    return frames


def compare_final(frames: dict[str, list[pd.DataFrame]], metrics: list[str], at: str = "final") -> pd.DataFrame:
    """One row per scenario × metric: mean over replications, sd, n and the 95% t-interval of the mean.

    Each run is reduced to one number: its last quarter (``at="final"``), its
    mean over the simulated quarters 1…Q (``"mean"``) or its maximum (``"max"``,
    e.g. the worst shortfall).
    """
    if at not in ("final", "mean", "max"):
        raise ValueError(f"at {at!r}: expected final, mean or max")
    rows = []
    for name, runs in frames.items():
        for metric in metrics:
            vals = []
            for r in runs:
                body = r[r["step"] >= 1] if (r["step"] >= 1).any() else r
                col = body[metric].to_numpy(dtype=float)
                vals.append(col[-1] if at == "final" else np.nanmean(col) if at == "mean" else np.nanmax(col))
            v = np.asarray(vals)
            n = int(np.isfinite(v).sum())
            mean = float(np.nanmean(v)) if n else float("nan")
            sd = float(np.nanstd(v, ddof=1)) if n > 1 else float("nan")
            half = float(stats.t.ppf(0.975, n - 1) * sd / np.sqrt(n)) if n > 1 else float("nan")
            rows.append({"scenario": name, "metric": metric, "at": at, "mean": mean, "sd": sd, "n": n,
                         "ci_low": mean - half, "ci_high": mean + half})
    return pd.DataFrame(rows)
