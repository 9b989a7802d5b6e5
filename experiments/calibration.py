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
from model.phases import invest, location, valuation
from model.scenario import Params
from model.sites import BUILDING, OFFLINE

__all__ = ["Observation", "observed_choices", "announced_site_fit", "fit_location_weights", "WEIGHT_NAMES",
           "stack_observations", "log_probabilities", "fit_logit", "weight_bounds", "value_terms", "mode_weights",
           "weight_slot", "free_weight_names", "VALUE_SLOT"]

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
    index: np.ndarray | None = None   # relative profitability index at each region (ODD 7.4), for location_money = value


#: The slot of the location weights that carries ``w_value`` when the money terms are one value term: the subsidy
#: term's (its sign is +1), with the other money terms' rows set to 0 (``value_terms``).
VALUE_SLOT = decisions.TERMS.index("subsidy")
_MONEY_ROWS = [decisions.TERMS.index(t) for t in decisions.MONEY_TERMS]


def value_terms(terms: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The raw terms of ``location_money = "value"``: the money rows (subsidy, labour, risk, tariff) replaced by one
    row, the relative profitability index − 1, in the subsidy slot (``VALUE_SLOT``), so that a weight vector with
    ``w_value`` in that slot gives the model's utility (``decisions.value_utility``; closed regions, index −inf,
    count 0 as there).  ``terms``: (…, TERMS, regions); ``index``: (…, regions)."""
    out = np.array(terms, dtype=float, copy=True)
    out[..., _MONEY_ROWS, :] = 0.0
    idx = np.asarray(index, dtype=float)
    out[..., VALUE_SLOT, :] = np.where(np.isfinite(idx), idx - 1.0, 0.0)
    return out


def mode_weights(spec: Any) -> np.ndarray:
    """The weight vector (TERMS order) of a scenario's location logit in its ``location_money`` mode."""
    w = invest.term_weights(spec).copy()
    if spec.params.location_money == "value":
        w[_MONEY_ROWS] = 0.0
        w[VALUE_SLOT] = spec.params.w_value
    return w


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
            index = valuation.project_values(model.world, model.spec, np.array([firm.idx]), np.array([s.segment[i]]),
                                             full=True).index[0]
        finally:
            s.status[i] = BUILDING
        out.append(Observation(firm.firm_id, model.world.segments.ids[s.segment[i]], model.geo.ids[s.region[i]],
                               int(s.region[i]), terms, int(s.online_step[i]), index))
    return out


def weight_slot(name: str, mode: str = "terms") -> int:
    """Index in the weight vector of the location weight ``name`` in a ``location_money`` mode; a one-line
    ValueError for a weight that does not act in that mode."""
    names = free_weight_names(mode)
    if name not in names:
        raise ValueError(f"location weight {name!r}: not a weight of location_money = {mode!r}; expected one of "
                         f"{', '.join(names)}")
    return VALUE_SLOT if name == "w_value" else WEIGHT_NAMES.index(name)


def free_weight_names(mode: str = "terms") -> tuple[str, ...]:
    """The location weights that act in a ``location_money`` mode (value: ``w_value`` instead of the money terms')."""
    if mode == "value":
        money = {WEIGHT_NAMES[i] for i in _MONEY_ROWS}
        return ("w_value",) + tuple(n for n in WEIGHT_NAMES if n not in money)
    return WEIGHT_NAMES


def announced_site_fit(scenario: Any = "baseline", *, weights: dict[str, float] | None = None,
                       **overrides: Any) -> tuple[pd.DataFrame, dict[str, float]]:
    """Per announced site: the model's probability and rank of the region chosen, in the scenario's
    ``location_money`` mode.

    Returns the table and a summary (mean log-likelihood, its value under
    equal probabilities, McFadden pseudo-R², mean rank, observations).
    """
    model = ChipModel(scenario, rng=0, **overrides)
    obs = observed_choices(model)
    if not obs:
        raise ValueError("the scenario has no announced sites of named firms to check against")
    mode = model.spec.params.location_money
    w = mode_weights(model.spec)
    for name, value in (weights or {}).items():
        w[weight_slot(name, mode)] = value
    scale = model.spec.params.logit_scale
    terms, chosen = stack_observations(obs, mode)
    lp = log_probabilities(terms, w, scale)
    rows = []
    for k, o in enumerate(obs):
        p = np.exp(lp[k])
        rows.append({"firm": o.firm, "segment": o.segment, "region": o.region,
                     "probability": float(p[o.chosen]), "rank": int((p > p[o.chosen]).sum()) + 1,
                     "best_region": model.geo.ids[int(np.argmax(p))]})
    table = pd.DataFrame(rows)
    ll = float(np.log(table["probability"]).mean())
    uniform = float(np.log(1.0 / model.geo.n))
    summary = {"observations": len(table), "mean_loglik": ll, "uniform_loglik": uniform,
               "pseudo_r2": 1.0 - ll / uniform, "mean_rank": float(table["rank"].mean()),
               "regions": model.geo.n, "location_money": mode}
    return table, summary


def stack_observations(obs: Sequence[Observation], mode: str = "terms") -> tuple[np.ndarray, np.ndarray]:
    """Raw terms as one array (observations × TERMS × regions) and the chosen regions; with ``mode`` "value",
    the terms of ``location_money = "value"`` (:func:`value_terms`)."""
    if not obs:
        raise ValueError("no observations to stack")
    terms = np.stack([o.terms for o in obs])
    if mode == "value":
        terms = value_terms(terms, np.stack([o.index for o in obs]))
    return terms, np.array([o.chosen for o in obs], dtype=int)


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


def fit_location_weights(scenario: Any = "baseline", *, free: Sequence[str] | None = None,
                         **overrides: Any) -> dict[str, Any]:
    """Maximum-likelihood weights for the announced sites (L-BFGS-B within schema bounds), in the scenario's
    ``location_money`` mode (``free`` defaults to every weight that acts in it).

    Returns the fitted weights of ``free`` and the mean log-likelihood
    before and after.
    """
    model = ChipModel(scenario, rng=0, **overrides)
    mode = model.spec.params.location_money
    free = list(free if free is not None else free_weight_names(mode))
    unknown = [n for n in free if n not in free_weight_names(mode)]
    if unknown:
        raise ValueError(f"free: unknown weight(s) {', '.join(unknown)} for location_money = {mode!r}; expected some "
                         f"of {', '.join(free_weight_names(mode))}")
    obs = observed_choices(model)
    scale = model.spec.params.logit_scale
    w0 = mode_weights(model.spec)
    idx = [weight_slot(n, mode) for n in free]
    terms, chosen = stack_observations(obs, mode)
    before = float(log_probabilities(terms, w0, scale)[np.arange(len(chosen)), chosen].mean())
    w, after, ok = fit_logit(terms, chosen, w0, idx, scale, weight_bounds(free))
    return {"weights": {n: float(w[i]) for n, i in zip(free, idx)},
            "mean_loglik_before": before, "mean_loglik_after": after,
            "observations": len(obs), "converged": ok}
