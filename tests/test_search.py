"""Robust many-objective search (``kyoso search``): the search file, robustness measures, the front
against a brute-force grid, resume, determinism, refusals and the command."""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from experiments import search as S
from experiments import sweep as sweep_module
from experiments.errors import UserError
from experiments.runner import run_scenario
from experiments.sensitivity import reduce_runs

TINY = str(Path(__file__).parent / "data" / "tiny.toml")
JP, US = "governments.JP.subsidy_rate", "governments.US.subsidy_rate"
GRID = {JP: [0.0, 0.2, 0.4], US: [0.0, 0.3]}

SEARCH = f'''
name = "grid"
scenario = "{TINY}"
quarters = 8
replications = 2
seed = 7
scenarios = 2

[levers]
"{JP}" = [0.0, 0.2, 0.4]
"{US}" = [0.0, 0.3]

[uncertainties]
"governments.CN.subsidy_rate" = {{ low = 0.0, high = 0.4 }}

[[objectives]]
metric = "subsidy_paid_cumulative"
direction = "min"

[[objectives]]
metric = "unit_cost_index"
direction = "min"
robustness = "percentile"
q = 0

[[objectives]]
metric = "capacity_fab"
direction = "max"
robustness = "regret"

[algorithm]
name = "nsga2"
nfe = 48
population = 6
'''


