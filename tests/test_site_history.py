"""Site history of the baseline data (issue #11, part 1): every site of model/data/baseline_sites.csv
carries the year it began volume production (`since`) or is a building project with an `online`
year; sites begun after 2020 and projects carry announcement and construction-start years; the
end-2020 capacity (`capacity_2020`) is stated where it differed; every row says where its years
come from (`history_source`).  The baseline starts in 2025, so none of this may change it."""

import csv
import re
from pathlib import Path

import pytest

from model import ChipModel, load_scenario
from model.build import site_exists_at_start
from model.scenario import FAB_SEGMENTS

DATA = Path(__file__).resolve().parents[1] / "model" / "data"
YEAR_COLUMNS = ("online", "since", "announced", "construction_start")
N_SITES = 272                      # rows of baseline_sites.csv (and sites of the baseline) before issue #11
CONFIDENCE = re.compile(r"\[(H|M|U|rule)\]|aggregate rule")


def _rows() -> list[dict]:
    with (DATA / "baseline_sites.csv").open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for r in rows:
        for c in YEAR_COLUMNS:
            r[c] = int(r[c]) if r[c] else None
        r["capacity"] = float(r["capacity"])
        r["capacity_2020"] = float(r["capacity_2020"]) if r["capacity_2020"] else None
    return rows


ROWS = _rows()


def _aggregates() -> set[str]:
    with (DATA / "baseline_firms.csv").open(newline="", encoding="utf-8") as fh:
        return {r["id"] for r in csv.DictReader(fh) if r["kind"] == "aggregate"}


def history_errors(r: dict) -> list[str]:
    """What is wrong with one row's history (empty when nothing is): the rules of the data."""
    err = []
    building = r["status"] == "building"
    if building and (r["since"] is not None or r["online"] is None):
        err.append("a building row has an online year and no since")
    if not building and r["since"] is None:
        err.append("an operating row needs since")
    if not building and r["since"] is not None and r["since"] > 2025:
        err.append(f"since {r['since']} is after 2025")
    end = r["online"] if building else r["since"]
    if building or (r["since"] or 0) >= 2021:
        if r["announced"] is None or r["construction_start"] is None:
            err.append("announced and construction_start are required")
    chain = [y for y in (r["announced"], r["construction_start"], end) if y is not None]
    if chain != sorted(chain):
        err.append(f"years out of order (announced, construction_start, since/online): {chain}")
    if not r["history_source"].strip():
        err.append("history_source is empty")
    if r["capacity_2020"] is not None and r["capacity_2020"] > r["capacity"]:
        err.append("capacity_2020 above capacity")
    return err


def test_the_table_keeps_its_rows_and_gains_the_history_columns():
    assert len(ROWS) == N_SITES
    assert {"since", "capacity_2020", "announced", "construction_start", "history_source"} <= set(ROWS[0])
    # Years the data carried before the history was added are kept.
    kept = {("tsmc", "JP-Kyushu", "logic"): 2024, ("tsmc", "US-Arizona", "logic"): 2024,
            ("shin_etsu", "TW-Central", "materials"): 2019, ("amkor", "VN-North", "packaging"): 2023,
            ("intel", "US-NewMexico", "packaging"): 2024, ("panasonic", "VN-South", "packaging"): 2023}
    got = {(r["firm"], r["region"], r["segment"]): r["since"] for r in ROWS if r["status"] == "operating"}
    assert {k: got[k] for k in kept} == kept


def test_every_row_obeys_the_history_rules():
    bad = {i: e for i, r in enumerate(ROWS) if (e := history_errors(r))}
    assert not bad, bad


@pytest.mark.parametrize("change, message", [
    ({"since": None}, "needs since"),
    ({"since": 2026}, "after 2025"),
    ({"announced": None}, "required"),
    ({"construction_start": 2025}, "out of order"),
    ({"announced": 2025}, "out of order"),
    ({"history_source": " "}, "empty"),
    ({"capacity_2020": 999.0}, "above capacity"),
])
def test_the_rules_catch_a_broken_row(change, message):
    # JASM Fab 1: announced 2021, construction 2022, since 2024, capacity 124.
    r = next(dict(r) for r in ROWS if (r["firm"], r["region"], r["status"]) == ("tsmc", "JP-Kyushu", "operating"))
    assert history_errors(r) == []
    r.update(change)
    assert any(message in e for e in history_errors(r))


