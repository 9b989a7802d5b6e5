"""Analyses of a sweep, registered by name: main effects, Sobol, Morris, seed noise, ….

Each run is reduced to one number per metric by
:func:`experiments.sensitivity.reduce_runs` (``at="final"``: the value in the
last quarter; ``"mean"``, ``"max"``, ``"min"`` over the simulated quarters,
steps 1…Q, leaving out the initial state; or a step number or a quarter label
such as ``"2030Q1"``).  Then the registered analyses run on
those values (:data:`ANALYSES`, in this order):

* **Main effects** for every design: mean, standard deviation and 95%
  interval of the metric at each level of each parameter (grid values, or
  quantile bins for continuous designs), the share of variance the main effect
  explains (η², the first-order index of a full factorial) and Spearman's ρ.
* **Grid means** of a two-parameter grid (drawn as a heatmap).
* **Sobol** designs: first-order and total indices with bootstrap confidence
  intervals from ``SALib.analyze.sobol`` on the mean over replications of each
  design point (Saltelli 2002; Jansen 1999 for the total index).
* **Morris** designs: μ, μ*, σ and the confidence interval of μ* from
  ``SALib.analyze.morris`` (Campolongo, Cariboni & Saltelli 2007).
* **Seed noise**: because the model is stochastic, a one-way ANOVA with the
  design points as groups splits the runs' variance into the part between
  replications of the same point (seed noise) and the part between points
  (parameters); the variance-component estimate (Searle, Casella & McCulloch
  1992, ch. 3) says what share of a single run's variance is noise.
* **Inert parameters** (in the main-effects summary): a parameter gated to
  nothing in the sweep's scenario (:func:`gated_in_store`), or whose η² is
  not beyond chance (:func:`experiments.sensitivity.inert_parameters`: an F
  test against seed noise on grids, a permutation test over design points
  otherwise), is flagged.
* **Policies** (a sweep with ``[policies]``, or several stores of one design
  read together): every policy against the reference on common (point,
  replication) pairs, which share their seed: per policy the mean with its
  95% interval; the mean paired difference with its t-interval, the share of
  pairs where the policy is higher and whether the difference is within seed
  noise (the interval contains 0); and the difference at each design point
  (which uncertainties make a policy fail: ``kyoso discover``).  The other
  analyses run on one policy (``--policy``, default the first).

Adding an analysis is one function decorated with :func:`analysis`: it
declares the design it needs, whether ``kyoso analyze --method`` offers it,
how ``kyoso analyze`` prints its result and which function of
:mod:`experiments.plots` draws it for ``kyoso plot``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from experiments.errors import UserError
from experiments.registry import Registry
from experiments.sensitivity import (  # the estimators, also importable from here
    AT,
    ID_COLUMNS,
    main_effect_summary,
    main_effects,
    morris_indices,
    outcomes,
    parse_at,
    point_means,
    reduce_runs,
    run_values,
    seed_noise,
    sobol_indices,
    t_interval,
    at_phrase,
    human,
    human_interval,
    inert_parameters,
    metric_display,
    paired_policy_differences,
)
from experiments.store import load_results, read_manifest
from model.scenario import known_hint

__all__ = [
    "AT",
    "outcomes",
    "reduce_runs",
    "METHODS",
    "ANALYSES",
    "Analysis",
    "SweepData",
    "analysis",
    "default_method",
    "SweepAnalysis",
    "Shown",
    "analyze_sweep",
    "analyze_stores",
    "inert_parameters",
    "gated_in_store",
]

_FMT = "{:.4g}".format
_NOISE = "  ~ not distinguishable from noise"


@dataclass(frozen=True)
class Shown:
    """How a metric's numbers are printed: label and display unit from the metric registry, and the factor
    from the stored value to that unit (100 for a share shown in %)."""

    metric: str
    label: str
    unit: str
    scale: float

    @classmethod
    def of(cls, metric: str) -> "Shown":
        return cls(metric, *metric_display(metric))

    @property
    def suffix(self) -> str:
        """The unit written after a number ('' for a scale such as 0–1 or 'step 0 = 1')."""
        return "" if "0–1" in self.unit or "=" in self.unit else self.unit

    def __call__(self, value: float) -> str:
        return human(value * self.scale)

    def interval(self, mean: float, low: float, high: float) -> str:
        return human_interval(mean * self.scale, low * self.scale, high * self.scale, self.suffix)


# ------------------------------------------------------------------ registry
@dataclass
class SweepData:
    """What an analysis of one metric reads: one value per run, the point means, the design."""

    metric: str
    at: str
    design: dict[str, Any]            # the manifest's design (kind, names, problem, matrix, …)
    parameters: list[str]
    values: pd.DataFrame              # run_values: one row per run
    points: pd.DataFrame              # point_means: one row per design point
    replications: int
    seed: int = 0
    bins: int = 5
    notes: list[str] = field(default_factory=list)   # an analysis may add a line for the reader
    policy: str | None = None                         # the policy ``values`` holds (None: no policies)
    policies: list[str] = field(default_factory=list)
    reference: str | None = None
    all_values: pd.DataFrame | None = None            # every policy's runs (column ``policy``)
    gated: dict[str, str] = field(default_factory=dict)   # parameter → why it is gated to nothing


def _anywhere(data: SweepData) -> bool:
    return True


def _always_shown(result: Any) -> bool:
    return True


@dataclass(frozen=True)
class Analysis:
    """One registered analysis (see :func:`analysis`)."""

    name: str
    analyze: Callable[[SweepData], Any]
    report: Callable[[Any], list[str]]
    figure: str | None = None
    file: str | None = None
    design: str | None = None
    applies: Callable[[SweepData], bool] = _anywhere
    method: bool = False
    always: bool = True
    across_metrics: bool = False
    shown: Callable[[Any], bool] = _always_shown

    def fits(self, data: SweepData) -> bool:
        """Whether this analysis applies to the sweep behind ``data``."""
        return self.design in (None, data.design["kind"]) and self.applies(data)


ANALYSES: Registry[Analysis] = Registry("analysis")


def analysis(name: str, *, report: Callable[[Any], list[str]], figure: str | None = None,
             file: str | None = None, design: str | None = None,
             applies: Callable[[SweepData], bool] = _anywhere, method: bool = False, always: bool = True,
             across_metrics: bool = False, shown: Callable[[Any], bool] = _always_shown) -> Callable:
    """Register ``analyze(data: SweepData) -> result`` as the analysis ``name``.

    ``report(result, shown)`` gives the lines ``kyoso analyze`` prints
    (``shown``: a :class:`Shown`, the metric's label, unit and scale); ``figure``
    names the function of :mod:`experiments.plots` that draws the result for
    ``kyoso plot`` (``figure(result, metric, at)``, saved as
    ``FILE_METRIC.png``; with ``across_metrics`` the results of every metric,
    dicts of numbers, are drawn together as ``figure(table, at)`` in
    ``FILE.png``) when ``shown(result)`` holds (for any metric).
    ``design``: the design it needs (None: any); ``applies``: a further
    condition.  ``method``: offered by ``--method`` (the default for its
    design); ``always``: run on every sweep it fits, not only when chosen.
    """
    def deco(analyze: Callable[[SweepData], Any]) -> Callable[[SweepData], Any]:
        ANALYSES.add(name, Analysis(name, analyze, report, figure, file, design, applies, method, always,
                                    across_metrics, shown))
        return analyze
    return deco


def _section(title: str, table: pd.DataFrame, row: Callable[[Any], str]) -> list[str]:
    """A blank line, a title and one formatted line per row of ``table``."""
    return ["", title, *(row(r) for r in table.itertuples())]


def _flag(r: Any) -> str:
    if not getattr(r, "inert", False):
        return ""
    return "  ⊘ gated to nothing" if getattr(r, "gated", "") else "  ~ not distinguishable from chance"


def _report_eta2(summary: pd.DataFrame, shown: Shown) -> list[str]:
    lines = _section("Main effects (η² = variance share of the main effect; Spearman ρ):", summary,
                     lambda r: f"  {r.parameter:<44} η² {r.eta2:6.3f}   ρ {r.spearman_rho:6.3f}   "
                               f"range of level means {shown(r.effect_range)} {shown.suffix}".rstrip() + _flag(r))
    if "inert" in summary and summary["inert"].any():
        flagged = summary[summary["inert"]]
        lines.append(f"  {len(flagged)} of {len(summary)} parameters cannot act or their effect is not distinguishable from chance (at this sample size):")
        lines += [f"    {r.parameter}: {r.why}" for r in flagged.itertuples()]
        tests = sorted({t.split(" (")[0] for t in summary["test"] if t and not t.startswith("no test")})
        if tests:
            lines.append(f"    (test: {'; '.join(tests)}; α = 0.05)")
    if "test" in summary:
        untested = summary[summary["test"].str.startswith("no test")]
        if len(untested):
            lines.append(f"  {len(untested)} parameters cannot be tested for an effect beyond chance "
                         "(one design point per level; use more samples)")
    return lines


@analysis("eta2", report=_report_eta2)
def _eta2(data: SweepData) -> pd.DataFrame:
    summary = main_effect_summary(data.values, data.parameters, data.bins)
    inert = inert_parameters(data.values, data.parameters, design=data.design["kind"], gated=data.gated,
                             bins=data.bins, seed=data.seed)
    return summary.merge(inert.drop(columns="eta2"), on="parameter", how="left")


def _report_main(effects: pd.DataFrame, shown: Shown) -> list[str]:
    lines = ["", f"Mean at each level [95% interval] ({shown.unit or 'no unit'}):"]
    for p in dict.fromkeys(effects["parameter"]):
        sub = effects[effects["parameter"] == p]
        lines.append(f"  {p}:")
        lines += [f"    {_FMT(r.level):>10} → {shown.interval(r.mean, r.ci_low, r.ci_high)}"
                  for r in sub.itertuples()]
    return lines


@analysis("main", report=_report_main, figure="main_effects_figure", file="main_effects", method=True)
def _main(data: SweepData) -> pd.DataFrame:
    return main_effects(data.values, data.parameters, data.bins)


def _two_parameters(data: SweepData) -> bool:
    return len(data.parameters) == 2


@analysis("grid", report=lambda points, shown: [], figure="point_heatmap", file="heatmap", design="grid",
          applies=_two_parameters)
def _grid(data: SweepData) -> pd.DataFrame:
    return data.points


def _index(value: float, half: float) -> str:
    return f"{value:6.3f} [{value - half:6.3f}, {value + half:6.3f}]"


def _report_sobol(indices: pd.DataFrame, shown: Shown) -> list[str]:
    noisy = (indices["S1_conf"] > indices["S1"].abs()) | (indices["ST_conf"] > indices["ST"].abs())
    lines = _section("Sobol indices (SALib; [95% bootstrap interval]):", indices.assign(noisy=noisy),
                     lambda r: f"  {r.parameter:<44} S1 {_index(r.S1, r.S1_conf)}   ST {_index(r.ST, r.ST_conf)}"
                               + (_NOISE if r.noisy else ""))
    if noisy.any():
        lines.append(f"  {int(noisy.sum())} of {len(indices)} parameters have an interval wider than the index "
                     "(~): not distinguishable from noise; use more samples (N)")
    return lines


@analysis("sobol", report=_report_sobol, figure="sobol_bars", file="sobol", design="sobol", method=True,
          always=False)
def _sobol(data: SweepData) -> pd.DataFrame:
    if data.replications > 1:
        data.notes.append(f"indices use the mean of {data.replications} replications per point; "
                          "the seed noise left in the means lowers S1 and raises ST")
    return sobol_indices(data.design, data.points, data.metric, seed=data.seed)


def _mu_star(r: Any, shown: Shown) -> str:
    return shown.interval(r.mu_star, r.mu_star - r.mu_star_conf, r.mu_star + r.mu_star_conf)


def _report_morris(indices: pd.DataFrame, shown: Shown) -> list[str]:
    noisy = indices["mu_star_conf"] > indices["mu_star"].abs()
    lines = _section(f"Morris elementary effects (SALib; μ* [95% bootstrap interval], μ, σ in the metric's unit, "
                     f"{shown.unit or 'no unit'}):", indices.assign(noisy=noisy),
                     lambda r: f"  {r.parameter:<44} μ* {_mu_star(r, shown):<28} μ {shown(r.mu):>8}  "
                               f"σ {shown(r.sigma):>8}" + (_NOISE if r.noisy else ""))
    if noisy.any():
        lines.append(f"  {int(noisy.sum())} of {len(indices)} parameters have an interval of μ* wider than μ* "
                     "(~): not distinguishable from noise; use more trajectories")
    return lines


@analysis("morris", report=_report_morris, figure="morris_scatter", file="morris", design="morris",
          method=True, always=False)
def _morris(data: SweepData) -> pd.DataFrame:
    return morris_indices(data.design, data.points, data.metric, seed=data.seed)


def _report_noise(nz: dict[str, Any], shown: Shown) -> list[str]:
    lines = ["", "Seed noise (one-way ANOVA over design points):"]
    if np.isfinite(nz.get("share_seed", np.nan)):
        sd = f"{shown(np.sqrt(nz['var_seed']))} {shown.suffix}".rstrip()
        lines.append(f"  {100 * nz['share_seed']:.1f}% of one run's variance is seed noise "
                     f"(seed sd {sd}; σ²_seed {_FMT(nz['var_seed'])}, σ²_param {_FMT(nz['var_param'])}); "
                     f"{100 * nz['share_ss_within']:.1f}% of the sum of squares lies within points; "
                     f"F = {_FMT(nz.get('F', np.nan))}, p = {_FMT(nz.get('p_value', np.nan))}")
    else:
        lines.append(f"  {nz.get('note', 'not available')}")
    return lines


def _noise_known(nz: dict[str, Any]) -> bool:
    return bool(np.isfinite(nz.get("share_seed", np.nan)))


@analysis("seed_noise", report=_report_noise, figure="seed_noise_figure", file="seed_noise",
          across_metrics=True, shown=_noise_known)
def _seed_noise(data: SweepData) -> dict[str, Any]:
    return seed_noise(data.values)


def _report_policies(res: dict[str, Any], shown: Shown) -> list[str]:
    ref = res["reference"]
    lines = ["", f"Policies (each run's value; 95% interval of the mean over its runs; reference {ref}):"]
    width = max(len(p) for p in res["summary"]["policy"])
    for r in res["summary"].itertuples():
        lines.append(f"  {r.policy:<{width}}  {shown.interval(r.mean, r.ci_low, r.ci_high)}   n = {r.n}")
    lines.append(f"Paired differences policy − {ref} on common design points and seeds (t interval over pairs):")
    for r in res["paired"].itertuples():
        sub = res["by_point"][res["by_point"]["policy"] == r.policy]
        counts = sub["verdict"].value_counts()
        verdict = "within seed noise (the interval contains 0)" if r.within_noise else (
            "higher" if r.diff > 0 else "lower")
        lines.append(f"  {r.policy:<{width}}  {shown.interval(r.diff, r.ci_low, r.ci_high)}   "
                     f"higher in {100 * r.share_higher:.0f}% of {r.n_pairs} pairs; p = {_FMT(r.p_value)}; {verdict}")
        if len(sub):
            lines.append(f"  {'':<{width}}  by design point: higher at {counts.get('higher', 0)}, lower at "
                         f"{counts.get('lower', 0)}, unclear at {counts.get('unclear', 0)} of {len(sub)} points "
                         "(t interval over replications)")
    return lines


def _several_policies(data: SweepData) -> bool:
    return len(data.policies) > 1 and data.all_values is not None


@analysis("policies", report=_report_policies, figure="policy_comparison_figure", file="policies",
          applies=_several_policies)
def _policies(data: SweepData) -> dict[str, Any]:
    assert data.all_values is not None and data.reference is not None
    summary, paired, by_point = paired_policy_differences(data.all_values, data.reference, data.parameters)
    return {"reference": data.reference, "summary": summary, "paired": paired, "by_point": by_point}


#: The choices of ``kyoso analyze --method``.
METHODS = tuple(a.name for a in ANALYSES if a.method)


def default_method(kind: str) -> str:
    """The method for a design: the one made for it, else the first that fits any design."""
    own = [a.name for a in ANALYSES if a.method and a.design == kind]
    return own[0] if own else next(a.name for a in ANALYSES if a.method and a.design is None)


# ------------------------------------------------------------------ a sweep
@dataclass
class SweepAnalysis:
    """The analyses of one metric of one sweep (results by analysis name; :meth:`text` prints them)."""

    metric: str
    at: str
    method: str
    design: str
    parameters: list[str]
    values: pd.DataFrame
    points: pd.DataFrame
    results: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    policy: str | None = None
    policies: list[str] = field(default_factory=list)
    reference: str | None = None

    @property
    def effects(self) -> pd.DataFrame:
        return self.results["main"]

    @property
    def effect_summary(self) -> pd.DataFrame:
        return self.results["eta2"]

    @property
    def noise(self) -> dict[str, Any]:
        return self.results["seed_noise"]

    @property
    def indices(self) -> pd.DataFrame | None:
        """The chosen method's table, unless it is one every sweep gets anyway (main effects)."""
        return None if ANALYSES.get(self.method).always else self.results[self.method]

    def text(self) -> str:
        fmt = Shown.of(self.metric)
        ci = t_interval(self.values["value"])
        share = self.noise.get("share_seed", np.nan)
        lines = [f"{self.metric}: {fmt.label} ({fmt.unit or 'no unit'}), {at_phrase(self.at)} of each run",
                 f"{self.design} design: {self.noise['runs']} runs at {self.noise['points']} points; "
                 f"mean over runs {fmt.interval(ci['mean'], ci['ci_low'], ci['ci_high'])} (95% interval)",
                 f"seed noise: {100 * share:.1f}% of one run's variance" if np.isfinite(share)
                 else f"seed noise: {self.noise.get('note') or 'not available'}"]
        if self.policy is not None:
            lines.insert(1, f"policy {self.policy} (of {', '.join(self.policies)}; --policy chooses; "
                            f"the policy comparison is against {self.reference}, --reference chooses)")
        chosen = ANALYSES.get(self.method)
        shown = ([] if chosen.always else [chosen]) + [a for a in ANALYSES if a.always and a.name in self.results]
        for a in shown:
            lines += a.report(self.results[a.name], fmt)
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)


