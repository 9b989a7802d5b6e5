"""Sweeps with [policies] and bound parameters; the policy comparison of `kyoso analyze`; inert parameters."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import load_results
from experiments.analysis import analyze_stores, analyze_sweep, gated_in_store, inert_parameters
from experiments.cli import main
from experiments.design import build_design, plan_runs
from experiments.errors import SweepError
from experiments.store import planned_runs, read_manifest
from experiments.sweep import _tasks, run_sweep
from experiments.sweepfile import GatedParameterWarning, expand_key, is_binding, load_sweep
from model.scenario import load_scenario

TINY = str(Path(__file__).parent / "data" / "tiny.toml")

# Three uncertainties (one binds two regions; Korea's grant rate is gated: its budget is 0 in tiny.toml).
BASE = """
name = "NAME"
scenario = "TINY"
quarters = 10
replications = 2
seed = 12
design = "lhs"
samples = 4
metrics = ["share_US", "hhi_country"]

[parameters]
"regions.{JP-North,KR-Seoul}.political_risk" = { low = 0.2, high = 0.5 }
"params.w_agglomeration" = { low = 0.2, high = 1.0 }
"governments.KR.subsidy_rate" = { low = 0.0, high = 0.4 }
""".replace("TINY", TINY)

POLICIES = """
[policies.base]

[policies.us_grants]
"governments.US.subsidy_rate" = 0.6
"governments.US.budget" = 60.0

