"""The 2021 backcast (issue #11): backcast_2021 starts in 2021Q1 from the end-2020 sites and
policies, what happened later enters as dated events, and backcast_2021_no_chips is the same
world without the CHIPS Act (docs/ODD.md, scenarios)."""

from collections import Counter

import numpy as np
import pytest

from model import ChipModel, load_scenario
from model.build import site_exists_at_start
from model.scenario import FAB_SEGMENTS, SEGMENTS

BACKCAST, NO_CHIPS = "backcast_2021", "backcast_2021_no_chips"
CHIPS_IDS = {"us_chips_grants_2022", "us_48d_2022", "us_48d_obbba_2025"}

#: The model's countries in SEMI's regions.  India has no SEMI region of its own; it is put in
#: Southeast Asia with Singapore, Malaysia, Thailand, Vietnam and Indonesia.
SEMI_REGION = {"CN": "China", "TW": "Taiwan", "KR": "Korea", "JP": "Japan", "US": "Americas",
               "EU": "Europe & Mideast", "SG": "Southeast Asia", "MY": "Southeast Asia",
               "TH": "Southeast Asia", "VN": "Southeast Asia", "ID": "Southeast Asia", "IN": "Southeast Asia"}

#: Shares of world 300mm front-end fab capacity in 2021, %: the seven rows "share of global 300mm
#: front-end fab capacity", year 2021, of ../shared/calibration/history_2019_2023.csv (dossier §11),
#: from the SEMI 300mm Fab Outlook to 2025 press release (2022-10; iconnect007 reprint 2022-10-12).
#: Confidence high, except Taiwan and Korea "medium-high" (derived there from the 2025 value and the
#: stated 1-point slip).  Copied here so the test never depends on ../shared.
SEMI_300MM_2021 = {"China": 19, "Taiwan": 22, "Korea": 25, "Japan": 15, "Americas": 8,
                   "Europe & Mideast": 6, "Southeast Asia": 5}

#: Tolerance in percentage points for each region's start share against the 300mm target.  The
#: model counts fabs of every wafer size in 200mm equivalents; the target counts 300mm fabs only,
#: and the smaller wafers sit elsewhere (2022: Europe & Mideast 15 % of world 200mm capacity
#: against 6 % of 300mm, Taiwan 15 % against 22 %; same file).  The dossier's own all-size shares
#: of 2024 (fab_capacity_shares_2024.csv, which the baseline's sites reproduce) differ from its
#: 300mm shares of 2022 by up to 9 points (Korea 16 % against 25 %: Korea's fabs are almost all
#: 300mm, so most of that gap is the definition, not growth).  A region may therefore sit up to
#: about 9 points off for the definition alone; a share further off than that is a data error.
SHARE_TOLERANCE = 9.0


def start_shares(name: str) -> dict[str, float]:
    """Operating fab capacity at step 0 by SEMI region, % of the world."""
    s = ChipModel(name, rng=0).tables()["sites"]
    fab = s[s["segment"].isin(FAB_SEGMENTS) & (s["status"] == "operating")]
    by = fab.groupby(fab["country"].astype(str).map(SEMI_REGION))["capacity"].sum()
    return {k: 100.0 * float(by.get(k, 0.0)) / float(by.sum()) for k in SEMI_300MM_2021}


def us_rates(m: ChipModel) -> tuple[float, float, float]:
    us = next(g for g in m.world.policy.governments if g.code == "US")
    return us.subsidy_rate, us.tax_credit, us.appropriated_total


# ------------------------------------------------------------ the scenarios
def test_both_scenarios_start_in_2021q1_and_run_to_2032q4_with_firms_deciding_new_fabs():
    for name in (BACKCAST, NO_CHIPS):
        sc = load_scenario(name)
        assert (sc.meta.start_quarter, sc.meta.horizon, sc.meta.unstarted_sites) == ("2021Q1", 47, "decided")
        assert sc.investor_risk.pairs == []          # the JP-KR curbs are an event in force instead
    base, no = load_scenario(BACKCAST), load_scenario(NO_CHIPS)
    assert no.governments == base.governments and no.params == base.params     # inherited from backcast_2021
    assert set(base.event_library) - set(no.event_library) == CHIPS_IDS
    assert set(no.event_library) <= set(base.event_library)