def _check_call(manifest: dict[str, Any], metric: str, method: str, at: str) -> None:
    kind = manifest["design"]["kind"]
    if metric not in manifest["metrics"]:
        raise UserError(f"--metric {metric!r}: not stored in this sweep ({known_hint(metric, manifest['metrics'])})")
    parse_at(at)
    if method not in METHODS:
        raise UserError(f"--method {method!r}: expected one of {', '.join(METHODS)}")
    need = ANALYSES.get(method).design
    if need not in (None, kind):
        raise UserError(f"--method {method}: needs a {need} design; this sweep used the {kind} design "
                        f"(use --method {default_method(kind)})")


def _choose(name: str | None, names: list[str], flag: str, what: str) -> str:
    if name is None:
        return names[0]
    if name not in names:
        raise UserError(f"{flag} {name!r}: no such {what} ({known_hint(name, names)})")
    return name


def gated_in_store(root: str | Path, policy: str | None = None) -> dict[str, str]:
    """Parameters (store column names) gated to nothing in a store's scenario, with its fixed values and the
    policy's levers applied: parameter → reason.  Empty when the scenario can no longer be loaded."""
    from model.scenario import ScenarioError, gated_parameters, load_scenario

    manifest = read_manifest(root)
    bindings: dict[str, list[str]] = manifest.get("bindings", {})
    policies = manifest.get("policies", {})
    if policies:
        policy = _choose(policy, list(manifest.get("policy_names", policies)), "--policy", "policy")

    def expand(values: dict[str, Any]) -> dict[str, Any]:
        return {p: v for k, v in values.items() for p in bindings.get(k, [k])}

    overrides = {**expand(manifest.get("fixed", {})), **expand(policies.get(policy, {}))}
    names = list(manifest["design"]["names"])
    concrete = {p: k for k in names for p in bindings.get(k, [k])}
    try:
        scenario = load_scenario(manifest["scenario_ref"], **overrides)
        hits = gated_parameters(scenario, list(concrete), varied=list(concrete))
    except (ScenarioError, OSError, KeyError, ValueError):
        return {}
    out: dict[str, str] = {}
    for g in hits:
        out.setdefault(concrete.get(g.path, g.path), g.reason)
    return out


