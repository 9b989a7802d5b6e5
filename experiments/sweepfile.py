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

    [policies.status_quo]          # optional: named lever settings, crossed with the design
    [policies.talent_on]           # (a path a policy leaves out keeps the scenario's value)
    "cocreation.talent.enabled" = true

A key with a shell-style glob (``*``, ``?``, ``[…]``) or a brace list
(``{a,b}``) in a path segment is a *binding*: ``"regions.TW-*.political_risk"``
or ``"regions.{TW-Hsinchu,TW-Tainan}.political_risk"`` sets one value on every
matching path of the scenario (resolved by :func:`expand_key`; the manifest
lists the expansion).  The design sees one parameter per key, and the key is
its column name in the store.

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

import fnmatch
import hashlib
import json
import math
import re
import tomllib
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    StringConstraints,
    Tag,
    ValidationError,
    model_validator,
)

from experiments.design import DESIGNS, SEED_MASK, Range, build_design
from experiments.errors import SweepError
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
from model.scenario.paths import PathMiss, split_path, value_at, walk

__all__ = [
    "SweepError",
    "GatedParameterWarning",
    "Range",
    "SweepSpec",
    "ResolvedSweep",
    "load_sweep",
    "read_toml",
    "parse_sweep",
    "resolve_sweep",
    "available_metrics",
    "scenario_hash",
    "expand_key",
    "expand_values",
    "is_binding",
    "KeyResolver",
    "check_value",
    "check_value_all",
    "path_info",
    "resolve_scenario_ref",
]

_RANGE_KEYS = {"low", "high", "log"}
DesignName = Literal[DESIGNS.names()]  # type: ignore[valid-type]  # generated from the registry


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)


