"""The EMA Workbench adapter (experiments/ema.py): parameters from the schema, identifiers, seeds from
kyoso's seed tree, and EMA's results equal to ``kyoso sweep``'s for the same points, policies and seeds."""

from __future__ import annotations

import keyword
import sys
import textwrap
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("ema_workbench", reason="EMA Workbench is the 'ema' extra: pip install 'kyoso[ema]'")

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import ema_workbench as ema

from experiments.design import build_design, plan_runs
from experiments.ema import (
    POINT_KEY,
    identifier,
    make_ema_model,
    run_seed,
    scenario_seed,
    store_outcomes,
    sweep_to_ema,
)
from experiments.errors import UserError
from experiments.runner import metrics_table, run_scenario
from experiments.sweepfile import load_sweep

SWEEP = """\
name = "ema_check"
scenario = "baseline"
quarters = 8
replications = 2
seed = 11
design = "lhs"
samples = 20
metrics = ["hhi_country", "active_sites", "share_TW"]

[parameters]
"regions.TW-*.political_risk" = {{ low = 0.05, high = 0.6 }}
"params.w_agglomeration" = {{ low = 0.1, high = 5.0, log = true }}
{extra}
"""
POLICIES = """
[policies.status_quo]
"cocreation.talent.enabled" = false

[policies.talent]
"cocreation.talent.enabled" = true
"""
OUTCOMES = {"hhi_country": "mean", "active_sites": "final", "share_TW": "max"}


def _sweep_file(tmp_path, extra: str = POLICIES, **changes: str):
    text = SWEEP.format(extra=extra)
    for key, value in changes.items():
        text = text.replace(f"{key} = ", f"{key} = {value}\n# was: ", 1)
    path = tmp_path / "sweep.toml"
    path.write_text(text)
    return path


# ------------------------------------------------------------------ names
def test_identifier_examples():
    assert identifier("regions.TW-Hsinchu.political_risk") == "regions__TW_Hsinchu__political_risk"
    assert identifier("regions.TW-*.political_risk") == "regions__TW__political_risk"
    assert identifier("governments__US__subsidy_rate") == "governments__US__subsidy_rate"
    assert identifier("firms.rapidus.sites.0.online") == "firms__rapidus__sites__0__online"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=4).map(".".join))
def test_identifier_is_always_a_python_identifier(path):
    name = identifier(path)
    assert name.isidentifier() and not keyword.iskeyword(name)


def test_model_maps_keys_both_ways_and_binds_paths():
    model = make_ema_model("baseline", uncertainties={"regions.TW-*.political_risk": (0.05, 0.6)},
                           levers={"cocreation.talent.enabled": [False, True]}, outcomes={"hhi_country": "final"},
                           quarters=4)
    assert model.kyoso_keys == {"regions__TW__political_risk": "regions.TW-*.political_risk",
                                "cocreation__talent__enabled": "cocreation.talent.enabled"}
    assert model.kyoso_identifiers == {v: k for k, v in model.kyoso_keys.items()}
    tw = model.kyoso_paths["regions__TW__political_risk"]
    assert len(tw) == 3 and all(p.startswith("regions.TW-") for p in tw)
    assert tuple(model.uncertainties["regions__TW__political_risk"].variable_name) == tw


# ------------------------------------------------------------------ parameters from the schema
def test_parameter_kinds_follow_the_schema():
    model = make_ema_model("baseline",
                           uncertainties={"params.max_projects_per_quarter": (1, 6),        # int
                                          "params.w_subsidy": (0.5, 2.0),                   # float
                                          "params.w_labour": [0.5, 1.0, 2.0]},              # float values
                           levers={"cocreation.talent.enabled": [True, False],              # bool
                                   "meta.unstarted_sites": ["firms", "none"]},              # text
                           outcomes={"hhi_country": "final"}, quarters=4)
    kinds = {p.name: type(p) for p in [*model.uncertainties, *model.levers]}
    assert kinds == {"params__max_projects_per_quarter": ema.IntegerParameter,
                     "params__w_subsidy": ema.RealParameter,
                     "params__w_labour": ema.CategoricalParameter,
                     "cocreation__talent__enabled": ema.BooleanParameter,
                     "meta__unstarted_sites": ema.CategoricalParameter}
    assert (model.uncertainties["params__max_projects_per_quarter"].lower_bound,
            model.uncertainties["params__max_projects_per_quarter"].upper_bound) == (1, 6)


