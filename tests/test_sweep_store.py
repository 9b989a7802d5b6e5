"""The sweep store: manifest first, atomic files, refusal rules, nothing deleted, tidy loading."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from experiments import load_results, results_dataset, sweep_status
from experiments.cli import main
from experiments.sweepfile import load_sweep
from experiments.errors import UserError
from experiments.store import SweepStore
from experiments.design import build_design, plan_runs
from experiments.sweep import make_manifest, run_sweep

TINY = str(Path(__file__).parent / "data" / "tiny.toml")

SWEEP = f'''
name = "store"
scenario = "{TINY}"
quarters = 3
replications = 2
seed = 11
design = "grid"
metrics = ["share_US", "capacity_fab"]
[parameters]
"governments.US.subsidy_rate" = [0.0, 0.3]
"params.w_bloc" = [0.5, 1, 2]
'''


@pytest.fixture()
def sweep(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(SWEEP)
    return load_sweep(p)


def test_layout_manifest_and_tidy_results(tmp_path, sweep):
    out = tmp_path / "out"
    res = run_sweep(sweep, out, backend="serial", progress=False)
    assert res.ok and res.done == res.planned == 12
    assert sorted(p.name for p in out.iterdir()) == ["failed", "manifest.json", "runs", "sessions.jsonl"]
    m = json.loads((out / "manifest.json").read_text())
    assert m["kind"] == "kyoso sweep" and m["sweep"]["name"] == "store" and m["n_runs"] == 12
    assert m["seed_tree"]["entropy"] == 11 and "SeedSequence" in m["seed_tree"]["how"]
    assert {"mesa", "SALib", "dask", "numpy"} <= set(m["versions"]) and "git_revision" in m
    run0 = m["runs"][0]
    assert run0["run_id"] == "p0-r0" and run0["parameters"] == {"governments.US.subsidy_rate": 0.0, "params.w_bloc": 0.5}
    assert run0["command"].startswith("kyoso run ") and f"--seed {run0['seed']}" in run0["command"]
    assert len(list((out / "runs").iterdir())) == 12 and not list((out / "failed").iterdir())
    df = load_results(out)
    assert list(df.columns) == ["run_id", "point", "replication", "seed", "governments.US.subsidy_rate",
                                "params.w_bloc", "step", "quarter", "share_US", "capacity_fab"]
    assert len(df) == 12 * 4 and not df.duplicated(["run_id", "step"]).any()
    assert list(df["run_id"].unique()) == [r["run_id"] for r in m["runs"]]
    assert df.groupby("run_id")["seed"].nunique().eq(1).all()
    lazy = results_dataset(out)
    assert lazy.count_rows() == len(df)
    assert load_results(out, lazy=True).to_table(columns=["share_US"]).num_rows == len(df)
    assert sweep_status(out) == {"planned": 12, "done": 12, "failed": [], "missing": []}


def test_existing_directory_refused_without_resume_and_changed_sweep_refused_with_it(tmp_path, sweep, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    src = tmp_path / "s.toml"
    assert main(["sweep", str(src), "--out", str(out), "--backend", "serial"]) == 2
    assert "--resume" in capsys.readouterr().err and (out / "keep.txt").read_text() == "precious"
    assert main(["sweep", str(src), "--out", str(out), "--backend", "serial", "--resume"]) == 2
    assert "not a kyoso sweep directory" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["keep.txt"]

    good = tmp_path / "good"
    assert main(["sweep", str(src), "--out", str(good), "--backend", "serial", "--no-progress"]) == 0
    src.write_text(SWEEP.replace("replications = 2", "replications = 3"))
    before = sorted(p.name for p in (good / "runs").iterdir())
    assert main(["sweep", str(src), "--out", str(good), "--backend", "serial", "--resume"]) == 2
    err = capsys.readouterr().err
    assert "differs" in err and "replications" in err and err.count("\n") == 1
    assert sorted(p.name for p in (good / "runs").iterdir()) == before
    (tmp_path / "file").write_text("x")
    with pytest.raises(UserError, match="not a directory"):
        SweepStore.check(tmp_path / "file", {}, resume=False)


def test_resume_of_a_finished_sweep_runs_nothing_and_deletes_nothing(tmp_path, sweep):
    out = tmp_path / "out"
    run_sweep(sweep, out, backend="serial", progress=False)
    stamps = {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()}
    res = run_sweep(sweep, out, backend="serial", resume=True, progress=False)
    assert res.ran == 0 and res.skipped == 12 and res.ok
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").iterdir()} == stamps
    sessions = (out / "sessions.jsonl").read_text().splitlines()
    assert len(sessions) == 2 and json.loads(sessions[1])["skipped"] == 12


def test_failure_records_keep_every_attempt(tmp_path, sweep):
    design = build_design(sweep)
    runs = plan_runs(sweep, design)
    store = SweepStore.open(tmp_path / "out", make_manifest(sweep, design, runs), resume=False)
    store.write_failure("p0-r0", {"run_id": "p0-r0", "error": "first", "traceback": "tb1"})
    store.write_failure("p0-r0", {"run_id": "p0-r0", "error": "second", "traceback": "tb2"})
    rec = json.loads((tmp_path / "out" / "failed" / "p0-r0.json").read_text())
    assert rec["error"] == "second" and [a["error"] for a in rec["attempts"]] == ["first", "second"]
    assert not [p for p in (tmp_path / "out" / "failed").iterdir() if "tmp" in p.name]
    assert sweep_status(tmp_path / "out")["failed"] == ["p0-r0"]


def test_load_results_errors(tmp_path):
    with pytest.raises(UserError, match="not a kyoso sweep directory"):
        load_results(tmp_path)


def test_resume_removes_stale_temporaries_but_not_those_of_a_running_writer(tmp_path, sweep):
    import os
    import subprocess
    import sys

    out = tmp_path / "out"
    run_sweep(sweep, out, backend="serial", progress=False)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = [out / "runs" / f"p0-r0.parquet.tmp-{dead.stdout.strip()}", out / f"manifest.json.tmp-{dead.stdout.strip()}"]
    live = out / "runs" / f"p0-r1.parquet.tmp-{os.getppid()}"          # a process that runs: kept
    for p in [*stale, live]:
        p.write_bytes(b"")
    res = run_sweep(sweep, out, backend="serial", resume=True, progress=False)
    assert res.ok and not any(p.exists() for p in stale) and live.exists()


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import experiments.store as st

    def broken(fd):
        raise OSError("disk full")

    monkeypatch.setattr(st.os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        st.atomic_write(tmp_path / "x.parquet", b"data")
    assert list(tmp_path.iterdir()) == []