Scalar = Union[StrictBool, StrictInt, StrictFloat, StrictStr]
Values = Annotated[list[Scalar], Field(min_length=1)]
#: A policy's name: part of run ids and file names.
PolicyName = Annotated[str, StringConstraints(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_]+$")]


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
    policies: dict[PolicyName, dict[str, Scalar]] = Field(
        default_factory=dict, description="Policy name (letters, digits, _) → table of dotted path → lever value; "
                                          "every policy is run at every design point with the same seeds [tables]")

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
        elsewhere = {_norm(p): "a swept parameter" for p in self.parameters} | {
            _norm(p): "set under [fixed]" for p in self.fixed}
        for name, levers in self.policies.items():
            for path in levers:
                if _norm(path) == "meta.horizon":
                    raise ValueError(f"policies.{name}.{path}: set the run length with 'quarters', "
                                     "not with meta.horizon")
                if _norm(path) in elsewhere:
                    raise ValueError(f"policies.{name}.{path}: also {elsewhere[_norm(path)]}; "
                                     "a path is either an uncertainty, fixed, or a policy lever")
        return self

    def normalized(self) -> dict[str, Any]:
        """The sweep as JSON data (what the manifest stores and ``--resume`` compares).

        A sweep without policies has no ``policies`` key, as before policies existed."""
        return self.model_dump(mode="json", exclude=None if self.policies else {"policies"})


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


def _flatten_fixed(raw: Any, origin: str, section: str = "fixed") -> Any:
    if not isinstance(raw, dict):
        return raw
    out: dict[str, Any] = {}

    def walk(node: dict, prefix: str) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                walk(value, f"{prefix}{key}.")
            elif isinstance(value, list):
                raise SweepError(f"{origin}: {section}.{prefix}{key}: expected a single value, got a list "
                                 "(sweep it under [parameters] instead)")
            else:
                out[f"{prefix}{key}"] = value

    walk(raw, "")
    return out


def _flatten_policies(raw: Any, origin: str) -> Any:
    """``[policies.NAME]`` tables, each folded into dotted path → value like ``[fixed]``."""
    if not isinstance(raw, dict):
        raise SweepError(f"{origin}: policies = {raw!r}: expected tables [policies.NAME] of dotted path → value")
    out: dict[str, Any] = {}
    for name, table in raw.items():
        if not isinstance(table, dict):
            raise SweepError(f"{origin}: policies.{name} = {table!r}: expected a table [policies.{name}] of "
                             "dotted path → value (an empty table for the scenario as it is)")
        out[name] = _flatten_fixed(table, origin, f"policies.{name}")
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
    if "policies" in raw:
        raw["policies"] = _flatten_policies(raw["policies"], origin)
    try:
        return SweepSpec.model_validate(raw)
    except ValidationError as exc:
        raise SweepError(validation_message(exc, origin, frozenset(_TAGS))) from None


# ------------------------------------------------------------ scenario checks
@dataclass(frozen=True)
class ResolvedSweep:
    """A sweep checked against its scenario: everything a run plan needs.

    ``parameters``, ``fixed`` and the policies' levers are keyed as the sweep
    file writes them (a binding keeps its pattern: it is the store's column
    name); ``bindings`` gives every key's concrete paths and
    :meth:`overrides` the concrete overrides of one run.
    """

    spec: SweepSpec
    origin: str
    scenario_ref: str            # built-in name or absolute path: what `kyoso run` takes
    scenario: Scenario
    quarters: int
    infos: dict[str, PathInfo]   # parameter path → type, bounds, unit
    parameters: dict[str, Any]   # path → Range or list of normalised values
    fixed: dict[str, Any]        # path → normalised value
    scenario_hash: str
    policies: dict[str, dict[str, Any]] = field(default_factory=dict)   # name → lever → effective value
    levers: dict[str, PathInfo] = field(default_factory=dict)           # lever path → type, bounds, unit
    bindings: dict[str, tuple[str, ...]] = field(default_factory=dict)  # every key → its concrete paths

    @property
    def names(self) -> list[str]:
        return list(self.parameters)

    @property
    def metrics(self) -> list[str]:
        return list(self.spec.metrics)

    @property
    def policy_names(self) -> list[str]:
        """The policies in the sweep file's order (empty without ``[policies]``)."""
        return list(self.policies)

    @property
    def expansions(self) -> dict[str, list[str]]:
        """The keys that are bindings (a ``*`` or ``{a,b}`` in a segment) → the paths each one sets."""
        return {k: list(v) for k, v in self.bindings.items() if is_binding(k)}

    def _expand(self, values: dict[str, Any]) -> dict[str, Any]:
        return expand_values(values, self.bindings)

    def overrides(self, point: dict[str, Any], policy: str | None = None) -> dict[str, Any]:
        """The concrete ``--set`` overrides of one run: fixed values, the policy's levers, the point."""
        levers = self.spec.policies.get(policy, {}) if policy is not None else {}
        return {**self._expand(self.fixed), **self._expand(levers), **self._expand(point)}


# ------------------------------------------------------------------ bindings
_GLOB_CHARS = frozenset("*?[")
_BRACE = re.compile(r"\{([^{}]*)\}")


def _is_glob(part: str) -> bool:
    return bool(_GLOB_CHARS & set(part)) or bool(_BRACE.search(part))


def is_binding(key: str) -> bool:
    """Whether a sweep-file key binds several paths (a glob or a brace list in some segment)."""
    return any(_is_glob(part) for part in split_path(key))


def expand_values(values: dict[str, Any], bindings: dict[str, tuple[str, ...] | list[str]]) -> dict[str, Any]:
    """Values keyed by a file's keys → concrete ``--set`` overrides: a binding's value on each of its paths.

    ``bindings`` maps keys to their concrete paths (:attr:`ResolvedSweep.bindings`,
    :attr:`KeyResolver.bindings`); a key it does not list is a path itself."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        for path in bindings.get(key, (key,)):
            out[path] = value
    return out


def _braces(part: str) -> list[str]:
    """Brace expansion of one segment: ``TW-{Hsinchu,Tainan}`` → ``[TW-Hsinchu, TW-Tainan]``."""
    m = _BRACE.search(part)
    if m is None:
        return [part]
    return [x for alt in m.group(1).split(",") for x in _braces(part[:m.start()] + alt.strip() + part[m.end():])]


def _keys_at(node: Any) -> list[str]:
    """The names one level below ``node`` of a scenario: fields of a table, keys of a dictionary, list indices."""
    from pydantic import BaseModel as _Model

    if isinstance(node, _Model):
        return list(type(node).model_fields)
    if isinstance(node, dict):
        return [str(k) for k in node]
    return [str(i) for i in range(len(node))] if isinstance(node, list) else []


def expand_key(key: str, scenario: Scenario, where: str | None = None) -> list[str]:
    """The concrete dotted paths of ``scenario`` that a sweep-file key names, in the scenario's order.

    A segment with ``*``, ``?`` or ``[…]`` is a shell-style glob over the keys
    at that level (:func:`fnmatch.fnmatchcase`, case-sensitive); ``{a,b}``
    lists alternatives (each may be a glob).  A key without either is
    returned as it is.  Raises a one-line :class:`SweepError` naming ``where``
    when a segment (or one listed alternative) matches nothing.
    """
    where = where or key
    parts = split_path(key)
    if not any(_is_glob(p) for p in parts):
        return [key]
    paths: list[list[str]] = [[]]
    for part in parts:
        if not _is_glob(part):
            paths = [p + [part] for p in paths]
            continue
        alternatives = _braces(part)
        if any(not a for a in alternatives):
            raise SweepError(f"{where}: empty alternative in {part!r}")
        new: list[list[str]] = []
        unmatched = set(alternatives)
        known: list[str] = []
        for prefix in paths:
            try:
                node = walk(prefix, scenario)[-1].value if prefix else scenario
            except PathMiss as miss:
                bad = ".".join(prefix[: miss.depth + 1])
                raise SweepError(f"{where}: {bad!r} is not in the scenario "
                                 f"({known_hint(prefix[miss.depth], miss.known)})") from None
            keys = _keys_at(node)
            known += keys
            for k in keys:
                hits = [a for a in alternatives if fnmatch.fnmatchcase(k, a)]
                if hits:
                    new.append(prefix + [k])
                    unmatched -= set(hits)
        if not new or unmatched:
            miss = sorted(unmatched)[0] if unmatched else part
            at = ".".join(paths[0]) if paths and paths[0] else "the scenario"
            raise SweepError(f"{where}: {miss!r} matches no key of {at} "
                             f"({known_hint(miss, list(dict.fromkeys(known)))})")
        paths = new
    return [".".join(p) for p in paths]


def _merged_info(key: str, infos: list[PathInfo], where: str) -> PathInfo:
    """One description of the paths a binding sets: their common kind and unit, the tightest bounds."""
    if len(infos) == 1 and not is_binding(key):
        return infos[0]
    kinds = {i.kind for i in infos}
    if len(kinds) > 1:
        detail = ", ".join(f"{i.path} is {i.kind}" for i in infos[:4])
        raise SweepError(f"{where}: the matched paths are of different kinds ({detail}); bind paths of one kind")
    units = {i.unit for i in infos}
    if len(units) > 1:
        detail = ", ".join(f"{i.path} in {i.unit or 'no unit'}" for i in infos[:4])
        raise SweepError(f"{where}: the matched paths have different units ({detail}); bind paths of one unit")
    lows = [i for i in infos if i.low is not None]
    highs = [i for i in infos if i.high is not None]
    lo = max(lows, key=lambda i: (i.low, i.low_strict)) if lows else None
    hi = min(highs, key=lambda i: (i.high, not i.high_strict)) if highs else None
    return PathInfo(path=key, kind=infos[0].kind, low=lo.low if lo else None, high=hi.high if hi else None,
                    low_strict=lo.low_strict if lo else False, high_strict=hi.high_strict if hi else False,
                    unit=infos[0].unit, description=infos[0].description)


def check_value_all(infos: list[PathInfo], value: Any, where: str) -> Any:
    """:func:`check_value` against every path a key sets (a binding sets several); returned normalised.

    The first refusal names its path, so a value that one of the bound paths
    does not allow is refused with that path's bounds."""
    out = value
    for info in infos:
        out = check_value(info, value, where)
    return out


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


def check_value(info: PathInfo, value: Any, where: str) -> Any:
    """One value checked against the schema's type and bounds of a path; returned normalised.

    ``info`` is the path's :class:`~model.scenario.PathInfo` (:func:`path_info`);
    booleans and text must match exactly, a number becomes ``int`` or ``float``
    as the path's kind (an integer path refuses 1.5) and must lie within the
    schema's bounds.  A refusal is a one-line :class:`SweepError` that starts
    with ``where`` (e.g. ``"sweep.toml: parameters.params.w_risk.low"``) and
    names the value and what was expected.
    """
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


def resolve_scenario_ref(name: str, base_dir: Path | None) -> str:
    """What a file's ``scenario = ...`` names, as ``kyoso run`` takes it.

    A built-in scenario name stays as it is; a path is taken relative to
    ``base_dir`` (the directory of the sweep or search file) and made absolute
    if it exists.  Anything else is returned unchanged, so that loading it
    gives the scenario loader's own error message.
    """
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


def path_info(path: str, scenario: Scenario, where: str) -> PathInfo:
    """The schema's description of one concrete dotted path of ``scenario`` (kind, bounds, unit).

    :func:`model.scenario.describe_path` with its error turned into a one-line
    :class:`SweepError` that starts with ``where``.  A key with a ``*`` or
    ``{a,b}`` is not a path: expand it first (:func:`expand_key`, or
    :meth:`KeyResolver.resolve`).
    """
    try:
        return describe_path(path, scenario)
    except ScenarioError as exc:
        raise SweepError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None


class KeyResolver:
    """Resolves a file's keys (paths or bindings) against a scenario and refuses a path set twice.

    One resolver serves every table of one file (``[parameters]``, ``[fixed]``,
    the policies; a search file's ``[levers]``, ``[uncertainties]``,
    ``[fixed]``): :meth:`resolve` expands a key with :func:`expand_key`,
    describes each concrete path (:func:`path_info`) and records which table
    sets it, so that ``regions.TW-*.political_risk`` under one table and
    ``regions.TW-Hsinchu.political_risk`` under another is refused.
    :attr:`bindings` maps every key resolved so far to its concrete paths and
    :meth:`expand` turns values keyed by the file's keys into concrete overrides.
    """

    def __init__(self, scenario: Scenario, origin: str) -> None:
        self.scenario, self.origin = scenario, origin
        self.bindings: dict[str, tuple[str, ...]] = {}
        self.owner: dict[str, str] = {}           # concrete path → the key (with its section) that sets it

    def expand(self, values: dict[str, Any]) -> dict[str, Any]:
        """Values keyed by the file's keys → the same values on every concrete path (:func:`expand_values`)."""
        return expand_values(values, self.bindings)

    def resolve(self, section: str, key: str, shared: bool = False) -> tuple[PathInfo, list[PathInfo]]:
        """The key's description (bindings: their common kind and unit, the tightest bounds) and each path's.

        ``section`` names the table in messages (``"parameters"``,
        ``"policies.NAME"``); ``shared``: the key is a policy lever, which
        several policies may set.  Raises a one-line :class:`SweepError`
        naming ``ORIGIN: SECTION.KEY`` for a path not in the scenario, a glob
        matching nothing, paths of different kinds or units, or a path another
        key already sets.
        """
        where = f"{self.origin}: {section}.{key}"
        paths = expand_key(key, self.scenario, where)
        infos = [path_info(p, self.scenario, f"{where} ({p})" if is_binding(key) else where) for p in paths]
        self.bindings[key] = tuple(i.path for i in infos)
        for info in infos:
            label = f"{section}.{key}"
            other = self.owner.get(info.path)
            if other is not None and other != label and not (shared and other.startswith("policies.")):
                raise SweepError(f"{where}: sets {info.path}, which {other} sets too; keep each path in one place")
            self.owner.setdefault(info.path, label)
        return _merged_info(key, infos, where), infos


def resolve_sweep(spec: SweepSpec, origin: str = "sweep", base_dir: Path | None = None) -> ResolvedSweep:
    """Check a parsed sweep against the scenario it names (paths, bindings, types, bounds, policies, metrics)."""
    ref = resolve_scenario_ref(spec.scenario, base_dir)
    try:
        scenario = load_scenario(ref)
    except ScenarioError as exc:
        raise SweepError(f"{origin}: scenario = {spec.scenario!r}: {exc}") from None
    keys = KeyResolver(scenario, origin)
    infos: dict[str, PathInfo] = {}
    params: dict[str, Any] = {}
    for path, values in spec.parameters.items():
        where = f"{origin}: parameters.{path}"
        info, each = keys.resolve("parameters", path)
        infos[path] = info
        if isinstance(values, Range):
            if info.kind not in ("int", "float"):
                raise SweepError(f"{where}: a range {{low, high}} needs a numeric parameter, "
                                 f"{info.path} is {info.kind}; list its values with the grid design")
            low = check_value_all(each, values.low, f"{where}.low")
            high = check_value_all(each, values.high, f"{where}.high")
            params[path] = Range(low=low, high=high, log=values.log)
        else:
            normed = [check_value_all(each, v, f"{where}.{i}") for i, v in enumerate(values)]
            if len(set(normed)) != len(normed):
                raise SweepError(f"{where}: a value is listed twice")
            params[path] = normed
    fixed: dict[str, Any] = {}
    for path, value in spec.fixed.items():
        where = f"{origin}: fixed.{path}"
        fixed[path] = check_value_all(keys.resolve("fixed", path)[1], value, where)
    policies, levers = _resolve_policies(spec, keys, scenario, origin)
    known = available_metrics(scenario)
    for i, m in enumerate(spec.metrics):
        if m not in known:
            raise SweepError(f"{origin}: metrics.{i} = {m!r}: unknown metric ({known_hint(m, known)}; "
                             "'kyoso sweep --list-metrics' lists them all)")
    quarters = spec.quarters if spec.quarters is not None else scenario.meta.horizon
    resolved = ResolvedSweep(spec=spec, origin=origin, scenario_ref=ref, scenario=scenario, quarters=quarters,
                             infos=infos, parameters=params, fixed=fixed, scenario_hash=scenario_hash(scenario),
                             policies=policies, levers=levers, bindings=keys.bindings)
    _check_points(resolved)
    _warn_gated(resolved)
    return resolved


def _resolve_policies(spec: SweepSpec, keys: KeyResolver, scenario: Scenario,
                      origin: str) -> tuple[dict[str, dict[str, Any]], dict[str, PathInfo]]:
    """Each policy's effective lever values (a lever a policy leaves out keeps the scenario's value)."""
    given: dict[str, dict[str, Any]] = {}
    levers: dict[str, PathInfo] = {}
    each: dict[str, list[PathInfo]] = {}
    for name, table in spec.policies.items():
        given[name] = {}
        for path, value in table.items():
            where = f"{origin}: policies.{name}.{path}"
            info, concrete = keys.resolve(f"policies.{name}", path, shared=True)
            key = _norm(path)
            if key in given[name]:
                raise SweepError(f"{where}: {key} is set twice in this policy")
            if key in levers and (levers[key].kind != info.kind):
                raise SweepError(f"{where}: {key} is {levers[key].kind} in another policy, here {info.kind}")
            levers.setdefault(key, info)
            each.setdefault(key, concrete)
            given[name][key] = check_value_all(concrete, value, where)
    effective: dict[str, dict[str, Any]] = {}
    for name in spec.policies:
        effective[name] = {}
        for key, info in levers.items():
            if key in given[name]:
                effective[name][key] = given[name][key]
                continue
            current = [value_at(i.path, scenario) for i in each[key]]
            if any(v != current[0] for v in current):
                raise SweepError(f"{origin}: policies.{name}: does not set {key}, whose scenario values differ "
                                 f"across the paths it binds; set {key} in every policy")
            effective[name][key] = check_value(info, current[0], f"{origin}: policies.{name}.{key}")
    return effective, levers


class GatedParameterWarning(UserWarning):
    """A swept or fixed parameter cannot act in the sweep's scenario (model.scenario.gating)."""


def _warn_gated(sweep: ResolvedSweep) -> None:
    """Warn once per swept, fixed, bound or lever path that is gated to nothing.

    With policies each policy's scenario is checked; a path gated under some
    policies only is named with them (a lever's strength under the policy
    that switches the lever off, say).
    """
    swept = [p for k in sweep.parameters for p in sweep.bindings.get(k, (k,))]
    fixed = [p for k in sweep.fixed for p in sweep.bindings.get(k, (k,))]
    names = sweep.policy_names or [None]
    hits: dict[str, tuple[str, list[str]]] = {}
    for name in names:
        levers = sweep.spec.policies.get(name, {}) if name is not None else {}
        given = sweep.overrides({}, name)
        scenario = load_scenario(sweep.scenario, **given) if given else sweep.scenario
        paths = [*swept, *fixed, *[p for k in levers for p in sweep.bindings.get(k, (k,))]]
        for g in gated_parameters(scenario, paths, varied=swept):
            hits.setdefault(g.path, (g.reason, []))[1].append(name or "")
    for path, (reason, under) in hits.items():
        if len(under) == len(names):
            text = f"{path} is gated to nothing: {reason}"
        else:
            text = f"{path} is gated to nothing under policy {', '.join(under)}: {reason}"
        # Reported at the sweep file's line that names the parameter (shown beneath the warning).
        warnings.warn_explicit(text, GatedParameterWarning, sweep.origin, _line_of(sweep.origin, path))


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
        for policy in sweep.policy_names or [None]:
            try:
                load_scenario(sweep.scenario, **sweep.overrides(design.points[idx], policy))
            except ScenarioError as exc:
                under = f" under policy {policy}" if policy is not None else ""
                raise SweepError(f"{sweep.origin}: design point {idx} ({_describe_point(design.points[idx])})"
                                 f"{under}: {str(exc).split(': ', 1)[-1]}") from None


def _describe_point(point: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in point.items())


def read_toml(path: Path, error: type[Exception], kind: str) -> dict:
    """A TOML file as data; ``error`` (one line naming the file) when it is missing, unreadable or
    malformed.  Sweep and search files are read by this."""
    if not path.is_file():
        raise error(f"{kind} {str(path)!r}: not found")
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise error(f"{path}: malformed TOML: {exc}") from None
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror}") from None


def load_sweep(path: str | Path) -> ResolvedSweep:
    """Read, validate and resolve a sweep file; raises :class:`SweepError` (one line)."""
    path = Path(path)
    origin = str(path)
    spec = parse_sweep(read_toml(path, SweepError, "sweep file"), origin)
    return resolve_sweep(spec, origin, base_dir=path.resolve().parent)
