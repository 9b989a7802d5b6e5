"""The validation report against history (``kyoso history --estimate DIR --out DIR``).

Input: the output directory of ``kyoso estimate`` (``estimate.json``,
``fit.csv``, ``scores.csv``, ``identification.csv``, ``draws.csv`` and, when
location weights were estimated, ``location.csv``; see
:mod:`experiments.estimation`) and a backcast scenario (default
``backcast_2021``).  The backcast is run at the estimate's point on
``--seeds`` seeds (:func:`experiments.compare.replication_seeds`); its fab
capacity shares and fab construction starts are summed into SEMI's regions
(:data:`experiments.estimation.SEMI_REGIONS`) and set against the observed
values of ``model/data/history_targets.csv``.

Output, in ``--out``: ``VALIDATION.md`` and ``figures/*.png`` (relative
links), with

1. the capacity-share trajectories by SEMI region with seed bands (5th–95th
   percentile over seeds) against the observed shares (300mm 2021 and 2022,
   a different definition, hollow; all wafer sizes 2024, filled);
2. the shares of fab construction starts by region, 2021–22 and 2021–23,
   model (mean and 5–95 % over seeds) against SEMI;
3. the posterior: point, standard error, 95 % interval, prior range,
   identification, and the draws over the prior range;
4. in- and out-of-sample scores against the naive rules (``scores.csv``,
   ``fit.csv``) and the location log-likelihood against the home + brownfield
   logit (``location.csv``);
5. the known misses (targets with |z| > 2), with what the data say about each
   family — "not diagnosed" where they say nothing;
6. (unless ``--no-location-check``) the location logit cross-validated on the
   announced sites (:func:`experiments.validation.validate_location`);
7. (unless ``--no-path-dependence``) path dependence of the segment leaders,
   from the table ``benchmarks/emergence.py`` writes
   (:func:`experiments.emergence.emergence_findings`).

Every number in the text is computed here from those files and runs.  The
files are written into a temporary directory and moved into place; into an
existing non-empty directory only with ``--force``, and then only
``VALIDATION.md`` and the figures this report draws are replaced (``--out
docs`` keeps everything else in ``docs/``).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd

from experiments.argtypes import positive_int as _positive_int
from experiments.argtypes import seed as _seed
from experiments.errors import UserError

__all__ = ["ESTIMATE_FILES", "OPTIONAL_FILES", "EstimateOutput", "read_estimate", "Backcast", "run_backcast",
           "region_values", "share_bands", "starts_table", "starts_counts", "score_rows", "known_misses",
           "shares_figure", "starts_figure", "posterior_figure", "HistoryReport", "build_report", "check_output",
           "write_report", "add_parser", "cmd_history", "DEFAULT_SCENARIO", "DEFAULT_SEEDS", "BAND", "NAIVE_RULES"]

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIO = "backcast_2021"
DEFAULT_SEEDS = 8
BAND = (5.0, 95.0)                      # percentiles over seeds of the seed bands
REPORT = "VALIDATION.md"
FIGURES = "figures"
MISS_Z = 2.0                            # a known miss: |z| above this

#: The files of ``kyoso estimate``'s output this report needs, with the keys / columns it reads.
ESTIMATE_FILES: dict[str, tuple[str, ...]] = {
    "estimate.json": ("point", "se", "ci95", "bounds", "split"),
    "fit.csv": ("id", "family", "period_end", "region", "value", "sd", "sample", "model_mean", "model_sd",
                "naive", "z", "model_abs_error", "naive_abs_error"),
    "scores.csv": ("sample", "family", "targets", "model_mae", "naive_mae", "model_closer", "mean_abs_z"),
    "identification.csv": ("parameter", "ci_width_share_of_range", "pinned", "main_source", "main_source_share",
                           "at_bound"),
    "draws.csv": ("draw",),
}
#: Written by ``kyoso estimate`` only when location weights are estimated.
OPTIONAL_FILES: dict[str, tuple[str, ...]] = {"location.csv": ("model", "sample", "sites", "mean_loglik")}

#: The naive rule each target family is scored against (``experiments.estimation.naive_predictions``):
#: the capacity-share rule or the persistence rule, in words.
CAPACITY_RULE = "capacity-share rule"
PERSISTENCE_RULE = "persistence rule"
NAIVE_RULES = {
    CAPACITY_RULE: "construction starts, fab investment and capacity shares by region follow the 300mm capacity "
                   "shares of 2022 (SEMI; Americas = the rest)",
    PERSISTENCE_RULE: "what was last seen stays: capacity shares do not change, world starts keep their 2022 "
                      "growth ratio",
}


def _naive_rule(family: str) -> str:
    if family.startswith(("starts_2021", "equipment_")) or family == "share_2024":
        return CAPACITY_RULE
    if family in ("share_change_2022", "starts_growth"):
        return PERSISTENCE_RULE
    return "naive rule"


#: What each target family measures, in words (for tables).
FAMILY_WORDS = {
    "starts_2021_22": "share of world fab construction starts 2021–22",
    "starts_2021_23": "share of world fab construction starts 2021–23",
    "starts_growth": "world fab starts in the year / starts in 2021",
    "share_change_2022": "change of capacity share 2021→2022",
    "share_2024": "share of world fab capacity 2024, all wafer sizes",
    "equipment_2021": "share of fab equipment spending 2021 among Korea, China, Taiwan",
    "equipment_2022": "share of world fab equipment spending 2022",
    "equipment_2023": "share of 300mm fab equipment spending 2023 among Korea, Taiwan, China, Americas",
}


def _ratio_family(family: str) -> bool:
    """Families measured as a ratio (not a share): their errors are shown as plain numbers, not points."""
    return family == "starts_growth"


# ------------------------------------------------------------------ the estimate's files
@dataclass
class EstimateOutput:
    """What ``kyoso estimate`` wrote, read and checked."""

    path: Path
    summary: dict[str, Any]
    fit: pd.DataFrame
    scores: pd.DataFrame
    identification: pd.DataFrame
    draws: pd.DataFrame
    location: pd.DataFrame | None

    @property
    def point(self) -> dict[str, float]:
        return {k: float(v) for k, v in self.summary["point"].items()}

    @property
    def settings(self) -> dict[str, Any]:
        """The point with the estimation's fixed settings (the model that was estimated, e.g. the value mode)."""
        from experiments.compare import estimate_settings

        return {**estimate_settings(self.summary), **self.point}

    @property
    def split(self) -> int:
        return int(self.summary["split"])


def _read_csv(path: Path, name: str, need: Sequence[str], where: str) -> pd.DataFrame:
    try:
        df = pd.read_csv(path / name)
    except pd.errors.EmptyDataError:
        raise UserError(f"{where}: {name} is empty (expected the output of 'kyoso estimate')") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(f"{where}: {name} is not a readable CSV ({str(exc).splitlines()[0]})") from None
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise UserError(f"{where}: {name} lacks column(s) {', '.join(missing)} (expected the output of "
                        "'kyoso estimate')")
    return df


