"""``kyoso compare``: scenarios on common seeds, intervals, paired differences, CSV and LaTeX."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from experiments.cli import main
from experiments.compare import compare_scenarios

METRICS = ["share_US", "supply_shortfall", "subsidy_paid_cumulative"]


@pytest.fixture(scope="module")
def comparison():
    return compare_scenarios(["status_quo", "jk_cocreation"], seeds=3, quarters=4, metrics=METRICS)


def test_compare_scenarios_pairs_on_common_seeds(comparison):
    t = comparison.table.set_index(["scenario", "metric"])
    assert comparison.seeds == [0, 1, 2] and (t["n"] == 3).all()
    assert (t["ci_low"] <= t["mean"]).all() and (t["mean"] <= t["ci_high"]).all()
    assert t.loc["status_quo", "diff"].isna().all()              # the reference has no difference to itself
    a, b = comparison.values["status_quo"], comparison.values["jk_cocreation"]
    for m in METRICS:                                            # the paired difference is per seed
        assert t.loc[("jk_cocreation", m), "diff"] == pytest.approx((b[m] - a[m]).mean())
        assert t.loc[("jk_cocreation", m), "diff"] == pytest.approx(t.loc[("jk_cocreation", m), "mean"]
                                                                    - t.loc[("status_quo", m), "mean"])
    shown = comparison.display_table().set_index(["scenario", "metric"])
    assert (shown["ci_low"] >= 0).all()                          # shares and amounts: intervals cut at 0
    us = ("status_quo", "share_US")
    assert shown.loc[us, "mean"] == pytest.approx(100 * t.loc[us, "mean"])
    again = comparison.reduce(["supply_shortfall"], at="max")    # the same runs, another reduction
    assert again.seeds == comparison.seeds and again.table["mean"].iloc[0] == pytest.approx(
        pd.Series([r.loc[r["step"] >= 1, "supply_shortfall"].max() for r in comparison.frames["status_quo"]]).mean())
    text = comparison.text()
    assert "US share of world fab capacity (%)" in text and "Δ" in text and "95%" in text


def test_same_scenario_twice_is_refused():
    with pytest.raises(Exception, match="named twice"):
        compare_scenarios(["status_quo", "status_quo"], seeds=2, quarters=1)


def test_kyoso_compare_prints_and_writes_csv_and_latex(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "status_quo", "jk_cocreation", "--seeds", "2", "--quarters", "3",
                 "--metrics", "share_US", "supply_shortfall", "--at", "max", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "maximum over the quarters" in printed and "supply shortfall" in printed and "jk_cocreation" in printed
    csv = pd.read_csv(out / "compare.csv")
    assert set(csv["scenario"]) == {"status_quo", "jk_cocreation"} and len(csv) == 4
    assert {"mean", "ci_low", "ci_high", "diff", "diff_low", "diff_high", "unit", "mean_display"} <= set(csv.columns)
    share = csv[csv["metric"] == "share_US"].iloc[0]
    assert share["mean_display"] == pytest.approx(100 * share["mean"]) and share["unit"] == "%"
    tex = (out / "compare.tex").read_text()
    assert tex.startswith(r"\begin{tabular}") and r"\bottomrule" in tex and r"jk\_cocreation" in tex
    assert r"\%" in tex and "_" not in tex.replace(r"\_", "")


def test_kyoso_compare_user_errors_are_one_line(capsys):
    assert main(["compare", "status_quo", "--seeds", "2", "--quarters", "1", "--metrics", "share_USA"]) == 2
    assert "did you mean share_US" in capsys.readouterr().err
    assert main(["compare", "no_such_scenario", "--seeds", "2"]) == 2
    with pytest.raises(SystemExit):
        main(["compare", "status_quo", "--at", "median"])


def test_kyoso_compare_as_a_user_runs_it():
    res = subprocess.run([sys.executable, "-m", "experiments.cli", "compare", "status_quo", "--seeds", "2",
                          "--quarters", "2", "--metrics", "capacity_fab"], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "operating fab capacity (kwpm)" in res.stdout and "status_quo" in res.stdout
