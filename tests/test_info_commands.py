"""``kyoso show`` and ``kyoso params``: the values in force, with units and sources;
parameters gated to nothing, listed by ``show`` and warned about by sweeps."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.info import params_rows
from experiments.sweepfile import GatedParameterWarning, load_sweep
from model.scenario import gated_parameters, load_scenario, parameter_table
from model.scenario.docs import parameter_markdown

TINY = Path(__file__).parent / "data" / "tiny.toml"


def test_params_lists_switches_and_strings_with_scenario_values_and_a_source_on_every_row():
    rows = {r["path"]: r for r in params_rows("jk_cocreation")}
    assert len(rows) > len(parameter_table())                     # switches and strings are added
    for path, value in (("cocreation.fund.enabled", "true"), ("cocreation.ip.regime", "licence"),
                        ("cocreation.fund.mode", "stage_gated"), ("cocreation.members", "JP, KR"),
                        ("random_events.enabled", "false")):
        assert rows[path]["value"] == value, path
    assert rows["cocreation.fund.enabled"]["unit"] == "bool"
    assert all(r["source"] for r in rows.values())
    assert rows["params.w_subsidy"]["source"].startswith("sign: Head, Ries")
    assert rows["governments.<country>.subsidy_rate"]["source"] == "per entry"
    assert rows["network.spot_share"]["source"] == "assumption"
    assert rows["params.w_subsidy"]["bounds"] == "[0.0, 100.0]"
    base = {r["path"]: r for r in params_rows("baseline")}
    assert base["cocreation.fund.enabled"]["value"] == "false"
    assert base["governments.<country>.subsidy_rate"]["value"] == "0–0.5"   # the scenario's values, not 0.0


def test_params_command_scenario_keys_and_markdown(capsys):
    assert main(["params", "--scenario", "jk_cocreation"]) == 0
    out = capsys.readouterr().out
    assert "cocreation.talent.enabled" in out and "licence" in out
    assert main(["params", "--keys", "countries"]) == 0
    keys = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert keys == list(load_scenario("baseline").governments)
    assert main(["params", "--keys", "regions", "--scenario", str(TINY)]) == 0
    assert capsys.readouterr().out.split()[0] == "JP-North"
    assert main(["params", "--keys", "firms", "--scenario", str(TINY)]) == 0
    assert "alpha" in capsys.readouterr().out
    assert main(["params", "--markdown"]) == 0
    assert capsys.readouterr().out == parameter_markdown("baseline")
    assert main(["params", "--scenario", "baselin"]) == 2
    assert "did you mean 'baseline'" in capsys.readouterr().err


def test_params_of_one_entry_show_its_values_and_its_source(capsys):
    rows = {r["path"]: r for r in params_rows("baseline", "governments.US")}
    assert rows["governments.US.subsidy_rate"]["value"] == "0.1"             # not the schema default 0.0
    assert rows["governments.US.conditions.concern_ban"]["source"].startswith("calibration_regions.csv (US)")
    assert main(["params", "governments.USA"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'US'?" in err and err.count("\n") == 1


def test_show_prints_the_values_in_force_with_units_and_sources(capsys):
    assert main(["show", "baseline", "--set", "governments.TW.subsidy_rate=0.2"]) == 0
    out = capsys.readouterr().out
    us = next(line for line in out.splitlines() if line.startswith("  US "))
    assert us.split()[1:3] == ["0.1", "13.2"] and "calibration_regions.csv (US)" in us
    assert "params.w_subsidy" in out and "utility per unit of capex share" in out
    assert "cocreation.fund.enabled" in out and "[gated to nothing]" in out
    assert "governments.TW.subsidy_rate: governments.TW.budget and governments.TW.annual_budget are 0" in out
    assert main(["show", "taiwan_contingency", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["governments"]["US"]["subsidy_rate"] == 0.1
    assert data["parameters"]["cocreation.ip.regime"] == {"value": "joint", "unit": "joint|licence",
                                                          "source": "assumption"}
    assert data["events"][0]["type"] == "blockade" and data["events"][0]["country"] == "TW"


def test_show_of_an_unknown_scenario_is_one_line_with_exit_2():
    exe = Path(sys.executable).with_name("kyoso")
    res = subprocess.run([str(exe), "show", "baselin"], capture_output=True, text=True,
                         env={**os.environ, "MPLBACKEND": "Agg"})
    assert res.returncode == 2 and res.stdout == ""
    assert res.stderr.count("\n") == 1 and "did you mean 'baseline'" in res.stderr


def test_gated_parameters_of_a_scenario():
    sc = load_scenario("baseline", **{"governments.TW.subsidy_rate": 0.2, "cocreation.talent.mobility": 0.5,
                                      "cocreation.ip.licence_years": 3.0})
    gated = {g.path: g.reason for g in gated_parameters(sc)}
    assert gated["governments.TW.subsidy_rate"].endswith("so no grant can be paid")
    assert "governments.KR.subsidy_rate" not in gated               # Korea's 2024 package gives it a budget
    assert gated["cocreation.talent.mobility"] == "cocreation.talent.enabled is false"
    assert "cocreation.ip.licence_years" in gated
    assert "governments.US.subsidy_rate" not in gated               # the US has a budget
    assert not [g for g in gated_parameters(load_scenario("jk_cocreation")) if g.path.startswith("cocreation")]
    on = load_scenario("baseline", **{"cocreation.fund.enabled": True, "cocreation.fund.budget": 0.0,
                                      "cocreation.fund.contributions": {}, "cocreation.fund.stages": 2})
    fund = [g.path for g in gated_parameters(on) if g.path.startswith("cocreation.fund.")]
    assert "cocreation.fund.stages" in fund and "cocreation.fund.budget" not in fund    # a fund with no money


def _sweep(tmp_path: Path, parameters: str, fixed: str = "") -> Path:
    p = tmp_path / "sweep.toml"
    p.write_text(f'name = "t"\nscenario = "{TINY}"\nquarters = 2\ndesign = "grid"\nmetrics = ["share_US"]\n'
                 f"[parameters]\n{parameters}\n[fixed]\n{fixed}\n")
    return p


def test_sweeps_warn_once_per_parameter_gated_to_nothing(tmp_path):
    p = _sweep(tmp_path, '"governments.KR.subsidy_rate" = [0.1, 0.2]\n"governments.US.subsidy_rate" = [0.1, 0.2]',
               '"cocreation.talent.mobility" = 0.4')
    with pytest.warns(GatedParameterWarning) as record:
        load_sweep(p)
    messages = [str(w.message) for w in record if w.category is GatedParameterWarning]
    assert len(messages) == 2
    assert messages[0].startswith("governments.KR.subsidy_rate is gated to nothing: governments.KR.budget")
    assert messages[1] == "cocreation.talent.mobility is gated to nothing: cocreation.talent.enabled is false"
    assert record[0].filename == str(p) and record[0].lineno == 7         # points at the sweep file's line
    # Sweeping what opens the gate (or switching it on) silences the warning.
    quiet = [_sweep(tmp_path, '"governments.KR.subsidy_rate" = [0.1, 0.2]\n"governments.KR.budget" = [0.0, 5.0]'),
             _sweep(tmp_path, '"cocreation.talent.mobility" = [0.1, 0.2]', '"cocreation.talent.enabled" = true')]
    for q in quiet:
        with warnings.catch_warnings():
            warnings.simplefilter("error", GatedParameterWarning)
            load_sweep(q)
