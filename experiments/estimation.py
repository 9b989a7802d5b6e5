"""Simulation-based estimation against history (``kyoso estimate FILE --out DIR``).

Method: the method of simulated moments (McFadden 1989; Pakes & Pollard 1989;
for agent-based models Franke & Westerhoff 2012, Grazzini & Richiardi 2015)
with common random numbers, run on the sweep engine, plus the likelihood of
the announced sites' locations.  Why this and not ABC-SMC (pyabc): the model
is stochastic but cheap (a 16-quarter backcast takes a fraction of a second),
the targets are a few dozen published shares and ratios with stated
measurement errors, and the sweep engine already gives every backend
(serial, processes, Dask), resume after interruption and a manifest; an MSM
over a space-filling design keeps all of that and yields estimates with
standard errors and an explicit identification check, where ABC would need
its own database, distances and tolerance schedule for a posterior of the
same shape (the draws here are the asymptotic normal posterior).

Steps (each resumable):

1. **Design**: a Latin hypercube or Sobol design over the parameter ranges
   of the estimation file, ``replications`` runs per point with common seeds
   (the same seeds at every point), stored like a sweep in ``DIR/design``.
2. **Moments**: every run's history moments (:func:`run_moments`): shares of
   fab construction starts by SEMI region, the growth of world starts, the
   change of capacity shares 2021→2022, capacity shares 2024 and shares of
   fab investment by region, each matched to a row of
   ``model/data/history_targets.csv`` (with its source and measurement sd).
3. **Fit**: a quadratic response surface of each moment over the design
   (in the design's normalised space), and the estimate
   θ̂ = argmin (m(θ) − t)ᵀ W (m(θ) − t) − 2 ℓ(θ) over the box, where W is the
   inverse of the diagonal of Ω = measurement variance + (1 + 1/R) × the
   within-point variance of the simulated moment (the world is one
   realisation of the process) and ℓ is the log-likelihood of the announced
   sites' regions under the location logit (only when location parameters
   are estimated).  Only targets whose period ends by ``split`` are used.
4. **Standard errors** (sandwich): V = A⁻¹ B A⁻¹ with A = GᵀWG + H and
   B = GᵀWΣWG + H, G the surrogate's Jacobian at θ̂, Σ the full moment
   covariance (measurement + simulation, pooled over points) and H the
   information of the location likelihood.  Draws from N(θ̂, V) truncated
   to the box stand for the posterior (``draws.csv``).
5. **Check**: the model is run again at θ̂ on fresh seeds (``DIR/check``);
   the fit of every target (in and out of sample) is read from those runs,
   not from the surrogate, and out-of-sample scores are set beside naive
   rules (:func:`naive_predictions`).
"""

from __future__ import annotations

import dataclasses
import json
import math
import tomllib
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd
from pydantic import Field, ValidationError, model_validator

from experiments.design import Range, build_design, toml_value
from experiments.errors import SweepError, UserError
from experiments.store import load_results, read_manifest
from experiments.sweepfile import ResolvedSweep, _Strict, parse_sweep, resolve_sweep
from model.scenario import validation_message

__all__ = ["SEMI_REGIONS", "TARGETS_FILE", "load_targets", "history_metrics", "run_moments", "EstimationSpec",
           "load_estimation", "Surrogate", "fit_moments", "estimate", "naive_predictions", "Estimate",
           "LOCATION_PARAMS", "location_likelihood"]

TARGETS_FILE = Path(__file__).resolve().parent.parent / "model" / "data" / "history_targets.csv"

#: SEMI's regions and the model's countries in each (India is put in Southeast Asia: SEMI's tables have no
#: South Asia and India's fab capacity is a fraction of a per cent; model assumption).
SEMI_REGIONS: dict[str, tuple[str, ...]] = {
    "China": ("CN",), "Taiwan": ("TW",), "Korea": ("KR",), "Japan": ("JP",), "Americas": ("US",),
    "Europe & Mideast": ("EU",), "Southeast Asia": ("SG", "MY", "TH", "VN", "ID", "IN"),
}

#: Location-logit parameters whose values the announced sites' likelihood informs.
LOCATION_PARAMS = ("params.logit_scale", "params.w_subsidy", "params.w_labour", "params.w_risk",
                   "params.w_infrastructure", "params.w_skill", "params.w_agglomeration", "params.w_home",
                   "params.w_bloc", "params.w_tariff", "params.w_distance", "params.w_coordination",
                   "params.w_expansion", "params.w_value")


# ------------------------------------------------------------------ targets
def load_targets(path: str | Path | None = None) -> pd.DataFrame:
    """The history targets (one row per moment): id, family, period_end, region, value, sd, role, source…"""
    df = pd.read_csv(path or TARGETS_FILE)
    need = {"id", "family", "period_end", "region", "value", "sd"}
    missing = need - set(df.columns)
    if missing:
        raise UserError(f"targets file {path}: missing column(s) {', '.join(sorted(missing))}")
    if "role" not in df.columns:
        df["role"] = "target"
    return df


