"""Sweep analysis: SALib round trips with known answers, seed-noise decomposition, main effects, figures."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from experiments import plots
from experiments.analysis import ANALYSES, METHODS, analyze_sweep
from experiments.sensitivity import (
    main_effect_summary,
    main_effects,
    morris_indices,
    point_means,
    seed_noise,
    sobol_indices,
)
from experiments.cli import main
from experiments.design import build_design, plan_runs
from experiments.sweepfile import parse_sweep, resolve_sweep
from experiments.store import SweepStore, load_results
from experiments.sweep import RunTask, _parquet_bytes, make_manifest, run_frame

TINY = str(Path(__file__).parent / "data" / "tiny.toml")
PARAMS = ["params.w_subsidy", "params.w_labour", "params.w_risk", "params.w_skill"]


def ishigami(x: np.ndarray) -> np.ndarray:
    """Ishigami & Homma (1990) on [0, 10]^3 mapped to [-π, π]^3; a 4th input is ignored."""
    z = -np.pi + 2 * np.pi * x[:, :3] / 10.0
    return np.sin(z[:, 0]) + 7 * np.sin(z[:, 1]) ** 2 + 0.1 * z[:, 2] ** 4 * np.sin(z[:, 0])


def resolved(design: str, samples: int | None, replications: int = 1, **extra):
    params = {p: {"low": 0.0, "high": 10.0} for p in PARAMS}
    raw = {"name": "synthetic", "scenario": TINY, "quarters": 1, "replications": replications, "seed": 4,
           "design": design, "samples": samples, "metrics": ["hhi_country"], "parameters": params, **extra}
    return resolve_sweep(parse_sweep(raw))


def synthetic_store(root: Path, sweep, fn) -> Path:
    """A real sweep directory whose metric is ``fn`` of the design point (steps 0 and 1)."""
    design = build_design(sweep)
    runs = plan_runs(sweep, design)
    store = SweepStore.open(root, make_manifest(sweep, design, runs), resume=False)
    values = fn(design.matrix)
    for r in runs:
        task = RunTask(r.run_id, r.index, r.point, r.replication, r.seed, sweep.scenario_ref, 1, r.parameters,
                       {}, ("hhi_country",))
        metrics = pd.DataFrame({"step": [0, 1], "quarter": ["2025Q1", "2025Q2"],
                                "hhi_country": [0.0, float(values[r.point])]})
        store.write_run(r.run_id, _parquet_bytes(run_frame(task, metrics)))
    return root


def test_sobol_round_trip_on_ishigami_with_an_inert_parameter():
    sweep = resolved("sobol", 1024)
    d = build_design(sweep)
    pm = pd.DataFrame({"point": range(d.n_points), "mean": ishigami(d.matrix)})
    idx = sobol_indices(d.to_json(), pm, seed=1).set_index("parameter")
    # analytic values (Ishigami a=7, b=0.1): S1 = .314, .442, 0; ST = .558, .442, .244
    assert idx.loc[PARAMS[:3], "S1"].to_numpy() == pytest.approx([0.314, 0.442, 0.0], abs=0.05)
    assert idx.loc[PARAMS[:3], "ST"].to_numpy() == pytest.approx([0.558, 0.442, 0.244], abs=0.05)
    inert = idx.loc["params.w_skill"]
    assert abs(inert["ST"]) < 1e-12 and abs(inert["S1"]) < 1e-12 and inert["ST_conf"] < 1e-12


def test_morris_round_trip_inert_parameter_has_zero_effect():
    sweep = resolved("morris", 40)
    d = build_design(sweep)
    pm = pd.DataFrame({"point": range(d.n_points), "mean": ishigami(d.matrix)})
    idx = morris_indices(d.to_json(), pm, seed=1).set_index("parameter")
    assert idx.loc["params.w_skill", "mu_star"] == 0.0 and idx.loc["params.w_skill", "sigma"] == 0.0
    assert idx.loc["params.w_labour", "mu_star"] > idx.loc["params.w_risk", "mu_star"] > 0


def test_analyze_and_plot_a_synthetic_sobol_store_end_to_end(tmp_path, capsys):
    root = synthetic_store(tmp_path / "sweep", resolved("sobol", 64), ishigami)
    res = analyze_sweep(root, "hhi_country")
    assert res.method == "sobol" and list(res.indices["parameter"]) == PARAMS
    assert abs(res.indices.set_index("parameter").loc["params.w_skill", "ST"]) < 1e-12
    assert "replications ≥ 2" in res.noise["note"]
    assert main(["analyze", str(root), "--metric", "hhi_country", "--csv", str(tmp_path / "idx.csv")]) == 0
    out = capsys.readouterr().out
    assert "Sobol indices" in out and "params.w_skill" in out and "Seed noise" in out
    assert list(pd.read_csv(tmp_path / "idx.csv").columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert main(["plot", str(root), "--out", str(tmp_path / "fig")]) == 0
    names = sorted(p.name for p in (tmp_path / "fig").iterdir())
    assert names == ["main_effects_hhi_country.png", "sobol_hhi_country.png"]
    assert main(["plot", str(root), "--out", str(tmp_path / "fig")]) == 2          # refuses to overwrite
    assert "--force" in capsys.readouterr().err


def test_seed_noise_recovers_known_variance_components():
    rng = np.random.default_rng(12)
    points, reps = 60, 8
    effect = rng.normal(0, 2.0, points)                       # σ²_param = 4
    rows = [{"run_id": f"{p}-{r}", "point": p, "replication": r, "value": effect[p] + rng.normal(0, 1.0)}
            for p in range(points) for r in range(reps)]      # σ²_seed = 1
    nz = seed_noise(pd.DataFrame(rows))
    assert nz["var_seed"] == pytest.approx(1.0, rel=0.15)
    assert nz["var_param"] == pytest.approx(4.0, rel=0.4)
    assert nz["share_seed"] == pytest.approx(0.2, abs=0.07)
    assert nz["ss_between"] + nz["ss_within"] == pytest.approx(nz["ss_total"])
    assert nz["p_value"] < 1e-6
    pure_noise = pd.DataFrame([{"point": p, "value": rng.normal()} for p in range(30) for _ in range(4)])
    assert seed_noise(pure_noise)["share_seed"] > 0.8
    one_rep = pd.DataFrame({"point": range(10), "value": np.arange(10.0)})
    assert np.isnan(seed_noise(one_rep)["share_seed"])


def test_main_effects_on_a_grid():
    rng = np.random.default_rng(3)
    a, b = np.meshgrid([0.0, 0.5, 1.0], [1, 2, 3, 4], indexing="ij")
    rows = []
    for k, (x, y) in enumerate(zip(a.ravel(), b.ravel())):
        for r in range(5):
            rows.append({"point": k, "replication": r, "pa": x, "pb": y, "value": 10 * x + rng.normal(0, 0.1)})
    values = pd.DataFrame(rows)
    eff = main_effects(values, ["pa", "pb"])
    pa = eff[eff["parameter"] == "pa"]
    assert pa["level"].tolist() == [0.0, 0.5, 1.0] and pa["mean"].to_numpy() == pytest.approx([0, 5, 10], abs=0.1)
    assert (pa["ci_low"] < pa["mean"]).all() and (pa["n"] == 20).all()
    summ = main_effect_summary(values, ["pa", "pb"]).set_index("parameter")
    assert summ.loc["pa", "eta2"] > 0.99 and summ.loc["pb", "eta2"] < 0.01
    pm = point_means(values, ["pa", "pb"])
    assert len(pm) == 12 and (pm["n"] == 5).all()


def _check_figure(fig, legend=True):
    assert fig.axes
    ax = fig.axes[0]
    title = (fig._suptitle.get_text() if fig._suptitle else "") or ax.get_title()
    assert title and ax.get_xlabel() and ax.get_ylabel()
    if legend:
        assert fig.legends or any(a.get_legend() for a in fig.axes)
    plt.close(fig)


def test_sweep_figures_have_titles_labels_and_legends():
    eff = pd.DataFrame({"parameter": ["x"] * 3 + ["y"] * 3, "level": [0, 1, 2] * 2, "mean": [1, 2, 3, 3, 2, 1.0],
                        "ci_low": [0.5, 1.5, 2.5, 2.5, 1.5, 0.5], "ci_high": [1.5, 2.5, 3.5, 3.5, 2.5, 1.5],
                        "binned": False})
    _check_figure(plots.main_effects_figure(eff, "share_US"))
    pts = pd.DataFrame({"x": [0, 0, 1, 1], "y": [0.1, 0.2, 0.1, 0.2], "mean": [1, 2, 3, 4.0]})
    fig = plots.grid_heatmap(pts, "x", "y", "share_US")
    assert any(a.get_ylabel().startswith("US share of world fab capacity") and "%" in a.get_ylabel()
               for a in fig.axes)                                               # colour bar = legend, with unit
    _check_figure(fig, legend=False)
    idx = pd.DataFrame({"parameter": ["a.b", "c.d"], "S1": [0.5, 0.1], "S1_conf": [0.05, 0.02],
                        "ST": [0.6, 0.2], "ST_conf": [0.05, 0.03]})
    _check_figure(plots.sobol_bars(idx, "share_US"))
    mor = pd.DataFrame({"parameter": ["a.b", "c.d"], "mu_star": [1.0, 0.2], "sigma": [0.5, 0.1],
                        "mu_star_conf": [0.1, 0.05], "mu": [1.0, -0.2]})
    _check_figure(plots.morris_scatter(mor, "share_US"))
    _check_figure(plots.seed_noise_figure(pd.DataFrame({"metric": ["a", "b"], "share_seed": [0.2, 0.7]})))


def test_real_grid_sweep_analysis_and_plots(tmp_path, capsys):
    src = tmp_path / "g.toml"
    src.write_text(f'''name = "g"\nscenario = "{TINY}"\nquarters = 8\nreplications = 3\nseed = 2\ndesign = "grid"
metrics = ["hhi_country", "capacity_fab"]
[parameters]
"governments.US.subsidy_rate" = [0.0, 0.5]
"params.w_risk" = [0.0, 6.0, 12.0]
''')
    out = tmp_path / "out"
    assert main(["sweep", str(src), "--out", str(out), "--backend", "serial", "--no-progress"]) == 0
    assert main(["analyze", str(out), "--metric", "capacity_fab", "--at", "mean"]) == 0
    text = capsys.readouterr().out
    assert "Main effects" in text and "params.w_risk" in text and "Seed noise" in text
    assert main(["plot", str(out), "--out", str(tmp_path / "fig"), "--metric", "hhi_country"]) == 0
    names = sorted(p.name for p in (tmp_path / "fig").iterdir())
    assert "heatmap_hhi_country.png" in names and "main_effects_hhi_country.png" in names
    assert all((tmp_path / "fig" / n).stat().st_size > 5000 for n in names)
    res = analyze_sweep(out, "capacity_fab", at="final")
    df = load_results(out)
    final = df[df["step"] == 8].set_index("run_id")["capacity_fab"]
    assert res.values.set_index("run_id")["value"].sort_index().tolist() == final.sort_index().tolist()


@pytest.mark.parametrize("argv,needle", [
    (["--metric", "share_MARS"], "share_MARS"),
    (["--metric", "hhi_country", "--method", "sobol"], "needs a sobol design"),
    (["--metric", "hhi_country", "--method", "morris"], "needs a morris design"),
])
def test_analyze_bad_calls(tmp_path, capsys, argv, needle):
    root = synthetic_store(tmp_path / "s", resolve_sweep(parse_sweep({
        "name": "g", "scenario": TINY, "quarters": 1, "design": "grid", "metrics": ["hhi_country"],
        "parameters": {"params.w_risk": [1.0, 2.0]}})), lambda m: m[:, 0])
    assert main(["analyze", str(root), *argv]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert main(["analyze", str(tmp_path / "nowhere"), "--metric", "x"]) == 2
    assert "not a kyoso sweep directory" in capsys.readouterr().err


def test_the_analysis_registry_drives_the_cli_and_the_figures():
    from experiments.cli import build_parser
    from experiments.design import DESIGNS
    from experiments.plots import sweeps as sweep_plots

    sub = build_parser()._subparsers._group_actions[0].choices["analyze"]
    method = next(a for a in sub._actions if a.dest == "method")
    assert tuple(method.choices) == METHODS == ("main", "sobol", "morris")
    for a in ANALYSES:
        assert a.design is None or a.design in DESIGNS, a.name
        if a.figure is not None:
            assert callable(getattr(sweep_plots, a.figure)) and a.figure in plots.__all__, a.name
            assert a.file, a.name


def test_sobol_and_morris_intervals_are_reproducible_with_the_default_seed():
    """SALib treats seed 0 as unseeded; the analyses must still give the same intervals twice."""
    sweep = resolved("sobol", 256)
    d = build_design(sweep)
    pm = pd.DataFrame({"point": range(d.n_points), "mean": ishigami(d.matrix)})
    a, b = sobol_indices(d.to_json(), pm), sobol_indices(d.to_json(), pm)
    assert a.equals(b)
    sweep = resolved("morris", 20)
    d = build_design(sweep)
    pm = pd.DataFrame({"point": range(d.n_points), "mean": ishigami(d.matrix)})
    assert morris_indices(d.to_json(), pm).equals(morris_indices(d.to_json(), pm))


def test_analyze_prints_units_intervals_seed_noise_and_flags_noisy_indices(tmp_path, capsys):
    from experiments.analysis import Shown

    root = synthetic_store(tmp_path / "sweep", resolved("sobol", 8, replications=2), ishigami)
    assert main(["analyze", str(root), "--metric", "hhi_country", "--at", "2025Q2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("hhi_country: country HHI (0–1), 2025Q2 of each run")
    assert "seed noise: 0.0% of one run's variance" in out and "(95% interval)" in out
    assert "S1 " in out and "[" in out and "not distinguishable from noise; use more samples (N)" in out
    assert "Mean at each level [95% interval]" in out
    with pytest.raises(SystemExit, match="2"):                                   # argparse: one line, status 2
        main(["analyze", str(root), "--metric", "hhi_country", "--at", "median"])
    assert "--at: expected one of final, mean, max, min" in capsys.readouterr().err
    share = Shown.of("share_US")
    assert (share.label, share.unit, share(0.1234)) == ("US share of world fab capacity", "%", "12.3")
    assert share.interval(0.1, 0.05, 0.15) == "10.0 [5.0, 15.0] %"
    assert Shown.of("hhi_country").interval(0.2, 0.1, 0.3) == "0.200 [0.100, 0.300]"     # a 0–1 scale: no suffix