def read_estimate(path: str | Path, *, flag: str = "--estimate") -> EstimateOutput:
    """The output directory of ``kyoso estimate``; a :class:`UserError` (one line) names what is missing."""
    path = Path(path)
    where = f"{flag} {path}"
    if not path.exists():
        raise UserError(f"{where}: not found (expected the directory 'kyoso estimate FILE --out DIR' wrote)")
    if not path.is_dir():
        raise UserError(f"{where}: is not a directory (expected the directory 'kyoso estimate FILE --out DIR' "
                        "wrote)")
    for name in ESTIMATE_FILES:
        if not (path / name).is_file():
            raise UserError(f"{where}: no {name} in it (expected the output of 'kyoso estimate'; an interrupted "
                            "estimation continues with 'kyoso estimate FILE --out DIR --resume')")
    try:
        summary = json.loads((path / "estimate.json").read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{where}: estimate.json is not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise UserError(f"{where}: estimate.json is not a text file") from None
    if not isinstance(summary, dict):
        raise UserError(f"{where}: estimate.json holds {type(summary).__name__}, expected an object")
    missing = [k for k in ESTIMATE_FILES["estimate.json"] if k not in summary]
    if missing:
        raise UserError(f"{where}: estimate.json lacks {', '.join(missing)} (expected the output of 'kyoso estimate')")
    point = summary["point"]
    if not isinstance(point, dict) or not point:
        raise UserError(f"{where}: estimate.json 'point' = {point!r}: expected a table of parameter values")
    for key in ("se", "ci95", "bounds"):
        if not isinstance(summary[key], dict) or set(summary[key]) != set(point):
            raise UserError(f"{where}: estimate.json '{key}' does not name the parameters of 'point' "
                            f"({', '.join(point)})")
    for name, value in point.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise UserError(f"{where}: estimate.json point {name} = {value!r}: expected a finite number")
    if isinstance(summary["split"], bool) or not isinstance(summary["split"], int):
        raise UserError(f"{where}: estimate.json split = {summary['split']!r}: expected a year")
    frames = {name: _read_csv(path, name, cols, where) for name, cols in ESTIMATE_FILES.items()
              if name.endswith(".csv")}
    params = [c for c in frames["draws.csv"].columns if c != "draw"]
    if sorted(params) != sorted(point):
        raise UserError(f"{where}: draws.csv has columns {', '.join(params) or 'none'} besides 'draw', expected the "
                        f"estimate's parameters {', '.join(point)}")
    location = None
    for name, cols in OPTIONAL_FILES.items():
        if (path / name).is_file():
            location = _read_csv(path, name, cols, where)
    return EstimateOutput(path, summary, frames["fit.csv"], frames["scores.csv"], frames["identification.csv"],
                          frames["draws.csv"], location)


# ------------------------------------------------------------------ the backcast
@dataclass
class Backcast:
    """The backcast at the estimate: one metrics table per seed."""

    scenario: str
    name: str
    seeds: list[int]
    frames: list[pd.DataFrame]
    countries: list[str]
    horizon: int

    @property
    def quarters(self) -> list[str]:
        return self.frames[0]["quarter"].astype(str).tolist()

    def row(self, quarter: str) -> int | None:
        q = self.quarters
        return q.index(quarter) if quarter in q else None


def run_backcast(scenario: str | Path, point: dict[str, Any], *, seeds: int = DEFAULT_SEEDS,
                 quarters: int | None = None, seed: int = 0) -> Backcast:
    """Run ``scenario`` with the estimate's ``point`` as overrides on ``seeds`` seeds
    (:func:`experiments.compare.replication_seeds` of ``seed``)."""
    from experiments.compare import replication_seeds
    from experiments.runner import run_scenario

    seed_list = replication_seeds(seed, seeds)
    frames, model = [], None
    for s in seed_list:
        model = run_scenario(scenario, seed=s, quarters=quarters, overrides=dict(point))
        frames.append(model.metrics())
    assert model is not None
    return Backcast(str(scenario), model.spec.meta.name, seed_list, frames, list(model.geo.countries),
                    int(model.steps))


def region_values(frame: pd.DataFrame, prefix: str, countries: Sequence[str]) -> pd.DataFrame:
    """Columns ``prefix_<country>`` of one run summed into SEMI's regions (rows as in ``frame``)."""
    from experiments.estimation import SEMI_REGIONS

    out = {}
    for region, members in SEMI_REGIONS.items():
        cols = [f"{prefix}_{c}" for c in members if c in countries]
        out[region] = frame[cols].sum(axis=1).to_numpy(dtype=float) if cols else np.zeros(len(frame))
    return pd.DataFrame(out, index=frame.index)


def _stack(bc: Backcast, prefix: str) -> np.ndarray:
    """runs × rows × regions."""
    return np.stack([region_values(f.reset_index(drop=True), prefix, bc.countries).to_numpy() for f in bc.frames])


def share_bands(bc: Backcast) -> pd.DataFrame:
    """Per quarter and SEMI region: mean over seeds and the 5th/95th percentile of the capacity share."""
    from experiments.estimation import SEMI_REGIONS

    values = _stack(bc, "share")
    lo, hi = np.percentile(values, BAND, axis=0)
    rows = []
    steps = bc.frames[0]["step"].to_numpy()
    for k, region in enumerate(SEMI_REGIONS):
        for i, (step, q) in enumerate(zip(steps, bc.quarters)):
            rows.append({"step": int(step), "quarter": q, "region": region, "mean": float(values[:, i, k].mean()),
                         "p05": float(lo[i, k]), "p95": float(hi[i, k])})
    return pd.DataFrame(rows)


def _year_end(year: int) -> str:
    """The metrics row a year's value is read at (as ``experiments.estimation.run_moments`` reads it)."""
    return f"{year}Q4"


def starts_table(bc: Backcast, targets: pd.DataFrame) -> pd.DataFrame:
    """The construction-start targets (families starts_2021_22 / starts_2021_23) against the backcast:
    observed value and sd, the model's mean and 5–95 % over seeds, the seeds with no start at all, the naive
    rule; families the runs do not reach (their last year's Q4 row) get NaN."""
    from experiments.estimation import naive_predictions, run_moments

    tgt = targets[targets["family"].isin(["starts_2021_22", "starts_2021_23"])].reset_index(drop=True)
    naive = naive_predictions(targets)
    rows = []
    for fam, g in tgt.groupby("family", sort=True):
        last = int(g["period_end"].iloc[0])
        reached = bc.row(_year_end(last)) is not None
        sims = (pd.DataFrame([run_moments(f, g, bc.countries) for f in bc.frames]) if reached
                else pd.DataFrame(np.nan, index=range(len(bc.frames)), columns=g["id"]))
        for _, t in g.iterrows():
            v = sims[t["id"]].to_numpy(dtype=float)
            ok = v[np.isfinite(v)]
            rows.append({"id": t["id"], "family": fam, "period_end": last, "region": t["region"],
                         "value": float(t["value"]),
                         "sd": float(t["sd"]), "model_mean": float(ok.mean()) if len(ok) else np.nan,
                         "p05": float(np.percentile(ok, BAND[0])) if len(ok) else np.nan,
                         "p95": float(np.percentile(ok, BAND[1])) if len(ok) else np.nan,
                         "runs": int(len(ok)), "reached": reached, "naive": float(naive.get(t["id"], np.nan))})
    return pd.DataFrame(rows)


def starts_counts(bc: Backcast, first: int, last: int) -> pd.DataFrame:
    """Fab projects started per run by SEMI region in the years ``first``–``last`` (rows of those years,
    step > 0, as ``run_moments`` counts them): mean over seeds and the number of seeds with none."""
    values = []
    for f in bc.frames:
        f = f.reset_index(drop=True)
        year = f["quarter"].astype(str).str.slice(0, 4).astype(int)
        rows = year.between(first, last) & (f["step"] > 0)
        values.append(region_values(f, "fab_starts", bc.countries)[rows].sum())
    df = pd.DataFrame(values)
    return pd.DataFrame({"mean": df.mean(), "runs_without": (df == 0).sum()})


# ------------------------------------------------------------------ scores and misses
def _paired(diff: np.ndarray) -> dict[str, float]:
    from experiments.sensitivity import t_interval

    return t_interval(diff)


def score_rows(est: EstimateOutput) -> pd.DataFrame:
    """``scores.csv`` (out of sample first), with the naive rule in words, the paired difference of the
    absolute errors (model − naive, mean over the family's targets with its 95 % t-interval) and the verdict.

    Extra naive columns in ``fit.csv`` (``naive_<rule>``, should ``kyoso estimate`` add rules) get their own MAE
    column ``mae_<rule>``.
    """
    fit = est.fit
    extra = [c for c in fit.columns if c.startswith("naive_") and not c.endswith("_abs_error")]
    rows = []
    order = {"out": 0, "in": 1}
    scores = est.scores.sort_values("sample", key=lambda s: s.map(order).fillna(2), kind="stable")
    for r in scores.to_dict("records"):
        g = fit[(fit["sample"] == r["sample"]) & (fit["family"] == r["family"])]
        d = (g["model_abs_error"] - g["naive_abs_error"]).to_numpy(dtype=float)
        p = _paired(d)
        row = {**r, "rule": _naive_rule(str(r["family"])), "diff": p["mean"], "diff_low": p["ci_low"],
               "diff_high": p["ci_high"], "n": p["n"]}
        for c in extra:
            row[f"mae_{c.removeprefix('naive_')}"] = float((g[c] - g["value"]).abs().mean())
        if not np.isfinite(r["model_mae"]) or not np.isfinite(r["naive_mae"]):
            verdict = "not scored (no model value)"
        elif r["model_mae"] < r["naive_mae"]:
            verdict = "model closer"
        elif r["model_mae"] > r["naive_mae"]:
            verdict = "naive rule closer"
        else:
            verdict = "tie"
        if verdict.endswith("closer"):
            if p["n"] >= 2 and np.isfinite(p["ci_low"]):
                verdict += (" (95 % interval of the difference excludes 0)" if p["ci_low"] > 0 or p["ci_high"] < 0
                            else " (but the 95 % interval of the difference includes 0)")
            else:
                verdict += " (one target: no interval)"
        row["verdict"] = verdict
        rows.append(row)
    return pd.DataFrame(rows)


def known_misses(est: EstimateOutput, threshold: float = MISS_Z) -> pd.DataFrame:
    """Targets the model misses: |z| > ``threshold`` in ``fit.csv`` (z = (model − observed) /
    √(sd² + model sd²)), largest first."""
    fit = est.fit
    miss = fit[fit["z"].abs() > threshold].copy()
    miss["abs_z"] = miss["z"].abs()
    return miss.sort_values(["family", "abs_z"], ascending=[True, False]).drop(columns="abs_z")


def _diagnoses(misses: pd.DataFrame, bc: Backcast, targets: pd.DataFrame) -> dict[str, list[str]]:
    """Per family of missed targets, what the data say about each miss (facts computed from the backcast and
    the targets); a family the checks say nothing about gets "not diagnosed"."""
    out: dict[str, list[str]] = {}
    start = bc.row(bc.quarters[0])
    shares = _stack(bc, "share").mean(axis=0)                 # rows × regions, mean over seeds
    from experiments.estimation import SEMI_REGIONS

    regions = list(SEMI_REGIONS)
    for fam, g in misses.groupby("family", sort=True):
        notes: list[str] = []
        for _, m in g.iterrows():
            region = m["region"]
            miss = float(m["model_mean"] - m["value"])
            if fam == "share_2024" and region in regions:
                k = regions.index(region)
                s0 = float(shares[start, k])
                gap0 = s0 - float(m["value"])
                move = float(m["model_mean"]) - s0
                fact = (f"{region}: the model's share at the start ({bc.quarters[0]}) is {_pct(s0)}, already "
                        f"{_pp(gap0, sign=True)} from SEMI's 2024 value; by 2024 it moves {_pp(move, sign=True)}")
                if np.sign(gap0) == np.sign(miss) and abs(gap0) >= abs(miss):
                    notes.append(fact + " — the miss is in the start state, not in the simulated years.")
                elif abs(gap0) < 0.5 * abs(miss):
                    notes.append(fact + " — the miss arises over the simulated years.")
                else:
                    notes.append(fact + " — both the start state and the simulated years contribute.")
            elif fam.startswith("starts_2021") and region in regions:
                last = int(m["period_end"])
                counts = starts_counts(bc, 2021, last)
                n, none = float(counts.loc[region, "mean"]), int(counts.loc[region, "runs_without"])
                naive_err = float(m["naive"] - m["value"]) if np.isfinite(m["naive"]) else np.nan
                if none == len(bc.frames):
                    notes.append(f"{region}: the model starts no fab there in 2021–{str(last)[2:]} in any of the "
                                 f"{len(bc.frames)} backcast runs (observed share {_pct(m['value'])}).")
                elif (np.isfinite(naive_err) and np.sign(naive_err) == np.sign(miss)
                      and abs(naive_err) >= 0.5 * abs(miss)):
                    notes.append(f"{region}: the model ({_pct(m['model_mean'])}; {n:.1f} fab projects started there "
                                 f"per backcast run in 2021–{str(last)[2:]}) misses in the "
                                 f"same direction as the {CAPACITY_RULE} ({_pct(m['naive'])}): the observed share "
                                 f"({_pct(m['value'])}) departs from the region's 2022 capacity share and the model "
                                 "does not follow that departure.")
                else:
                    notes.append(f"{region}: not diagnosed (model {_pct(m['model_mean'])}, {n:.1f} fab projects "
                                 f"started there per backcast run in 2021–{str(last)[2:]}; observed "
                                 f"{_pct(m['value'])}; {CAPACITY_RULE} {_pct(m['naive'])}).")
            elif fam == "starts_growth":
                notes.append(_starts_growth_note(bc, m))
            elif fam.startswith("share_change_") and region in regions:
                notes.append(_share_change_note(bc, m, regions.index(region)))
            elif fam.startswith("equipment_") and region in regions:
                among = _family_regions(targets, str(fam))
                notes.append(_equipment_note(bc, m, region, among))
            else:
                notes.append(f"`{m['id']}`: not diagnosed.")
        out[str(fam)] = notes
    return out


def _family_regions(targets: pd.DataFrame, family: str) -> list[str]:
    """The regions a family's targets name (the denominator of an ``equipment_`` share), in file order."""
    rows = targets[(targets["family"] == family) & (targets.get("role", "target") != "reference")]
    return list(dict.fromkeys(rows["region"].tolist()))


def _fab_lags(bc: Backcast) -> tuple[int, int]:
    """Quarters from start to operation of a new fab and of a fab expansion in the backcast's scenario (the
    shortest over fab segments; ODD 7.6)."""
    from model.scenario import FAB_SEGMENTS, load_scenario

    spec = load_scenario(bc.scenario)
    lag = min(int(spec.segments[s].construction_lag) for s in FAB_SEGMENTS if s in spec.segments)
    return lag, max(1, round(spec.params.expansion_lag_factor * lag))


def _share_change_note(bc: Backcast, m: pd.Series, k: int) -> str:
    """A missed change of capacity share over a year: the region's and the world's capacity growth in the
    backcast that year, what SEMI's change asks of them, and how fast the firms' own projects can come online."""
    from model.scenario import FAB_SEGMENTS

    year = int(m["period_end"])
    r0, r1 = bc.row(f"{year - 1}Q4"), bc.row(f"{year}Q4")
    if r0 is None or r1 is None:
        return f"`{m['id']}`: the backcast does not cover {year - 1}Q4–{year}Q4."
    shares = _stack(bc, "share")                                     # runs × rows × regions
    world = np.stack([f.reset_index(drop=True)[[f"capacity_{s}" for s in FAB_SEGMENTS
                                                if f"capacity_{s}" in f.columns]].sum(axis=1).to_numpy(float)
                      for f in bc.frames])                           # runs × rows
    s0, s1 = float(shares[:, r0, k].mean()), float(shares[:, r1, k].mean())
    g_world = float((world[:, r1] / world[:, r0]).mean()) - 1.0
    g_region = float((shares[:, r1, k] * world[:, r1] / (shares[:, r0, k] * world[:, r0])).mean()) - 1.0
    wanted = (s0 + float(m["value"])) / s0 * (1.0 + g_world) - 1.0 if s0 > 0 else np.nan
    new, expansion = _fab_lags(bc)
    return (f"`{m['id']}`: in the backcast {m['region']}'s fab capacity grows {_growth(g_region)} in {year} and "
            f"the world's {_growth(g_world)} (share {_pct(s0)} → {_pct(s1)}); SEMI's "
            f"{_pp(float(m['value']), sign=True)} would need {m['region']} to grow about {_growth(wanted)} at the "
            f"world's pace. A fab the firms start "
            f"comes online {new} quarters later ({expansion} for an expansion), so the capacity that comes online "
            f"in {year} is mostly what was under construction at the start ({bc.quarters[0]}) and the first "
            "expansions: the model's firms cannot make that year's share move by their own decisions.")


def _equipment_note(bc: Backcast, m: pd.Series, region: str, among: list[str]) -> str:
    """A missed share of equipment spending in a year: the model books a fab's capex in the quarter it starts,
    so its share is that of the year's starts; compared with the region's share of the earlier starts."""
    year = int(m["period_end"])
    now = starts_counts(bc, year, year)
    before = starts_counts(bc, 2021, year - 1) if year > 2021 else None
    keep = [r for r in among if r in now.index]
    n_now = float(now.loc[keep, "mean"].sum())
    share_now = float(now.loc[region, "mean"]) / n_now if n_now > 0 else np.nan
    text = (f"`{m['id']}`: the model books a fab project's capex in the quarter it starts (`fab_capex`), so its "
            f"{year} share is that of the fabs started in {year}: {n_now:.1f} per run in the {len(keep)} regions, "
            f"{_pct(share_now)} of them in {region} (SD of the share over runs {_pp(float(m['model_sd']))})")
    if before is not None:
        n_before = float(before.loc[keep, "mean"].sum())
        share_before = float(before.loc[region, "mean"]) / n_before if n_before > 0 else np.nan
        text += (f"; SEMI's {year} spending also equips fabs started in 2021–{str(year - 1)[2:]}, where the "
                 f"model's {region} share of starts is {_pct(share_before)}")
        if np.isfinite(share_before) and np.sign(share_before - float(m["value"])) != np.sign(
                float(m["model_mean"]) - float(m["value"])):
            text += f", on the other side of SEMI's {_pct(float(m['value']))}: the miss is partly when capex is booked"
        else:
            more = float(m["model_mean"]) > float(m["value"])
            text += (f", on the same side of SEMI's {_pct(float(m['value']))}: the model starts too "
                     f"{'much' if more else 'little'} there")
    return text + "."


def _starts_growth_note(bc: Backcast, m: pd.Series) -> str:
    """What the backcast's world fab starts by year and quarter say about a missed starts-growth ratio."""
    year = int(m["period_end"])
    per_q = []
    for f in bc.frames:
        cols = [c for c in f.columns if c.startswith("fab_starts_")]
        per_q.append(f[cols].sum(axis=1).to_numpy(float))
    starts = np.mean(per_q, axis=0)
    years = np.array([int(str(q)[:4]) for q in bc.quarters])
    first, then = float(starts[years == 2021].sum()), float(starts[years == year].sum())
    in_2021 = np.flatnonzero((years == 2021) & (starts > 0))
    if first <= 0 or len(in_2021) == 0:
        return f"`{m['id']}`: the backcast starts no fab in 2021, so the ratio is not defined there."
    k = int(in_2021[0])
    share = float(starts[k]) / first
    trend = "fall" if then < first else "rise"
    return (f"`{m['id']}`: the backcast starts {first:.0f} fabs in 2021 and {then:.0f} in {year} per run (ratio "
            f"{then / first:.2f}; SEMI {m['value']:.2f}); {share:.0%} of its 2021 starts fall in its first quarter "
            f"with starts ({bc.quarters[k]}): the firms start at once much of the expansion the start state makes "
            f"profitable, and starts then {trend}, where SEMI's {'rose' if m['value'] > 1 else 'fell'}.")


# ------------------------------------------------------------------ formatting
def _pct(v: float, digits: int = 1) -> str:
    return "–" if v is None or not np.isfinite(v) else f"{100 * v:.{digits}f} %"


def _growth(v: float) -> str:
    """A signed growth rate in per cent, with a true minus sign."""
    return "–" if v is None or not np.isfinite(v) else f"{100 * v:+.1f} %".replace("-", "−")


def _pp(v: float, digits: int = 1, sign: bool = False) -> str:
    if v is None or not np.isfinite(v):
        return "–"
    return f"{100 * v:{'+' if sign else ''}.{digits}f} pp".replace("-", "−")


def _num(v: float, fmt: str = ".3g") -> str:
    return "–" if v is None or not np.isfinite(v) else f"{v:{fmt}}".replace("-", "−")


def _err(family: str, v: float, sign: bool = False) -> str:
    """An error or difference of a family's values: points for shares, plain for ratios."""
    if _ratio_family(family):
        return "–" if not np.isfinite(v) else f"{v:{'+' if sign else ''}.3f}".replace("-", "−")
    return _pp(v, sign=sign)


def _value(family: str, v: float) -> str:
    if _ratio_family(family):
        return _num(v, ".3f")
    if family.startswith("share_change"):
        return _pp(v, sign=True)
    return _pct(v)


def _table(header: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    align = align or "l" + "r" * (len(header) - 1)
    sep = ["---:" if a == "r" else ":-:" if a == "c" else "---" for a in align]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _short(path: str) -> str:
    return path.split(".")[-1]


def _rel(path: str | Path) -> str:
    """A path as a reader types it from the repository root (absolute when outside it)."""
    p = Path(path)
    try:
        return str(p.resolve().relative_to(ROOT))
    except ValueError:
        return str(p)


# ------------------------------------------------------------------ figures
def shares_figure(bands: pd.DataFrame, targets: pd.DataFrame, bc: Backcast, split: int):
    """One panel per SEMI region: the capacity share over the quarters (mean over seeds, band 5–95 %), SEMI's
    300mm shares of 2021 and 2022 (hollow) and all-size shares of 2024 (filled, ± 1.96 sd)."""
    from experiments.estimation import SEMI_REGIONS
    from experiments.plots.base import quarter_axis, subplots

    regions = list(SEMI_REGIONS)
    ncols = 4
    nrows = math.ceil((len(regions) + 1) / ncols)           # one panel more: the legend's place
    fig, axes = subplots(nrows, ncols, figsize=(13, 3.3 * nrows), sharey=True)
    flat = axes.ravel()
    steps = bc.frames[0]["step"].to_numpy()
    split_row = bc.row(f"{split + 1}Q1")
    shown = targets[targets["family"].isin(["capacity_300mm_2021", "capacity_300mm_2022", "share_2024"])]
    top = max(float(bands["p95"].max()),
              float((shown["value"] + 1.96 * shown["sd"].fillna(0)).max()) if len(shown) else 0.0)
    for ax, region in zip(flat, regions):
        b = bands[bands["region"] == region]
        ax.fill_between(b["step"], 100 * b["p05"], 100 * b["p95"], color="C0", alpha=0.25, lw=0,
                        label=f"model: {BAND[0]:g}th–{BAND[1]:g}th percentile over {len(bc.seeds)} seeds")
        ax.plot(b["step"], 100 * b["mean"], color="C0", lw=1.8, label="model: mean over seeds")
        for fam, year, style in (("capacity_300mm_2021", 2021, "o"), ("capacity_300mm_2022", 2022, "s")):
            t = shown[(shown["family"] == fam) & (shown["region"] == region)]
            row = bc.row(_year_end(year))
            if len(t) and row is not None:
                ax.plot([steps[row]], [100 * t["value"].iloc[0]], style, mfc="none", mec="k", mew=1.3, ms=7,
                        ls="none", label=f"SEMI {year}, 300mm only (another definition)")
        t = shown[(shown["family"] == "share_2024") & (shown["region"] == region)]
        row = bc.row(_year_end(2024))
        if len(t) and row is not None:
            ax.errorbar([steps[row]], [100 * t["value"].iloc[0]], yerr=[196 * t["sd"].iloc[0]], fmt="D", color="k",
                        ms=6, capsize=3, label="SEMI 2024, all wafer sizes (± 1.96 sd)")
        if split_row is not None:
            ax.axvline(steps[split_row], color="0.4", ls=":", lw=1,
                       label=f"end of the fitted years (≤ {split}); later years held out")
        ax.set_title(region, fontsize=10)
        ax.grid(alpha=0.3)
        quarter_axis(ax, steps, np.array(bc.quarters), n_ticks=4)
        ax.tick_params(axis="x", labelsize=8)
        ax.set_ylim(0, 100 * top * 1.1)
    handles, labels = [], []
    for ax in flat[:len(regions)]:                 # every kind of mark, even one missing in the first panel
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    for ax in flat[len(regions):]:
        ax.set_visible(False)
    for k, ax in enumerate(flat[:len(regions)]):
        ax.set_ylabel("share of world fab capacity (%)" if k % ncols == 0 else "")
    fig.suptitle(f"Fab capacity share by SEMI region: {bc.name} at the estimate vs SEMI", fontsize=12)
    fig.tight_layout(rect=(0, 0, 1, 0.96))
    spare = flat[len(regions)].get_position()
    fig.legend(handles, labels, loc="center", bbox_to_anchor=(spare.x0 + spare.width / 2, spare.y0 + spare.height / 2),
               fontsize=7.5, frameon=False)
    return fig


def starts_figure(starts: pd.DataFrame, n_seeds: int):
    """Per family (2021–22, 2021–23): per region, SEMI's share of construction starts (± 1.96 sd), the model's
    mean with its 5–95 % over seeds, and the capacity-share rule."""
    from experiments.plots.base import subplots

    fams = sorted(starts["family"].unique())
    fig, axes = subplots(1, len(fams), figsize=(6.2 * len(fams), 4.8), squeeze=False, sharey=True)
    vals = starts[["p95", "naive"]].to_numpy(dtype=float).ravel()
    vals = np.concatenate([vals[np.isfinite(vals)], (starts["value"] + 1.96 * starts["sd"]).to_numpy(dtype=float)])
    top = float(vals.max()) if len(vals) else 0.1
    from experiments.estimation import SEMI_REGIONS

    order = {r: k for k, r in enumerate(SEMI_REGIONS)}
    for ax, fam in zip(axes[0], fams):
        g = starts[starts["family"] == fam].sort_values("region", key=lambda r: r.map(order), kind="stable")
        g = g.reset_index(drop=True)
        x = np.arange(len(g))
        ax.errorbar(x - 0.15, 100 * g["value"], yerr=196 * g["sd"], fmt="o", color="k", capsize=3, ms=5,
                    label="SEMI (± 1.96 sd)")
        if g["reached"].all():
            ax.errorbar(x + 0.15, 100 * g["model_mean"],
                        yerr=[100 * (g["model_mean"] - g["p05"]), 100 * (g["p95"] - g["model_mean"])],
                        fmt="s", color="C0", capsize=3, ms=5,
                        label=f"model: mean, {BAND[0]:g}th–{BAND[1]:g}th percentile over {n_seeds} seeds")
        ax.plot(x, 100 * g["naive"], "x", color="C3", ms=7, ls="none", label=f"{CAPACITY_RULE} (2022 300mm shares)")
        ax.set_xticks(x, [r.replace(" & ", " &\n").replace("Southeast ", "Southeast\n") for r in g["region"]],
                      fontsize=8)
        ax.set_xlabel("SEMI region")
        years = fam.removeprefix("starts_").replace("_", "–20")
        ax.set_title(f"construction starts {years}" + ("" if g["reached"].all() else " (runs end earlier)"),
                     fontsize=10)
        ax.grid(alpha=0.3, axis="y")
        ax.set_ylim(0, 100 * top * 1.15)
    axes[0, 0].set_ylabel("share of world fab construction starts (%)")
    fig.suptitle("Fab construction starts by region: model at the estimate vs SEMI", fontsize=12)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    first = {lab: h for h, lab in zip(handles, labels)}
    labels = sorted(first, key=lambda lab: (not lab.startswith("SEMI"), not lab.startswith("model")))
    handles = [first[lab] for lab in labels]
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def posterior_figure(est: EstimateOutput):
    """One panel per estimated parameter: the posterior draws over the prior range, the point and the 95 %
    interval."""
    from experiments.plots.base import parameter_label, subplots

    names = list(est.point)
    ncols = min(4, len(names))
    nrows = math.ceil(len(names) / ncols)
    fig, axes = subplots(nrows, ncols, figsize=(3.4 * ncols + 0.6, 2.9 * nrows + 0.9), squeeze=False, sharey=True)
    ident = est.identification.set_index("parameter")
    for ax, name in zip(axes.ravel(), names):
        lo, hi = (float(v) for v in est.summary["bounds"][name])
        clo, chi = (float(v) for v in est.summary["ci95"][name])
        d = est.draws[name].to_numpy(dtype=float)
        ax.axvspan(clo, chi, color="C1", alpha=0.18, lw=0, label="95 % interval")
        ax.hist(d, bins=np.linspace(lo, hi, 25), color="C0", alpha=0.8, label=f"draws (n={len(d)})")
        ax.axvline(est.point[name], color="k", lw=1.5, label="point estimate")
        for b in (lo, hi):
            ax.axvline(b, color="0.45", ls="--", lw=1, label="prior range (the estimation's bounds)")
        pad = 0.03 * (hi - lo)
        ax.set_xlim(lo - pad, hi + pad)
        label = parameter_label(name)
        ax.set_xlabel(label.replace(" (", "\n(", 1) if len(label) > 34 else label, fontsize=8.5)
        pinned = bool(ident.loc[name, "pinned"]) if name in ident.index else None
        tag = "" if pinned is None else (" — identified" if pinned else " — not identified")
        ax.set_title(f"{_short(name)}{tag}", fontsize=9.5)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("draws (count)")
    for ax in axes.ravel()[len(names):]:
        ax.set_visible(False)
    handles, labels = axes[0, 0].get_legend_handles_labels()
    first = dict(zip(labels, handles))
    labels, handles = list(first), list(first.values())
    fig.suptitle("Posterior draws of the estimated parameters over their prior ranges", fontsize=11)
    fig.tight_layout(rect=(0, 0.08 if nrows == 1 else 0.05, 1, 0.94))
    fig.legend(handles, labels, loc="lower center", ncol=4, fontsize=8, frameon=False)
    return fig


# ------------------------------------------------------------------ the report
@dataclass
class HistoryReport:
    """Everything the report shows, computed; :meth:`markdown` writes it, :attr:`figures` draws it."""

    est: EstimateOutput
    bc: Backcast
    targets: pd.DataFrame
    bands: pd.DataFrame
    starts: pd.DataFrame
    scores: pd.DataFrame
    misses: pd.DataFrame
    diagnoses: dict[str, list[str]]
    commands: list[str]
    location_check: Any = None            # experiments.validation.LocationValidation (k-fold, latest) or None
    location_latest: Any = None
    emergence: pd.DataFrame | None = None
    emergence_source: str | None = None
    estimate_scenario: str | None = None      # the estimation's scenario by name, when it can be loaded
    figures: dict[str, Callable[[], Any]] = field(default_factory=dict)

    # ---- sections
    def markdown(self) -> str:
        parts = [self._head(), self._reproduce(), self._method(), self._shares(), self._starts(),
                 self._posterior(), self._scores(), self._misses()]
        n = 6
        if self.location_check is not None:
            parts.append(self._location_check(n))
            n += 1
        if self.emergence is not None:
            parts.append(self._emergence(n))
        return "\n\n".join(p.rstrip() for p in parts) + "\n"

    def _head(self) -> str:
        from experiments.runner import git_revision

        s = self.est.summary
        text = (f"# Validation against history\n\n"
                f"Generated by `kyoso history` (`experiments/history.py`, commit "
                f"`{(git_revision() or 'unknown')[:7]}`) from the estimate in `{_rel(self.est.path)}` (estimation "
                f"file `{_rel(s.get('file', '?'))}`, scenario `{Path(str(s.get('scenario', '?'))).stem}`, commit "
                f"`{str(s.get('revision') or 'unknown')[:7]}`) and {len(self.bc.seeds)} runs of the backcast "
                f"`{self.bc.name}` at the estimate. Do not edit by hand: rerun the commands below. Every number is "
                "computed from those files and runs.")
        if self.estimate_scenario is not None and self.estimate_scenario != self.bc.name:
            text += (f"\n\n**Note:** the estimate was made on the scenario `{self.estimate_scenario}`, the backcast "
                     f"runs `{self.bc.name}`: §1–2 (backcast) and §4–5 (the estimation's check runs) come from "
                     "different scenarios.")
        return text

    def _reproduce(self) -> str:
        return "## How to reproduce\n\n```\n" + "\n".join(self.commands) + "\n```"

    def _method(self) -> str:
        from experiments.estimation import SEMI_REGIONS

        s, bc = self.est.summary, self.bc
        design = s.get("design", {})
        fitted = len(s.get("targets_fitted", []))
        n_targets = int((self.targets["role"] == "target").sum()) if "role" in self.targets else len(self.est.fit)
        regions = "; ".join(f"{r} = {', '.join(c for c in m if c in bc.countries) or '—'}"
                            for r, m in SEMI_REGIONS.items())
        other = [c for c in bc.countries if not any(c in m for m in SEMI_REGIONS.values())]
        checks = int(self.est.fit["model_mean"].notna().sum())
        lines = [
            "## Data and method\n",
            f"- **Targets**: `model/data/history_targets.csv`, {n_targets} published SEMI shares and ratios for "
            f"2021–2024, each with its source and a measurement sd; {fitted} targets whose period ends by "
            f"{self.est.split} were fitted, the other {len(self.est.fit) - fitted} are held out (out of sample). "
            "Reference rows (300mm capacity shares of 2021 and 2022) are shown, not fitted.",
            f"- **Estimation** (`kyoso estimate`, `experiments/estimation.py`): {s.get('method', 'not recorded')}; "
            f"design {design.get('kind', '?')} with {design.get('points', '?')} points × "
            f"{design.get('replications', '?')} seeds. The fit table (§4–5) comes from the estimation's check runs "
            f"at the estimate on fresh seeds ({checks} targets with a model value).",
            f"- **Backcast** (§1–2 and the diagnoses in §5): `{bc.name}` from {bc.quarters[0]} for {bc.horizon} "
            f"quarters at the estimate, {len(bc.seeds)} seeds (`replication_seeds`). A band is the "
            f"{BAND[0]:g}th–{BAND[1]:g}th percentile of the {len(bc.seeds)} runs' values at each quarter "
            "(the spread of single runs, not an interval of the mean); the line is their mean.",
            f"- **Regions**: the model's countries summed into SEMI's regions: {regions} "
            "(India is put in Southeast Asia: SEMI's tables have no South Asia; model assumption)."
            + (f" Not in any SEMI region: {', '.join(other)}." if other else ""),
            "- **Definitions**: the model counts all wafer sizes in 200mm equivalents; SEMI's 2021 and 2022 "
            "capacity shares are 300mm only (a different definition, drawn hollow), its 2024 shares cover all "
            "sizes. A year's value is read from the model's metrics row of that year's fourth quarter "
            "(as the estimation reads it).",
        ]
        return "\n".join(lines)

    def _shares(self) -> str:
        from experiments.estimation import SEMI_REGIONS

        bc, t, b = self.bc, self.targets, self.bands
        end_q = bc.quarters[-1]                     # the last row, as `kyoso run` names a run's end
        rows = []
        gaps = []
        for region in SEMI_REGIONS:
            def obs(fam: str) -> float:
                r = t[(t["family"] == fam) & (t["region"] == region)]["value"]
                return float(r.iloc[0]) if len(r) else np.nan

            def model(q: str) -> tuple[float, float, float]:
                r = b[(b["region"] == region) & (b["quarter"] == q)]
                return (tuple(float(r[c].iloc[0]) for c in ("mean", "p05", "p95")) if len(r)
                        else (np.nan, np.nan, np.nan))

            def cell(v: tuple[float, float, float]) -> str:
                return f"{_pct(v[0])} [{_pct(v[1])}, {_pct(v[2])}]" if np.isfinite(v[0]) else "not reached"

            m0, m21, m22, m24, mend = (model(q) for q in (bc.quarters[0], "2021Q4", "2022Q4", "2024Q4", end_q))
            o24 = obs("share_2024")
            sd24 = t[(t["family"] == "share_2024") & (t["region"] == region)]["sd"]
            if np.isfinite(m24[0]) and np.isfinite(o24):
                gaps.append((region, m24[0] - o24, m24[0], o24))
            rows.append([region, _pct(m0[0]), f"{_pct(obs('capacity_300mm_2021'))} / {cell(m21)}",
                         f"{_pct(obs('capacity_300mm_2022'))} / {cell(m22)}",
                         f"{_pct(o24)} ± {_pp(float(sd24.iloc[0])) if len(sd24) else '–'} / {cell(m24)}",
                         cell(mend)])
        table = _table(["SEMI region", f"model {bc.quarters[0]}", "2021: SEMI 300mm / model",
                        "2022: SEMI 300mm / model", "2024: SEMI all sizes ± sd / model",
                        f"model {end_q}"], rows)
        text = [f"## 1. Capacity shares by region, {bc.quarters[0]}–{end_q}\n",
                f"![capacity shares by SEMI region]({FIGURES}/history_shares.png)\n",
                "Model: mean over seeds [5th, 95th percentile]. SEMI's 2021 and 2022 values are 300mm capacity only "
                "(another definition than the model's all sizes); only the 2024 values are a like-for-like target "
                "(held out when the split is before 2024).\n", table]
        if gaps:
            mae = float(np.mean([abs(g[1]) for g in gaps]))
            worst = max(gaps, key=lambda g: abs(g[1]))
            text.append(f"\nIn 2024 the model's mean share is {_pp(mae)} from SEMI's all-size share on average over "
                        f"the {len(gaps)} regions; the largest gap is {worst[0]} (model {_pct(worst[2])}, SEMI "
                        f"{_pct(worst[3])}).")
        else:
            text.append(f"\nThe runs end before 2024Q4: no like-for-like comparison (raise `--quarters`).")
        return "\n".join(text)

    def _starts(self) -> str:
        st = self.starts
        text = ["## 2. Construction starts by region\n",
                f"![construction starts by region]({FIGURES}/history_starts.png)\n",
                "Share of the world's fab construction starts in each SEMI region: SEMI (± sd, the targets file's "
                f"measurement sd), the backcast (mean over seeds [{BAND[0]:g}th, {BAND[1]:g}th percentile]) and the "
                f"{CAPACITY_RULE}. In-sample (fitted) or held out as the split ({self.est.split}) says.\n"]
        for fam, g in st.groupby("family", sort=True):
            years = fam.removeprefix("starts_").replace("_", "–20")
            sample = "in sample" if int(g["period_end"].iloc[0]) <= self.est.split else "held out"
            rows = []
            for r in g.itertuples():
                model = (f"{_pct(r.model_mean)} [{_pct(r.p05)}, {_pct(r.p95)}]" if r.reached else "not reached")
                inside = ("–" if not r.reached else "yes" if r.p05 <= r.value <= r.p95 else "no")
                rows.append([r.region, f"{_pct(r.value)} ± {_pp(r.sd)}", model, inside, _pct(r.naive)])
            text.append(f"**{years}** ({sample}):\n")
            text.append(_table(["SEMI region", "SEMI", "model", "SEMI inside the model's band", CAPACITY_RULE], rows))
            if g["reached"].all():
                mm = float((g["model_mean"] - g["value"]).abs().mean())
                nv = float((g["naive"] - g["value"]).abs().mean())
                inside = int(((g["p05"] <= g["value"]) & (g["value"] <= g["p95"])).sum())
                text.append(f"\nMean absolute error over the {len(g)} regions: model {_pp(mm)}, {CAPACITY_RULE} "
                            f"{_pp(nv)}; SEMI's value is inside the model's {BAND[0]:g}–{BAND[1]:g} % band in "
                            f"{inside} of {len(g)} regions.\n")
            else:
                text.append(f"\nThe runs end before {fam[-2:]}Q4: not scored (raise `--quarters`).\n")
        return "\n".join(text)

    def _posterior(self) -> str:
        est = self.est
        s = est.summary
        ident = est.identification.set_index("parameter")
        rows = []
        for name, v in est.point.items():
            lo, hi = s["bounds"][name]
            clo, chi = s["ci95"][name]
            i = ident.loc[name] if name in ident.index else None
            rows.append([f"`{name}`", _num(v, ".4g"), _num(float(s["se"][name]), ".3g"),
                         f"{_num(float(clo), '.4g')} to {_num(float(chi), '.4g')}",
                         f"{_num(float(lo), '.4g')} to {_num(float(hi), '.4g')}",
                         "–" if i is None else f"{float(i['ci_width_share_of_range']):.2f}",
                         "–" if i is None else ("yes" if _true(i["pinned"]) else "**no**"),
                         "–" if i is None else f"{i['main_source']} ({float(i['main_source_share']):.0%})",
                         "–" if i is None else ("yes" if _true(i["at_bound"]) else "no")])
        n_id = sum(1 for r in rows if r[6] == "yes")
        at_bound = [r[0] for r in rows if r[8] == "yes"]
        text = ["## 3. The posterior\n",
                f"![posterior draws]({FIGURES}/posterior.png)\n",
                f"Point estimate, sandwich standard error and 95 % interval (clipped to the prior range); the draws "
                f"({len(est.draws)}, `draws.csv`) are from the asymptotic normal posterior truncated to the range. "
                "*Identified*: the 95 % interval is narrower than half the prior range (`identification.csv`); "
                "*main source*: the target (or the announced sites' location likelihood) that carries most of the "
                "parameter's information.\n",
                _table(["parameter", "point", "se", "95 % interval", "prior range", "interval / range",
                        "identified", "main source (share)", "at a bound"], rows),
                f"\n{n_id} of {len(rows)} parameters are identified by the data."
                + (f" At a bound of its range: {', '.join(at_bound)} (the data push it there; the interval is "
                   "one-sided)." if at_bound else "")]
        return "\n".join(text)

    def _scores(self) -> str:
        sc = self.scores
        extra = [c for c in sc.columns if c.startswith("mae_")]
        rows = []
        for r in sc.to_dict("records"):
            fam = str(r["family"])
            rows.append([r["sample"], f"{fam} ({FAMILY_WORDS.get(fam, fam)})", int(r["targets"]), r["rule"],
                         _err(fam, r["model_mae"]), _err(fam, r["naive_mae"]),
                         *[_err(fam, r[c]) for c in extra],
                         f"{int(r['model_closer'])} of {int(r['targets'])}",
                         f"{_err(fam, r['diff'], sign=True)}" + (f" [{_err(fam, r['diff_low'], sign=True)}, "
                                                                  f"{_err(fam, r['diff_high'], sign=True)}]"
                                                                  if np.isfinite(r["diff_low"]) else ""),
                         _num(r["mean_abs_z"], ".2f"), r["verdict"]])
        out = sc[sc["sample"] == "out"]
        won = out[out["verdict"].str.startswith("model closer")]
        lost = out[out["verdict"].str.startswith("naive")]
        text = ["## 4. Scores against naive rules\n",
                "Two naive rules, from data known at the split "
                "(`experiments.estimation.naive_predictions`):\n",
                *[f"- **{k}**: {v};" for k, v in NAIVE_RULES.items()],
                "\nEach family is scored against the rule that applies to it. Errors: mean absolute error (MAE) over "
                "the family's targets, in percentage points of share (growth ratios: plain). The model's value is "
                "the mean of the estimation's check runs. *Difference*: model − naive absolute error, mean over the "
                "family's targets with its 95 % t-interval (targets as the unit). Out of sample first.\n",
                _table(["sample", "family", "targets", "naive rule", "model MAE", "naive MAE",
                        *[f"MAE {c.removeprefix('mae_')}" for c in extra], "model closer on", "difference [95 %]",
                        "mean abs z", "which wins"], rows,
                       align="llrl" + "rr" + "r" * len(extra) + "rrrl")]
        if len(out):
            text.append(f"\nOut of sample the model is closer than its naive rule in {len(won)} of {len(out)} "
                        f"families ({', '.join(won['family']) or 'none'}) and further in {len(lost)} "
                        f"({', '.join(lost['family']) or 'none'}).")
        text.append(self._location_scores())
        return "\n".join(text)

    def _location_scores(self) -> str:
        loc = self.est.location
        if loc is None:
            return ("\n**Locations.** No location weights were estimated (no `location.csv`): no location score.")
        piv = loc.pivot_table(index="model", columns="sample", values="mean_loglik", aggfunc="first")
        sites = loc.groupby("sample")["sites"].first()
        order = [m for m in ("estimated", "baseline weights", "home+brownfield", "equal shares") if m in piv.index]
        order += [m for m in piv.index if m not in order]
        rows = [[m, *[_num(piv.loc[m, s], ".3f") if s in piv.columns else "–" for s in ("in", "out")]] for m in order]
        text = ["\n**Locations.** Mean log-likelihood per announced site of the region it chose (`location.csv`): "
                f"in sample = sites announced by {self.est.split} (or undated), held out = announced later; the "
                "home + brownfield logit is fitted on the in-sample sites.\n",
                _table(["model", f"in sample ({int(sites.get('in', 0))} sites)",
                        f"held out ({int(sites.get('out', 0))} sites)"], rows)]
        for s, words in (("out", "held out"), ("in", "in sample")):
            if "estimated" in piv.index and "home+brownfield" in piv.index and s in piv.columns:
                d = piv.loc["estimated", s] - piv.loc["home+brownfield", s]
                if np.isfinite(d):
                    better = "estimated weights better" if d > 0 else "home+brownfield better" if d < 0 else "equal"
                    text.append(f"\n{words.capitalize()}: estimated − home+brownfield = {_num(d, '+.3f')} per site "
                                f"({better}; location.csv gives means only, no interval).")
                elif s == "out":
                    text.append(f"\nHeld out: no announced site is dated after {self.est.split}, so there is no "
                                "out-of-sample location score.")
        return "\n".join(text)

    def _misses(self) -> str:
        m = self.misses
        text = [f"## 5. Known misses\n",
                f"Targets with |z| > {MISS_Z:g}, z = (model − SEMI) / √(sd² + model sd²), model = mean of the "
                "check runs (sd over them).\n"]
        if m.empty:
            text.append(f"No target has |z| > {MISS_Z:g}.")
            return "\n".join(text)
        rows = [[f"`{r.id}`", r.sample, _value(r.family, r.value) + f" ± {_err(r.family, r.sd)}",
                 _value(r.family, r.model_mean) + f" ± {_err(r.family, r.model_sd)}", _num(r.z, "+.2f")]
                for r in m.itertuples()]
        text.append(_table(["target", "sample", "SEMI ± sd", "model ± sd", "z"], rows))
        text.append(f"\n{len(m)} of {len(self.est.fit)} targets are missed ({int((m['sample'] == 'out').sum())} of "
                    "them held out). What the data say, by family (facts from the backcast runs and the targets; "
                    "\"not diagnosed\" where they say nothing):\n")
        for fam, notes in self.diagnoses.items():
            text.append(f"- **{fam}** ({FAMILY_WORDS.get(fam, fam)}):")
            text += [f"  - {n}" for n in notes]
        return "\n".join(text)

    def _location_check(self, n: int) -> str:
        from experiments.validation import MODELS

        res, late = self.location_check, self.location_latest
        uniform = math.log(1 / res.regions)

        def table(r: Any, kfold: bool) -> str:
            rows = []
            for x in r.summary.itertuples():
                sd = (lambda v: f" ± {v:.3f}") if kfold else (lambda v: "")
                rows.append([x.model, x.free_weights, _num(x.in_sample_loglik, ".3f"),
                             _num(x.heldout_loglik, ".3f") + sd(x.heldout_loglik_sd),
                             _num(x.heldout_pseudo_r2, ".3f") + sd(x.heldout_pseudo_r2_sd),
                             f"{x.top1:.2f}" + (f" ± {x.top1_sd:.2f}" if kfold else ""),
                             f"{x.top3:.2f}" + (f" ± {x.top3_sd:.2f}" if kfold else "")])
            return _table(["model", "free weights", "in-sample LL", "held-out LL" + (" (± SD over folds)" if kfold
                                                                                     else ""),
                           "held-out pseudo-R²", "top-1", "top-3"], rows)

        def paired(r: Any) -> str:
            p = r.paired
            return (f"12-term − home+brownfield, held-out LL per site: {_num(p['diff'], '+.3f')} (95 % CI "
                    f"{_num(p['ci_low'], '+.3f')} to {_num(p['ci_high'], '+.3f')}, {p['n']} sites; the 12-term model "
                    f"is better on {p['share_better']:.0%} of them) — "
                    + ("the two cannot be told apart (the interval includes 0)." if p["ci_low"] <= 0 <= p["ci_high"]
                       else "12-term better." if p["ci_low"] > 0 else "home+brownfield better."))

        best = res.summary.loc[res.summary["heldout_loglik"].idxmax(), "model"]
        best_late = late.summary.loc[late.summary["heldout_loglik"].idxmax(), "model"] if late is not None else None
        c = res.chosen
        text = [f"## {n}. The location logit on held-back announced sites\n",
                f"The {res.observations} announced (building) sites of named firms in the baseline are real location "
                f"choices over {res.regions} regions (`experiments.calibration.observed_choices`: the raw utility "
                "terms of every region on the step-0 state, the site itself left out). Three logits are scored on "
                f"sites they were not fitted to (`experiments/validation.py`): the scenario's own weights "
                f"(`{MODELS[0]}`, not fitted), all twelve weights fitted by maximum likelihood (`{MODELS[1]}`) and "
                f"only `w_home` and `w_expansion` fitted (`{MODELS[2]}`). Scores: mean log-likelihood per site (LL), "
                f"McFadden's pseudo-R² against equal shares (LL = {_num(uniform, '.3f')}), top-1 / top-3 hit rates "
                "(ties broken at random, in expectation).\n",
                f"```\nkyoso validate-location                # {res.n_folds}-fold × {res.repeats} repeats, "
                f"seed {res.seed}\n```\n", table(res, True), f"\n{paired(res)} Best held-out LL: `{best}`.\n"]
        if late is not None:
            text += [f"```\nkyoso validate-location --split latest  # fit on the "
                     f"{int(late.folds['n_train'].iloc[0])} sites online first, score the "
                     f"{int(late.folds['n_test'].iloc[0])} online last\n```\n", table(late, False),
                     f"\n{paired(late)} Best held-out LL: `{best_late}`.\n"]
        w = res.weights
        text.append("Weights (" + " / ".join(w.index) + f"; `{MODELS[0]}` is the scenario's, the others are fitted on "
                    "all sites): "
                    + "; ".join(f"`{n}` " + " / ".join(f"{w.loc[m, n]:.2f}" for m in w.index) for n in w.columns)
                    + f". Of the announced sites {c['home']:.0%} are in the firm's home country, {c['brownfield']:.0%} "
                      f"expand a same-segment site, {c['either']:.0%} one or the other.")
        return "\n".join(text)

    def _emergence(self, n: int) -> str:
        from experiments.emergence import emergence_findings

        t = self.emergence
        x, y = "params.w_agglomeration", "params.w_coordination"
        seeds = f"{int(t['seeds'].iloc[0])} seeds per point" if "seeds" in t.columns else "seeds as in the sweep"
        variants = list(dict.fromkeys(t["variant"])) if "variant" in t.columns else []
        def values(col: str) -> str:
            return "{" + ", ".join(f"{v:g}" for v in sorted(t[col].unique())) + "}"

        grid = f"`w_agglomeration` ∈ {values(x)} × `w_coordination` ∈ {values(y)}"
        text = [f"## {n}. Path dependence of the segment leaders\n",
                "Does the region that leads a segment's new capacity depend on chance, and does agglomeration create "
                "that? In each run and segment the *leader* is the region with the most new capacity started; over "
                "the seeds of a parameter point, *divergence* = 1 − the share of seeds agreeing with the most "
                "frequent leader, averaged over the segments, with a 95 % t-interval over seeds "
                "(`experiments/emergence.py`). It is read against the column `w_agglomeration` = 0, where a new site "
                "does not raise a region's pull for others.\n",
                f"Sweep: {grid}, {seeds}"
                + (f"; variants {', '.join(f'`{v}`' for v in variants)}" if variants else "")
                + f" (`experiments/sweeps/emergence.toml`; table `{self.emergence_source}`).\n",
                "```\npython benchmarks/emergence.py      # the sweep: writes docs/figures/emergence.csv and .png\n"
                "```\n",
                f"![divergence of the segment leaders]({FIGURES}/emergence.png)\n",
                "What the table shows (`experiments.emergence.emergence_findings`):\n"]
        text += [f"- {s}." for s in emergence_findings(t)]
        return "\n".join(text)


def _true(v: Any) -> bool:
    return str(v).strip().lower() in ("true", "1", "yes")


def build_report(estimate_dir: str | Path, *, scenario: str | Path = DEFAULT_SCENARIO, seeds: int = DEFAULT_SEEDS,
                 quarters: int | None = None, seed: int = 0, location_check: bool = True,
                 emergence: str | Path | None = None, commands: list[str] | None = None,
                 targets: pd.DataFrame | None = None) -> HistoryReport:
    """Read the estimate, run the backcast, compute every table (nothing is written).

    ``emergence``: the path-dependence table (``benchmarks/emergence.py``'s CSV), or None for no such section.
    """
    from experiments.estimation import load_targets
    from model.scenario import load_scenario

    est = read_estimate(estimate_dir)
    if seeds < 2:
        raise UserError(f"--seeds {seeds}: expected at least 2 (a band over seeds needs two runs)")
    load_scenario(scenario, **est.settings)       # an unknown scenario or a parameter it lacks: one line, first
    em = None
    if emergence is not None:
        from experiments.emergence import load_emergence_table

        path = Path(emergence)
        if not path.is_file():
            raise UserError(f"--emergence {path}: not found (write it with: python benchmarks/emergence.py)")
        em = load_emergence_table(path)
    targets = load_targets() if targets is None else targets
    try:
        est_scenario = load_scenario(est.summary.get("scenario") or "").meta.name
    except Exception:  # noqa: BLE001  (the estimation's scenario file may be gone: nothing to compare)
        est_scenario = None
    bc = run_backcast(scenario, est.settings, seeds=seeds, quarters=quarters, seed=seed)
    misses = known_misses(est)
    report = HistoryReport(est=est, bc=bc, targets=targets, bands=share_bands(bc), starts=starts_table(bc, targets),
                           scores=score_rows(est), misses=misses, diagnoses=_diagnoses(misses, bc, targets),
                           commands=commands or [], emergence=em,
                           emergence_source=_rel(emergence) if em is not None else None,
                           estimate_scenario=est_scenario)
    if location_check:
        from experiments.validation import validate_location

        report.location_check = validate_location("baseline")
        report.location_latest = validate_location("baseline", split="latest")
    report.figures = {
        "history_shares.png": lambda: shares_figure(report.bands, targets, bc, est.split),
        "history_starts.png": lambda: starts_figure(report.starts, len(bc.seeds)),
        "posterior.png": lambda: posterior_figure(est),
    }
    if em is not None:
        report.figures["emergence.png"] = lambda: _emergence_figure(em)
    return report


def _emergence_figure(table: pd.DataFrame):
    from experiments.emergence import divergence_figure

    return divergence_figure(table)


# ------------------------------------------------------------------ writing
def check_output(out: Path, *, force: bool) -> None:
    """Refuse a file, or an existing non-empty directory unless ``force`` (and then only plain files named
    like the report's are replaced)."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UserError(f"--out {out}: directory exists and is not empty (use --force to replace {REPORT} and the "
                        f"report's figures in it; other files are kept)")
    for rel in (REPORT, FIGURES):
        p = out / rel
        if rel == REPORT and p.is_dir():
            raise UserError(f"--out {out}: {rel} in it is a directory, expected a file")
        if rel == FIGURES and p.exists() and not p.is_dir():
            raise UserError(f"--out {out}: {rel} in it is a file, expected a directory")


def write_report(report: HistoryReport, out: str | Path, *, force: bool = False) -> list[Path]:
    """Write ``VALIDATION.md`` and ``figures/*.png`` into ``out``: drawn into a temporary directory beside it,
    then renamed into place (a new ``out``) or moved in file by file (an existing one, with ``force``:
    only the report's own files are replaced)."""
    from experiments.plots.base import save

    out = Path(out)
    check_output(out, force=force)
    out_abs = out.resolve()
    out_abs.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_abs.name}.", dir=out_abs.parent))
    written = [REPORT]
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o777 & ~umask)         # mkdtemp makes it private; the report is for reading
        (tmp / FIGURES).mkdir()
        for name, draw in report.figures.items():
            fig = draw()
            if name == "emergence.png":        # as benchmarks/emergence.py draws it
                fig.savefig(tmp / FIGURES / name, dpi=130, bbox_inches="tight")
            else:
                save(fig, tmp / FIGURES / name, palette=True)
            written.append(f"{FIGURES}/{name}")
        (tmp / REPORT).write_text(report.markdown())
        if not out_abs.exists():
            tmp.rename(out_abs)
        else:
            (out_abs / FIGURES).mkdir(exist_ok=True)
            for rel in written[1:] + [REPORT]:          # the figures first, the report last
                os.replace(tmp / rel, out_abs / rel)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return [out / rel for rel in [REPORT] + written[1:]]


# ------------------------------------------------------------------ the command
def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``kyoso history``: its arguments on the ``kyoso`` sub-command parser ``sub``."""
    hs = sub.add_parser("history", help="the validation report against history: backcast at the estimate vs SEMI, "
                                        "posterior, out-of-sample scores, known misses (VALIDATION.md + figures)")
    hs.add_argument("--estimate", type=Path, required=True, metavar="DIR",
                    help="output directory of 'kyoso estimate' (estimate.json, fit.csv, scores.csv, ...)")
    hs.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="where to write VALIDATION.md and figures/ (e.g. docs)")
    hs.add_argument("--scenario", default=DEFAULT_SCENARIO,
                    help=f"backcast scenario, built-in name or TOML file (default: {DEFAULT_SCENARIO})")
    hs.add_argument("--seeds", type=_positive_int, default=DEFAULT_SEEDS,
                    help=f"backcast runs at the estimate, N ≥ 2 (default: {DEFAULT_SEEDS})")
    hs.add_argument("--seed", type=_seed, default=0, help="root seed of the backcast runs' seeds (default: 0)")
    hs.add_argument("--quarters", type=_positive_int, default=None,
                    help="quarters to simulate (default: the scenario's horizon)")
    hs.add_argument("--no-location-check", action="store_true",
                    help="leave out the cross-validation of the location logit (kyoso validate-location)")
    hs.add_argument("--emergence", type=Path, default=None, metavar="CSV",
                    help="path-dependence table of benchmarks/emergence.py (default: docs/figures/emergence.csv)")
    hs.add_argument("--no-path-dependence", action="store_true", help="leave out the path-dependence section")
    hs.add_argument("--force", action="store_true",
                    help="write into a non-empty --out: replaces VALIDATION.md and the report's figures, keeps all "
                         "other files")
    return hs


def _command(args: argparse.Namespace) -> list[str]:
    """The commands that reproduce the report: the estimation (from estimate.json) and this one."""
    est_cmd = None
    try:
        summary = json.loads((Path(args.estimate) / "estimate.json").read_text())
        if summary.get("file"):
            est_cmd = f"kyoso estimate {_rel(summary['file'])} --out {args.estimate}"
    except (OSError, ValueError):
        pass
    cmd = f"kyoso history --estimate {args.estimate} --out {args.out}"
    if str(args.scenario) != DEFAULT_SCENARIO:
        cmd += f" --scenario {args.scenario}"
    for flag, value, default in (("--seeds", args.seeds, DEFAULT_SEEDS), ("--seed", args.seed, 0),
                                 ("--quarters", args.quarters, None)):
        if value != default:
            cmd += f" {flag} {value}"
    if args.no_location_check:
        cmd += " --no-location-check"
    if args.emergence is not None:
        cmd += f" --emergence {args.emergence}"
    if args.no_path_dependence:
        cmd += " --no-path-dependence"
    if args.force:
        cmd += " --force"
    return [c for c in (est_cmd, cmd) if c]


def cmd_history(args: argparse.Namespace) -> int:
    """``kyoso history``: user errors raise :class:`UserError` (the ``kyoso`` command prints one line, exit 2)."""
    from experiments.emergence import EMERGENCE_CSV

    read_estimate(args.estimate)                        # user errors first, before any run
    check_output(args.out, force=args.force)
    emergence = None
    if not args.no_path_dependence:
        emergence = args.emergence if args.emergence is not None else (EMERGENCE_CSV if EMERGENCE_CSV.is_file()
                                                                         else None)
    report = build_report(args.estimate, scenario=args.scenario, seeds=args.seeds, quarters=args.quarters,
                          seed=args.seed, location_check=not args.no_location_check, emergence=emergence,
                          commands=_command(args))
    paths = write_report(report, args.out, force=args.force)
    print(f"kyoso history: wrote {paths[0]} and {len(paths) - 1} figures in {Path(args.out) / FIGURES}")
    for r in report.scores.to_dict("records"):
        if r["sample"] == "out":
            fam = str(r["family"])
            print(f"  out of sample {fam:<16} model MAE {_err(fam, r['model_mae'])}, {r['rule']} "
                  f"{_err(fam, r['naive_mae'])}: {r['verdict']}")
    return 0