def history_metrics(countries: list[str]) -> list[str]:
    """The metric columns the moments are computed from."""
    return [f"{k}_{c}" for k in ("share", "fab_starts", "fab_capex") for c in countries]


def _by_region(frame: pd.DataFrame, prefix: str, countries: list[str]) -> pd.DataFrame:
    """Columns ``prefix_<country>`` summed into the SEMI regions (rows as in ``frame``)."""
    out = {}
    for region, members in SEMI_REGIONS.items():
        cols = [f"{prefix}_{c}" for c in members if c in countries]
        out[region] = frame[cols].sum(axis=1).to_numpy() if cols else np.zeros(len(frame))
    return pd.DataFrame(out, index=frame.index)


def _year_rows(frame: pd.DataFrame, years: range | tuple[int, ...]) -> pd.Series:
    year = frame["quarter"].astype(str).str.slice(0, 4).astype(int)
    return year.isin(list(years)) & (frame["step"] > 0)


def _at(frame: pd.DataFrame, quarter: str) -> int:
    hit = np.flatnonzero(frame["quarter"].astype(str).to_numpy() == quarter)
    if len(hit) == 0:
        raise UserError(f"the runs do not reach {quarter}: raise 'quarters' in the estimation file")
    return int(hit[0])


def run_moments(frame: pd.DataFrame, targets: pd.DataFrame, countries: list[str]) -> pd.Series:
    """One run's value of every target moment (``targets.id`` order).

    ``frame``: one run's metrics rows (step, quarter, share_*, fab_starts_*,
    fab_capex_*), quarter labels as in the metrics table (row "2021Q1" is the
    start state; the rows of a year hold that year's steps).
    """
    frame = frame.reset_index(drop=True)
    starts = _by_region(frame, "fab_starts", countries)
    capex = _by_region(frame, "fab_capex", countries)
    share = _by_region(frame, "share", countries)
    out: dict[str, float] = {}
    for _, t in targets.iterrows():
        fam, region = t["family"], t["region"]
        if t.get("role", "target") == "reference":
            continue
        if fam in ("starts_2021_22", "starts_2021_23"):
            last = 2022 if fam.endswith("22") else 2023
            tot = starts[_year_rows(frame, range(2021, last + 1))].sum()
            out[t["id"]] = float(tot[region] / tot.sum()) if tot.sum() > 0 else np.nan
        elif fam == "starts_growth":
            per_q = {y: starts[_year_rows(frame, (y,))].sum(axis=1).mean() for y in (2021, int(t["period_end"]))}
            out[t["id"]] = float(per_q[int(t["period_end"])] / per_q[2021]) if per_q[2021] > 0 else np.nan
        elif fam == "share_change_2022":
            out[t["id"]] = float(share.loc[_at(frame, "2022Q4"), region] - share.loc[_at(frame, "2021Q4"), region])
        elif fam == "share_2024":
            out[t["id"]] = float(share.loc[_at(frame, "2024Q4"), region])
        elif fam.startswith("equipment_"):
            year = int(fam.split("_")[1])
            tot = capex[_year_rows(frame, (year,))].sum()
            among = targets.loc[targets["family"] == fam, "region"].tolist()
            denom = tot.sum() if fam == "equipment_2022" else tot[among].sum()   # 2022: share of the world
            out[t["id"]] = float(tot[region] / denom) if denom > 0 else np.nan
        else:
            raise UserError(f"targets: family {fam!r} has no model counterpart")
    return pd.Series(out)


# --------------------------------------------------------------- the file
class EstimationSpec(_Strict):
    """The ``[estimation]`` table of an estimation file (the rest is a sweep file)."""

    split: int = Field(2022, ge=2020, le=2030, description="Targets whose period ends by this year are fitted; later ones are held out [year]")
    check_replications: int = Field(8, ge=2, le=10_000, description="Runs at the estimate, on fresh seeds, for the fit table [runs]")
    draws: int = Field(200, ge=1, le=100_000, description="Draws from the asymptotic posterior written to draws.csv [count]")
    location_scenario: str = Field("baseline", description="Scenario whose announced sites give the location likelihood [name/path]")
    location: bool = Field(True, description="Add the announced sites' location log-likelihood when location parameters are estimated [bool]")
    starts: int = Field(8, ge=1, le=100, description="Optimiser starts (the best design points by the objective) [count]")


@dataclass(frozen=True)
class Estimation:
    sweep: ResolvedSweep
    spec: EstimationSpec
    origin: str


