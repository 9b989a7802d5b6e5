"""Scenario discovery on a sweep: which uncertainties make a metric cross a threshold
(``kyoso discover STORE --metric M --above X | --below X [--policy P]``).

Each finished run of the store is reduced to one number (``--at``, by
:func:`experiments.sensitivity.run_values`, the reducer ``kyoso analyze``
uses); the runs whose number is above (strictly greater than) or below
(strictly less than) ``X``, in the metric's stored unit (shares as fractions
0–1, as in the store), are the *cases of interest*.  The inputs are the
design's uncertainty columns (the manifest's ``design.names``), of one
policy when the sweep crosses its design with ``[policies]`` (``--policy``).
Then:

* **PRIM** (Friedman & Fisher 1999; for scenario discovery Bryant & Lempert
  2010): the peeling and pasting trajectory from the whole input space to
  ever smaller, denser boxes; the box reported is the last one on the
  trajectory whose density reaches ``--threshold`` (or the box ``--box K``),
  with per restricted input its limits and the quasi-p value of each limit
  (a one-sided binomial test of the box's density against the box with that
  limit removed; Bryant & Lempert 2010).  Coverage = share of all cases that
  lie in the box, density = share of the box's runs that are cases, mass =
  share of all runs in the box.
* **CART** (Breiman et al. 1984): a classification tree whose leaves are
  boxes (with at least ``mass_min`` of the runs each), each with its coverage
  and density.
* **Feature scores** by extra trees (Geurts, Ernst & Wehenkel 2006; for
  scenario discovery Jaxa-Rozen & Kwakkel 2018): the impurity decrease each
  input brings to a forest classifying cases, summing to 1.
* **Seed noise.**  The model is stochastic, and PRIM finds dense boxes in
  pure noise too (it peels to wherever chance put the cases).  The box is
  tested against that by permutation: the case labels are permuted across
  all runs (``--permutations`` times, seeded), which keeps the number of
  cases and takes every bit of information from the inputs, so that only
  chance, the seeds, decides which run is a case; PRIM is refitted on each
  and reports its box by the same rule.  The statistic is that box's
  density (for a box chosen with ``--box K``: the highest density on the
  trajectory among boxes of at least box K's mass), computed the same way on
  the runs' labels and on each permutation, so the test is exact under "the
  inputs do not matter": p = (1 + #{permutations at least as dense}) /
  (1 + permutations); the box is *distinguishable from seed noise* when
  p ≤ 0.05, and the command prints this as a one-line verdict.  Beside it,
  the share of the case indicator's variance that lies between replications
  of the same design point (the one-way ANOVA of
  :func:`experiments.sensitivity.seed_noise` on the 0/1 labels) and the
  design points whose replications disagree say how much of being a case is
  the seed's doing at all.  (Permuting labels only among the replications of
  a point would test nothing: the replications share their inputs, so PRIM
  would see the same data.)
* **Inert inputs**: those :func:`experiments.analysis.inert_parameters`
  flags for this metric (gated to nothing in the scenario, or an effect
  within seed noise) are marked wherever they appear.

Library: EMA Workbench 3.0 (``ema_workbench.analysis.prim``, ``.cart`` and
``.feature_scoring``; Kwakkel 2017, BSD licence).  Chosen over the ``prim``
package because that is a standalone copy of the same EMA PRIM code (GPL),
PRIM only, whereas EMA Workbench is the maintained original (3.0, 2025) and
gives PRIM with quasi-p values, CART on scikit-learn and extra-trees scoring
behind one interface; scikit-learn comes with it.  Two of EMA's defaults are
changed for reproducibility: CART's tree gets ``random_state`` (EMA's
``build_tree`` leaves it unset, so ties between splits would change from call
to call) and the forest of the feature scores is seeded.  The permutation
refits skip EMA's quasi-p computation, which they do not use (a subclass of
``PrimBox``), for about a third of the time.  Figures are drawn here
(:mod:`experiments.plots.discovery`; the tree with scikit-learn's
``plot_tree``, no graphviz needed).

Output: :class:`DiscoveryResult` (``.text()``: the report ``kyoso discover``
prints; ``.write(DIR)``: ``prim_box.csv``, ``prim_trajectory.csv``,
``cart_boxes.csv``, ``feature_scores.csv``, the figures and
``discover.json`` with the settings).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from experiments.argtypes import seed as _seed
from experiments.errors import UserError

__all__ = ["DEFAULTS", "DiscoveryResult", "PrimResult", "CartResult", "NoiseTest", "discover", "discover_data",
           "store_inputs", "case_labels", "prim_box", "cart_boxes", "feature_scores", "noise_test",
           "check_output", "FILES", "FIGURES", "add_parser", "command"]

#: Defaults of the settings (EMA Workbench's for PRIM's alphas and minimum mass; 0.8 is the density
#: threshold of the scenario-discovery literature, e.g. Bryant & Lempert 2010's "high density").
DEFAULTS: dict[str, Any] = {"threshold": 0.8, "peel_alpha": 0.05, "paste_alpha": 0.05, "mass_min": 0.05,
                            "permutations": 99, "trees": 100, "seed": 0}
ALPHA = 0.05                      # the permutation test's level and the quasi-p level of a significant limit
CART_SHOWN = 8                    # CART leaves printed in the report (all are in cart_boxes.csv)
FILES = ("prim_box.csv", "prim_trajectory.csv", "cart_boxes.csv", "feature_scores.csv", "discover.json",
         "report.txt")
FIGURES = ("prim_trajectory.png", "prim_box.png", "cart_tree.png", "feature_scores.png")


# ------------------------------------------------------------------ EMA Workbench, quietly
@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """EMA Workbench warns on import (optional ipyparallel and altair) and pandas warns about EMA's
    deprecated calls; none of it is the user's business."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def _ema():
    try:
        with _quiet():
            from ema_workbench.analysis import cart, feature_scoring, prim
            from ema_workbench.analysis.scenario_discovery_util import RuleInductionType
    except ImportError as exc:
        raise UserError(f"scenario discovery needs EMA Workbench 3.0 ({exc}); install it with "
                        "pip install 'ema_workbench==3.0.0'") from None
    return prim, cart, feature_scoring, RuleInductionType


