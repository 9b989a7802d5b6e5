"""The lever table (experiments/levers.py, ``kyoso levers``): the registry, a quick rebuild, its cells, bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.cli import main
from experiments.errors import UserError
from experiments.levers import (COLUMNS, LEVERS, SECONDARY, Lever, check_levers, format_cell, lever_table,
                                parse_cell)
from model.metrics import catalog
from model.scenario import load_scenario
from model.scenario.schema import Cocreation, Government

QUICK = {"seeds": 2, "quarters": 8}
#: Overrides that set the reference's own values: a lever that must have no effect at all.
NULL = Lever("null_us_rate", "US subsidy rate set to its baseline value", "policy", "baseline",
             {"governments.US.subsidy_rate": 0.10}, "A control: the override repeats the baseline value.")


@pytest.fixture(scope="module")
def quick():
    return lever_table(["us_tariff", "cc_fund_stage_gated", NULL], **QUICK)


# ------------------------------------------------------------------ the registry
def test_every_cocreation_lever_and_policy_instrument_is_in_the_registry():
    paths = [p for lv in LEVERS for p in {**lv.overrides, **lv.reference}]
    for lever in (f for f in Cocreation.model_fields if f != "members"):
        assert any(p.startswith(f"cocreation.{lever}.") for p in paths), lever
    assert {lv.overrides.get("cocreation.fund.mode") for lv in LEVERS} >= {"lump_sum", "stage_gated"}
    assert any(lv.overrides.get("cocreation.ip.regime") == "licence" for lv in LEVERS)
    # Every field of a government is an instrument with a lever, except its identity, its market and the settings
    # of an instrument's rule (a new instrument in the schema fails here until the registry has a lever for it).
    not_instruments = {"name", "bloc", "market_share", "source", "tariff_exempt", "target_adjustment",
                       "max_subsidy_rate", "condition_cap"}
    instruments = set(Government.model_fields) - not_instruments
    assert {"subsidy_rate", "budget", "tax_credit", "tariff", "conditions", "screens_concern", "guardrail_years",
            "strategic_target", "condition_drift", "tit_for_tat"} <= instruments
    for instrument in sorted(instruments):
        assert any(p.split(".")[2] == instrument for p in paths if p.startswith("governments.")), instrument


def test_every_lever_moves_something_from_its_reference():
    """A lever's overrides change the scenario it starts from (no lever is a no-op by mistake)."""
    for lv in LEVERS:
        ref = load_scenario(lv.base, **lv.reference)
        lev = load_scenario(lv.scenario or lv.base, **{**lv.reference, **lv.overrides})
        assert ref.model_dump(exclude={"meta"}) != lev.model_dump(exclude={"meta"}), lv.name
        assert lv.base in ("baseline", "status_quo") and lv.kind in ("co-creation", "policy"), lv.name
        assert lv.label and lv.note, lv.name
    assert len({lv.name for lv in LEVERS}) == len(LEVERS)


def test_columns_are_metrics_of_the_registry():
    names = set(catalog("status_quo"))
    for col in (*COLUMNS, *SECONDARY):
        assert col.metric in names, col.metric
        assert col.at in ("final", "mean")


def test_check_accepts_every_lever_without_running():
    check_levers(None, seeds=2, quarters=4)


# ------------------------------------------------------------------ a quick rebuild
def test_quick_table_has_one_row_per_lever_and_every_cell_parses(quick):
    cells = quick.cells()
    assert list(cells.index) == ["us_tariff", "cc_fund_stage_gated", "null_us_rate"]
    assert len(cells.columns) == len(COLUMNS)
    for name, row in cells.iterrows():
        for col, cell in row.items():
            parsed = parse_cell(cell)
            if parsed is None:                  # n/a: the metric is NaN in a run (no JP–KR partnership, say)
                continue
            mean, low, high = parsed
            assert low <= mean <= high, (name, col, cell)
    assert len(quick.table) == 3 * (len(COLUMNS) + len(SECONDARY))
    assert set(quick.table["n"]) <= {0, 1, 2}


def test_a_lever_known_to_act_shows_its_effect(quick):
    t = quick.table.set_index(["lever", "metric"])
    tariff = t.loc[("us_tariff", "tariff_mean")]
    # The US tariff of 25% on all imports, weighted by the US market share of 0.30 and averaged over the 11
    # countries that export to it (12 countries), raises the mean tariff by 0.25 × 0.30 × 11/12 in every quarter.
    assert tariff["diff"] == pytest.approx(0.25 * 0.30 * 11 / 12, rel=1e-6)
    assert tariff["significant"]
    fund = t.loc[("cc_fund_stage_gated", "projects_active")]
    assert fund["reference_mean"] == 0 and fund["diff"] > 0
    assert "us_tariff" not in quick.flagged()


