"""EMA Workbench adapter: kyoso as a model EMA's evaluators can run (``pip install 'kyoso[ema]'``).

`EMA Workbench <https://emaworkbench.readthedocs.io>`_ (3.0) is the
exploratory-modelling toolkit of the field: samplers over uncertainties and
levers, evaluators (sequential, multiprocessing, MPI), scenario discovery
(PRIM, CART) and robust many-objective search.  Rather than re-implement
those, kyoso hands EMA a model object::

    from ema_workbench import MultiprocessingEvaluator
    from experiments.ema import make_ema_model

    model = make_ema_model(
        "baseline",
        uncertainties={"regions.TW-*.political_risk": (0.05, 0.6),        # one value drives all TW regions
                       "params.w_agglomeration": (0.1, 5.0)},
        levers={"cocreation.talent.enabled": [False, True]},
        outcomes={"resilience": "mean", "share_TW": "final"},
        quarters=32, replications=3, seed=2025)
    with MultiprocessingEvaluator(model, n_processes=2) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=60, policies=2)

What the adapter does that a hand-written wrapper has to:

* **Parameters from the schema.**  Each key is a dotted parameter path (or a
  binding such as ``regions.TW-*.political_risk``, expanded by
  :func:`experiments.sweepfile.expand_key`); its kind comes from
  :func:`model.scenario.describe_path`: ``(low, high)`` of an int path →
  ``IntegerParameter``, of a float path → ``RealParameter``; a list of values
  → ``CategoricalParameter`` (a bool path → ``BooleanParameter``).  Every
  bound and value is checked against the schema's bounds; a bad one is a
  one-line :class:`~experiments.errors.UserError` naming the key.
* **Identifiers.**  EMA needs Python identifiers as parameter names;
  :func:`identifier` maps ``regions.TW-Hsinchu.political_risk`` to
  ``regions__TW_Hsinchu__political_risk``.  The model keeps the mapping both
  ways (``model.kyoso_keys``: identifier → key, ``model.kyoso_identifiers``:
  key → identifier).  The values reach the model under the concrete paths
  (EMA's ``variable_name``), so one sampled value can drive several paths.
* **Outcomes** are metrics reduced to one number per run by kyoso's own
  reducer (:func:`experiments.sensitivity.reduce_runs`: ``final``, ``mean``,
  ``max``, ``min``, a step number or a quarter such as ``2030Q1``), as
  ``ScalarOutcome``s (the mean over replications); with
  ``per_replication=True`` also an ``ArrayOutcome`` ``<name>_replications``.
* **Replications and seeds.**  The model is an EMA ``ReplicatorModel``; the
  seed of each (scenario, replication) comes from kyoso's seed tree
  (:func:`run_seed`), as a Python ``int`` (a ``numpy.int64`` seed makes Mesa
  raise ``TypeError``).  A scenario built from a sweep (:func:`sweep_to_ema`)
  carries its design point and gets exactly the seed ``kyoso sweep`` gives
  that point; a scenario EMA sampled itself gets a seed from branch 2 of the
  tree keyed by its values (:func:`scenario_seed`), so it is reproducible
  and the same under every policy (common random numbers).
* **The run** is :func:`experiments.sweep.execute_run`, the function every
  ``kyoso sweep`` backend runs, so a value from EMA is bit-identical to the
  one the sweep's store holds for the same point and seed.

:func:`sweep_to_ema` turns a sweep file (with its ``[policies]``) into this
model plus EMA ``Sample``s for its design points and policies, so EMA runs
exactly the points and seeds of ``kyoso sweep``; :func:`store_outcomes`
reduces a sweep's store the same way for comparison.

Why EMA and not a kyoso-only search loop: EMA is maintained by the TU Delft
group that develops the methods (PRIM, robust optimisation with platypus),
its evaluators already speak ``multiprocessing`` and MPI, and its analysis
modules take exactly the ``(experiments, outcomes)`` pair this model yields.
"""

from __future__ import annotations

import hashlib
import io
import json
import keyword
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from experiments.design import SEED_MASK, Range
from experiments.errors import UserError

if TYPE_CHECKING:
    from experiments.sweepfile import ResolvedSweep

