"""The outcomes API: one reducer for a run's metrics (ChipModel, tables dict, sweeps, compare, analyze --at)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments import outcomes, reduce_runs
from experiments.errors import UserError
from experiments.sensitivity import human, human_interval, parse_at, run_values, t_interval
from model import ChipModel


@pytest.fixture(scope="module")
def model():
    m = ChipModel("baseline", rng=1)
    m.run(6)
    return m


def test_outcomes_of_a_model_and_of_its_tables_agree(model):
    names = ["share_US", "supply_shortfall", "subsidy_paid_cumulative"]
    table = model.metrics()
    for at in ("final", "mean", "max", "min", 3, "2025Q4"):
        got = outcomes(model, names, at=at)
        assert got == outcomes(model.tables(), names, at=at) == outcomes(table, names, at=at)
        assert set(got) == set(names) and all(isinstance(v, float) for v in got.values())
    body = table[table["step"] >= 1]                  # mean, max, min leave out the initial state
    assert outcomes(model, names)["share_US"] == table["share_US"].iloc[-1]
    assert outcomes(model, "share_US", at="mean")["share_US"] == pytest.approx(body["share_US"].mean())
    assert outcomes(model, "supply_shortfall", at="max")["supply_shortfall"] == body["supply_shortfall"].max()
    assert outcomes(model, "supply_shortfall", at="min")["supply_shortfall"] == body["supply_shortfall"].min()
    assert outcomes(model, "share_US", at="2025Q4") == outcomes(model, "share_US", at=3) \
        == {"share_US": table.loc[table["step"] == 3, "share_US"].item()}
    assert outcomes(model, "share_US", at=np.int64(3)) == outcomes(model, "share_US", at="3")


def test_outcomes_errors_point_at_the_answer(model):
    with pytest.raises(UserError, match="did you mean share_US"):
        outcomes(model, "share_USA")
    with pytest.raises(UserError, match="not a quarter of every run .*2025Q1–2026Q3"):
        outcomes(model, "share_US", at="2040Q1")
    for bad in ("median", "2030Q5", -1, 1.5):
        with pytest.raises(ValueError, match="at"):
            parse_at(bad)


def test_reduce_runs_by_run_matches_run_values():
    rows = [{"run_id": f"r{r}", "point": r // 2, "replication": r % 2, "seed": r, "p.x": float(r // 2),
             "step": s, "quarter": f"2025Q{s + 1}", "m": float(10 * r + s)} for r in range(4) for s in range(3)]
    results = pd.DataFrame(rows)
    red = reduce_runs(results, ["m"], "mean", by="run_id").set_index("run_id")["m"]
    assert red.to_dict() == {"r0": 1.5, "r1": 11.5, "r2": 21.5, "r3": 31.5}
    vals = run_values(results, "m", "final", ["p.x"])
    assert vals["value"].tolist() == [2.0, 12.0, 22.0, 32.0] and vals["p.x"].tolist() == [0.0, 0.0, 1.0, 1.0]
    assert run_values(results, "m", "2025Q2", ["p.x"])["value"].tolist() == [1.0, 11.0, 21.0, 31.0]


def test_human_numbers_and_t_interval():
    assert (human(0.0123), human(12345.6), human(12.345), human(0.0), human(float("nan"))) == \
        ("0.0123", "12,346", "12.3", "0", "n/a")
    assert human_interval(1.85, -0.76, 4.46, "%") == "1.85 [-0.76, 4.46] %"
    ci = t_interval([1.0, 2.0, 3.0])
    assert ci["mean"] == 2.0 and ci["n"] == 3 and ci["ci_low"] == pytest.approx(2 - 4.303 / np.sqrt(3), abs=1e-3)
    assert np.isnan(t_interval([1.0])["ci_low"])