def _ema_version() -> str:
    from importlib import metadata

    try:
        return metadata.version("ema_workbench")
    except metadata.PackageNotFoundError:    # pragma: no cover
        return "unknown"


# ------------------------------------------------------------------ inputs
def _prepared(x: pd.DataFrame) -> pd.DataFrame:
    """Inputs as EMA reads them: numbers stay, booleans become 0/1, anything else a category."""
    out = x.reset_index(drop=True).copy()
    for c in out.columns:
        if pd.api.types.is_bool_dtype(out[c]):
            out[c] = out[c].astype(int)
        elif pd.api.types.is_integer_dtype(out[c]):
            out[c] = out[c].astype(np.int64)
        elif pd.api.types.is_numeric_dtype(out[c]):
            out[c] = out[c].astype(float)
        else:
            out[c] = out[c].astype(str).astype(object)
    return out


def case_labels(values: np.ndarray | pd.Series, *, above: float | None = None,
                below: float | None = None) -> np.ndarray:
    """The cases of interest: ``values > above`` or ``values < below`` (exactly one of them given)."""
    if (above is None) == (below is None):
        raise UserError("give exactly one of --above X or --below X" if above is None
                        else f"--above {above} and --below {below}: give one of them, not both")
    v = np.asarray(values, dtype=float)
    return v > above if above is not None else v < below


def _check_settings(threshold: float, peel_alpha: float, paste_alpha: float, mass_min: float,
                    permutations: int, trees: int, seed: int) -> None:
    for flag, value, ok, expected in (
            ("--threshold", threshold, 0.0 < threshold <= 1.0, "a density in (0, 1]"),
            ("--peel-alpha", peel_alpha, 0.0 < peel_alpha < 0.5, "a share in (0, 0.5)"),
            ("--paste-alpha", paste_alpha, 0.0 < paste_alpha < 0.5, "a share in (0, 0.5)"),
            ("--mass-min", mass_min, 0.0 < mass_min < 1.0, "a share in (0, 1)"),
            ("--permutations", permutations, permutations >= 0, "a whole number ≥ 0 (0: no test)"),
            ("--trees", trees, trees >= 1, "a whole number ≥ 1"),
            ("--seed", seed, seed >= 0, "a seed ≥ 0")):
        if not (isinstance(value, (int, float, np.integer, np.floating)) and np.isfinite(value) and ok):
            raise UserError(f"{flag} {value}: expected {expected}")


# ------------------------------------------------------------------ PRIM
@dataclass
class PrimResult:
    """PRIM's peeling trajectory and the chosen box.

    ``trajectory``: one row per box (box, coverage, density, mass, runs, cases, res_dim,
    meets_threshold, chosen).  ``box``: one row per restricted input of the chosen box (parameter,
    low, high, range_low, range_high, qp_low, qp_high; a quasi-p is NaN for a side not restricted).
    ``index``: the chosen box; ``rule``: how it was chosen, in words.
    """

    trajectory: pd.DataFrame
    box: pd.DataFrame
    index: int
    rule: str
    threshold: float
    limits: list[pd.DataFrame] = field(repr=False, default_factory=list)   # EMA's box limits per box
    by_box: bool = False              # chosen with --box (not by the threshold rule)

    @property
    def stats(self) -> dict[str, float]:
        r = self.trajectory.iloc[self.index]
        return {k: float(r[k]) for k in ("coverage", "density", "mass")} | {
            "runs": int(r["runs"]), "cases": int(r["cases"]), "res_dim": int(r["res_dim"])}


def _trajectory(box: Any, threshold: float) -> pd.DataFrame:
    pt = box.peeling_trajectory
    out = pd.DataFrame({"box": np.arange(len(pt)), "coverage": pt["coverage"].astype(float).to_numpy(),
                        "density": pt["density"].astype(float).to_numpy(),
                        "mass": pt["mass"].astype(float).to_numpy(), "runs": pt["n"].astype(int).to_numpy(),
                        "cases": pt["k"].astype(int).to_numpy(), "res_dim": pt["res_dim"].astype(int).to_numpy()})
    out["meets_threshold"] = out["density"] >= threshold - 1e-12
    return out


def _limit_value(v: Any) -> Any:
    if isinstance(v, (set, frozenset)):
        return "{" + ", ".join(sorted(map(str, v))) + "}"
    return float(v) if isinstance(v, (int, float, np.integer, np.floating)) else v


def _box_table(limits: pd.DataFrame, init: pd.DataFrame, qp: dict[str, list[float]]) -> pd.DataFrame:
    rows = []
    for p in limits.columns:
        lo, hi = limits.loc[0, p], limits.loc[1, p]
        ilo, ihi = init.loc[0, p], init.loc[1, p]
        if lo == ilo and hi == ihi:
            continue
        q = [np.nan if (v is None or v < 0) else float(v) for v in qp.get(p, [-1, -1])]
        rows.append({"parameter": p, "low": _limit_value(lo), "high": _limit_value(hi),
                     "range_low": _limit_value(ilo), "range_high": _limit_value(ihi),
                     "qp_low": q[0], "qp_high": q[1]})
    return pd.DataFrame(rows, columns=["parameter", "low", "high", "range_low", "range_high", "qp_low", "qp_high"])


