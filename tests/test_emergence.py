"""The path-dependence measure (experiments/emergence.py) on synthetic run tables, and the sweep file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.emergence import divergence_interval, divergence_summary, leader_divergence, segment_leaders

ROOT = Path(__file__).resolve().parent.parent


def investments(rows):
    """A minimal investments table: (segment, region, country, capacity, deferred)."""
    return pd.DataFrame(rows, columns=["segment", "region", "country", "capacity", "deferred"])


def runs_with_leaders(leaders_by_run: list[dict[str, str]]) -> dict[int, pd.DataFrame]:
    """One run per dict segment → leading region; the leader gets 10, a runner-up 'Z-other' 4."""
    out = {}
    for k, lead in enumerate(leaders_by_run):
        rows = []
        for seg, region in lead.items():
            rows += [(seg, region, region[:2], 6.0, False), (seg, region, region[:2], 4.0, False),
                     (seg, "Z-other", "ZZ", 4.0, False)]
        out[k] = investments(rows)
    return out


def test_leaders_sum_new_capacity_by_region_and_ignore_deferrals():
    run = investments([("logic", "A-1", "AA", 5.0, False), ("logic", "A-1", "AA", 5.0, False),
                       ("logic", "B-1", "BB", 8.0, False), ("logic", "B-1", "BB", 50.0, True),   # deferred: no capacity
                       ("memory", "B-1", "BB", 3.0, False), ("memory", "B-2", "BB", 2.0, False)])
    lead = segment_leaders({"r0": run}).set_index("segment")
    assert lead.loc["logic", "leader"] == "A-1" and lead.loc["logic", "capacity"] == 10.0
    assert lead.loc["logic", "share"] == pytest.approx(10 / 18)
    by_country = segment_leaders({"r0": run}, level="country").set_index("segment")
    assert by_country.loc["memory", "leader"] == "BB" and by_country.loc["memory", "share"] == 1.0
    assert by_country.loc["logic", "leader"] == "AA"        # 10 in AA against 8 in BB (the deferred 50 not counted)


def test_country_level_adds_the_regions_of_a_country():
    run = investments([("logic", "A-1", "AA", 6.0, False), ("logic", "B-1", "BB", 5.0, False),
                       ("logic", "B-2", "BB", 5.0, False)])
    assert segment_leaders({0: run}).iloc[0]["leader"] == "A-1"
    assert segment_leaders({0: run}, level="country").iloc[0]["leader"] == "BB"


def test_same_leader_in_every_seed_is_zero_divergence():
    runs = runs_with_leaders([{"logic": "A-1", "memory": "B-1"}] * 6)
    s = divergence_summary(runs)
    assert s == {"divergence": 0.0, "entropy": 0.0, "segments": 2}
    assert divergence_interval(segment_leaders(runs)) == (0.0, 0.0, 0.0)


def test_a_different_leader_in_every_seed_is_maximal_divergence():
    n = 5
    runs = runs_with_leaders([{"logic": f"R-{k}"} for k in range(n)])
    per = leader_divergence(segment_leaders(runs)).iloc[0]
    assert per["divergence"] == pytest.approx(1 - 1 / n) and per["entropy"] == pytest.approx(1.0)
    assert per["leaders"] == n and per["runs"] == n


def test_divergence_and_entropy_of_a_known_split():
    # logic: 6 seeds A, 2 seeds B → divergence 0.25; memory always C → 0; mean 0.125
    runs = runs_with_leaders([{"logic": "A-1", "memory": "C-1"}] * 6 + [{"logic": "B-1", "memory": "C-1"}] * 2)
    per = leader_divergence(segment_leaders(runs)).set_index("segment")
    assert per.loc["logic", "modal_leader"] == "A-1" and per.loc["logic", "divergence"] == pytest.approx(0.25)
    p = np.array([0.75, 0.25])
    assert per.loc["logic", "entropy"] == pytest.approx(-(p * np.log(p)).sum() / np.log(8))
    assert divergence_summary(runs)["divergence"] == pytest.approx(0.125)
    mean, lo, hi = divergence_interval(segment_leaders(runs))
    assert mean == pytest.approx(0.125) and 0.0 <= lo < mean < hi <= 1.0


def test_runs_without_new_capacity_in_a_segment_are_left_out():
    runs = runs_with_leaders([{"logic": "A-1", "memory": "C-1"}, {"logic": "A-1"}, {"logic": "B-1"}])
    per = leader_divergence(segment_leaders(runs)).set_index("segment")
    assert per.loc["memory", "runs"] == 1 and per.loc["logic", "runs"] == 3
    # memory has a leader in one run only: not averaged
    assert divergence_summary(runs) == {"divergence": pytest.approx(1 / 3), "entropy": pytest.approx(
        -(2 / 3 * np.log(2 / 3) + 1 / 3 * np.log(1 / 3)) / np.log(3)), "segments": 1}


def test_end_measure_reads_the_last_step_of_the_sites_table():
    sites = pd.DataFrame({"run": [0, 0, 0, 0], "step": [0, 0, 4, 4], "segment": ["logic"] * 4,
                          "region": ["A-1", "B-1", "A-1", "B-1"], "capacity": [10.0, 1.0, 10.0, 30.0]})
    assert segment_leaders(sites, measure="end").iloc[0]["leader"] == "B-1"
    assert segment_leaders(sites.assign(deferred=False), measure="new").iloc[0]["leader"] == "B-1"   # 31 vs 20


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["A-1", "B-1", "C-1", "D-1"]), min_size=2, max_size=2),
                min_size=2, max_size=12))
def test_divergence_is_bounded_and_invariant_to_relabelling(leads):
    runs = runs_with_leaders([{"logic": a, "memory": b} for a, b in leads])
    s = divergence_summary(runs)
    n = len(leads)
    assert 0.0 <= s["divergence"] <= 1 - 1 / n + 1e-12 and 0.0 <= s["entropy"] <= 1.0 + 1e-12
    swap = {"A-1": "D-1", "D-1": "A-1", "B-1": "C-1", "C-1": "B-1"}
    relabelled = runs_with_leaders([{"logic": swap[a], "memory": swap[b]} for a, b in leads])
    assert divergence_summary(relabelled) == pytest.approx(s)
    mean, lo, hi = divergence_interval(segment_leaders(runs))
    assert mean == pytest.approx(s["divergence"])
    assert (lo <= mean <= hi) or (np.isnan(lo) and np.isnan(hi))


@pytest.mark.parametrize("kwargs, needle", [({"level": "province"}, "level = 'province'"),
                                            ({"measure": "start"}, "measure = 'start'")])
def test_bad_arguments_are_one_line(kwargs, needle):
    runs = runs_with_leaders([{"logic": "A-1"}])
    with pytest.raises(ValueError, match=needle) as err:
        segment_leaders(runs, **kwargs)
    assert "\n" not in str(err.value)


def test_a_table_without_the_needed_columns_is_named():
    with pytest.raises(ValueError, match="missing column.*deferred.*investments"):
        segment_leaders({0: pd.DataFrame({"segment": ["logic"], "region": ["A-1"], "capacity": [1.0]})})
    with pytest.raises(ValueError, match="missing column.*step.*sites"):
        segment_leaders({0: investments([("logic", "A-1", "AA", 1.0, False)])}, measure="end")
    with pytest.raises(ValueError, match="no runs"):
        segment_leaders({})


def test_on_model_tables_the_measure_runs_and_a_lock_in_point_agrees():
    """Two seeds of the baseline at a very strong agglomeration pull: the existing map decides,
    so the memory leader (Korea's largest cluster) is the same in both."""
    from experiments.runner import run_scenario

    inv = {s: run_scenario("baseline", seed=s, quarters=12,
                           overrides={"params.w_agglomeration": 12.0}).tables()["investments"] for s in (0, 1)}
    per = leader_divergence(segment_leaders(inv)).set_index("segment")
    assert per.loc["memory", "divergence"] == 0.0 and per.loc["memory", "modal_leader"].startswith("KR-")


def test_the_sweep_file_is_valid_and_wide():
    from experiments.sweepfile import load_sweep

    sw = load_sweep(ROOT / "experiments" / "sweeps" / "emergence.toml")
    assert sw.names == ["params.w_agglomeration", "params.w_coordination"]
    assert sw.spec.replications >= 8 and 32 <= sw.quarters <= 40
    agg = sw.parameters["params.w_agglomeration"]
    assert min(agg) == 0.0 and max(agg) >= 10 * 0.6          # no feedback up to far above the baseline


def test_the_committed_csv_has_the_grid_and_the_figure_reads_it():
    csv = ROOT / "docs" / "figures" / "emergence.csv"
    assert csv.exists(), "docs/figures/emergence.csv is committed; python benchmarks/emergence.py rewrites it"
    from experiments.emergence import divergence_figure

    t = pd.read_csv(csv)
    for col in ("variant", "params.w_agglomeration", "params.w_coordination", "divergence", "ci_low", "ci_high",
                "entropy", "divergence_country", "leader_share", "seeds"):
        assert col in t.columns, col
    assert t["divergence"].between(0, 1).all() and (t["ci_low"] <= t["divergence"] + 1e-9).all()
    fig = divergence_figure(t)
    assert len(fig.axes) == 2 * t["variant"].nunique()          # one panel and its colour bar per variant
    with pytest.raises(ValueError, match="no column 'nothing'"):
        divergence_figure(t, value="nothing")


def synthetic_table(divergence_at, ci=0.05):
    """A grid table as benchmarks/emergence.py writes it, divergence given as a function of (agg, coord)."""
    rows = []
    for a in (0.0, 1.0, 5.0):
        for c in (0.0, 2.0):
            d = divergence_at(a, c)
            rows.append({"variant": "v", "params.w_agglomeration": a, "params.w_coordination": c, "divergence": d,
                         "ci_low": max(0.0, d - ci), "ci_high": min(1.0, d + ci), "leader_share": 0.2 + 0.1 * a,
                         "seeds": 10})
    return pd.DataFrame(rows)


def test_findings_report_no_path_dependence_when_agglomeration_only_lowers_divergence():
    from experiments.emergence import emergence_findings

    lines = emergence_findings(synthetic_table(lambda a, c: 0.5 / (1 + a)))
    text = "\n".join(lines)
    assert "ranges from 0.08 (w_agglomeration = 5, w_coordination = 0) to 0.50 (w_agglomeration = 0" in text
    assert "in none of the 4 cells with agglomeration" in text
    assert "0.3 or more only at w_agglomeration = 0 (2 of 6 cells" in text
    assert "lowers divergence" in text and "raises the share" in text


def test_findings_name_the_cells_where_agglomeration_creates_divergence():
    from experiments.emergence import emergence_findings

    # divergence rises with agglomeration only where coordination is cheap
    text = "\n".join(emergence_findings(synthetic_table(lambda a, c: 0.1 + (0.1 * a if c == 0 else 0.0), ci=0.02)))
    assert "in 2 of 4 cells" in text and "(1, 0), (5, 0)" in text
    assert "0.3 or more only where w_agglomeration ≤ 5 (1 of 6 cells; w_coordination there: 0)" in text
    with pytest.raises(ValueError, match="missing column.*ci_low"):
        emergence_findings(synthetic_table(lambda a, c: 0.1).drop(columns="ci_low"))


def test_load_emergence_table_names_the_command_when_missing(tmp_path):
    from experiments.emergence import load_emergence_table

    with pytest.raises(FileNotFoundError, match="benchmarks/emergence.py"):
        load_emergence_table(tmp_path / "none.csv")


def test_findings_name_lock_in_only_where_a_chance_leader_takes_most():
    import pandas as pd

    from experiments.emergence import emergence_findings
    rows = []
    for agg, div, share in ((0.0, 0.6, 0.5), (6.0, 0.6, 0.9), (12.0, 0.1, 0.95)):
        rows.append({"variant": "lab", "params.w_agglomeration": agg, "params.w_coordination": 0.0, "divergence": div,
                     "ci_low": div - 0.1, "ci_high": div + 0.1, "leader_share": share, "seeds": 10})
    lines = emergence_findings(pd.DataFrame(rows))
    lock = [line for line in lines if "lock-in" in line]
    assert len(lock) == 1 and "1 of 3 cells" in lock[0] and "(6, 0)" in lock[0]
    rows[1]["leader_share"] = 0.6
    lock = [line for line in emergence_findings(pd.DataFrame(rows)) if "lock-in" in line]
    assert lock[0].startswith("[lab] no cell")