def _write(tmp_path: Path, text: str = SEARCH, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def _run(path: Path, out: Path, **kw) -> S.SearchResult:
    return S.search(path, out, backend="serial", progress=False, **kw)


# ------------------------------------------------------------------ bad input
_L = f'"{JP}" = [0.0, 0.2, 0.4]'
_U = '"governments.CN.subsidy_rate" = { low = 0.0, high = 0.4 }'
BAD = [                                     # (text replaced in SEARCH, its replacement, part of the message)
    ("seed = 7", "seed = 7\ncolour = 1", "unknown key 'colour'"),
    (_L, '"governments.XX.subsidy_rate" = [0.0, 0.1]', "levers.governments.XX.subsidy_rate"),
    (_L, f'"{JP}" = [0.0, 1.5]', "levers.governments.JP.subsidy_rate.1 = 1.5: outside the schema's bounds"),
    (_L, f'"{JP}" = {{ low = -0.1, high = 0.2 }}', "levers.governments.JP.subsidy_rate.low = -0.1: outside"),
    (_L, f'"{JP}" = [0.1]', "levers.governments.JP.subsidy_rate"),
    (_L, f'"{JP}" = [0.1, 0.1]', "a value is listed twice"),
    (_L, '"governments.CN.tit_for_tat" = { low = 0, high = 1 }', "needs a numeric parameter"),
    (_L, f'"{JP}" = 0.2', "levers.governments.JP.subsidy_rate = 0.2: expected a table"),
    (_U, '"governments.CN.subsidy_rate" = [0.0, 0.4]', "uncertainties.governments.CN.subsidy_rate: expected a range"),
    (_U, '"governments.CN.tit_for_tat" = { low = 0.0, high = 1.0 }', "an uncertainty is a numeric range"),
    ("[levers]", f'[fixed]\n"{US}" = 0.1\n\n[levers]', "fixed.governments.US.subsidy_rate: also under [levers]"),
    ('metric = "capacity_fab"', 'metric = "no_such_metric"', "objectives.2.metric = 'no_such_metric': unknown"),
    ('robustness = "percentile"\nq = 0', 'robustness = "percentile"', "q: required"),
    ('robustness = "regret"', 'robustness = "regret"\nat = "2090Q5"', "at = '2090Q5'"),
    ('direction = "max"', 'direction = "up"', "objectives.2.direction = 'up'"),
    ("[algorithm]", '[[constraints]]\nmetric = "share_JP"\n\n[algorithm]', "le or ge"),
    ('name = "nsga2"', 'name = "eps-nsga2"', "epsilons: required by eps-nsga2"),
    ('name = "nsga2"', 'name = "eps-nsga2"\nepsilons = [0.1]', "algorithm.epsilons: 1 given for 3 objectives"),
    ('name = "nsga2"', 'name = "spea2"', "algorithm.name = 'spea2'"),
    ("scenarios = 2", "scenarios = 1", "scenarios = 1: sampling [uncertainties] needs at least 2"),
    ('name = "grid"', 'name = "a b"', "name = 'a b'"),
    ("nfe = 48", "nfe = 0", "algorithm.nfe = 0"),
]


@pytest.mark.parametrize("old, new, message", BAD)
def test_bad_search_files_fail_with_one_line_naming_the_field(tmp_path, old, new, message):
    assert old in SEARCH
    path = _write(tmp_path, SEARCH.replace(old, new, 1))
    with pytest.raises(S.SearchError) as err:
        S.load_search(path)
    text = str(err.value)
    assert "\n" not in text and message in text, text
    assert text.startswith(str(path))


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(S.SearchError, match="not found"):
        S.load_search(tmp_path / "nope.toml")
    with pytest.raises(S.SearchError, match="malformed TOML"):
        S.load_search(_write(tmp_path, "name = "))
    with pytest.raises(S.SearchError, match="objectives: required field is missing"):
        S.load_search(_write(tmp_path, SEARCH.split("[[objectives]]")[0] + '[algorithm]\nname = "nsga2"\nnfe = 4\n'))


# ------------------------------------------------------------- robustness
F = np.array([[1.0, 4.0, 2.0, 3.0],          # lever sets × scenarios
              [2.0, 2.0, 2.0, 2.0],
              [0.0, 5.0, 4.0, 1.0]])


def test_mean_and_percentile_from_the_bad_side():
    assert S.robust_mean(F).tolist() == [2.5, 2.0, 2.5]
    # maximised: the q-th percentile (q = 0 the worst = minimum); minimised: the (100 − q)-th
    assert S.robust_percentile(F, 0, "max").tolist() == [1.0, 2.0, 0.0]
    assert S.robust_percentile(F, 0, "min").tolist() == [4.0, 2.0, 5.0]
    assert S.robust_percentile(F, 50, "max").tolist() == [2.5, 2.0, 2.5]
    # linear interpolation: the 25th percentile of 1, 2, 3, 4 is 1.75
    assert S.robust_percentile(F[:1], 25, "max")[0] == pytest.approx(1.75)
    assert S.robust_percentile(F[:1], 25, "min")[0] == pytest.approx(3.25)
    with pytest.raises(ValueError, match="direction"):
        S.robust_percentile(F, 10, "up")


def test_regret_is_the_distance_to_the_best_lever_set_of_each_scenario():
    # best per scenario (max): 2, 5, 4, 3
    r_max = S.regret(F, "max")
    assert r_max.tolist() == [max(1, 1, 2, 0), max(0, 3, 2, 1), max(2, 0, 0, 2)] == [2.0, 3.0, 2.0]
    # best per scenario (min): 0, 2, 2, 1
    assert S.regret(F, "min").tolist() == [max(1, 2, 0, 2), max(2, 0, 0, 1), max(0, 3, 2, 0)] == [2.0, 2.0, 3.0]
    # with q: the (100 − q)-th percentile of the regrets, here the median
    assert S.regret(F, "max", q=50).tolist() == [1.0, 1.5, 1.0]
    # against a given reference (the best found elsewhere in the search)
    assert S.regret(F, "max", reference=np.array([10.0, 10, 10, 10])).tolist() == [9.0, 8.0, 10.0]
    # a lever set with a NaN is left out of the best, and its own regret is NaN
    g = np.vstack([F, [np.nan, 9.0, 9.0, 9.0]])
    assert S.regret(g, "max")[:3].tolist() == [2.0, 3.0, 2.0] and np.isnan(S.regret(g, "max")[3])


def test_scenario_values_average_the_replications():
    v = np.arange(12, dtype=float).reshape(2, 3, 2)          # lever sets × scenarios × replications
    assert S.scenario_values(v).tolist() == [[0.5, 2.5, 4.5], [6.5, 8.5, 10.5]]


def test_nondominated_by_hand():
    v = np.array([[1.0, 5.0],       # front
                  [2.0, 4.0],       # front
                  [2.0, 3.0],       # dominated by row 1
                  [0.5, 4.5],       # dominated by row 0
                  [2.0, 4.0],       # equal to row 1: both kept
                  [3.0, 9.0]])      # infeasible
    senses = ["max", "max"]
    mask = S.nondominated(v, senses, feasible=np.array([True] * 5 + [False]))
    assert mask.tolist() == [True, True, False, False, True, False]
    # minimising the second objective instead: row 2 (2, 3) now dominates rows 1 and 4
    assert S.nondominated(v[:5], ["max", "min"]).tolist() == [False, False, True, False, False]
    assert S.nondominated(np.array([[np.nan, 1.0], [0.0, 0.0]]), ["min", "min"]).tolist() == [False, True]


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 3)),
              elements=st.integers(-3, 3).map(float)),
       st.lists(st.sampled_from(["max", "min"]), min_size=3, max_size=3))