def test_every_history_source_carries_a_confidence_tag_or_the_aggregate_rule():
    untagged = [(r["firm"], r["region"], r["segment"]) for r in ROWS if not CONFIDENCE.search(r["history_source"])]
    assert not untagged


def test_aggregate_rows_follow_the_stated_rule_unless_they_stand_for_one_new_site():
    aggregates = _aggregates()
    rows = [r for r in ROWS if r["firm"] in aggregates]
    assert len(rows) == 75
    ruled = [r for r in rows if r["history_source"].startswith("aggregate rule")]
    assert all(r["since"] == 2015 and r["capacity_2020"] is None for r in ruled)
    # The one exception stands for a single fab (JHICC) and says so.
    others = [(r["firm"], r["region"]) for r in rows if r not in ruled]
    assert others == [("other_cn_memory", "CN-Fujian")]
    assert "aggregate rule is not used" in next(r for r in rows if r not in ruled)["history_source"]
    # No named firm's row uses the aggregate rule.
    assert not [r for r in ROWS if r["firm"] not in aggregates and "aggregate rule" in r["history_source"]]


def test_capacity_2020_is_zero_exactly_for_rows_neither_operating_nor_under_construction_at_end_2020():
    for r in ROWS:
        begun = (r["since"] is not None and r["since"] <= 2020) or (
            r["construction_start"] is not None and r["construction_start"] <= 2020)
        key = (r["firm"], r["region"], r["segment"], r["status"])
        if begun:
            assert r["capacity_2020"] is None or r["capacity_2020"] > 0, key
        else:
            assert r["capacity_2020"] == 0, key


def test_baseline_loads_with_the_history_on_every_site():
    sc = load_scenario("baseline")
    sites = [s for f in sc.firms.values() for s in f.sites]
    assert len(sites) == N_SITES
    assert all(s.history_source for s in sites)
    assert sum(s.since is not None for s in sites) == sum(r["since"] is not None for r in ROWS)


def test_the_baseline_start_state_is_unchanged_by_the_history():
    t = ChipModel("baseline", rng=0).tables()["sites"]
    assert len(t) == N_SITES
    # Every row enters as in the data: operating rows operating (none began in 2025 or later),
    # projects building, each at its 2025 capacity (capacity_2020 is for starts in 2021 or earlier).
    got = sorted(zip(t["firm"].astype(str), t["region"].astype(str), t["segment"].astype(str),
                     t["status"].astype(str), t["capacity"].astype(float)))
    want = sorted((r["firm"], r["region"], r["segment"], r["status"], r["capacity"]) for r in ROWS)
    assert got == want


def test_a_2021_start_holds_the_end_2020_sites_at_their_end_2020_capacity():
    m = ChipModel("baseline", rng=0, meta__start_quarter="2021Q1", meta__unstarted_sites="decided")
    t = m.tables()["sites"]
    fab = t[t["segment"].isin(FAB_SEGMENTS)]
    cap = {r_id: (r["capacity"] if r["capacity_2020"] is None else r["capacity_2020"]) for r_id, r in enumerate(ROWS)}
    operating = sum(cap[i] for i, r in enumerate(ROWS) if r["segment"] in FAB_SEGMENTS
                    and r["since"] is not None and r["since"] <= 2020)
    assert fab.loc[fab["status"] == "operating", "capacity"].sum() == pytest.approx(operating)
    # Sites still to begin are exactly those under construction at the end of 2020 (Lam's Penang plant).
    sc = load_scenario("baseline", meta__start_quarter="2021Q1", meta__unstarted_sites="decided")
    projects = [(f, s.region, s.segment) for f, firm in sc.firms.items() for s in firm.sites
                if site_exists_at_start(s, sc.meta) and s.since is not None and s.since >= 2021
                and (s.capacity_2020 is None or s.capacity_2020 > 0)]
    assert projects == [("lam_research", "MY-Penang", "equipment")]
    built = t[t["status"] == "building"]
    assert list(zip(built["firm"].astype(str), built["region"].astype(str), built["segment"].astype(str))) == projects
    # World fab capacity at the start is below today's (the growth of 2021-2024 is not in it).
    today = sum(r["capacity"] for r in ROWS if r["segment"] in FAB_SEGMENTS and r["status"] == "operating")
    assert 0.8 * today < operating < 0.95 * today
