"""Scenario schema: loading, inheritance, overrides, and rejection of bad input."""

import re
from pathlib import Path

import pytest

from model import ChipModel, ScenarioError, load_scenario
from model.scenario import SEGMENTS, apply_overrides, builtin_scenarios, parameter_table, parse_value

HERE = Path(__file__).parent
TINY = HERE / "data" / "tiny.toml"


def test_builtin_baseline_loads_and_is_complete():
    sc = load_scenario("baseline")
    assert "baseline" in builtin_scenarios()
    assert set(sc.segments) == set(SEGMENTS)
    assert len(sc.regions) >= 16
    countries = {r.country for r in sc.regions.values()}
    assert {"JP", "KR", "US", "CN", "TW", "VN", "MY", "TH", "ID", "IN"} <= countries
    assert set(sc.governments) >= countries
    for rid, reg in sc.regions.items():
        assert reg.source or reg.note, f"region {rid} has no source"


def test_every_schema_field_states_unit_and_bounds():
    rows = parameter_table()
    assert len(rows) > 60
    for r in rows:
        assert r["unit"], r["path"]
    numeric = [r for r in rows if r["unit"] not in {"text"}]
    assert all(r["low"] != "" or r["high"] != "" for r in numeric), [r["path"] for r in numeric if not r["low"] and not r["high"]]


def test_overrides_by_dotted_path_and_double_underscore():
    a = load_scenario(TINY, **{"governments.US.subsidy_rate": 0.3})
    b = load_scenario(TINY, governments__US__subsidy_rate=0.3)
    assert a.governments["US"].subsidy_rate == b.governments["US"].subsidy_rate == 0.3
    c = load_scenario(TINY, **{"firms.alpha.sites.0.capacity": 123.0})
    assert c.firms["alpha"].sites[0].capacity == 123.0


def test_override_of_a_schema_field_absent_from_the_file():
    sc = load_scenario(TINY, **{"governments.KR.conditions.local_content": 0.1})
    assert sc.governments["KR"].conditions.local_content == 0.1


def test_parse_value_reads_toml_and_falls_back_to_text():
    assert parse_value("0.2") == 0.2
    assert parse_value("3") == 3
    assert parse_value("true") is True
    assert parse_value('["CN"]') == ["CN"]
    assert parse_value("western") == "western"


def test_model_accepts_scenario_object_and_overrides():
    sc = load_scenario(TINY)
    m = ChipModel(sc, rng=3, governments__JP__subsidy_rate=0.5)
    assert m.spec.governments["JP"].subsidy_rate == 0.5
    assert sc.governments["JP"].subsidy_rate == 0.3  # the original is untouched


def test_base_inheritance(tmp_path):
    f = tmp_path / "child.toml"
    f.write_text('base = "baseline"\n[meta]\nname = "child"\n[governments.US]\nsubsidy_rate = 0.3\n')
    sc = load_scenario(f)
    base = load_scenario("baseline")
    assert sc.meta.name == "child"
    assert sc.governments["US"].subsidy_rate == 0.3
    assert sc.governments["US"].budget == base.governments["US"].budget
    assert len(sc.firms) == len(base.firms)
    assert sum(len(x.sites) for x in sc.firms.values()) == sum(len(x.sites) for x in base.firms.values())