def load_estimation(path: str | Path, *, quick: bool = False) -> Estimation:
    """Read an estimation file: a sweep file (scenario, quarters, design, samples, replications,
    seed, [parameters] ranges) plus an ``[estimation]`` table.  ``quick`` shrinks the design for tests."""
    path = Path(path)
    origin = str(path)
    if not path.is_file():
        raise UserError(f"estimation file {origin!r}: not found")
    try:
        raw = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{origin}: malformed TOML: {exc}") from None
    est_raw = raw.pop("estimation", {})
    try:
        est = EstimationSpec.model_validate(est_raw)
    except ValidationError as exc:
        raise UserError(validation_message(exc, f"{origin}: estimation", frozenset())) from None
    if raw.get("design") not in ("lhs", "sobol"):
        raise UserError(f"{origin}: design = {raw.get('design')!r}: expected 'lhs' or 'sobol' (ranges are needed)")
    raw.setdefault("metrics", ["share_JP"])           # replaced below by the history metrics
    raw["common_seeds"] = True
    if quick:
        raw["samples"] = min(int(raw.get("samples") or 16), 16 if raw["design"] == "lhs" else 4)
        raw["replications"] = min(int(raw.get("replications", 1)), 2)
        est = est.model_copy(update={"check_replications": 2, "draws": min(est.draws, 50), "starts": 3})
    try:
        spec = parse_sweep(raw, origin)
        sweep = resolve_sweep(spec, origin, path.parent)
    except SweepError as exc:
        raise UserError(str(exc)) from None
    for name, r in sweep.parameters.items():
        if not isinstance(r, Range):
            raise UserError(f"{origin}: parameters.{name}: expected a range {{low, high}}")
    # The stored metrics are the history metrics of the scenario's countries (valid by construction).
    spec = spec.model_copy(update={"metrics": history_metrics(list(sweep.scenario.governments))})
    loc = est.location_scenario
    if loc.endswith(".toml") and not Path(loc).is_absolute() and (path.parent / loc).is_file():
        est = est.model_copy(update={"location_scenario": str(path.parent / loc)})   # a file beside this one
    return Estimation(dataclasses.replace(sweep, spec=spec), est, origin)


# -------------------------------------------------------------- surrogate
def _features(u: np.ndarray) -> np.ndarray:
    """Quadratic response-surface features of normalised points (n × p → n × (1 + p + p(p+1)/2))."""
    u = np.atleast_2d(u)
    n, p = u.shape
    cols = [np.ones(n)] + [u[:, j] for j in range(p)]
    cols += [u[:, j] * u[:, k] for j in range(p) for k in range(j, p)]
    return np.column_stack(cols)


@dataclass
class Surrogate:
    """Quadratic response surface of every moment over the normalised parameters."""

    coef: np.ndarray        # features × moments
    r2: np.ndarray          # per moment, over the design points

    @classmethod
    def fit(cls, u: np.ndarray, y: np.ndarray, ridge: float = 1e-6) -> Surrogate:
        x = _features(u)
        a = x.T @ x + ridge * np.eye(x.shape[1])
        coef = np.linalg.solve(a, x.T @ y)
        resid = y - x @ coef
        var = y.var(axis=0)
        r2 = np.where(var > 0, 1.0 - resid.var(axis=0) / np.where(var > 0, var, 1.0), 1.0)
        return cls(coef, r2)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        return _features(u) @ self.coef

    def jacobian(self, u: np.ndarray, h: float = 1e-5) -> np.ndarray:
        """∂m/∂u at one point (moments × parameters), central differences of the polynomial."""
        u = np.asarray(u, dtype=float)
        cols = []
        for j in range(len(u)):
            e = np.zeros_like(u)
            e[j] = h
            cols.append((self(u + e)[0] - self(u - e)[0]) / (2 * h))
        return np.column_stack(cols)


# ------------------------------------------------------- location likelihood
@dataclass
class LocationData:
    """Announced sites of named firms: raw utility terms and choices, with their announcement years."""

    terms: np.ndarray        # sites × TERMS × regions
    chosen: np.ndarray
    announced: np.ndarray    # year (NaN where the data have none)
    base_weights: np.ndarray
    base_scale: float
    mode: str = "terms"      # the location scenario's location_money


def location_data(scenario: str = "baseline") -> LocationData:
    from experiments.calibration import mode_weights, observed_choices, stack_observations
    from model import ChipModel

    model = ChipModel(scenario, rng=0)
    obs = observed_choices(model)
    mode = model.spec.params.location_money
    terms, chosen = stack_observations(obs, mode)      # value mode: the money terms as one value term
    years: dict[tuple[str, str, str], float] = {}
    for fid, firm in model.spec.firms.items():
        for site in firm.sites:
            if site.status.value == "building":
                years[(fid, site.region, site.segment)] = float(site.announced) if site.announced else np.nan
    announced = np.array([years.get((o.firm, o.region, o.segment), np.nan) for o in obs])
    return LocationData(terms, chosen, announced, mode_weights(model.spec), float(model.spec.params.logit_scale), mode)