def _run(values_all: pd.DataFrame, *, metric: str, at: str, design: dict[str, Any], params: list[str],
         replications: int, method: str, policy: str | None, policies: list[str], reference: str | None,
         gated: dict[str, str], planned: int, seed: int, bins: int, notes: list[str]) -> SweepAnalysis:
    values = values_all
    if policy is not None:
        values = values_all[values_all["policy"] == policy].reset_index(drop=True)
        if values.empty:
            raise UserError(f"--policy {policy}: no finished run of this policy yet")
    data = SweepData(metric, at, design, params, values, point_means(values, params), replications, seed, bins,
                     list(notes), policy=policy, policies=policies, reference=reference,
                     all_values=values_all if policies else None, gated=gated)
    chosen = ANALYSES.get(method)
    out = {a.name: a.analyze(data) for a in ANALYSES if a is chosen or (a.always and a.fits(data))}
    missing = planned - values["run_id"].nunique()
    if missing:
        data.notes.append(f"{missing} planned runs{f' of policy {policy}' if policy else ''} are missing "
                          "(failed or not run yet)")
    return SweepAnalysis(metric=metric, at=at, method=method, design=design["kind"], parameters=params,
                         values=values, points=data.points, results=out, notes=data.notes, policy=policy,
                         policies=policies, reference=reference)