__all__ = [
    "identifier",
    "run_seed",
    "scenario_seed",
    "make_ema_model",
    "sweep_to_ema",
    "EMAStudy",
    "store_outcomes",
    "POINT_KEY",
    "REPLICATION_KEY",
]

#: The key of a Sample that names its kyoso design point (set by :func:`sweep_to_ema`).
POINT_KEY = "kyoso_point"
#: The key each EMA replication carries: the replication's number 0…R−1.
REPLICATION_KEY = "kyoso_replication"
_KINDS = {"info": 0, "maximize": 1, "max": 1, "minimize": -1, "min": -1}


def _ema() -> Any:
    """The ``ema_workbench`` module, or a one-line UserError naming the extra to install."""
    import warnings

    try:
        with warnings.catch_warnings():     # "ipyparallel not installed": kyoso does not use that evaluator
            warnings.filterwarnings("ignore", message="ipyparallel not installed")
            import ema_workbench
    except ImportError as exc:
        raise UserError(f"the EMA adapter needs EMA Workbench ({exc}): pip install 'kyoso[ema]'") from None
    return ema_workbench


# ------------------------------------------------------------------ names
def identifier(key: str) -> str:
    """A Python identifier for a dotted parameter path or binding (EMA's names must be identifiers).

    Dots become ``__``; in each part, a run of characters other than ASCII
    letters, digits and ``_`` (``-``, ``*``, ``{``, …) becomes one ``_`` and is dropped at
    the part's ends (``regions.TW-*.political_risk`` →
    ``regions__TW__political_risk``); a leading digit or a Python keyword
    gets a ``p_`` prefix.  Not one-to-one in general (``TW-A`` and
    ``TW_A`` map alike): :func:`make_ema_model` refuses such a pair.
    """
    text = "__".join(re.sub(r"[^0-9A-Za-z_]+", "_", part).strip("_") or "_" for part in key.replace("__", ".").split("."))
    if not text or text[0].isdigit() or keyword.iskeyword(text):
        text = "p_" + text
    return text


# ------------------------------------------------------------------ seeds
def _seed_of(child: np.random.SeedSequence) -> int:
    """A seed sequence child as the 63-bit ``int`` ``ChipModel(rng=…)`` takes (as :func:`plan_runs` does)."""
    state = child.generate_state(2, dtype=np.uint32)
    return ((int(state[0]) << 32) | int(state[1])) & SEED_MASK


def run_seed(entropy: int, point: int, replication: int, replications: int, common_seeds: bool = False) -> int:
    """The seed ``kyoso sweep`` gives design point ``point``, replication ``replication``.

    The sweep's runs child has spawn key ``(1,)``; its child ``k`` (spawn key
    ``(1, k)``) with ``k = point × replications + replication`` seeds that
    run (``k = replication`` with ``common_seeds``), under every policy
    (:func:`experiments.design.plan_runs`).  A ``SeedSequence`` built with
    that spawn key is that child, so no plan is needed.
    """
    if not 0 <= replication < replications:
        raise UserError(f"replication {replication}: expected 0…{replications - 1}")
    k = replication if common_seeds else point * replications + replication
    return _seed_of(np.random.SeedSequence(int(entropy), spawn_key=(1, int(k))))


def scenario_seed(entropy: int, values: Mapping[str, Any], replication: int) -> int:
    """The seed of a scenario that is no sweep's design point (one EMA sampled): branch 2 of the tree.

    Spawn key ``(2, h₀, h₁, h₂, h₃, replication)`` where ``h`` are four 32-bit
    words of the SHA-256 of the scenario's values (keys sorted, JSON): the
    same values get the same seeds in any order and under every policy.
    """
    text = json.dumps({k: _plain(v) for k, v in sorted(values.items())}, sort_keys=True, default=str)
    words = np.frombuffer(hashlib.sha256(text.encode()).digest()[:16], dtype=">u4")
    return _seed_of(np.random.SeedSequence(int(entropy), spawn_key=(2, *(int(w) for w in words), int(replication))))


def _plain(value: Any) -> Any:
    """numpy scalars as Python ones (Mesa and pydantic want ``int``/``float``/``bool``/``str``)."""
    if isinstance(value, np.generic):
        return value.item()
    return value