def test_nondominated_is_exactly_the_undominated_rows(values, senses):
    senses = senses[: values.shape[1]]
    mask = S.nondominated(values, senses)
    sign = np.array([1.0 if s == "max" else -1.0 for s in senses])
    better = values * sign                                   # everything maximised

    def dominates(a, b):
        return bool((a >= b).all() and (a > b).any())

    for i in range(len(values)):
        dominated = any(dominates(better[j], better[i]) for j in range(len(values)))
        assert mask[i] == (not dominated)
    assert mask.any()                                        # a finite set always has a non-dominated member


# ---------------------------------------------------------- brute force
def _brute_force(result: S.SearchResult, resolved: S.ResolvedSearch) -> pd.DataFrame:
    """Every lever combination of GRID run directly (run_scenario) on the ensemble's points and seeds,
    reduced and made robust here with plain numpy, independently of the search's code path."""
    rows = []
    n_s, n_r = resolved.seeds.shape
    for jp, us in itertools.product(GRID[JP], GRID[US]):
        f = {m: np.zeros((n_s, n_r)) for m in ("subsidy_paid_cumulative", "unit_cost_index", "capacity_fab")}
        for j in range(n_s):
            for r in range(n_r):
                model = run_scenario(TINY, seed=int(resolved.seeds[j, r]), quarters=resolved.quarters,
                                     overrides={JP: jp, US: us, **resolved.points[j]})
                red = reduce_runs(model.metrics(), list(f), "final").iloc[0]
                for m in f:
                    f[m][j, r] = red[m]
        rows.append({JP: jp, US: us, **{m: v.mean(axis=1) for m, v in f.items()}})
    cap = np.array([row["capacity_fab"] for row in rows])
    best = cap.max(axis=0)
    out = pd.DataFrame({JP: [r[JP] for r in rows], US: [r[US] for r in rows],
                        "subsidy": [r["subsidy_paid_cumulative"].mean() for r in rows],
                        "cost": [r["unit_cost_index"].max() for r in rows],
                        "regret": [(best - r["capacity_fab"]).max() for r in rows]})
    return out


def _dominates(a: np.ndarray, b: np.ndarray) -> bool:
    """All three objectives are minimised here (subsidy, worst unit cost, capacity regret)."""
    return bool((a <= b).all() and (a < b).any())


