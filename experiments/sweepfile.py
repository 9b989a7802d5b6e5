"""Sweep files: read, validate against the schema and the scenario, resolve.

A sweep file is TOML data (DESIGN.md, "Sweep file")::

    name = "subsidy_vs_risk"
    scenario = "baseline"          # built-in name, or a path relative to this file
    quarters = 40                  # default: the scenario's horizon
    replications = 5
    seed = 20251
    design = "grid"                # a registered design: grid | lhs | sobol | morris
    metrics = ["share_MY", "hhi_country"]

    [parameters]                   # dotted path → list (grid) or {low, high[, log]}
    "governments.MY.subsidy_rate" = [0.0, 0.1, 0.2]
    "regions.MY-Penang.investor_risk" = [0.2, 0.4]

    [fixed]                        # optional: the same override in every run
    "cocreation.talent.enabled" = true

:func:`load_sweep` reads the file and validates it with the pydantic schema
below (unknown keys, types, ranges, the rules of the chosen design from
:data:`experiments.design.DESIGNS`) and then against the scenario it names
(:func:`model.scenario.describe_path` gives type and bounds of every
parameter path; metric names are checked against the model's metrics
table).  Every problem is one :class:`SweepError` line naming the field, the
value and what was expected.  The design points and the run plan are
:mod:`experiments.design`'s.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
import warnings
from dataclasses import dataclass
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

from experiments.design import DESIGNS, SEED_MASK, Range, build_design
from experiments.errors import SweepError
from experiments.runner import metrics_table
from model.scenario import (
    PathInfo,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    describe_path,
    gated_parameters,
    known_hint,
    load_scenario,
    validation_message,
)

__all__ = [
    "SweepError",
    "GatedParameterWarning",
    "Range",
    "SweepSpec",
    "ResolvedSweep",
    "load_sweep",
    "parse_sweep",
    "resolve_sweep",
    "available_metrics",
    "scenario_hash",
]

_RANGE_KEYS = {"low", "high", "log"}
DesignName = Literal[DESIGNS.names()]  # type: ignore[valid-type]  # generated from the registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
Values = Annotated[list[Scalar], Field(min_length=1)]


def _param_kind(value: Any) -> str:
    """The tag of a parameter's values: raw data when validating, a Range when dumping."""
    return "range" if isinstance(value, (dict, Range)) else "values"


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
    seed: int = Field(0, ge=0, le=SEED_MASK, description="Root of the seed tree (numpy SeedSequence entropy) [integer]")
    common_seeds: bool = Field(False, description="Common random numbers: replication r uses the same seed at every design point, so differences between points are not seed noise [bool]")
    design: DesignName = Field(..., description=f"Sampling design [{'|'.join(DESIGNS.names())}]")
    samples: int | None = Field(None, ge=1, le=10_000_000, description="lhs: points; sobol: base sample N (a power of 2); morris: trajectories [count]")
    levels: int = Field(4, ge=2, le=1000, description="morris: grid levels of each parameter [count]")
    second_order: bool = Field(False, description="sobol: also sample for second-order indices (N(2D+2) instead of N(D+2) points) [bool]")
    metrics: list[StrictStr] = Field(..., min_length=1, description="Metric columns stored per quarter [names]")
    parameters: dict[str, ParameterValues] = Field(..., min_length=1, description="Dotted path → list of values (grid) or {low, high[, log]} [table]")
    fixed: dict[str, Scalar] = Field(default_factory=dict, description="Dotted path → value set in every run [table]")

    @model_validator(mode="after")
    def _design_fits(self) -> SweepSpec:
        DESIGNS.get(self.design).check_fit(self)
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
    """Metric names of ``scenario``'s metrics table, from the metric registry (no model is built)."""
    from model.metrics import catalog

    return catalog(scenario)


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
            raise SweepError(f"{origin}: metrics.{i} = {m!r}: unknown metric ({known_hint(m, known)}; "
                             "'kyoso sweep --list-metrics' lists them all)")
    quarters = spec.quarters if spec.quarters is not None else scenario.meta.horizon
    resolved = ResolvedSweep(spec=spec, origin=origin, scenario_ref=ref, scenario=scenario, quarters=quarters,
                             infos=infos, parameters=params, fixed=fixed, scenario_hash=scenario_hash(scenario))
    _check_points(resolved)
    _warn_gated(resolved)
    return resolved


class GatedParameterWarning(UserWarning):
    """A swept or fixed parameter cannot act in the sweep's scenario (model.scenario.gating)."""


def _warn_gated(sweep: ResolvedSweep) -> None:
    """Warn once per swept or fixed parameter that is gated to nothing."""
    scenario = load_scenario(sweep.scenario, **sweep.fixed) if sweep.fixed else sweep.scenario
    for g in gated_parameters(scenario, [*sweep.parameters, *sweep.fixed], varied=list(sweep.parameters)):
        # Reported at the sweep file's line that names the parameter (shown beneath the warning).
        warnings.warn_explicit(f"{g.path} is gated to nothing: {g.reason}", GatedParameterWarning,
                               sweep.origin, _line_of(sweep.origin, g.path))


def _line_of(origin: str, path: str) -> int:
    """The first line of the file ``origin`` that names the last part of ``path`` (0 if none)."""
    try:
        lines = Path(origin).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return 0
    last = path.split(".")[-1]
    return next((i for i, line in enumerate(lines, 1) if path in line), 0) or next(
        (i for i, line in enumerate(lines, 1) if line.lstrip().startswith((last, f'"{last}"'))), 0)


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
