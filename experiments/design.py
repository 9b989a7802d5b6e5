"""Sampling designs, registered by name, and the run plan with its seed tree.

A design is one function registered with :func:`design` (SALib style: a
``sample`` per method).  ``takes`` says what the sweep file gives for every
parameter: a list of values (``"values"``: the sampler gets the lists) or a
range ``{low, high[, log]}`` (``"range"``: the sampler gets SALib's problem
dict in analysis space and returns one row per point).  ``check`` adds the
design's own rules on the sweep file.  The sweep file's ``design`` field, its
validation and the run plan read :data:`DESIGNS`; adding a design is one
decorated function here.

* ``grid``: the full factorial of the listed values;
* ``lhs``: ``scipy.stats.qmc.LatinHypercube``;
* ``sobol``: SALib's Saltelli scheme (``SALib.sample.sobol``);
* ``morris``: SALib's trajectories (``SALib.sample.morris``).

Ranges with ``log = true`` are sampled uniformly in log10 space; integer
parameters are rounded.  :func:`plan_runs` gives every (point, replication)
a run id and an independent seed from ``numpy.random.SeedSequence(seed)``:
the root spawns a design child (spawn key ``(0,)``) and a runs child
(``(1,)``), and run ``k`` gets ``runs.spawn(...)[k]`` (spawn key ``(1, k)``);
its integer seed is 63 bits of that child's ``generate_state``, the number
``kyoso run --seed`` takes.

With ``[policies]``, every (point, replication) is run under every policy
with the same seed: the seeds are drawn exactly as without policies (one
child per (point, replication), spawn key ``(1, point × R + replication)``)
and shared by the policies, so policies are compared on common design points
and common random numbers.  Run ids are ``p{point}-{policy}-r{replication}``,
in the order point, policy (as the sweep file lists them), replication.
"""

from __future__ import annotations

import itertools
import json
import math
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from experiments.registry import Registry
from model.scenario import PathInfo

if TYPE_CHECKING:
    from experiments.sweepfile import ResolvedSweep, SweepSpec

__all__ = [
    "Range",
    "DesignMethod",
    "DESIGNS",
    "design",
    "Design",
    "RunSpec",
    "build_design",
    "plan_runs",
    "run_seeds",
    "reproduce_command",
]

#: Largest integer seed a run gets (fits a signed 64-bit Parquet column).
SEED_MASK = (1 << 63) - 1


class Range(BaseModel):
    """A continuous (or integer) range for the designs that take ranges."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    low: float = Field(..., description="Lowest value [parameter unit]")
    high: float = Field(..., description="Highest value [parameter unit]")
    log: bool = Field(False, description="Sample uniformly in log10 space (needs low > 0) [bool]")

    @model_validator(mode="after")
    def _order(self) -> Range:
        if not self.low < self.high:
            raise ValueError(f"low = {self.low:g} must be below high = {self.high:g}")
        if self.log and self.low <= 0:
            raise ValueError(f"log = true needs low > 0, got low = {self.low:g}")
        return self


# ------------------------------------------------------------------ registry
@dataclass(frozen=True)
class DesignMethod:
    """One registered design: its sampler, what it takes, and its own rules on the sweep file."""

    name: str
    sample: Callable[..., Any]
    takes: Literal["values", "range"]
    check: Callable[[SweepSpec], None]

    def check_fit(self, spec: SweepSpec) -> None:
        """Raise ValueError (one line naming the field) if the sweep file does not fit this design."""
        for path, values in spec.parameters.items():
            if isinstance(values, Range) and self.takes == "values":
                raise ValueError(f"parameters.{path}: the {self.name} design needs a list of values, "
                                 "got {low, high}")
            if not isinstance(values, Range) and self.takes == "range":
                raise ValueError(f"parameters.{path}: the {self.name} design needs a range {{low, high}}, "
                                 "got a list of values")
        self.check(spec)


DESIGNS: Registry[DesignMethod] = Registry("design")


def _needs_samples(spec: SweepSpec) -> None:
    if spec.samples is None:
        raise ValueError(f"samples: required by the {spec.design} design")


def design(name: str, *, takes: Literal["values", "range"],
           check: Callable[[SweepSpec], None] = _needs_samples) -> Callable[[Callable], Callable]:
    """Register ``sample`` as the design ``name`` (see the module docstring for its signature)."""
    def deco(sample: Callable) -> Callable:
        DESIGNS.add(name, DesignMethod(name, sample, takes, check))
        return sample
    return deco


def _no_samples(spec: SweepSpec) -> None:
    if spec.samples is not None:
        raise ValueError(f"samples = {spec.samples}: not used by the grid design (it runs every combination); "
                         "remove it")


def _sobol_rules(spec: SweepSpec) -> None:
    _needs_samples(spec)
    n = int(spec.samples or 0)
    if n & (n - 1):
        lo = 1 << (n.bit_length() - 1)
        raise ValueError(f"samples = {n}: the sobol design needs a power of 2 "
                         f"(Sobol' balance properties), e.g. {lo} or {2 * lo}")
    if spec.second_order and len(spec.parameters) < 2:
        raise ValueError("second_order = true: needs at least 2 parameters")


def _design_seed(seed: np.random.SeedSequence) -> int:
    """The design child as the 32-bit integer seed SALib's samplers take."""
    return int(seed.generate_state(1, dtype=np.uint32)[0])