# ------------------------------------------------------------------ the model
def _ema_base() -> type:
    return _ema().ReplicatorModel


def _not_called(**_: Any) -> None:  # pragma: no cover - KyosoModel.run_experiment replaces BaseModel's call
    raise RuntimeError("KyosoModel runs experiments itself")


class _KyosoModelMixin:
    """What :class:`KyosoModel` adds to EMA's ``ReplicatorModel`` (kept apart so the module imports without EMA)."""

    kyoso_scenario: str
    kyoso_quarters: int
    kyoso_fixed: dict[str, Any]
    kyoso_seed: int
    kyoso_common_seeds: bool
    kyoso_replications: int
    kyoso_metrics: tuple[str, ...]
    kyoso_outcomes: dict[str, tuple[str, str | int]]
    kyoso_keys: dict[str, str]
    kyoso_identifiers: dict[str, str]
    kyoso_paths: dict[str, tuple[str, ...]]
    _kyoso_point: int | None = None
    _kyoso_values: dict[str, Any] | None = None

    def run_model(self, scenario: Any, policy: Any, constants: Any) -> None:
        """Note the scenario's design point (or its values) for the seeds, then let EMA run the replications."""
        self._kyoso_point = int(scenario[POINT_KEY]) if POINT_KEY in scenario else None
        self._kyoso_values = {k: scenario[k] for k in self.kyoso_keys if k in scenario}
        super().run_model(scenario, policy, constants)  # type: ignore[misc]

    def kyoso_seed_for(self, replication: int) -> int:
        """The seed of this scenario's replication (see :func:`run_seed` and :func:`scenario_seed`)."""
        if self._kyoso_point is not None:
            return run_seed(self.kyoso_seed, self._kyoso_point, replication, self.kyoso_replications,
                            self.kyoso_common_seeds)
        return scenario_seed(self.kyoso_seed, self._kyoso_values or {}, replication)

    def kyoso_overrides(self, experiment: Mapping[str, Any]) -> dict[str, Any]:
        """The run's ``--set`` overrides: the fixed ones, then every parameter's concrete paths."""
        out = dict(self.kyoso_fixed)
        for paths in self.kyoso_paths.values():
            for path in paths:
                if path in experiment:
                    out[path] = _plain(experiment[path])
        return out

    def run_experiment(self, experiment: Mapping[str, Any]) -> dict[str, float]:
        """One replication: ``execute_run`` (as ``kyoso sweep``), reduced to the outcomes."""
        from experiments.sensitivity import reduce_runs
        from experiments.sweep import RunTask, execute_run

        replication = int(experiment[REPLICATION_KEY])
        seed = self.kyoso_seed_for(replication)
        overrides = self.kyoso_overrides(experiment)
        point = -1 if self._kyoso_point is None else self._kyoso_point
        task = RunTask(run_id=f"ema-p{point}-r{replication}", index=0, point=point, replication=replication,
                       seed=seed, scenario_ref=self.kyoso_scenario, quarters=self.kyoso_quarters,
                       parameters={}, fixed=overrides, metrics=self.kyoso_metrics)
        outcome = execute_run(task)
        if not outcome.ok:
            from experiments.design import reproduce_command

            raise RuntimeError(f"kyoso run failed: {outcome.error} (repeat it with: "
                               f"{reproduce_command(self.kyoso_scenario, self.kyoso_quarters, seed, overrides)})")
        table = pd.read_parquet(io.BytesIO(outcome.payload))
        out: dict[str, float] = {}
        for name, (metric, at) in self.kyoso_outcomes.items():
            out[name] = float(reduce_runs(table, [metric], at)[metric].iloc[0])
        return out


_MODEL_CLASS: type | None = None


def _model_class() -> type:
    """``KyosoModel``: EMA's ``ReplicatorModel`` with kyoso's runs (created on first use; picklable by name)."""
    global _MODEL_CLASS, KyosoModel
    if _MODEL_CLASS is None:
        _MODEL_CLASS = type("KyosoModel", (_KyosoModelMixin, _ema_base()), {
            "__module__": __name__,
            "__doc__": "An EMA ``ReplicatorModel`` whose experiments are kyoso runs (see :func:`make_ema_model`).",
        })
        KyosoModel = _MODEL_CLASS
    return _MODEL_CLASS