[policies.talent]
"cocreation.talent.enabled" = true
"""

US_GRANTS = '\n[fixed]\n"governments.US.subsidy_rate" = 0.6\n"governments.US.budget" = 60.0\n'


def write(folder: Path, text: str, name: str = "s.toml") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text)
    return p


def sweep_of(folder: Path, text: str):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GatedParameterWarning)
        return load_sweep(write(folder, text))


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    """A sweep with three policies, and the same design run as two stores without policies (serial, tiny)."""
    root = tmp_path_factory.mktemp("policies")
    out = {}
    for name, text in (("pol", BASE + POLICIES), ("off", BASE), ("on", BASE + US_GRANTS)):
        sweep = sweep_of(root / f"src_{name}", text.replace("NAME", name))
        res = run_sweep(sweep, root / name, backend="serial", progress=False)
        assert res.ok, res
        out[name] = root / name
    return out


# ------------------------------------------------------------------ parsing and the plan
def test_policies_are_crossed_with_the_design_on_common_seeds(tmp_path):
    sweep = sweep_of(tmp_path / "a", BASE.replace("NAME", "a") + POLICIES)
    design = build_design(sweep)
    runs = plan_runs(sweep, design)
    assert sweep.policy_names == ["base", "us_grants", "talent"]
    assert len(runs) == design.n_points * 3 * 2 == 24
    assert [r.index for r in runs] == list(range(24))
    assert len({r.run_id for r in runs}) == 24 and runs[2].run_id == "p0-us_grants-r0"
    seeds = pd.DataFrame([{"point": r.point, "rep": r.replication, "policy": r.policy, "seed": r.seed} for r in runs])
    assert (seeds.groupby(["point", "rep"])["seed"].nunique() == 1).all()       # one seed per (point, replication)
    assert seeds["seed"].nunique() == design.n_points * 2
    # the seeds, design and parameters are those of the same sweep without policies
    plain = sweep_of(tmp_path / "b", BASE.replace("NAME", "a"))
    plain_runs = plan_runs(plain, build_design(plain))
    assert [r.run_id for r in plain_runs][:2] == ["p0-r0", "p0-r1"]
    assert {(r.point, r.replication): r.seed for r in plain_runs} == {
        (r.point, r.replication): r.seed for r in runs}
    assert build_design(plain).points == design.points
    # a lever a policy leaves out keeps the scenario's value (tiny: US 0.1 of capex, talent off)
    assert sweep.policies["base"] == {"governments.US.subsidy_rate": 0.1, "governments.US.budget": 5.0,
                                      "cocreation.talent.enabled": False}
    assert sweep.policies["talent"]["cocreation.talent.enabled"] is True
    assert sweep.policies["us_grants"]["governments.US.subsidy_rate"] == 0.6


def test_common_seeds_keep_their_meaning_with_policies(tmp_path):
    text = BASE.replace("NAME", "c").replace("seed = 12", "seed = 12\ncommon_seeds = true") + POLICIES
    sweep = sweep_of(tmp_path, text)
    runs = plan_runs(sweep, build_design(sweep))
    by_rep = pd.DataFrame([{"rep": r.replication, "seed": r.seed} for r in runs]).groupby("rep")["seed"].nunique()
    assert by_rep.tolist() == [1, 1]


def test_bindings_set_one_value_on_every_matching_path(tmp_path):
    sc = load_scenario(TINY)
    assert expand_key("regions.*.political_risk", sc) == [f"regions.{r}.political_risk" for r in sc.regions]
    assert expand_key("regions.{KR-Seoul,JP-North}.political_risk", sc) == [
        "regions.JP-North.political_risk", "regions.KR-Seoul.political_risk"]
    assert expand_key("governments.*.subsidy_rate", sc) == [f"governments.{c}.subsidy_rate" for c in sc.governments]
    assert is_binding("regions.*-*.political_risk") and not is_binding("regions.JP-North.political_risk")
    sweep = sweep_of(tmp_path, BASE.replace("NAME", "b") + POLICIES)
    key = "regions.{JP-North,KR-Seoul}.political_risk"
    assert sweep.expansions == {key: ["regions.JP-North.political_risk", "regions.KR-Seoul.political_risk"]}
    design = build_design(sweep)
    assert design.names[0] == key
    task = next(t for t in _tasks(sweep, plan_runs(sweep, design)) if t.policy == "us_grants" and t.point == 2)
    run_sc = load_scenario(TINY, **task.overrides)
    value = design.points[2][key]
    assert run_sc.regions["JP-North"].political_risk == run_sc.regions["KR-Seoul"].political_risk == value
    assert run_sc.regions["US-West"].political_risk == sc.regions["US-West"].political_risk
    assert run_sc.governments["US"].subsidy_rate == 0.6


def _policy(body: str) -> str:
    return BASE.replace("NAME", "bad") + "\n[policies.a]\n" + body + "\n"


BAD = [
    ("bool lever", _policy('"cocreation.talent.enabled" = 3'), "policies.a.cocreation.talent.enabled = 3: expected true"),
    ("unknown lever", _policy('"params.w_nonsense" = 1.0'), "policies.a.params.w_nonsense"),
    ("lever out of bounds", _policy('"governments.US.subsidy_rate" = 1.5'), "outside the schema's bounds [0, 1]"),
    ("lever list", _policy('"governments.US.subsidy_rate" = [0.1, 0.2]'), "policies.a.governments.US.subsidy_rate: "
                                                                           "expected a single value"),
    ("lever also swept", _policy('"params.w_agglomeration" = 1.0'), "policies.a.params.w_agglomeration: also a swept"),
    ("horizon lever", _policy('"meta.horizon" = 8'), "set the run length with 'quarters'"),
    ("bad policy name", BASE.replace("NAME", "bad") + '\n[policies."a b"]\n', "policies.a b"),
    ("policy not a table", BASE.replace("NAME", "bad") + "\n[policies]\na = 3\n", "policies.a = 3: expected a table"),
    ("no match", BASE.replace("NAME", "bad").replace("{JP-North,KR-Seoul}", "XX-*"), "'XX-*' matches no key"),
    ("typo in a list", BASE.replace("NAME", "bad").replace("KR-Seoul}", "KR-Seul}"), "'KR-Seul' matches no key"),
    ("bound out of one path's bounds", BASE.replace("NAME", "bad").replace("high = 0.5", "high = 1.5"),
     "high = 1.5: outside the schema's bounds [0, 1] index 0–1 of regions.JP-North.political_risk"),
    ("kinds differ", BASE.replace("NAME", "bad").replace('"governments.KR.subsidy_rate" = { low = 0.0, high = 0.4 }',
                                                         '"governments.KR.{subsidy_rate,tit_for_tat}" = { low = 0.0, high = 0.4 }'),
     "governments.KR.subsidy_rate is float, governments.KR.tit_for_tat is bool"),
    ("a table among the matches", BASE.replace("NAME", "bad").replace('"governments.KR.subsidy_rate"',
                                                                      '"governments.KR.*"'),
     "governments.KR.* (governments.KR.tariff_exempt): names a table"),
    ("units differ", BASE.replace("NAME", "bad").replace('"params.w_agglomeration"', '"params.w_*"'),
     "different units"),
    ("bound path fixed too", BASE.replace("NAME", "bad") + '\n[fixed]\n"regions.KR-Seoul.political_risk" = 0.3\n',
     "sets regions.KR-Seoul.political_risk, which parameters."),
    ("bound lever overlaps a swept path", _policy('"regions.*.political_risk" = 0.3'),
     "sets regions.JP-North.political_risk, which parameters."),
]


@pytest.mark.parametrize("case,text,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_policies_and_bindings_exit_2_with_one_line(tmp_path, capsys, case, text, needle):
    path = write(tmp_path, text)
    assert main(["sweep", str(path), "--out", str(tmp_path / "out"), "--backend", "serial", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert needle in err, err
    assert not (tmp_path / "out").exists()
    with pytest.raises(SweepError):
        load_sweep(path)


def test_gated_warnings_cover_bound_and_policy_paths(tmp_path):
    text = BASE.replace("NAME", "g") + """
