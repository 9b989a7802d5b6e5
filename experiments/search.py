"""Robust many-objective policy search: ``kyoso search FILE --out DIR``.

A search file (TOML) names levers (the decision variables), an ensemble of
uncertainty scenarios and robust objectives; a many-objective evolutionary
algorithm looks for the lever sets that do well over the whole ensemble (the
robust decision making of Lempert et al. 2006 and the many-objective robust
decision making of Kasprzyk et al. 2013, as EMA Workbench's
``robust_optimize`` does it)::

    name = "robust_levers"
    scenario = "baseline"
    quarters = 32
    replications = 2               # runs per (scenario, lever set), common seeds
    seed = 2025
    scenarios = 8                  # LHS points of [uncertainties]: the ensemble

    [levers]                       # dotted path → {low, high[, log]} (real or integer) or a list of values
    "cocreation.talent.mobility" = { low = 0.0, high = 1.0 }
    "cocreation.ip.regime" = ["joint", "licence"]

    [uncertainties]                # dotted path → {low, high[, log]}, sampled by LHS once for the whole search
    "regions.TW-Hsinchu.political_risk" = { low = 0.1, high = 0.6 }

    [fixed]                        # optional: the same override in every run
    "cocreation.talent.enabled" = true

    [[objectives]]                 # one table per objective
    metric = "trade_JP_KR"
    at = "mean"                    # final | mean | max | min | a step | a quarter such as 2030Q1
    direction = "max"
    robustness = "percentile"      # mean | percentile (with q) | regret (optionally with q)
    q = 10

    [[constraints]]                # optional: a robust value that must stay within le / ge
    metric = "subsidy_paid_cumulative"
    le = 100.0

    [algorithm]
    name = "eps-nsga2"             # eps-nsga2 | nsga2
    nfe = 400                      # evaluations budget (an evaluation = one lever set over the ensemble)
    population = 20
    epsilons = [0.05, 0.01]        # eps-nsga2: one per objective, in the objective's unit

**The ensemble.** The uncertainties are a Latin hypercube of ``scenarios``
points drawn once from the file's seed, and every (scenario, replication)
has one seed, both from :mod:`experiments.design`'s seed tree
(:func:`~experiments.design.build_design` on the ensemble as an LHS sweep;
:func:`~experiments.design.run_seeds`, the seeds ``plan_runs`` gives such a
sweep): every lever set is run on the same scenarios and the same seeds
(common random numbers), so two lever sets
differ by their levers, not by their draws.  Without ``[uncertainties]`` the
ensemble is the scenario itself (one scenario, ``replications`` seeds).

**Robustness.** Each run is reduced to one number per objective metric
(:func:`experiments.sensitivity.reduce_runs` with the objective's ``at``),
and the replications of a scenario are averaged, giving one value ``f[i, j]``
per lever set ``i`` and scenario ``j`` (:func:`scenario_values`).  Then over
the scenarios (McPhail et al. 2018 classify these measures):

* ``mean``: the mean over the scenarios;
* ``percentile`` with ``q``: the ``q``-th percentile counted from the bad
  side (``q = 10`` of a maximised metric is the value the lever set reaches
  or beats in 90% of the scenarios; of a minimised one the 90th
  percentile); ``q = 0`` is the worst case (maximin);
* ``regret``: Savage's regret of lever set ``i`` in scenario ``j`` is its
  distance to the best lever set of that scenario,
  ``r[i, j] = max_k f[k, j] − f[i, j]`` for a maximised metric
  (``f[i, j] − min_k f[k, j]`` for a minimised one), where ``k`` runs over
  **every lever set evaluated so far** in the search (Kwakkel 2017; McPhail
  et al. 2018); the objective is the maximum regret over the scenarios
  (minimax regret), or with ``q`` its ``q``-th percentile from the bad side
  (``100 − q``), and is always minimised.  The reference improves as the
  search finds better lever sets: after each generation the regret of every
  lever set evaluated so far is recomputed against the new reference before
  the algorithm ranks them, and ``evaluations.csv`` and ``pareto.csv`` give
  the regret against the best of all evaluated lever sets at the end.

**The optimiser** is Platypus (``platypus-opt``), the library EMA
Workbench's ``optimize`` and ``robust_optimize`` run on: NSGA-II (Deb et al.
2002) or ε-NSGA-II (Kollat & Reed 2006; NSGA-II with an ε-box archive and
adaptive population restarts).  Chosen over pymoo because it is already a
dependency of EMA Workbench (the ``kyoso[ema]`` extra), is small and pure
Python, has ε-NSGA-II, and its ``Evaluator`` interface hands over a whole
generation at once, which is what lets the runs of a generation fill the
executor.  Real levers are Platypus ``Real`` (log ranges in log10 space),
integer ranges ``Integer``, listed values (booleans, text, numbers) an
``Integer`` index into the list (as EMA Workbench 2 encoded categoricals);
mixed problems vary with SBX + polynomial mutation on the reals and
half-uniform crossover + bit-flip on the integers.  Platypus draws from
Python's global ``random`` module: the search seeds it from the file's seed
(the seed tree's child ``(2,)``), saves and restores it around every batch
of model runs, and restores the caller's state at the end, so the sequence
of lever sets depends on the seed alone.

**The store** (``--out DIR``): ``manifest.json`` (the search file, the
ensemble with every seed, versions, git revision), one
``evaluations/<key>.parquet`` per evaluated lever set, written atomically
when its last run finishes (``key``: SHA-256 of the lever values; one row per
run: scenario, replication, seed, whether it ran, the error if not, the
levers, the uncertainties and each objective and constraint metric reduced),
``sessions.jsonl``, and at the end ``evaluations.csv`` (every lever set in
the order first evaluated, with its robust objectives, constraints,
feasibility and front membership), ``pareto.csv`` (the non-dominated
feasible lever sets over all evaluations) and ``figures/pareto.png``.
``--resume`` replays the search from its seed: the algorithm proposes the
same lever sets in the same order, stored evaluations are read instead of
run, and the search continues where it stopped.  A changed search file
(anything but ``description`` and ``algorithm.nfe``, so a budget can be
raised) or scenario is refused.  A lever set whose runs fail is infeasible
(it ranks behind every feasible one) and is not retried.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import os
import random
import sys
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    Tag,
    ValidationError,
    model_validator,
)

from experiments.argtypes import positive_int as _positive_int
from experiments.design import SEED_MASK, Design, Range, build_design, run_seeds
from experiments.errors import UserError
from experiments.sensitivity import OutcomeError, parse_at, reduce_runs
from experiments.store import atomic_write, output_in_use, pid_running
from experiments.sweepfile import read_toml

__all__ = [
    "SearchError",
    "SearchSpec",
    "ResolvedSearch",
    "SearchResult",
    "SearchInterrupted",
    "parse_search",
    "load_search",
    "resolve_search",
    "scenario_values",
    "robust_mean",
    "robust_percentile",
    "regret",
    "robustness",
    "nondominated",
    "search",
    "add_parser",
    "command",
    "QUICK",
]

EXIT_FAILED = 1
EXIT_INTERRUPTED = 130          # as experiments.cli: 128 + SIGINT
#: ``--quick``: a smoke test of a search file (at most these many scenarios, replications, quarters,
#: population and evaluations).
QUICK = {"scenarios": 3, "replications": 1, "quarters": 8, "population": 8, "nfe": 16}
MANIFEST = "manifest.json"
EVALUATIONS = "evaluations"
SESSIONS = "sessions.jsonl"
ALGORITHMS = ("eps-nsga2", "nsga2")


class SearchError(UserError):
    """A user error in a search file: one line naming the field (CLI exit status 2)."""


# ===================================================================== schema
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
At = Union[StrictInt, StrictStr]


def _kind(value: Any) -> str:
    return "range" if isinstance(value, (dict, Range)) else "values"


LeverValues = Annotated[
    Union[Annotated[Range, Tag("range")],
          Annotated[Annotated[list[Scalar], Field(min_length=2)], Tag("values")]],
    Discriminator(_kind),
]


def _check_at(at: str | int) -> str | int:
    try:
        return parse_at(at)
    except OutcomeError as exc:
        raise ValueError(str(exc).replace("--at ", "at = ")) from None


def _q_text(q: float) -> str:
    return f"{q:g}"


class Objective(_Strict):
    """One robust objective: a metric reduced per run, then over the ensemble."""

    metric: StrictStr = Field(..., min_length=1, description="Metric name ('kyoso sweep --list-metrics') [name]")
    at: At = Field("final", description="Reduction of a run: final | mean | max | min | step | quarter [text]")
    direction: Literal["max", "min"] = Field(..., description="Maximise or minimise the metric [max|min]")
    robustness: Literal["mean", "percentile", "regret"] = Field(
        "mean", description="Over the scenarios: mean, q-th percentile from the bad side, or minimax regret [text]")
    q: float | None = Field(None, ge=0.0, le=100.0,
                            description="percentile (required), regret (optional): percentile from the bad side [%]")
    name: StrictStr | None = Field(None, min_length=1, pattern=r"^[A-Za-z0-9_.:@-]+$",
                                   description="Column name in the outputs (default metric_at_robustness) [text]")

    @model_validator(mode="after")
    def _rules(self) -> Objective:
        _check_at(self.at)
        if self.robustness == "percentile" and self.q is None:
            raise ValueError("q: required with robustness = \"percentile\" (e.g. q = 10)")
        if self.robustness == "mean" and self.q is not None:
            raise ValueError(f"q = {self.q:g}: not used with robustness = \"mean\"; remove it")
        return self

    @property
    def label(self) -> str:
        rob = {"mean": "mean", "percentile": f"p{_q_text(self.q or 0)}",
               "regret": "regret" if self.q is None else f"regret_p{_q_text(self.q)}"}[self.robustness]
        return self.name or f"{self.metric}_{self.at}_{rob}"

    @property
    def sense(self) -> str:
        """The direction of the robust value: regret is always minimised."""
        return "min" if self.robustness == "regret" else self.direction

    @property
    def target(self) -> str:
        return f"{self.metric}@{self.at}"


class Constraint(_Strict):
    """A robust value (mean or percentile) that must stay at or below ``le`` / at or above ``ge``."""

    metric: StrictStr = Field(..., min_length=1, description="Metric name [name]")
    at: At = Field("final", description="Reduction of a run [text]")
    robustness: Literal["mean", "percentile"] = Field("mean", description="Over the scenarios [mean|percentile]")
    q: float | None = Field(None, ge=0.0, le=100.0, description="percentile: percentile from the upper side for le, "
                                                                "lower side for ge [%]")
    le: float | None = Field(None, description="Upper limit of the robust value [metric unit]")
    ge: float | None = Field(None, description="Lower limit of the robust value [metric unit]")
    name: StrictStr | None = Field(None, min_length=1, pattern=r"^[A-Za-z0-9_.:@-]+$", description="Column name [text]")

    @model_validator(mode="after")
    def _rules(self) -> Constraint:
        _check_at(self.at)
        if self.le is None and self.ge is None:
            raise ValueError("le or ge: a constraint needs a limit (le = upper, ge = lower)")
        if self.le is not None and self.ge is not None and self.ge > self.le:
            raise ValueError(f"ge = {self.ge:g} is above le = {self.le:g}")
        if self.robustness == "percentile" and self.q is None:
            raise ValueError("q: required with robustness = \"percentile\"")
        if self.robustness == "mean" and self.q is not None:
            raise ValueError(f"q = {self.q:g}: not used with robustness = \"mean\"; remove it")
        return self

    @property
    def label(self) -> str:
        rob = "mean" if self.robustness == "mean" else f"p{_q_text(self.q or 0)}"
        return self.name or f"{self.metric}_{self.at}_{rob}"

    @property
    def target(self) -> str:
        return f"{self.metric}@{self.at}"


class Algorithm(_Strict):
    """The optimiser's settings."""

    name: Literal[ALGORITHMS] = Field("eps-nsga2", description="eps-nsga2 (ε-NSGA-II) or nsga2 (NSGA-II) [text]")  # type: ignore[valid-type]
    nfe: int = Field(..., ge=1, le=10_000_000, description="Evaluations budget (lever sets over the ensemble) [count]")
    population: int = Field(20, ge=2, le=100_000, description="Population size [count]")
    epsilons: list[Annotated[float, Field(gt=0.0)]] | None = Field(
        None, description="eps-nsga2: ε-box size per objective, in the objective's unit [list]")

    @model_validator(mode="after")
    def _rules(self) -> Algorithm:
        if self.name == "eps-nsga2" and self.epsilons is None:
            raise ValueError("epsilons: required by eps-nsga2 (one ε per objective, in its unit)")
        if self.name == "nsga2" and self.epsilons is not None:
            raise ValueError("epsilons: not used by nsga2; remove them or use eps-nsga2")
        return self