def prim_box(x: pd.DataFrame, y: np.ndarray, *, threshold: float = DEFAULTS["threshold"],
             peel_alpha: float = DEFAULTS["peel_alpha"], paste_alpha: float = DEFAULTS["paste_alpha"],
             mass_min: float = DEFAULTS["mass_min"], box: int | None = None) -> PrimResult:
    """PRIM (EMA Workbench) on inputs ``x`` and 0/1 labels ``y``: the trajectory and the chosen box —
    the last box whose density reaches ``threshold``, else the densest, or the box numbered ``box``."""
    prim, _, _, _ = _ema()
    x = _prepared(x)
    y = np.asarray(y, dtype=bool)
    with _quiet():
        alg = prim.Prim(x, y, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min)
        found = alg.find_box()
    traj = _trajectory(found, threshold)
    if box is not None:
        if not 0 <= box < len(traj):
            raise UserError(f"--box {box}: the peeling trajectory has boxes 0–{len(traj) - 1}")
        index, rule = int(box), f"box {box}, chosen with --box"
    else:
        index, rule = _choose(traj, threshold)
        last = float(traj["mass"].min())
        if not traj["meets_threshold"].any() and last > 2 * mass_min:
            rule += (f"; PRIM stopped at mass {last:.2f}, where no peel raises the density (few runs or noisy "
                     "labels); read CART's leaves and the feature scores too")
    traj["chosen"] = traj["box"] == index
    limits = list(found.box_lims)
    table = _box_table(limits[index], alg.box_init, found.p_values[index])
    return PrimResult(traj, table, index, rule, threshold, limits, by_box=box is not None)


def _trajectory_only_box(prim: Any) -> type:
    """A ``PrimBox`` that leaves out the quasi-p values (the permutation refits read only the trajectory)."""
    class TrajectoryBox(prim.PrimBox):
        def _calculate_quasi_p(self, i, restricted_dims):  # noqa: ANN001, ANN202
            return {}
    return TrajectoryBox


def _choose(traj: pd.DataFrame, threshold: float) -> tuple[int, str]:
    """The box reported: the last on the trajectory whose density reaches ``threshold``, else the densest
    (the first of equally dense ones); with the rule in words."""
    dens = traj["density"].to_numpy(dtype=float)
    meets = np.flatnonzero(dens >= threshold - 1e-12)
    if meets.size:
        return int(meets[-1]), f"the last box on the trajectory with density ≥ {threshold:g}"
    best = int(np.flatnonzero(dens >= dens.max() - 1e-12)[0])
    return best, (f"no box reaches density {threshold:g}: the densest box (density {dens.max():.3g}); "
                  "lower --threshold or read the trajectory")


def _densest_of_mass(traj: pd.DataFrame, mass: float) -> float:
    """The highest density among the boxes of a trajectory holding at least ``mass`` of the runs."""
    keep = traj["mass"].to_numpy(dtype=float) >= mass - 1e-12
    return float(traj["density"].to_numpy(dtype=float)[keep].max()) if keep.any() else float("nan")


# ------------------------------------------------------------------ seed noise
@dataclass
class NoiseTest:
    """The chosen PRIM box against PRIM on permuted labels, and how much of being a case is seed noise."""

    permutations: int
    seed: int
    density: float                    # the test statistic on the runs' labels (see noise_test)
    mass: float                       # the chosen box's
    null_densities: np.ndarray = field(repr=False)     # the statistic on each permutation
    p_value: float
    share_seed: float                 # share of the case indicator's variance within design points (ANOVA)
    points: int
    points_mixed: int                 # design points whose replications disagree (some cases, some not)
    replications: int                 # most replications of a point
    note: str = ""

    @property
    def tested(self) -> bool:
        return self.permutations > 0 and np.isfinite(self.p_value)

    @property
    def distinguishable(self) -> bool | None:
        return bool(self.p_value <= ALPHA) if self.tested else None

    @property
    def null_q95(self) -> float:
        return float(np.quantile(self.null_densities, 0.95)) if len(self.null_densities) else float("nan")

    def verdict(self) -> str:
        """The one-line verdict."""
        if self.note:
            return f"verdict: not tested ({self.note})"
        if not self.tested:
            return "verdict: not tested (--permutations 0)"
        what = ("distinguishable from seed noise" if self.distinguishable
                else "NOT distinguishable from seed noise")
        return (f"verdict: the PRIM box is {what}: density {self.density:.3g}; PRIM refitted on the case labels "
                f"permuted across runs ({self.permutations} times) reports {np.mean(self.null_densities):.3g} on "
                f"average, 95th percentile {self.null_q95:.3g}; p = {self.p_value:.3g}")


def noise_test(x: pd.DataFrame, y: np.ndarray, chosen: PrimResult, *, points: np.ndarray | None = None,
               permutations: int = DEFAULTS["permutations"], seed: int = DEFAULTS["seed"],
               peel_alpha: float = DEFAULTS["peel_alpha"], paste_alpha: float = DEFAULTS["paste_alpha"],
               mass_min: float = DEFAULTS["mass_min"]) -> NoiseTest:
    """Permutation test of the chosen box and the seed-noise share of the labels.

    The statistic is computed the same way on the runs' labels and on each permutation of them across
    runs (so that under "the inputs carry no information" the test is exact): the density of the box
    PRIM reports by the threshold rule (:func:`_choose`); for a box chosen with ``--box``, the highest
    density of a box on the trajectory holding at least that box's mass.  p = (1 + #{permutations with a
    statistic ≥ the observed}) / (1 + permutations).  ``points``: the design point of each run (None:
    every run its own point).  The permutations come from ``numpy.random.default_rng(seed)``.
    """
    from experiments.sensitivity import seed_noise

    y = np.asarray(y, dtype=bool)
    pts = np.arange(len(y)) if points is None else np.asarray(points)
    st = chosen.stats
    frame = pd.DataFrame({"point": pts, "value": y.astype(float)})
    nz = seed_noise(frame)
    share = float(nz.get("share_seed", np.nan))
    per_point = frame.groupby("point")["value"].agg(["mean", "size"])
    mixed = int(((per_point["mean"] > 0) & (per_point["mean"] < 1)).sum())
    reps = int(per_point["size"].max()) if len(per_point) else 0
    if chosen.by_box:
        def statistic(traj: pd.DataFrame) -> float:
            return _densest_of_mass(traj, st["mass"])
    else:
        def statistic(traj: pd.DataFrame) -> float:
            return float(traj["density"].iloc[_choose(traj, chosen.threshold)[0]])
    observed = statistic(chosen.trajectory)
    base = dict(permutations=permutations, seed=seed, density=observed, mass=st["mass"], share_seed=share,
                points=int(len(per_point)), points_mixed=mixed, replications=reps)
    if st["res_dim"] == 0:
        return NoiseTest(**base, null_densities=np.array([]), p_value=float("nan"),
                         note="the chosen box restricts no input")
    if permutations == 0:
        return NoiseTest(**base, null_densities=np.array([]), p_value=float("nan"))
    prim, _, _, _ = _ema()
    xp = _prepared(x)
    klass = _trajectory_only_box(prim)
    rng = np.random.default_rng(seed)
    null = np.empty(permutations)
    with _quiet():
        for b in range(permutations):
            alg = prim.Prim(xp, rng.permutation(y), peel_alpha=peel_alpha, paste_alpha=paste_alpha,
                            mass_min=mass_min)
            alg._prim_box_klass = klass
            null[b] = statistic(_trajectory(alg.find_box(), chosen.threshold))
    p = (1 + int((null >= observed - 1e-12).sum())) / (1 + permutations)
    return NoiseTest(**base, null_densities=null, p_value=float(p))