def analyze_sweep(root: str | Path, metric: str, method: str | None = None, at: str = "final",
                  *, seed: int = 0, bins: int = 5, policy: str | None = None,
                  reference: str | None = None) -> SweepAnalysis:
    """Analyse one metric of a sweep directory (the ``kyoso analyze`` command).

    With ``[policies]``: the analyses of one ``policy`` (default the first)
    and the comparison of every policy with ``reference`` (default the first).
    """
    manifest = read_manifest(root)
    design = manifest["design"]
    method = method or default_method(design["kind"])
    _check_call(manifest, metric, method, at)
    params = list(design["names"])
    names = list(manifest.get("policy_names", manifest.get("policies", {})))
    if names:
        policy = _choose(policy, names, "--policy", "policy")
        reference = _choose(reference, names, "--reference", "policy")
    else:
        for flag, given in (("--policy", policy), ("--reference", reference)):
            if given is not None:
                raise UserError(f"{flag} {given}: this sweep has no [policies]")
    cols = [*ID_COLUMNS, *(["policy"] if names else []), *params, "step", "quarter", metric]
    results = load_results(root, columns=cols)
    values_all = run_values(results, metric, at, params)
    planned = int(manifest["n_points"]) * int(manifest["replications"]) if names else int(manifest["n_runs"])
    return _run(values_all, metric=metric, at=at, design=design, params=params,
                replications=int(manifest["replications"]), method=method, policy=policy if names else None,
                policies=names, reference=reference if names else None, gated=gated_in_store(root, policy),
                planned=planned, seed=seed, bins=bins, notes=[])