def test_governments_start_with_the_policies_of_end_2020():
    sc = load_scenario(BACKCAST)
    g = sc.governments
    assert (g["US"].subsidy_rate, g["US"].budget, g["US"].tax_credit) == (0.0, 0.0, 0.0)
    assert (g["JP"].subsidy_rate, g["EU"].subsidy_rate, g["IN"].subsidy_rate, g["MY"].subsidy_rate) == (0, 0, 0, 0)
    assert g["KR"].tax_credit == pytest.approx(0.03) and g["TW"].tax_credit == 0.0
    # Today's policies are the baseline's; the backcast's differ from them.
    today = load_scenario("baseline").governments
    assert today["US"].tax_credit == pytest.approx(0.35) and today["JP"].subsidy_rate == pytest.approx(0.35)


def test_no_site_whose_construction_began_in_2021_or_later_is_in_the_start_state():
    sc = load_scenario(BACKCAST)
    m = ChipModel(BACKCAST, rng=0)
    t0 = m.tables()["sites"]
    # Every data site kept (construction before 2021 or unknown) and only those, with their end-2020 capacity.
    kept = Counter()
    for fid, firm in sc.firms.items():
        for site in firm.sites:
            cap = site.capacity if site.capacity_2020 is None else site.capacity_2020
            if site_exists_at_start(site, sc.meta) and cap > 0:
                kept[(fid, site.region, site.segment, cap)] += 1
            else:
                assert site.construction_start is None or site.construction_start >= 2021 or cap == 0
    built = Counter(zip(t0["firm"].astype(str), t0["region"].astype(str), t0["segment"].astype(str),
                        t0["capacity"]))
    assert built == kept
    # Fabs whose construction began in 2021 or later (public record): TSMC Arizona (2021), JASM Fab 1
    # in Kumamoto (2022), Intel Ohio (2022), Rapidus Chitose (2023), Tata Dholera (2024), Samsung Taylor
    # (2022; Samsung's Austin fab stays).
    keys = set(zip(t0["firm"].astype(str), t0["region"].astype(str), t0["segment"].astype(str)))
    for key in [("tsmc", "US-Arizona", "logic"), ("tsmc", "JP-Kyushu", "logic"), ("intel", "US-Ohio", "logic"),
                ("rapidus", "JP-Hokkaido", "logic"), ("tata", "IN-Gujarat", "logic")]:
        assert key not in keys, f"{key} began construction after 2020 and must be the firms' decision"
    taylor_and_austin = t0[(t0["firm"] == "samsung") & (t0["region"] == "US-Texas") & (t0["segment"] == "logic")]
    assert len(taylor_and_austin) == 1


def test_start_shares_by_semi_region_are_within_the_tolerance_of_semi_2021_300mm_shares():
    shares = start_shares(BACKCAST)
    diff = {k: round(shares[k] - v, 1) for k, v in SEMI_300MM_2021.items()}
    assert sum(shares.values()) == pytest.approx(100.0)
    assert all(abs(d) <= SHARE_TOLERANCE for d in diff.values()), f"model - SEMI 2021 300mm, points: {diff}"
    # No CHIPS difference at the start.
    assert start_shares(NO_CHIPS) == pytest.approx(shares)


# --------------------------------------------------------- policy history
def test_chips_events_fire_in_2022q3_in_backcast_2021_and_not_without_chips():
    with_chips, without = ChipModel(BACKCAST, rng=3), ChipModel(NO_CHIPS, rng=3)
    with_chips.run(5)                                     # to 2022Q2
    without.run(5)
    assert us_rates(with_chips) == us_rates(without) == (0.0, 0.0, 0.0)
    with_chips.run(1)                                     # 2022Q3
    without.run(1)
    ev = with_chips.tables()["events"]
    fired = ev[ev["id"].isin(CHIPS_IDS)]
    assert sorted(fired["id"]) == ["us_48d_2022", "us_chips_grants_2022"]
    assert set(fired["quarter"]) == {"2022Q3"}
    rate, credit, appropriated = us_rates(with_chips)
    assert (rate, credit, appropriated) == pytest.approx((0.10, 0.25, 39.0))
    assert not without.tables()["events"]["id"].isin(CHIPS_IDS).any()
    assert us_rates(without) == (0.0, 0.0, 0.0)


