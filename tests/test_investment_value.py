"""Investment on value (ODD 7.4) and firm finance (ODD 7.15): the pure rules, then the model's behaviour."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from experiments.levers import scaled_subsidies
from model import decisions, finance
from model.model import ChipModel
from model.phases.valuation import reference_index
from model.scenario import ScenarioError, load_scenario

rates = st.floats(0.0, 0.5, allow_nan=False)


# ------------------------------------------------------------------ pure rules
def test_adaptive_expectations_move_the_stated_share_of_the_surprise():
    e = np.array([100.0, 200.0])
    assert np.allclose(decisions.adaptive(e, np.array([120.0, 100.0]), 0.25), [105.0, 175.0])
    assert np.allclose(decisions.adaptive(e, np.array([1.0, 2.0]), 0.0), e)
    assert np.allclose(decisions.adaptive(e, np.array([1.0, 2.0]), 1.0), [1.0, 2.0])


def test_expected_market_follows_the_change_in_tightness_within_the_price_band():
    base = np.array(1000.0)
    p_same, u_same = decisions.expected_market(1100.0, 0.8, 1.0, 1.0, 1.5, base, 0.5, 2.0)
    assert p_same == pytest.approx(1100.0) and u_same == pytest.approx(0.8)
    p_tight, u_tight = decisions.expected_market(1100.0, 0.8, 1.0, 1.2, 1.5, base, 0.5, 2.0)
    assert p_tight == pytest.approx(1100.0 * 1.2 ** (1 / 1.5)) and u_tight == pytest.approx(0.96)
    p_glut, _ = decisions.expected_market(1100.0, 0.8, 1.0, 0.01, 1.5, base, 0.5, 2.0)
    assert p_glut == pytest.approx(500.0)                      # the floor
    _, u_cap = decisions.expected_market(1100.0, 0.9, 1.0, 2.0, 1.5, base, 0.5, 2.0)
    assert u_cap == 1.0


def test_discount_factors_count_quarters_at_zero_rate_and_the_ramp_loses_half_a_quarter_per_ramp_quarter():
    f_out, f_life, f_dep = decisions.discount_factors(np.array(0.0), 8, 60, 0, 20)
    assert (f_out, f_life, f_dep) == pytest.approx((60.0, 60.0, 20.0))
    f_out, _, _ = decisions.discount_factors(np.array(0.0), 8, 60, 6, 20)
    assert f_out == pytest.approx(60.0 - 6 / 2)               # Σ_k<n (n − k)/(n + 1) = n/2


@given(rates, rates)
def test_discounting_more_lowers_every_present_value(r1, r2):
    lo, hi = sorted((r1, r2))
    a = decisions.discount_factors(np.array(lo), 10, 60, 4, 20)
    b = decisions.discount_factors(np.array(hi), 10, 60, 4, 20)
    assert all(x >= y - 1e-12 for x, y in zip(a, b))
    assert a[0] <= a[1] + 1e-12 and a[2] <= a[1] + 1e-12


@given(st.floats(0.0, 0.9), st.floats(0.0, 0.9))
def test_subsidy_raises_the_profitability_index(s1, s2):
    lo, hi = sorted((s1, s2))
    args = dict(margin=0.3, f_out=30.0, f_life=32.0, f_dep=15.0, capex=7.0, maintenance=0.03,
                tax=np.array(0.2), depreciation_quarters=20)
    assert decisions.profitability_index(net_subsidy=hi, **args) >= decisions.profitability_index(net_subsidy=lo, **args)


def test_profitability_index_by_hand():
    # margin 0.3/q × F 30 = 9; maintenance 0.03/4 × 7 × 32 = 1.68; tax 20 %; shield 0.2 × 7/20 × 15 = 1.05
    pi = decisions.profitability_index(0.3, 30.0, 32.0, 15.0, 7.0, 0.25, 0.03, np.array(0.2), 20)
    assert pi == pytest.approx((0.8 * (9.0 - 1.68) + 1.05) / (7.0 * 0.75))


def test_profitable_expansion_finds_where_the_index_meets_the_hurdle():
    upper = np.array([100.0, 100.0, 100.0])
    start = np.array([2.0, 0.5, 5.0])
    found = decisions.profitable_expansion(lambda a: start - 0.01 * a, upper, 1.0)
    assert found == pytest.approx([100.0, 0.0, 100.0])       # clears everywhere / nowhere / everywhere
    found = decisions.profitable_expansion(lambda a: np.array([2.0]) - 0.02 * a, np.array([100.0]), 1.0)
    assert found == pytest.approx([50.0], abs=1e-6)


def test_tax_and_payout_fall_on_positive_profit_only():
    tax, payout = finance.tax_and_payout(np.array([10.0, -5.0, 0.0]), np.array([0.2, 0.3, 0.1]), 0.5)
    assert tax == pytest.approx([2.0, 0.0, 0.0]) and payout == pytest.approx([4.0, 0.0, 0.0])


def test_the_reference_project_clears_the_unit_hurdle_by_construction():
    sc = load_scenario("baseline")
    ref = reference_index(sc, ChipModel("baseline", rng=0).world.segments)
    assert (ref > 0).all()
    # The level is not identified by the assumed prices and capex (0.56-1.25 at the baseline, ODD 7.4), which is
    # why the hurdle is relative: a project in the reference conditions has relative index 1.
    assert ref.min() > 0.5 and ref.max() < 1.3, ref


# --------------------------------------------------------------- model behaviour
def _capacity(seed: int, quarters: int = 32, **ov) -> float:
    m = ChipModel("baseline", rng=seed, **ov)
    for _ in range(quarters):
        m.step()
    return float(m.metrics()["capacity_fab"].iloc[-1])


def _subsidies(factor: float) -> dict[str, float]:
    return scaled_subsidies("baseline", factor)


@pytest.mark.slow
def test_subsidies_create_capacity_on_average_over_seeds():
    """Removing every grant and credit lowers world fab capacity after 32 quarters; half as much again raises it."""
    seeds = range(6)
    none = np.array([_capacity(s, **_subsidies(0.0)) for s in seeds])
    base = np.array([_capacity(s) for s in seeds])
    more = np.array([_capacity(s, **_subsidies(1.5)) for s in seeds])
    for lo, hi in ((none, base), (base, more)):
        d = hi - lo
        assert d.mean() - 2.6 * d.std(ddof=1) / np.sqrt(len(d)) > 0, d


def test_a_higher_hurdle_builds_less():
    seeds = range(3)
    low = np.array([_capacity(s, 24, **{"params.hurdle": 0.9}) for s in seeds])
    high = np.array([_capacity(s, 24, **{"params.hurdle": 1.3}) for s in seeds])
    assert (high < low).all()


def test_cash_stays_in_proportion_to_revenue_and_finance_binds_sometimes():
    m = ChipModel("baseline", rng=0)
    for _ in range(64):
        m.step()
    mt = m.metrics().iloc[1:]
    ratio = mt["firm_cash"] / (4.0 * mt["revenue"])
    # Start: 516 USD bn of cash against ≈ 0.7 years of revenue; it stays within 0.25–1.5 years (ODD 7.15).
    assert ratio.between(0.25, 1.5).all(), ratio.describe()
    assert (mt["finance_blocked_share"].between(0.0, 1.0)).all()
    assert (mt["firm_tax"] > 0).all() and (mt["firm_payout"] > 0).all()


def test_investment_rule_is_checked():
    with pytest.raises(ScenarioError, match="investment_rule"):
        load_scenario("baseline", **{"params.investment_rule": "npv"})


def test_buyers_pay_exactly_what_upstream_and_packaging_firms_earn():
    from model.queries import KWPM_QUARTER_TO_USD_BN
    from model.scenario import Event
    sc = load_scenario("decoupling")
    sc.events.append(Event(type="tariff", start="2025Q2", country="US", magnitude=0.25,
                           segments=["materials", "equipment"]))
    m = ChipModel(sc, rng=1)
    w = m.world
    for _ in range(6):
        m.step()
        paid = w.ledger.flows["inputs"].sum()
        non_fab = ~w.segments.fab_mask
        earned = (w.supply.output[:, non_fab].sum(axis=0) * w.markets.price[non_fab]).sum() * KWPM_QUARTER_TO_USD_BN
        assert paid == pytest.approx(earned, rel=1e-9) and paid > 0
    assert w.ledger.flows["input_tariff"].sum() > 0          # a tariff that names inputs falls on them
    assert w.events.input_tariff[:, :, w.segments.fab_mask].sum() == 0


def test_inputs_costing_more_than_the_unit_cost_are_rejected():
    with pytest.raises(ScenarioError, match=r"segments\.power.*inputs at base prices"):
        load_scenario("baseline", **{"segments.power.price": 700.0})


def test_a_technology_transfer_condition_lifts_local_firms_and_costs_the_recipient():
    ov = {"governments.US.conditions.technology_transfer": 0.1, "governments.US.budget": 200.0}
    hit, calm = ChipModel("baseline", rng=2, **ov), ChipModel("baseline", rng=2)
    us = hit.geo.countries.index("US")
    local = hit.world.firms.home == us
    hit.run(8)
    calm.run(8)
    assert hit.world.chain.tech[local].mean() > calm.world.chain.tech[local].mean()
    s = hit.world.sites
    granted = (s.col("gov") == us) & (s.col("start_step") > 0)
    assert granted.any()
    seg = s.col("segment")[granted]
    gross = hit.world.segments.project_size[seg] * hit.world.segments.capex_per_capacity[seg]
    cost = hit.governments[us].condition_cost
    assert s.col("capex_total")[granted] == pytest.approx(gross * (1 + cost))


@pytest.mark.slow
def test_no_artefacts_shares_stay_within_the_band_history_allows():
    """Without shocks or policy changes, no country's share of world fab capacity, and no home's share, moves more
    over 32 quarters than the fastest move on record: China's 300 mm share rose from 8 % (2015) to 19 % (2021), about
    1.8 pp a year (SEMI, ../shared/calibration/history_2019_2023.csv), so ±15 pp over eight years (ODD 7.4.1)."""
    band = 15.0
    for seed in range(3):
        m = ChipModel("baseline", rng=seed)
        start = m.metrics().iloc[0]
        m.run(32)
        end = m.metrics().iloc[-1]
        for c in m.geo.countries:
            assert abs(100 * (end[f"share_{c}"] - start[f"share_{c}"])) < band, (seed, c)
        sites = m.tables()["sites"]
        fab = sites[(sites["status"] == "operating") & sites["segment"].isin(["logic", "memory", "sensors", "power"])]
        first = fab[fab["step"] == 0].groupby("home", observed=True)["capacity"].sum()
        last = fab[fab["step"] == 32].groupby("home", observed=True)["capacity"].sum()
        moved = 100 * (last / last.sum()).sub(first / first.sum(), fill_value=0.0)
        assert moved.abs().max() < band, moved.round(1).to_dict()


def test_value_utility_replaces_the_money_terms_with_one_index():
    from model.decisions import MONEY_TERMS, TERMS, value_utility
    contrib = np.arange(len(TERMS) * 2, dtype=float).reshape(len(TERMS), 1, 2)
    index = np.array([[1.5, -np.inf]])
    allowed = np.array([[True, False]])
    v = value_utility(contrib, index, 6.0, allowed)
    keep = [i for i, t in enumerate(TERMS) if t not in MONEY_TERMS]
    assert v[0, 0] == pytest.approx(contrib[keep, 0, 0].sum() + 6.0 * 0.5)
    assert v[0, 1] == pytest.approx(contrib[keep, 0, 1].sum())           # closed region: no value term, finite


def _us_share_of_new(seed: int, **ov) -> float:
    inv = ChipModel("baseline", rng=seed, **{"params.location_money": "value", **ov}).run(16).tables()["investments"]
    inv = inv[~inv["deferred"]]
    return float(inv.loc[inv["country"] == "US", "capacity"].sum() / inv["capacity"].sum())


def test_in_value_mode_a_higher_grant_still_draws_investment():
    """With the money terms in one currency, a US grant rate of 0.4 (and the money for it) raises the US share
    of new capacity on average over seeds, through the value term alone."""
    more = {"governments.US.subsidy_rate": 0.4, "governments.US.budget": 200.0}
    d = [_us_share_of_new(s, **more) - _us_share_of_new(s) for s in range(3)]
    assert np.mean(d) > 0.02, d


def test_location_money_is_checked():
    with pytest.raises(ScenarioError, match="location_money"):
        load_scenario("baseline", **{"params.location_money": "npv"})