@pytest.mark.parametrize("kwargs, message", [
    ({"uncertainties": {"params.w_subsidy": (-1.0, 2.0)}}, "outside the schema's bounds"),
    ({"uncertainties": {"params.w_subsidy": (2.0, 1.0)}}, "low must be below high"),
    ({"uncertainties": {"params.no_such_weight": (0.0, 1.0)}}, "uncertainties['params.no_such_weight']"),
    ({"uncertainties": {"regions.XX-*.political_risk": (0.0, 1.0)}}, "matches no key"),
    ({"uncertainties": {"params.max_projects_per_quarter": (1.5, 6)}}, "expected a whole number"),
    ({"levers": {"cocreation.talent.enabled": (0, 1)}}, "needs a numeric parameter"),
    ({"levers": {"params.w_subsidy": [1.0]}}, "at least two values"),
    ({"levers": {"params.w_subsidy": [1.0, 1.0]}}, "listed twice"),
    ({"uncertainties": {"params.w_subsidy": (0.5, 2.0)}, "levers": {"params.w_subsidy": [1.0, 2.0]}},
     "identifier 'params__w_subsidy' is also"),
    ({"uncertainties": {"params.w_subsidy": (0.5, 2.0)}, "fixed": {"params.w_subsidy": 1.0}}, "also in fixed"),
    ({"uncertainties": {"params.w_subsidy": (0.5, 2.0)}, "outcomes": {"no_metric": "final"}}, "unknown metric"),
    ({"uncertainties": {"params.w_subsidy": (0.5, 2.0)}, "outcomes": {"hhi_country": "median"}}, "--at"),
    ({"uncertainties": {"params.w_subsidy": (0.5, 2.0)}, "outcomes": {"hhi": ("hhi_country", "final", "up")}},
     "kind 'up'"),
    ({"uncertainties": {"params.w_subsidy": (0.5, 2.0)}, "replications": 0}, "replications = 0"),
    ({"uncertainties": {"params.w_subsidy": (0.5, 2.0)}, "seed": np.int64(-3)}, "seed = "),
    ({"uncertainties": {"params.w_subsidy": (0.5, 2.0)}, "scenario": "no_such_scenario"}, "no_such_scenario"),
    ({}, "give at least one parameter"),
])
def test_bad_input_is_one_line_naming_the_field(kwargs, message):
    kwargs = {"outcomes": {"hhi_country": "final"}, "quarters": 4} | kwargs
    with pytest.raises(UserError) as err:
        make_ema_model(kwargs.pop("scenario", "baseline"), **kwargs)
    text = str(err.value)
    assert message in text and "\n" not in text


def test_missing_ema_is_a_user_error(monkeypatch):
    import experiments.ema as adapter

    monkeypatch.setitem(sys.modules, "ema_workbench", None)
    with pytest.raises(UserError, match=r"pip install 'kyoso\[ema\]'"):
        adapter._ema()


# ------------------------------------------------------------------ seeds
@pytest.mark.parametrize("common", [False, True])
@pytest.mark.parametrize("policies", ["", POLICIES])
def test_run_seed_is_the_sweeps_seed(tmp_path, common, policies):
    extra = policies + ("\n" if policies else "")
    text = SWEEP.format(extra=extra).replace("seed = 11", f"seed = 11\ncommon_seeds = {str(common).lower()}")
    (tmp_path / "s.toml").write_text(text)
    sweep = load_sweep(tmp_path / "s.toml")
    for run in plan_runs(sweep, build_design(sweep)):
        seed = run_seed(11, run.point, run.replication, 2, common)
        assert seed == run.seed and type(seed) is int


def test_scenario_seed_is_python_int_order_free_and_value_keyed():
    a = scenario_seed(5, {"x": np.float64(0.25), "y": np.int64(3)}, 0)
    assert type(a) is int and 0 <= a < 2 ** 63
    assert a == scenario_seed(5, {"y": 3, "x": 0.25}, 0)
    assert a != scenario_seed(5, {"x": 0.25, "y": 3}, 1)
    assert a != scenario_seed(6, {"x": 0.25, "y": 3}, 0)
    assert a != scenario_seed(5, {"x": 0.26, "y": 3}, 0)


def test_ema_sampled_scenario_runs_as_kyoso_run_with_its_seed():
    """EMA samples the scenarios itself (sequential evaluator): each replication is ``kyoso run`` at the
    scenario's values with the seed from branch 2 of the tree, and the outcome is their mean."""
    model = make_ema_model("baseline", uncertainties={"regions.TW-*.political_risk": (0.05, 0.6),
                                                      "params.max_projects_per_quarter": (1, 4)},
                           outcomes={"hhi": ("hhi_country", "mean")}, quarters=6, replications=2, seed=5,
                           per_replication=True)
    with ema.SequentialEvaluator(model) as ev:
        experiments, outcomes = ev.perform_experiments(scenarios=2, log_progress=True)
    for i in range(2):
        row = experiments.iloc[i]
        values = {k: row[k] for k in model.kyoso_keys}
        risk = float(row["regions__TW__political_risk"])
        overrides = {p: risk for p in model.kyoso_paths["regions__TW__political_risk"]}
        overrides["params.max_projects_per_quarter"] = int(row["params__max_projects_per_quarter"])
        direct = []
        for r in range(2):
            m = run_scenario("baseline", seed=scenario_seed(5, values, r), quarters=6, overrides=overrides)
            direct.append(float(metrics_table(m, ["hhi_country"])["hhi_country"].iloc[1:].mean()))
        # The runs are identical; the reducer's mean over quarters may sum in another order than
        # pandas' Series.mean (EMA samples fresh values each time), so compare to the last bits.
        assert list(outcomes["hhi_replications"][i]) == pytest.approx(direct, rel=1e-12, abs=0)
        assert outcomes["hhi"][i] == pytest.approx(np.mean(direct), rel=1e-12, abs=0)