class SearchSpec(_Strict):
    """The search file's schema (TOML → this model; unknown keys are errors)."""

    name: str = Field(..., min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="Name of the search (letters, digits, _ . -) [text]")
    description: str = Field("", description="What the search asks [text]")
    scenario: str = Field("baseline", min_length=1, description="Built-in scenario or TOML path relative to the file [name/path]")
    quarters: int | None = Field(None, ge=1, le=400, description="Quarters per run; default the scenario's horizon [quarters]")
    replications: int = Field(1, ge=1, le=10_000, description="Runs per (scenario, lever set), on common seeds [runs]")
    seed: int = Field(0, ge=0, le=SEED_MASK, description="Root of the seed tree [integer]")
    scenarios: int = Field(1, ge=1, le=100_000, description="LHS points of the uncertainties: the ensemble [count]")
    levers: dict[str, LeverValues] = Field(..., min_length=1, description="Dotted path → {low, high[, log]} or list of values [table]")
    uncertainties: dict[str, Range] = Field(default_factory=dict, description="Dotted path → {low, high[, log]} [table]")
    fixed: dict[str, Scalar] = Field(default_factory=dict, description="Dotted path → value set in every run [table]")
    objectives: list[Objective] = Field(..., min_length=1, description="The robust objectives [[objectives]]")
    constraints: list[Constraint] = Field(default_factory=list, description="Robust constraints [[constraints]]")
    algorithm: Algorithm = Field(..., description="The optimiser [table]")

    @model_validator(mode="after")
    def _rules(self) -> SearchSpec:
        names = [o.label for o in self.objectives] + [c.label for c in self.constraints]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"objectives: two objectives or constraints are both called {dup[0]!r}; "
                             "give one a distinct name = \"...\"")
        eps = self.algorithm.epsilons
        if eps is not None and len(eps) != len(self.objectives):
            raise ValueError(f"algorithm.epsilons: {len(eps)} given for {len(self.objectives)} objectives "
                             "(one ε per objective)")
        if self.uncertainties and self.scenarios < 2:
            raise ValueError(f"scenarios = {self.scenarios}: sampling [uncertainties] needs at least 2 scenarios")
        if not self.uncertainties and self.scenarios != 1:
            raise ValueError(f"scenarios = {self.scenarios}: without [uncertainties] the ensemble is the scenario "
                             "itself; remove scenarios or add [uncertainties]")
        seen: dict[str, str] = {}
        for table in ("levers", "uncertainties", "fixed"):
            for path in getattr(self, table):
                norm = path.replace("__", ".")
                if norm == "meta.horizon":
                    raise ValueError(f"{table}.{path}: set the run length with 'quarters', not with meta.horizon")
                if norm in seen:
                    raise ValueError(f"{table}.{path}: also under [{seen[norm]}]; keep it in one place")
                seen[norm] = table
        return self

    def normalized(self) -> dict[str, Any]:
        """The search as JSON data (what the manifest stores and ``--resume`` compares)."""
        return self.model_dump(mode="json")

    @property
    def targets(self) -> list[tuple[str, str | int]]:
        """The distinct (metric, at) pairs the objectives and constraints reduce runs to."""
        out: dict[str, tuple[str, str | int]] = {}
        for item in [*self.objectives, *self.constraints]:
            out.setdefault(item.target, (item.metric, parse_at(item.at)))
        return list(out.values())


