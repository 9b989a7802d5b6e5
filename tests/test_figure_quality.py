"""Every run and sweep figure is fit for a paper: a title, units on value axes, no text on text,
legends off the data.

The figures are built from small data (a short run; tiny synthetic sweep
stores of each design) and measured after drawing: the bounding boxes
(``get_window_extent``) of titles, axis labels, tick labels, legends and
annotations must not overlap, beyond a pixel of tolerance, nor run off the
figure.
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from experiments import plots
from experiments.analysis import ANALYSES, analyze_sweep
from experiments.design import build_design, plan_runs
from experiments.plots import sweeps as sweep_plots
from experiments.store import SweepStore
from experiments.sweep import RunTask, _parquet_bytes, make_manifest, run_frame
from experiments.sweepfile import parse_sweep, resolve_sweep
from model import ChipModel

TINY = str(Path(__file__).parent / "data" / "tiny.toml")
TOLERANCE = 1.0           # pixels each box is shrunk by before testing for overlap
_NUMBER = re.compile(r"^[−\-+]?[\d.,]+(e[−\-+]?\d+)?%?°?$")


# ------------------------------------------------------------------ the checks
def _renderer(fig: Figure):
    from experiments.plots.base import renderer

    rend = renderer(fig)
    fig.canvas.draw()
    return rend


def _visible(t: Text) -> bool:
    return t.get_visible() and bool(t.get_text().strip()) and (t.axes is None or t.axes.get_visible())


def _ticks(axis) -> list[Text]:
    """The tick labels drawn: visible, with text, at a location inside the view (none on an axes turned off)."""
    if not axis.axes.axison:
        return []
    lo, hi = sorted(axis.get_view_interval())
    out = []
    for tick in axis.get_major_ticks():
        if lo - 1e-9 * abs(hi - lo) <= tick.get_loc() <= hi + 1e-9 * abs(hi - lo):
            out += [t for t in (tick.label1, tick.label2) if _visible(t)]
    return out


def _texts(fig: Figure) -> list[tuple[str, Text]]:
    """Every visible text artist, with a tag saying where it belongs."""
    out: list[tuple[str, Text]] = []
    if fig._suptitle is not None:
        out.append(("suptitle", fig._suptitle))
    out += [("figtext", t) for t in fig.texts if t is not fig._suptitle]
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible():
            continue
        out += [(f"ax{k}.title", t) for t in (ax.title, ax._left_title, ax._right_title)]
        out += [(f"ax{k}.xlabel", ax.xaxis.label), (f"ax{k}.ylabel", ax.yaxis.label)]
        out += [(f"ax{k}.xtick", t) for t in _ticks(ax.xaxis)] + [(f"ax{k}.ytick", t) for t in _ticks(ax.yaxis)]
        out += [(f"ax{k}.text", t) for t in ax.texts]
        if ax.get_legend() is not None:
            leg = ax.get_legend()
            out += [(f"ax{k}.legend", t) for t in [*leg.get_texts(), leg.get_title()]]
    for j, leg in enumerate(fig.legends):
        out += [(f"fig.legend{j}", t) for t in [*leg.get_texts(), leg.get_title()]]
    return [(tag, t) for tag, t in out if _visible(t)]


def _box(t: Text, rend):
    return Text.get_window_extent(t, rend).expanded(1.0, 1.0)   # the text alone (an annotation's arrow aside)


def _overlap(a, b) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > 2 * TOLERANCE and
            min(a.y1, b.y1) - max(a.y0, b.y0) > 2 * TOLERANCE)


def text_overlaps(fig: Figure) -> list[str]:
    """Pairs of text artists whose boxes overlap (parallel rotated tick labels of one axis aside:
    their boxes are not their glyphs)."""
    rend = _renderer(fig)
    items = [(tag, t, _box(t, rend)) for tag, t in _texts(fig)]
    bad = []
    for (ta, a, ba), (tb, b, bb) in itertools.combinations(items, 2):
        if ta == tb and ta.endswith("tick") and a.get_rotation() % 90 and b.get_rotation() % 90:
            continue
        if _overlap(ba, bb):
            bad.append(f"{ta} {a.get_text()[:30]!r} × {tb} {b.get_text()[:30]!r}")
    return bad


def outside_problems(fig: Figure) -> list[str]:
    """Text that runs off the figure (a title wider than the canvas, a label cut at the edge)."""
    rend = _renderer(fig)
    frame = fig.bbox
    return [f"{tag} {t.get_text()[:30]!r} runs off the figure" for tag, t in _texts(fig)
            if not _inside(_box(t, rend), frame)]


def _inside(box, frame) -> bool:
    return (box.x0 >= frame.x0 - TOLERANCE and box.x1 <= frame.x1 + TOLERANCE and
            box.y0 >= frame.y0 - TOLERANCE and box.y1 <= frame.y1 + TOLERANCE)


def _has_data(ax) -> bool:
    return bool(ax.lines or ax.collections or ax.patches or ax.images)


def _numeric(ticks: list[Text]) -> bool:
    return bool(ticks) and all(_NUMBER.match(t.get_text().replace(" ", "")) for t in ticks)


def unit_problems(fig: Figure) -> list[str]:
    """Axes with data: a numeric axis needs a label with a unit in parentheses, a categorical one
    a label; an axis without tick labels is deliberately off."""
    _renderer(fig)
    bad = []
    for k, ax in enumerate(fig.axes):
        if not ax.get_visible() or not (_has_data(ax) or ax.get_label() == "<colorbar>"):
            continue
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            ticks = _ticks(axis)
            label = axis.label.get_text() if axis.label.get_visible() else ""
            if not ticks:
                continue
            if not label and _shared_label(fig, ax, name):
                continue
            if not label:
                bad.append(f"ax{k}.{name}: no label")
            elif _numeric(ticks) and not re.search(r"\(.+\)", label):
                bad.append(f"ax{k}.{name}: {label!r} has no unit in parentheses")
    return bad


def _shared_label(fig: Figure, ax, name: str) -> bool:
    """A row of panels sharing y (or a column sharing x) is labelled once."""
    group = ax.get_shared_y_axes() if name == "y" else ax.get_shared_x_axes()
    return any(o is not ax and (o.yaxis if name == "y" else o.xaxis).label.get_text()
               for o in group.get_siblings(ax))


def legend_problems(fig: Figure) -> list[str]:
    """A legend inside an axes covers none of its line points; a figure legend covers no axes."""
    rend = _renderer(fig)
    bad = []
    for k, ax in enumerate(fig.axes):
        leg = ax.get_legend()
        if leg is None or not ax.get_visible():
            continue
        box = leg.get_window_extent(rend)
        for line in ax.lines:
            xy = line.get_xydata()
            if not len(xy):
                continue
            pts = line.get_transform().transform(np.asarray(xy, dtype=float))
            inside = ((pts[:, 0] > box.x0) & (pts[:, 0] < box.x1) & (pts[:, 1] > box.y0) & (pts[:, 1] < box.y1))
            if inside.any():
                bad.append(f"ax{k}: the legend covers {int(inside.sum())} points of {line.get_label()!r}")
    for j, leg in enumerate(fig.legends):
        box = leg.get_window_extent(rend)
        for k, ax in enumerate(fig.axes):
            if ax.get_visible() and _overlap(box, ax.get_window_extent(rend)):
                bad.append(f"fig.legend{j} covers ax{k}")
    return bad


def title_of(fig: Figure) -> str:
    return (fig._suptitle.get_text() if fig._suptitle else "") or next(
        (a.get_title() for a in fig.axes if a.get_visible() and a.get_title()), "")


def check_quality(fig: Figure, name: str) -> None:
    assert title_of(fig), f"{name}: no title"
    problems = unit_problems(fig) + text_overlaps(fig) + outside_problems(fig) + legend_problems(fig)
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


# ------------------------------------------------------------------ run figures
@pytest.fixture(scope="module")
def run():
    """A short seeded run of a scenario with an event (so every table has rows)."""
    m = ChipModel("taiwan_contingency", rng=1).run(12)
    return m, m.tables()


RUN_FIGURES = ["capacity_share_by_country", "capacity_share_by_bloc", "region_map", "region_map_over_time",
               "concentration_over_time", "value_chain", "trade_matrix", "events_timeline"]


def test_the_run_figure_set_is_the_one_checked(run):
    m, t = run
    assert list(plots.run_figures(t, m)) == RUN_FIGURES


@pytest.mark.parametrize("name", RUN_FIGURES)
def test_run_figure_quality(run, name):
    m, t = run
    check_quality(plots.run_figures(t, m)[name](), name)


def test_dashboard_and_extra_figure_quality(run):
    m, t = run
    mt = t["metrics"]
    check_quality(plots.partnership_figure(mt), "partnership_figure")
    check_quality(plots.shock_figure(mt, t["events"]), "shock_figure")
    check_quality(plots.region_map(t["sites"], plots.regions_frame(m), [12], ["last"], colour_by="bloc"), "map1")
    check_quality(plots.trade_matrix(t["partnerships"], summed=True), "trade_matrix_summed")
    check_quality(plots.trade_matrix(t["trade"]), "trade_matrix_value")
    check_quality(plots.trade_matrix(t["trade"], summed=True), "trade_matrix_value_summed")


def test_many_events_timeline_quality():
    t = ChipModel("asean_diversification", rng=1).run(10).tables()
    check_quality(plots.events_timeline(t["metrics"], t["events"], "stranded_capacity"), "many_events")


# ------------------------------------------------------------------ sweep figures
def _store(root: Path, design: str, samples: int | None, replications: int) -> Path:
    """A tiny sweep directory whose metric is a known function of the point, plus seed noise."""
    params = {"governments.US.subsidy_rate": {"low": 0.0, "high": 0.5}, "params.w_risk": {"low": 0.0, "high": 12.0}}
    if design == "grid":
        params = {"governments.US.subsidy_rate": [0.0, 0.25, 0.5], "params.w_risk": [0.0, 6.0]}
    raw = {"name": "q", "scenario": TINY, "quarters": 1, "replications": replications, "seed": 4, "design": design,
           "metrics": ["share_US", "capacity_fab"], "parameters": params}
    if samples:
        raw["samples"] = samples
    sweep = resolve_sweep(parse_sweep(raw))
    d = build_design(sweep)
    runs = plan_runs(sweep, d)
    store = SweepStore.open(root, make_manifest(sweep, d, runs), resume=False)
    rng = np.random.default_rng(0)
    x = d.matrix.astype(float)
    for r in runs:
        task = RunTask(r.run_id, r.index, r.point, r.replication, r.seed, sweep.scenario_ref, 1, r.parameters, {},
                       ("share_US", "capacity_fab"))
        share = 0.1 + 0.3 * x[r.point, 0] + 0.005 * x[r.point, 1] + 0.02 * rng.standard_normal()
        metrics = pd.DataFrame({"step": [0, 1], "quarter": ["2025Q1", "2025Q2"], "share_US": [0.1, share],
                                "capacity_fab": [1000.0, 1000.0 + 400 * share]})
        store.write_run(r.run_id, _parquet_bytes(run_frame(task, metrics)))
    return root


def _sweep_figures(root: Path, method: str | None = None) -> dict[str, Figure]:
    """Every figure ``kyoso plot`` would draw, as Figures (not files)."""
    out, together = {}, {}
    for metric in ("share_US", "capacity_fab"):
        res = analyze_sweep(root, metric, method=method)
        for a in ANALYSES:
            if a.figure is None or a.name not in res.results:
                continue
            if a.across_metrics:
                together.setdefault(a, []).append({"metric": metric, **res.results[a.name]})
            elif a.shown(res.results[a.name]):
                out[f"{a.file}_{metric}"] = getattr(sweep_plots, a.figure)(res.results[a.name], metric, "final")
    for a, rows in together.items():
        out[a.file] = getattr(sweep_plots, a.figure)(pd.DataFrame(rows), "final")
    return out


@pytest.mark.parametrize("design,samples,reps,method", [("grid", None, 3, None), ("sobol", 8, 2, "sobol"),
                                                        ("morris", 4, 2, "morris")])
def test_sweep_figure_quality(tmp_path, design, samples, reps, method):
    figures = _sweep_figures(_store(tmp_path / design, design, samples, reps), method)
    expected = {"grid": "heatmap_share_US", "sobol": "sobol_share_US", "morris": "morris_share_US"}[design]
    assert expected in figures and "main_effects_share_US" in figures and "seed_noise" in figures
    for name, fig in figures.items():
        check_quality(fig, f"{design}:{name}")


def test_heatmap_shows_n_and_seed_noise(tmp_path):
    fig = _sweep_figures(_store(tmp_path / "g", "grid", None, 3))["heatmap_share_US"]
    ax = fig.axes[0]
    assert all("n=3" in t.get_text() for t in ax.texts) and len(ax.texts) == 6
    assert "seed noise" in ax.get_title() and "%" in ax.get_title()
    assert "(%)" in fig.axes[1].get_ylabel()                       # the colour bar: registry label and unit
    assert ax.get_xlabel() == "US subsidy rate (share of capex)" and ax.get_ylabel().startswith("w risk (")


def test_noise_share_matches_the_anova_on_runs():
    from experiments.sensitivity import point_means, seed_noise

    rng = np.random.default_rng(3)
    values = pd.DataFrame({"point": np.repeat(np.arange(5), 4), "p": np.repeat(np.arange(5.0), 4)})
    values["value"] = values["p"] * 0.3 + rng.standard_normal(len(values))
    assert sweep_plots.noise_share(point_means(values, ["p"])) == pytest.approx(seed_noise(values)["share_seed"])


def test_sobol_flags_intervals_wider_than_the_index():
    idx = pd.DataFrame({"parameter": ["params.w_risk", "params.w_subsidy"], "S1": [0.5, -0.3],
                        "S1_conf": [0.05, 1.3], "ST": [0.6, 0.2], "ST_conf": [0.05, 0.03]})
    fig = plots.sobol_bars(idx, "share_US")
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any("wider than the index (1)" in x for x in labels)
    check_quality(fig, "sobol_flag")


def test_the_checks_catch_bad_figures():
    from experiments.plots.base import subplots

    fig, ax = subplots()
    ax.plot([0, 1, 2], [0, 1, 4], label="a line")
    ax.set_ylabel("value")                       # no unit
    ax.text(0.5, 0.5, "one", transform=ax.transAxes)
    ax.text(0.5, 0.5, "two", transform=ax.transAxes)
    ax.legend(loc="center")
    assert any("no unit" in p for p in unit_problems(fig))
    assert any("no label" in p for p in unit_problems(fig))
    assert text_overlaps(fig)
    assert not title_of(fig)


def test_comparison_figure_quality():
    from experiments.compare import compare_final, replicate

    frames = replicate([TINY, "taiwan_contingency"], replications=2, quarters=6, seed=5)
    check_quality(plots.scenario_comparison(frames, "supply_shortfall"), "scenario_comparison")
    summary = compare_final(frames, ["supply_shortfall", "unit_cost_index", "share_US"], at="final")
    fig = plots.scenario_intervals(summary)
    assert "axis not from 0" in fig.axes[1].get_title()          # the unit-cost index: the break is said
    check_quality(fig, "scenario_intervals")


# ------------------------------------------------------------- discover and search figures
def test_discover_figure_quality(tmp_path):
    """The four figures ``kyoso discover`` writes, from a sweep store whose metric has a known box."""
    pytest.importorskip("ema_workbench")
    from experiments.discovery import FIGURES, discover

    root = tmp_path / "lhs"
    _store(root, "lhs", 60, 2)
    res = discover(root, "share_US", above=0.25, permutations=0, trees=20, seed=1)
    figures = res.figures()
    assert sorted(figures) == sorted(FIGURES)
    for name, draw in figures.items():
        check_quality(draw(), f"discover:{name}")


def _search_result(objectives: list[dict], n: int = 24, seed: int = 0):
    """A SearchResult with ``n`` evaluated lever sets of made-up robust values on the objectives' metrics
    (the figure reads only the table; no search is run)."""
    from experiments.search import Objective, SearchResult, nondominated

    objs = [Objective(**o) for o in objectives]
    rng = np.random.default_rng(seed)
    t = rng.uniform(size=n)
    cols = {}
    scale = {"share_JP": 0.3, "subsidy_paid_cumulative": 10.0, "capacity_fab": 300.0, "unit_cost_index": 0.1}
    for k, o in enumerate(objs):                  # non-negative values in the metric's stored unit, conflicting
        base = t if k % 2 == 0 else 1 - t
        cols[o.label] = scale[o.metric] * (base + 0.3 * rng.uniform(size=n))
    df = pd.DataFrame({"key": [f"k{i}" for i in range(n)], "order": np.arange(n), "nfe": np.arange(n), **cols})
    df["feasible"] = True
    df["pareto"] = nondominated(df[[o.label for o in objs]].to_numpy(), [o.sense for o in objs])
    return SearchResult(root=Path("."), name="robust_levers", objectives=objs, constraints=[], levers=[],
                        evaluations=df, pareto=df[df["pareto"]], nfe=n)


SEARCH_OBJECTIVES = [
    {"metric": "share_JP", "at": "mean", "direction": "max", "robustness": "percentile", "q": 10},
    {"metric": "subsidy_paid_cumulative", "direction": "min"},
    {"metric": "capacity_fab", "direction": "max", "robustness": "regret"},
    {"metric": "unit_cost_index", "at": "2030Q1", "direction": "min", "robustness": "regret", "q": 10},
]


@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_search_figure_quality(k):
    """The Pareto figure ``kyoso search`` writes, for one to four objectives."""
    from experiments.plots.search import pareto_figure

    result = _search_result(SEARCH_OBJECTIVES[:k])
    assert 1 <= int(result.evaluations["pareto"].sum()) < len(result.evaluations)
    check_quality(pareto_figure(result), f"search:{k} objectives")