@design("grid", takes="values", check=_no_samples)
def grid(values: list[list[Any]]) -> list[tuple[Any, ...]]:
    """Full factorial: every combination of the listed values."""
    return list(itertools.product(*values))


@design("lhs", takes="range")
def lhs(problem: dict[str, Any], spec: SweepSpec, seed: np.random.SeedSequence) -> np.ndarray:
    """Latin hypercube of ``samples`` points (``scipy.stats.qmc``)."""
    from scipy.stats import qmc

    bounds = problem["bounds"]
    unit = qmc.LatinHypercube(d=problem["num_vars"], rng=np.random.default_rng(seed)).random(int(spec.samples))
    return qmc.scale(unit, [b[0] for b in bounds], [b[1] for b in bounds])


@design("sobol", takes="range", check=_sobol_rules)
def sobol(problem: dict[str, Any], spec: SweepSpec, seed: np.random.SeedSequence) -> np.ndarray:
    """Saltelli's scheme for Sobol' indices: N(D+2) points, N(2D+2) with second order (SALib)."""
    from SALib.sample import sobol as sobol_sample

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=FutureWarning)   # scipy's seed= → rng= rename
        warnings.simplefilter("ignore", category=DeprecationWarning)
        return sobol_sample.sample(problem, int(spec.samples), calc_second_order=spec.second_order,
                                   seed=_design_seed(seed))


@design("morris", takes="range")
def morris(problem: dict[str, Any], spec: SweepSpec, seed: np.random.SeedSequence) -> np.ndarray:
    """Morris trajectories on a grid of ``levels`` levels (SALib)."""
    from SALib.sample import morris as morris_sample

    return morris_sample.sample(problem, int(spec.samples), num_levels=spec.levels, seed=_design_seed(seed))


# ------------------------------------------------------------------- points
@dataclass(frozen=True)
class Design:
    """Design points and what the sensitivity analysis needs to read them.

    ``matrix`` holds the points in analysis space (one row per point; log10
    of log-scaled parameters, unrounded integer draws); ``problem`` is SALib's
    problem dict over the same space.
    """

    kind: str
    names: list[str]
    points: list[dict[str, Any]]
    matrix: np.ndarray
    problem: dict[str, Any]
    levels: int = 4
    second_order: bool = False

    @property
    def n_points(self) -> int:
        return len(self.points)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "names": self.names, "problem": self.problem,
                "levels": self.levels, "second_order": self.second_order,
                "matrix": self.matrix.tolist()}


def _seed_children(seed: int) -> tuple[np.random.SeedSequence, np.random.SeedSequence]:
    """The design child and the runs child of the sweep's root seed."""
    design_ss, runs_ss = np.random.SeedSequence(seed).spawn(2)
    return design_ss, runs_ss


def _space_bounds(rng_: Range, info: PathInfo) -> tuple[float, float]:
    """Bounds in analysis space: log10 for log ranges; ±0.5 around integer ends
    so that rounding gives every integer the same probability."""
    if rng_.log:
        return math.log10(rng_.low), math.log10(rng_.high)
    if info.kind == "int":
        return rng_.low - 0.5, rng_.high + 0.5
    return rng_.low, rng_.high


def _to_value(x: float, rng_: Range, info: PathInfo) -> Any:
    v = 10.0 ** x if rng_.log else x
    if info.kind == "int":
        return int(min(max(round(v), rng_.low), rng_.high))
    return float(min(max(v, rng_.low), rng_.high))