# ------------------------------------------------------------------ CART
@dataclass
class CartResult:
    """CART's leaves as boxes: ``leaves`` one row per leaf (leaf, coverage, density, mass, runs, cases,
    res_dim, rule), ``boxes`` one row per leaf and restricted input (leaf, parameter, low, high);
    ``tree`` the fitted scikit-learn classifier, ``features`` its input names."""

    leaves: pd.DataFrame
    boxes: pd.DataFrame
    tree: Any = field(repr=False)
    features: list[str] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """``cart_boxes.csv``: the leaves with their restricted inputs (a leaf restricting nothing: one row)."""
        long = self.leaves.drop(columns="rule").merge(self.boxes, on="leaf", how="left")
        return long[["leaf", "coverage", "density", "mass", "runs", "cases", "res_dim", "parameter", "low", "high"]]


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def cart_boxes(x: pd.DataFrame, y: np.ndarray, *, mass_min: float = DEFAULTS["mass_min"],
               seed: int = DEFAULTS["seed"]) -> CartResult:
    """CART (EMA Workbench's wrapper of scikit-learn) with leaves of at least ``mass_min`` of the runs."""
    from sklearn.tree import DecisionTreeClassifier

    _, cart, _, _ = _ema()
    x = _prepared(x)
    y = np.asarray(y, dtype=bool)
    with _quiet():
        alg = cart.CART(x, y, mass_min=mass_min)
        # EMA's build_tree, with the random state set (ties between equally good splits are broken at random)
        alg.clf = DecisionTreeClassifier(min_samples_leaf=max(1, int(mass_min * len(x))), random_state=seed)
        alg.clf.fit(alg._x, alg.y)
        limits = alg.boxes
    init_lo, init_hi = x.min(numeric_only=False), x.max(numeric_only=False)
    leaves, boxes = [], []
    n, n_cases = len(y), max(int(y.sum()), 1)
    for k, lim in enumerate(limits, start=1):
        inside = np.ones(n, dtype=bool)
        parts = []
        for p in lim.columns:
            lo, hi = lim.loc[0, p], lim.loc[1, p]
            if isinstance(lo, (set, frozenset)):
                inside &= x[p].isin(lo).to_numpy()
                if set(lo) != set(x[p].unique()):
                    parts.append(f"{p} in {_limit_value(lo)}")
                    boxes.append({"leaf": k, "parameter": p, "low": _limit_value(lo), "high": _limit_value(hi)})
                continue
            inside &= ((x[p] >= lo) & (x[p] <= hi)).to_numpy()
            cut = [f"{p} > {_fmt(float(lo))}"] if lo != init_lo[p] else []
            cut += [f"{p} ≤ {_fmt(float(hi))}"] if hi != init_hi[p] else []
            if cut:
                parts.append(" and ".join(cut))
                boxes.append({"leaf": k, "parameter": p, "low": float(lo), "high": float(hi)})
        runs, cases = int(inside.sum()), int(y[inside].sum())
        leaves.append({"leaf": k, "coverage": cases / n_cases, "density": cases / runs if runs else float("nan"),
                       "mass": runs / n, "runs": runs, "cases": cases, "res_dim": len(parts),
                       "rule": " and ".join(parts) or "(all runs)"})
    return CartResult(pd.DataFrame(leaves), pd.DataFrame(boxes, columns=["leaf", "parameter", "low", "high"]),
                      alg.clf, list(alg.feature_names))


# ------------------------------------------------------------------ feature scores
def feature_scores(x: pd.DataFrame, y: np.ndarray, *, trees: int = DEFAULTS["trees"],
                   seed: int = DEFAULTS["seed"]) -> pd.DataFrame:
    """Extra-trees feature scores (EMA Workbench's ``get_ex_feature_scores``): parameter, score, rank.

    ``max_features`` is a third of the inputs, at least 1 (EMA's rule, which rounds to 0 for one or
    two inputs)."""
    _, _, fs, rule = _ema()
    x = _prepared(x)
    with _quiet():
        scores, _ = fs.get_ex_feature_scores(x, np.asarray(y, dtype=int), mode=rule.CLASSIFICATION,
                                             nr_trees=trees, max_features=max(1, round(x.shape[1] / 3)),
                                             random_state=seed)
    s = scores.iloc[:, 0].astype(float)
    out = pd.DataFrame({"parameter": [str(p) for p in s.index], "score": s.to_numpy()})
    out = out.sort_values(["score", "parameter"], ascending=[False, True], kind="stable").reset_index(drop=True)
    out["rank"] = np.arange(1, len(out) + 1)
    return out


