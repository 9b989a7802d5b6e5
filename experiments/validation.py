"""Out-of-sample test of the location logit on the announced sites (``kyoso validate-location``).

The 41 announced (building) sites of named firms in the baseline are real
location choices (``experiments.calibration.observed_choices``).  They are
split into folds (a seeded random permutation, repeated); on each training
part four models are scored on the held-back sites:

* ``baseline``: the scenario's own 12 weights, not fitted to these sites;
* ``12-term``: all 12 weights fitted by maximum likelihood on the training
  sites within the schema's bounds (as ``kyoso calibrate --fit``);
* ``home+brownfield``: only ``w_home`` and ``w_expansion`` (the other ten
  weights 0), fitted by maximum likelihood on the same training sites;
* ``value``: the money terms in one currency (``location_money = "value"``,
  ODD 7.5): ``w_value`` on the project's relative profitability index at
  each region and the eight non-money weights, fitted the same way (in the
  weights table its ``w_subsidy`` column holds ``w_value``, and the labour,
  risk and tariff columns are 0).

Scores on the held-back sites: mean log-likelihood per site, McFadden's
pseudo-R² against equal shares over the regions, and the hit rates (the
chosen region is the model's most likely one, or among its three most
likely; regions the model rates equally are ordered at random, so a hit
rate is an expectation over that tie-break).  Every site is held back once per repeat, so the pooled score of a
repeat covers all sites; the table gives the mean over repeats of the pooled
score and the standard deviation over the folds.  The paired difference
12-term − home+brownfield in held-out log-likelihood is per site (averaged
over repeats), with a 95 % t-interval over the sites.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from experiments.calibration import (WEIGHT_NAMES, fit_logit, free_weight_names, log_probabilities,
                                     mode_weights, observed_choices, stack_observations, weight_bounds, weight_slot)
from experiments.errors import UserError

__all__ = ["kfold_splits", "latest_split", "score", "cross_validate", "validate_location", "LocationValidation",
           "MODELS", "TWO_TERMS", "SUMMARY_COLUMNS", "FOLD_COLUMNS"]

#: The weights of the two-variable comparison model: home country and brownfield expansion.
TWO_TERMS: tuple[str, ...] = ("w_home", "w_expansion")
MODELS: tuple[str, ...] = ("baseline", "12-term", "home+brownfield", "value")
#: Free weights of each model: none, all twelve, home and brownfield, and the money terms in one currency
#: (``w_value`` and the eight non-money weights; ODD 7.5).
FOLD_COLUMNS: tuple[str, ...] = ("model", "repeat", "fold", "n_train", "n_test", "train_loglik", "test_loglik",
                                 "pseudo_r2", "top1", "top3")
SUMMARY_COLUMNS: tuple[str, ...] = ("model", "free_weights", "in_sample_loglik", "in_sample_pseudo_r2",
                                    "heldout_loglik", "heldout_loglik_sd", "heldout_pseudo_r2",
                                    "heldout_pseudo_r2_sd", "top1", "top1_sd", "top3", "top3_sd")


def kfold_splits(n: int, folds: int = 5, *, repeats: int = 1, seed: int = 0
                 ) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """Seeded, repeated k-fold splits of ``n`` observations: (repeat, fold, train, test) index arrays.

    Each repeat draws one permutation (``numpy.random.default_rng(seed)``, in
    repeat order) and cuts it into ``folds`` near-equal parts; within a repeat
    the test parts are disjoint and cover every observation once.
    """
    for name, value, low in (("n", n, 2), ("folds", folds, 2), ("repeats", repeats, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
            raise UserError(f"{name} = {value!r}: expected a whole number ≥ {low}")
    if folds > n:
        raise UserError(f"folds = {folds}: expected at most the number of observations ({n})")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise UserError(f"seed = {seed!r}: expected a whole number ≥ 0")
    rng = np.random.default_rng(seed)
    out = []
    for r in range(repeats):
        parts = np.array_split(rng.permutation(n), folds)
        for k, test in enumerate(parts):
            train = np.sort(np.concatenate([p for j, p in enumerate(parts) if j != k]))
            out.append((r, k, train, np.sort(test)))
    return out


def latest_split(online_step: Sequence[int], share: float = 0.3) -> list[tuple[int, int, np.ndarray, np.ndarray]]:
    """One split holding back the sites that come online last: the fewest latest online steps whose
    sites make at least ``share`` of all (a step is never cut in two); the earlier sites train."""
    steps = np.asarray(online_step, dtype=int)
    if not 0 < share < 1:
        raise UserError(f"share = {share!r}: expected a share strictly between 0 and 1")
    if len(np.unique(steps)) < 2:
        raise UserError("online steps: all announced sites come online at the same step; no later sites to hold back")
    for cut in np.unique(steps)[::-1]:
        test = np.flatnonzero(steps >= cut)
        if len(test) >= share * len(steps):
            break
    if len(test) == len(steps):
        raise UserError(f"share = {share}: holding back {share:.0%} of the sites leaves none to fit on")
    return [(0, 0, np.flatnonzero(steps < cut), test)]


def score(terms: np.ndarray, chosen: np.ndarray, weights: np.ndarray, scale: float) -> dict[str, Any]:
    """Per-site log-likelihood and the summary scores of ``weights`` on the sites given."""
    lp = log_probabilities(terms, weights, scale)
    rows = np.arange(len(chosen))
    site_ll = lp[rows, chosen]
    # Hit rates with ties broken at random (their expectation): with g regions strictly more likely
    # than the chosen one and t regions as likely (itself included), P(chosen among the top k) =
    # clip((k − g)/t, 0, 1).  A model with only indicator terms ties many regions; counting ties as
    # hits would flatter it.
    tol = 1e-9
    greater = (lp > site_ll[:, None] + tol).sum(axis=1)
    tied = (np.abs(lp - site_ll[:, None]) <= tol).sum(axis=1)
    uniform = np.log(1.0 / terms.shape[-1])
    ll = float(site_ll.mean())
    return {"site_loglik": site_ll, "loglik": ll, "pseudo_r2": 1.0 - ll / uniform,
            "top1": float(np.clip((1 - greater) / tied, 0, 1).mean()),
            "top3": float(np.clip((3 - greater) / tied, 0, 1).mean())}


def _fit(model: str, terms: np.ndarray, chosen: np.ndarray, base: np.ndarray, scale: float) -> np.ndarray:
    if model == "baseline":
        return base
    if model == "12-term":
        return fit_logit(terms, chosen, base, range(len(WEIGHT_NAMES)), scale, weight_bounds(WEIGHT_NAMES))[0]
    if model == "value":             # terms are value terms here; w_value sits in the subsidy slot
        names = free_weight_names("value")
        idx = [weight_slot(n, "value") for n in names]
        w0 = base.copy()
        w0[[i for i in range(len(base)) if i not in idx]] = 0.0
        return fit_logit(terms, chosen, w0, idx, scale, weight_bounds(names))[0]
    idx = [WEIGHT_NAMES.index(n) for n in TWO_TERMS]
    w0 = np.zeros_like(base)
    w0[idx] = base[idx]
    return fit_logit(terms, chosen, w0, idx, scale, weight_bounds(TWO_TERMS))[0]


@dataclass
class LocationValidation:
    """The cross-validation: per-fold rows, the summary table, the paired comparison, the fits on all sites."""

    folds: pd.DataFrame
    summary: pd.DataFrame
    paired: dict[str, float]
    weights: pd.DataFrame          # weights fitted on all sites (rows: models; columns: WEIGHT_NAMES)
    observations: int
    regions: int
    n_folds: int
    repeats: int
    seed: int
    chosen: dict[str, float]       # share of the announced sites in the firm's home country, brownfield, either
    split: str = "kfold"

    def text(self) -> str:
        s = self.summary
        how = (f"{self.n_folds}-fold cross-validation × {self.repeats} repeats (seed {self.seed})"
               if self.split == "kfold" else
               f"fitted on the {int(self.folds['n_train'].iloc[0])} sites coming online first, scored on the "
               f"{int(self.folds['n_test'].iloc[0])} coming online last")
        lines = [f"Location logit on {self.observations} announced sites over {self.regions} regions: "
                 f"{how}; equal shares give log-likelihood {np.log(1 / self.regions):.3f} per site",
                 f"{'model':<16} {'free':>4} {'in-sample LL':>12} {'held-out LL':>16} {'pseudo-R²':>15} "
                 f"{'top-1':>13} {'top-3':>13}"]

        def pm(v: float, sd: float, width: int, digits: int) -> str:
            spread = f"± {sd:.{digits}f}" if np.isfinite(sd) else "  " + " " * (digits + 2)
            return f"{v:>{width}.{digits}f} {spread}"

        for r in s.itertuples():
            lines.append(f"{r.model:<16} {r.free_weights:>4} {r.in_sample_loglik:>12.3f} "
                         f"{pm(r.heldout_loglik, r.heldout_loglik_sd, 8, 3)} "
                         f"{pm(r.heldout_pseudo_r2, r.heldout_pseudo_r2_sd, 7, 3)} "
                         f"{pm(r.top1, r.top1_sd, 5, 2)} {pm(r.top3, r.top3_sd, 5, 2)}")
        p = self.paired
        lines.append("held-out LL: mean per site of each repeat's pooled held-out sites, averaged over repeats"
                     + ("; ± is the SD over folds" if self.split == "kfold" else ""))
        lines.append(f"12-term − home+brownfield, held-out log-likelihood per site: {p['diff']:+.3f} "
                     f"(95% CI {p['ci_low']:+.3f} to {p['ci_high']:+.3f}, t over {p['n']} sites; "
                     f"12-term better on {p['share_better']:.0%} of sites)")
        w = self.weights
        lines.append("weights (fitted on all sites; baseline = the scenario's): "
                     + "; ".join(f"{n.removeprefix('w_')} " + "/".join(f"{w.loc[m, n]:.2f}" for m in w.index)
                                 for n in w.columns) + f"  ({' / '.join(w.index)})")
        c = self.chosen
        lines.append(f"announced sites in the firm's home country {c['home']:.0%}, expanding a same-segment site "
                     f"(brownfield) {c['brownfield']:.0%}, either {c['either']:.0%}")
        return "\n".join(lines)

    def write(self, path: Any) -> list[Any]:
        """The summary as CSV at ``path`` and the per-fold rows beside it (``<stem>_folds.csv``)."""
        from pathlib import Path

        path = Path(path)
        if path.exists() and path.is_dir():
            raise UserError(f"--csv {path}: is a directory, expected a file name")
        path.parent.mkdir(parents=True, exist_ok=True)
        folds = path.with_name(f"{path.stem}_folds.csv")
        self.summary.to_csv(path, index=False)
        self.folds.to_csv(folds, index=False)
        return [path, folds]


def cross_validate(terms: np.ndarray, chosen: np.ndarray, base: np.ndarray, scale: float, *, folds: int = 5,
                   repeats: int = 5, seed: int = 0, splits: list | None = None,
                   value: tuple[np.ndarray, np.ndarray] | None = None
                   ) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, float], pd.DataFrame]:
    """Cross-validate the models on stacked observations (pure: no model is built).

    ``splits`` (repeat, fold, train, test) replace the seeded k-fold splits when given
    (e.g. :func:`latest_split`); sites never held back then count in no held-out score.
    ``value`` = (value terms, their starting weights) (``calibration.value_terms``, ``mode_weights``) adds the
    model with the money terms in one currency; without it that model is left out.
    """
    n, n_regions = len(chosen), terms.shape[-1]
    if splits is None:
        splits = kfold_splits(n, folds, repeats=repeats, seed=seed)
    repeats = 1 + max(r for r, *_ in splits)
    models = MODELS if value is not None else tuple(m for m in MODELS if m != "value")
    data = {m: (terms, base) for m in models}
    if value is not None:
        data["value"] = value
    rows = []
    held = {m: np.full((repeats, n), np.nan) for m in models}   # held-out log-likelihood of each site, per repeat
    for r, k, train, test in splits:
        for m in models:
            t, b = data[m]
            w = _fit(m, t[train], chosen[train], b, scale)
            tr = score(t[train], chosen[train], w, scale)
            te = score(t[test], chosen[test], w, scale)
            held[m][r, test] = te["site_loglik"]
            rows.append({"model": m, "repeat": r, "fold": k, "n_train": len(train), "n_test": len(test),
                         "train_loglik": tr["loglik"], "test_loglik": te["loglik"], "pseudo_r2": te["pseudo_r2"],
                         "top1": te["top1"], "top3": te["top3"]})
    fold_table = pd.DataFrame(rows, columns=list(FOLD_COLUMNS))
    uniform = np.log(1.0 / n_regions)
    summary, weights = [], {}
    for m in models:
        t, b = data[m]
        w = _fit(m, t, chosen, b, scale)
        weights[m] = w
        full = score(t, chosen, w, scale)
        f = fold_table[fold_table["model"] == m]
        pooled = np.nanmean(held[m], axis=1)             # per repeat: mean over its held-out sites
        # hit rates pooled per repeat = site-weighted mean of the folds' rates
        wsum = f.groupby("repeat").apply(lambda g: pd.Series({c: np.average(g[c], weights=g["n_test"])
                                                               for c in ("top1", "top3")}),
                                         include_groups=False)
        summary.append({"model": m, "free_weights": {"baseline": 0, "12-term": len(WEIGHT_NAMES),
                                                     "value": len(free_weight_names("value"))}.get(m, len(TWO_TERMS)),
                        "in_sample_loglik": full["loglik"], "in_sample_pseudo_r2": full["pseudo_r2"],
                        "heldout_loglik": float(pooled.mean()), "heldout_loglik_sd": float(f["test_loglik"].std()),
                        "heldout_pseudo_r2": float(1.0 - pooled.mean() / uniform),
                        "heldout_pseudo_r2_sd": float(f["pseudo_r2"].std()),
                        "top1": float(wsum["top1"].mean()), "top1_sd": float(f["top1"].std()),
                        "top3": float(wsum["top3"].mean()), "top3_sd": float(f["top3"].std())})
    both = held["12-term"] - held["home+brownfield"]
    diff = np.nanmean(both[:, np.isfinite(both).any(axis=0)], axis=0)          # per held-back site, over repeats
    half = stats.t.ppf(0.975, len(diff) - 1) * diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else np.nan
    paired = {"diff": float(diff.mean()), "ci_low": float(diff.mean() - half), "ci_high": float(diff.mean() + half),
              "n": int(len(diff)), "share_better": float((diff > 0).mean())}
    return (fold_table, pd.DataFrame(summary, columns=list(SUMMARY_COLUMNS)), paired,
            pd.DataFrame(weights, index=list(WEIGHT_NAMES)).T)


def validate_location(scenario: Any = "baseline", *, folds: int = 5, repeats: int = 5, seed: int = 0,
                      split: str = "kfold", **overrides: Any) -> LocationValidation:
    """Cross-validate the location logit on the scenario's announced sites of named firms.

    ``split="kfold"``: seeded k-fold, repeated; ``split="latest"``: one split that holds
    back the sites coming online last (at least 30 %; :func:`latest_split`).
    """
    if split not in ("kfold", "latest"):
        raise UserError(f"split = {split!r}: expected kfold or latest")
    from model import ChipModel
    from model.phases import invest

    model = ChipModel(scenario, rng=0, **overrides)
    obs = observed_choices(model)
    if len(obs) < 2:
        raise UserError(f"scenario {model.spec.meta.name!r}: {len(obs)} announced sites of named firms; "
                        "expected at least 2 to cross-validate")
    terms, chosen = stack_observations(obs)
    base = invest.term_weights(model.spec).astype(float)
    vspec = model.spec.model_copy(update={"params": model.spec.params.model_copy(update={"location_money": "value"})})
    value = (stack_observations(obs, "value")[0], mode_weights(vspec))
    splits = latest_split([o.online_step for o in obs]) if split == "latest" else None
    fold_table, summary, paired, weights = cross_validate(terms, chosen, base, model.spec.params.logit_scale,
                                                          folds=folds, repeats=repeats, seed=seed, splits=splits,
                                                          value=value)
    if split == "latest":
        folds, repeats = 1, 1
    home, brown = (terms[np.arange(len(chosen)), WEIGHT_NAMES.index(n), chosen] > 0.5 for n in TWO_TERMS)
    shares = {"home": float(home.mean()), "brownfield": float(brown.mean()), "either": float((home | brown).mean())}
    return LocationValidation(fold_table, summary, paired, weights, len(obs), int(terms.shape[-1]), folds,
                              repeats, seed, shares, split)