def __getattr__(name: str) -> Any:
    if name == "KyosoModel":       # ``experiments.ema.KyosoModel`` (and unpickling) creates the class on demand
        return _model_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# ------------------------------------------------------------------ building
def _scenario_ref(scenario: str | Path) -> str:
    """A built-in name, or the absolute path of a TOML file (workers may run elsewhere)."""
    from model.scenario import builtin_scenarios

    if isinstance(scenario, str) and scenario in builtin_scenarios():
        return scenario
    path = Path(scenario)
    if not path.is_file():
        raise UserError(f"scenario {str(scenario)!r}: not a built-in scenario ({', '.join(builtin_scenarios())}) "
                        "nor a TOML file")
    return str(path.resolve())


def _concrete(key: str, scenario: Any, where: str) -> list[tuple[str, Any]]:
    """The concrete paths a key sets with the schema's description of each (one-line UserError if none)."""
    from experiments.sweepfile import expand_key
    from model.scenario import ScenarioError, describe_path

    out = []
    for path in expand_key(key, scenario, where):
        try:
            out.append((path, describe_path(path, scenario)))
        except ScenarioError as exc:
            raise UserError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None
    return out


def _checked(infos: Sequence[Any], value: Any, where: str) -> Any:
    """``value`` checked against the schema's type and bounds of every path (the sweep file's own check)."""
    from experiments.sweepfile import check_value

    out = value = _plain(value)
    for info in infos:
        out = check_value(info, value, where)
    return out


def _parameter(ident: str, key: str, spec: Any, paths: list[tuple[str, Any]], where: str) -> Any:
    """One EMA parameter for ``key`` from its range or values and the schema."""
    ema = _ema()
    infos = [info for _, info in paths]
    kinds = {info.kind for info in infos}
    if len(kinds) > 1:
        raise UserError(f"{where}: the paths it binds are of different kinds ({', '.join(sorted(kinds))})")
    kind = kinds.pop()
    names = [p for p, _ in paths]
    if isinstance(spec, Range):
        spec = (spec.low, spec.high)
    if isinstance(spec, tuple):
        if len(spec) != 2:
            raise UserError(f"{where} = {spec!r}: expected (low, high) or a list of values")
        if kind not in ("int", "float"):
            raise UserError(f"{where} = {spec!r}: a range (low, high) needs a numeric parameter, "
                            f"{names[0]} is {kind}; give a list of values")
        low, high = (_checked(infos, v, f"{where}.{end}") for v, end in zip(spec, ("low", "high")))
        if not low < high:
            raise UserError(f"{where} = {spec!r}: low must be below high")
        if kind == "int":
            return ema.IntegerParameter(ident, int(low), int(high), variable_name=names)
        return ema.RealParameter(ident, float(low), float(high), variable_name=names)
    if isinstance(spec, (str, bytes)) or not isinstance(spec, Iterable):
        raise UserError(f"{where} = {spec!r}: expected (low, high) or a list of values")
    values = [_checked(infos, v, f"{where}.{i}") for i, v in enumerate(spec)]
    if len(values) < 2:
        raise UserError(f"{where} = {spec!r}: give at least two values (a single value belongs in fixed)")
    if len(set(values)) != len(values):
        raise UserError(f"{where} = {spec!r}: a value is listed twice")
    if kind == "bool":
        return ema.BooleanParameter(ident, variable_name=names)
    return ema.CategoricalParameter(ident, values, variable_name=names)