# ------------------------------------------------------------------ EMA = kyoso sweep
def test_sweep_to_ema_builds_points_and_policies(tmp_path):
    study = sweep_to_ema(_sweep_file(tmp_path), OUTCOMES)
    assert [s.name for s in study.scenarios][:3] == ["p00", "p01", "p02"] and len(study.scenarios) == 20
    assert [s[POINT_KEY] for s in study.scenarios] == list(range(20))
    assert [p.name for p in study.policies] == ["status_quo", "talent"]
    assert [p["cocreation__talent__enabled"] for p in study.policies] == [False, True]
    assert study.model.kyoso_replications == 2 and study.model.kyoso_seed == 11


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:This process .* is multi-threaded:DeprecationWarning")   # EMA's fork Pool
def test_ema_multiprocessing_equals_kyoso_sweep(tmp_path):
    """Acceptance (issue #14): 20 design points × 2 policies × 2 replications through EMA's
    MultiprocessingEvaluator (2 processes) equal ``kyoso sweep`` of the same file, number for number."""
    from experiments.sweep import run_sweep

    path = _sweep_file(tmp_path)
    result = run_sweep(load_sweep(path), tmp_path / "store", backend="processes", workers=2, progress=False)
    assert result.ok and result.done == 80
    kyoso = store_outcomes(tmp_path / "store", OUTCOMES, per_replication=True)

    study = sweep_to_ema(path, OUTCOMES, per_replication=True)
    with ema.MultiprocessingEvaluator(study.model, n_processes=2) as ev:
        experiments, outcomes = study.perform(ev, log_progress=True)
    table = study.table(experiments, outcomes)

    assert len(table) == len(kyoso) == 40
    pd.testing.assert_frame_equal(table[["point", "policy"]], kyoso[["point", "policy"]])
    for name in OUTCOMES:
        assert np.array_equal(table[name].to_numpy(float), kyoso[name].to_numpy(float)), name
        assert np.array_equal(np.stack(table[f"{name}_replications"]), np.stack(kyoso[f"{name}_replications"]))
    # the two policies differ somewhere (the lever acts), so equality is not two constant tables
    assert not np.array_equal(table.loc[table.policy == "talent", "active_sites"].to_numpy(),
                              table.loc[table.policy == "status_quo", "active_sites"].to_numpy())


def test_failed_run_names_the_run():
    """A run the model refuses stops EMA with kyoso's error and the command that repeats it."""
    model = make_ema_model("baseline", uncertainties={"params.w_subsidy": (0.5, 2.0)},
                           outcomes={"hhi_country": "final"}, quarters=2)
    model.kyoso_fixed = {"params.w_labour": "not a number"}       # what a bad override does inside a run
    with pytest.raises(ema.EMAError, match="kyoso run failed: .* kyoso run .* --seed"):
        with ema.SequentialEvaluator(model) as ev:
            ev.perform_experiments(scenarios=1, log_progress=True)


def test_grid_sweep_without_policies_sequential_equals_serial_sweep(tmp_path):
    """A grid sweep (lists → categorical parameters, an int among them) without policies, common seeds."""
    from experiments.sweep import run_sweep

    path = tmp_path / "grid.toml"
    path.write_text(textwrap.dedent("""\
        name = "grid_check"
        quarters = 5
        replications = 2
        seed = 3
        common_seeds = true
        design = "grid"
        metrics = ["active_sites", "hhi_country"]
        [parameters]
        "params.max_projects_per_quarter" = [1, 3]
        "cocreation.talent.enabled" = [false, true]
        [fixed]
        "params.w_subsidy" = 1.5
        """))
    outcomes = {"active_sites": "final", "hhi": ("hhi_country", "2025Q2")}
    assert run_sweep(load_sweep(path), tmp_path / "store", backend="serial", progress=False).ok
    kyoso = store_outcomes(tmp_path / "store", outcomes, per_replication=True)
    study = sweep_to_ema(path, outcomes, per_replication=True)
    assert study.policies == [] and study.model.kyoso_fixed == {"params.w_subsidy": 1.5}
    assert type(study.model.uncertainties["params__max_projects_per_quarter"]) is ema.CategoricalParameter
    with ema.SequentialEvaluator(study.model) as ev:
        experiments, results = study.perform(ev, log_progress=True)
    table = study.table(experiments, results)
    assert table["point"].tolist() == kyoso["point"].tolist() == [0, 1, 2, 3]
    assert table["policy"].isna().all() and kyoso["policy"].isna().all()
    for name in outcomes:
        assert table[name].tolist() == kyoso[name].tolist()
        assert np.array_equal(np.stack(table[f"{name}_replications"]), np.stack(kyoso[f"{name}_replications"]))
