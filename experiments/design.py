"""Sweep files and sampling designs.

A sweep file is TOML data (DESIGN.md, "Sweep file")::

    name = "subsidy_vs_risk"
    scenario = "baseline"          # built-in name, or a path relative to this file
    quarters = 40                  # default: the scenario's horizon
    replications = 5
    seed = 20251
    design = "grid"                # grid | lhs | sobol | morris
    metrics = ["share_MY", "hhi_country"]

    [parameters]                   # dotted path → list (grid) or {low, high[, log]}
    "governments.MY.subsidy_rate" = [0.0, 0.1, 0.2]
    "regions.MY-Penang.political_risk" = [0.2, 0.4]

    [fixed]                        # optional: the same override in every run
    "cocreation.talent.enabled" = true

Stages, each a plain function of plain data (STYLE.md 4):

1. :func:`load_sweep` reads the file and validates it with the pydantic
   schema below (unknown keys, types, ranges, fit of design and parameters)
   and then against the scenario it names (:func:`model.scenario.describe_path`
   gives type and bounds of every parameter path; metric names are checked
   against the metrics table of a 0-quarter model).  Every problem is one
   :class:`SweepError` line naming the field, the value and what was expected.
2. :func:`build_design` draws the design points: a full factorial for
   ``grid``, ``scipy.stats.qmc.LatinHypercube`` for ``lhs``, SALib's Saltelli
   scheme (``SALib.sample.sobol``) for ``sobol`` and SALib's trajectories
   (``SALib.sample.morris``) for ``morris``.  Ranges with ``log = true`` are
   sampled uniformly in log10 space; integer parameters are rounded.
3. :func:`plan_runs` gives every (point, replication) a run id and an
   independent seed from ``numpy.random.SeedSequence(seed)``: the root spawns
   a design child (spawn key ``(0,)``) and a runs child (``(1,)``), and run
   ``k`` gets ``runs.spawn(...)[k]`` (spawn key ``(1, k)``); its integer seed
   is 63 bits of that child's ``generate_state``, the number ``kyoso run
   --seed`` takes.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import numpy as np
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

from experiments.runner import UserError
from model.scenario import (
    PathInfo,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    describe_path,
    load_scenario,
    validation_message,
)

__all__ = [
    "SweepError",
    "Range",
    "SweepSpec",
    "ResolvedSweep",
    "Design",
    "RunSpec",
    "DESIGNS",
    "load_sweep",
    "parse_sweep",
    "resolve_sweep",
    "build_design",
    "plan_runs",
    "available_metrics",
    "reproduce_command",
]

DESIGNS = ("grid", "lhs", "sobol", "morris")
_RANGE_KEYS = {"low", "high", "log"}
#: Largest integer seed a run gets (fits a signed 64-bit Parquet column).
_SEED_MASK = (1 << 63) - 1


class SweepError(UserError):
    """A user error in a sweep file: one line naming the field (CLI exit status 2)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


class Range(_Strict):
    """A continuous (or integer) range for the lhs, sobol and morris designs."""

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


Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
Values = Annotated[list[Scalar], Field(min_length=1)]


def _param_kind(value: Any) -> str:
    return "range" if isinstance(value, dict) else "values"


ParameterValues = Annotated[
    Union[Annotated[Range, Tag("range")], Annotated[Values, Tag("values")]],
    Discriminator(_param_kind),
]