# ===================================================================== reading
_RANGE_KEYS = {"low", "high", "log"}


def _flatten(raw: Any, table: str, origin: str, *, ranges: bool) -> Any:
    """Bare dotted TOML keys nest; fold ``[table]`` back into dotted paths."""
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and value and not (_RANGE_KEYS & set(value)):
                walk(value, path + ".")
            elif ranges and isinstance(value, (dict, list)):
                out[path] = value
            elif not ranges and not isinstance(value, (dict, list)):
                out[path] = value
            elif ranges:
                raise SearchError(f"{origin}: {table}.{path} = {value!r}: expected a table {{low, high}}"
                                  + (" or a list of values" if table == "levers" else ""))
            else:
                raise SearchError(f"{origin}: {table}.{path}: expected a single value, got "
                                  f"{'a list' if isinstance(value, list) else 'a table'}")

    walk(raw, "")
    return out


def parse_search(raw: dict, origin: str = "search") -> SearchSpec:
    """Validate a raw search dict (as read from TOML) against the schema; one-line :class:`SearchError`."""
    from model.scenario import validation_message

    if not isinstance(raw, dict):
        raise SearchError(f"{origin}: expected a table of search settings")
    raw = dict(raw)
    for table, ranges in (("levers", True), ("uncertainties", True), ("fixed", False)):
        if table in raw:
            raw[table] = _flatten(raw[table], table, origin, ranges=ranges)
    if isinstance(raw.get("uncertainties"), dict):
        for path, value in raw["uncertainties"].items():
            if isinstance(value, list):
                raise SearchError(f"{origin}: uncertainties.{path}: expected a range {{low, high}} (the ensemble is "
                                  "a Latin hypercube); a list of values belongs under [levers]")
    try:
        return SearchSpec.model_validate(raw)
    except ValidationError as exc:
        raise SearchError(validation_message(exc, origin, frozenset({"range", "values"}))) from None


@dataclass(frozen=True)
class Lever:
    """One decision variable: its path, schema type and its Platypus encoding."""

    path: str
    kind: str                          # schema type: float | int | bool | str
    values: list[Any] | None = None    # listed values (index-encoded)
    low: float | None = None
    high: float | None = None
    log: bool = False

    def platypus_type(self) -> Any:
        import platypus

        if self.values is not None:
            return platypus.Integer(0, len(self.values) - 1)
        if self.kind == "int":
            return platypus.Integer(int(self.low), int(self.high))
        lo, hi = (math.log10(self.low), math.log10(self.high)) if self.log else (self.low, self.high)
        return platypus.Real(lo, hi)

    def value(self, x: Any) -> Any:
        """The lever's value from a decoded Platypus variable."""
        if self.values is not None:
            return self.values[int(x)]
        if self.kind == "int":
            return int(x)
        v = 10.0 ** float(x) if self.log else float(x)
        return float(min(max(v, self.low), self.high))