def location_likelihood(data: LocationData, values: dict[str, float], mask: np.ndarray | None = None) -> float:
    """Sum of log-probabilities of the chosen regions under the weights and scale in ``values``
    (dotted paths; the others as in the location scenario)."""
    from experiments.calibration import log_probabilities

    lp = log_probabilities(data.terms, *_weights_scale(data, values))[np.arange(len(data.chosen)), data.chosen]
    return float(lp[mask].sum() if mask is not None else lp.sum())


# -------------------------------------------------------------------- fit
@dataclass
class Estimate:
    """What the fit gives: the point, its covariance, diagnostics."""

    names: list[str]
    point: dict[str, float]          # parameter units
    u_hat: np.ndarray                # normalised
    cov_u: np.ndarray                # covariance in normalised space
    se: dict[str, float]             # parameter units (delta method)
    ci: dict[str, tuple[float, float]]
    objective: float
    used: list[str]                  # target ids fitted
    surrogate_r2: dict[str, float]
    identification: pd.DataFrame
    location_loglik: float | None


def _to_value(u: np.ndarray, bounds: np.ndarray, logs: list[bool]) -> np.ndarray:
    x = bounds[:, 0] + np.clip(u, 0, 1) * (bounds[:, 1] - bounds[:, 0])
    return np.where(logs, 10.0 ** x, x)


def fit_moments(u: np.ndarray, point: np.ndarray, sims: np.ndarray, targets: pd.DataFrame, used: np.ndarray,
                names: list[str], bounds: np.ndarray, logs: list[bool], replications: int, *,
                loglik: Callable[[dict[str, float]], float] | None = None, starts: int = 8) -> Estimate:
    """The MSM fit (module docstring, steps 3–4).

    ``u``: design points, normalised (P × p); ``point``: the design point of each run (N);
    ``sims``: every run's moments (N × K, NaN allowed); ``used``: mask of the K targets fitted.
    """
    from scipy.optimize import minimize

    k_all = sims.shape[1]
    n_points = len(u)
    means = np.full((n_points, k_all), np.nan)
    for p in range(n_points):
        rows = sims[point == p]
        if len(rows):
            with warnings.catch_warnings():      # a moment undefined in every replication (no starts) stays NaN
                warnings.simplefilter("ignore", RuntimeWarning)
                means[p] = np.nanmean(rows, axis=0)
    ok = ~np.isnan(means).any(axis=1)
    if ok.sum() < _features(u[:1]).shape[1]:
        raise UserError(f"estimation: {ok.sum()} design points with complete moments, fewer than the "
                        f"{_features(u[:1]).shape[1]} terms of the quadratic surface: raise 'samples'")
    sur = Surrogate.fit(u[ok], means[ok])
    # Simulation (co)variance: within-point deviations pooled over points.
    dev = sims - means[point]
    dev = dev[~np.isnan(dev).any(axis=1)]
    dof = max(len(dev) - n_points, 1)
    sigma_sim = dev.T @ dev / dof
    t = targets["value"].to_numpy(float)
    sd = targets["sd"].to_numpy(float)
    sigma = np.diag(sd ** 2) + (1.0 + 1.0 / replications) * sigma_sim
    idx = np.flatnonzero(used)
    w = np.diag(1.0 / np.diag(sigma)[idx])

    def values(uu: np.ndarray) -> dict[str, float]:
        return dict(zip(names, _to_value(uu, bounds, logs).tolist()))

    def objective(uu: np.ndarray) -> float:
        r = sur(uu)[0, idx] - t[idx]
        j = float(r @ w @ r)
        if loglik is not None:
            j -= 2.0 * loglik(values(uu))
        return j

    # Multi-start from the best design points.
    scores = np.array([objective(x) if okk else np.inf for x, okk in zip(u, ok)])
    best = None
    for s in np.argsort(scores)[:starts]:
        res = minimize(objective, u[s], method="L-BFGS-B", bounds=[(0.0, 1.0)] * u.shape[1])
        if best is None or res.fun < best.fun:
            best = res
    u_hat = np.clip(best.x, 0.0, 1.0)
    g = sur.jacobian(u_hat)[idx]
    h_loc = _neg_hessian(lambda uu: loglik(values(uu)), u_hat) if loglik is not None else np.zeros((len(u_hat),) * 2)
    a = g.T @ w @ g + h_loc
    b = g.T @ w @ sigma[np.ix_(idx, idx)] @ w @ g + h_loc
    # Directions the data say (almost) nothing about (information below 1e-6 in normalised units, an sd above
    # 1000 ranges) get a variance of one whole range; every sd is then capped at the range, so a parameter the
    # data do not pin down has a posterior as wide as its prior box.
    lam, q = np.linalg.eigh((a + a.T) / 2)
    null = lam < 1e-6
    a_inv = (q[:, ~null] / lam[~null]) @ q[:, ~null].T
    cov_u = a_inv @ b @ a_inv + q[:, null] @ q[:, null].T
    cap = np.minimum(1.0, 1.0 / np.sqrt(np.maximum(np.diag(cov_u), 1e-300)))
    cov_u = cov_u * np.outer(cap, cap)
    # Delta method to parameter units: dx/du = (hi − lo) [× ln10 × x for log ranges].
    x_hat = _to_value(u_hat, bounds, logs)
    jac = (bounds[:, 1] - bounds[:, 0]) * np.where(logs, np.log(10.0) * x_hat, 1.0)
    se_u = np.sqrt(np.maximum(np.diag(cov_u), 0.0))
    se = se_u * np.abs(jac)
    lo_u, hi_u = np.clip(u_hat - 1.96 * se_u, 0, 1), np.clip(u_hat + 1.96 * se_u, 0, 1)
    ci_lo, ci_hi = _to_value(lo_u, bounds, logs), _to_value(hi_u, bounds, logs)
    ident = _identification(names, g, w, se_u, u_hat, targets.iloc[idx]["id"].tolist(), h_loc)
    return Estimate(
        names=names, point=dict(zip(names, x_hat.tolist())), u_hat=u_hat, cov_u=cov_u,
        se=dict(zip(names, se.tolist())), ci={n: (float(a_), float(b_)) for n, a_, b_ in zip(names, ci_lo, ci_hi)},
        objective=float(best.fun), used=targets.iloc[idx]["id"].tolist(),
        surrogate_r2=dict(zip(targets["id"], sur.r2.tolist())), identification=ident,
        location_loglik=loglik(values(u_hat)) if loglik is not None else None)