def _outcome_specs(outcomes: Mapping[str, Any], known: list[str]) -> dict[str, tuple[str, str | int, int]]:
    """``{name: (metric, at, kind)}`` from ``{metric: at}`` or ``{name: (metric, at[, kind])}``."""
    from experiments.sensitivity import parse_at
    from model.scenario import known_hint

    if not outcomes:
        raise UserError("outcomes: give at least one {metric: reducer}")
    out = {}
    for name, spec in outcomes.items():
        where = f"outcomes[{name!r}]"
        metric, at, kind = name, spec, "info"
        if isinstance(spec, (tuple, list)):
            if len(spec) not in (2, 3):
                raise UserError(f"{where} = {spec!r}: expected a reducer, or (metric, reducer[, kind])")
            metric, at = spec[0], spec[1]
            kind = spec[2] if len(spec) == 3 else "info"
        if not isinstance(name, str) or not name.isidentifier():
            raise UserError(f"{where}: an outcome name must be a Python identifier (EMA's rule)")
        if metric not in known:
            raise UserError(f"{where}: unknown metric {metric!r} ({known_hint(metric, known)})")
        try:
            at = parse_at(at)
        except UserError as exc:
            raise UserError(f"{where}: {exc}") from None
        if kind not in _KINDS:
            raise UserError(f"{where}: kind {kind!r}: expected one of {', '.join(_KINDS)}")
        out[name] = (metric, at, _KINDS[kind])
    return out


def make_ema_model(scenario: str | Path = "baseline", uncertainties: Mapping[str, Any] | None = None,
                   levers: Mapping[str, Any] | None = None, outcomes: Mapping[str, Any] | None = None, *,
                   quarters: int | None = None, replications: int = 1, seed: int = 0, common_seeds: bool = False,
                   fixed: Mapping[str, Any] | None = None, name: str = "kyoso",
                   per_replication: bool = False) -> Any:
    """An EMA ``ReplicatorModel`` whose experiments are kyoso runs of ``scenario``.

    ``uncertainties`` and ``levers``: dotted path (or binding) → ``(low,
    high)`` or a list of values; ``outcomes``: metric → reducer (``"final"``,
    ``"mean"``, ``"max"``, ``"min"``, a step or a quarter) or outcome name →
    ``(metric, reducer[, "maximize"|"minimize"|"info"])``; ``quarters``: run
    length (default the scenario's horizon); ``replications``: runs per
    experiment (outcomes are their mean); ``seed``: the root of kyoso's seed
    tree; ``common_seeds``: replication r uses the same seed at every design
    point (as in a sweep file); ``fixed``: path → value set in every run;
    ``per_replication``: also an ``ArrayOutcome`` ``<name>_replications``
    with each replication's value.  Raises a one-line UserError for anything
    the schema refuses.
    """
    from experiments.sweepfile import available_metrics
    from model.scenario import ScenarioError, load_scenario

    ema = _ema()
    ref = _scenario_ref(scenario)
    try:
        base = load_scenario(ref)
    except ScenarioError as exc:
        raise UserError(f"scenario {str(scenario)!r}: {exc}") from None
    if not str(name).isidentifier():
        raise UserError(f"name = {name!r}: EMA needs a Python identifier")
    if isinstance(replications, bool) or not isinstance(replications, (int, np.integer)) or replications < 1:
        raise UserError(f"replications = {replications!r}: expected a whole number ≥ 1")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= int(seed) <= SEED_MASK:
        raise UserError(f"seed = {seed!r}: expected a whole number in 0…2^63−1")
    if quarters is None:
        quarters = base.meta.horizon
    if isinstance(quarters, bool) or not isinstance(quarters, (int, np.integer)) or not 1 <= quarters <= 400:
        raise UserError(f"quarters = {quarters!r}: expected a whole number in 1…400")
    uncertainties, levers = dict(uncertainties or {}), dict(levers or {})
    if not uncertainties and not levers:
        raise UserError("uncertainties, levers: give at least one parameter to vary")
    fixed_concrete: dict[str, Any] = {}
    for key, value in (fixed or {}).items():
        where = f"fixed[{key!r}]"
        paths = _concrete(key, base, where)
        checked = _checked([i for _, i in paths], value, where)
        fixed_concrete.update({p: checked for p, _ in paths})
    specs = _outcome_specs(outcomes or {}, available_metrics(base))

    cls = _model_class()
    model = cls(name, function=_not_called)
    keys: dict[str, str] = {}
    idents: dict[str, str] = {}
    paths_of: dict[str, tuple[str, ...]] = {}
    seen: dict[str, str] = {}
    groups = {"uncertainties": [], "levers": []}
    for group, table in (("uncertainties", uncertainties), ("levers", levers)):
        for key, spec in table.items():
            where = f"{group}[{key!r}]"
            ident = identifier(key)
            if ident in keys:
                raise UserError(f"{where}: its identifier {ident!r} is also {keys[ident]!r}'s; rename one")
            if ident in (POINT_KEY, REPLICATION_KEY) or hasattr(model, ident):
                raise UserError(f"{where}: its identifier {ident!r} is reserved by the model")
            concrete = _concrete(key, base, where)
            for path, _ in concrete:
                if path in seen:
                    raise UserError(f"{where}: {path} is also set by {seen[path]}")
                if path in fixed_concrete:
                    raise UserError(f"{where}: {path} is also in fixed")
                seen[path] = where
            groups[group].append(_parameter(ident, key, spec, concrete, where))
            keys[ident], idents[key], paths_of[ident] = key, ident, tuple(p for p, _ in concrete)
    model.uncertainties = groups["uncertainties"]
    model.levers = groups["levers"]
    outs = []
    for out_name, (_, _, kind) in specs.items():
        outs.append(ema.ScalarOutcome(out_name, kind=kind, variable_name=out_name, function=np.mean))
        if per_replication:
            outs.append(ema.ArrayOutcome(f"{out_name}_replications", variable_name=out_name, function=np.asarray))
    model.outcomes = outs
    model.replications = [{REPLICATION_KEY: r} for r in range(int(replications))]
    model.kyoso_scenario = ref
    model.kyoso_quarters = int(quarters)
    model.kyoso_fixed = fixed_concrete
    model.kyoso_seed = int(seed)
    model.kyoso_common_seeds = bool(common_seeds)
    model.kyoso_replications = int(replications)
    model.kyoso_metrics = tuple(dict.fromkeys(m for m, _, _ in specs.values()))
    model.kyoso_outcomes = {n: (m, at) for n, (m, at, _) in specs.items()}
    model.kyoso_keys = keys
    model.kyoso_identifiers = idents
    model.kyoso_paths = paths_of
    return model