[policies.off]
"cocreation.talent.mobility" = 0.5
[policies.on]
"cocreation.talent.enabled" = true
"cocreation.talent.mobility" = 0.5
"""
    with pytest.warns(GatedParameterWarning) as caught:
        load_sweep(write(tmp_path, text))
    messages = [str(w.message) for w in caught]
    assert any(m.startswith("governments.KR.subsidy_rate is gated to nothing: ") for m in messages), messages
    assert any(m.startswith("cocreation.talent.mobility is gated to nothing under policy off:") for m in messages)
    bound = BASE.replace("NAME", "g").replace('"governments.KR.subsidy_rate"', '"governments.{KR,JP}.subsidy_rate"')
    with pytest.warns(GatedParameterWarning, match=r"^governments\.KR\.subsidy_rate is gated"):
        load_sweep(write(tmp_path, bound, "bound.toml"))


# ------------------------------------------------------------------ the store
def test_store_columns_manifest_and_exact_reproduction(stores, tmp_path, capsys):
    root = stores["pol"]
    df = load_results(root)
    key = "regions.{JP-North,KR-Seoul}.political_risk"
    assert df.columns.tolist()[:11] == ["run_id", "point", "replication", "seed", "policy", key,
                                        "params.w_agglomeration", "governments.KR.subsidy_rate",
                                        "governments.US.subsidy_rate", "governments.US.budget",
                                        "cocreation.talent.enabled"]
    runs = df.groupby("run_id", sort=False).first()
    assert set(runs.loc[runs["policy"] == "us_grants", "governments.US.subsidy_rate"]) == {0.6}
    assert set(runs.loc[runs["policy"] == "base", "governments.US.subsidy_rate"]) == {0.1}
    assert runs.loc[runs["policy"] == "talent", "cocreation.talent.enabled"].all()
    m = read_manifest(root)
    assert m["policy_names"] == ["base", "us_grants", "talent"] and m["n_runs"] == 24
    assert m["policies"]["us_grants"]["governments.US.budget"] == 60.0
    assert m["bindings"] == {key: ["regions.JP-North.political_risk", "regions.KR-Seoul.political_risk"]}
    assert "under every policy" in m["seed_tree"]["how"]
    assert [r["policy"] for r in m["runs"][:6]] == ["base", "base", "us_grants", "us_grants", "talent", "talent"]
    plan = planned_runs(root)
    assert {"policy", key, "governments.US.subsidy_rate"} <= set(plan.columns)
    # a sweep without policies has none of their keys (its binding is listed)
    plain = read_manifest(stores["off"])
    assert not {"policies", "policy_names", "levers"} & set(plain) and "policies" not in plain["sweep"]
    assert "bindings" in plain and "policy" not in plain["runs"][0]
    assert "policy" not in load_results(stores["off"]).columns
    # kyoso run --from repeats a policy run exactly
    run = m["runs"][3]
    assert run["run_id"] == "p0-us_grants-r1"
    assert main(["run", "--from", str(root), "--run", run["run_id"], "--out", str(tmp_path / "again"),
                 "--no-figures"]) == 0
    again = pd.read_parquet(tmp_path / "again" / "metrics.parquet")
    mine = df[df["run_id"] == run["run_id"]].reset_index(drop=True)
    assert again["share_US"].tolist() == mine["share_US"].tolist()


def test_resume_with_policies_runs_only_what_is_missing(stores, tmp_path):
    import shutil

    root = tmp_path / "copy"
    shutil.copytree(stores["pol"], root)
    before = load_results(root)
    for run_id in ("p1-talent-r0", "p3-base-r1"):
        (root / "runs" / f"{run_id}.parquet").unlink()
    sweep = sweep_of(tmp_path / "src", BASE.replace("NAME", "pol") + POLICIES)
    res = run_sweep(sweep, root, backend="serial", resume=True, progress=False)
    assert res.ok and res.ran == 2 and res.skipped == 22
    pd.testing.assert_frame_equal(load_results(root), before)
    changed = sweep_of(tmp_path / "src2", BASE.replace("NAME", "pol") + POLICIES.replace("0.6", "0.5"))
    with pytest.raises(Exception, match="policies"):
        run_sweep(changed, root, backend="serial", resume=True, progress=False)


# ------------------------------------------------------------------ analysis
def test_policy_comparison_is_paired_and_finds_the_lever_that_raises_a_metric(stores, capsys):
    res = analyze_sweep(stores["pol"], "share_US", at="mean")
    assert res.policy == "base" and res.reference == "base" and set(res.values["policy"]) == {"base"}
    pol = res.results["policies"]
    paired = pol["paired"].set_index("policy")
    # US grants of 0.6 of capex with USD 60 bn raise the US share: the paired interval lies above 0
    g = paired.loc["us_grants"]
    assert g["n_pairs"] == 8 and g["ci_low"] > 0 and g["share_higher"] >= 0.75 and not g["within_noise"]
    # the paired difference is the mean of the run-by-run differences on common seeds
    v = analyze_sweep(stores["pol"], "share_US", at="mean", policy="us_grants").values
    base = res.values.set_index(["point", "replication"])["value"]
    diff = v.set_index(["point", "replication"])["value"] - base
    assert g["diff"] == pytest.approx(diff.mean(), rel=1e-12)
    by_point = pol["by_point"]
    assert len(by_point) == 8 and set(by_point["verdict"]) <= {"higher", "lower", "unclear"}
    assert {"params.w_agglomeration", "diff", "ci_low"} <= set(by_point.columns)
    # --policy and --reference, and their errors
    assert main(["analyze", str(stores["pol"]), "--metric", "share_US", "--policy", "talent", "--reference",
                 "us_grants"]) == 0
    out = capsys.readouterr().out
    assert "policy talent (of base, us_grants, talent" in out and "Paired differences policy − us_grants" in out
    assert main(["analyze", str(stores["pol"]), "--metric", "share_US", "--policy", "us_grant"]) == 2
    err = capsys.readouterr().err
    assert "--policy 'us_grant': no such policy" in err and "us_grants" in err and err.count("\n") == 1
    assert main(["analyze", str(stores["off"]), "--metric", "share_US", "--policy", "x"]) == 2
    assert "has no [policies]" in capsys.readouterr().err


def test_two_stores_of_one_design_are_compared_as_policies(stores, tmp_path, capsys):
    two = analyze_stores([stores["off"], stores["on"]], "share_US", at="mean")
    one = analyze_sweep(stores["pol"], "share_US", at="mean")
    a = two.results["policies"]["paired"].iloc[0]
    b = one.results["policies"]["paired"].set_index("policy").loc["us_grants"]
    assert (a["policy"], a["reference"]) == ("on", "off")
    assert a["diff"] == pytest.approx(b["diff"], abs=1e-15) and a["n_pairs"] == b["n_pairs"]   # same seeds
    assert any("governments.US.budget" in n for n in two.notes)
    csv = tmp_path / "t.csv"
    assert main(["analyze", str(stores["off"]), str(stores["on"]), "--metric", "share_US", "--csv", str(csv)]) == 0
    assert "Paired differences policy − off" in capsys.readouterr().out
    assert pd.read_csv(tmp_path / "t_policies.csv")["policy"].tolist() == ["on"]
    # a store of another design is refused in one line
    other = sweep_of(tmp_path / "src", BASE.replace("NAME", "other").replace("seed = 12", "seed = 13"))
    run_sweep(other, tmp_path / "other", backend="serial", progress=False)
    assert main(["analyze", str(stores["off"]), str(tmp_path / "other"), "--metric", "share_US"]) == 2
    err = capsys.readouterr().err
    assert "design matrix differs" in err and err.count("\n") == 1
    assert main(["analyze", str(stores["off"]), str(stores["off"]), "--metric", "share_US"]) == 2
    assert "share the sweep name 'off'" in capsys.readouterr().err


def test_policy_figure_and_plot_command(stores, tmp_path):
    from experiments.plots.sweeps import policy_comparison_figure
    from test_figure_quality import check_quality

    res = analyze_sweep(stores["pol"], "share_US", at="mean")
    check_quality(policy_comparison_figure(res.results["policies"], "share_US", "mean"), "policies")
    assert main(["plot", str(stores["pol"]), "--out", str(tmp_path / "fig"), "--metric", "share_US",
                 "--reference", "talent"]) == 0
    assert (tmp_path / "fig" / "policies_share_US.png").stat().st_size > 5000


# ------------------------------------------------------------------ inert parameters
def test_a_gated_parameter_is_flagged_in_the_report(stores, capsys):
    assert gated_in_store(stores["pol"]) == {"governments.KR.subsidy_rate": (
        "governments.KR.budget and governments.KR.annual_budget are 0, so no grant can be paid")}
    res = analyze_sweep(stores["pol"], "share_US")
    eta = res.effect_summary.set_index("parameter")
    assert eta.loc["governments.KR.subsidy_rate", "inert"] and eta.loc["governments.KR.subsidy_rate", "gated"]
    assert not eta.loc["params.w_agglomeration", "gated"]
    assert main(["analyze", str(stores["pol"]), "--metric", "share_US"]) == 0
    out = capsys.readouterr().out
    assert "governments.KR.subsidy_rate: gated to nothing: governments.KR.budget" in out


def _synthetic(seed: int, n_points: int = 40, reps: int = 2, effect: float = 3.0) -> pd.DataFrame:
    """Runs at random points: value = effect·x0 + 0.5·x1 + seed noise; x2 never acts."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n_points, 3))
    rows = [{"point": k, "replication": r, "a": x[k, 0], "b": x[k, 1], "c": x[k, 2],
             "value": effect * x[k, 0] + 0.5 * x[k, 1] + 0.3 * rng.standard_normal()}
            for k in range(n_points) for r in range(reps)]
    return pd.DataFrame(rows)