def test_quick_search_front_is_confirmed_by_brute_force_over_the_grid(tmp_path):
    path = _write(tmp_path)
    resolved = S.load_search(path)
    result = _run(path, tmp_path / "out")
    brute = _brute_force(result, resolved)
    objs = ["subsidy", "cost", "regret"]
    values = brute[objs].to_numpy()
    front_brute = {(r[JP], r[US]) for _, r in brute.iterrows()
                   if not any(_dominates(values[k], values[i]) for k in range(len(values))
                              for i in [int(_)])}
    returned = {(r[JP], r[US]) for _, r in result.pareto.iterrows()}
    assert returned, "the search returned an empty front"
    lookup = {(r[JP], r[US]): r[objs].to_numpy(dtype=float) for _, r in brute.iterrows()}
    for point in returned:                    # no returned lever set is dominated by any grid point
        assert not any(_dominates(v, lookup[point]) for v in values), point
    # the budget (48 evaluations of a 6-point grid) covered the grid here: then the front is the whole front
    evaluated = {(r[JP], r[US]) for _, r in result.evaluations.iterrows()}
    assert evaluated == set(itertools.product(GRID[JP], GRID[US]))
    assert returned == front_brute
    # and the search's robust values are the brute-force ones
    for _, r in result.evaluations.iterrows():
        b = lookup[(r[JP], r[US])]
        got = r[["subsidy_paid_cumulative_final_mean", "unit_cost_index_final_p0",
                 "capacity_fab_final_regret"]].to_numpy(dtype=float)
        np.testing.assert_allclose(got, b, rtol=1e-12, atol=1e-12)
    assert len(front_brute) >= 2              # the objectives conflict: the test checks a real front


def test_outputs_store_and_manifest(tmp_path):
    out = tmp_path / "out"
    result = _run(_write(tmp_path), out)
    assert sorted(p.name for p in out.iterdir()) == ["evaluations", "evaluations.csv", "figures", "manifest.json",
                                                    "pareto.csv", "sessions.jsonl"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "kyoso search" and m["search"]["name"] == "grid" and m["git_revision"] is not None
    assert "Platypus-Opt" in m["versions"] and len(m["ensemble"]["points"]) == 2
    seeds = np.array(m["ensemble"]["seeds"])
    assert seeds.shape == (2, 2) and len(np.unique(seeds)) == 4
    files = list((out / "evaluations").glob("*.parquet"))
    assert len(files) == len(result.evaluations)
    one = pd.read_parquet(files[0])
    assert len(one) == 4 and one["ok"].all()
    assert sorted(one["seed"]) == sorted(seeds.reshape(-1).tolist())      # common seeds for every lever set
    assert {"capacity_fab@final", "unit_cost_index@final", "governments.CN.subsidy_rate", JP, US} <= set(one)
    pareto = pd.read_csv(out / "pareto.csv")
    assert len(pareto) == len(result.pareto) and "pareto" not in pareto
    assert pd.read_csv(out / "evaluations.csv")["pareto"].sum() == len(pareto)
    assert "on the Pareto front" in result.summary() and str(out / "pareto.csv") in result.summary()
    assert result.figure is not None and result.figure.stat().st_size > 10_000


def test_figure_has_title_and_labelled_axes(tmp_path):
    from experiments.plots.search import pareto_figure

    fig = pareto_figure(_run(_write(tmp_path), tmp_path / "out", figure=False))
    visible = [ax for ax in fig.axes if ax.get_visible()]
    assert len(visible) == 3                               # the lower triangle of 3 objectives
    assert fig._suptitle is not None and "non-dominated" in fig._suptitle.get_text()
    assert all(ax.get_xlabel() or ax.get_ylabel() for ax in visible)
    assert any("better" in ax.get_ylabel() for ax in visible)


# ------------------------------------------------------- determinism, resume
def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "evaluations.csv")


