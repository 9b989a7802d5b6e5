"""``kyoso history``: the validation report from an estimate and a backcast (experiments/history.py).

The estimate is the small example output in ``tests/data/estimate_example`` (written by ``kyoso estimate`` on a
temporary 2-parameter estimation file; its numbers mean nothing); the backcast runs 2 seeds of 16 quarters.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from experiments import history
from experiments.estimation import SEMI_REGIONS, load_targets

EXAMPLE = Path(__file__).parent / "data" / "estimate_example"
FAST = ["--seeds", "2", "--quarters", "16", "--no-location-check", "--no-path-dependence"]
SECTIONS = ["## How to reproduce", "## Data and method", "## 1. Capacity shares by region",
            "## 2. Construction starts by region", "## 3. The posterior", "## 4. Scores against naive rules",
            "## 5. Known misses"]


def kyoso(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> int:
    """``kyoso ARGV`` through the real command (``experiments.cli.main``): its one-line errors and exit codes.
    Until ``history`` is wired into cli.py, it is added to the parser here the way cli.py adds commands."""
    from experiments import cli

    if "history" not in cli.COMMANDS:
        build = cli.build_parser

        def with_history() -> argparse.ArgumentParser:
            parser = build()
            sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
            history.add_parser(sub)
            return parser

        monkeypatch.setattr(cli, "build_parser", with_history)
        monkeypatch.setitem(cli.COMMANDS, "history", history.cmd_history)
    try:
        return cli.main(argv)
    except SystemExit as stop:                   # argparse's errors: one line, exit 2 (cli._Parser)
        return int(stop.code)


@pytest.fixture
def example(tmp_path: Path) -> Path:
    """A writable copy of the example estimate."""
    dst = tmp_path / "estimate"
    shutil.copytree(EXAMPLE, dst)
    return dst


@pytest.fixture(scope="module")
def report_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("history") / "report"
    mp = pytest.MonkeyPatch()
    try:
        assert kyoso(["history", "--estimate", str(EXAMPLE), "--out", str(out), *FAST], mp) == 0
    finally:
        mp.undo()
    return out


# ------------------------------------------------------------------ the report
def test_report_has_its_sections_and_every_linked_figure_exists(report_dir: Path):
    md = (report_dir / "VALIDATION.md").read_text()
    pos = [md.find(s) for s in SECTIONS]
    assert all(p >= 0 for p in pos), [s for s, p in zip(SECTIONS, pos) if p < 0]
    assert pos == sorted(pos), "sections out of order"
    links = re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md)
    assert {"figures/history_shares.png", "figures/history_starts.png", "figures/posterior.png"} <= set(links)
    for link in links:
        png = report_dir / link
        assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", link
    assert sorted(p.name for p in (report_dir / "figures").iterdir()) == sorted(Path(x).name for x in links)
    # left out on request: no location cross-validation, no path dependence
    assert "## 6." not in md and "validate-location" not in md


def test_report_says_how_to_reproduce_it(report_dir: Path):
    md = (report_dir / "VALIDATION.md").read_text()
    block = md.split("## How to reproduce", 1)[1].split("```")[1]
    lines = [x for x in block.strip().splitlines()]
    summary = json.loads((EXAMPLE / "estimate.json").read_text())
    assert lines[0] == f"kyoso estimate {summary['file']} --out {EXAMPLE}"
    assert lines[1] == (f"kyoso history --estimate {EXAMPLE} --out {report_dir} --seeds 2 --quarters 16 "
                        "--no-location-check --no-path-dependence")


def test_numbers_in_the_text_come_from_the_files(report_dir: Path):
    md = (report_dir / "VALIDATION.md").read_text()
    summary = json.loads((EXAMPLE / "estimate.json").read_text())
    for name, value in summary["point"].items():
        lo, hi = summary["ci95"][name]
        assert f"| `{name}` | {value:.4g} | {summary['se'][name]:.3g} | {lo:.4g} to {hi:.4g} |" in md
    scores = pd.read_csv(EXAMPLE / "scores.csv")
    for r in scores.itertuples():
        mae = f"{r.model_mae:.3f}" if r.family == "starts_growth" else f"{100 * r.model_mae:.1f} pp"
        assert re.search(rf"\| {r.sample} \| {r.family} .*\| {re.escape(mae)} \|", md), (r.sample, r.family)
    fit = pd.read_csv(EXAMPLE / "fit.csv")
    missed = set(fit.loc[fit["z"].abs() > 2, "id"])
    misses = md.split("## 5. Known misses", 1)[1]
    listed = set(re.findall(r"^\| `([^`]+)` \|", misses, flags=re.M))
    assert listed == missed and missed
    assert f"{len(missed)} of {len(fit)} targets are missed" in misses


def test_the_verdict_of_each_family_is_in_words(report_dir: Path):
    md = (report_dir / "VALIDATION.md").read_text()
    scores = pd.read_csv(EXAMPLE / "scores.csv")
    for r in scores.itertuples():
        word = ("model closer" if r.model_mae < r.naive_mae else "naive rule closer" if r.model_mae > r.naive_mae
                else "tie")
        row = next(line for line in md.splitlines() if line.startswith(f"| {r.sample} | {r.family} "))
        assert row.rstrip(" |").split(" | ")[-1].startswith(word), row


def test_known_misses_follow_fit_csv(example: Path, tmp_path: Path, monkeypatch):
    fit = pd.read_csv(example / "fit.csv")
    worst = fit.loc[fit["z"].abs().idxmax(), "id"]
    fit.loc[fit["id"] == worst, "z"] = 0.5
    fit.to_csv(example / "fit.csv", index=False)
    assert worst not in set(history.known_misses(history.read_estimate(example))["id"])
    out = tmp_path / "r"
    assert kyoso(["history", "--estimate", str(example), "--out", str(out), *FAST], monkeypatch) == 0
    assert f"`{worst}`" not in (out / "VALIDATION.md").read_text().split("## 5. Known misses", 1)[1]


def test_force_replaces_only_the_reports_files(example: Path, tmp_path: Path, monkeypatch):
    out = tmp_path / "docs"
    (out / "figures").mkdir(parents=True)
    (out / "ODD.md").write_text("keep me")
    (out / "figures" / "region_map.png").write_bytes(b"keep")
    (out / "VALIDATION.md").write_text("old")
    assert kyoso(["history", "--estimate", str(example), "--out", str(out), *FAST], monkeypatch) == 2
    assert (out / "VALIDATION.md").read_text() == "old"
    assert kyoso(["history", "--estimate", str(example), "--out", str(out), *FAST, "--force"], monkeypatch) == 0
    assert (out / "ODD.md").read_text() == "keep me"
    assert (out / "figures" / "region_map.png").read_bytes() == b"keep"
    assert (out / "VALIDATION.md").read_text().startswith("# Validation against history")
    assert (out / "figures" / "posterior.png").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "a temporary directory was left behind"


# ------------------------------------------------------------------ bad input
def _one_line_error(capsys, *words: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("kyoso: error: "), err
    for w in words:
        assert w in err, (w, err)
    return err


def test_missing_estimate_directory(tmp_path: Path, monkeypatch, capsys):
    out = tmp_path / "r"
    assert kyoso(["history", "--estimate", str(tmp_path / "nope"), "--out", str(out), *FAST], monkeypatch) == 2
    _one_line_error(capsys, "--estimate", "nope", "not found")
    assert not out.exists()


@pytest.mark.parametrize("name", ["estimate.json", "fit.csv", "scores.csv", "identification.csv", "draws.csv"])
def test_missing_file_in_the_estimate(example: Path, tmp_path: Path, name: str, monkeypatch, capsys):
    (example / name).unlink()
    out = tmp_path / "r"
    assert kyoso(["history", "--estimate", str(example), "--out", str(out), *FAST], monkeypatch) == 2
    _one_line_error(capsys, "--estimate", f"no {name}")
    assert not out.exists()


def test_broken_files_in_the_estimate(example: Path, tmp_path: Path, monkeypatch, capsys):
    out = tmp_path / "r"
    (example / "estimate.json").write_text("{not json")
    assert kyoso(["history", "--estimate", str(example), "--out", str(out), *FAST], monkeypatch) == 2
    _one_line_error(capsys, "estimate.json", "not valid JSON")
    shutil.copy(EXAMPLE / "estimate.json", example / "estimate.json")
    pd.read_csv(EXAMPLE / "scores.csv").drop(columns="naive_mae").to_csv(example / "scores.csv", index=False)
    assert kyoso(["history", "--estimate", str(example), "--out", str(out), *FAST], monkeypatch) == 2
    _one_line_error(capsys, "scores.csv", "naive_mae")
    shutil.copy(EXAMPLE / "scores.csv", example / "scores.csv")
    pd.read_csv(EXAMPLE / "draws.csv").rename(columns={"params.w_home": "params.w_risk"}).to_csv(
        example / "draws.csv", index=False)
    assert kyoso(["history", "--estimate", str(example), "--out", str(out), *FAST], monkeypatch) == 2
    _one_line_error(capsys, "draws.csv", "params.w_risk")
    assert not out.exists()


def test_bad_options(tmp_path: Path, monkeypatch, capsys):
    out = tmp_path / "r"
    base = ["history", "--estimate", str(EXAMPLE), "--out", str(out)]
    assert kyoso([*base, "--seeds", "1", "--no-location-check"], monkeypatch) == 2
    _one_line_error(capsys, "--seeds 1", "at least 2")
    assert kyoso([*base, "--seeds", "two"], monkeypatch) == 2
    _one_line_error(capsys, "--seeds", "'two'")
    assert kyoso([*base, "--scenario", "no_such_scenario", *FAST], monkeypatch) == 2
    _one_line_error(capsys, "no_such_scenario")
    (tmp_path / "file").write_text("x")
    assert kyoso(["history", "--estimate", str(EXAMPLE), "--out", str(tmp_path / "file"), *FAST], monkeypatch) == 2
    _one_line_error(capsys, "--out", "not a directory")
    assert not out.exists()


# ------------------------------------------------------------------ the pieces
def _frames(shares: dict[str, float], starts: dict[str, list[float]], quarters: int = 16) -> pd.DataFrame:
    labels = [f"{2021 + k // 4}Q{k % 4 + 1}" for k in range(quarters + 1)]      # as the metrics table labels rows
    df = pd.DataFrame({"step": np.arange(quarters + 1), "quarter": labels})
    for c, v in shares.items():
        df[f"share_{c}"] = v
        df[f"fab_starts_{c}"] = starts.get(c, [0.0] * (quarters + 1))
        df[f"fab_capex_{c}"] = 0.0
    return df


def _backcast(frames: list[pd.DataFrame], countries: list[str]) -> history.Backcast:
    return history.Backcast("synthetic", "synthetic", list(range(len(frames))), frames, countries,
                            len(frames[0]) - 1)


def test_share_bands_sum_countries_into_regions_and_band_the_seeds():
    countries = ["CN", "TW", "SG", "MY", "US"]
    runs = [_frames({"CN": 0.2 + 0.1 * k, "TW": 0.3, "SG": 0.05, "MY": 0.05 * k, "US": 0.1}, {}) for k in range(5)]
    bands = history.share_bands(_backcast(runs, countries))
    sea = bands[(bands["region"] == "Southeast Asia") & (bands["step"] == 3)].iloc[0]
    assert sea["mean"] == pytest.approx(0.05 + 0.05 * 2)             # SG + MY, MY = 0, .05, …, .2
    assert sea["p05"] == pytest.approx(0.05 + np.percentile(0.05 * np.arange(5), 5))
    cn = bands[(bands["region"] == "China") & (bands["step"] == 0)].iloc[0]
    assert cn["p05"] < cn["mean"] < cn["p95"]
    assert set(bands["region"]) == set(SEMI_REGIONS)
    assert (bands[bands["region"] == "Korea"]["mean"] == 0).all()   # no Korean country in the runs


def test_starts_table_reads_the_runs_like_the_estimation():
    targets = load_targets()
    countries = ["CN", "TW", "US"]
    n = 17
    # CN starts one project every quarter, TW one every other quarter, US none
    starts = {"CN": [1.0] * n, "TW": [float(k % 2) for k in range(n)], "US": [0.0] * n}
    runs = [_frames({"CN": 0.4, "TW": 0.4, "US": 0.2}, starts) for _ in range(2)]
    table = history.starts_table(_backcast(runs, countries), targets).set_index("id")
    cn, tw = table.loc["starts_2021_22:China", "model_mean"], table.loc["starts_2021_22:Taiwan", "model_mean"]
    assert cn + tw == pytest.approx(1.0) and cn > tw > 0
    assert table.loc["starts_2021_22:Americas", "model_mean"] == 0
    assert table["reached"].all()
    short = history.starts_table(_backcast([r.iloc[:9] for r in runs], countries), targets)
    assert not short.loc[short["family"] == "starts_2021_23", "reached"].any()   # the runs end in 2023Q1
    assert short.loc[short["family"] == "starts_2021_23", "model_mean"].isna().all()


def _est_with(model_err: list[float], naive_err: list[float]) -> history.EstimateOutput:
    est = history.read_estimate(EXAMPLE)
    n = len(model_err)
    fit = pd.DataFrame({"id": [f"f:{k}" for k in range(n)], "family": "share_2024", "sample": "out",
                        "value": 0.1, "model_abs_error": model_err, "naive_abs_error": naive_err, "z": 0.0})
    est.fit = fit
    est.scores = pd.DataFrame([{"sample": "out", "family": "share_2024", "targets": n,
                                "model_mae": float(np.mean(model_err)), "naive_mae": float(np.mean(naive_err)),
                                "model_closer": int((np.array(model_err) < naive_err).sum()), "mean_abs_z": 0.0}])
    return est


def test_score_verdicts_say_who_wins_and_whether_it_is_within_noise():
    clear = history.score_rows(_est_with([0.01, 0.011, 0.012, 0.01], [0.05, 0.052, 0.049, 0.051])).iloc[0]
    assert clear["verdict"] == "model closer (95 % interval of the difference excludes 0)"
    assert clear["diff_high"] < 0
    noisy = history.score_rows(_est_with([0.01, 0.09, 0.0, 0.08], [0.05, 0.02, 0.04, 0.03])).iloc[0]
    assert noisy["verdict"].startswith("naive rule closer (but")
    assert noisy["diff_low"] < 0 < noisy["diff_high"]


def test_figures_pass_the_quality_checks():
    from test_figure_quality import check_quality

    est = history.read_estimate(EXAMPLE)
    targets = load_targets()
    bc = history.run_backcast("backcast_2021", est.point, seeds=2, quarters=16)
    check_quality(history.shares_figure(history.share_bands(bc), targets, bc, est.split), "history_shares")
    check_quality(history.starts_figure(history.starts_table(bc, targets), 2), "history_starts")
    check_quality(history.posterior_figure(est), "posterior")


def test_full_report_with_location_check_and_path_dependence(tmp_path: Path, monkeypatch):
    """The report as docs/VALIDATION.md is made (with the location cross-validation: 3–11 s)."""
    from experiments.emergence import EMERGENCE_CSV

    out = tmp_path / "docs"
    assert kyoso(["history", "--estimate", str(EXAMPLE), "--out", str(out), "--seeds", "2", "--quarters", "16"],
                 monkeypatch) == 0
    md = (out / "VALIDATION.md").read_text()
    assert "## 6. The location logit on held-back announced sites" in md
    assert "kyoso validate-location --split latest" in md
    assert ("## 7. Path dependence" in md) == EMERGENCE_CSV.is_file()
    for link in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", md):
        assert (out / link).is_file(), link


def test_posterior_figure_of_many_parameters_passes_the_quality_checks():
    """The real estimation file estimates eight parameters (experiments/estimation/history.toml)."""
    from test_figure_quality import check_quality

    est = history.read_estimate(EXAMPLE)
    bounds = {"params.hurdle": (0.7, 1.6), "params.expectation_speed": (0.05, 0.8),
              "params.investment_pace": (0.1, 1.0), "params.logit_scale": (0.5, 3.0), "params.w_home": (0.0, 4.0),
              "params.w_expansion": (0.0, 4.0), "params.w_subsidy": (0.0, 15.0), "params.w_risk": (0.0, 15.0)}
    rng = np.random.default_rng(0)
    mid = {n: (lo + hi) / 2 for n, (lo, hi) in bounds.items()}
    est.summary = {**est.summary, "point": mid, "bounds": {n: list(b) for n, b in bounds.items()},
                   "se": {n: (hi - lo) / 10 for n, (lo, hi) in bounds.items()},
                   "ci95": {n: [mid[n] - (hi - lo) / 5, mid[n] + (hi - lo) / 5] for n, (lo, hi) in bounds.items()}}
    est.draws = pd.DataFrame({n: rng.uniform(lo, hi, 200) for n, (lo, hi) in bounds.items()})
    est.identification = pd.DataFrame({"parameter": list(bounds), "pinned": [True, False] * 4})
    fig = history.posterior_figure(est)
    check_quality(fig, "posterior (8 parameters)")
    assert [ax.get_title() for ax in fig.axes if ax.get_visible()][:2] == ["hurdle — identified",
                                                                             "expectation_speed — not identified"]


def test_a_missed_starts_growth_ratio_is_diagnosed_from_the_starts_by_quarter():
    """The note gives the backcast's world starts in 2021 and in the target year, their ratio against SEMI's, and
    the share of 2021's starts in its first quarter with starts (the front-loading that makes starts fall)."""
    from experiments.history import Backcast, _starts_growth_note

    quarters = [f"{y}Q{q}" for y in (2021, 2022) for q in range(1, 5)]
    frames = [pd.DataFrame({"quarter": quarters, "fab_starts_JP": [0, 30, 10, 0, 5, 5, 0, 0],
                            "fab_starts_KR": [0, 10, 10, 0, 0, 0, 0, 0]}),
              pd.DataFrame({"quarter": quarters, "fab_starts_JP": [0, 50, 10, 0, 5, 5, 0, 0],
                            "fab_starts_KR": [0, 10, 10, 0, 0, 0, 0, 0]})]
    bc = Backcast("backcast_2021", "backcast_2021", [0, 1], frames, ["JP", "KR"], 8)
    note = _starts_growth_note(bc, pd.Series({"id": "starts_growth:2022", "period_end": 2022, "value": 1.4}))
    # 2021: (60 + 80) / 2 = 70 per run; 2022: 10; the first quarter with starts, 2021Q2, holds (40 + 60) / 2 = 50
    assert "starts 70 fabs in 2021 and 10 in 2022" in note and "ratio 0.14; SEMI 1.40" in note
    assert "71% of its 2021 starts fall in its first quarter with starts (2021Q2)" in note
    assert "starts then fall, where SEMI's rose" in note