# ------------------------------------------------------------------ bad input
BAD_OVERRIDES = [
    ({"governments.US.subsidy_rate": 1.5}, "governments.US.subsidy_rate"),
    ({"governments.US.budget": -1.0}, "governments.US.budget"),
    ({"params.w_subsidy": float("nan")}, "params.w_subsidy"),
    ({"params.logit_scale": float("inf")}, "params.logit_scale"),
    ({"regions.JP-North.political_risk": 2.0}, "regions.JP-North.political_risk"),
    ({"governments.JP.market_share": 1.2}, "governments.JP.market_share"),
    ({"params.w_risk": "high"}, "params.w_risk"),
    ({"meta.horizon": 2.5}, "meta.horizon"),
    ({"meta.start_quarter": "2025-1"}, "meta.start_quarter"),
    ({"params.no_such_weight": 1.0}, "params.no_such_weight"),
    ({"governments.XX.subsidy_rate": 0.1}, "governments.XX"),
    ({"firms.nope.cash": 1.0}, "firms.nope"),
    ({"regions.XX-Nowhere.labour_cost": 1.0}, "regions.XX-Nowhere"),
    ({"segments.cookies.price": 1.0}, "segments.cookies"),
    ({"firms.alpha.sites.7.capacity": 1.0}, "firms.alpha.sites.7"),
    ({"firms.alpha.sites.0.region": "JP-Nowhere"}, "JP-Nowhere"),
    ({"firms.alpha.home": "ZZ"}, "firms.alpha.home"),
    ({"firms.alpha.sites.0.segment": "cookies"}, "firms.alpha.sites.0.segment"),
    ({"firms.alpha.sites.0.capacity": 0.0}, "firms.alpha.sites.0.capacity"),
    ({"params.milestone_shares": [0.5, 0.5, 0.5]}, "params.milestone_shares"),
    ({"governments.US.tariff_exempt": ["ZZ"]}, "tariff_exempt"),
    ({"params..w_risk": 1.0}, "params..w_risk"),
    ({"generated.risk_aversion_low": 3.0}, "generated"),
]


@pytest.mark.parametrize("override,needle", BAD_OVERRIDES, ids=[next(iter(o)) for o, _ in BAD_OVERRIDES])
def test_bad_override_is_one_line_naming_the_field(override, needle):
    with pytest.raises(ScenarioError) as info:
        load_scenario(TINY, **override)
    msg = str(info.value)
    assert "\n" not in msg
    assert needle in msg, msg


