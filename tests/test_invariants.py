"""Invariants that hold for any valid parameters and seed (Hypothesis)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import ChipModel

TINY = Path(__file__).parent / "data" / "tiny.toml"


def check_invariants(m: ChipModel) -> None:
    t = m.tables()
    sites, firms, mt = t["sites"], t["firms"], t["metrics"]
    # No negative capacity, cash, debt or budget.
    assert (sites["capacity"] > 0).all()
    assert (firms["cash"] >= -1e-9).all()
    assert (firms["debt"] >= -1e-9).all()
    assert all(g.budget >= -1e-9 and g.outstanding >= -1e-9 for g in m.governments)
    assert all(g.outstanding <= g.budget + 1e-9 for g in m.governments)
    # Shares sum to one.
    share_cols = [f"share_{c}" for c in m.geo.countries]
    bloc_cols = [f"share_bloc_{b}" for b in m.geo.blocs]
    np.testing.assert_allclose(mt[share_cols].sum(axis=1), 1.0, atol=1e-9)
    np.testing.assert_allclose(mt[bloc_cols].sum(axis=1), 1.0, atol=1e-9)
    assert ((mt["hhi_country"] > 0) & (mt["hhi_country"] <= 1 + 1e-12)).all()
    # Money is conserved: each firm's net worth changes by exactly its flows.
    f = firms.sort_values(["firm", "step"])
    worth = (f["cash"] - f["debt"]).to_numpy()
    flow = (f["revenue"] - f["opex"] - f["capex"] + f["subsidy"] + f["tax_credit"] + f["fund"]
            - f["interest"] - f["maintenance"] - f["tax"] - f["payout"] - f["inputs"] - f["input_tariff"]).to_numpy()
    same_firm = (f["firm"].to_numpy()[1:] == f["firm"].to_numpy()[:-1])
    np.testing.assert_allclose(np.diff(worth)[same_firm], flow[1:][same_firm], atol=1e-9)
    # Tax and payout never exceed positive profit; depreciation is not cash.
    profit = (f["revenue"] - f["opex"] - f["inputs"] - f["input_tariff"] - f["maintenance"] - f["depreciation"]
              - f["interest"] + f["fund"])
    assert (f["tax"] >= 0).all() and (f["payout"] >= 0).all()
    assert (f["tax"] + f["payout"] <= np.maximum(profit, 0.0) + 1e-9).all()
    # What governments paid is what firms received; budgets add up.
    received = firms["subsidy"].sum()
    paid = sum(g.paid_total for g in m.governments)
    assert received == pytest.approx(paid, abs=1e-9)
    for g, spec in zip(m.governments, (m.spec.governments[c] for c in m.geo.countries)):
        assert g.budget == pytest.approx(spec.budget + g.appropriated_total - g.paid_total, abs=1e-9)
    # Trust stays in its bounds; the fund never pays beyond its budget.
    links = t["partnerships"]
    assert ((links["trust"] >= 0) & (links["trust"] <= 1)).all()
    assert ((m.world.chain.country_trust >= 0) & (m.world.chain.country_trust <= 1)).all()
    assert (links["delivered"] <= links["ordered"] + 1e-9).all()
    if m.fund is not None:
        assert m.fund.spent <= m.spec.cocreation.fund.budget + m.fund.contributed + 1e-9
        assert m.fund.budget >= -1e-12
        assert firms["fund"].sum() == pytest.approx(m.fund.spent, abs=1e-9)
    # Subsidies paid never exceed what was committed per site.
    s = m.sites
    assert (s.col("subsidy_paid") <= s.col("subsidy_committed") + 1e-12).all()
    assert (s.col("capex_spent") <= s.col("capex_total") + 1e-12).all()


weights = st.floats(0.0, 20.0, allow_nan=False)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    w_subsidy=weights, w_risk=weights, w_agglomeration=weights, w_labour=weights,
    scale=st.floats(0.05, 10.0),
    us_rate=st.floats(0.0, 1.0), jp_budget=st.floats(0.0, 50.0),
    pace=st.floats(0.01, 1.0), growth=st.floats(-0.2, 0.5),
    n_gen=st.integers(0, 30),
)
def test_invariants_hold_for_random_parameters(seed, w_subsidy, w_risk, w_agglomeration, w_labour, scale,
                                               us_rate, jp_budget, pace, growth, n_gen):
    m = ChipModel(TINY, rng=seed, params__w_subsidy=w_subsidy, params__w_risk=w_risk,
                  params__w_agglomeration=w_agglomeration, params__w_labour=w_labour,
                  params__logit_scale=scale, governments__US__subsidy_rate=us_rate,
                  governments__JP__budget=jp_budget, params__investment_pace=pace,
                  segments__logic__demand_growth=growth, n_generated_firms=n_gen)
    m.run(16)
    check_invariants(m)


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), us_rate=st.floats(0.0, 0.6), w_agglomeration=st.floats(0.0, 5.0))
def test_invariants_hold_on_the_baseline(seed, us_rate, w_agglomeration):
    m = ChipModel("baseline", rng=seed, governments__US__subsidy_rate=us_rate,
                  params__w_agglomeration=w_agglomeration)
    m.run(24)
    check_invariants(m)


@settings(max_examples=4, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), mode=st.sampled_from(["lump_sum", "stage_gated"]),
       budget=st.floats(0.0, 2.0), per_year=st.floats(4.0, 12.0))
def test_invariants_hold_with_the_joint_fund(seed, mode, budget, per_year):
    m = ChipModel("jk_cocreation", rng=seed, **{"cocreation.fund.mode": mode, "cocreation.fund.budget": budget,
                                                "cocreation.fund.projects_per_year": per_year})
    m.run(16)
    spec = m.spec.cocreation.fund
    first = spec.stage_budget * (1 if mode == "stage_gated" else spec.stages)
    if budget >= first:       # money for a first project, and about per_year × 4 draws of new projects
        assert m.fund is not None and m.fund.projects, "the fund should have started projects"
    check_invariants(m)


def _tables_equal(a: dict, b: dict) -> bool:
    for k in a:
        try:
            pd.testing.assert_frame_equal(a[k], b[k])
        except AssertionError:
            return False
    return True


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_same_seed_gives_identical_tables(seed):
    a = ChipModel(TINY, rng=seed, n_generated_firms=10).run(12).tables()
    b = ChipModel(TINY, rng=seed, n_generated_firms=10).run(12).tables()
    assert _tables_equal(a, b)


def test_same_seed_identical_on_baseline_and_different_seeds_differ():
    a = ChipModel("baseline", rng=11).run(24).tables()
    b = ChipModel("baseline", rng=11).run(24).tables()
    c = ChipModel("baseline", rng=12).run(24).tables()
    assert _tables_equal(a, b)
    assert not a["investments"].equals(c["investments"])


def test_seed_sequence_and_generator_are_accepted():
    a = ChipModel(TINY, rng=np.random.SeedSequence(5)).run(8).tables()
    b = ChipModel(TINY, rng=np.random.SeedSequence(5)).run(8).tables()
    assert _tables_equal(a, b)