@dataclass(frozen=True)
class ResolvedSearch:
    """A search checked against its scenario: the levers, the ensemble and its seeds."""

    spec: SearchSpec
    origin: str
    scenario_ref: str
    scenario_hash: str
    quarters: int
    levers: list[Lever]
    fixed: dict[str, Any]
    points: list[dict[str, Any]]       # the ensemble: one dict of uncertainty values per scenario
    seeds: np.ndarray                  # (scenarios, replications) run seeds, common to every lever set
    design: dict[str, Any]             # the ensemble's design (to_json) for the manifest
    quick: bool = False
    bindings: dict[str, tuple[str, ...]] = field(default_factory=dict)   # every key → its concrete paths

    @property
    def expansions(self) -> dict[str, list[str]]:
        """The keys that are bindings (a ``*`` or ``{a,b}`` in a segment) → the paths each one sets."""
        from experiments.sweepfile import is_binding

        return {k: list(v) for k, v in self.bindings.items() if is_binding(k)}

    def overrides(self, scenario: int, levers: dict[str, Any]) -> dict[str, Any]:
        """The concrete ``--set`` overrides of a run of ``levers`` in ensemble scenario ``scenario``:
        the fixed values, the levers and the scenario's uncertainties, each binding on all its paths."""
        from experiments.sweepfile import expand_values

        return expand_values({**self.fixed, **levers, **self.points[scenario]}, self.bindings)

    def task(self, run_id: str, scenario: int, replication: int, levers: dict[str, Any]) -> Any:
        """The :class:`experiments.sweep.RunTask` of one run: ``levers`` in scenario ``scenario`` with its
        replication's common seed."""
        from experiments.sweep import RunTask

        n_r = self.seeds.shape[1]
        return RunTask(run_id=run_id, index=scenario * n_r + replication, point=scenario, replication=replication,
                       seed=int(self.seeds[scenario, replication]), scenario_ref=self.scenario_ref,
                       quarters=self.quarters, parameters=dict(self.points[scenario]), fixed={**self.fixed, **levers},
                       metrics=tuple(self.metrics), expanded=self.overrides(scenario, levers))

    @property
    def n_scenarios(self) -> int:
        return len(self.points)

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(m for m, _ in self.spec.targets))

    def ensemble_hash(self) -> str:
        text = json.dumps([self.points, self.seeds.tolist()], default=str, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()


def _quick(spec: SearchSpec) -> SearchSpec:
    """``--quick``: the same search made small (see :data:`QUICK`)."""
    alg = spec.algorithm
    pop = min(alg.population, QUICK["population"])
    update: dict[str, Any] = {
        "replications": min(spec.replications, QUICK["replications"]),
        "quarters": min(spec.quarters or QUICK["quarters"], QUICK["quarters"]),
        "algorithm": alg.model_copy(update={"population": pop, "nfe": min(alg.nfe, QUICK["nfe"])}),
    }
    if spec.uncertainties:
        update["scenarios"] = max(2, min(spec.scenarios, QUICK["scenarios"]))
    return spec.model_copy(update=update)


def resolve_search(spec: SearchSpec, origin: str = "search", base_dir: Path | None = None, *,
                   quick: bool = False) -> ResolvedSearch:
    """Check a parsed search against its scenario (paths, types, bounds, metrics) and draw the ensemble.

    The ensemble is an LHS sweep of the uncertainties resolved by
    :func:`experiments.sweepfile.resolve_sweep` (which also checks the first
    and last points against the scenario's cross-field rules and warns of
    gated parameters); its points and run seeds come from
    :func:`~experiments.design.build_design` and :func:`~experiments.design.run_seeds`.
    A key of ``[levers]``, ``[uncertainties]`` or ``[fixed]`` may bind several
    paths (``regions.TW-*.political_risk``, ``governments.{JP,KR}.subsidy_rate``):
    it is expanded by :class:`experiments.sweepfile.KeyResolver` as in a sweep
    file, its value is checked against every path it sets, and every run sets
    the one value on all of them (:meth:`ResolvedSearch.overrides`).
    """
    from experiments.sweepfile import (GatedParameterWarning, KeyResolver, SweepSpec, available_metrics,
                                       check_value_all, resolve_scenario_ref, resolve_sweep, scenario_hash)
    from model.scenario import ScenarioError, gated_parameters, known_hint, load_scenario

    if quick:
        spec = _quick(spec)
    ref = resolve_scenario_ref(spec.scenario, base_dir)
    try:
        scenario = load_scenario(ref)
    except ScenarioError as exc:
        raise SearchError(f"{origin}: scenario = {spec.scenario!r}: {exc}") from None
    keys = KeyResolver(scenario, origin)          # a key may bind several paths: regions.TW-*.political_risk

    def info(table: str, path: str):
        try:
            return keys.resolve(table, path)
        except UserError as exc:
            raise SearchError(str(exc)) from None

    def check(each, value, where):
        try:
            return check_value_all(each, value, where)
        except UserError as exc:
            raise SearchError(str(exc)) from None

    levers: list[Lever] = []
    for path, values in spec.levers.items():
        where = f"{origin}: levers.{path}"
        inf, each = info("levers", path)
        if isinstance(values, Range):
            if inf.kind not in ("int", "float"):
                raise SearchError(f"{where}: a range {{low, high}} needs a numeric parameter, {inf.path} is "
                                  f"{inf.kind}; list its values instead, e.g. [true, false]")
            low, high = check(each, values.low, f"{where}.low"), check(each, values.high, f"{where}.high")
            levers.append(Lever(path, inf.kind, low=low, high=high, log=values.log))
        else:
            normed = [check(each, v, f"{where}.{i}") for i, v in enumerate(values)]
            if len(set(map(repr, normed))) != len(normed):
                raise SearchError(f"{where}: a value is listed twice")
            levers.append(Lever(path, inf.kind, values=normed))
    for path, rng_ in spec.uncertainties.items():
        where = f"{origin}: uncertainties.{path}"
        inf, each = info("uncertainties", path)
        if inf.kind not in ("int", "float"):
            raise SearchError(f"{where}: {inf.path} is {inf.kind}; an uncertainty is a numeric range "
                              "(a flag or text belongs under [levers] or [fixed])")
        check(each, rng_.low, f"{where}.low")
        check(each, rng_.high, f"{where}.high")
    fixed = {p: check(info("fixed", p)[1], v, f"{origin}: fixed.{p}") for p, v in spec.fixed.items()}
    known = available_metrics(scenario)
    for table, items in (("objectives", spec.objectives), ("constraints", spec.constraints)):
        for i, item in enumerate(items):
            if item.metric not in known:
                raise SearchError(f"{origin}: {table}.{i}.metric = {item.metric!r}: unknown metric "
                                  f"({known_hint(item.metric, known)}; 'kyoso sweep --list-metrics' lists them)")
    quarters = spec.quarters if spec.quarters is not None else scenario.meta.horizon
    metrics = list(dict.fromkeys(m for m, _ in spec.targets))

    # the lever corners (every lever at its first/low and at its last/high value) against the cross-field rules
    for corner, pick in (("lowest", 0), ("highest", -1)):
        values = {lv.path: (lv.values[pick] if lv.values is not None else (lv.low if pick == 0 else lv.high))
                  for lv in levers}
        try:
            load_scenario(scenario, **keys.expand({**fixed, **values}))
        except ScenarioError as exc:
            raise SearchError(f"{origin}: levers: the lever set with every lever at its {corner} value breaks a "
                              f"rule of the scenario: {str(exc).split(': ', 1)[-1]}") from None
    gated_sc = load_scenario(scenario, **keys.expand(fixed)) if fixed else scenario
    concrete = {k: list(v) for k, v in keys.bindings.items()}
    lever_paths = [p for k in spec.levers for p in concrete[k]]
    varied = [*lever_paths, *(p for k in spec.uncertainties for p in concrete[k])]
    for g in gated_parameters(gated_sc, lever_paths, varied=varied):
        warnings.warn(f"levers.{g.path} is gated to nothing: {g.reason}", GatedParameterWarning, stacklevel=2)

    if spec.uncertainties:
        sweep_spec = SweepSpec(name=spec.name, scenario=spec.scenario, quarters=quarters,
                               replications=spec.replications, seed=spec.seed, design="lhs", samples=spec.scenarios,
                               metrics=metrics, parameters=dict(spec.uncertainties), fixed=dict(spec.fixed))
        try:
            sweep = resolve_sweep(sweep_spec, origin, base_dir)
        except UserError as exc:
            raise SearchError(str(exc).replace("parameters.", "uncertainties.")) from None
        design = build_design(sweep)
    else:
        design = Design("none", [], [{}], np.zeros((1, 0)), {"num_vars": 0, "names": [], "bounds": []})
    # the seeds plan_runs gives the ensemble as an LHS sweep (independent per scenario and replication)
    seeds = np.array(run_seeds(spec.seed, design.n_points, spec.replications),
                     dtype=np.int64).reshape(design.n_points, spec.replications)
    return ResolvedSearch(spec=spec, origin=origin, scenario_ref=ref, scenario_hash=scenario_hash(scenario),
                          quarters=quarters, levers=levers, fixed=fixed, points=[dict(p) for p in design.points],
                          seeds=seeds, design=design.to_json(), quick=quick, bindings=dict(keys.bindings))


def load_search(path: str | Path, *, quick: bool = False) -> ResolvedSearch:
    """Read, validate and resolve a search file; raises :class:`SearchError` (one line)."""
    path = Path(path)
    spec = parse_search(read_toml(path, SearchError, "search file"), str(path))
    return resolve_search(spec, str(path), base_dir=path.resolve().parent, quick=quick)


# ================================================================ robustness
def scenario_values(values: np.ndarray) -> np.ndarray:
    """Per-run values ``(lever sets, scenarios, replications)`` → per-scenario means ``(lever sets, scenarios)``.

    A NaN run (a failed run or a metric the run could not compute) makes its scenario NaN."""
    v = np.asarray(values, dtype=float)
    return v.mean(axis=-1)


def robust_mean(f: np.ndarray) -> np.ndarray:
    """Mean over the scenarios (last axis)."""
    return np.asarray(f, dtype=float).mean(axis=-1)


def robust_percentile(f: np.ndarray, q: float, direction: str) -> np.ndarray:
    """The ``q``-th percentile over the scenarios counted from the bad side: ``percentile(f, q)`` of a
    maximised metric, ``percentile(f, 100 − q)`` of a minimised one (linear interpolation; ``q = 0`` the worst)."""
    _direction(direction)
    return np.percentile(np.asarray(f, dtype=float), q if direction == "max" else 100.0 - q, axis=-1)


def regret(f: np.ndarray, direction: str, q: float | None = None, reference: np.ndarray | None = None) -> np.ndarray:
    """Savage regret of each lever set (rows of ``f``, scenarios in columns), reduced over the scenarios.

    ``r[i, j] = best[j] − f[i, j]`` (max) or ``f[i, j] − best[j]`` (min), with
    ``best[j]`` the best value in scenario ``j`` over the rows of ``f`` (or the
    given ``reference``, one value per scenario; rows with a NaN are left out of
    the best).  Returns the maximum over the scenarios (minimax regret), or with
    ``q`` the ``100 − q``-th percentile of the regret.
    """
    _direction(direction)
    f = np.atleast_2d(np.asarray(f, dtype=float))
    if reference is None:
        reference = best_per_scenario(f, direction)
    r = (reference - f) if direction == "max" else (f - reference)
    if q is None:
        return r.max(axis=-1)
    return np.percentile(r, 100.0 - q, axis=-1)


def best_per_scenario(f: np.ndarray, direction: str) -> np.ndarray:
    """The best value of each scenario (column) over the rows without a NaN."""
    f = np.atleast_2d(np.asarray(f, dtype=float))
    ok = np.isfinite(f).all(axis=1)
    if not ok.any():
        return np.full(f.shape[1], np.nan)
    return f[ok].max(axis=0) if direction == "max" else f[ok].min(axis=0)


def _direction(direction: str) -> None:
    if direction not in ("max", "min"):
        raise ValueError(f"direction = {direction!r}: expected 'max' or 'min'")


def robustness(f: np.ndarray, item: Objective | Constraint, reference: np.ndarray | None = None) -> np.ndarray:
    """The robust value of each row of ``f`` (lever sets × scenarios) for one objective or constraint."""
    if item.robustness == "mean":
        return robust_mean(f)
    if isinstance(item, Constraint):                # le: the upper side is the bad one; ge: the lower
        direction = "min" if item.le is not None else "max"
        return robust_percentile(f, float(item.q or 0.0), direction)
    if item.robustness == "percentile":
        return robust_percentile(f, float(item.q or 0.0), item.direction)
    return regret(f, item.direction, item.q, reference)


def violation(value: np.ndarray, item: Constraint) -> np.ndarray:
    """How far a robust value lies outside ``[ge, le]`` (0 inside)."""
    v = np.asarray(value, dtype=float)
    out = np.zeros_like(v)
    if item.le is not None:
        out = out + np.maximum(v - item.le, 0.0)
    if item.ge is not None:
        out = out + np.maximum(item.ge - v, 0.0)
    return out


def nondominated(values: np.ndarray, senses: list[str], feasible: np.ndarray | None = None) -> np.ndarray:
    """Mask of the rows of ``values`` (lever sets × objectives) that no other feasible row dominates.

    Row ``a`` dominates ``b`` if it is at least as good in every objective and
    better in one (``senses``: "max" or "min" per column).  Rows with a NaN and
    infeasible rows are never in the set; equal rows are both kept.
    """
    v = np.atleast_2d(np.asarray(values, dtype=float))
    sign = np.array([-1.0 if s == "max" else 1.0 for s in senses])
    for s in senses:
        _direction(s)
    m = v * sign                                          # everything minimised
    ok = np.isfinite(m).all(axis=1)
    if feasible is not None:
        ok &= np.asarray(feasible, dtype=bool)
    out = np.zeros(len(m), dtype=bool)
    idx = np.flatnonzero(ok)
    cand = m[idx]
    for k, i in enumerate(idx):
        le = (cand <= cand[k]).all(axis=1)
        lt = (cand < cand[k]).any(axis=1)
        out[i] = not (le & lt).any()
    return out


# ================================================================ evaluations
def lever_key(levers: list[Lever], values: dict[str, Any]) -> str:
    """The store key of a lever set: the first 16 hex digits of SHA-256 of its values in lever order."""
    text = json.dumps([[lv.path, values[lv.path]] for lv in levers])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class Evaluation:
    """One lever set run over the ensemble: per-run values ``(targets, scenarios, replications)``."""

    key: str
    levers: dict[str, Any]
    values: np.ndarray
    errors: list[str]
    order: int = -1                     # position in the order of first evaluation
    nfe: int = 0                        # the algorithm's evaluation count when first evaluated

    @property
    def ok(self) -> bool:
        return not self.errors and bool(np.isfinite(self.values).all())


class _Store:
    """The search directory: manifest first, then one Parquet file per evaluated lever set."""

    def __init__(self, root: Path, search: ResolvedSearch) -> None:
        self.root = Path(root)
        self.dir = self.root / EVALUATIONS
        self.search = search
        self.targets = [f"{m}@{a}" for m, a in search.spec.targets]

    @staticmethod
    def check(root: Path, manifest: dict[str, Any], *, resume: bool) -> bool:
        """Refuse a file, a non-empty directory without ``resume`` and, with it, a different search."""
        non_empty = output_in_use(root, resume=resume, what="search")
        if non_empty:
            path = root / MANIFEST
            try:
                old = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError):
                raise UserError(f"--resume {root}: no readable {MANIFEST}; not a kyoso search directory") from None
            if old.get("kind") != "kyoso search":
                raise UserError(f"--resume {root}: {MANIFEST} is not a search manifest")
            a, b = _essential(old.get("search", {})), _essential(manifest["search"])
            if a != b:
                keys = ", ".join(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))
                raise UserError(f"--resume {root}: the search file differs from the one this directory was started "
                                f"with (in: {keys}); use a new --out directory")
            for key, what in (("scenario_ref", "scenario"), ("scenario_hash", "scenario contents"),
                              ("quarters", "run length"), ("ensemble_hash", "ensemble or seeds")):
                if old.get(key) != manifest.get(key):
                    raise UserError(f"--resume {root}: the {what} differs from the one this directory was started "
                                    f"with ({key}: {old.get(key)!r} → {manifest.get(key)!r}); use a new --out directory")
        return non_empty

    def open(self, manifest: dict[str, Any], *, resume: bool) -> None:
        if self.check(self.root, manifest, resume=resume):
            self.dir.mkdir(exist_ok=True)
            self._remove_stale()
            return
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write(self.root / MANIFEST, json.dumps(manifest, indent=1, default=str).encode())
        self.dir.mkdir()

    def _remove_stale(self) -> None:
        for p in self.dir.iterdir():
            head, sep, pid = p.name.rpartition(".tmp-")
            if sep and head and pid.isdigit() and (int(pid) == os.getpid() or not pid_running(int(pid))):
                p.unlink(missing_ok=True)

    def keys(self) -> set[str]:
        if not self.dir.is_dir():
            return set()
        return {p.name[:-8] for p in self.dir.iterdir() if p.name.endswith(".parquet") and not p.name.startswith(".")}

    def write(self, ev: Evaluation) -> None:
        s = self.search
        n_s, n_r = s.seeds.shape
        rows: dict[str, Any] = {
            "key": [ev.key] * (n_s * n_r),
            "scenario": np.repeat(np.arange(n_s), n_r),
            "replication": np.tile(np.arange(n_r), n_s),
            "seed": s.seeds.reshape(-1),
        }
        errors = {(int(a), int(b)): e for a, b, e in (x.split(" ", 2) for x in ev.errors)}
        rows["ok"] = [(j, r) not in errors for j in range(n_s) for r in range(n_r)]
        rows["error"] = [errors.get((j, r), "") for j in range(n_s) for r in range(n_r)]
        for lv in s.levers:
            rows[lv.path] = [ev.levers[lv.path]] * (n_s * n_r)
        for name in (s.points[0] if s.points else {}):
            rows[name] = np.repeat([p[name] for p in s.points], n_r)
        for t, target in enumerate(self.targets):
            rows[target] = ev.values[t].reshape(-1)
        atomic_write(self.dir / f"{ev.key}.parquet", _parquet(pd.DataFrame(rows)))

    def read(self, key: str) -> Evaluation:
        df = pd.read_parquet(self.dir / f"{key}.parquet")
        n_s, n_r = self.search.seeds.shape
        df = df.sort_values(["scenario", "replication"], kind="stable")
        values = np.stack([df[t].to_numpy(dtype=float).reshape(n_s, n_r) for t in self.targets])
        levers = {lv.path: _py(df[lv.path].iloc[0]) for lv in self.search.levers}
        errors = [f"{j} {r} {e}" for j, r, ok, e in zip(df["scenario"], df["replication"], df["ok"], df["error"])
                  if not ok]
        return Evaluation(key, levers, values, errors)

    def log_session(self, info: dict[str, Any]) -> None:
        from datetime import datetime, timezone

        with open(self.root / SESSIONS, "a", encoding="utf-8") as fh:
            stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
            fh.write(json.dumps({"time": stamp, **info}, default=str) + "\n")