def _same_design(roots: list[Path], manifests: list[dict[str, Any]]) -> None:
    """Refuse (one line) stores that are not of one design: scenario, run length, design, seeds."""
    first = manifests[0]
    for root, m in zip(roots[1:], manifests[1:]):
        if m.get("policies"):
            raise UserError(f"{root}: has [policies] itself; several stores are read as one policy each "
                            "(analyze a store with policies on its own)")
        for key, what in (("scenario_hash", "scenario"), ("quarters", "run length"), ("design", "design matrix"),
                          ("replications", "replications")):
            if m.get(key) != first.get(key):
                raise UserError(f"{root}: its {what} differs from {roots[0]}'s ({key}); stores compared as "
                                "policies need the same scenario, design, replications and seeds")
        seeds = [(r["point"], r["replication"], r["seed"]) for r in m["runs"]]
        if seeds != [(r["point"], r["replication"], r["seed"]) for r in first["runs"]]:
            raise UserError(f"{root}: its seeds differ from {roots[0]}'s (use the same seed and common_seeds "
                            "setting); stores compared as policies need common seeds")
    if first.get("policies"):
        raise UserError(f"{roots[0]}: has [policies] itself; several stores are read as one policy each "
                        "(analyze a store with policies on its own)")


def analyze_stores(roots: list[str | Path], metric: str, method: str | None = None, at: str = "final", *,
                   seed: int = 0, bins: int = 5, policy: str | None = None,
                   reference: str | None = None) -> SweepAnalysis:
    """Several stores of one design (same scenario, design matrix and seeds) read as policies named by each
    store's sweep name: the analyses of ``policy`` (default the first store) and every store against
    ``reference`` (default the first), as for a sweep with ``[policies]``."""
    roots = [Path(r) for r in roots]
    if len(roots) == 1:
        return analyze_sweep(roots[0], metric, method, at, seed=seed, bins=bins, policy=policy, reference=reference)
    manifests = [read_manifest(r) for r in roots]
    names = [str(m["name"]) for m in manifests]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UserError(f"{', '.join(str(r) for r, n in zip(roots, names) if n == dup[0])}: the stores share the "
                        f"sweep name {dup[0]!r}; each store is named by its sweep name, so give the sweeps "
                        "different names")
    _same_design(roots, manifests)
    design = manifests[0]["design"]
    method = method or default_method(design["kind"])
    for m in manifests:
        _check_call(m, metric, method, at)
    params = list(design["names"])
    policy = _choose(policy, names, "--policy", "store")
    reference = _choose(reference, names, "--reference", "store")
    frames = []
    for root, name in zip(roots, names):
        results = load_results(root, columns=[*ID_COLUMNS, *params, "step", "quarter", metric])
        frames.append(run_values(results, metric, at, params).assign(policy=name))
    values_all = pd.concat(frames, ignore_index=True)
    differ = sorted({k for m in manifests for k in m.get("fixed", {})
                     if len({_json_key(x.get("fixed", {}).get(k)) for x in manifests}) > 1})
    notes = [f"stores read as policies: {', '.join(f'{n} ({r})' for n, r in zip(names, roots))}"
             + (f"; their [fixed] values differ in {', '.join(differ)}" if differ else "")]
    chosen = roots[names.index(policy)]
    return _run(values_all, metric=metric, at=at, design=design, params=params,
                replications=int(manifests[0]["replications"]), method=method, policy=policy, policies=names,
                reference=reference, gated=gated_in_store(chosen), planned=int(manifests[0]["n_runs"]),
                seed=seed, bins=bins, notes=notes)


def _json_key(value: Any) -> str:
    """A hashable text of a JSON value (for comparing manifests' entries)."""
    import json

    return json.dumps(value, sort_keys=True, default=str)
