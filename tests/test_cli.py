"""The ``kyoso`` command: runs, outputs, and one-line errors with exit status 2."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from experiments.cli import main

TINY = str(Path(__file__).parent / "data" / "tiny.toml")


def test_run_writes_every_table_manifest_and_figures(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", TINY, "--quarters", "6", "--seed", "3", "--out", str(out),
                 "--set", "governments.US.subsidy_rate=0.2"]) == 0
    for name in ("metrics", "sites", "firms", "investments", "events"):
        df = pd.read_parquet(out / f"{name}.parquet")
        assert "step" in df.columns or name == "events" or df.empty is False
    mt = pd.read_parquet(out / "metrics.parquet")
    assert list(mt["step"]) == list(range(7))
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["seed"] == 3 and manifest["quarters"] == 6
    assert manifest["overrides"] == {"governments.US.subsidy_rate": 0.2}
    assert manifest["scenario_as_run"]["governments"]["US"]["subsidy_rate"] == 0.2
    assert "mesa" in manifest["versions"]
    assert (out / "figures" / "capacity_share_by_country.png").stat().st_size > 1000
    assert (out / "figures" / "region_map.png").stat().st_size > 1000
    text = capsys.readouterr().out
    assert "fab capacity" in text and "tiny" in text


def test_run_is_reproducible_from_its_manifest(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["run", TINY, "--quarters", "8", "--seed", "9", "--out", str(a), "--no-figures"]) == 0
    assert main(["run", TINY, "--quarters", "8", "--seed", "9", "--out", str(b), "--no-figures"]) == 0
    for name in ("metrics", "sites", "firms", "investments"):
        pd.testing.assert_frame_equal(pd.read_parquet(a / f"{name}.parquet"), pd.read_parquet(b / f"{name}.parquet"))


def test_existing_output_is_refused_without_force_and_force_keeps_other_files(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    (out / "keep.txt").write_text("precious")
    assert main(["run", TINY, "--quarters", "2", "--out", str(out), "--no-figures"]) == 2
    assert (out / "keep.txt").read_text() == "precious"
    assert "--force" in capsys.readouterr().err
    assert main(["run", TINY, "--quarters", "2", "--out", str(out), "--no-figures", "--force"]) == 0
    assert (out / "keep.txt").read_text() == "precious" and (out / "metrics.parquet").exists()


def test_scenarios_validate_and_params(capsys):
    assert main(["scenarios"]) == 0
    assert "baseline" in capsys.readouterr().out
    assert main(["validate", TINY]) == 0
    assert "valid scenario 'tiny'" in capsys.readouterr().out
    assert main(["params", "--markdown"]) == 0
    assert "params.w_subsidy" in capsys.readouterr().out


BAD_CALLS = [
    (["run", "atlantis", "--out", "{out}"], "atlantis"),
    (["run", TINY, "--out", "{out}", "--set", "params.w_subsidy"], "PATH=VALUE"),
    (["run", TINY, "--out", "{out}", "--set", "params.no_such=1"], "params.no_such"),
    (["run", TINY, "--out", "{out}", "--set", "governments.US.subsidy_rate=2"], "governments.US.subsidy_rate"),
    (["run", TINY, "--out", "{out}", "--set", "params.w_risk=nan"], "params.w_risk"),
    (["run", TINY, "--out", "{out}", "--set", "params.w_risk=abc"], "params.w_risk"),
    (["run", TINY, "--out", "{out}", "--set", "=3"], "PATH=VALUE"),
    (["run", TINY, "--out", "{out}", "--quarters", "0"], "--quarters"),
    (["run", TINY, "--out", "{out}", "--quarters", "ten"], "--quarters"),
    (["run", TINY, "--out", "{out}", "--seed", "-4"], "--seed"),
    (["run", TINY], "--out"),
    (["validate", "missing.toml"], "not found"),
    (["frobnicate"], "frobnicate"),
]


@pytest.mark.parametrize("argv,needle", BAD_CALLS, ids=[" ".join(a[:1] + a[-2:]) for a, _ in BAD_CALLS])
def test_bad_calls_exit_2_with_one_line_and_write_nothing(tmp_path, capsys, argv, needle):
    out = tmp_path / "out"
    argv = [a.replace("{out}", str(out)) for a in argv]
    with pytest.raises(SystemExit) as info:
        raise SystemExit(main(argv))
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert needle in err, err
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir()]


def test_bad_scenario_file_via_cli(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('base = "baseline"\n[governments.JP]\nsubsidy_rate = -0.1\n')
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "governments.JP.subsidy_rate" in err and err.count("\n") == 1


def test_console_script_runs_as_a_process(tmp_path):
    exe = Path(sys.executable).with_name("kyoso")
    res = subprocess.run([str(exe), "validate", "nope.toml"], capture_output=True, text=True,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert res.returncode == 2
    assert res.stderr.startswith("kyoso: error:") and "Traceback" not in res.stderr


def test_version(tmp_path):
    from importlib import metadata

    exe = Path(sys.executable).with_name("kyoso")
    res = subprocess.run([str(exe), "--version"], capture_output=True, text=True)
    assert res.returncode == 0 and res.stdout == f"kyoso {metadata.version('kyoso')}\n", res


@pytest.mark.parametrize("command", [["analyze", "{run}", "--metric", "share_US"], ["plot", "{run}", "--out", "{figs}"]],
                         ids=["analyze", "plot"])
def test_analyze_and_plot_on_a_run_folder_say_so_in_one_line(tmp_path, capsys, command):
    run = tmp_path / "run"
    assert main(["run", TINY, "--quarters", "2", "--out", str(run), "--no-figures"]) == 0
    capsys.readouterr()
    argv = [a.replace("{run}", str(run)).replace("{figs}", str(tmp_path / "figs")) for a in command]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert "a run folder" in err and "not a sweep store" in err and "kyoso sweep" in err, err
    assert not (tmp_path / "figs").exists()


def test_a_shorter_horizon_runs_and_warns_once_about_events_that_will_not_fire(tmp_path):
    from model import ChipModel
    from model.scenario.references import EventsBeyondHorizonWarning

    exe = Path(sys.executable).with_name("kyoso")
    res = subprocess.run([str(exe), "run", "taiwan_contingency", "--quarters", "4", "--out", str(tmp_path / "r"),
                          "--no-figures"], capture_output=True, text=True, env={**os.environ, "MPLBACKEND": "Agg"})
    assert res.returncode == 0, res.stderr
    assert res.stderr.splitlines() == ["kyoso: warning: taiwan_contingency: 1 event(s) start after the run's last "
                                       "quarter 2025Q4 and will not fire: events.0 (blockade, 2027Q3)"], res.stderr
    assert len(pd.read_parquet(tmp_path / "r" / "metrics.parquet")) == 5
    with pytest.warns(EventsBeyondHorizonWarning, match="will not fire") as record:
        ChipModel("taiwan_contingency", rng=0, meta__horizon=4).run()
    assert len(record) == 1
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ChipModel("taiwan_contingency", rng=0, meta__horizon=12)      # 2027Q3 is within 12 quarters
