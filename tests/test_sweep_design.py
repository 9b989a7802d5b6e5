"""Sweep files: validation before any run (one line, exit 2, nothing written), designs, seeds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from experiments.cli import main
from experiments.design import build_design, plan_runs
from experiments.sweepfile import SweepError, load_sweep, parse_sweep, resolve_sweep

DATA = Path(__file__).parent / "data"
TINY = str(DATA / "tiny.toml")
SWEEPS = Path(__file__).parent.parent / "experiments" / "sweeps"

GOOD = f'''
name = "t"
scenario = "{TINY}"
quarters = 4
replications = 2
seed = 3
design = "grid"
metrics = ["share_US", "hhi_country"]
[parameters]
"governments.US.subsidy_rate" = [0.0, 0.2]
"regions.US-West.political_risk" = [0.1, 0.3, 0.5]
'''


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sweep.toml"
    p.write_text(text)
    return p


def test_good_grid_sweep_plans_every_combination_with_independent_seeds(tmp_path):
    sweep = load_sweep(write(tmp_path, GOOD))
    design = build_design(sweep)
    assert design.n_points == 6 and design.points[1] == {"governments.US.subsidy_rate": 0.0,
                                                           "regions.US-West.political_risk": 0.3}
    runs = plan_runs(sweep, design)
    assert [r.run_id for r in runs[:3]] == ["p0-r0", "p0-r1", "p1-r0"]
    seeds = [r.seed for r in runs]
    assert len(set(seeds)) == len(seeds) and all(0 <= s < 2**63 for s in seeds)
    # the seed tree: run k is SeedSequence(seed).spawn(2)[1].spawn(n)[k]
    child = np.random.SeedSequence(3).spawn(2)[1].spawn(len(runs))[4]
    state = child.generate_state(2, dtype=np.uint32)
    assert runs[4].seed == ((int(state[0]) << 32) | int(state[1])) & (2**63 - 1)
    assert runs[4].spawn_key == (1, 4)
    assert plan_runs(load_sweep(write(tmp_path, GOOD)), design) == runs     # deterministic


def test_common_seeds_give_every_point_the_same_seed_per_replication(tmp_path):
    runs = plan_runs(sweep := load_sweep(write(tmp_path, GOOD + "\n")), build_design(sweep))
    common = load_sweep(write(tmp_path, GOOD.replace("seed = 3", "seed = 3\ncommon_seeds = true")))
    crn = plan_runs(common, build_design(common))
    by_rep = {r.replication: {c.seed for c in crn if c.replication == r.replication} for r in crn}
    assert all(len(seeds) == 1 for seeds in by_rep.values())              # one seed per replication
    assert len({next(iter(s)) for s in by_rep.values()}) == 2              # replications differ
    assert len({r.seed for r in runs}) == len(runs)                        # the default stays independent


def _spec(**over):
    raw = {"name": "t", "scenario": TINY, "quarters": 4, "design": "lhs", "samples": 16,
           "metrics": ["share_US"], "parameters": {"params.w_agglomeration": {"low": 0.1, "high": 10.0, "log": True},
                                                   "segments.logic.construction_lag": {"low": 2, "high": 6}}}
    raw.update(over)
    return resolve_sweep(parse_sweep(raw))


@pytest.mark.parametrize("design,samples,points", [("lhs", 16, 16), ("sobol", 16, 16 * (2 + 2)),
                                                     ("morris", 5, 5 * (2 + 1))])
def test_range_designs_respect_bounds_log_scale_and_integers(design, samples, points):
    sweep = _spec(design=design, samples=samples)
    d = build_design(sweep)
    assert d.n_points == points
    w = np.array([p["params.w_agglomeration"] for p in d.points])
    lag = [p["segments.logic.construction_lag"] for p in d.points]
    assert w.min() >= 0.1 and w.max() <= 10.0
    assert all(isinstance(v, int) and 2 <= v <= 6 for v in lag)
    if design == "lhs":   # Latin hypercube: one point per stratum of log10(w)
        strata = np.floor((np.log10(w) + 1) / 2 * samples).astype(int)
        assert sorted(strata) == list(range(samples))
        assert len(set(lag)) == 5        # every integer 2..6 drawn
    assert d.problem["bounds"][0] == pytest.approx([-1.0, 1.0])   # log10 space
    again = build_design(_spec(design=design, samples=samples))
    np.testing.assert_array_equal(d.matrix, again.matrix)
    other = build_design(_spec(design=design, samples=samples, seed=99))
    assert design == "morris" or not np.array_equal(d.matrix, other.matrix)


def test_sobol_second_order_sample_size():
    d = build_design(_spec(design="sobol", samples=8, second_order=True))
    assert d.n_points == 8 * (2 * 2 + 2)


def test_dotted_keys_may_be_bare_or_quoted(tmp_path):
    bare = GOOD.replace('"governments.US.subsidy_rate"', "governments.US.subsidy_rate")
    assert build_design(load_sweep(write(tmp_path, bare))).points == build_design(load_sweep(write(tmp_path, GOOD))).points


def test_fixed_overrides_and_text_or_bool_grids(tmp_path):
    text = GOOD.replace('"regions.US-West.political_risk" = [0.1, 0.3, 0.5]',
                        '"cocreation.ip.regime" = ["joint", "licence"]') + '[fixed]\n"params.w_bloc" = 2\n'
    sweep = load_sweep(write(tmp_path, text))
    assert sweep.fixed == {"params.w_bloc": 2.0}
    assert build_design(sweep).points[-1] == {"governments.US.subsidy_rate": 0.2, "cocreation.ip.regime": "licence"}


BAD = [
    ("malformed", 'name = "t"\ndesign = grid\n', "malformed TOML"),
    ("unknown key", 'colour = "red"\n' + GOOD, "unknown key 'colour'"),
    ("unknown path", GOOD.replace("political_risk", "politcal_risk"), "regions.US-West.politcal_risk"),
    ("unknown region", GOOD.replace("US-West", "US-Nowhere"), "US-Nowhere"),
    ("value above bounds", GOOD.replace("[0.0, 0.2]", "[0.0, 1.5]"), "governments.US.subsidy_rate.1 = 1.5"),
    ("value below bounds", GOOD.replace("[0.0, 0.2]", "[-0.1, 0.2]"), "bounds [0, 1]"),
    ("empty list", GOOD.replace("[0.0, 0.2]", "[]"), "governments.US.subsidy_rate"),
    ("design misfit grid range", GOOD.replace("[0.0, 0.2]", "{low = 0.0, high = 0.2}"), "needs a list of values"),
    ("design misfit lhs list", GOOD.replace('design = "grid"', 'design = "lhs"\nsamples = 8'), "needs a range"),
    ("samples missing", GOOD.replace('design = "grid"', 'design = "sobol"').replace(
        "[0.0, 0.2]", "{low = 0.0, high = 0.2}").replace("[0.1, 0.3, 0.5]", "{low = 0.1, high = 0.5}"),
     "samples: required by the sobol design"),
    ("sobol not power of 2", GOOD.replace('design = "grid"', 'design = "sobol"\nsamples = 100').replace(
        "[0.0, 0.2]", "{low = 0.0, high = 0.2}").replace("[0.1, 0.3, 0.5]", "{low = 0.1, high = 0.5}"),
     "power of 2"),
    ("samples on grid", GOOD.replace('design = "grid"', 'design = "grid"\nsamples = 4'), "samples = 4"),
    ("low >= high", GOOD.replace('design = "grid"', 'design = "lhs"\nsamples = 4').replace(
        "[0.0, 0.2]", "{low = 0.3, high = 0.2}").replace("[0.1, 0.3, 0.5]", "{low = 0.1, high = 0.5}"),
     "low = 0.3 must be below high = 0.2"),
    ("log with low 0", GOOD.replace('design = "grid"', 'design = "lhs"\nsamples = 4').replace(
        "[0.0, 0.2]", "{low = 0.0, high = 0.2, log = true}").replace("[0.1, 0.3, 0.5]", "{low = 0.1, high = 0.5}"),
     "log = true needs low > 0"),
    ("integer param", GOOD.replace('"regions.US-West.political_risk" = [0.1, 0.3, 0.5]',
                                   '"segments.logic.construction_lag" = [4, 5.5]'), "whole number"),
    ("unknown metric", GOOD.replace('"hhi_country"', '"hhi_planet"'), "metrics.1 = 'hhi_planet'"),
    ("replications 0", GOOD.replace("replications = 2", "replications = 0"), "replications = 0"),
    ("quarters text", GOOD.replace("quarters = 4", 'quarters = "four"'), "quarters = 'four'"),
    ("missing design", GOOD.replace('design = "grid"\n', ""), "design: required field is missing"),
    ("unknown design", GOOD.replace('"grid"', '"factorial"'), "design = 'factorial'"),
    ("scalar parameter", GOOD.replace("[0.0, 0.2]", "0.2"), "expected a list of values"),
    ("unknown scenario", GOOD.replace(TINY, "atlantis"), "atlantis"),
    ("nan bound", GOOD.replace('design = "grid"', 'design = "lhs"\nsamples = 4').replace(
        "[0.0, 0.2]", "{low = 0.0, high = nan}").replace("[0.1, 0.3, 0.5]", "{low = 0.1, high = 0.5}"),
     "finite number"),
    ("horizon swept", GOOD.replace('"regions.US-West.political_risk"', '"meta.horizon"').replace(
        "[0.1, 0.3, 0.5]", "[4, 8]"), "quarters"),
    ("cross-field rule", GOOD.replace('"regions.US-West.political_risk" = [0.1, 0.3, 0.5]',
                                      '"generated.risk_aversion_low" = [0.5, 2.0]'), "design point 3"),
    ("table path", GOOD.replace('"regions.US-West.political_risk"', '"regions.US-West"'), "not a single parameter"),
]


@pytest.mark.parametrize("case,text,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_sweep_files_exit_2_with_one_line_before_any_run(tmp_path, capsys, case, text, needle):
    path = write(tmp_path, text)
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--backend", "serial", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert needle in err, err
    assert not out.exists()
    with pytest.raises(SweepError):
        load_sweep(path)


def test_missing_sweep_file_and_bad_flags(tmp_path, capsys):
    assert main(["sweep", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")]) == 2
    assert "not found" in capsys.readouterr().err
    good = write(tmp_path, GOOD)
    assert main(["sweep", str(good)]) == 2
    assert "--out" in capsys.readouterr().err
    assert main(["sweep", str(good), "--out", str(tmp_path / "o"), "--backend", "serial",
                 "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--scheduler" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["sweep", str(good), "--out", str(tmp_path / "o"), "--workers", "0"])
    assert info.value.code == 2
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("path", sorted(SWEEPS.glob("*.toml")), ids=lambda p: p.name)
def test_example_sweeps_are_valid(path, capsys):
    sweep = load_sweep(path)
    design = build_design(sweep)
    assert design.n_points >= 8 and sweep.scenario_ref == "baseline"
    assert main(["sweep", str(path), "--dry-run"]) == 0
    assert "valid sweep" in capsys.readouterr().out


def test_example_sweeps_cover_the_three_designs():
    kinds: dict[str, set[str]] = {}
    for p in SWEEPS.glob("*.toml"):
        kinds.setdefault(load_sweep(p).spec.design, set()).add(p.name)
    assert kinds == {"grid": {"subsidy_vs_risk.toml", "emergence.toml"}, "lhs": {"clustering_lhs.toml", "policy_robustness.toml"},
                     "sobol": {"cocreation_levers.toml"}}


def test_list_metrics(tmp_path, capsys):
    assert main(["sweep", str(write(tmp_path, GOOD)), "--list-metrics"]) == 0
    names = capsys.readouterr().out.split()
    assert "hhi_country" in names and "step" not in names and "quarter" not in names


def test_the_design_registry_is_the_sweep_files_choice():
    import typing

    from experiments.design import DESIGNS
    from experiments.sweepfile import SweepSpec

    assert DESIGNS.names() == ("grid", "lhs", "sobol", "morris")
    field = SweepSpec.model_fields["design"]
    assert typing.get_args(field.annotation) == DESIGNS.names()
    assert "grid|lhs|sobol|morris" in field.description
    assert {d.takes for d in DESIGNS} == {"values", "range"}


RANGES = f'''
name = "ranges"
scenario = "{TINY}"
quarters = 2
seed = 4
design = "{{design}}"
samples = 2
metrics = ["share_US"]
[parameters]
"params.w_agglomeration" = {{{{ low = 0.1, high = 5.0, log = true }}}}
"governments.US.subsidy_rate" = {{{{ low = 0.0, high = 0.3 }}}}
'''


@pytest.mark.parametrize("design", ["lhs", "sobol", "morris"])
def test_range_designs_plan_run_and_store_without_any_warning(tmp_path, design):
    """Ranges serialise as ranges (no pydantic serializer warning about Range), warnings as errors."""
    import json
    import warnings

    from experiments.sweep import make_manifest, run_sweep

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sweep = load_sweep(write(tmp_path, RANGES.format(design=design)))
        plan = build_design(sweep)
        manifest = make_manifest(sweep, plan, plan_runs(sweep, plan))
        result = run_sweep(sweep, tmp_path / "out", backend="serial", progress=False)
    assert result.ok
    assert manifest["sweep"]["parameters"]["params.w_agglomeration"] == {"low": 0.1, "high": 5.0, "log": True}
    stored = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert stored["sweep"]["parameters"]["governments.US.subsidy_rate"] == {"low": 0.0, "high": 0.3, "log": False}


def test_dry_run_estimates_the_run_time_from_a_timed_run(tmp_path, capsys):
    assert main(["sweep", str(write(tmp_path, GOOD)), "--dry-run", "--workers", "2"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "12 runs of 4 quarters" in lines[0]
    assert lines[1].startswith("estimated run time: ") and "on 2 worker(s)" in lines[1], lines
    assert "quarters at" in lines[1] and "per run" in lines[1]
    assert not (tmp_path / "o").exists()
