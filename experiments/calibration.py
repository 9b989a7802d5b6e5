"""Check (and fit) the location logit against the announced sites in the data.

The baseline's sites under construction are real location choices made by
named firms (calibration_firms.csv).  For each one, the model's location
probabilities are computed for that firm and segment on the initial state
with the site itself left out; the log-likelihood of the observed regions
measures how well the weights reproduce those choices (McFadden's
pseudo-R² against equal probabilities).  ``fit_location_weights`` maximises
that likelihood over chosen weights within the schema's bounds: the
conditional-logit estimator of Head, Ries & Swenson (1995), here on a small
sample, so treat fitted values as indicative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize

from model import ChipModel, decisions
from model.phases import invest, location
from model.scenario import Params
from model.sites import BUILDING, OFFLINE

__all__ = ["Observation", "observed_choices", "announced_site_fit", "fit_location_weights", "WEIGHT_NAMES",
           "stack_observations", "log_probabilities", "fit_logit", "weight_bounds"]

#: Scenario parameter behind each utility term, in decisions.TERMS order.
WEIGHT_NAMES: tuple[str, ...] = (
    "w_subsidy", "w_labour", "w_risk", "w_infrastructure", "w_skill", "w_agglomeration",
    "w_home", "w_bloc", "w_tariff", "w_distance", "w_coordination", "w_expansion",
)


@dataclass(frozen=True)
class Observation:
    firm: str
    segment: str
    region: str
    chosen: int            # region index
    terms: np.ndarray      # raw terms, TERMS × regions
    online_step: int = -1  # step at which the announced site comes online (the order of announcements, roughly)


def observed_choices(model: ChipModel, kinds: Sequence[str] = ("named",)) -> list[Observation]:
    """Terms of every announced (building) site of firms of ``kinds``, leaving the site out."""
    s = model.sites
    p = model.spec.params
    out: list[Observation] = []
    for i in range(s.n):
        firm = model.firm_list[s.firm[i]]
        if s.status[i] != BUILDING or firm.kind not in kinds:
            continue
        s.status[i] = OFFLINE            # leave the choice itself out of the state
        try:
            x, _, _ = location.location_inputs(model.world, model.spec, location.prepare_location_cache(model.world, model.spec),
                                             np.array([firm.idx]), np.array([s.segment[i]]))
            terms = decisions.location_terms(x, p.coordination_spread)[:, 0, :]
        finally:
            s.status[i] = BUILDING
        out.append(Observation(firm.firm_id, model.world.segments.ids[s.segment[i]], model.geo.ids[s.region[i]],
                               int(s.region[i]), terms, int(s.online_step[i])))
    return out


def _log_probs(obs: list[Observation], weights: np.ndarray, scale: float) -> np.ndarray:
    out = np.empty(len(obs))
    for k, o in enumerate(obs):
        _, v = decisions.location_utility(o.terms, weights)
        z = v / scale
        z = z - z.max()
        out[k] = z[o.chosen] - np.log(np.exp(z).sum())
    return out


def announced_site_fit(scenario: Any = "baseline", *, weights: dict[str, float] | None = None,
                       **overrides: Any) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per announced site: the model's probability and rank of the region chosen.

    Returns the table and a summary (mean log-likelihood, its value under
    equal probabilities, McFadden pseudo-R², mean rank, observations).
    """
    model = ChipModel(scenario, rng=0, **overrides)
    obs = observed_choices(model)
    if not obs:
        raise ValueError("the scenario has no announced sites of named firms to check against")
    w = invest.term_weights(model.spec).copy()
    for name, value in (weights or {}).items():
        w[WEIGHT_NAMES.index(name)] = value
    scale = model.spec.params.logit_scale
    rows = []
    for o, lp in zip(obs, _log_probs(obs, w, scale)):
        _, v = decisions.location_utility(o.terms, w)
        p = decisions.logit_probabilities(v, scale)
        rows.append({"firm": o.firm, "segment": o.segment, "region": o.region,
                     "probability": float(np.exp(lp)), "rank": int((p > p[o.chosen]).sum()) + 1,
                     "best_region": model.geo.ids[int(np.argmax(p))]})
    table = pd.DataFrame(rows)
    ll = float(np.log(table["probability"]).mean())
    uniform = float(np.log(1.0 / model.geo.n))
    summary = {"observations": len(table), "mean_loglik": ll, "uniform_loglik": uniform,
               "pseudo_r2": 1.0 - ll / uniform, "mean_rank": float(table["rank"].mean()),
               "regions": model.geo.n}
    return table, summary