def test_a_parameter_without_effect_is_flagged_although_its_eta2_is_positive():
    res = inert_parameters(_synthetic(1), ["a", "b", "c"], gated={"b": "closed gate"}).set_index("parameter")
    assert not res.loc["a", "inert"] and res.loc["a", "p_value"] < 0.01
    assert res.loc["c", "inert"] and res.loc["c", "eta2"] > 0 and res.loc["c", "eta2_null"] > 0
    assert "not distinguishable from chance" in res.loc["c", "why"] and "permutation" in res.loc["c", "test"]
    assert res.loc["b", "inert"] and res.loc["b", "why"] == "gated to nothing: closed gate"
    # seeded: the same answer twice
    pd.testing.assert_frame_equal(inert_parameters(_synthetic(1), ["a", "c"]), inert_parameters(_synthetic(1), ["a", "c"]))


def test_the_permutation_test_holds_its_level_and_has_power():
    p_null = [inert_parameters(_synthetic(s), ["c"], permutations=199, seed=s)["p_value"].iloc[0] for s in range(40)]
    assert np.mean(np.array(p_null) < 0.05) <= 0.15          # ~5% expected; 0.15 leaves room for 40 draws
    p_alt = [inert_parameters(_synthetic(s), ["a"], permutations=199, seed=s)["p_value"].iloc[0] for s in range(10)]
    assert max(p_alt) < 0.05


