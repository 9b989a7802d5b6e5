"""Estimation against history (experiments/estimation.py, `kyoso estimate`)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.errors import UserError
from experiments.estimation import (SEMI_REGIONS, Surrogate, estimate, fit_moments, load_estimation, load_targets,
                                    naive_predictions, run_moments, simulated_targets)

DATA = Path(__file__).parent / "data"
RECOVERY = DATA / "estimate_recovery.toml"
TRUE = {"params.hurdle": 1.1, "params.w_home": 2.0}
pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_targets_have_sources_and_measurement_errors():
    t = load_targets()
    assert t["id"].is_unique
    assert (t["source"].str.len() > 10).all() and t["url"].str.startswith("http").all()
    fitted = t[t["role"] == "target"]
    assert (fitted["sd"] > 0).all()
    # Shares of a family that covers every region sum to one (2021-22 starts: 29 fabs; 2021-23: 84).
    for fam in ("starts_2021_22", "starts_2021_23", "share_2024"):
        assert fitted.loc[fitted["family"] == fam, "value"].sum() == pytest.approx(1.0, abs=0.01)
    assert set(fitted["region"]) - {"World"} <= set(SEMI_REGIONS)


def _frame(countries: list[str]) -> pd.DataFrame:
    """A made-up run: 16 quarters from 2021Q1; starts only in CN (2 per quarter) and US (1 per quarter in 2022)."""
    quarters = [f"{2021 + k // 4}Q{k % 4 + 1}" for k in range(17)]
    df = pd.DataFrame({"step": range(17), "quarter": quarters})
    for c in countries:
        df[f"share_{c}"] = 1.0 / len(countries)
        df[f"fab_starts_{c}"] = 0.0
        df[f"fab_capex_{c}"] = 0.0
    df.loc[df["step"] > 0, "fab_starts_CN"] = 2.0
    df.loc[df["quarter"].str.startswith("2022"), "fab_starts_US"] = 1.0
    df.loc[df["quarter"].str.startswith("2022"), "fab_capex_US"] = 3.0
    df.loc[df["quarter"] == "2022Q4", "share_CN"] = 1.0 / len(countries) + 0.05
    return df


def test_run_moments_on_a_known_run():
    countries = ["CN", "US", "JP", "KR", "TW", "EU", "SG", "IN"]
    t = load_targets()
    t = t[t["role"] == "target"]
    m = run_moments(_frame(countries), t, countries)
    # 2021 (steps 1-3): 6 CN starts; 2022: 8 CN + 4 US → CN 14/18 of 2021-22.
    assert m["starts_2021_22:China"] == pytest.approx(14 / 18)
    assert m["starts_2021_22:Americas"] == pytest.approx(4 / 18)
    assert m["starts_2021_22:Korea"] == 0.0
    # Starts per quarter: 2021 = 2, 2022 = 3 → growth 1.5; 2023 = 2 → 1.0.
    assert m["starts_growth:2022"] == pytest.approx(1.5)
    assert m["starts_growth:2023"] == pytest.approx(1.0)
    assert m["share_change_2022:China"] == pytest.approx(0.05)
    assert m["share_2024:Southeast Asia"] == pytest.approx(2 / len(countries))      # SG + IN
    assert m["equipment_2022:Europe & Mideast"] == 0.0


def test_naive_rules_follow_current_capacity_shares():
    t = load_targets()
    naive = naive_predictions(t)
    assert naive["starts_2021_23:Korea"] == pytest.approx(0.25)       # SEMI 300mm share of 2022
    assert naive["share_2024:China"] == pytest.approx(0.22)
    assert naive["share_change_2022:Japan"] == 0.0
    assert naive["starts_growth:2023"] == pytest.approx(33 / 23, abs=1e-3)


def test_fit_moments_recovers_a_known_linear_world():
    """Moments that are exact quadratics of the parameters plus noise: the fit finds the truth."""
    rng = np.random.default_rng(0)
    u = rng.random((40, 2))
    truth = np.array([0.3, 0.7])
    a = np.array([[1.0, 0.2], [0.1, -0.8], [0.5, 0.5], [-0.4, 0.3]])

    def m(x):
        return x @ a.T + 0.3 * x[..., :1] ** 2

    reps = 3
    point = np.repeat(np.arange(40), reps)
    sims = m(u[point]) + 0.002 * rng.standard_normal((len(point), 4))
    targets = pd.DataFrame({"id": [f"t{k}" for k in range(4)], "value": m(truth[None, :])[0], "sd": 0.01})
    fit = fit_moments(u, point, sims, targets, np.ones(4, bool), ["a", "b"], np.array([[0.0, 1.0], [0.0, 1.0]]),
                      [False, False], reps)
    assert fit.point["a"] == pytest.approx(0.3, abs=0.02)
    assert fit.point["b"] == pytest.approx(0.7, abs=0.02)
    for n in ("a", "b"):
        lo, hi = fit.ci[n]
        assert lo < {"a": 0.3, "b": 0.7}[n] < hi
        assert fit.se[n] < 0.05
    # A moment that depends on nothing leaves a parameter unidentified: its interval spans the range.
    flat = fit_moments(u, point, np.column_stack([sims[:, 0], np.zeros(len(point))]) * [1, 0],
                       targets.iloc[:2].assign(value=[m(truth[None, :])[0][0], 0.0]), np.array([False, True]),
                       ["a", "b"], np.array([[0.0, 1.0], [0.0, 1.0]]), [False, False], reps)
    assert not flat.identification["pinned"].any()


def test_surrogate_is_exact_on_a_quadratic():
    rng = np.random.default_rng(1)
    u = rng.random((30, 3))
    y = (1 + u[:, 0] - 2 * u[:, 1] * u[:, 2] + u[:, 2] ** 2)[:, None]
    s = Surrogate.fit(u, y)
    assert s.r2[0] == pytest.approx(1.0)
    assert s(np.array([0.5, 0.5, 0.5]))[0, 0] == pytest.approx(1 + 0.5 - 0.5 + 0.25)


@pytest.fixture(scope="module")
def recovery(tmp_path_factory):
    out = tmp_path_factory.mktemp("est") / "rec"
    targets = simulated_targets(RECOVERY, TRUE, replications=4)
    summary = estimate(RECOVERY, out, backend="serial", progress=False, targets=targets)
    return out, summary, targets


def test_known_parameters_are_estimated_back_within_their_intervals(recovery):
    out, s, _ = recovery
    for name, true in TRUE.items():
        lo, hi = s["ci95"][name]
        assert lo <= true <= hi, (name, s["point"][name], (lo, hi))
    # The hurdle is pinned down: its interval is inside its range (0.8-1.4) and the estimate is near.
    lo, hi = s["ci95"]["params.hurdle"]
    assert hi - lo < 0.7 * 0.6                     # an unidentified parameter would span all 0.6
    assert abs(s["point"]["params.hurdle"] - 1.1) < 0.1


def test_estimation_outputs(recovery):
    out, s, _ = recovery
    for f in ("estimate.json", "draws.csv", "fit.csv", "scores.csv", "identification.csv", "estimated.toml"):
        assert (out / f).is_file(), f
    draws = pd.read_csv(out / "draws.csv")
    assert list(draws.columns) == ["draw", *TRUE]
    assert len(draws) == 20
    assert draws["params.hurdle"].between(0.8, 1.4).all()
    fit = pd.read_csv(out / "fit.csv")
    assert set(fit["sample"]) == {"in"}                        # split 2024: every target fitted
    text = (out / "estimated.toml").read_text()
    assert 'base = "baseline"' in text and "hurdle = " in text
    from model.scenario import load_scenario
    sc = load_scenario(out / "estimated.toml")
    assert sc.params.hurdle == pytest.approx(s["point"]["params.hurdle"], rel=1e-5)


def test_resume_after_interruption_gives_the_same_estimate(recovery, tmp_path):
    out, s, targets = recovery
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    runs = sorted((copy / "design" / "runs").glob("*.parquet"))
    for f in runs[len(runs) // 2:]:                          # as if stopped halfway through the design
        f.unlink()
    shutil.rmtree(copy / "check")
    (copy / "estimate.json").unlink()
    with pytest.raises(UserError, match="--resume"):
        estimate(RECOVERY, copy, backend="serial", progress=False, targets=targets)
    again = estimate(RECOVERY, copy, backend="serial", progress=False, targets=targets, resume=True)
    assert again["point"] == s["point"]
    assert again["se"] == s["se"]


def test_bad_estimation_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_estimation(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text(RECOVERY.read_text().replace('design = "lhs"', 'design = "grid"'))
    with pytest.raises(UserError, match="design = 'grid'"):
        load_estimation(bad)
    bad.write_text(RECOVERY.read_text().replace("split = 2024", "split = 1990"))
    with pytest.raises(UserError, match="split"):
        load_estimation(bad)
    bad.write_text(RECOVERY.read_text().replace("params.w_home", "params.w_nothing"))
    with pytest.raises(UserError, match="w_nothing"):
        load_estimation(bad)


def test_cli_reports_bad_input_in_one_line(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "experiments.cli", "estimate", str(tmp_path / "x.toml"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "not found" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


@pytest.fixture(scope="module")
def quick_serial(recovery, tmp_path_factory):
    """The recovery estimation with the quick design (16 points × 2 replications), run serially."""
    _, _, targets = recovery
    out = tmp_path_factory.mktemp("est") / "quick_serial"
    return estimate(RECOVERY, out, backend="serial", progress=False, quick=True, targets=targets), targets


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["processes", "dask"])
def test_backends_give_the_serial_estimate(quick_serial, tmp_path, backend):
    pytest.importorskip("distributed")
    s, targets = quick_serial
    other = estimate(RECOVERY, tmp_path / backend, backend=backend, workers=2, progress=False, quick=True,
                     targets=targets)
    assert other["point"] == s["point"]
    assert json.loads((tmp_path / backend / "estimate.json").read_text())["se"] == s["se"]


def test_value_mode_estimation_reads_its_location_scenario_beside_the_file():
    """history.toml names a scenario file beside it; the announced sites are then scored in value mode, where
    w_value takes the subsidy slot and w_subsidy does not act (ODD 7.5, 12.2); history_terms.toml scores them with
    the baseline's separate money terms."""
    from experiments.estimation import LOCATION_PARAMS, location_data, location_likelihood

    folder = Path(__file__).resolve().parents[1] / "experiments" / "estimation"
    est = load_estimation(folder / "history.toml")
    assert est.sweep.fixed["params.location_money"] == "value"
    terms = load_estimation(folder / "history_terms.toml")
    assert {"params.w_subsidy", "params.w_risk"} <= set(terms.sweep.parameters) and not terms.sweep.fixed
    assert Path(est.spec.location_scenario) == folder / "baseline_value.toml"
    assert "params.w_value" in LOCATION_PARAMS and "params.w_value" in est.sweep.parameters
    loc = location_data(est.spec.location_scenario)
    assert loc.mode == "value"
    a = location_likelihood(loc, {"params.w_value": 0.5})
    assert location_likelihood(loc, {"params.w_value": 3.0}) != a
    assert location_likelihood(loc, {"params.w_value": 0.5, "params.w_subsidy": 30.0}) == a


def test_estimated_scenario_keeps_the_settings_the_estimate_was_made_under(tmp_path: Path):
    """estimated.toml carries the estimation file's [fixed] settings (here the value mode of the location logit)
    beside the point estimate, so the scenario reproduces the model that was estimated; it loads as a scenario."""
    import tomllib
    from types import SimpleNamespace

    from experiments.estimation import estimated_toml
    from model.scenario import load_scenario

    folder = Path(__file__).resolve().parents[1] / "experiments" / "estimation"
    est = load_estimation(folder / "history.toml")
    names = list(est.sweep.parameters)
    fit = SimpleNamespace(names=names, point={n: 0.5 for n in names}, se={n: 0.1 for n in names},
                          ci={n: (0.3, 0.7) for n in names})
    text = estimated_toml(fit, est)
    assert tomllib.loads(text)["params"]["location_money"] == "value"
    (tmp_path / "estimated.toml").write_text(text)
    spec = load_scenario(tmp_path / "estimated.toml")
    assert spec.params.location_money == "value" and spec.params.w_value == 0.5
    assert spec.params.expectation_speed == 0.5