def _china_backcast(shares: list[list[float]], starts_cn: list[list[int]], starts_kr: list[list[int]]):
    """Two-country backcast over 2021–2023 (CN in China, KR in Korea), world fab capacity growing 1 % a quarter."""
    from experiments.history import Backcast

    quarters = [f"{y}Q{q}" for y in (2021, 2022, 2023) for q in range(1, 5)]
    world = 1000.0 * 1.01 ** np.arange(len(quarters))
    frames = [pd.DataFrame({"step": np.arange(len(quarters)), "quarter": quarters, "capacity_logic": world,
                            "share_CN": s, "share_KR": 1 - np.asarray(s), "fab_starts_CN": c, "fab_starts_KR": k})
              for s, c, k in zip(shares, starts_cn, starts_kr)]
    return Backcast("backcast_2021", "backcast_2021", list(range(len(frames))), frames, ["CN", "KR"], len(quarters))


def test_a_missed_share_change_is_diagnosed_from_capacity_growth_and_construction_lags():
    """The note gives the region's and the world's capacity growth in the year, the growth SEMI's change would
    need, and the scenario's construction lags (new fab, expansion) that keep the year's own starts offline."""
    from experiments.history import _fab_lags, _share_change_note

    flat = [0.2] * 12
    bc = _china_backcast([flat, flat], [[0] * 12] * 2, [[0] * 12] * 2)
    m = pd.Series({"id": "share_change_2022:China", "period_end": 2022, "region": "China", "value": 0.03})
    note = _share_change_note(bc, m, list(SEMI_REGIONS).index("China"))
    new, expansion = _fab_lags(bc)
    assert (new, expansion) == (8, 5)                       # backcast_2021: 8 quarters; 0.6 × 8 rounded
    # world +1 % a quarter → +4.1 % over the year; China at a flat 20 % share grows alike; +3 pp asks 1.15 × 1.041
    assert "China's fab capacity grows +4.1 % in 2022 and the world's +4.1 %" in note
    assert "share 20.0 % → 20.0 %" in note and "grow about +19.7 % at the world's pace" in note
    assert f"comes online {new} quarters later ({expansion} for an expansion)" in note