def test_grid_designs_test_level_means_against_seed_noise():
    rng = np.random.default_rng(3)
    rows = [{"point": 3 * i + j, "replication": r, "a": a, "b": b, "value": 2.0 * a + 0.2 * rng.standard_normal()}
            for i, a in enumerate([0.0, 0.5, 1.0]) for j, b in enumerate([1.0, 2.0, 3.0]) for r in range(3)]
    res = inert_parameters(pd.DataFrame(rows), ["a", "b"], design="grid").set_index("parameter")
    assert res.loc["a", "test"] == "F test of level means against seed noise"
    assert res.loc["a", "p_value"] < 1e-6 and not res.loc["a", "inert"]
    assert res.loc["b", "inert"] and res.loc["b", "p_value"] > 0.05


def test_the_study_sweep_file_is_valid(capsys):
    path = Path(__file__).parent.parent / "experiments" / "sweeps" / "policy_robustness.toml"
    sweep = load_sweep(path)
    runs = plan_runs(sweep, build_design(sweep))
    assert sweep.spec.design == "lhs" and len(sweep.names) == 8 and len(runs) == 360
    assert sweep.policy_names == ["status_quo", "levers_on"]
    assert sweep.expansions["regions.TW-*.political_risk"] == [
        "regions.TW-Hsinchu.political_risk", "regions.TW-Central.political_risk", "regions.TW-Tainan.political_risk"]
    assert json.dumps(sweep.policies)              # plain JSON values for the manifest