def _numeric(value: Any, values: list[Any]) -> float:
    """Grid value as a number for tables and plots (text → its position in the list)."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    return float(values.index(value))


def build_design(sweep: ResolvedSweep) -> Design:
    """Design points of a resolved sweep (deterministic in the sweep's seed)."""
    method = DESIGNS.get(sweep.spec.design)
    if method.takes == "values":
        return _value_design(sweep, method)
    return _range_design(sweep, method)


def _value_design(sweep: ResolvedSweep, method: DesignMethod) -> Design:
    names = sweep.names
    lists = [sweep.parameters[n] for n in names]
    points = [dict(zip(names, combo)) for combo in method.sample(lists)]
    matrix = np.array([[_numeric(v, sweep.parameters[n]) for n, v in p.items()] for p in points], dtype=float)
    problem = {"num_vars": len(names), "names": names,
               "bounds": [[float(np.min(matrix[:, j])), float(np.max(matrix[:, j]))] for j in range(len(names))]}
    return Design(method.name, names, points, matrix, problem)


def _range_design(sweep: ResolvedSweep, method: DesignMethod) -> Design:
    spec, names = sweep.spec, sweep.names
    ranges: list[Range] = [sweep.parameters[n] for n in names]
    infos = [sweep.infos[n] for n in names]
    problem = {"num_vars": len(names), "names": names,
               "bounds": [list(_space_bounds(r, i)) for r, i in zip(ranges, infos)]}
    design_ss, _ = _seed_children(spec.seed)
    matrix = np.asarray(method.sample(problem, spec, design_ss), dtype=float)
    points = [{n_: _to_value(x, r, i) for n_, x, r, i in zip(names, row, ranges, infos)} for row in matrix]
    return Design(method.name, names, points, matrix, problem, levels=spec.levels, second_order=spec.second_order)


# ------------------------------------------------------------------ run plan
@dataclass(frozen=True)
class RunSpec:
    """One planned run: which point, which replication, which seed."""

    run_id: str
    index: int
    point: int
    replication: int
    seed: int
    spawn_key: tuple[int, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    policy: str | None = None      # None: the sweep has no [policies]

    def to_json(self) -> dict[str, Any]:
        out = {"run_id": self.run_id, "index": self.index, "point": self.point, "replication": self.replication,
               "seed": self.seed, "spawn_key": list(self.spawn_key), "parameters": self.parameters}
        return out if self.policy is None else out | {"policy": self.policy}


def _run_children(seed: int, n_points: int, replications: int, common: bool) -> list[np.random.SeedSequence]:
    """The seed-tree children of the runs, one per (point, replication) in the order point × R + replication."""
    _, runs_ss = _seed_children(seed)
    if common:                        # common random numbers: one seed per replication, shared by the points
        per_rep = runs_ss.spawn(replications)
        return [per_rep[k % replications] for k in range(n_points * replications)]
    return runs_ss.spawn(n_points * replications)


def _child_seed(child: np.random.SeedSequence) -> int:
    """A seed-tree child as the 63-bit integer ``kyoso run --seed`` takes."""
    state = child.generate_state(2, dtype=np.uint32)
    return ((int(state[0]) << 32) | int(state[1])) & SEED_MASK


def run_seeds(seed: int, n_points: int, replications: int, common: bool = False) -> list[int]:
    """The integer seed of every (point, replication), at index ``point × replications + replication``.

    Run ``k`` gets child ``k`` of the runs child of ``SeedSequence(seed)``
    (spawn key ``(1, k)``); with ``common`` (common random numbers) replication
    ``r`` gets child ``r`` at every point (spawn key ``(1, r)``).  These are the
    seeds :func:`plan_runs` gives a sweep, and the seeds of a search's ensemble
    (:mod:`experiments.search`), so a run of either repeats with
    ``kyoso run --seed``.
    """
    if n_points < 0 or replications < 1:
        raise ValueError(f"run_seeds: n_points = {n_points}, replications = {replications}: "
                         "expected n_points ≥ 0 and replications ≥ 1")
    return [_child_seed(c) for c in _run_children(seed, n_points, replications, common)]


def plan_runs(sweep: ResolvedSweep, design: Design) -> list[RunSpec]:
    """Every (point, policy, replication) with its run id and seed (shared by the policies; :func:`run_seeds`)."""
    reps = sweep.spec.replications
    children = _run_children(sweep.spec.seed, design.n_points, reps, sweep.spec.common_seeds)
    seeds = [_child_seed(c) for c in children]
    wp = len(str(max(design.n_points - 1, 0)))
    wr = len(str(max(reps - 1, 0)))
    policies: list[str | None] = list(sweep.policy_names) or [None]
    out = []
    for p in range(design.n_points):
        for policy in policies:
            for r in range(reps):
                b = p * reps + r
                tag = "" if policy is None else f"{policy}-"
                out.append(RunSpec(run_id=f"p{p:0{wp}d}-{tag}r{r:0{wr}d}", index=len(out), point=p, replication=r,
                                   seed=seeds[b], spawn_key=tuple(int(x) for x in children[b].spawn_key),
                                   parameters=dict(design.points[p]), policy=policy))
    return out


def toml_value(value: Any) -> str:
    """A scalar as TOML (strings quoted, booleans lower case), as ``--set`` and scenario files take it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def reproduce_command(scenario_ref: str, quarters: int, seed: int, overrides: dict[str, Any]) -> str:
    """The ``kyoso run`` command line that repeats one run exactly."""
    import shlex

    parts = ["kyoso", "run", shlex.quote(scenario_ref), "--quarters", str(quarters), "--seed", str(seed)]
    for path, value in overrides.items():
        parts += ["--set", shlex.quote(f"{path}={toml_value(value)}")]
    return " ".join(parts)