class SweepSpec(_Strict):
    """The sweep file's schema (TOML → this model; unknown keys are errors)."""

    name: str = Field(..., min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.-]+$",
                      description="Name of the sweep (letters, digits, _ . -) [text]")
    description: str = Field("", description="What the sweep asks [text]")
    scenario: str = Field("baseline", min_length=1, description="Built-in scenario or TOML path relative to the sweep file [name/path]")
    quarters: int | None = Field(None, ge=1, le=400, description="Quarters per run; default the scenario's horizon [quarters]")
    replications: int = Field(1, ge=1, le=100_000, description="Runs per design point, each with its own seed [runs]")
    seed: int = Field(0, ge=0, le=_SEED_MASK, description="Root of the seed tree (numpy SeedSequence entropy) [integer]")
    design: Literal["grid", "lhs", "sobol", "morris"] = Field(..., description="Sampling design [grid|lhs|sobol|morris]")
    samples: int | None = Field(None, ge=1, le=10_000_000, description="lhs: points; sobol: base sample N (a power of 2); morris: trajectories [count]")
    levels: int = Field(4, ge=2, le=1000, description="morris: grid levels of each parameter [count]")
    second_order: bool = Field(False, description="sobol: also sample for second-order indices (N(2D+2) instead of N(D+2) points) [bool]")
    metrics: list[StrictStr] = Field(..., min_length=1, description="Metric columns stored per quarter [names]")
    parameters: dict[str, ParameterValues] = Field(..., min_length=1, description="Dotted path → list of values (grid) or {low, high[, log]} [table]")
    fixed: dict[str, Scalar] = Field(default_factory=dict, description="Dotted path → value set in every run [table]")

    @model_validator(mode="after")
    def _design_fits(self) -> SweepSpec:
        ranges = [p for p, v in self.parameters.items() if isinstance(v, Range)]
        lists = [p for p, v in self.parameters.items() if not isinstance(v, Range)]
        if self.design == "grid":
            if ranges:
                raise ValueError(f"parameters.{ranges[0]}: the grid design needs a list of values, got {{low, high}}")
            if self.samples is not None:
                raise ValueError(f"samples = {self.samples}: not used by the grid design (it runs every combination); remove it")
        else:
            if lists:
                raise ValueError(f"parameters.{lists[0]}: the {self.design} design needs a range {{low, high}}, got a list of values")
            if self.samples is None:
                raise ValueError(f"samples: required by the {self.design} design")
        if self.design == "sobol":
            assert self.samples is not None
            if self.samples & (self.samples - 1):
                lo = 1 << (self.samples.bit_length() - 1)
                raise ValueError(f"samples = {self.samples}: the sobol design needs a power of 2 "
                                 f"(Sobol' balance properties), e.g. {lo} or {2 * lo}")
            if self.second_order and len(self.parameters) < 2:
                raise ValueError("second_order = true: needs at least 2 parameters")
        dup = sorted({m for m in self.metrics if self.metrics.count(m) > 1})
        if dup:
            raise ValueError(f"metrics: {dup[0]!r} is listed twice")
        for path in self.parameters:
            if _norm(path) == "meta.horizon":
                raise ValueError(f"parameters.{path}: set the run length with 'quarters', not by sweeping meta.horizon")
        for path in self.fixed:
            if _norm(path) == "meta.horizon":
                raise ValueError(f"fixed.{path}: set the run length with 'quarters', not with meta.horizon")
            if _norm(path) in {_norm(p) for p in self.parameters}:
                raise ValueError(f"fixed.{path}: also a swept parameter; keep it in one place")
        return self

    def normalized(self) -> dict[str, Any]:
        """The sweep as JSON data (what the manifest stores and ``--resume`` compares)."""
        return self.model_dump(mode="json")


def _norm(path: str) -> str:
    return path.replace("__", ".")


# --------------------------------------------------------------------- reading
def _flatten_parameters(raw: Any, origin: str) -> Any:
    """``[parameters]`` written with bare dotted keys becomes nested tables in TOML;
    fold them back into dotted paths.  A table with low/high/log keys is a range."""
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            path = f"{prefix}{key}"
            if isinstance(value, dict) and not (_RANGE_KEYS & set(value)) and value:
                walk(value, path + ".")
            elif isinstance(value, (dict, list)):
                out[path] = value
            else:
                raise SweepError(f"{origin}: parameters.{path} = {value!r}: expected a list of values "
                                 "(grid) or a table {low, high} (lhs, sobol, morris)")

    walk(raw, "")
    return out