def test_same_seed_same_search_and_another_seed_another(tmp_path):
    a = _run(_write(tmp_path), tmp_path / "a")
    b = _run(_write(tmp_path), tmp_path / "b")
    pd.testing.assert_frame_equal(_table(tmp_path / "a"), _table(tmp_path / "b"))
    assert a.pareto.equals(b.pareto)
    c = _run(_write(tmp_path, SEARCH.replace("seed = 7", "seed = 8"), "c.toml"), tmp_path / "c")
    assert not _table(tmp_path / "c")[[JP, US]].equals(_table(tmp_path / "a")[[JP, US]]) or \
        not c.evaluations["nfe"].equals(a.evaluations["nfe"])


def test_eps_nsga2_with_mixed_real_and_listed_levers_is_deterministic(tmp_path):
    text = (SEARCH.replace(f'"{JP}" = [0.0, 0.2, 0.4]', f'"{JP}" = {{ low = 0.0, high = 0.4 }}')
            .replace('name = "nsga2"', 'name = "eps-nsga2"\nepsilons = [0.5, 0.005, 5.0]')
            .replace("nfe = 48", "nfe = 24").replace("replications = 2", "replications = 1"))
    a = _run(_write(tmp_path, text), tmp_path / "a")
    b = _run(_write(tmp_path, text), tmp_path / "b")
    pd.testing.assert_frame_equal(_table(tmp_path / "a"), _table(tmp_path / "b"))
    assert a.nfe >= 24 and len(a.evaluations) > 6                 # a real lever: many distinct lever sets
    assert a.evaluations[JP].between(0.0, 0.4).all() and set(a.evaluations[US]) <= {0.0, 0.3}


def test_resume_after_an_interruption_equals_an_uninterrupted_search(tmp_path, monkeypatch):
    path = _write(tmp_path)
    full = _run(path, tmp_path / "full")
    real = sweep_module.execute_run
    calls = {"n": 0}

    def stop_after_13(task):
        calls["n"] += 1
        if calls["n"] > 13:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(sweep_module, "execute_run", stop_after_13)
    with pytest.raises(S.SearchInterrupted) as stop:
        _run(path, tmp_path / "part")
    stored = stop.value.evaluated
    assert stored == 3                                  # 13 runs: three complete lever sets of 4 runs each
    assert not list((tmp_path / "part" / "evaluations").glob("*.tmp-*"))
    monkeypatch.setattr(sweep_module, "execute_run", real)
    resumed = _run(path, tmp_path / "part", resume=True)
    assert resumed.cached == stored and resumed.ran == len(full.evaluations) - stored
    assert resumed.runs == 4 * resumed.ran              # stored evaluations are not run again
    pd.testing.assert_frame_equal(_table(tmp_path / "part"), _table(tmp_path / "full"))
    again = _run(path, tmp_path / "part", resume=True)
    assert again.runs == 0 and again.ran == 0
    pd.testing.assert_frame_equal(_table(tmp_path / "part"), _table(tmp_path / "full"))


def test_refusals(tmp_path):
    path = _write(tmp_path)
    out = tmp_path / "out"
    _run(path, out)
    with pytest.raises(UserError, match="not empty.*--resume"):
        _run(path, out)
    changed = _write(tmp_path, SEARCH.replace("q = 0", "q = 10"), "changed.toml")
    with pytest.raises(UserError) as err:
        _run(changed, out, resume=True)
    assert "differs" in str(err.value) and "objectives" in str(err.value) and "\n" not in str(err.value)
    # a larger budget continues the same sequence
    more = _run(_write(tmp_path, SEARCH.replace("nfe = 48", "nfe = 60"), "more.toml"), out, resume=True)
    assert more.nfe >= 60 and more.runs == 4 * more.ran
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a directory"):
        _run(path, tmp_path / "file")


# ------------------------------------------------------------------ command
def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kyoso")
    sub = parser.add_subparsers(dest="command")
    S.add_parser(sub)
    return parser