# ------------------------------------------------------------------ sweeps
@dataclass
class EMAStudy:
    """A sweep as EMA sees it: the model, one ``Sample`` per design point and one per policy.

    ``perform(evaluator)`` runs every design point under every policy (EMA's
    full factorial); :meth:`table` turns EMA's result into one row per
    (point, policy) with the outcome columns, comparable with
    :func:`store_outcomes` of the sweep's store.
    """

    model: Any
    scenarios: list[Any]
    policies: list[Any]
    sweep: Any = field(repr=False, default=None)

    def perform(self, evaluator: Any, **kwargs: Any) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
        """``evaluator.perform_experiments`` over these scenarios and policies."""
        return evaluator.perform_experiments(scenarios=self.scenarios, policies=self.policies or 0, **kwargs)

    def table(self, experiments: pd.DataFrame, outcomes: Mapping[str, np.ndarray]) -> pd.DataFrame:
        """``point``, ``policy`` (None without policies), then one column per outcome (arrays as lists)."""
        points = [int(str(s).lstrip("p")) for s in experiments["scenario"]]
        has_policies = bool(self.policies)
        rows = {"point": points,
                "policy": [str(p) if has_policies else None for p in experiments["policy"]]}
        for name, values in outcomes.items():
            arr = np.asarray(values)
            rows[name] = list(arr) if arr.ndim > 1 else arr
        return pd.DataFrame(rows).sort_values(["point", "policy"], kind="stable").reset_index(drop=True)


def _sweep(sweep: ResolvedSweep | str | Path) -> ResolvedSweep:
    if isinstance(sweep, (str, Path)):
        from experiments.sweepfile import load_sweep

        return load_sweep(sweep)
    return sweep