def test_48d_credit_is_25_then_35_percent_and_ends_for_projects_started_from_2027():
    m = ChipModel(BACKCAST, rng=0)
    credit = {}
    for _ in range(25):                                   # to 2027Q2
        m.step()
        credit[m.quarter_of(m.world.clock.step)] = us_rates(m)[1]
    assert credit["2022Q2"] == 0.0 and credit["2022Q3"] == pytest.approx(0.25)
    assert credit["2025Q2"] == pytest.approx(0.25) and credit["2025Q3"] == pytest.approx(0.35)
    assert credit["2026Q4"] == pytest.approx(0.35) and credit["2027Q1"] == 0.0


@pytest.mark.parametrize("code, attr, timeline", [
    ("JP", "subsidy_rate", {"2021Q3": 0.0, "2021Q4": 0.35}),
    ("KR", "tax_credit", {"2021Q2": 0.03, "2021Q3": 0.06, "2022Q4": 0.06, "2023Q1": 0.15, "2025Q1": 0.20}),
    ("TW", "tax_credit", {"2022Q4": 0.0, "2023Q1": 0.05}),
    ("EU", "subsidy_rate", {"2023Q2": 0.0, "2023Q3": 0.20}),
    ("IN", "subsidy_rate", {"2021Q3": 0.0, "2021Q4": 0.40, "2022Q3": 0.50}),
    ("MY", "subsidy_rate", {"2024Q1": 0.0, "2024Q2": 0.10}),
    ("VN", "subsidy_rate", {"2024Q4": 0.0, "2025Q1": 0.05}),
])
def test_policy_history_sets_each_governments_instruments_at_its_date(code, attr, timeline):
    m = ChipModel(BACKCAST, rng=0)
    gov = next(g for g in m.world.policy.governments if g.code == code)
    seen = {}
    while m.world.clock.step < 17:                        # to 2025Q2
        m.step()
        seen[m.quarter_of(m.world.clock.step)] = getattr(gov, attr)
    assert {q: seen[q] for q in timeline} == pytest.approx(timeline)


def test_japan_korea_curbs_are_in_force_at_the_start_and_lifted_in_2023q2():
    m = ChipModel(BACKCAST, rng=0)
    ev = m.world.events
    jp, kr, mat = ev.cidx["JP"], ev.cidx["KR"], SEGMENTS.index("materials")
    assert ev.restriction[jp, kr, mat] == pytest.approx(0.2)
    m.run(8)                                              # 2023Q1
    assert ev.restriction[jp, kr, mat] == pytest.approx(0.2)
    m.run(1)                                              # 2023Q2
    assert ev.restriction[jp, kr, mat] == 0.0


# ---------------------------------------------------- the CHIPS counterfactual
def test_the_us_gets_fewer_fab_projects_in_2021_2024_without_chips_averaged_over_seeds():
    # Measured over seeds 0-7 (docs/ODD.md §11): US share of the fab projects started 2021Q2-2024Q4 0.158 with
    # CHIPS against 0.086 without (paired difference +0.072 ± 0.019), every seed the same way.  Three other
    # seeds here, paired on seed.
    def us_projects(name: str, seed: int) -> tuple[int, float]:
        inv = ChipModel(name, rng=seed).run(15).tables()["investments"]
        fab = inv[~inv["deferred"] & inv["segment"].isin(FAB_SEGMENTS)]
        return int((fab["country"] == "US").sum()), float((fab["country"] == "US").mean())

    paired = np.array([[*us_projects(BACKCAST, s), *us_projects(NO_CHIPS, s)] for s in (11, 12, 13)])
    assert paired[:, 0].mean() > paired[:, 2].mean()          # count
    assert paired[:, 1].mean() > paired[:, 3].mean()          # share


# ------------------------------------------------------------- full runs
# A full run takes about 0.4 s, so it is not marked slow (the project marks tests over ~20 s).
@pytest.mark.parametrize("name", [BACKCAST, NO_CHIPS])
def test_full_run_to_the_end_of_2032(name):
    m = ChipModel(name, rng=5).run()
    mt = m.tables()["metrics"]
    assert len(mt) == 48 and mt["quarter"].iloc[0] == "2021Q1" and mt["quarter"].iloc[-1] == "2032Q4"
    assert mt["supply_shortfall"].between(0, 1).all() and (mt["capacity_fab"] > 0).all()
    us = next(g for g in m.world.policy.governments if g.code == "US")
    assert us.tax_credit == 0.0                                   # 48D over for projects started from 2027
    if name == NO_CHIPS:
        assert us.paid_total == 0.0 and us.appropriated_total == 0.0
    else:
        assert us.paid_total > 0.0 and us.appropriated_total == pytest.approx(39.0)