def _flatten_fixed(raw: Any, origin: str) -> Any:
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            elif isinstance(value, list):
                raise SweepError(f"{origin}: fixed.{prefix}{key}: expected a single value, got a list "
                                 "(sweep it under [parameters] instead)")
            else:
                out[f"{prefix}{key}"] = value

    walk(raw, "")
    return out


_TAGS = {"range", "values"}


def parse_sweep(raw: dict, origin: str = "sweep") -> SweepSpec:
    """Validate a raw sweep dict (as read from TOML) against the schema."""
    if not isinstance(raw, dict):
        raise SweepError(f"{origin}: expected a table of sweep settings")
    raw = dict(raw)
    if "parameters" in raw:
        raw["parameters"] = _flatten_parameters(raw["parameters"], origin)
    if "fixed" in raw:
        raw["fixed"] = _flatten_fixed(raw["fixed"], origin)
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SweepError(validation_message(exc, origin, frozenset(_TAGS))) from None


# ------------------------------------------------------------ scenario checks
@dataclass(frozen=True)
class ResolvedSweep:
    """A sweep checked against its scenario: everything a run plan needs."""

    spec: SweepSpec
    origin: str
    scenario_ref: str            # built-in name or absolute path: what `kyoso run` takes
    scenario: Scenario
    quarters: int
    infos: dict[str, PathInfo]   # parameter path → type, bounds, unit
    parameters: dict[str, Any]   # path → Range or list of normalised values
    fixed: dict[str, Any]        # path → normalised value
    scenario_hash: str

    @property
    def names(self) -> list[str]:
        return list(self.parameters)

    @property
    def metrics(self) -> list[str]:
        return list(self.spec.metrics)


def available_metrics(scenario: Scenario | str) -> list[str]:
    """Numeric metric columns of a 0-quarter model of ``scenario``."""
    from model import ChipModel

    mt = ChipModel(scenario, rng=0).tables()["metrics"]
    return [c for c in mt.columns if c not in ("step", "quarter") and np.issubdtype(mt[c].dtype, np.number)]


def _bound_text(info: PathInfo) -> str:
    lo = "−∞" if info.low is None else f"{info.low:g}"
    hi = "∞" if info.high is None else f"{info.high:g}"
    return f"{'(' if info.low_strict else '['}{lo}, {hi}{')' if info.high_strict else ']'}" + (
        f" {info.unit}" if info.unit else "")


def _within(info: PathInfo, v: float) -> bool:
    if info.low is not None and (v < info.low or (info.low_strict and v == info.low)):
        return False
    if info.high is not None and (v > info.high or (info.high_strict and v == info.high)):
        return False
    return True


def _check_value(info: PathInfo, value: Any, where: str) -> Any:
    """Check one value against the schema's type and bounds; return it normalised."""
    kind = info.kind
    if kind == "bool":
        if not isinstance(value, bool):
            raise SweepError(f"{where} = {value!r}: expected true or false ({info.path} is a boolean)")
        return value
    if kind == "str":
        if not isinstance(value, str):
            raise SweepError(f"{where} = {value!r}: expected text ({info.path} is text)")
        return value
    if kind not in ("int", "float"):
        raise SweepError(f"{where}: {info.path} is not a number, flag or text parameter that can be swept")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SweepError(f"{where} = {value!r}: expected a number ({info.path} is {'an integer' if kind == 'int' else 'a number'})")
    if kind == "int":
        if float(value) != math.floor(value):
            raise SweepError(f"{where} = {value!r}: expected a whole number ({info.path} is an integer)")
        value = int(value)
    else:
        value = float(value)
    if not _within(info, value):
        raise SweepError(f"{where} = {value!r}: outside the schema's bounds {_bound_text(info)} of {info.path}")
    return value


def _resolve_scenario_ref(name: str, base_dir: Path | None) -> str:
    if name in builtin_scenarios():
        return name
    path = Path(name)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    return str(path.resolve()) if path.exists() else name


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the validated scenario (``--resume`` refuses a changed scenario)."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def _path_info(path: str, scenario: Scenario, where: str) -> PathInfo:
    """The schema's description of a dotted path, or a one-line SweepError naming ``where``."""
    try:
        return describe_path(path, scenario)
    except ScenarioError as exc:
        raise SweepError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None


