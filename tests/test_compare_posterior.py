"""``kyoso compare --posterior``: scenarios over posterior draws × common seeds, the variance of each outcome and of
each paired difference split into a parameter part and a seed part (issue #11, part 5)."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from experiments.cli import main
from experiments.compare import PosteriorComparison, compare_scenarios, load_posterior, variance_decomposition
from experiments.errors import UserError
from experiments.runner import run_scenario
from experiments.sensitivity import reduce_runs

SCENARIOS = ["status_quo", "jk_cocreation"]
METRICS = ["perceived_risk_mean", "supply_shortfall", "share_US"]
#: A co-creation lever's setting: it moves jk_cocreation's perceived risk without any randomness (the risk
#: premium of the investment-protection agreement) and is switched off (gated) in status_quo.
STRENGTH = "cocreation.investment_protection.strength"


def _draws(tmp_path, rows: dict[str, list], name: str = "post") -> str:
    d = tmp_path / name
    d.mkdir()
    pd.DataFrame(rows).to_csv(d / "draws.csv", index=False)
    return str(d)


@pytest.fixture(scope="module")
def posterior_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("posterior")
    pd.DataFrame({"draw": [0, 1], STRENGTH: [0.2, 0.8]}).to_csv(d / "draws.csv", index=False)
    return d


@pytest.fixture(scope="module")
def cmp(posterior_dir) -> PosteriorComparison:
    return compare_scenarios(SCENARIOS, seeds=2, quarters=3, metrics=METRICS, posterior=posterior_dir)


def _row(c: PosteriorComparison, scenario: str, metric: str) -> pd.Series:
    return c.table.set_index(["scenario", "metric"]).loc[(scenario, metric)]


# ------------------------------------------------------------------------------------ the decomposition
def test_additive_draw_and_seed_effects_are_recovered_exactly():
    a = np.array([0.0, 1.0, 3.0])                 # draw effects
    b = np.array([-2.0, 0.5, 4.0, 1.0])           # seed effects, common to every draw (common random numbers)
    d = variance_decomposition(10 + a[:, None] + b[None, :])
    assert d["var_param"] == pytest.approx(a.var(ddof=1))
    assert d["var_seed"] == pytest.approx(b.var(ddof=1))
    assert d["mean"] == pytest.approx(10 + a.mean() + b.mean())
    assert d["share_param"] == pytest.approx(a.var(ddof=1) / (a.var(ddof=1) + b.var(ddof=1)))
    assert d["share_param"] + d["share_seed"] == pytest.approx(1.0)
    lo, hi = np.percentile(10 + a + b.mean(), [2.5, 97.5])
    assert (d["param_low"], d["param_high"]) == pytest.approx((lo, hi))
    half = 3.182446305284263 * np.sqrt(b.var(ddof=1) / 4)          # t(0.975, 3)
    assert (d["seed_low"], d["seed_high"]) == pytest.approx((d["mean"] - half, d["mean"] + half))


def test_identical_draws_have_no_parameter_part():
    y = np.tile([1.0, 4.0, 2.5], (5, 1))          # every draw the same runs
    d = variance_decomposition(y)
    assert d["var_param"] == 0.0 and d["share_param"] == 0.0 and d["share_seed"] == 1.0
    assert d["param_low"] == d["param_high"] == pytest.approx(2.5)


def test_parameter_part_is_unbiased_under_common_seeds_where_the_naive_correction_is_not():
    """Var(θ part) = 1, seed main effect sd 2, interaction sd 0.5, 8 draws × 4 seeds, 2000 seeded replicates:
    the residual correction recovers 1; subtracting E_d(s²_d)/S (right for independent seeds per draw) would
    also remove the seed main effect and land near 0."""
    rng = np.random.default_rng(5)
    est, naive = [], []
    for _ in range(2000):
        y = (rng.normal(0, 1, (8, 1)) + rng.normal(0, 2, (1, 4)) + rng.normal(0, 0.5, (8, 4)))
        est.append(variance_decomposition(y)["var_param"])
        naive.append(y.mean(axis=1).var(ddof=1) - y.var(axis=1, ddof=1).mean() / 4)
    assert np.mean(est) == pytest.approx(1.0, abs=0.06)
    assert np.mean(naive) < 0.2


def test_missing_values_and_single_draw():
    y = np.array([[1.0, np.nan], [2.0, 3.0]])
    d = variance_decomposition(y)
    assert d["mean"] == pytest.approx(2.0) and np.isnan(d["var_param"]) and np.isnan(d["share_seed"])
    one = variance_decomposition([[1.0, 3.0]])
    assert np.isnan(one["var_param"]) and np.isnan(one["param_low"]) and one["var_seed"] == pytest.approx(2.0)
    with pytest.raises(ValueError, match="draws × seeds"):
        variance_decomposition([1.0, 2.0])


finite = st.floats(-1e3, 1e3, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(y=arrays(float, st.tuples(st.integers(2, 6), st.integers(2, 5)), elements=finite),
       shift=st.lists(finite, min_size=6, max_size=6))
def test_decomposition_invariants(y, shift):
    d = variance_decomposition(y)
    assert d["var_param"] >= 0 and d["var_seed"] >= 0
    if d["var_param"] + d["var_seed"] > 1e-9:
        assert d["share_param"] + d["share_seed"] == pytest.approx(1.0)
        assert 0 <= d["share_param"] <= 1
    assert d["seed_low"] <= d["mean"] + 1e-9 and d["mean"] <= d["seed_high"] + 1e-9
    assert y.mean(axis=1).min() - 1e-9 <= d["param_low"] <= d["param_high"] <= y.mean(axis=1).max() + 1e-9
    k, s = y.shape
    per_draw = np.array(shift[:k])[:, None]               # a constant per draw moves no seed part
    assert variance_decomposition(y + per_draw)["var_seed"] == pytest.approx(d["var_seed"], rel=1e-6, abs=1e-6)
    per_seed = np.array(shift[:s])[None, :]               # a constant per seed (common to draws) no parameter part
    assert variance_decomposition(y + per_seed)["var_param"] == pytest.approx(d["var_param"], rel=1e-6, abs=1e-6)


# ------------------------------------------------------------------------------------ the model runs
def test_a_deterministic_parameter_effect_is_all_parameter_variance(cmp):
    """jk_cocreation's perceived risk depends on the agreement's strength and on no random draw: its level and its
    difference to status_quo have a seed part of exactly 0 and a parameter share of 1."""
    v = cmp.values.set_index(["scenario", "draw", "seed"])["perceived_risk_mean"]
    jk = [v[("jk_cocreation", d, 0)] for d in (0, 1)]
    sq = v[("status_quo", 0, 0)]
    assert jk[0] != jk[1]
    r = _row(cmp, "jk_cocreation", "perceived_risk_mean")
    assert r["sd_seed"] == 0 and r["share_param"] == 1.0 and r["sd_param"] == pytest.approx(abs(jk[1] - jk[0]) / 2 ** 0.5)
    assert r["diff_sd_seed"] == 0 and r["diff_share_param"] == 1.0 and r["diff_share_seed"] == 0.0
    assert r["diff_mean"] == pytest.approx(np.mean(jk) - sq)
    assert (r["diff_param_low"], r["diff_param_high"]) == pytest.approx(tuple(np.percentile(np.array(jk) - sq,
                                                                                            [2.5, 97.5])))
    assert r["diff_seed_low"] == r["diff_seed_high"] == pytest.approx(r["diff_mean"])
    assert "(100%)" in cmp.text() and "Δ" in cmp.text()


def test_a_gated_parameter_leaves_the_reference_with_seed_noise_only(cmp):
    """The strength is gated in status_quo: its runs are the same for both draws, so its parameter part is 0 on
    every metric, and its seed part is the variance over seeds of the plain comparison."""
    for m in METRICS:
        assert _row(cmp, "status_quo", m)["sd_param"] == 0
    plain = compare_scenarios(["status_quo"], seeds=2, quarters=3, metrics=["supply_shortfall"])
    r = _row(cmp, "status_quo", "supply_shortfall")
    assert r["sd_seed"] > 0 and r["share_seed"] == 1.0
    assert r["sd_seed"] == pytest.approx(plain.table["sd"].iloc[0])
    assert r["mean"] == pytest.approx(plain.table["mean"].iloc[0])
    assert np.isnan(r["diff_mean"])                                # the reference has no difference to itself


def test_each_run_is_the_scenario_with_the_draw_applied_on_common_seeds(cmp):
    model = run_scenario("jk_cocreation", seed=1, quarters=3, overrides={STRENGTH: 0.8})
    want = reduce_runs(model.metrics(), METRICS).iloc[0]
    got = cmp.values.set_index(["scenario", "draw", "seed"]).loc[("jk_cocreation", 1, 1)]
    for m in METRICS:
        assert got[m] == pytest.approx(want[m], nan_ok=True)
    assert len(cmp.values) == 2 * 2 * 2 and cmp.draws == [0, 1] and cmp.seeds == [0, 1]


def test_identical_draws_give_a_parameter_part_of_zero(tmp_path):
    post = _draws(tmp_path, {"draw": [0, 1], "params.hurdle": [1.1, 1.1]})
    c = compare_scenarios(SCENARIOS, seeds=2, quarters=3, metrics=["supply_shortfall", "capacity_building"],
                          posterior=post)
    assert (c.table["sd_param"] == 0).all() and (c.table["share_param"].fillna(0) == 0).all()
    diff = c.table[c.table["scenario"] == "jk_cocreation"]
    assert (diff["diff_sd_param"] == 0).all()
    assert (c.table["sd_seed"] > 0).any()


def test_same_inputs_give_the_same_output_from_a_file_a_dataframe_or_processes(cmp, posterior_dir):
    frame = pd.read_csv(posterior_dir / "draws.csv")
    again = compare_scenarios(SCENARIOS, seeds=2, quarters=3, metrics=METRICS, posterior=frame)
    pd.testing.assert_frame_equal(again.table, cmp.table)
    pd.testing.assert_frame_equal(again.values, cmp.values)
    procs = compare_scenarios(SCENARIOS, seeds=2, quarters=3, metrics=METRICS, posterior=posterior_dir / "draws.csv",
                              backend="processes", workers=2)
    pd.testing.assert_frame_equal(procs.table, cmp.table)
    assert procs.backend == "processes ×2"


def test_the_first_k_draws_by_draw_number(tmp_path):
    post = _draws(tmp_path, {"draw": [1, 0, 2], STRENGTH: [0.8, 0.2, 0.5]})
    c = compare_scenarios(["jk_cocreation"], seeds=2, quarters=1, metrics=["perceived_risk_mean"], posterior=post,
                          draws=2)
    assert c.draws == [0, 1] and c.posterior[STRENGTH].tolist() == [0.2, 0.8]


# ------------------------------------------------------------------------------------ bad input
@pytest.mark.parametrize("rows, kwargs, match", [
    ({"draw": [0, 1], "params.no_such": [1.0, 1.1]}, {}, "column 'params.no_such' is not a scenario parameter path"),
    ({"draw": [0, 1], "params": [1.0, 1.1]}, {}, "column 'params' is not a scenario parameter path"),
    ({"draw": [0, 1], "cocreation.fund.enabled": [1, 0]}, {}, "is a bool parameter; expected a numeric"),
    ({"draw": [0, 1], "params.hurdle": [1.0, "x"]}, {}, r"column 'params.hurdle' has 'x' in draw 1"),
    ({"hurdle": [0, 1], "params.hurdle": [1.0, 1.1]}, {}, "no 'draw' column"),
    ({"draw": [0, 0], "params.hurdle": [1.0, 1.1]}, {}, "column 'draw'.*distinct whole numbers"),
    ({"draw": [0, 1], "params.hurdle": [1.0, -1.0]}, {}, "draw 1 in scenario status_quo: .*params.hurdle"),
    ({"draw": [0, 1], "params.hurdle": [1.0, 1.1]}, {"draws": 3}, r"--draws 3: expected a whole number from 1 to 2"),
    ({"draw": [0, 1], "params.hurdle": [1.0, 1.1]}, {"draws": 0}, r"--draws 0: expected a whole number from 1 to 2"),
    ({"draw": [0, 1], "params.hurdle": [1.0, 1.1]}, {"seeds": 1}, r"--seeds 1: expected ≥ 2 with --posterior"),
    ({"draw": [0, 1], "params.hurdle": [1.0, 1.1]}, {"overrides": {"params__hurdle": 1.0}},
     "--set params.hurdle: also a column of the posterior"),
    ({"draw": [0, 1], "params.hurdle": [1.0, 1.1]}, {"backend": "dask"}, "--backend 'dask': expected one of"),
])
def test_bad_posteriors_are_one_line_user_errors(tmp_path, rows, kwargs, match):
    post = _draws(tmp_path, rows)
    kwargs = {"seeds": 2, **kwargs}
    with pytest.raises(UserError, match=match) as err:
        compare_scenarios(["status_quo"], quarters=1, metrics=["share_US"], posterior=post, **kwargs)
    assert "\n" not in str(err.value)


def test_a_posterior_path_without_draws_csv(tmp_path):
    with pytest.raises(UserError, match="no draws.csv in this directory"):
        load_posterior(tmp_path)
    with pytest.raises(UserError, match="no such file or directory"):
        load_posterior(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("draw,params.hurdle\n")
    with pytest.raises(UserError, match="no draws"):
        load_posterior(tmp_path / "empty.csv")
    with pytest.raises(UserError, match="only used with a posterior"):
        compare_scenarios(["status_quo"], seeds=2, quarters=1, metrics=["share_US"], draws=2)


# ------------------------------------------------------------------------------------ the command
def test_kyoso_compare_posterior_prints_and_writes(tmp_path, posterior_dir, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", *SCENARIOS, "--seeds", "2", "--quarters", "3", "--metrics", "perceived_risk_mean",
                 "share_US", "--posterior", str(posterior_dir), "--draws", "2", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "2 posterior draws" in printed and "sd θ" in printed and "8 runs in" in printed
    csv = pd.read_csv(out / "compare.csv")
    assert len(csv) == 4 and {"mean", "param_low", "param_high", "seed_low", "seed_high", "sd_param", "sd_seed",
                              "share_param", "share_seed", "diff_share_param", "diff_sd_seed",
                              "mean_display", "unit"} <= set(csv.columns)
    share = csv[(csv["metric"] == "share_US") & (csv["scenario"] == "status_quo")].iloc[0]
    assert share["mean_display"] == pytest.approx(100 * share["mean"]) and share["unit"] == "%"
    runs = pd.read_csv(out / "compare_runs.csv")
    assert len(runs) == 8 and STRENGTH in runs.columns and set(runs["draw"]) == {0, 1}
    tex = (out / "compare.tex").read_text()
    assert tex.startswith(r"\begin{tabular}") and r"$\theta$" in tex and "_" not in tex.replace(r"\_", "")


def test_kyoso_compare_posterior_user_errors(tmp_path, posterior_dir, capsys):
    assert main(["compare", "status_quo", "--seeds", "2", "--quarters", "1", "--posterior", str(tmp_path)]) == 2
    assert "no draws.csv" in capsys.readouterr().err
    assert main(["compare", "status_quo", "--seeds", "2", "--quarters", "1", "--draws", "2"]) == 2
    assert "--draws 2: only used with --posterior" in capsys.readouterr().err
    assert main(["compare", "status_quo", "--seeds", "2", "--quarters", "1", "--posterior", str(posterior_dir),
                 "--workers", "2"]) == 2
    assert "only used with --backend processes" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["compare", "status_quo", "--posterior", str(posterior_dir), "--draws", "0"])
    res = subprocess.run([sys.executable, "-m", "experiments.cli", "compare", "status_quo", "--quarters", "1",
                          "--posterior", str(posterior_dir), "--draws", "5"], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert res.stderr.strip().count("\n") == 0 and "--draws 5: expected a whole number from 1 to 2" in res.stderr


def test_draws_run_with_the_settings_they_were_estimated_under(tmp_path):
    """A posterior directory's estimate.json names the estimation's fixed settings (here the value mode of the
    location logit, in which w_value acts); every draw runs with them, the text says so, and --set wins."""
    import json

    from experiments.compare import posterior_settings

    d = tmp_path / "est"
    d.mkdir()
    pd.DataFrame({"draw": [0, 1], "params.w_value": [0.0, 40.0]}).to_csv(d / "draws.csv", index=False)
    assert posterior_settings(d) == {}
    (d / "estimate.json").write_text(json.dumps({"fixed": {"params.location_money": "value"}}))
    assert posterior_settings(d) == posterior_settings(d / "draws.csv") == {"params.location_money": "value"}
    kw = dict(seeds=2, quarters=6, metrics=["share_US"])
    on = compare_scenarios(["baseline"], posterior=d, **kw)
    assert "params.location_money = value" in on.text()
    off = compare_scenarios(["baseline"], posterior=d, overrides={"params.location_money": "terms"}, **kw)
    # in the terms mode w_value does not act: both draws give the same runs; in the value mode they differ
    v_on, v_off = on.values.pivot(index="draw", columns="seed", values="share_US"), \
        off.values.pivot(index="draw", columns="seed", values="share_US")
    assert (v_off.loc[0] == v_off.loc[1]).all() and not (v_on.loc[0] == v_on.loc[1]).all()


def test_an_estimate_without_recorded_settings_reads_them_from_its_estimation_file(tmp_path):
    """estimate.json written before kyoso recorded 'fixed' names its estimation file; its [fixed] table is used."""
    from pathlib import Path

    from experiments.compare import estimate_settings

    folder = Path(__file__).resolve().parents[1] / "experiments" / "estimation"
    assert estimate_settings({"file": str(folder / "history.toml")}) == {"params.location_money": "value"}
    assert estimate_settings({"file": str(folder / "history_terms.toml")}) == {}
    assert estimate_settings({"file": str(tmp_path / "gone.toml")}) == {}
    assert estimate_settings({"fixed": {"params.hurdle": 1.2}, "file": str(folder / "history.toml")}) == {
        "params.hurdle": 1.2}