def _essential(search: dict[str, Any]) -> dict[str, Any]:
    """What must match on ``--resume``: everything but the description and the evaluation budget."""
    out = {k: v for k, v in search.items() if k != "description"}
    if isinstance(out.get("algorithm"), dict):
        out["algorithm"] = {k: v for k, v in out["algorithm"].items() if k != "nfe"}
    return out


def _py(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _parquet(df: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink)
    return sink.getvalue()


def _versions() -> dict[str, str]:
    from importlib import metadata

    from experiments.runner import versions

    out = versions()
    for pkg in ("Platypus-Opt", "scipy", "dask", "distributed"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def make_manifest(search: ResolvedSearch) -> dict[str, Any]:
    """Everything needed to read, check, resume and reproduce the search."""
    from datetime import datetime, timezone

    from experiments.runner import git_revision

    s = search
    return {
        "kind": "kyoso search",
        "format": 1,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "name": s.spec.name,
        "search_file": s.origin,
        "search": s.spec.normalized(),
        "quick": s.quick,
        "scenario_ref": s.scenario_ref,
        "scenario_hash": s.scenario_hash,
        "quarters": s.quarters,
        "levers": [{"path": lv.path, "kind": lv.kind, "values": lv.values, "low": lv.low, "high": lv.high,
                    "log": lv.log} for lv in s.levers],
        "fixed": s.fixed,
        "bindings": s.expansions,
        "ensemble": {"design": s.design, "points": s.points, "seeds": s.seeds.tolist()},
        "ensemble_hash": s.ensemble_hash(),
        "seed_tree": {
            "entropy": s.spec.seed,
            "how": "root = SeedSequence(seed); children (0,) the LHS of the uncertainties, (1,) the runs: run "
                   "(scenario j, replication r) uses child (1, j × replications + r) (experiments.design.run_seeds), "
                   "the same for every lever set; (2,) seeds Python's random module for Platypus",
        },
        "targets": [f"{m}@{a}" for m, a in s.spec.targets],
        "versions": _versions(),
        "git_revision": git_revision(),
    }


def optimiser_seed(seed: int) -> int:
    """The integer that seeds Platypus (Python's ``random``): child ``(2,)`` of the search's seed tree."""
    child = np.random.SeedSequence(seed).spawn(3)[2]
    state = child.generate_state(2, dtype=np.uint32)
    return (int(state[0]) << 32) | int(state[1])


# ================================================================= the search
class SearchInterrupted(Exception):
    """Ctrl-C stopped the search: ``evaluated`` lever sets are saved in ``root``; ``--resume`` continues."""

    def __init__(self, root: Path, evaluated: int) -> None:
        super().__init__(f"{evaluated} evaluated lever sets saved in {root}; continue with --resume")
        self.root, self.evaluated = root, evaluated


@dataclass
class SearchResult:
    """What a search found and did."""

    root: Path
    name: str
    objectives: list[Objective]
    constraints: list[Constraint]
    levers: list[str]
    evaluations: pd.DataFrame          # every evaluated lever set, in the order first evaluated
    pareto: pd.DataFrame               # the non-dominated feasible ones
    nfe: int = 0                       # the algorithm's evaluations (repeats of a lever set included)
    ran: int = 0                       # lever sets run in this session
    cached: int = 0                    # lever sets read from the store in this session
    runs: int = 0                      # model runs done in this session
    elapsed: float = 0.0
    backend: str = ""
    figure: Path | None = None
    failed: int = 0

    def summary(self) -> str:
        """The text summary ``kyoso search`` prints."""
        lines = [f"kyoso search {self.name}: {self.nfe} evaluations, {len(self.evaluations)} distinct lever sets "
                 f"({self.ran} run in this session with {self.runs} model runs on {self.backend}, {self.cached} read "
                 f"from the store; {self.elapsed:.1f} s); {len(self.pareto)} on the Pareto front"
                 + (f"; {self.failed} lever sets had failed runs (infeasible)" if self.failed else "")]
        if len(self.pareto):
            cols = self.levers + [o.label for o in self.objectives] + [c.label for c in self.constraints]
            shown = self.pareto[cols].head(20)
            lines.append(shown.to_string(index=False, float_format=lambda x: f"{x:.4g}"))
            if len(self.pareto) > 20:
                lines.append(f"… and {len(self.pareto) - 20} more in pareto.csv")
        lines.append(f"→ {self.root}/pareto.csv, evaluations.csv" + (f", {self.figure}" if self.figure else ""))
        return "\n".join(lines)


class _Search:
    """The state of one search session: the executor, the cache and the regret reference."""

    def __init__(self, search: ResolvedSearch, store: _Store, executor: Any, slots: int, progress: Any) -> None:
        self.s = search
        self.store = store
        self.executor = executor
        self.slots = slots
        self.bar = progress
        self.stored = store.keys()
        self.evals: dict[str, Evaluation] = {}          # in the order first evaluated
        self.seen: list[tuple[Any, str]] = []           # (platypus Solution, key) of every evaluated solution
        self.ran = self.cached = self.runs = 0
        self.algorithm: Any = None                       # set once built: its nfe counts the evaluations
        spec = search.spec
        self.objectives, self.constraints = spec.objectives, spec.constraints
        targets = [f"{m}@{a}" for m, a in spec.targets]
        self.t_obj = [targets.index(o.target) for o in self.objectives]
        self.t_con = [targets.index(c.target) for c in self.constraints]
        self.reference: dict[int, np.ndarray] = {}      # objective index → best per scenario so far (regret)

    # ---------------------------------------------------------- platypus glue
    def problem(self) -> Any:
        import platypus

        outer = self

        class _Problem(platypus.Problem):
            def evaluate(self, solution: Any) -> None:
                key = lever_key(outer.s.levers, outer.decode(solution.variables))
                objs, cons = outer.values_of(key)
                solution.objectives[:] = objs
                solution.constraints[:] = cons

        p = _Problem(len(self.s.levers), len(self.objectives), len(self.constraints) + 1)
        p.types[:] = [lv.platypus_type() for lv in self.s.levers]
        p.directions[:] = [platypus.Problem.MAXIMIZE if o.sense == "max" else platypus.Problem.MINIMIZE
                           for o in self.objectives]
        p.constraints[:] = "==0"
        return p

    def evaluator(self) -> Any:
        import platypus

        outer = self

        class _Evaluator(platypus.Evaluator):
            def evaluate_all(self, jobs: list, **kwargs: Any) -> list:
                return outer.evaluate_all(jobs)

        return _Evaluator()

    def decode(self, variables: Any) -> dict[str, Any]:
        return {lv.path: lv.value(x) for lv, x in zip(self.s.levers, variables)}

    # ---------------------------------------------------------- one generation
    def evaluate_all(self, jobs: list) -> list:
        """Evaluate a generation: new lever sets × ensemble runs on the executor, the rest from the cache."""
        state = random.getstate()                       # nothing below may move Platypus's random stream
        self._tick()
        try:
            wanted: dict[str, dict[str, Any]] = {}
            keys = []
            for job in jobs:
                sol = job.solution
                problem = sol.problem
                levers = self.decode([t.decode(v) for t, v in zip(problem.types, sol.variables)])
                key = lever_key(self.s.levers, levers)
                keys.append(key)
                if key not in self.evals:
                    wanted.setdefault(key, levers)
            loaded = {k: self.store.read(k) for k in wanted if k in self.stored}
            self.cached += len(loaded)
            fresh = {k: v for k, v in wanted.items() if k not in loaded}
            if fresh:
                loaded.update(self._run(fresh))
                self.ran += len(fresh)
            for k in wanted:                            # in the order the algorithm proposed them
                self._add(loaded[k])
            self._update_reference()
            for job, key in zip(jobs, keys):
                job.run()
                self.seen.append((job.solution, key))
            self._refresh()
        finally:
            random.setstate(state)
        return jobs

    @property
    def nfe(self) -> int:
        """The algorithm's evaluations so far (Platypus counts unchanged offspring too, which cost nothing)."""
        return int(self.algorithm.nfe) if self.algorithm is not None else 0

    def _tick(self) -> None:
        self.bar.n = self.nfe
        self.bar.refresh()

    def _add(self, ev: Evaluation) -> None:
        ev.order = len(self.evals)
        ev.nfe = self.nfe
        self.evals[ev.key] = ev

    def _run(self, todo: dict[str, dict[str, Any]]) -> dict[str, Evaluation]:
        """Run every (lever set, scenario, replication) of ``todo`` on the executor; store each lever set when done."""
        from experiments.sweep import stream_tasks

        s = self.s
        n_s, n_r = s.seeds.shape
        targets = s.spec.targets
        pending = {k: {"values": np.full((len(targets), n_s, n_r), np.nan), "errors": [], "left": n_s * n_r}
                   for k in todo}
        finished: dict[str, Evaluation] = {}

        def tasks():
            for k, levers in todo.items():
                for j in range(n_s):
                    for r in range(n_r):
                        yield s.task(f"{k}|{j}|{r}", j, r, levers)

        def take(outcome: Any) -> None:
            k, j, r = outcome.run_id.split("|")
            j, r = int(j), int(r)
            slot = pending[k]
            if outcome.ok:
                table = pd.read_parquet(io.BytesIO(outcome.payload))
                for t, (metric, at) in enumerate(targets):
                    slot["values"][t, j, r] = float(reduce_runs(table, [metric], at)[metric].iloc[0])
            else:
                slot["errors"].append(f"{j} {r} {outcome.error}")
            slot["left"] -= 1
            self.runs += 1
            if slot["left"] == 0:
                ev = Evaluation(k, todo[k], slot["values"], sorted(slot["errors"]))
                self.store.write(ev)
                finished[k] = self.store.read(k)        # the stored values, as a resumed search reads them
                self.stored.add(k)

        stream_tasks(self.executor, self.slots, tasks(), take, total=len(todo) * n_s * n_r)
        return finished

    # ---------------------------------------------------------- objectives
    def _f(self, ev: Evaluation, t: int) -> np.ndarray:
        return scenario_values(ev.values[t])

    def _update_reference(self) -> None:
        """Best value per scenario over every lever set evaluated so far, for each regret objective."""
        for i, o in enumerate(self.objectives):
            if o.robustness != "regret":
                continue
            rows = np.array([self._f(ev, self.t_obj[i]) for ev in self.evals.values() if ev.ok])
            if len(rows):
                self.reference[i] = best_per_scenario(rows, o.direction)

    def values_of(self, key: str) -> tuple[list[float], list[float]]:
        """Platypus's objectives and constraint violations (the last: 1 if a run failed or gave NaN)."""
        ev = self.evals[key]
        if not ev.ok:
            return [0.0] * len(self.objectives), [0.0] * len(self.constraints) + [1.0]
        objs = []
        for i, o in enumerate(self.objectives):
            f = self._f(ev, self.t_obj[i])[None, :]
            objs.append(float(robustness(f, o, self.reference.get(i))[0]))
        cons = []
        for i, c in enumerate(self.constraints):
            f = self._f(ev, self.t_con[i])[None, :]
            cons.append(float(violation(robustness(f, c), c)[0]))
        return objs, cons + [0.0]

    def _refresh(self) -> None:
        """Regret moves with its reference: recompute the objectives of every solution evaluated so far."""
        if not any(o.robustness == "regret" for o in self.objectives):
            return
        cache: dict[str, list[float]] = {}
        for sol, key in self.seen:
            if key not in cache:
                cache[key] = self.values_of(key)[0]
            sol.objectives[:] = cache[key]

    # ---------------------------------------------------------- the end
    def table(self) -> pd.DataFrame:
        """Every evaluated lever set with its final robust values (regret against the best of all)."""
        evs = list(self.evals.values())
        rows = []
        ok = np.array([ev.ok for ev in evs], dtype=bool)
        for ev in evs:
            rows.append({"key": ev.key, "order": ev.order, "nfe": ev.nfe, **ev.levers,
                         "failed_runs": len(ev.errors)})
        df = pd.DataFrame(rows)
        for i, o in enumerate(self.objectives):
            f = np.array([self._f(ev, self.t_obj[i]) for ev in evs])
            ref = best_per_scenario(f[ok], o.direction) if o.robustness == "regret" and ok.any() else None
            vals = robustness(f, o, ref)
            df[o.label] = np.where(ok, vals, np.nan)
        feasible = ok.copy()
        for i, c in enumerate(self.constraints):
            f = np.array([self._f(ev, self.t_con[i]) for ev in evs])
            vals = robustness(f, c)
            df[c.label] = np.where(ok, vals, np.nan)
            feasible &= violation(vals, c) <= 0.0
        df["feasible"] = feasible
        df["pareto"] = nondominated(df[[o.label for o in self.objectives]].to_numpy(dtype=float),
                                    [o.sense for o in self.objectives], feasible) if len(df) else []
        return df


def _variator(levers: list[Lever]) -> tuple[Any, Any]:
    """Variation for the lever types present, and the restart mutator of ε-NSGA-II (see the module docstring)."""
    from platypus import HUX, PM, SBX, UM, BitFlip, CompoundMutation, CompoundOperator, GAOperator

    reals = any(lv.values is None and lv.kind == "float" for lv in levers)
    ints = any(lv.values is not None or lv.kind == "int" for lv in levers)
    if reals and ints:
        return CompoundOperator(SBX(), HUX(), PM(), BitFlip()), CompoundMutation(UM(1.0), BitFlip(1))
    if reals:
        return GAOperator(SBX(), PM()), UM(1.0)
    return GAOperator(HUX(), BitFlip()), BitFlip(1)


def _algorithm(search: ResolvedSearch, problem: Any, evaluator: Any) -> Any:
    from platypus import NSGAII, AdaptiveTimeContinuationExtension, EpsNSGAII

    alg = search.spec.algorithm
    variator, mutator = _variator(search.levers)
    if alg.name == "nsga2":
        return NSGAII(problem, population_size=alg.population, variator=variator, evaluator=evaluator,
                      log_frequency=None)
    algorithm = EpsNSGAII(problem, list(alg.epsilons or []), population_size=alg.population, variator=variator,
                          evaluator=evaluator, log_frequency=None)
    for ext in getattr(algorithm, "extensions", []):
        if isinstance(ext, AdaptiveTimeContinuationExtension):
            ext.mutator = mutator                       # the default (uniform mutation) moves reals only
    return algorithm


def search(file_or_spec: str | Path | dict | SearchSpec | ResolvedSearch, out: str | Path, *,
           backend: str = "processes", workers: int | None = None, scheduler: str | None = None,
           resume: bool = False, quick: bool = False, progress: bool = True, figure: bool = True) -> SearchResult:
    """Run a robust many-objective search and write its store, tables and figure to ``out``.

    ``file_or_spec``: a search file, its raw TOML data (paths relative to the
    working directory), a :class:`SearchSpec` or a :class:`ResolvedSearch`.
    Raises :class:`SearchError` / :class:`UserError` (one line) before any run
    for a bad file, an ``out`` that would be overwritten or a ``--resume`` of a
    different search, and :class:`SearchInterrupted` on Ctrl-C (every finished
    evaluation is kept).
    """
    from experiments.executors import open_executor
    from experiments.runner import git_revision

    t0 = time.perf_counter()
    if isinstance(file_or_spec, ResolvedSearch):
        resolved = file_or_spec
    elif isinstance(file_or_spec, SearchSpec):
        resolved = resolve_search(file_or_spec, "search", Path.cwd(), quick=quick)
    elif isinstance(file_or_spec, dict):
        resolved = resolve_search(parse_search(file_or_spec), "search", Path.cwd(), quick=quick)
    else:
        resolved = load_search(file_or_spec, quick=quick)
    out = Path(out)
    manifest = make_manifest(resolved)
    _Store.check(out, manifest, resume=resume)             # refuse before starting any worker
    store = _Store(out, resolved)
    seed = optimiser_seed(resolved.spec.seed)
    caller_state = random.getstate()
    bar = _progress(resolved.spec.algorithm.nfe, resolved.spec.name, progress)
    state: _Search | None = None
    desc = backend
    try:
        with open_executor(backend, workers, scheduler) as (executor, slots, desc):
            store.open(manifest, resume=resume)
            state = _Search(resolved, store, executor, slots, bar)
            problem = state.problem()
            algorithm = state.algorithm = _algorithm(resolved, problem, state.evaluator())
            random.seed(seed)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", category=DeprecationWarning)
                algorithm.run(resolved.spec.algorithm.nfe)
            state._tick()
    except KeyboardInterrupt:
        n = len(store.keys())
        if state is not None:
            store.log_session({"backend": desc, "resume": resume, "interrupted": True, "nfe": state.nfe,
                               "ran": state.ran, "runs": state.runs, "stored": n,
                               "elapsed_seconds": round(time.perf_counter() - t0, 3)})
        raise SearchInterrupted(out, n) from None
    finally:
        random.setstate(caller_state)
        bar.close()
    table = state.table()
    levers = [lv.path for lv in resolved.levers]
    atomic_write(out / "evaluations.csv", table.to_csv(index=False).encode())
    front = table[table["pareto"]].drop(columns=["pareto"]).reset_index(drop=True)
    atomic_write(out / "pareto.csv", front.to_csv(index=False).encode())
    result = SearchResult(root=out, name=resolved.spec.name, objectives=list(resolved.spec.objectives),
                          constraints=list(resolved.spec.constraints), levers=levers, evaluations=table,
                          pareto=front, nfe=state.nfe, ran=state.ran, cached=state.cached, runs=state.runs,
                          elapsed=time.perf_counter() - t0, backend=desc,
                          failed=int((table["failed_runs"] > 0).sum()) if len(table) else 0)
    if figure and len(table):
        from experiments.plots.search import pareto_figure
        from experiments.plots.base import save

        (out / "figures").mkdir(exist_ok=True)
        result.figure = save(pareto_figure(result), out / "figures" / "pareto.png")
    store.log_session({"backend": desc, "resume": resume, "nfe": state.nfe, "ran": state.ran, "cached": state.cached,
                       "runs": state.runs, "evaluated": len(table), "pareto": len(front),
                       "elapsed_seconds": round(result.elapsed, 3), "versions": _versions(),
                       "git_revision": git_revision()})
    return result


def _progress(total: int, name: str, enabled: bool) -> Any:
    from tqdm import tqdm

    tqdm.monitor_interval = 0
    return tqdm(total=total, desc=name, unit="eval", file=sys.stderr, disable=not enabled, dynamic_ncols=True)


def estimate_evaluation(search: ResolvedSearch) -> float:
    """Seconds of one evaluation (a lever set over the ensemble) on one worker: the first run timed here × runs."""
    from experiments.sweep import execute_run

    levers = {lv.path: (lv.values[0] if lv.values is not None else lv.low) for lv in search.levers}
    task = search.task("probe", 0, 0, levers)
    execute_run(task)                                  # loads the scenario once, as a worker does
    t0 = time.perf_counter()
    outcome = execute_run(task)
    if not outcome.ok:
        raise UserError(f"{search.origin}: the first run of the lowest lever set fails: {outcome.error}")
    return (time.perf_counter() - t0) * search.seeds.size


# ====================================================================== CLI
def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """``kyoso search``: its arguments on the ``kyoso`` sub-command parser ``sub``."""
    from experiments.executors import BACKENDS

    sp = sub.add_parser("search", help="robust many-objective search over levers, evaluated over an ensemble of "
                                       "uncertainty scenarios (Pareto front table and figure; resumable)")
    sp.add_argument("file", type=Path, help="search TOML file (see experiments/searches/)")
    sp.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="search directory (manifest.json, evaluations/, evaluations.csv, pareto.csv, figures/)")
    sp.add_argument("--backend", choices=BACKENDS, default=None,
                    help="processes (default), dask (LocalCluster, or --scheduler), serial")
    sp.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: CPU count)")
    sp.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="address of a running Dask scheduler (implies --backend dask)")
    sp.add_argument("--resume", action="store_true",
                    help="continue the search in --out: replay it from its seed, reading stored evaluations")
    sp.add_argument("--quick", action="store_true",
                    help="a small version of the search (≤ 3 scenarios, 1 replication, 8 quarters, 16 evaluations)")
    sp.add_argument("--no-progress", action="store_true", help="no progress bar")
    sp.add_argument("--dry-run", action="store_true",
                    help="validate the file, time one evaluation and print the plan; run nothing")
    return sp


