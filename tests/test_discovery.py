"""Scenario discovery (``kyoso discover``): PRIM, CART and extra-trees scores recover a known box on
synthetic data, the seed-noise test tells a box from pure noise, and the command reads real stores,
writes its files and refuses bad input with one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments.cli import main
from experiments.design import build_design, plan_runs
from experiments.discovery import (
    case_labels,
    cart_boxes,
    discover,
    discover_data,
    feature_scores,
    noise_test,
    prim_box,
    store_inputs,
)
from experiments.errors import UserError
from experiments.store import SweepStore
from experiments.sweep import RunTask, _parquet_bytes, make_manifest, run_frame, run_sweep
from experiments.sweepfile import load_sweep, parse_sweep, resolve_sweep

DATA = Path(__file__).parent / "data"
TINY = str(DATA / "tiny.toml")
NAMES = ["x1", "x2", "x3", "x4", "x5"]


def box_data(n: int = 250, flip: float = 0.02, seed: int = 2) -> tuple[pd.DataFrame, np.ndarray]:
    """Five inputs uniform on [0, 1]; cases: x1 > 0.7 and x3 < 0.4, each label flipped with probability
    ``flip`` (noise)."""
    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.uniform(size=(n, len(NAMES))), columns=NAMES)
    truth = ((x["x1"] > 0.7) & (x["x3"] < 0.4)).to_numpy()
    return x, truth ^ (rng.uniform(size=n) < flip)


@pytest.fixture(scope="module")
def known() -> tuple[pd.DataFrame, np.ndarray]:
    return box_data()


# ------------------------------------------------------------------ the methods on synthetic data
def test_prim_recovers_the_known_box(known):
    x, y = known
    res = prim_box(x, y)
    box = res.box.set_index("parameter")
    assert box.loc["x1", "low"] == pytest.approx(0.7, abs=0.03)
    assert box.loc["x3", "high"] == pytest.approx(0.4, abs=0.03)
    assert box.loc["x1", "qp_low"] < 0.001 and box.loc["x3", "qp_high"] < 0.001
    # any other restriction PRIM made is not significant
    others = box.drop(index=["x1", "x3"])
    assert (others[["qp_low", "qp_high"]].fillna(1.0) >= 0.05).all().all()
    st = res.stats
    assert st["density"] >= 0.8 and st["coverage"] >= 0.8
    traj = res.trajectory
    assert traj["chosen"].sum() == 1 and traj.loc[traj["chosen"], "box"].item() == res.index
    assert res.index == traj.index[traj["density"] >= 0.8][-1]          # the last box reaching the threshold
    assert traj["coverage"].iloc[0] == 1.0 and traj["mass"].iloc[0] == 1.0


def test_prim_finds_the_box_in_most_samples():
    """PRIM peels greedily and can stop early on noisy labels; in at least five of six samples it finds the box."""
    found = 0
    for seed in range(6):
        x, y = box_data(seed=seed)
        box = prim_box(x, y).box.set_index("parameter")
        found += ("x1" in box.index and "x3" in box.index and abs(box.loc["x1", "low"] - 0.7) < 0.05
                  and abs(box.loc["x3", "high"] - 0.4) < 0.1)
    assert found >= 5


def test_prim_box_choice_by_index_and_bad_index(known):
    x, y = known
    res = prim_box(x, y, box=2)
    assert res.index == 2 and res.by_box
    with pytest.raises(UserError, match=r"^--box 999: the peeling trajectory has boxes 0–\d+$"):
        prim_box(x, y, box=999)


def test_cart_has_a_leaf_on_the_known_box(known):
    x, y = known
    res = cart_boxes(x, y, seed=0)
    dense = res.leaves[res.leaves["density"] >= 0.8]
    best = dense.sort_values("coverage", ascending=False).iloc[0]
    assert best["coverage"] >= 0.8
    lims = res.boxes[res.boxes["leaf"] == best["leaf"]].set_index("parameter")
    assert set(lims.index) == {"x1", "x3"}
    assert lims.loc["x1", "low"] == pytest.approx(0.7, abs=0.03)
    assert lims.loc["x3", "high"] == pytest.approx(0.4, abs=0.03)
    assert res.leaves["mass"].sum() == pytest.approx(1.0) and res.leaves["cases"].sum() == y.sum()
    assert best["rule"] == f"x1 > {lims.loc['x1', 'low']:.4g} and x3 ≤ {lims.loc['x3', 'high']:.4g}"
    again = cart_boxes(x, y, seed=0)
    pd.testing.assert_frame_equal(res.leaves, again.leaves)


def test_feature_scores_rank_the_box_inputs_first(known):
    x, y = known
    scores = feature_scores(x, y, seed=0)
    assert set(scores["parameter"].iloc[:2]) == {"x1", "x3"}
    assert scores["score"].sum() == pytest.approx(1.0)
    assert scores["rank"].tolist() == [1, 2, 3, 4, 5]


def test_noise_verdict_tells_the_box_from_pure_noise():
    x, y = box_data(n=150, seed=3)
    pr = prim_box(x, y)
    box = noise_test(x, y, pr, permutations=19, seed=1)
    assert box.distinguishable and box.p_value == pytest.approx(1 / 20)
    assert "is distinguishable from seed noise" in box.verdict()
    noise = np.random.default_rng(11).uniform(size=len(y)) < y.mean()     # labels independent of the inputs
    pn = prim_box(x, noise)
    test = noise_test(x, noise, pn, permutations=19, seed=1)
    assert not test.distinguishable and test.p_value > 0.05
    assert "NOT distinguishable from seed noise" in test.verdict()


def test_noise_test_is_seeded_and_reads_replications():
    x, y = box_data(n=60)
    points = np.repeat(np.arange(20), 3)
    x = x.iloc[::3].loc[np.repeat(x.index[::3], 3)].reset_index(drop=True)     # three runs per point
    pr = prim_box(x, y)
    a = noise_test(x, y, pr, points=points, permutations=5, seed=4)
    b = noise_test(x, y, pr, points=points, permutations=5, seed=4)
    assert np.array_equal(a.null_densities, b.null_densities) and a.p_value == b.p_value
    assert a.points == 20 and a.replications == 3
    mixed = pd.Series(y).groupby(points).mean()
    assert a.points_mixed == int(((mixed > 0) & (mixed < 1)).sum())
    assert 0.0 <= a.share_seed <= 1.0
    none = noise_test(x, y, pr, points=points, permutations=0)
    assert none.distinguishable is None and "not tested" in none.verdict()


def test_case_labels_and_settings_refuse_bad_input():
    assert case_labels([1.0, 2.0, 3.0], above=2.0).tolist() == [False, False, True]
    assert case_labels([1.0, 2.0, 3.0], below=2.0).tolist() == [True, False, False]
    with pytest.raises(UserError, match="give exactly one of --above X or --below X"):
        case_labels([1.0])
    with pytest.raises(UserError, match="--above 1 and --below 2: give one of them, not both"):
        case_labels([1.0], above=1, below=2)
    x, y = box_data(n=40)
    for kw, text in (({"threshold": 1.5}, "--threshold 1.5: expected a density in (0, 1]"),
                     ({"peel_alpha": 0.0}, "--peel-alpha 0.0: expected a share in (0, 0.5)"),
                     ({"permutations": -1}, "--permutations -1: expected a whole number ≥ 0")):
        with pytest.raises(UserError, match=text.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
            discover_data(x, y, **kw)


# ------------------------------------------------------------------ stores and the command
def synthetic_store(root: Path, replications: int = 2, samples: int = 60) -> Path:
    """A sweep directory (lhs over five parameters scaled to [0, 1]) whose metric is 1 in the box
    x1 > 0.7 and x3 < 0.4 of the design point, else 0, plus a small per-run noise."""
    params = ["params.w_subsidy", "params.w_labour", "params.w_risk", "params.w_skill", "params.w_infrastructure"]
    raw = {"name": "synthetic", "scenario": TINY, "quarters": 1, "replications": replications, "seed": 4,
           "design": "lhs", "samples": samples, "metrics": ["hhi_country"],
           "parameters": {p: {"low": 0.0, "high": 1.0} for p in params}}
    sweep = resolve_sweep(parse_sweep(raw))
    design = build_design(sweep)
    runs = plan_runs(sweep, design)
    store = SweepStore.open(root, make_manifest(sweep, design, runs), resume=False)
    rng = np.random.default_rng(0)
    for r in runs:
        xs = [r.parameters[p] for p in params]
        value = float(xs[0] > 0.7 and xs[2] < 0.4) + 0.1 * rng.standard_normal()
        task = RunTask(r.run_id, r.index, r.point, r.replication, r.seed, sweep.scenario_ref, 1, r.parameters,
                       {}, ("hhi_country",))
        metrics = pd.DataFrame({"step": [0, 1], "quarter": ["2025Q1", "2025Q2"], "hhi_country": [0.0, value]})
        store.write_run(r.run_id, _parquet_bytes(run_frame(task, metrics)))
    return root


@pytest.fixture(scope="module")
def box_store(tmp_path_factory) -> Path:
    return synthetic_store(tmp_path_factory.mktemp("discover") / "box")


def test_discover_on_a_store_finds_the_box(box_store):
    res = discover(box_store, "hhi_country", above=0.5, permutations=19, seed=2)
    box = res.prim.box.set_index("parameter")
    assert box.loc["params.w_subsidy", "low"] == pytest.approx(0.7, abs=0.06)
    assert box.loc["params.w_risk", "high"] == pytest.approx(0.4, abs=0.06)
    assert set(res.scores["parameter"].iloc[:2]) == {"params.w_subsidy", "params.w_risk"}
    assert res.noise.distinguishable and res.noise.points == 60 and res.noise.replications == 2
    assert len(res.y) == 120 and res.cases == int((res.values["value"] > 0.5).sum())
    text = res.text()
    assert "verdict: the PRIM box is distinguishable from seed noise" in text
    assert "cases of interest: hhi_country > 0.5" in text


@pytest.fixture(scope="module")
def policy_store(tmp_path_factory) -> Path:
    """A real sweep of the tiny world: lhs over two uncertainties × two policies × 2 replications."""
    root = tmp_path_factory.mktemp("discover_real")
    (root / "sweep.toml").write_text(f'''
name = "discover_policies"
scenario = "{TINY}"
quarters = 6
replications = 2
seed = 3
design = "lhs"
samples = 8
metrics = ["share_US", "hhi_country"]

[parameters]
"params.w_risk" = {{ low = 0.0, high = 4.0 }}
"params.w_labour" = {{ low = 0.0, high = 4.0 }}

[policies.none]
"governments.US.subsidy_rate" = 0.0

[policies.subsidy]
"governments.US.subsidy_rate" = 0.4
''')
    out = root / "store"
    run_sweep(load_sweep(root / "sweep.toml"), out, backend="serial", progress=False)
    return out


def test_the_command_writes_its_files(policy_store, tmp_path, capsys):
    out = tmp_path / "disc"
    values = store_inputs(policy_store, "share_US", policy="subsidy")[0]
    cut = float(np.median(values["value"]))
    args = ["discover", str(policy_store), "--metric", "share_US", "--above", f"{cut}", "--policy", "subsidy",
            "--permutations", "9", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "policy subsidy" in printed and "verdict:" in printed
    names = {p.name for p in out.iterdir()}
    assert names == {"prim_box.csv", "prim_trajectory.csv", "cart_boxes.csv", "feature_scores.csv",
                     "discover.json", "report.txt", "prim_trajectory.png", "prim_box.png", "cart_tree.png",
                     "feature_scores.png"}
    summary = json.loads((out / "discover.json").read_text())
    assert summary["policy"] == "subsidy" and summary["cases"] == {"above": cut}
    assert summary["runs"] == 16 and summary["settings"]["permutations"] == 9
    traj = pd.read_csv(out / "prim_trajectory.csv")
    assert list(traj.columns[:7]) == ["box", "coverage", "density", "mass", "runs", "cases", "res_dim"]
    scores = pd.read_csv(out / "feature_scores.csv")
    assert set(scores["parameter"]) == {"params.w_risk", "params.w_labour"}
    # a non-empty --out is refused without --force, and kept as it was
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "directory exists and is not empty" in err
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    assert main([*args, "--force", "--permutations", "0", "--trees", "7"]) == 0
    assert "(extra trees, 7 trees;" in capsys.readouterr().out
    assert json.loads((out / "discover.json").read_text())["settings"]["trees"] == 7


@pytest.mark.parametrize("extra, message", [
    (["--metric", "nope", "--above", "0"], "--metric 'nope': not stored in this sweep"),
    (["--metric", "share_US"], "give exactly one of --above X or --below X"),
    (["--metric", "share_US", "--above", "0", "--below", "1"], "give one of them, not both"),
    (["--metric", "share_US", "--above", "2", "--policy", "none"], "--above 2: no run is a case"),
    (["--metric", "share_US", "--below", "2", "--policy", "none"], "--below 2: every run is a case"),
    (["--metric", "share_US", "--above", "0"], "--policy: this sweep has 2 policies (none, subsidy)"),
    (["--metric", "share_US", "--above", "0", "--policy", "subsidies"], "--policy 'subsidies': not a policy"),
    (["--metric", "share_US", "--above", "0", "--policy", "none", "--at", "2040Q1"], "--at 2040Q1"),
    (["--metric", "share_US", "--above", "0", "--policy", "none", "--threshold", "0"], "--threshold 0.0"),
    (["--metric", "share_US", "--above", "0", "--policy", "none", "--trees", "0"],
     "--trees 0: expected a whole number ≥ 1"),
    (["--metric", "share_US", "--above", "0", "--policy", "none", "--versus", "none"], "--versus 'none': the same"),
    (["--metric", "share_US", "--above", "0", "--policy", "none", "--versus", "subsid"], "--versus 'subsid': not a"),
])
def test_bad_input_is_one_line_and_writes_nothing(policy_store, tmp_path, capsys, extra, message):
    out = tmp_path / "never"
    assert main(["discover", str(policy_store), *extra, "--permutations", "0", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and message in err, err
    assert not out.exists()


def test_policy_on_a_store_without_policies(box_store, capsys):
    assert main(["discover", str(box_store), "--metric", "hhi_country", "--above", "0.5", "--policy", "x"]) == 2
    assert "--policy 'x': this sweep has no [policies]" in capsys.readouterr().err


def test_versus_classifies_the_paired_difference(policy_store):
    """--versus: the value is policy − reference at the same design point and replication (same seed)."""
    own = store_inputs(policy_store, "share_US", policy="subsidy")[0].set_index(["point", "replication"])
    ref = store_inputs(policy_store, "share_US", policy="none")[0].set_index(["point", "replication"])
    diff = store_inputs(policy_store, "share_US", policy="subsidy", versus="none")[0]
    diff = diff.set_index(["point", "replication"])["value"].sort_index()
    expected = (own["value"] - ref["value"]).sort_index()
    pd.testing.assert_series_equal(diff, expected, check_names=False)
    cut = float(np.median(diff))
    res = discover(policy_store, "share_US", below=cut, policy="subsidy", versus="none", permutations=0)
    assert res.policy.startswith("subsidy − none") and len(res.y) == len(diff)
    assert "policy subsidy − none (paired on design point and seed)" in res.text()


def test_versus_on_a_store_without_policies(box_store, capsys):
    assert main(["discover", str(box_store), "--metric", "hhi_country", "--above", "0.5", "--versus", "x"]) == 2
    assert "--versus 'x': this sweep has no [policies] to compare" in capsys.readouterr().err