def _neg_hessian(f: Callable[[np.ndarray], float], u: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """−∇²f at u by central differences (the information of a log-likelihood)."""
    p = len(u)
    out = np.zeros((p, p))
    for i in range(p):
        for j in range(i, p):
            ei, ej = np.zeros(p), np.zeros(p)
            ei[i], ej[j] = h, h
            v = (f(u + ei + ej) - f(u + ei - ej) - f(u - ei + ej) + f(u - ei - ej)) / (4 * h * h)
            out[i, j] = out[j, i] = -v
    return out


def _identification(names: list[str], g: np.ndarray, w: np.ndarray, se_u: np.ndarray, u_hat: np.ndarray,
                    target_ids: list[str], h_loc: np.ndarray) -> pd.DataFrame:
    """Per parameter: the 95 % interval's width as a share of the prior range (the data pin a parameter
    down when it is well below 1), and the target that carries most of its information."""
    info = (g ** 2) * np.diag(w)[:, None]                # target × parameter contributions to the diagonal
    rows = []
    for j, n in enumerate(names):
        width = min(2 * 1.96 * se_u[j], 1.0)
        total = info[:, j].sum() + max(h_loc[j, j], 0.0)
        top = int(np.argmax(info[:, j])) if len(info) else 0
        share_loc = max(h_loc[j, j], 0.0) / total if total > 0 else 0.0
        rows.append({"parameter": n, "ci_width_share_of_range": width,
                     "pinned": bool(width < 0.5),
                     "main_source": "location likelihood" if share_loc > 0.5 else target_ids[top],
                     "main_source_share": share_loc if share_loc > 0.5 else (info[top, j] / total if total > 0 else 0.0),
                     "at_bound": bool(u_hat[j] < 0.01 or u_hat[j] > 0.99)})
    return pd.DataFrame(rows)


# -------------------------------------------------------------- naive rules
def naive_predictions(targets: pd.DataFrame) -> pd.Series:
    """What naive rules predict for each target, from data known at the split:

    * construction starts and fab investment by region follow current capacity shares (the 300mm shares of
      2022, the reference rows of the targets file; Americas = the rest);
    * capacity shares stay where they were (2022);
    * world starts stay at the last year's level (the growth ratio of 2022 repeats).
    """
    ref = targets[targets["role"] == "reference"]
    cap22 = ref[ref["family"] == "capacity_300mm_2022"].set_index("region")["value"].to_dict()
    if cap22 and "Americas" not in cap22:
        cap22["Americas"] = max(1.0 - sum(cap22.values()), 0.0)
    out: dict[str, float] = {}
    for _, t in targets[targets["role"] == "target"].iterrows():
        fam, region = t["family"], t["region"]
        if fam.startswith("starts_2021") or fam == "share_2024":
            out[t["id"]] = cap22.get(region, np.nan)
        elif fam == "share_change_2022":
            out[t["id"]] = 0.0
        elif fam == "starts_growth":
            g22 = targets.loc[targets["id"] == "starts_growth:2022", "value"]
            out[t["id"]] = float(g22.iloc[0]) if len(g22) else 1.0
        elif fam.startswith("equipment_"):
            among = targets.loc[targets["family"] == fam, "region"].tolist()
            tot = sum(cap22.get(r, 0.0) for r in among) if fam != "equipment_2022" else 1.0
            out[t["id"]] = cap22.get(region, np.nan) / tot if tot > 0 else np.nan
    return pd.Series(out)


# ------------------------------------------------------------------ driver
def _moments_table(root: Path, targets: pd.DataFrame, countries: list[str]) -> tuple[pd.DataFrame, np.ndarray]:
    """Every finished run's moments (rows: runs) and its design point."""
    df = load_results(root)
    rows, points = [], []
    for run_id, frame in df.groupby("run_id", sort=False):
        rows.append(run_moments(frame, targets, countries).rename(run_id))
        points.append(int(frame["point"].iloc[0]))
    return pd.DataFrame(rows), np.array(points)


def estimate(path: str | Path, out: str | Path, *, backend: str = "processes", workers: int | None = None,
             scheduler: str | None = None, resume: bool = False, progress: bool = True, quick: bool = False,
             targets: pd.DataFrame | None = None) -> dict[str, Any]:
    """Run the estimation of the file at ``path`` into ``out`` (module docstring); returns the summary.

    ``targets`` replaces the history targets (a known-parameter recovery test passes simulated ones).
    """
    from experiments.sweep import run_sweep

    est = load_estimation(path, quick=quick)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not resume and not (out / "design").exists():
        raise UserError(f"--out {out}: directory exists and is not empty (use --resume to continue an estimation)")
    if out.exists() and (out / "design").exists() and not resume:
        raise UserError(f"--out {out}: holds an estimation; continue it with --resume or choose another --out")
    targets = load_targets() if targets is None else targets
    tgt = targets[targets["role"] == "target"].reset_index(drop=True)
    countries = list(est.sweep.scenario.governments)
    out.mkdir(parents=True, exist_ok=True)
    res = run_sweep(est.sweep, out / "design", backend=backend, workers=workers, scheduler=scheduler,
                    resume=(out / "design").exists(), progress=progress)
    if not res.ok:
        raise UserError(f"estimation: {len(res.failed)} design run(s) failed (see {out / 'design' / 'failed'})")
    sims, point = _moments_table(out / "design", tgt, countries)
    design = build_design(est.sweep)
    bounds = np.array(design.problem["bounds"], dtype=float)
    u = (design.matrix - bounds[:, 0]) / (bounds[:, 1] - bounds[:, 0])
    names = design.names
    logs = [bool(est.sweep.parameters[n].log) for n in names]
    used = (tgt["period_end"].to_numpy(int) <= est.spec.split)
    loc_names = [n for n in names if n in LOCATION_PARAMS]
    loglik = None
    loc = None
    if est.spec.location and loc_names:
        loc = location_data(est.spec.location_scenario)
        mask = ~(loc.announced > est.spec.split)          # in sample: announced by the split (or undated)
        loglik = lambda v: location_likelihood(loc, v, mask)   # noqa: E731
    fit = fit_moments(u, point, sims[tgt["id"]].to_numpy(float), tgt, used, names, bounds, logs,
                      est.sweep.spec.replications, loglik=loglik, starts=est.spec.starts)
    # Check runs at the estimate, on fresh seeds.
    check_raw = {"name": f"{est.sweep.spec.name}-check", "scenario": est.sweep.scenario_ref,
                 "quarters": est.sweep.quarters, "replications": est.spec.check_replications,
                 "seed": est.sweep.spec.seed + 1, "design": "grid", "common_seeds": True,
                 "metrics": history_metrics(countries),
                 "parameters": {n: [float(v)] for n, v in fit.point.items()},
                 "fixed": dict(est.sweep.fixed)}
    check = resolve_sweep(parse_sweep(check_raw, est.origin), est.origin)
    res = run_sweep(check, out / "check", backend=backend, workers=workers, scheduler=scheduler,
                    resume=(out / "check").exists(), progress=progress)
    if not res.ok:
        raise UserError(f"estimation: {len(res.failed)} check run(s) failed (see {out / 'check' / 'failed'})")
    check_sims, _ = _moments_table(out / "check", tgt, countries)
    table = _fit_table(tgt, check_sims, used, targets)
    summary = _write_outputs(out, est, fit, table, tgt, targets, loc, design)
    return summary


def _fit_table(tgt: pd.DataFrame, check: pd.DataFrame, used: np.ndarray, targets: pd.DataFrame) -> pd.DataFrame:
    naive = naive_predictions(targets)
    sim = check[tgt["id"]]
    table = tgt[["id", "family", "period_end", "region", "value", "sd"]].copy()
    table["sample"] = np.where(used, "in", "out")
    table["model_mean"] = sim.mean().to_numpy()
    table["model_sd"] = sim.std(ddof=1).to_numpy()
    table["naive"] = table["id"].map(naive)
    scale = np.sqrt(table["sd"] ** 2 + table["model_sd"] ** 2)
    table["z"] = (table["model_mean"] - table["value"]) / scale
    table["model_abs_error"] = (table["model_mean"] - table["value"]).abs()
    table["naive_abs_error"] = (table["naive"] - table["value"]).abs()
    return table


def score_table(table: pd.DataFrame) -> pd.DataFrame:
    """Out-of-sample (and in-sample) scores by target family: mean absolute error of the model (its mean
    over the check runs) and of the naive rules, and how many targets each gets closer."""
    rows = []
    for (sample, fam), g in table.groupby(["sample", "family"], sort=False):
        rows.append({"sample": sample, "family": fam, "targets": len(g),
                     "model_mae": g["model_abs_error"].mean(), "naive_mae": g["naive_abs_error"].mean(),
                     "model_closer": int((g["model_abs_error"] < g["naive_abs_error"]).sum()),
                     "mean_abs_z": g["z"].abs().mean()})
    return pd.DataFrame(rows)


def _write_outputs(out: Path, est: Estimation, fit: Estimate, table: pd.DataFrame, tgt: pd.DataFrame,
                   targets: pd.DataFrame, loc: LocationData | None, design: Any) -> dict[str, Any]:
    from experiments.runner import git_revision

    names = fit.names
    # Posterior draws: N(û, V) truncated to the box, in parameter units.
    rng = np.random.default_rng(np.random.SeedSequence([est.sweep.spec.seed, 7]))
    bounds = np.array(design.problem["bounds"], dtype=float)
    logs = [bool(est.sweep.parameters[n].log) for n in names]
    kept = np.zeros((0, len(names)))
    for _ in range(1000):                                   # rejection in batches
        d = rng.multivariate_normal(fit.u_hat, fit.cov_u, size=est.spec.draws, method="eigh")
        kept = np.vstack([kept, d[((d >= 0) & (d <= 1)).all(axis=1)]])
        if len(kept) >= est.spec.draws:
            break
    else:
        raise UserError("estimation: the posterior lies outside the parameter box (widen the ranges)")
    draw_df = pd.DataFrame(_to_value(kept[:est.spec.draws], bounds, logs), columns=names)
    draw_df.insert(0, "draw", np.arange(len(draw_df)))
    scores = score_table(table)
    summary = {
        "kind": "kyoso estimate", "file": est.origin, "scenario": est.sweep.scenario_ref,
        "method": "method of simulated moments, common random numbers, quadratic response surface; "
                  "sandwich standard errors",
        "split": est.spec.split, "revision": git_revision(),
        "design": {"kind": est.sweep.spec.design, "points": len(design.points),
                   "replications": est.sweep.spec.replications, "seed": est.sweep.spec.seed},
        "fixed": dict(est.sweep.fixed),
        "point": fit.point, "se": fit.se, "ci95": fit.ci, "objective": fit.objective,
        "targets_fitted": fit.used, "location_loglik": fit.location_loglik,
        "location_sites_fitted": int((~(loc.announced > est.spec.split)).sum()) if loc is not None else 0,
        "cov_normalised": fit.cov_u.tolist(),
        "bounds": {n: [float(10 ** b[0]) if lg else float(b[0]), float(10 ** b[1]) if lg else float(b[1])]
                   for n, b, lg in zip(names, bounds, logs)},
    }
    files = {
        "estimate.json": json.dumps(summary, indent=2, default=float),
        "draws.csv": draw_df.to_csv(index=False),
        "fit.csv": table.to_csv(index=False),
        "scores.csv": scores.to_csv(index=False),
        "identification.csv": fit.identification.to_csv(index=False),
        "surrogate_r2.csv": pd.Series(fit.surrogate_r2, name="r2").rename_axis("target").to_csv(),
        "estimated.toml": estimated_toml(fit, est),
    }
    if loc is not None:
        files["location.csv"] = location_scores(loc, fit.point, est.spec.split).to_csv(index=False)
    for name, text in files.items():
        tmp = out / f".{name}.tmp"
        tmp.write_text(text)
        tmp.replace(out / name)
    return summary


def estimated_toml(fit: Estimate, est: Estimation) -> str:
    """A scenario file with the point estimate over the baseline, standard errors in comments."""
    lines = [
        "# The behavioural parameters estimated by `kyoso estimate` (method of simulated moments against",
        f"# SEMI history, targets ending by {est.spec.split}; file {Path(est.origin).name}, scenario "
        f"{Path(est.sweep.scenario_ref).stem}). Standard errors and 95 % intervals from the sandwich formula.",
        'base = "baseline"', "", "[meta]", 'name = "estimated"',
        'description = "The baseline with the behavioural parameters estimated against 2021-2024 history."', "",
    ]
    by_section: dict[str, list[str]] = {}
    for path, value in est.sweep.fixed.items():        # settings the estimate holds only with (e.g. location_money)
        section, _, key = path.rpartition(".")
        if path not in fit.names:
            by_section.setdefault(section, []).append(f"{key} = {toml_value(value)}   # fixed by the estimation file")
    for n in fit.names:
        section, _, key = n.rpartition(".")
        lo, hi = fit.ci[n]
        by_section.setdefault(section, []).append(
            f"{key} = {fit.point[n]:.6g}   # se {fit.se[n]:.3g}; 95 % CI {lo:.4g}–{hi:.4g}")
    for section, entries in by_section.items():
        lines += [f"[{section}]", *entries, ""]
    return "\n".join(lines)


def location_scores(loc: LocationData, point: dict[str, float], split: int) -> pd.DataFrame:
    """Held-out log-likelihood per site of the announced sites announced after the split: the estimated
    weights against the home + brownfield logit fitted on the sites announced by the split."""
    from experiments.calibration import WEIGHT_NAMES, fit_logit, log_probabilities, weight_bounds
    from experiments.validation import TWO_TERMS

    test = loc.announced > split
    train = ~test
    rows = np.arange(len(loc.chosen))
    lp_model = log_probabilities(loc.terms, *_weights_scale(loc, point))[rows, loc.chosen]
    w0 = np.zeros(len(WEIGHT_NAMES))
    idx = [WEIGHT_NAMES.index(n) for n in TWO_TERMS]
    out = [{"model": "estimated", "sample": s, "sites": int(m.sum()),
            "mean_loglik": float(lp_model[m].mean()) if m.any() else np.nan}
           for s, m in (("in", train), ("out", test))]
    base_lp = log_probabilities(loc.terms, loc.base_weights, loc.base_scale)[rows, loc.chosen]
    out += [{"model": "baseline weights", "sample": s, "sites": int(m.sum()),
             "mean_loglik": float(base_lp[m].mean()) if m.any() else np.nan} for s, m in (("in", train), ("out", test))]
    if train.sum() >= 2:
        w2, ll_in, _ = fit_logit(loc.terms[train], loc.chosen[train], w0, idx, loc.base_scale, weight_bounds(TWO_TERMS))
        lp2 = log_probabilities(loc.terms, w2, loc.base_scale)[rows, loc.chosen]
        out += [{"model": "home+brownfield", "sample": s, "sites": int(m.sum()),
                 "mean_loglik": float(lp2[m].mean()) if m.any() else np.nan} for s, m in (("in", train), ("out", test))]
    uniform = -math.log(loc.terms.shape[2])
    out += [{"model": "equal shares", "sample": s, "sites": int(m.sum()), "mean_loglik": uniform}
            for s, m in (("in", train), ("out", test))]
    return pd.DataFrame(out)


def _weights_scale(loc: LocationData, point: dict[str, float]) -> tuple[np.ndarray, float]:
    from experiments.calibration import free_weight_names, weight_slot

    w, scale = loc.base_weights.copy(), loc.base_scale
    acting = free_weight_names(loc.mode)
    for path, v in point.items():
        name = path.split(".")[-1]
        if name == "logit_scale":
            scale = v
        elif name in acting:
            w[weight_slot(name, loc.mode)] = v
    return w, scale


def simulated_targets(path: str | Path, values: dict[str, float], *, replications: int = 4, seed: int = 99,
                      targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Targets made by the model itself at known parameter ``values`` (the mean over ``replications``
    seeds, other columns as in the history targets): data for a known-parameter recovery check."""
    from experiments.compare import replication_seeds
    from experiments.runner import run_scenario

    est = load_estimation(path)
    base = load_targets() if targets is None else targets
    tgt = base[base["role"] == "target"].reset_index(drop=True)
    countries = list(est.sweep.scenario.governments)
    sims = [run_moments(run_scenario(est.sweep.scenario, seed=s, quarters=est.sweep.quarters,
                                     overrides={**est.sweep.fixed, **values}).metrics(), tgt, countries)
            for s in replication_seeds(seed, replications)]
    out = base.copy()
    mean = pd.DataFrame(sims).mean()
    out.loc[out["role"] == "target", "value"] = out.loc[out["role"] == "target", "id"].map(mean).to_numpy()
    return out
