"""The baseline's initial state reproduces the calibration's stylised facts."""

import csv
from pathlib import Path

import pandas as pd
import pytest

from model import FAB_SEGMENTS, ChipModel, load_scenario

SHARED = Path(__file__).resolve().parents[2] / "shared" / "calibration"
SEA = {"MY", "SG", "VN", "TH", "ID"}
# SEMI World Fab Forecast 2024 (fab_capacity_shares_2024.csv); kept here so the
# test runs where ../shared is absent.
SEMI_2024 = {"CN": 27, "TW": 18, "KR": 16, "JP": 15, "US": 10, "EU": 9, "SEA": 5}

CORE_FIRMS = ["rapidus", "samsung", "sk_hynix", "sony_ss", "renesas", "panasonic", "tsmc", "micron",
              "intel", "kioxia", "tokyo_electron", "shin_etsu", "sumco", "jsr"]


@pytest.fixture(scope="module")
def start():
    m = ChipModel("baseline", rng=0)
    sites = m.tables()["sites"]
    return m, sites[sites["status"] == "operating"]


def test_semi_reference_matches_shared_table():
    path = SHARED / "fab_capacity_shares_2024.csv"
    if not path.exists():
        pytest.skip("../shared/calibration not present")
    names = {"China": "CN", "Taiwan": "TW", "Korea": "KR", "Japan": "JP", "Americas": "US",
             "Europe & Mideast": "EU", "Southeast Asia": "SEA"}
    with path.open() as fh:
        table = {names[r["region"]]: float(r["share_pct"]) for r in csv.DictReader(fh)}
    assert table == SEMI_2024


def test_fab_capacity_by_country_matches_semi_within_two_points(start):
    _, op = start
    fab = op[op["segment"].isin(FAB_SEGMENTS)]
    by_country = fab.groupby("country", observed=True)["capacity"].sum()
    share = 100 * by_country / by_country.sum()
    got = {c: share.get(c, 0.0) for c in SEMI_2024 if c != "SEA"}
    got["SEA"] = sum(share.get(c, 0.0) for c in SEA)
    for c, target in SEMI_2024.items():
        assert abs(got[c] - target) <= 2.0, (c, got[c], target)
    assert share.get("IN", 0.0) < 1.0
    assert 25_000 < fab["capacity"].sum() < 35_000  # SEMI: ~30 M 200mm-eq wafers/month


def test_korean_firms_hold_more_than_half_of_memory(start):
    _, op = start
    mem = op[op["segment"] == "memory"]
    assert mem.loc[mem["home"] == "KR", "capacity"].sum() / mem["capacity"].sum() > 0.5


def test_japanese_firms_hold_most_materials_wafers_and_photoresist(start):
    m, op = start
    mat = op[op["segment"] == "materials"]
    assert mat.loc[mat["home"] == "JP", "capacity"].sum() / mat["capacity"].sum() > 0.5
    products = pd.Series(m.sites.product, name="product")
    op = op.assign(product=products.iloc[op["site"].to_numpy()].to_numpy())
    for product, floor in (("silicon wafers", 0.5), ("photoresist", 0.8)):
        rows = op[op["product"].str.contains(product, case=False)]
        assert len(rows) > 0, product
        assert rows.loc[rows["home"] == "JP", "capacity"].sum() / rows["capacity"].sum() > floor, product


def test_taiwan_holds_the_largest_share_of_leading_logic(start):
    _, op = start
    lead = op[(op["segment"] == "logic") & op["leading_edge"]]
    by_country = lead.groupby("country", observed=True)["capacity"].sum()
    assert by_country.idxmax() == "TW"


def test_core_firms_present_with_existing_and_announced_sites():
    sc = load_scenario("baseline")
    for fid in CORE_FIRMS:
        assert fid in sc.firms, fid
        assert sc.firms[fid].sites, fid
        assert sc.firms[fid].source or any(s.source for s in sc.firms[fid].sites), fid
    building = {fid: [s for s in sc.firms[fid].sites if s.status == "building"] for fid in CORE_FIRMS}
    # Announced sites named in calibration_firms.csv
    assert any(s.region == "JP-Hokkaido" and s.online == 2027 for s in building["rapidus"])
    assert any(s.region.startswith("US-Texas") for s in building["samsung"])
    assert any(s.region == "US-Indiana" for s in building["sk_hynix"])
    assert any(s.region == "JP-Kyushu" and s.online == 2027 for s in building["tsmc"])
    assert any(s.region == "IN-Gujarat" for s in building["micron"])


def test_every_site_and_region_carries_a_source():
    sc = load_scenario("baseline")
    for rid, r in sc.regions.items():
        assert r.source.strip() or r.note.strip(), rid
    for fid, f in sc.firms.items():
        for i, s in enumerate(f.sites):
            assert s.source.strip() or s.note.strip(), f"{fid}.sites.{i}"


def test_announced_sites_come_online_in_their_announced_year():
    m = ChipModel("baseline", rng=0)
    spec_sites = [(f, s) for f in m.spec.firms.values() for s in f.sites]
    m.run(24)
    t = m.tables()["sites"]
    checked = 0
    for i, (_, site) in enumerate(spec_sites):
        if site.status != "building" or site.online > 2030:
            continue
        checked += 1
        rows = t[t["site"] == i]
        first_op = rows.loc[rows["status"] == "operating", "quarter"].astype(str)
        expected = f"{max(site.online, 2025)}Q1" if site.online > 2025 else "2025Q2"
        assert first_op.iloc[0] == expected, (i, site.region, site.online, first_op.iloc[0])
    assert checked >= 30       # the baseline announces 41 sites, most before 2031


def test_location_logit_reproduces_announced_sites_better_than_chance():
    from experiments.calibration import announced_site_fit

    table, s = announced_site_fit("baseline")
    assert s["observations"] >= 30
    assert s["pseudo_r2"] > 0.25, s
    assert s["mean_rank"] < s["regions"] / 4
    assert ((table["probability"] > 0) & (table["probability"] <= 1)).all()


def test_weight_fit_improves_likelihood_within_bounds():
    from experiments.calibration import fit_location_weights

    fit = fit_location_weights("baseline", free=["w_subsidy", "w_risk", "w_home"])
    assert fit["mean_loglik_after"] >= fit["mean_loglik_before"] - 1e-9
    assert all(0.0 <= v <= 100.0 for v in fit["weights"].values())
    with pytest.raises(ValueError, match="unknown weight"):
        fit_location_weights("baseline", free=["w_magic"])