def test_a_lever_that_changes_nothing_has_zero_effect_and_is_flagged(quick):
    null = quick.table[quick.table["lever"] == "null_us_rate"]
    finite = null[np.isfinite(null["diff"])]
    assert (finite["diff"] == 0).all() and (finite["diff_low"] == 0).all() and not finite["significant"].any()
    assert "null_us_rate" in quick.flagged() and "null_us_rate" in quick.quiet()
    md = quick.markdown("kyoso levers --quick")
    assert "### `null_us_rate` — **no measurable effect**" in md
    assert NULL.note in md


def test_markdown_table_has_a_row_per_lever_and_a_column_per_metric(quick):
    md = quick.markdown("kyoso levers --quick --lever us_tariff")
    assert "kyoso levers --quick --lever us_tariff" in md
    rows = [line for line in md.splitlines() if line.startswith("| `")]
    assert len(rows) == 3
    header = next(line for line in md.splitlines() if line.startswith("| lever |"))
    assert header.count("|") == len(COLUMNS) + 2
    assert all(r.count("|") == len(COLUMNS) + 2 for r in rows)


# ------------------------------------------------------------------ cells
def test_cells_format_and_parse():
    assert format_cell(1.234, 0.81, 1.62) == "+1.2 (0.8 to 1.6)"
    assert format_cell(-0.0123, -0.02, -0.004, significant=True) == "**-0.012 (-0.020 to -0.004)**"
    assert format_cell(0.0, 0.0, 0.0) == "0 (0 to 0)"
    assert format_cell(float("nan"), float("nan"), float("nan")) == "n/a"
    assert parse_cell("**+1,087 (649 to 1,525)**") == (1087.0, 649.0, 1525.0)
    assert parse_cell("n/a") is None
    with pytest.raises(ValueError, match="not a lever-table cell"):
        parse_cell("1.2 [0.8, 1.6]")


@settings(max_examples=200, deadline=None)
@given(st.floats(-1e5, 1e5), st.floats(0, 1e5), st.booleans())
def test_cells_round_trip_keep_the_order_of_mean_and_bounds(mean, half, bold):
    cell = format_cell(mean, mean - half, mean + half, significant=bold)
    m, low, high = parse_cell(cell)
    assert low <= m <= high
    scale = max(abs(mean - half), abs(mean + half), abs(mean))
    assert math.isclose(m, mean, abs_tol=0.06 * scale + 1e-6)


# ------------------------------------------------------------------ bad input
def test_unknown_lever_is_one_line_naming_it():
    with pytest.raises(UserError, match=r"--lever 'us_tarif': unknown lever \(did you mean 'us_tariff'"):
        lever_table(["us_tarif"], **QUICK)


@pytest.mark.parametrize("seeds", [1, 0, -3])
def test_fewer_than_two_seeds_is_an_error(seeds):
    with pytest.raises(UserError, match=rf"--seeds {seeds}: expected a whole number ≥ 2"):
        lever_table(["us_tariff"], seeds=seeds, quarters=4)


def test_a_lever_named_twice_is_an_error():
    with pytest.raises(UserError, match="named twice"):
        check_levers(["us_tariff", "us_tariff"], seeds=2, quarters=4)


def test_cli_errors_are_one_line_and_write_nothing(tmp_path, capsys):
    out = tmp_path / "levers"
    assert main(["levers", "--quick", "--lever", "nope", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--lever 'nope': unknown lever" in err
    assert main(["levers", "--seeds", "1", "--lever", "us_tariff", "--out", str(out)]) == 2
    assert "--seeds 1: expected a whole number ≥ 2" in capsys.readouterr().err
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["levers", "--quick", "--lever", "us_tariff", "--out", str(blocker)]) == 2
    assert "--out" in capsys.readouterr().err
    assert not out.exists() and blocker.read_text() == "x"


def test_cli_quick_writes_csv_and_markdown(tmp_path, capsys):
    out, doc = tmp_path / "levers", tmp_path / "LEVERS.md"
    assert main(["levers", "--quick", "--quarters", "6", "--lever", "us_tariff", "--out", str(out),
                 "--markdown", str(doc)]) == 0
    text = capsys.readouterr().out
    assert "us_tariff" in text and f"wrote {out / 'levers.csv'}" in text
    assert (out / "levers.md").read_text() == doc.read_text()
    assert "kyoso levers --quick --quarters 6 --lever us_tariff" in doc.read_text()
    import pandas as pd

    csv = pd.read_csv(out / "levers.csv")
    assert set(csv["lever"]) == {"us_tariff"} and len(csv) == len(COLUMNS) + len(SECONDARY)
    assert not list(tmp_path.glob("**/*.tmp-*"))