def test_command_quick_and_dry_run(tmp_path, capsys):
    path = _write(tmp_path)
    args = _parser().parse_args(["search", str(path), "--out", str(tmp_path / "q"), "--quick", "--backend", "serial",
                                 "--no-progress"])
    assert S.command(args) == 0
    text = capsys.readouterr().out
    assert text.startswith("kyoso search grid:") and "Pareto front" in text
    m = json.loads((tmp_path / "q" / "manifest.json").read_text())
    assert m["quick"] and m["search"]["replications"] == 1 and m["search"]["algorithm"]["nfe"] == 16
    args = _parser().parse_args(["search", str(path), "--out", str(tmp_path / "d"), "--dry-run"])
    assert S.command(args) == 0
    assert "one evaluation takes about" in capsys.readouterr().out and not (tmp_path / "d").exists()
    with pytest.raises(UserError, match="--scheduler"):
        S.command(_parser().parse_args(["search", str(path), "--out", str(tmp_path / "x"), "--backend", "serial",
                                        "--scheduler", "tcp://x:1"]))


def test_example_search_file_validates():
    path = Path(__file__).parent.parent / "experiments" / "searches" / "robust_levers.toml"
    resolved = S.load_search(path)
    assert resolved.n_scenarios == resolved.spec.scenarios >= 4 and len(resolved.spec.objectives) >= 3
    assert any(lv.path.startswith("cocreation.") for lv in resolved.levers)


def test_without_uncertainties_the_ensemble_is_the_scenario_and_constraints_bind(tmp_path):
    text = (SEARCH.replace("scenarios = 2\n", "").replace(
        '[uncertainties]\n"governments.CN.subsidy_rate" = { low = 0.0, high = 0.4 }\n', "")
        .replace("[algorithm]", '[[constraints]]\nmetric = "subsidy_paid_cumulative"\nle = 5.0\nname = "cap"\n\n[algorithm]')
        .replace("replications = 2", "replications = 1"))
    resolved = S.load_search(_write(tmp_path, text))
    assert resolved.points == [{}] and resolved.seeds.shape == (1, 1)
    result = _run(_write(tmp_path, text), tmp_path / "out")
    ev = result.evaluations
    limit = ev["subsidy_paid_cumulative_final_mean"]
    assert (ev["feasible"] == (limit <= 5.0)).all() and (ev["cap"] == limit).all()
    assert ev["feasible"].any() and not ev["feasible"].all()          # the limit splits the grid
    assert result.pareto["feasible"].all() and len(result.pareto) >= 1


# ------------------------------------------------------------------ bindings
BOUND = SEARCH.replace(f'"{JP}" = [0.0, 0.2, 0.4]\n"{US}" = [0.0, 0.3]',
                       '"governments.{JP,US}.subsidy_rate" = [0.0, 0.3]') \
    .replace('"governments.CN.subsidy_rate" = { low = 0.0, high = 0.4 }',
             '"regions.{JP-North,KR-Seoul}.political_risk" = { low = 0.2, high = 0.5 }') \
    .replace("[levers]", '[fixed]\n"governments.{KR,CN}.tax_credit" = 0.1\n\n[levers]') \
    .replace("nfe = 48", "nfe = 6").replace("population = 6", "population = 2").replace("replications = 2",
                                                                                      "replications = 1")