def stack_observations(obs: Sequence[Observation]) -> tuple[np.ndarray, np.ndarray]:
    """Raw terms as one array (observations × TERMS × regions) and the chosen regions."""
    if not obs:
        raise ValueError("no observations to stack")
    return np.stack([o.terms for o in obs]), np.array([o.chosen for o in obs], dtype=int)


def log_probabilities(terms: np.ndarray, weights: np.ndarray, scale: float) -> np.ndarray:
    """Log choice probabilities of every region (observations × regions) under ``weights``.

    ``terms`` are raw terms (observations × TERMS × regions); the signs come from
    ``decisions.TERM_SIGNS`` as in the model (``decisions.location_utility``).
    """
    signs = np.array([decisions.TERM_SIGNS[t] for t in decisions.TERMS])
    z = np.einsum("nkr,k->nr", terms, signs * np.asarray(weights, dtype=float)) / scale
    z = z - z.max(axis=1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=1, keepdims=True))


def weight_bounds(names: Sequence[str]) -> list[tuple[float, float | None]]:
    """The schema's (ge, le) bounds of the location weights ``names``."""
    out = []
    for n in names:
        meta = {type(m).__name__: m for m in Params.model_fields[n].metadata}
        out.append((getattr(meta.get("Ge"), "ge", 0.0), getattr(meta.get("Le"), "le", None)))
    return out


def fit_logit(terms: np.ndarray, chosen: np.ndarray, w0: np.ndarray, free: Sequence[int], scale: float,
              bounds: Sequence[tuple[float, float | None]] | None = None) -> tuple[np.ndarray, float, bool]:
    """Maximum-likelihood weights of a conditional logit: pure numpy + L-BFGS-B.

    Only the weights at indices ``free`` move (from their values in ``w0``);
    the others stay as in ``w0`` (set them to 0 to leave a term out).  The
    mean log-likelihood is concave in the weights, so the box-constrained
    optimum is unique when the free terms vary across regions; an analytic
    gradient is used.  Returns (weights, mean log-likelihood, converged).
    """
    terms = np.asarray(terms, dtype=float)
    chosen = np.asarray(chosen, dtype=int)
    idx = np.asarray(list(free), dtype=int)
    signs = np.array([decisions.TERM_SIGNS[t] for t in decisions.TERMS])
    rows = np.arange(len(chosen))
    x_chosen = terms[rows, :, chosen]                        # observations × TERMS

    def nll(x: np.ndarray) -> tuple[float, np.ndarray]:
        w = np.array(w0, dtype=float)
        w[idx] = x
        lp = log_probabilities(terms, w, scale)
        p = np.exp(lp)
        grad = (signs / scale) * (x_chosen - np.einsum("nkr,nr->nk", terms, p)).mean(axis=0)
        return -float(lp[rows, chosen].mean()), -grad[idx]

    res = minimize(nll, np.asarray(w0, dtype=float)[idx], jac=True, method="L-BFGS-B",
                   bounds=list(bounds) if bounds is not None else None)
    w = np.array(w0, dtype=float)
    w[idx] = res.x
    return w, -float(res.fun), bool(res.success)


def fit_location_weights(scenario: Any = "baseline", *, free: Sequence[str] = WEIGHT_NAMES,
                         **overrides: Any) -> dict[str, Any]:
    """Maximum-likelihood weights for the announced sites (L-BFGS-B within schema bounds).

    Returns the fitted weights of ``free`` and the mean log-likelihood
    before and after.
    """
    unknown = [n for n in free if n not in WEIGHT_NAMES]
    if unknown:
        raise ValueError(f"free: unknown weight(s) {', '.join(unknown)}; expected some of {', '.join(WEIGHT_NAMES)}")
    model = ChipModel(scenario, rng=0, **overrides)
    obs = observed_choices(model)
    scale = model.spec.params.logit_scale
    w0 = invest.term_weights(model.spec).copy()
    idx = [WEIGHT_NAMES.index(n) for n in free]
    terms, chosen = stack_observations(obs)
    before = float(log_probabilities(terms, w0, scale)[np.arange(len(chosen)), chosen].mean())
    w, after, ok = fit_logit(terms, chosen, w0, idx, scale, weight_bounds(free))
    return {"weights": {n: float(w[i]) for n, i in zip(free, idx)},
            "mean_loglik_before": before, "mean_loglik_after": after,
            "observations": len(obs), "converged": ok}