BAD_FILES = {
    "malformed_toml": ("[meta\nname = 1", "malformed TOML"),
    "unknown_top_key": ('base = "baseline"\nsurprise = 1\n', "surprise"),
    "unknown_nested_key": ('base = "baseline"\n[governments.US]\nsubsidy = 0.2\n', "governments.US.subsidy"),
    "wrong_type": ('base = "baseline"\n[params]\nw_home = "yes"\n', "params.w_home"),
    "negative": ('base = "baseline"\n[governments.JP]\nbudget = -5\n', "governments.JP.budget"),
    "share_above_one": ('base = "baseline"\n[params]\ntarget_utilisation = 1.5\n', "params.target_utilisation"),
    "unknown_region_in_site": (
        'base = "baseline"\n[firms.newco]\nhome = "JP"\nsites = [{ region = "JP-Atlantis", segment = "logic", capacity = 10.0 }]\n',
        "JP-Atlantis"),
    "region_without_government": (
        'base = "baseline"\n[regions.FR-Crolles]\ncountry = "FR"\n', "FR"),
    "building_without_year": (
        'base = "baseline"\n[firms.newco]\nhome = "JP"\nsites = [{ region = "JP-Kyushu", segment = "logic", capacity = 10.0, status = "building" }]\n',
        "online"),
    "bad_firm_id": ('base = "baseline"\n[firms.NewCo]\nhome = "JP"\n', "NewCo"),
    "market_shares_sum_above_one": ('base = "baseline"\n[governments.CN]\nmarket_share = 0.9\n', "market_share"),
    "base_loop": ('base = "self.toml"\n', "loops"),
    "bad_base_type": ("base = 3\n", "base"),
    "missing_segments": ('[meta]\nname = "x"\n[regions]\n[governments]\n[firms]\n', "segments"),
    "missing_csv": ('base = "baseline"\n[data]\nsites = "nope.csv"\n', "nope.csv"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_is_rejected_with_one_line(tmp_path, case):
    text, needle = BAD_FILES[case]
    f = tmp_path / "self.toml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    msg = str(info.value)
    assert "\n" not in msg.strip()
    assert needle in msg, msg


def test_missing_file_and_unknown_builtin():
    with pytest.raises(ScenarioError, match="not found"):
        load_scenario("no/such/file.toml")
    with pytest.raises(ScenarioError, match="no such built-in"):
        load_scenario("atlantis")


def test_apply_overrides_does_not_mutate_input():
    raw = {"params": {"w_home": 1.0}}
    out = apply_overrides(raw, {"params.w_home": 2.0})
    assert raw["params"]["w_home"] == 1.0 and out["params"]["w_home"] == 2.0


def test_describe_path_gives_type_bounds_and_unit():
    from model.scenario import describe_path

    sc = load_scenario(TINY)
    info = describe_path("governments.US.subsidy_rate", sc)
    assert (info.kind, info.low, info.high, info.unit) == ("float", 0.0, 1.0, "share of capex")
    assert describe_path("params__logit_scale").low_strict is True
    assert describe_path("n_generated_firms").kind == "int"
    assert describe_path("firms.alpha.sites.0.capacity", sc).unit == "kwpm"
    for bad in ("governments.XX.subsidy_rate", "params.nope", "params", "firms.alpha.sites.9.capacity"):
        with pytest.raises(ScenarioError):
            describe_path(bad, sc)


# ------------------------------------------------------------ quarters, paths
def test_quarter_arithmetic():
    from model.scenario import quarter_index, quarter_label, quarter_name, start_step_of_year, step_of_quarter

    assert quarter_index("2025Q1") == 8100 and quarter_name(8100) == "2025Q1"
    assert all(quarter_name(quarter_index(q)) == q for q in ("1999Q4", "2025Q2", "2030Q3"))
    assert [quarter_label(2025, 3, s) for s in (-3, -2, 0, 1, 2, 6)] == \
        ["2024Q4", "2025Q1", "2025Q3", "2025Q4", "2026Q1", "2027Q1"]
    meta = load_scenario(TINY, **{"meta.start_quarter": "2025Q3"}).meta
    assert start_step_of_year(meta, 2026) == 2 and start_step_of_year(meta, 2025) == -2
    assert step_of_quarter(meta, "2026Q1") == 2 and step_of_quarter(meta, "2025Q3") == 0


def test_one_walker_reads_schema_paths_and_data():
    from model.scenario import concrete_paths, describe_path, schema_paths, value_at

    sc = load_scenario(TINY)
    paths = schema_paths()
    assert "segments.<segment>.price" in paths and "firms.<firm>.sites.<i>.capacity" in paths
    assert describe_path("segments.<segment>.price").unit == describe_path("segments.logic.price", sc).unit
    assert value_at("governments.JP.subsidy_rate", sc) == 0.3
    sites = concrete_paths("firms.<firm>.sites.<i>.capacity", sc)
    assert len(sites) == sum(len(f.sites) for f in sc.firms.values())
    assert value_at(sites[0], sc) == next(iter(sc.firms.values())).sites[0].capacity
    with pytest.raises(ScenarioError, match="unknown key"):
        value_at("governments.XX.subsidy_rate", sc)


def test_override_messages_name_the_first_bad_part():
    raw = {"params": {"w_home": 1.0}, "firms": {"a": {"sites": [{"capacity": 1.0}]}}}
    for key, needle in (("params.nope", "unknown parameter path 'params.nope' (known: logit_scale, w_subsidy"),
                        ("params.w_hom", "unknown parameter path 'params.w_hom' (did you mean 'w_home'?"),
                        ("params.w_home.x", "params.w_home is a value"),
                        ("firms.a.sites.3.capacity", "firms.a.sites.3 is not an index of a list of 1"),
                        ("firms.b.cash", "unknown parameter path 'firms.b'")):
        with pytest.raises(ScenarioError, match=re.escape(needle)):
            apply_overrides(raw, {key: 2.0})
    out = apply_overrides(raw, {"firms.a.sites.0.capacity": 2.0, "network.spare_floor": 0.1})
    assert out["firms"]["a"]["sites"][0]["capacity"] == 2.0 and out["network"] == {"spare_floor": 0.1}


def test_behaviour_constants_default_to_the_former_literals():
    sc = load_scenario(TINY)
    assert (sc.network.spare_floor, sc.network.formation_rounds, sc.network.formation_round_min_requests) == (0.05, 4, 64)
    assert (sc.knowledge.trust_sharing_floor, sc.knowledge.technology_floor) == (0.5, 0.5)
    assert (sc.resilience.switch_threshold, sc.resilience.recovery_tolerance) == (0.5, 0.005)
    with pytest.raises(ScenarioError, match="network.formation_rounds"):
        load_scenario(TINY, **{"network.formation_rounds": 0})