def test_bindings_set_one_value_on_every_bound_path_in_every_run(tmp_path, monkeypatch):
    """A binding under [levers], [uncertainties] and [fixed] sets its value on every path it names, in the
    runs the workers get (captured here) and in the scenario each run builds."""
    from model.scenario import load_scenario

    resolved = S.load_search(_write(tmp_path, BOUND))
    risk = "regions.{JP-North,KR-Seoul}.political_risk"
    assert resolved.expansions == {
        "governments.{JP,US}.subsidy_rate": ["governments.JP.subsidy_rate", "governments.US.subsidy_rate"],
        risk: ["regions.JP-North.political_risk", "regions.KR-Seoul.political_risk"],
        "governments.{KR,CN}.tax_credit": ["governments.KR.tax_credit", "governments.CN.tax_credit"]}
    assert [lv.path for lv in resolved.levers] == ["governments.{JP,US}.subsidy_rate"]
    draws = [p[risk] for p in resolved.points]
    assert len(set(draws)) == 2 and all(0.2 <= d <= 0.5 for d in draws)
    real, tasks = sweep_module.execute_run, []

    def record(task):
        tasks.append(task)
        return real(task)

    monkeypatch.setattr(sweep_module, "execute_run", record)
    result = _run(_write(tmp_path, BOUND), tmp_path / "out")
    assert len(result.evaluations) == 2 and len(tasks) == 2 * 2        # both lever values × both scenarios
    for task in tasks:
        sc = load_scenario(task.scenario_ref, **task.overrides)
        drawn = resolved.points[task.point][risk]
        assert sc.regions["JP-North"].political_risk == sc.regions["KR-Seoul"].political_risk == drawn
        assert sc.regions["US-West"].political_risk == 0.499                            # not bound: as in tiny
        lever = task.fixed["governments.{JP,US}.subsidy_rate"]
        assert sc.governments["JP"].subsidy_rate == sc.governments["US"].subsidy_rate == lever
        assert sc.governments["KR"].tax_credit == sc.governments["CN"].tax_credit == 0.1
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["bindings"] == resolved.expansions
    # the stored values are those of the model run with every bound path set by hand
    stored = pd.concat(pd.read_parquet(f) for f in (tmp_path / "out" / "evaluations").glob("*.parquet"))
    assert {risk, "governments.{JP,US}.subsidy_rate"} <= set(stored)          # the keys are the columns
    row = stored[(stored["governments.{JP,US}.subsidy_rate"] == 0.3) & (stored["scenario"] == 1)].iloc[0]
    drawn = resolved.points[1][risk]
    model = run_scenario(TINY, seed=int(row["seed"]), quarters=resolved.quarters,
                         overrides={JP: 0.3, US: 0.3, "regions.JP-North.political_risk": drawn,
                                    "regions.KR-Seoul.political_risk": drawn, "governments.KR.tax_credit": 0.1,
                                    "governments.CN.tax_credit": 0.1})
    direct = reduce_runs(model.metrics(), ["capacity_fab", "unit_cost_index"], "final").iloc[0]
    assert row["capacity_fab@final"] == direct["capacity_fab"]
    assert row["unit_cost_index@final"] == direct["unit_cost_index"]


def test_the_taiwan_binding_of_the_issue_reaches_all_three_regions(tmp_path):
    """``regions.TW-*.political_risk`` as an uncertainty of the baseline: every run sets the scenario's draw on
    TW-Hsinchu, TW-Central and TW-Tainan (checked on the scenario a run builds; no model is run)."""
    from model.scenario import load_scenario

    text = f'''
name = "tw"
scenario = "baseline"
quarters = 4
scenarios = 3
seed = 5

[levers]
"governments.{{JP,KR}}.subsidy_rate" = {{ low = 0.0, high = 0.3 }}

[uncertainties]
"regions.TW-*.political_risk" = {{ low = 0.3, high = 0.9 }}

[[objectives]]
metric = "share_JP"
direction = "max"

[algorithm]
name = "nsga2"
nfe = 4
'''
    resolved = S.load_search(_write(tmp_path, text))
    tw = ["TW-Hsinchu", "TW-Central", "TW-Tainan"]
    assert resolved.expansions["regions.TW-*.political_risk"] == [f"regions.{r}.political_risk" for r in tw]
    for j, point in enumerate(resolved.points):
        task = resolved.task("probe", j, 0, {"governments.{JP,KR}.subsidy_rate": 0.25})
        sc = load_scenario(task.scenario_ref, **task.overrides)
        assert [sc.regions[r].political_risk for r in tw] == [point["regions.TW-*.political_risk"]] * 3
        assert sc.governments["JP"].subsidy_rate == sc.governments["KR"].subsidy_rate == 0.25
        assert task.seed == int(resolved.seeds[j, 0])