def test_a_missed_equipment_share_is_diagnosed_from_the_years_starts():
    """The model's equipment share of a year is that of the year's starts; the note compares the region's share of
    the earlier starts, which SEMI's spending in the year also pays for, and says on which side of SEMI's it is."""
    from experiments.history import _equipment_note

    flat = [0.2] * 12
    cn = [0, 1, 0, 0, 0, 0, 0, 1, 2, 2, 0, 0]          # 2021–22: 2 of 8 starts in China; 2023: 4 of 6
    kr = [0, 3, 1, 0, 1, 1, 0, 0, 1, 1, 0, 0]
    bc = _china_backcast([flat], [cn], [kr])
    m = pd.Series({"id": "equipment_2023:China", "period_end": 2023, "region": "China", "value": 0.3,
                   "model_mean": 0.6667, "model_sd": 0.05})
    note = _equipment_note(bc, m, "China", ["Korea", "China"])
    assert "its 2023 share is that of the fabs started in 2023: 6.0 per run in the 2 regions, 66.7 % of them" in note
    assert "model's China share of starts is 25.0 %, on the other side of SEMI's 30.0 %" in note
    m2 = m.copy()
    m2["value"] = 0.1
    assert "on the same side of SEMI's 10.0 %: the model starts too much there" in _equipment_note(
        bc, m2, "China", ["Korea", "China"])
    m3 = m.copy()
    m3["model_mean"] = 0.05                                 # below SEMI's 30 %, as the 2021–22 share (25 %) is
    assert "on the same side of SEMI's 30.0 %: the model starts too little there" in _equipment_note(
        bc, m3, "China", ["Korea", "China"])
