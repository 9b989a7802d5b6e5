"""Running sweeps: same results on every backend, failures recorded, SIGKILL + resume, exact reproduction."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from experiments import load_results, sweep_status
from experiments.cli import main
from experiments.sweepfile import load_sweep
from experiments.sweep import execute_run, metrics_table, open_executor, run_sweep
from model import ChipModel

TINY = str(Path(__file__).parent / "data" / "tiny.toml")
KYOSO = str(Path(sys.executable).with_name("kyoso"))

SWEEP = f'''
name = "run"
scenario = "{TINY}"
quarters = 6
replications = 2
seed = 5
design = "grid"
metrics = ["share_US", "hhi_country", "capacity_fab", "investments_started"]
[parameters]
"governments.US.subsidy_rate" = [0.0, 0.25, 0.5]
"params.w_agglomeration" = [0.2, 2.0]
'''

# Design point 1 and 4 (risk_aversion_low = 2.0 > risk_aversion_high = 1.5) break a
# cross-field rule of the scenario: ChipModel raises in the worker for those runs.
FAILING = f'''
name = "faulty"
scenario = "{TINY}"
quarters = 4
replications = 2
seed = 1
design = "grid"
metrics = ["share_US"]
[parameters]
"governments.US.subsidy_rate" = [0.0, 0.3]
"generated.risk_aversion_low" = [0.5, 2.0, 1.0]
'''


def write(tmp_path: Path, text: str, name: str = "s.toml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_metrics_table_matches_model_tables():
    m = ChipModel(TINY, rng=4).run(5)
    pd.testing.assert_frame_equal(metrics_table(m), m.tables()["metrics"])
    pd.testing.assert_frame_equal(metrics_table(m, ["share_US"]), m.tables()["metrics"][["step", "quarter", "share_US"]])


@pytest.mark.slow
def test_serial_processes_and_dask_give_identical_results(tmp_path):
    sweep = load_sweep(write(tmp_path, SWEEP))
    frames = {}
    for backend in ("serial", "processes", "dask"):
        res = run_sweep(sweep, tmp_path / backend, backend=backend, workers=2, progress=False)
        assert res.ok and res.done == 12, res
        frames[backend] = load_results(tmp_path / backend)
    pd.testing.assert_frame_equal(frames["serial"], frames["processes"])
    pd.testing.assert_frame_equal(frames["serial"], frames["dask"])
    assert frames["serial"].groupby("run_id")["share_US"].last().nunique() > 1


def test_cli_sweep_then_run_from_reproduces_a_run_exactly(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(write(tmp_path, SWEEP)), "--out", str(out), "--workers", "2"]) == 0
    cap = capsys.readouterr()
    assert "12/12 runs done, 0 failed" in cap.out and "run/s" in cap.err      # final line; tqdm bar
    df = load_results(out)
    manifest = json.loads((out / "manifest.json").read_text())
    run = manifest["runs"][7]
    assert main(["run", "--from", str(out), "--run", run["run_id"], "--out", str(tmp_path / "again"),
                 "--no-figures"]) == 0
    again = pd.read_parquet(tmp_path / "again" / "metrics.parquet")
    mine = df[df["run_id"] == run["run_id"]].reset_index(drop=True)
    for m in manifest["metrics"]:
        assert again[m].tolist() == mine[m].tolist(), m
    assert again["quarter"].tolist() == mine["quarter"].tolist()
    # the recorded command line gives the same numbers too
    argv = run["command"].split()[1:] + ["--out", str(tmp_path / "cmd"), "--no-figures"]
    assert main(argv) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "cmd" / "metrics.parquet"), again)


@pytest.mark.parametrize("argv,needle", [
    (["--from", "{out}"], "--run"),
    (["--from", "{out}", "--run", "p9-r9"], "no such run"),
    (["--from", "{out}", "--run", "p0-r0", "--seed", "3"], "--seed"),
    (["--from", "{out}", "--run", "p0-r0", "--set", "params.w_bloc=1"], "--set"),
    (["--from", "{tmp}", "--run", "p0-r0"], "not a kyoso sweep directory"),
])
def test_run_from_bad_calls(tmp_path, capsys, argv, needle):
    out = tmp_path / "sweep"
    assert main(["sweep", str(write(tmp_path, SWEEP.replace("[0.0, 0.25, 0.5]", "[0.1]"))), "--out", str(out),
                 "--backend", "serial", "--no-progress"]) == 0
    capsys.readouterr()
    argv = [a.replace("{out}", str(out)).replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(["run", *argv, "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1
    assert not (tmp_path / "r").exists()


def test_failing_runs_are_recorded_and_the_sweep_goes_on(tmp_path, capsys):
    out = tmp_path / "out"
    src = write(tmp_path, FAILING)
    assert main(["sweep", str(src), "--out", str(out), "--workers", "2", "--no-progress"]) == 1
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert "8/12 runs done, 4 failed" in last and "--resume" in last
    failed = sorted(p.stem for p in (out / "failed").iterdir())
    assert failed == ["p1-r0", "p1-r1", "p4-r0", "p4-r1"]
    rec = json.loads((out / "failed" / "p1-r0.json").read_text())
    assert "risk_aversion_low" in rec["error"] and "Traceback" in rec["traceback"]
    assert rec["parameters"]["generated.risk_aversion_low"] == 2.0 and rec["command"].startswith("kyoso run")
    assert len(list((out / "runs").iterdir())) == 8
    assert sorted(load_results(out)["run_id"].unique()) == sorted(
        r for r in (f"p{p}-r{k}" for p in range(6) for k in range(2)) if r not in failed)
    # resume retries the failed runs (they fail again: a second attempt is appended, nothing is deleted)
    assert main(["sweep", str(src), "--out", str(out), "--backend", "serial", "--resume", "--no-progress"]) == 1
    assert "4 ran in this session" in capsys.readouterr().out
    rec = json.loads((out / "failed" / "p1-r0.json").read_text())
    assert len(rec["attempts"]) == 2
    assert sweep_status(out)["failed"] == failed


def test_a_bug_in_the_runner_stops_the_sweep_loudly(tmp_path, monkeypatch):
    import experiments.sweep as sw

    def broken(task):
        raise RuntimeError("runner bug")

    monkeypatch.setattr(sw, "execute_run", broken)
    sweep = load_sweep(write(tmp_path, SWEEP))
    with pytest.raises(RuntimeError, match="runner bug"):
        run_sweep(sweep, tmp_path / "out", backend="serial", progress=False)
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_execute_run_returns_failures_instead_of_raising(tmp_path):
    sweep = load_sweep(write(tmp_path, FAILING))
    from experiments.design import build_design, plan_runs
    from experiments.sweep import _tasks

    tasks = list(_tasks(sweep, plan_runs(sweep, build_design(sweep))))
    ok, bad = execute_run(tasks[0]), execute_run(tasks[2])
    assert ok.ok and ok.payload and ok.payload[:4] == b"PAR1"
    assert not bad.ok and "risk_aversion_low" in bad.error and bad.payload is None


def test_unreachable_scheduler_is_a_user_error(tmp_path, capsys):
    from experiments.errors import UserError

    with pytest.raises(UserError, match="cannot connect"):
        with open_executor("dask", scheduler="tcp://127.0.0.1:9", connect_timeout="1s"):
            pass


@pytest.mark.slow
def test_sigkill_mid_sweep_then_resume_equals_a_clean_sweep(tmp_path):
    text = SWEEP.replace("quarters = 6", "quarters = 20").replace("replications = 2", "replications = 6")
    src = write(tmp_path, text)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen([KYOSO, "sweep", str(src), "--out", str(killed), "--workers", "2", "--no-progress"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = killed / "runs"
        if runs.is_dir() and sum(1 for p in runs.iterdir() if p.name.endswith(".parquet")) >= 6:
            break
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)      # the driver and its workers, at once
    proc.wait()
    done_before = {p.name for p in (killed / "runs").iterdir() if p.name.endswith(".parquet")}
    assert 6 <= len(done_before) < 36, "the sweep finished before it could be killed"
    res = subprocess.run([KYOSO, "sweep", str(src), "--out", str(killed), "--workers", "2", "--resume",
                          "--no-progress"], capture_output=True, text=True, env=env)
    assert res.returncode == 0, res.stderr
    assert f"{36 - len(done_before)} ran in this session" in res.stdout
    assert main(["sweep", str(src), "--out", str(clean), "--workers", "2", "--no-progress"]) == 0
    a, b = load_results(killed), load_results(clean)
    assert not a.duplicated(["run_id", "step"]).any() and a["run_id"].nunique() == 36
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_a_sweep_shorter_than_an_event_warns_once_in_one_line(tmp_path, backend):
    src = write(tmp_path, SWEEP.replace(f'"{TINY}"', '"taiwan_contingency"').replace("replications = 2", ""))
    res = subprocess.run([KYOSO, "sweep", str(src), "--out", str(tmp_path / "out"), "--backend", backend,
                          "--workers", "2", "--no-progress"], capture_output=True, text=True,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines() == ["kyoso: warning: taiwan_contingency: 1 event(s) start after the run's last "
                                       "quarter 2026Q2 and will not fire: events.0 (blockade, 2027Q3)"], res.stderr