@pytest.mark.parametrize("old, new, message", [
    (_U, '"regions.XX-*.political_risk" = { low = 0.1, high = 0.4 }', "uncertainties.regions.XX-*.political_risk: "
                                                                       "'XX-*' matches no key"),
    (_U, '"governments.{JP,CN}.subsidy_rate" = { low = 0.0, high = 0.4 }',
     "uncertainties.governments.{JP,CN}.subsidy_rate: sets governments.JP.subsidy_rate, which "
     "levers.governments.JP.subsidy_rate sets too"),
    (_L, '"regions.*.political_risk" = [0.1, 1.5]', "levers.regions.*.political_risk.1 = 1.5: outside the schema's "
                                                    "bounds"),
    (_L, '"governments.{JP,KR}.{subsidy_rate,bloc}" = [0.0, 0.1]', "the matched paths are of different kinds"),
    ("[levers]", '[fixed]\n"governments.*.subsidy_rate" = 0.1\n\n[levers]',
     "fixed.governments.*.subsidy_rate: sets governments.JP.subsidy_rate, which levers.governments.JP.subsidy_rate "
     "sets too"),
])
def test_bad_bindings_fail_with_one_line_naming_the_key(tmp_path, old, new, message):
    path = _write(tmp_path, SEARCH.replace(old, new, 1))
    with pytest.raises(S.SearchError) as err:
        S.load_search(path)
    text = str(err.value)
    assert "\n" not in text and message in text and text.startswith(str(path)), text


def test_the_ensemble_seeds_are_the_run_seeds_of_a_sweep(tmp_path):
    """run_seeds is what plan_runs gives a sweep (with and without common seeds), and the search's ensemble
    uses it: scenario j, replication r has the seed of run (j, r) of the same LHS sweep."""
    from experiments.design import build_design, plan_runs, run_seeds
    from experiments.sweepfile import parse_sweep, resolve_sweep

    resolved = S.load_search(_write(tmp_path))
    raw = {"name": "same", "scenario": TINY, "quarters": 8, "replications": 2, "seed": 7, "design": "lhs",
           "samples": 2, "metrics": ["capacity_fab"],
           "parameters": {"governments.CN.subsidy_rate": {"low": 0.0, "high": 0.4}}}
    for common in (False, True):
        sweep = resolve_sweep(parse_sweep({**raw, "common_seeds": common}))
        design = build_design(sweep)
        planned = [r.seed for r in plan_runs(sweep, design)]
        assert run_seeds(7, 2, 2, common=common) == planned
        if not common:
            assert resolved.seeds.reshape(-1).tolist() == planned
            assert resolved.points == design.points
        else:
            assert planned[:2] == planned[2:] and planned[0] != planned[1]       # one seed per replication
    alone = S.load_search(_write(tmp_path, SEARCH.replace("scenarios = 2\n", "").replace(
        '[uncertainties]\n"governments.CN.subsidy_rate" = { low = 0.0, high = 0.4 }\n', ""), "alone.toml"))
    assert alone.seeds.reshape(-1).tolist() == run_seeds(7, 1, 2) == planned_first(raw)
    with pytest.raises(ValueError, match="replications = 0"):
        run_seeds(7, 2, 0)


def planned_first(raw: dict) -> list[int]:
    """The seeds of the first point of a sweep (its runs (0, r) are the runs (0, r) of any sweep of that seed)."""
    from experiments.design import build_design, plan_runs
    from experiments.sweepfile import parse_sweep, resolve_sweep

    sweep = resolve_sweep(parse_sweep(raw))
    return [r.seed for r in plan_runs(sweep, build_design(sweep)) if r.point == 0]
