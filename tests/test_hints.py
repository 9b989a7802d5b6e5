"""Errors that point at the answer: did-you-mean hints for every unknown name, never cut short."""

import re
from pathlib import Path

import pytest

from experiments.cli import main
from experiments.errors import SweepError, UserError
from experiments.sweepfile import load_sweep
from model import ChipModel, ScenarioError, load_scenario
from model.scenario import close_matches, known_hint

TINY = Path(__file__).parent / "data" / "tiny.toml"


def test_hint_puts_the_closest_first_and_never_cuts_it():
    names = [f"name_{i:02d}" for i in range(30)] + ["US"]
    hint = known_hint("USA", names)
    assert hint.startswith("did you mean 'US'? known: US, name_00")
    assert hint.endswith("… and 19 more")
    assert known_hint("CN", ["CN", "JP"]).endswith("known: CN, JP")
    assert known_hint("zzz", ["a", "b"]) == "known: a, b"
    assert known_hint("x", []) == "nothing is known here"
    assert close_matches("us", ["US", "EU"]) == ["US"]          # case does not hide a match


def test_override_with_a_wrong_country_names_every_country():
    with pytest.raises(ScenarioError) as exc:
        load_scenario("baseline", **{"governments.USA.subsidy_rate": 0.2})
    msg = str(exc.value)
    assert "did you mean 'US'?" in msg and "\n" not in msg
    known = msg.split("known: ")[1].rstrip(")").split(", ")
    assert set(known) == set(load_scenario("baseline").governments)     # the list is not cut at eight


@pytest.mark.parametrize("key, wanted", [
    ("params.w_subsidi", "'w_subsidy'"),
    ("cocreation.fund.enabld", "'enabled'"),
    ("regions.US-Wst.political_risk", "'US-West'"),
    ("firms.alpah.cash", "'alpha'"),
])
def test_override_typos_are_answered(key, wanted):
    with pytest.raises(ScenarioError, match=re.escape(f"did you mean {wanted}")):
        load_scenario(TINY, **{key: 0.2})


def test_scenario_name_typos_are_answered(tmp_path, capsys):
    with pytest.raises(ScenarioError, match="did you mean 'baseline'"):
        ChipModel("baselin")
    assert main(["run", "baselin", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'baseline'" in err and err.count("\n") == 1
    with pytest.raises(ScenarioError, match="did you mean the built-in 'baseline'"):
        load_scenario("baselin.toml")


def _scenario_file(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sc.toml"
    p.write_text(f'base = "{TINY}"\n' + text)
    return p


@pytest.mark.parametrize("text, needle", [
    ('[[events]]\ntype = "outage"\nstart = "2025Q3"\nregion = "US-Wes"\n',
     "events.0.region: unknown region 'US-Wes' (did you mean 'US-West'?"),
    ('[[events]]\ntype = "outage"\nstart = "2025Q3"\nregion = "US-West"\nfirm = "alpah"\n',
     "events.0.firm: unknown firm 'alpah' (did you mean 'alpha'?"),
    ('[[events]]\ntype = "tariff"\nstart = "2025Q3"\ncountry = "USA"\nmagnitude = 0.1\n',
     "events.0.country: unknown country 'USA' (did you mean 'US'?"),
    ('event_library = ["us_bis_2022x"]\n', "unknown event id(s) us_bis_2022x (did you mean 'us_bis_2022'"),
])
def test_event_targets_in_a_scenario_file_are_answered(tmp_path, text, needle):
    with pytest.raises(ScenarioError, match=re.escape(needle)):
        load_scenario(_scenario_file(tmp_path, text))


SWEEP = f'''
name = "t"
scenario = "{TINY}"
quarters = 2
design = "grid"
metrics = ["share_US"]
[parameters]
"governments.US.subsidy_rate" = [0.0, 0.2]
'''


@pytest.mark.parametrize("old, new, needle", [
    ('"governments.US.subsidy_rate"', '"governments.US.subsidy_rat"', "did you mean 'subsidy_rate' or"),
    ('"governments.US.subsidy_rate"', '"governments.USA.subsidy_rate"', "did you mean 'US'?"),
    ('["share_US"]', '["share_USA"]', "metrics.0 = 'share_USA': unknown metric (did you mean 'share_US'"),
])
def test_sweep_file_typos_are_answered(tmp_path, old, new, needle):
    p = tmp_path / "sweep.toml"
    p.write_text(SWEEP.replace(old, new))
    with pytest.raises(SweepError, match=re.escape(needle)):
        load_sweep(p)


def test_analyze_metric_typo_is_answered():
    from experiments.analysis import _check_call

    manifest = {"design": {"kind": "grid"}, "metrics": ["share_US", "hhi_country"]}
    with pytest.raises(UserError, match=re.escape("did you mean 'hhi_country'?")):
        _check_call(manifest, "hhi_contry", "effects", "final")
