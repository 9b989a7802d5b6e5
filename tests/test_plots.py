"""Every figure function renders on real model output with a title, labelled axes and a legend."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

from experiments import plots
from experiments.compare import compare_final, replicate, replication_seeds
from model import ChipModel

TINY = str(Path(__file__).parent / "data" / "tiny.toml")


@pytest.fixture(scope="module")
def run():
    """A short seeded run of a scenario with events (so every table has rows)."""
    m = ChipModel("taiwan_contingency", rng=1).run(14)
    return m, m.tables()


def _title(fig: Figure) -> str:
    return (fig._suptitle.get_text() if fig._suptitle else "") or next(
        (a.get_title() for a in fig.axes if a.get_title()), "")


def check(fig: Figure, tmp_path: Path, name: str, legend: bool = True, ylabel: bool = True) -> None:
    """Title, axis labels on every visible panel with tick labels (a text list, inner panels aside),
    a legend (or colour bar), a non-trivial PNG.  ``ylabel=False``: no value axis (a flow figure)."""
    assert isinstance(fig, Figure) and fig.axes
    assert _title(fig)
    fig.savefig(tmp_path / f"{name}_draft.png", dpi=30)          # draws the tick labels
    for ax in fig.axes:
        ticks = [t for t in ax.get_xticklabels() + ax.get_yticklabels() if t.get_visible() and t.get_text()]
        if ax.get_visible() and ax.axison and ticks:                  # an inner panel of a shared grid aside
            assert ax.get_xlabel() or ax.get_ylabel(), f"{name}: an unlabelled panel"
    assert any(a.get_xlabel() for a in fig.axes) and (any(a.get_ylabel() for a in fig.axes) or not ylabel)
    if legend:
        assert fig.legends or any(a.get_legend() for a in fig.axes), f"{name}: no legend"
    out = tmp_path / f"{name}.png"
    fig.savefig(out, dpi=60)
    assert out.stat().st_size > 8000
    plt.close(fig)


def test_run_figures(run, tmp_path):
    m, t = run
    mt = t["metrics"]
    regions = plots.regions_frame(m)
    last = int(mt["step"].iloc[-1])
    check(plots.capacity_share_by_country(mt, m.geo.countries), tmp_path, "country")
    check(plots.capacity_share_by_bloc(mt, m.geo.blocs), tmp_path, "bloc")
    check(plots.concentration_over_time(mt), tmp_path, "concentration")
    check(plots.region_map(t["sites"], regions, [0, last], ["first", "last"]), tmp_path, "map")
    steps = [0, 4, 8, 12, last]
    fig = plots.region_map_small_multiples(t["sites"], regions, steps, [m.quarter_of(s) for s in steps], ncols=3)
    assert sum(a.get_visible() for a in fig.axes) == 5          # a 2 × 3 grid with the spare panel hidden
    check(fig, tmp_path, "small_multiples")


def test_value_chain_and_trade_matrix(run, tmp_path):
    m, t = run
    p = t["partnerships"]
    flows = plots.country_flows(p)
    last = p[p["step"] == p["step"].max()]
    assert flows["volume"].sum() == pytest.approx(last["delivered"].sum())      # every delivery, once
    assert set(flows["stage"]) <= {"upstream", "packaging"}
    jk = flows[(flows["source"] == "JP") & (flows["target"] == "KR") & (flows["stage"] == "upstream")]
    want = last[(last["supplier_home"] == "JP") & (last["buyer_home"] == "KR") & (last["input"] != "packaging")]
    assert jk["volume"].sum() == pytest.approx(want["delivered"].sum())
    fig = plots.value_chain_figure(p, t["sites"])
    assert str(p["quarter"].iloc[-1]) in _title(fig)
    labels = [x.get_text() for x in fig.axes[0].get_legend().get_texts()]
    assert "Japan → Korea" in labels
    assert not fig.axes[0].get_yticks().size                     # no axis with a meaningless unit
    check(fig, tmp_path, "value_chain", ylabel=False)
    fig = plots.trade_matrix(p, step=3)
    assert "kwpm-eq" in fig.axes[1].get_ylabel()                  # the colour bar: a volume, not USD
    check(fig, tmp_path, "trade3", legend=False)
    check(plots.trade_matrix(p, summed=True), tmp_path, "trade_sum", legend=False)
    check(plots.partnership_network(p, t["firms"]), tmp_path, "network_compat", legend=False)


def test_region_map_colours_and_labels(run):
    m, t = run
    regions = plots.regions_frame(m)
    assert {"region", "country", "lat", "lon", "bloc"} <= set(regions.columns)
    fig = plots.region_map(t["sites"], regions, [5], ["q"])
    names = [x.get_text() for x in fig.legends[0].get_texts()]
    assert {"JP", "KR", "TW"} <= set(names)
    colours = {x.get_text(): h.get_color() for x, h in zip(fig.legends[0].get_texts(), fig.legends[0].legend_handles)}
    assert len({colours["JP"], colours["KR"], colours["TW"]}) == 3
    assert len(plots.maps.land_rings()) > 100                    # the bundled Natural Earth outlines
    world, asia = fig.axes[0], fig.axes[1]
    assert len(asia.texts) >= 8 and any(x.get_text().startswith("JP-") for x in asia.texts)
    assert any(x.get_text().startswith("US-") for x in world.texts)
    fig = plots.region_map(t["sites"], regions, [5], ["q"], colour_by="bloc")
    assert {x.get_text() for x in fig.legends[0].get_texts()} == set(regions["bloc"])
    with pytest.raises(ValueError, match="colour_by"):
        plots.region_map(t["sites"], regions, [5], ["q"], colour_by="firm")


def test_events_timeline(run, tmp_path):
    m, t = run
    fig = plots.events_timeline(t["metrics"], t["events"])
    assert "blockade" in [x.get_text() for x in fig.axes[1].get_yticklabels()]
    check(fig, tmp_path, "events")
    # a run without events, and another metric
    base = ChipModel(TINY, rng=0).run(4).tables()
    assert base["events"].empty
    check(plots.events_timeline(base["metrics"], base["events"], "stranded_capacity"), tmp_path, "no_events")


def test_events_timeline_many_overlapping_events(tmp_path):
    t = ChipModel("asean_diversification", rng=1).run(10).tables()
    assert len(t["events"]) > 12
    check(plots.events_timeline(t["metrics"], t["events"], "stranded_capacity"), tmp_path, "many_events")


def test_scenario_comparison_and_intervals(tmp_path):
    frames = replicate([TINY, "taiwan_contingency"], replications=3, quarters=16, seed=5)
    assert set(frames) == {TINY, "taiwan_contingency"} and all(len(v) == 3 for v in frames.values())
    # common random numbers: the same seeds in every scenario, and the run repeats exactly
    again = replicate([TINY], replications=3, quarters=16, seed=5)
    pd.testing.assert_frame_equal(frames[TINY][1], again[TINY][1])
    assert replication_seeds(5, 3) == replication_seeds(5, 3) and len(set(replication_seeds(5, 3))) == 3
    for band in ("ci", "range"):
        check(plots.scenario_comparison(frames, "supply_shortfall", band=band), tmp_path, f"cmp_{band}")
    with pytest.raises(ValueError, match="band"):
        plots.scenario_comparison(frames, "supply_shortfall", band="sd")
    summary = compare_final(frames, ["supply_shortfall", "unit_cost_index"], at="max")
    assert len(summary) == 4 and (summary["n"] == 3).all()
    assert (summary["ci_low"] <= summary["mean"]).all() and (summary["mean"] <= summary["ci_high"]).all()
    check(plots.scenario_intervals(summary), tmp_path, "intervals")
    with pytest.raises(ValueError, match="at"):
        compare_final(frames, ["supply_shortfall"], at="median")


def test_compare_final_values():
    mt = pd.DataFrame({"step": [0, 1, 2], "quarter": ["a", "b", "c"], "x": [9.0, 1.0, 3.0]})
    frames = {"s": [mt, mt.assign(x=[9.0, 3.0, 5.0])]}
    got = {at: compare_final(frames, ["x"], at=at)["mean"].iloc[0] for at in ("final", "mean", "max")}
    assert got == {"final": 4.0, "mean": 3.0, "max": 4.0}       # step 0 (the initial state) is left out


def test_metric_label_units():
    assert plots.metric_label("share_US") == ("US share of world fab capacity (%)", 100.0)
    assert plots.metric_label("share_bloc_china")[1] == 100.0
    assert "kwpm" in plots.metric_label("stranded_capacity")[0]
    assert plots.metric_label("no_such_metric") == ("no_such_metric", 1.0)


def test_save_run_figures(run, tmp_path):
    m, t = run
    paths = plots.save_run_figures(t, m, tmp_path)
    assert [p.name for p in paths] == [f"{n}.png" for n in (
        "capacity_share_by_country", "capacity_share_by_bloc", "region_map", "region_map_over_time",
        "concentration_over_time", "value_chain", "trade_matrix", "events_timeline")]
    assert all(p.stat().st_size > 10000 for p in paths)


def test_figures_are_not_kept_by_pyplot(run):
    """Plain Figures: nothing accumulates in pyplot's figure list (notebooks, dashboard)."""
    _, t = run
    before = len(plt.get_fignums())
    plots.concentration_over_time(t["metrics"])
    assert len(plt.get_fignums()) == before