# ------------------------------------------------------------------ the whole analysis
@dataclass
class DiscoveryResult:
    """Scenario discovery of one metric (of one policy) of a sweep; ``text()`` is the report."""

    metric: str
    at: str | int
    direction: str                    # "above" | "below"
    limit: float
    policy: str | None
    inputs: list[str]
    x: pd.DataFrame = field(repr=False)
    y: np.ndarray = field(repr=False)
    values: pd.DataFrame = field(repr=False)     # one row per run (run_values), with column case
    prim: PrimResult = field(repr=False)
    cart: CartResult = field(repr=False)
    scores: pd.DataFrame = field(repr=False)
    noise: NoiseTest = field(repr=False)
    settings: dict[str, Any] = field(default_factory=dict)
    inert: dict[str, str] = field(default_factory=dict)       # parameter → why it is inert
    design: str = ""
    store: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def cases(self) -> int:
        return int(self.y.sum())

    def _shown(self) -> Callable[[float], str]:
        try:
            from experiments.analysis import Shown

            fmt = Shown.of(self.metric)
            return lambda v: f"{fmt(v)} {fmt.suffix}".rstrip()
        except Exception:  # noqa: BLE001  (a metric the registry does not know: plain numbers)
            return lambda v: f"{v:.4g}"

    def _mark(self, p: str) -> str:
        return "  [inert]" if p in self.inert else ""

    def text(self) -> str:
        from experiments.sensitivity import at_phrase, metric_display

        label, unit, _ = (self.metric, "", 1.0)
        with contextlib.suppress(Exception):
            label, unit, _ = metric_display(self.metric)
        shown = self._shown()
        n = len(self.y)
        word = {"above": ">", "below": "<"}[self.direction]
        lines = [f"{self.metric}: {label} ({unit or 'no unit'}), {at_phrase(self.at)} of each run"
                 + (f"; policy {self.policy}" if self.policy else ""),
                 f"cases of interest: {self.metric} {word} {self.limit:g} ({shown(self.limit)}): "
                 f"{self.cases} of {n} runs ({100 * self.cases / n:.1f}%)",
                 f"inputs: {len(self.inputs)} uncertainties of the {self.design or 'sweep'} design, "
                 f"{self.noise.points} design points"
                 + (f" × up to {self.noise.replications} replications" if self.noise.replications > 1 else "")]
        st = self.prim.stats
        lines += ["", f"PRIM box {self.prim.index} of {len(self.prim.trajectory)} boxes on the peeling trajectory "
                      f"({self.prim.rule}):",
                  f"  coverage {st['coverage']:.3f}, density {st['density']:.3f}, mass {st['mass']:.3f} "
                  f"({st['cases']} cases in {st['runs']} runs), {st['res_dim']} restricted inputs"]
        width = max([len(p) for p in self.prim.box["parameter"]] + [10])
        weak = 0
        for r in self.prim.box.itertuples():
            qps = [f"quasi-p {side} {q:.2g}" + (" ~" if q >= ALPHA else "")
                   for side, q in (("low", r.qp_low), ("high", r.qp_high)) if np.isfinite(q)]
            weak += sum(q >= ALPHA for q in (r.qp_low, r.qp_high) if np.isfinite(q))
            lines.append(f"  {r.parameter:<{width}}  {_fmt(r.low)} – {_fmt(r.high)}   "
                         f"(range {_fmt(r.range_low)} – {_fmt(r.range_high)})   {', '.join(qps)}"
                         + self._mark(r.parameter))
        if weak:
            lines.append(f"  {weak} limit(s) with a quasi-p ≥ {ALPHA:g} (~): not significant; the box holds about "
                         "as well without them")
        dense = self.prim.trajectory
        lines.append(f"  trajectory: {len(dense)} boxes from coverage 1, density {dense['density'].iloc[0]:.3f} "
                     f"(all runs) to coverage {dense['coverage'].iloc[-1]:.3f}, density "
                     f"{dense['density'].iloc[-1]:.3f}; {int(dense['meets_threshold'].sum())} reach the density "
                     f"threshold {self.prim.threshold:g}")
        lv = self.cart.leaves
        base = self.cases / n
        good = lv[lv["density"] > base].sort_values(["density", "coverage"], ascending=False)
        lines += ["", f"CART: {len(lv)} leaves (each ≥ {self.settings.get('mass_min', DEFAULTS['mass_min']):g} of "
                      f"the runs); the leaves denser than all runs ({base:.3f}), densest first:"]
        lines += [f"  leaf {r.leaf}: coverage {r.coverage:.3f}, density {r.density:.3f}, mass {r.mass:.3f}: "
                  f"{r.rule}" for r in good.head(CART_SHOWN).itertuples()] or ["  (none)"]
        if len(good) > CART_SHOWN:
            lines.append(f"  … and {len(good) - CART_SHOWN} more (cart_boxes.csv)")
        lines += ["", f"Feature scores (extra trees, {self.settings.get('trees', DEFAULTS['trees'])} trees; "
                      "share of the impurity decrease, sums to 1):"]
        width = max([len(p) for p in self.scores["parameter"]] + [10])
        lines += [f"  {r.rank:>2}. {r.parameter:<{width}}  {r.score:.3f}" + self._mark(r.parameter)
                  for r in self.scores.itertuples()]
        nz = self.noise
        lines += ["", "Seed noise:"]
        if nz.replications > 1 and np.isfinite(nz.share_seed):
            lines.append(f"  {100 * nz.share_seed:.1f}% of the case indicator's variance lies between replications "
                         f"of the same design point; the replications disagree at {nz.points_mixed} of "
                         f"{nz.points} points")
        else:
            lines.append("  one run per design point: seed noise cannot be separated from the inputs' effect "
                         "(use replications ≥ 2); the test below treats every run's label as exchangeable")
        lines.append(f"  {nz.verdict()}")
        if self.inert:
            lines += ["", "Inert inputs for this metric (experiments.analysis.inert_parameters), marked [inert] above:"]
            width = max(len(p) for p in self.inert)
            lines += [f"  {p:<{width}}  {why}" for p, why in self.inert.items()]
        lines += [f"note: {t}" for t in self.notes]
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        """The settings and headline numbers, as written to ``discover.json``."""
        nz = self.noise
        return {"kind": "kyoso discover", "store": self.store, "metric": self.metric, "at": self.at,
                "cases": {self.direction: self.limit}, "policy": self.policy, "inputs": self.inputs,
                "runs": int(len(self.y)), "cases_of_interest": self.cases, "design": self.design,
                "settings": self.settings,
                "prim": {"box": self.prim.index, "rule": self.prim.rule, **self.prim.stats,
                         "restricted": self.prim.box["parameter"].tolist()},
                "cart": {"leaves": int(len(self.cart.leaves))},
                "feature_scores": dict(zip(self.scores["parameter"], self.scores["score"].round(6))),
                "seed_noise": {"test": "PRIM refitted on the case labels permuted across runs; statistic: "
                                       + ("the highest density of a box of at least the chosen box's mass"
                                          if self.prim.by_box else "the density of the box the threshold rule "
                                                                   "reports"),
                               "statistic": nz.density, "permutations": nz.permutations, "seed": nz.seed,
                               "p_value": None if not np.isfinite(nz.p_value) else nz.p_value,
                               "null_density_mean": float(np.mean(nz.null_densities)) if nz.tested else None,
                               "null_density_q95": nz.null_q95 if nz.tested else None,
                               "distinguishable": nz.distinguishable, "share_seed": nz.share_seed
                               if np.isfinite(nz.share_seed) else None, "points_mixed": nz.points_mixed,
                               "verdict": nz.verdict()},
                "inert": self.inert, "notes": self.notes,
                "versions": {"ema_workbench": _ema_version()}}

    def figures(self) -> dict[str, Callable[[], Any]]:
        from experiments.plots import discovery as figs

        title = f"{self.metric} {'>' if self.direction == 'above' else '<'} {self.limit:g}" + (
            f", policy {self.policy}" if self.policy else "")
        return {"prim_trajectory.png": lambda: figs.prim_trajectory_figure(self.prim.trajectory, title=title,
                                                                          threshold=self.prim.threshold),
                "prim_box.png": lambda: figs.prim_box_figure(self.prim.box, self.prim.stats, title=title),
                "cart_tree.png": lambda: figs.cart_tree_figure(self.cart, title=title),
                "feature_scores.png": lambda: figs.feature_scores_figure(self.scores, title=title,
                                                                         inert=list(self.inert))}

    def tables(self) -> dict[str, pd.DataFrame]:
        traj = self.prim.trajectory
        box = self.prim.box.assign(inert=[p in self.inert for p in self.prim.box["parameter"]])
        scores = self.scores.assign(inert=[p in self.inert for p in self.scores["parameter"]])
        return {"prim_box.csv": box, "prim_trajectory.csv": traj, "cart_boxes.csv": self.cart.table(),
                "feature_scores.csv": scores}

    def write(self, out: str | Path, *, force: bool = False) -> list[Path]:
        """Write the tables, figures, ``discover.json`` and ``report.txt`` into ``out`` (drawn into a
        temporary directory beside it first; into a non-empty ``out`` only with ``force``, replacing only
        these files)."""
        from experiments.plots.base import save

        out = Path(out)
        check_output(out, force=force)
        out_abs = out.resolve()
        out_abs.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out_abs.name}.", dir=out_abs.parent))
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o777 & ~umask)
            for name, table in self.tables().items():
                table.to_csv(tmp / name, index=False)
            for name, draw in self.figures().items():
                save(draw(), tmp / name)
            (tmp / "discover.json").write_text(json.dumps(self.summary(), indent=1, default=_json))
            (tmp / "report.txt").write_text(self.text() + "\n")
            names = sorted(p.name for p in tmp.iterdir())
            if not out_abs.exists():
                os.replace(tmp, out_abs)
            else:
                for name in names:
                    os.replace(tmp / name, out_abs / name)
                shutil.rmtree(tmp, ignore_errors=True)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return [out / name for name in names]


