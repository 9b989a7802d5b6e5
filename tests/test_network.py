"""Value-chain rules tested without a model."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model import network as nw


def test_link_exposure_domestic_ally_rival_and_harmonised():
    bloc = np.array([0, 0, 1])                 # countries 0, 1 allied; 2 a rival
    harmonised = np.array([True, True, False])
    sup = np.array([0, 1, 2, 0])
    buy = np.array([0, 0, 0, 1])
    exp = nw.link_exposure(sup, buy, bloc, 0.3, np.zeros(3, bool), 1.0)
    np.testing.assert_allclose(exp, [0.0, 0.3, 1.0, 0.3])
    exp = nw.link_exposure(sup, buy, bloc, 0.3, harmonised, 1.0)
    np.testing.assert_allclose(exp, [0.0, 0.0, 1.0, 0.0])
    exp = nw.link_exposure(sup, buy, bloc, 0.3, harmonised, 0.5)
    np.testing.assert_allclose(exp, [0.0, 0.15, 1.0, 0.15])


def test_follower_keeps_less_under_a_limited_licence():
    assert nw.follower_keep("joint", 5, 0.5, 10, 1.0) == 1.0
    assert nw.follower_keep("licence", 5, 0.5, 10, 1.0) == pytest.approx(0.25)
    assert nw.follower_keep("licence", 20, 1.0, 10, 1.0) == 1.0
    assert nw.follower_keep("licence", 0, 1.0, 10, 1.0) == 0.0


def test_rationing_fills_proportionally_and_never_exceeds_capacity():
    orders = np.array([60.0, 40.0, 10.0])
    supplier = np.array([0, 0, 1])
    got = nw.ration(orders, supplier, np.array([50.0, 100.0]))
    np.testing.assert_allclose(got, [30.0, 20.0, 10.0])


@given(arrays(float, 8, elements=st.floats(0, 100)), arrays(float, 3, elements=st.floats(0, 100)),
       arrays(np.int64, 8, elements=st.integers(0, 2)))
def test_rationing_invariants(orders, capacity, supplier):
    got = nw.ration(orders, supplier, capacity)
    assert np.all(got <= orders + 1e-9) and np.all(got >= 0)
    sent = np.bincount(supplier, weights=got, minlength=3)
    assert np.all(sent <= capacity + 1e-6)


def test_fixed_proportions():
    plan = np.array([10.0, 10.0, 10.0])
    delivered = np.array([[10.0, 20.0], [5.0, 20.0], [10.0, 2.0]])
    out = nw.fixed_proportion_output(plan, delivered, np.array([[1.0, 2.0]] * 3))
    np.testing.assert_allclose(out, [10.0, 5.0, 1.0])


def test_trust_rises_with_reliability_and_falls_with_shortfall_within_bounds():
    t = nw.update_trust(np.array([0.5, 0.5, 0.99, 0.01]), np.array([1.0, 0.5, 1.0, 0.0]), 0.02, 0.3)
    assert t[0] > 0.5 > t[1]
    assert t[2] <= 1.0 and t[3] >= 0.0


def test_sharing_falls_with_asymmetry_and_rises_with_licences_and_stage_gates():
    gap, trust = np.array([0.3]), np.array([0.5])
    joint = nw.sharing_rate(gap, trust, keep=1.0, base=0.8, aversion=1.0, complementarity=0.3)
    licence = nw.sharing_rate(gap, trust, keep=0.25, base=0.8, aversion=1.0, complementarity=0.3)
    gated = nw.sharing_rate(gap, trust, keep=1.0, base=0.8, aversion=1.0, complementarity=0.3, stage_incentive=0.5)
    assert licence[0] > joint[0] and gated[0] > joint[0]
    no_aversion = nw.sharing_rate(gap, trust, keep=1.0, base=0.8, aversion=0.0, complementarity=0.3)
    assert no_aversion[0] == pytest.approx(0.8 * 0.75)
    assert nw.sharing_rate(gap, np.array([1.0]), 1.0, 0.8, 1.0, 0.3)[0] > joint[0]


@given(st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 1), st.floats(0, 10), st.floats(0, 5))
def test_sharing_rate_in_unit_interval(gap, trust, keep, base, aversion, comp):
    s = nw.sharing_rate(np.array([gap]), np.array([trust]), keep, base, aversion, comp)
    assert 0.0 <= s[0] <= 1.0


def test_knowledge_gain_never_overshoots():
    gain = nw.knowledge_gain(np.array([0.1, 0.0]), np.array([1.0, 1.0]), 5.0)
    np.testing.assert_allclose(gain, [0.1, 0.0])


def test_partner_utility_signs():
    base = dict(technology=np.array([0.5]), relative_cost=np.array([0.6]), trust=np.array([0.5]),
                distance=np.array([1.0]), exposure=np.array([0.0]), ip=np.array([0.0]))
    w = (1.0, 1.0, 1.0, 1.0, 1.0, 1.0)
    u0 = nw.partner_utility(**base, weights=w)[0]
    for field, delta, sign in (("technology", 0.1, +1), ("relative_cost", 0.1, -1), ("trust", 0.1, +1),
                               ("distance", 1.0, -1), ("exposure", 0.5, -1), ("ip", 0.5, -1)):
        changed = dict(base)
        changed[field] = base[field] + delta
        assert np.sign(nw.partner_utility(**changed, weights=w)[0] - u0) == sign, field


def test_sampling_and_gumbel_choice():
    rng = np.random.default_rng(1)
    idx = nw.sample_candidates(np.array([0.0, 1.0, 3.0]), rng.random(20000))
    freq = np.bincount(idx, minlength=3) / 20000
    np.testing.assert_allclose(freq, [0.0, 0.25, 0.75], atol=0.02)
    util = np.array([[0.0, 10.0, -np.inf]])
    assert nw.gumbel_choice(util, 1.0, np.zeros((1, 3)))[0] == 1


def test_book_grows_and_tracks_activity():
    book = nw.PartnershipBook(capacity_hint=2)
    ids = book.add_many(np.arange(40), np.zeros(40, int), np.ones(40, int), np.arange(40) + 1, np.full(40, 0.5), 3)
    assert book.n == 40 and list(ids[:2]) == [0, 1]
    book.end_step[5] = 4
    assert book.active.sum() == 39
