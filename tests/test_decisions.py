"""Decision rules tested without a model."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model import decisions as d


def _inputs(n=3, **kw):
    base = dict(
        net_subsidy=np.zeros(n), log_wage=np.zeros(n), labour_intensity=0.1,
        political_risk=np.zeros(n), risk_aversion=1.0, power_reliability=np.ones(n),
        skill=np.ones(n), agglomeration=np.zeros(n), is_home=np.zeros(n, bool),
        same_bloc=np.zeros(n, bool), tariff=np.zeros(n), distance=np.zeros(n), n_sites=0,
        spread=np.zeros(n), has_site=np.zeros(n, bool),
    )
    base.update(kw)
    return d.LocationInputs(**base)


def test_known_utilities_give_known_probabilities():
    p = d.logit_probabilities(np.array([0.0, np.log(2.0), np.log(3.0)]), scale=1.0)
    np.testing.assert_allclose(p, [1 / 6, 2 / 6, 3 / 6])


def test_scale_flattens_choice():
    v = np.array([0.0, 1.0, 2.0])
    sharp = d.logit_probabilities(v, 0.1)
    flat = d.logit_probabilities(v, 100.0)
    assert sharp[2] > 0.99
    np.testing.assert_allclose(flat, 1 / 3, atol=0.01)


@given(arrays(float, st.integers(1, 40), elements=st.floats(-500, 500)), st.floats(0.01, 50))
def test_probabilities_sum_to_one(v, scale):
    p = d.logit_probabilities(v, scale)
    assert np.all(p >= 0)
    assert p.sum() == pytest.approx(1.0)


def test_disallowed_regions_get_zero_and_none_allowed_gives_zeros():
    p = d.logit_probabilities(np.array([5.0, 0.0, 0.0]), 1.0, allowed=np.array([False, True, True]))
    assert p[0] == 0 and p.sum() == pytest.approx(1.0)
    assert not d.logit_probabilities(np.zeros(3), 1.0, allowed=np.zeros(3, bool)).any()


def test_sample_choice_maps_uniform_to_cumulative():
    p = np.array([0.2, 0.5, 0.3])
    assert d.sample_choice(p, 0.0) == 0
    assert d.sample_choice(p, 0.19) == 0
    assert d.sample_choice(p, 0.21) == 1
    assert d.sample_choice(p, 0.71) == 2
    assert d.sample_choice(p, 0.999999) == 2


def test_sample_choice_frequencies_match_probabilities():
    rng = np.random.default_rng(0)
    p = np.array([0.1, 0.6, 0.3])
    picks = np.array([d.sample_choice(p, u) for u in rng.random(20000)])
    freq = np.bincount(picks, minlength=3) / len(picks)
    np.testing.assert_allclose(freq, p, atol=0.015)


def _choose(x, weights, scale=1.0):
    terms = d.location_terms(x, coordination_spread=0.05)
    _, v = d.location_utility(terms, weights)
    return d.logit_probabilities(v, scale)


W = np.ones(len(d.TERMS))


@pytest.mark.parametrize("field,values,winner", [
    ("net_subsidy", [0.0, 0.5, 0.0], 1),
    ("political_risk", [0.9, 0.9, 0.1], 2),
    ("power_reliability", [0.2, 1.0, 0.2], 1),
    ("skill", [0.0, 0.0, 1.0], 2),
    ("agglomeration", [3.0, 0.0, 0.0], 0),
    ("tariff", [1.0, 0.0, 1.0], 1),
    ("distance", [5.0, 5.0, 0.0], 2),
])
def test_extreme_weight_picks_the_obvious_region(field, values, winner):
    x = _inputs(**{field: np.array(values)})
    weights = W.copy()
    weights[d.TERMS.index({"net_subsidy": "subsidy", "political_risk": "risk",
                           "power_reliability": "infrastructure"}.get(field, field))] = 200.0
    p = _choose(x, weights)
    assert p[winner] > 0.999


def test_labour_cost_matters_in_proportion_to_labour_intensity():
    wages = np.log(np.array([3000.0, 300.0]) / 1000.0)
    heavy = _choose(_inputs(2, log_wage=wages, labour_intensity=0.9), W)
    light = _choose(_inputs(2, log_wage=wages, labour_intensity=0.05), W)
    assert heavy[1] > light[1] > 0.5


def test_home_bloc_and_expansion_bonuses():
    x = _inputs(is_home=np.array([False, True, False]), same_bloc=np.array([True, True, False]),
                has_site=np.array([False, True, False]))
    p = _choose(x, W)
    assert p[1] > p[0] > p[2]


def test_coordination_cost_only_for_new_sites_and_grows_with_sites():
    few = d.location_terms(_inputs(2, n_sites=1, has_site=np.array([True, False])), 0.05)
    many = d.location_terms(_inputs(2, n_sites=20, has_site=np.array([True, False])), 0.05)
    k = d.TERMS.index("coordination")
    assert few[k, 0] == 0.0 and many[k, 0] == 0.0
    assert many[k, 1] > few[k, 1] > 0


def test_signs_of_contributions():
    x = _inputs(1, net_subsidy=np.array([0.3]), political_risk=np.array([0.5]))
    contrib, v = d.location_utility(d.location_terms(x, 0.0), W)
    assert contrib[d.TERMS.index("subsidy"), 0] == pytest.approx(0.3)
    assert contrib[d.TERMS.index("risk"), 0] == pytest.approx(-0.5)
    assert v[0] == pytest.approx(contrib[:, 0].sum())


def test_subsidy_offer_is_capped_by_budget_and_conditions_apply_only_with_a_grant():
    net, grant = d.subsidy_offer(rate=np.array([0.5, 0.5, 0.0]), available=np.array([100.0, 1.0, 100.0]),
                                 capex=10.0, tax_credit=np.array([0.0, 0.0, 0.2]),
                                 condition_cost=np.array([0.1, 0.1, 0.1]))
    np.testing.assert_allclose(grant, [5.0, 1.0, 0.0])
    np.testing.assert_allclose(net, [0.4, 0.0, 0.2])


def test_skilled_availability_and_agglomeration():
    np.testing.assert_allclose(d.skilled_availability(np.array([10.0, 0.0, 5.0]), np.array([10.0, 0.0, 0.0])),
                               [0.5, 0.0, 1.0])
    a = d.agglomeration(np.array([0.0, 50.0]), np.array([0.0, 50.0]), 1.0, 50.0)
    np.testing.assert_allclose(a, [0.0, np.log(3.0)])


def test_linked_distance_is_capacity_weighted():
    dist = np.array([[0.0, 2.0], [2.0, 0.0]])
    np.testing.assert_allclose(d.linked_distance(dist, np.array([3.0, 1.0])), [0.5, 1.5])
    np.testing.assert_allclose(d.linked_distance(dist, np.zeros(2)), [0.0, 0.0])


def test_investment_trigger():
    gap = d.capacity_gap(np.array([85.0, 85.0]), np.array([0.0, 0.2]), np.array([4, 4]),
                         np.array([100.0, 100.0]), 0.85)
    assert gap[0] == pytest.approx(0.0)
    assert gap[1] == pytest.approx(85 * 1.2 / 0.85 - 100)
    args = (np.array([0.5, 0.0, 1.0]), np.array([20.0, 20.0, 1e6]), np.array([10.0, 10.0, 10.0]))
    np.testing.assert_allclose(d.expected_projects(*args, pace=0.5, cap=1), [0.5, 0.0, 1.0])   # 0.1's cap
    np.testing.assert_allclose(d.expected_projects(*args, pace=0.5), [0.5, 0.0, 50000.0])     # no cap


def test_project_counts_have_the_expected_mean_and_match_a_bernoulli_below_one():
    u = np.random.default_rng(0).random(200_000)
    for lam in (0.3, 1.0, 2.6, 7.25):
        n = d.project_counts(np.full(u.size, lam), u)
        assert n.mean() == pytest.approx(lam, abs=0.01)
        assert set(np.unique(n)) <= {int(np.floor(lam)), int(np.floor(lam)) + 1}
    lam = np.array([0.0, 0.2, 0.7, 1.0])
    np.testing.assert_array_equal(d.project_counts(lam, np.array([0.1, 0.1, 0.9, 0.5])), (np.array([0.1, 0.1, 0.9, 0.5]) < lam))


def test_can_finance():
    ok = d.can_finance(cash=np.array([3.0, 2.0, 3.0, 3.0]), debt=np.array([0.0, 0.0, 50.0, 1.0]),
                       annual_revenue=np.array([10.0, 10.0, 10.0, 0.0]), capex=np.array([10.0] * 4),
                       equity_share=0.3, max_leverage=3.0)
    assert ok.tolist() == [True, False, False, False]


@settings(max_examples=50)
@given(st.floats(0, 1), st.floats(0, 1), st.floats(0.01, 100))
def test_subsidy_grant_never_exceeds_available_budget(rate, avail, capex):
    _, grant = d.subsidy_offer(np.array([rate]), np.array([avail]), capex, np.zeros(1), np.zeros(1))
    assert 0 <= grant[0] <= avail + 1e-12