def _json(v: Any) -> Any:
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    return str(v)


def check_output(out: str | Path, *, force: bool) -> None:
    """Refuse a file, or an existing non-empty directory unless ``force`` (then only the files named
    in :data:`FILES` and :data:`FIGURES` are replaced), or one of those names taken by a directory."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise UserError(f"--out {out}: directory exists and is not empty (use --force to replace the discover "
                        "files in it; other files are kept)")
    for name in (*FILES, *FIGURES):
        if (out / name).is_dir():
            raise UserError(f"--out {out}: {name} in it is a directory, expected a file")


def discover_data(x: pd.DataFrame, y: np.ndarray, *, points: np.ndarray | None = None,
                  threshold: float = DEFAULTS["threshold"], peel_alpha: float = DEFAULTS["peel_alpha"],
                  paste_alpha: float = DEFAULTS["paste_alpha"], mass_min: float = DEFAULTS["mass_min"],
                  box: int | None = None, permutations: int = DEFAULTS["permutations"],
                  trees: int = DEFAULTS["trees"], seed: int = DEFAULTS["seed"]
                  ) -> tuple[PrimResult, CartResult, pd.DataFrame, NoiseTest]:
    """PRIM, CART, feature scores and the noise test on any inputs ``x`` and labels ``y`` (no store)."""
    _check_settings(threshold, peel_alpha, paste_alpha, mass_min, permutations, trees, seed)
    y = np.asarray(y, dtype=bool)
    if len(y) != len(x):
        raise UserError(f"labels: {len(y)} for {len(x)} rows of inputs")
    pr = prim_box(x, y, threshold=threshold, peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min,
                  box=box)
    cr = cart_boxes(x, y, mass_min=mass_min, seed=seed)
    fs = feature_scores(x, y, trees=trees, seed=seed)
    nz = noise_test(x, y, pr, points=points, permutations=permutations, seed=seed, peel_alpha=peel_alpha,
                    paste_alpha=paste_alpha, mass_min=mass_min)
    return pr, cr, fs, nz


def _policies(manifest: dict[str, Any]) -> list[str]:
    names = manifest.get("policy_names") or list(manifest.get("policies") or {})
    return [str(n) for n in names]


def store_inputs(store: str | Path, metric: str, *, at: str | int = "final", policy: str | None = None,
                 versus: str | None = None) -> tuple[pd.DataFrame, list[str], dict[str, Any], str | None, list[str]]:
    """One row per finished run of ``store`` (of ``policy``): :func:`~experiments.sensitivity.run_values`
    of ``metric`` with the design's uncertainty columns; returns (values, inputs, manifest, policy, notes).

    With ``versus``, ``value`` is the paired difference policy − ``versus`` of the runs that share a design
    point and replication (and so a seed): what the policy changes, with the seed noise both runs share
    removed.  User errors: not a store, unknown metric, bad ``at``, a policy missing, unknown or not
    applicable, ``versus`` without policies or equal to ``policy``."""
    from experiments.sensitivity import parse_at, run_values
    from experiments.store import load_results, read_manifest
    from model.scenario import known_hint

    manifest = read_manifest(store)
    if metric not in manifest.get("metrics", []):
        raise UserError(f"--metric {metric!r}: not stored in this sweep ({known_hint(metric, manifest['metrics'])})")
    at = parse_at(at)
    policies = _policies(manifest)
    if policies:
        if policy is None and len(policies) > 1:
            raise UserError(f"--policy: this sweep has {len(policies)} policies ({', '.join(policies)}); "
                            "choose one with --policy NAME")
        policy = policies[0] if policy is None else policy
        if policy not in policies:
            raise UserError(f"--policy {policy!r}: not a policy of this sweep ({known_hint(policy, policies)})")
    elif policy is not None:
        raise UserError(f"--policy {policy!r}: this sweep has no [policies]")
    if versus is not None:
        if not policies:
            raise UserError(f"--versus {versus!r}: this sweep has no [policies] to compare")
        if versus not in policies:
            raise UserError(f"--versus {versus!r}: not a policy of this sweep ({known_hint(versus, policies)})")
        if versus == policy:
            raise UserError(f"--versus {versus!r}: the same policy as --policy; choose another reference")
    inputs = [str(p) for p in manifest["design"]["names"]]
    columns = ["run_id", "point", "replication", "seed", *inputs, "step", "quarter", metric]
    if policies:
        columns.append("policy")
    results = load_results(store, columns=list(dict.fromkeys(columns)))
    everything = results
    if policies:
        results = everything[everything["policy"].astype(str) == policy]
        if results.empty:
            raise UserError(f"--policy {policy}: no finished run of this policy in {store}")
    values = run_values(results, metric, at, inputs)
    notes = []
    planned = sum(1 for r in manifest.get("runs", []) if not policies or str(r.get("policy")) == policy)
    if planned and planned > len(values):
        notes.append(f"{planned - len(values)} planned runs are missing (failed or not run yet)")
    if versus is not None:
        ref = run_values(everything[everything["policy"].astype(str) == versus], metric, at, inputs)
        pair = values.merge(ref[["point", "replication", "value"]], on=["point", "replication"],
                            suffixes=("", "_versus"), how="inner", validate="one_to_one")
        if len(pair) < len(values):
            notes.append(f"{len(values) - len(pair)} runs of {policy} have no finished run of {versus} "
                         "at the same design point and replication and are left out")
        values = pair.assign(value=pair["value"] - pair["value_versus"]).drop(columns="value_versus")
    bad = values["value"].isna()
    if bad.any():
        notes.append(f"{int(bad.sum())} runs with a missing (NaN) {metric} are left out")
        values = values[~bad].reset_index(drop=True)
    return values, inputs, manifest, policy, notes


def _inert(store: str | Path, values: pd.DataFrame, inputs: list[str], design: str, policy: str | None,
           seed: int) -> tuple[dict[str, str], str | None]:
    """Inputs flagged inert by :func:`experiments.analysis.inert_parameters` (with the store's gated ones)."""
    try:
        from experiments.analysis import gated_in_store, inert_parameters
    except ImportError:
        return {}, "inert inputs not checked (experiments.analysis.inert_parameters is not available)"
    gated = gated_in_store(store, policy)
    table = inert_parameters(values, inputs, design=design, gated=gated, seed=seed)
    flagged = table[table["inert"].astype(bool)]
    return {str(r.parameter): str(r.why or "inert") for r in flagged.itertuples()}, None


def discover(store: str | Path, metric: str, *, above: float | None = None, below: float | None = None,
             policy: str | None = None, at: str | int = "final", threshold: float = DEFAULTS["threshold"],
             peel_alpha: float = DEFAULTS["peel_alpha"], paste_alpha: float = DEFAULTS["paste_alpha"],
             mass_min: float = DEFAULTS["mass_min"], box: int | None = None,
             permutations: int = DEFAULTS["permutations"], trees: int = DEFAULTS["trees"],
             seed: int = DEFAULTS["seed"], inert: bool = True, versus: str | None = None) -> DiscoveryResult:
    """Scenario discovery of ``metric`` in the sweep ``store`` (the ``kyoso discover`` command)::

        res = discover("out/study", "share_JP", below=0.05, policy="levers_on")
        print(res.text()); res.prim.box; res.cart.leaves; res.scores; res.noise.verdict()
        res.write("out/study_discover")

    ``inert=False`` skips the check of inert inputs (it runs its own permutation test per input).
    ``versus="status_quo"`` classifies the paired difference policy − status_quo (same design point and
    seed) instead of the policy's own value: which uncertainties make the policy gain little or lose.
    """
    case_labels([], above=above, below=below)                        # exactly one of them
    _check_settings(threshold, peel_alpha, paste_alpha, mass_min, permutations, trees, seed)
    values, inputs, manifest, policy, notes = store_inputs(store, metric, at=at, policy=policy, versus=versus)
    y = case_labels(values["value"], above=above, below=below)
    direction, limit = ("above", float(above)) if above is not None else ("below", float(below))
    v = values["value"].to_numpy(dtype=float)
    span = f"{metric} ranges {v.min():.4g} to {v.max():.4g} over {len(v)} runs" if len(v) else "no runs"
    if not y.any():
        raise UserError(f"--{direction} {limit:g}: no run is a case ({span})")
    if y.all():
        raise UserError(f"--{direction} {limit:g}: every run is a case ({span})")
    x = values[inputs]
    design = str(manifest["design"].get("kind", ""))
    flagged: dict[str, str] = {}
    if inert:
        flagged, why = _inert(store, values, inputs, design, policy, seed)
        if why:
            notes.append(why)
    pr, cr, fs, nz = discover_data(x, y, points=values["point"].to_numpy(), threshold=threshold,
                                   peel_alpha=peel_alpha, paste_alpha=paste_alpha, mass_min=mass_min, box=box,
                                   permutations=permutations, trees=trees, seed=seed)
    settings = {"at": at, "threshold": threshold, "peel_alpha": peel_alpha, "paste_alpha": paste_alpha,
                "mass_min": mass_min, "box": box, "permutations": permutations, "trees": trees, "seed": seed}
    label = policy if versus is None else f"{policy} − {versus} (paired on design point and seed)"
    return DiscoveryResult(metric=metric, at=at, direction=direction, limit=limit, policy=label, inputs=inputs,
                           x=x.reset_index(drop=True), y=y, values=values.assign(case=y), prim=pr, cart=cr,
                           scores=fs, noise=nz, settings=settings, inert=flagged, design=design,
                           store=str(store), notes=notes)


# ------------------------------------------------------------------ the command
def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``kyoso discover``: its arguments on the ``kyoso`` sub-command parser ``sub``."""
    d = DEFAULTS
    ds = sub.add_parser("discover", help="scenario discovery: PRIM box, CART leaves and feature scores of the "
                                         "runs whose metric is above or below a value, tested against seed noise")
    ds.add_argument("store", type=Path, help="sweep directory")
    ds.add_argument("--metric", required=True, help="metric stored in the sweep")
    ds.add_argument("--above", type=float, default=None, metavar="X",
                    help="cases of interest: runs whose metric is > X (in the stored unit: shares as 0–1)")
    ds.add_argument("--below", type=float, default=None, metavar="X",
                    help="cases of interest: runs whose metric is < X")
    ds.add_argument("--policy", default=None, help="the policy whose runs are analysed (needed when the sweep has "
                                                   "several [policies])")
    ds.add_argument("--versus", default=None, metavar="P",
                    help="classify the paired difference --policy − P (same design point and seed) instead of the "
                         "policy's own value: which uncertainties make the policy gain little or lose")
    ds.add_argument("--at", default="final", metavar="final|mean|max|min|STEP|QUARTER",
                    help="reduce each run to its final-quarter value (default), its mean, max or min over the "
                         "quarters, or its value at a step number or quarter such as 2030Q1")
    ds.add_argument("--threshold", type=float, default=d["threshold"], metavar="DENSITY",
                    help=f"the box reported: the last on PRIM's trajectory with at least this density "
                         f"(default: {d['threshold']})")
    ds.add_argument("--box", type=int, default=None, metavar="K", help="report box K of the trajectory instead")
    ds.add_argument("--peel-alpha", type=float, default=d["peel_alpha"], metavar="A",
                    help=f"share of the runs PRIM peels off per step (default: {d['peel_alpha']})")
    ds.add_argument("--paste-alpha", type=float, default=d["paste_alpha"], metavar="A",
                    help=f"share PRIM pastes back per step (default: {d['paste_alpha']})")
    ds.add_argument("--mass-min", type=float, default=d["mass_min"], metavar="M",
                    help=f"smallest share of the runs in a PRIM box or CART leaf (default: {d['mass_min']})")
    ds.add_argument("--permutations", type=int, default=d["permutations"], metavar="N",
                    help=f"PRIM refits on permuted labels for the seed-noise test (default: {d['permutations']}; "
                         "0: no test)")
    ds.add_argument("--trees", type=int, default=d["trees"], metavar="N",
                    help=f"trees of the extra-trees feature scores (default: {d['trees']})")
    ds.add_argument("--seed", type=_seed, default=d["seed"],
                    help="seed of the permutations, CART's ties and the extra trees (default: 0)")
    ds.add_argument("--out", type=Path, default=None, metavar="DIR",
                    help="write prim_box.csv, prim_trajectory.csv, cart_boxes.csv, feature_scores.csv, the "
                         "figures, discover.json and report.txt here")
    ds.add_argument("--force", action="store_true", help="write into a non-empty --out (replaces only these files)")
    return ds


def command(args: argparse.Namespace) -> int:
    """``kyoso discover``: user errors raise :class:`UserError` (one line on stderr, exit 2), before
    anything is written."""
    if args.out is not None:
        check_output(args.out, force=args.force)
    res = discover(args.store, args.metric, above=args.above, below=args.below, policy=args.policy, at=args.at,
                   threshold=args.threshold, peel_alpha=args.peel_alpha, paste_alpha=args.paste_alpha,
                   mass_min=args.mass_min, box=args.box, permutations=args.permutations, trees=args.trees,
                   seed=args.seed, versus=args.versus)
    print(res.text())
    if args.out is not None:
        paths = res.write(args.out, force=args.force)
        print(f"kyoso discover: wrote {len(paths)} files in {args.out}")
    return 0