def resolve_sweep(spec: SweepSpec, origin: str = "sweep", base_dir: Path | None = None) -> ResolvedSweep:
    """Check a parsed sweep against the scenario it names (paths, types, bounds, metrics)."""
    ref = _resolve_scenario_ref(spec.scenario, base_dir)
    try:
        scenario = load_scenario(ref)
    except ScenarioError as exc:
        raise SweepError(f"{origin}: scenario = {spec.scenario!r}: {exc}") from None
    infos: dict[str, PathInfo] = {}
    params: dict[str, Any] = {}
    for path, values in spec.parameters.items():
        where = f"{origin}: parameters.{path}"
        info = infos[path] = _path_info(path, scenario, where)
        if isinstance(values, Range):
            if info.kind not in ("int", "float"):
                raise SweepError(f"{where}: a range {{low, high}} needs a numeric parameter, "
                                 f"{info.path} is {info.kind}; list its values with the grid design")
            low = _check_value(info, values.low, f"{where}.low")
            high = _check_value(info, values.high, f"{where}.high")
            params[path] = Range(low=low, high=high, log=values.log)
        else:
            normed = [_check_value(info, v, f"{where}.{i}") for i, v in enumerate(values)]
            if len(set(normed)) != len(normed):
                raise SweepError(f"{where}: a value is listed twice")
            params[path] = normed
    fixed: dict[str, Any] = {}
    for path, value in spec.fixed.items():
        where = f"{origin}: fixed.{path}"
        fixed[path] = _check_value(_path_info(path, scenario, where), value, where)
    known = available_metrics(scenario)
    for i, m in enumerate(spec.metrics):
        if m not in known:
            near = [k for k in known if k.split("_")[0] == m.split("_")[0]][:6] or known[:6]
            raise SweepError(f"{origin}: metrics.{i} = {m!r}: unknown metric (e.g. {', '.join(near)}; "
                             "'kyoso sweep --list-metrics' lists them all)")
    quarters = spec.quarters if spec.quarters is not None else scenario.meta.horizon
    resolved = ResolvedSweep(spec=spec, origin=origin, scenario_ref=ref, scenario=scenario, quarters=quarters,
                             infos=infos, parameters=params, fixed=fixed, scenario_hash=scenario_hash(scenario))
    _check_points(resolved)
    return resolved


def _check_points(sweep: ResolvedSweep) -> None:
    """Cross-field rules of the schema on the first and last design points.

    Other points that break a cross-field rule (e.g. a lower bound above an
    upper one) are recorded as failed runs; checking all of them up front
    would cost ~2 ms per point.
    """
    design = build_design(sweep)
    for idx in sorted({0, design.n_points - 1}):
        overrides = {**sweep.fixed, **design.points[idx]}
        try:
            load_scenario(sweep.scenario, **overrides)
        except ScenarioError as exc:
            raise SweepError(f"{sweep.origin}: design point {idx} ({_describe_point(design.points[idx])}): "
                             f"{str(exc).split(': ', 1)[-1]}") from None