def command(args: argparse.Namespace) -> int:
    """Run ``kyoso search`` from parsed arguments; the exit status."""
    backend = args.backend or ("dask" if args.scheduler else "processes")
    if args.scheduler is not None and backend != "dask":
        raise UserError(f"--scheduler {args.scheduler}: only used with --backend dask")
    if args.dry_run:
        resolved = load_search(args.file, quick=args.quick)
        seconds = estimate_evaluation(resolved)
        alg = resolved.spec.algorithm
        print(f"{args.file}: {len(resolved.levers)} levers, {resolved.n_scenarios} scenarios × "
              f"{resolved.spec.replications} replications = {resolved.seeds.size} runs per evaluation of "
              f"{resolved.quarters} quarters; {alg.name}, population {alg.population}, budget {alg.nfe} evaluations")
        print(f"one evaluation takes about {seconds:.1f} s on one worker; the budget at most "
              f"{seconds * alg.nfe / 60:.0f} min on one worker (repeated lever sets cost nothing)")
        return 0
    try:
        result = search(args.file, args.out, backend=backend, workers=args.workers, scheduler=args.scheduler,
                        resume=args.resume, quick=args.quick, progress=not args.no_progress)
    except SearchInterrupted as stop:
        sys.stderr.write(f"kyoso search: interrupted: {stop}\n")
        return EXIT_INTERRUPTED
    print(result.summary())
    return EXIT_FAILED if len(result.pareto) == 0 else 0