def sweep_to_ema(sweep: ResolvedSweep | str | Path, outcomes: Mapping[str, Any] | None = None, *,
                 per_replication: bool = False, name: str | None = None) -> EMAStudy:
    """The sweep ``sweep`` (a file or :func:`~experiments.sweepfile.load_sweep`'s result) for EMA.

    The swept parameters become uncertainties (ranges → real or integer
    parameters, lists → categorical), the policies' levers become levers
    (booleans → ``BooleanParameter``, others → categorical over the values the
    policies give), ``fixed`` stays fixed; each design point is a ``Sample``
    named ``p<point>`` that carries its point number, so its replications get
    the sweep's seeds; each policy a ``Sample`` named after it.  ``outcomes``
    defaults to every metric of the sweep at ``"final"``.  (EMA 3.0 has no
    ``Scenario``/``Policy`` classes any more: both are ``Sample``s.)  A range
    with ``log = true`` becomes a plain ``RealParameter`` (EMA has no log
    scale): the sweep's own points keep their values, but new points EMA
    samples from this model are uniform on the linear scale.
    """
    from experiments.design import build_design

    sweep = _sweep(sweep)
    spec = sweep.spec
    policies: dict[str, dict[str, Any]] = dict(getattr(sweep, "policies", {}) or {})
    uncertainties = {key: values for key, values in sweep.parameters.items()}
    lever_values: dict[str, list[Any]] = {}
    for levers in policies.values():
        for key, value in levers.items():
            lever_values.setdefault(key, [])
            if value not in lever_values[key]:
                lever_values[key].append(value)
    fixed = dict(sweep.fixed)
    varied = {}
    for key, values in lever_values.items():
        if len(values) == 1:         # the same in every policy: a fixed value
            fixed[key] = values[0]
        elif all(isinstance(v, bool) for v in values):
            varied[key] = [False, True]
        else:
            varied[key] = values
    model = make_ema_model(sweep.scenario_ref, uncertainties=uncertainties, levers=varied,
                           outcomes=outcomes or {m: "final" for m in sweep.metrics}, quarters=sweep.quarters,
                           replications=spec.replications, seed=spec.seed, common_seeds=spec.common_seeds,
                           fixed=fixed, name=name or re.sub(r"\W", "_", spec.name) or "kyoso",
                           per_replication=per_replication)
    sample = _ema().Sample
    design = build_design(sweep)
    width = len(str(max(design.n_points - 1, 0)))
    idents = model.kyoso_identifiers
    scenarios = [sample(name=f"p{p:0{width}d}", **{POINT_KEY: p}, **{idents[k]: v for k, v in point.items()})
                 for p, point in enumerate(design.points)]
    pols = [sample(name=pname, **{idents[k]: levers[k] for k in varied}) for pname, levers in policies.items()]
    return EMAStudy(model=model, scenarios=scenarios, policies=pols, sweep=sweep)


def store_outcomes(root: str | Path, outcomes: Mapping[str, Any], *, per_replication: bool = False) -> pd.DataFrame:
    """A sweep store reduced as the EMA model reduces: one row per (point, policy), the mean over replications.

    ``outcomes`` as for :func:`make_ema_model`; with ``per_replication`` also
    ``<name>_replications`` (the values in replication order).  The same
    reducer (:func:`experiments.sensitivity.reduce_runs`) and the same mean
    (``numpy.mean`` over the replications in order) as the model, so equal
    runs give equal numbers.
    """
    from experiments.sensitivity import reduce_runs
    from experiments.store import load_results, read_manifest

    manifest = read_manifest(root)
    specs = _outcome_specs(outcomes, list(manifest["metrics"]))
    table = load_results(root)
    runs = pd.DataFrame(manifest["runs"])
    if "policy" not in runs:
        runs["policy"] = None
    runs = runs.set_index("run_id")[["point", "policy", "replication"]]
    per_run = None
    for name, (metric, at, _) in specs.items():
        reduced = reduce_runs(table, [metric], at, by="run_id").set_index("run_id")[metric].rename(name)
        per_run = reduced.to_frame() if per_run is None else per_run.join(reduced)
    merged = runs.join(per_run, how="inner").sort_values(["point", "policy", "replication"], kind="stable")
    rows = []
    for (point, policy), grp in merged.groupby(["point", "policy"], sort=False, dropna=False):
        row: dict[str, Any] = {"point": int(point), "policy": None if pd.isna(policy) else policy}
        for name in specs:
            values = grp[name].to_numpy(dtype=float)
            row[name] = np.mean(values)
            if per_replication:
                row[f"{name}_replications"] = values
        rows.append(row)
    return pd.DataFrame(rows).sort_values(["point", "policy"], kind="stable").reset_index(drop=True)