def _describe_point(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


def load_sweep(path: str | Path) -> ResolvedSweep:
    """Read, validate and resolve a sweep file; raises :class:`SweepError` (one line)."""
    path = Path(path)
    origin = str(path)
    if not path.is_file():
        raise SweepError(f"sweep file {origin!r}: not found")
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SweepError(f"{origin}: malformed TOML: {exc}") from None
    except OSError as exc:
        raise SweepError(f"{origin}: cannot read: {exc.strerror}") from None
    spec = parse_sweep(raw, origin)
    return resolve_sweep(spec, origin, base_dir=path.resolve().parent)


# --------------------------------------------------------------------- designs
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
    root = np.random.SeedSequence(seed)
    design_ss, runs_ss = root.spawn(2)
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


def build_design(sweep: ResolvedSweep) -> Design:
    """Design points of a resolved sweep (deterministic in the sweep's seed)."""
    spec = sweep.spec
    names = sweep.names
    if spec.design == "grid":
        lists = [sweep.parameters[n] for n in names]
        points = [dict(zip(names, combo)) for combo in itertools.product(*lists)]
        matrix = np.array([[_numeric(v, sweep.parameters[n]) for n, v in p.items()] for p in points], dtype=float)
        problem = {"num_vars": len(names), "names": names,
                   "bounds": [[float(np.min(matrix[:, j])), float(np.max(matrix[:, j]))] for j in range(len(names))]}
        return Design("grid", names, points, matrix, problem)

    ranges: list[Range] = [sweep.parameters[n] for n in names]
    infos = [sweep.infos[n] for n in names]
    bounds = [list(_space_bounds(r, i)) for r, i in zip(ranges, infos)]
    problem = {"num_vars": len(names), "names": names, "bounds": bounds}
    design_ss, _ = _seed_children(spec.seed)
    design_seed = int(design_ss.generate_state(1, dtype=np.uint32)[0])
    n = int(spec.samples or 0)
    if spec.design == "lhs":
        from scipy.stats import qmc

        unit = qmc.LatinHypercube(d=len(names), rng=np.random.default_rng(design_ss)).random(n)
        matrix = qmc.scale(unit, [b[0] for b in bounds], [b[1] for b in bounds])
    elif spec.design == "sobol":
        from SALib.sample import sobol as sobol_sample

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", category=FutureWarning)   # scipy's seed= → rng= rename
            warnings.simplefilter("ignore", category=DeprecationWarning)
            matrix = sobol_sample.sample(problem, n, calc_second_order=spec.second_order, seed=design_seed)
    elif spec.design == "morris":
        from SALib.sample import morris as morris_sample

        matrix = morris_sample.sample(problem, n, num_levels=spec.levels, seed=design_seed)
    else:  # pragma: no cover - the schema admits only DESIGNS
        raise SweepError(f"design = {spec.design!r}: expected one of {', '.join(DESIGNS)}")
    matrix = np.asarray(matrix, dtype=float)
    points = [{n_: _to_value(x, r, i) for n_, x, r, i in zip(names, row, ranges, infos)} for row in matrix]
    return Design(spec.design, names, points, matrix, problem, levels=spec.levels, second_order=spec.second_order)


def _numeric(value: Any, values: list[Any]) -> float:
    """Grid value as a number for tables and plots (text → its position in the list)."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return float(values.index(value))


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

    def to_json(self) -> dict[str, Any]:
        return {"run_id": self.run_id, "index": self.index, "point": self.point, "replication": self.replication,
                "seed": self.seed, "spawn_key": list(self.spawn_key), "parameters": self.parameters}


def plan_runs(sweep: ResolvedSweep, design: Design) -> list[RunSpec]:
    """Every (point, replication) with its run id and independent seed."""
    reps = sweep.spec.replications
    n_runs = design.n_points * reps
    _, runs_ss = _seed_children(sweep.spec.seed)
    children = runs_ss.spawn(n_runs)
    wp = len(str(max(design.n_points - 1, 0)))
    wr = len(str(max(reps - 1, 0)))
    out = []
    for k, child in enumerate(children):
        p, r = divmod(k, reps)
        state = child.generate_state(2, dtype=np.uint32)
        seed = ((int(state[0]) << 32) | int(state[1])) & _SEED_MASK
        out.append(RunSpec(run_id=f"p{p:0{wp}d}-r{r:0{wr}d}", index=k, point=p, replication=r, seed=seed,
                           spawn_key=tuple(int(x) for x in child.spawn_key), parameters=dict(design.points[p])))
    return out


def _toml_value(value: Any) -> str:
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
        parts += ["--set", shlex.quote(f"{path}={_toml_value(value)}")]
    return " ".join(parts)
