"""Technology that matters (ODD 7.3, 7.6, 7.10, 7.12, 7.15): yield cost, price premium,
leading-edge threshold, ramp-up, sharing as a profit trade-off, IP regime per link."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model import ChipModel, ScenarioError
from model import network as nw
from model.phases.learning import partnership_spillovers
from model.phases.supply import operating_capacity
from model.queries import site_price_technology, site_unit_cost, yield_share
from model.sites import leading_edge_allowed, ramp_share

SEEDS = range(6)


# ------------------------------------------------------------------ pure rules
def test_yield_cost_factor_falls_with_technology():
    f = nw.yield_cost_factor(np.array([0.0, 0.5, 0.9, 1.0]), 0.2)
    np.testing.assert_allclose(f, [1.2, 1.1, 1.02, 1.0])
    np.testing.assert_allclose(nw.yield_cost_factor(np.array([0.3]), 0.0), [1.0])


@settings(max_examples=50, deadline=None)
@given(arrays(float, 12, elements=st.floats(0, 1)), arrays(float, 12, elements=st.floats(0, 100)),
       st.floats(0, 0.9))
def test_price_premium_is_revenue_neutral_within_each_segment(tech, output, premium):
    seg = np.arange(12) % 3
    f = nw.premium_price_factor(tech, output, seg, np.full(3, premium), 3)
    # With premium < 1 and technology in [0, 1] no factor is floored, so revenue only moves.
    np.testing.assert_allclose(np.bincount(seg, weights=output * f, minlength=3),
                               np.bincount(seg, weights=output, minlength=3), rtol=1e-9, atol=1e-9)


def test_price_premium_favours_the_better_firm_and_is_off_at_zero():
    tech, out, seg = np.array([0.9, 0.5]), np.array([1.0, 1.0]), np.array([0, 0])
    f = nw.premium_price_factor(tech, out, seg, np.array([0.5]), 1)
    np.testing.assert_allclose(f, [1.1, 0.9])
    np.testing.assert_allclose(nw.premium_price_factor(tech, out, seg, np.array([0.0]), 1), [1.0, 1.0])


def test_leading_edge_needs_a_threshold_and_the_technology_to_reach_it():
    ok = leading_edge_allowed(np.array([0.9, 0.7, 0.9]), np.array([0.8, 0.8, np.nan]))
    assert ok.tolist() == [True, False, False]


def test_ramp_share_rises_linearly_to_full_output():
    n = 4
    shares = [float(ramp_share(np.array([10]), 10 + k, np.array([n]))[0]) for k in range(7)]
    np.testing.assert_allclose(shares, [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0])
    # Sites operating at the start (online_step 0) and segments without a ramp produce at once.
    np.testing.assert_allclose(ramp_share(np.array([0, 10]), 10, np.array([4, 0])), [1.0, 1.0])


def _old_rule(gap, trust, keep, base, aversion, comp, incentive=0.0, floor=0.5):
    g_f, g_l = keep * gap, (comp + incentive) * gap
    a = np.where(g_f + g_l > 0, np.maximum((g_f - g_l) / np.where(g_f + g_l > 0, g_f + g_l, 1), 0), 0)
    return np.clip(base * (floor + (1 - floor) * trust) * (1 - np.minimum(1, aversion * a)), 0, 1)


def test_old_sharing_rule_is_the_special_case_without_rivalry_and_closeness():
    gap = np.array([0.0, 0.05, 0.2, 0.5])
    trust = np.array([0.3, 0.5, 0.9, 1.0])
    new = nw.sharing_rate(gap, trust, 1.0, 0.8, 1.0, 0.3, rivalry=1.0, closeness_scale=np.inf)
    np.testing.assert_allclose(new, _old_rule(gap, trust, 1.0, 0.8, 1.0, 0.3))


def test_sharing_falls_as_a_competitor_closes_the_gap():
    gap = np.array([0.6, 0.4, 0.2, 0.1, 0.05])
    s = nw.sharing_rate(gap, np.full(5, 0.5), 1.0, 0.8, 1.0, 0.3, rivalry=1.0, closeness_scale=0.2)
    assert (np.diff(s) <= 0).all() and s[-1] < s[0] - 0.2, s      # far followers cost nothing: saturates at 0.6
    # A supplier or customer (no common segment) costs the leader less: it shares more.
    other = nw.sharing_rate(gap, np.full(5, 0.5), 1.0, 0.8, 1.0, 0.3, rivalry=0.5, closeness_scale=0.2)
    assert (other >= s).all() and (other > s).any()


def test_ip_regime_per_link_and_licence_expiry():
    members = np.array([True, True, False])
    keep, licensed, end = nw.link_ip(np.array([0, 0, 0, 2]), np.array([1, 0, 2, 2]), members, True, 0.25, 1.0,
                                     np.array([3, 3, 3, 3]), 20)
    assert licensed.tolist() == [True, False, False, False]          # only between two different members
    np.testing.assert_allclose(keep, [0.25, 1.0, 1.0, 1.0])
    assert end.tolist() == [23, -1, -1, -1]
    _, none, _ = nw.link_ip(np.array([0]), np.array([1]), members, False, 0.25, 1.0, 3, 20)
    assert not none.any()
    gain = np.array([0.01, 0.01])
    lic, ends = np.array([True, False]), np.array([23, -1])
    np.testing.assert_allclose(nw.kept_gain(gain, np.array([0.25, 1.0]), lic, ends, 22), [0.0025, 0.01])
    np.testing.assert_allclose(nw.kept_gain(gain, np.array([0.25, 1.0]), lic, ends, 23), [0.0, 0.01])


def test_rivalry_is_one_for_a_common_segment():
    has = np.array([[True, False], [True, True], [False, True]])
    r = nw.rivalry(has, np.array([0, 0]), np.array([1, 2]), 0.4)
    np.testing.assert_allclose(r, [1.0, 0.4])


# ------------------------------------------------------------------ the model
def test_unit_cost_of_a_site_carries_its_firms_yield_factor():
    m = ChipModel("baseline", rng=1)
    w, sc = m.world, m.spec
    before = site_unit_cost(w, sc)
    f = w.firms.ids.index("samsung")
    w.chain.tech[f] = 1.0
    after = site_unit_cost(w, sc)
    mine = w.sites.col("firm") == f
    assert (after[mine] < before[mine]).all()
    np.testing.assert_allclose(after[~mine], before[~mine])
    sc.knowledge.yield_penalty = 0.0
    np.testing.assert_allclose(site_unit_cost(w, sc)[mine], after[mine])      # at tech 1 no penalty anyway


def test_non_leading_edge_sites_earn_the_premium_only_up_to_the_threshold():
    m = ChipModel("baseline", rng=1)
    w = m.world
    logic = w.segments.ids.index("logic")
    s = w.sites
    w.chain.tech[:] = 0.95
    t = site_price_technology(w)
    on_logic = s.col("segment") == logic
    np.testing.assert_allclose(t[on_logic & s.col("leading_edge")], 0.95)
    np.testing.assert_allclose(t[on_logic & ~s.col("leading_edge")], 0.8)
    np.testing.assert_allclose(t[s.col("segment") == w.segments.ids.index("materials")], 0.95)   # no threshold


def test_rapidus_ramps_up_over_eight_quarters():
    m = ChipModel("baseline", rng=1)
    w = m.world
    f, logic = w.firms.ids.index("rapidus"), w.segments.ids.index("logic")
    site = [i for i in w.firms.sites[f] if w.sites.segment[i] == logic][0]
    n = int(w.segments.ramp[logic])
    assert n == 8
    seen = []
    for _ in range(24):
        m.step()
        if w.sites.status[site] == 1:
            seen.append((float(yield_share(w)[site]), float(operating_capacity(w)[f, logic])))
    k = len(seen)
    assert k > n
    cap = float(w.sites.capacity[site])
    expected = np.minimum((np.arange(k) + 1) / (n + 1), 1.0)
    np.testing.assert_allclose([x for x, _ in seen], expected)
    # Its firm's producing capacity follows while this is its only operating logic site.
    np.testing.assert_allclose(seen[0][1], cap / (n + 1))


def test_sites_completed_in_the_model_are_leading_edge_only_above_the_threshold():
    m = ChipModel("baseline", rng=2).run(32)
    w = m.world
    s = w.sites
    new = (s.col("start_step") >= 0) & (s.col("status") == 1)
    assert new.any()
    thr = w.segments.le_threshold[s.col("segment")]
    le = s.col("leading_edge")
    assert not le[new & np.isnan(thr)].any()
    # Technology never falls, so a firm that reached the threshold on completion is above it now.
    assert (w.chain.tech[s.col("firm"), s.col("segment")][new & le] >= thr[new & le]).all()
    assert m.metrics()["leading_edge_share"].between(0, 1).all()


def test_licensed_links_are_stored_with_their_end_and_teach_nothing_after_it():
    m = ChipModel("jk_cocreation", rng=1).run(3)
    w = m.world
    book = w.chain.partners
    act = np.flatnonzero(book.active)
    lic = act[book.licensed[act]]
    assert len(lic) > 0
    homes = {(w.geo.countries[w.firms.home[b]], w.geo.countries[w.firms.home[s]])
             for b, s in zip(book.buyer[lic], book.supplier[lic])}
    assert homes <= {("JP", "KR"), ("KR", "JP")}
    np.testing.assert_array_equal(book.licence_end[lic], book.start_step[lic] + 20)   # 5 years
    np.testing.assert_allclose(book.keep[lic], 0.25)
    assert not ChipModel("status_quo", rng=1).run(3).world.chain.partners.col("licensed").any()
    # Every link licensed: gains while the licence runs, nothing (but own R&D) once it expired.
    kn = m.spec.knowledge
    book.licensed[act] = True
    book.keep[act] = 1.0
    before = w.chain.tech.copy()
    book.licence_end[act] = w.clock.step + 100
    partnership_spillovers(w, m.spec)
    assert (w.chain.tech - np.minimum(before + kn.own_progress, 1.0)).max() > 1e-6
    w.chain.tech[:] = before
    book.licence_end[act] = w.clock.step
    partnership_spillovers(w, m.spec)
    np.testing.assert_allclose(w.chain.tech, np.minimum(before + kn.own_progress, 1.0))


def _revenue_and_cost(tech):
    share, cost = [], []
    for seed in SEEDS:
        over = {} if tech is None else {"firms.samsung.technology": tech}
        m = ChipModel("baseline", rng=seed, **over)
        w = m.world
        f, mem = w.firms.ids.index("samsung"), w.segments.ids.index("memory")
        rev = np.zeros(w.firms.n)
        for _ in range(12):
            m.step()
            rev += w.ledger.flows["revenue"]
        share.append(rev[f] / rev.sum())
        cost.append(w.chain.firm_unit_cost[f, mem])
    return np.array(share), np.array(cost)


def test_higher_technology_lowers_unit_cost_and_raises_revenue_share():
    share_lo, cost_lo = _revenue_and_cost(None)          # derived: logic 0.81, memory 0.5
    share_hi, cost_hi = _revenue_and_cost(0.95)
    assert (cost_hi < cost_lo).all()                     # paired on the seed
    assert (share_hi - share_lo).mean() > 0 and (share_hi > share_lo).mean() >= 5 / 6, (share_lo, share_hi)


@pytest.mark.parametrize("path, value, expected", [
    ("segments.logic.tech_premium", -0.1, "tech_premium"),
    ("segments.memory.leading_edge_threshold", 1.5, "leading_edge_threshold"),
    ("knowledge.yield_penalty", -1.0, "yield_penalty"),
    ("knowledge.closeness_scale", 0.0, "closeness_scale"),
    ("segments.logic.ramp_quarters", -1, "ramp_quarters"),
])
def test_bad_technology_parameters_are_one_line_errors(path, value, expected):
    with pytest.raises(ScenarioError, match=expected) as err:
        ChipModel("baseline", **{path: value})
    assert "\n" not in str(err.value).strip()


def test_sharing_numbers_quoted_in_odd_7_12():
    gap = np.array([0.05, 0.1, 0.2, 0.25])
    s = nw.sharing_rate(gap, np.ones(4), 1.0, 0.8, 1.0, 0.3, rivalry=1.0, closeness_scale=0.2)
    np.testing.assert_allclose(s, [0.445, 0.529, 0.719, 0.8], atol=0.001)
    # The leader cuts sharing only below Δ = δ ln(κρ/(c+σ)): 0.24 for a competitor, 0.10 otherwise.
    for rho, edge in ((1.0, 0.2 * np.log(1 / 0.3)), (0.5, 0.2 * np.log(0.5 / 0.3))):
        below, above = nw.sharing_rate(np.array([edge - 0.01, edge + 0.01]), np.ones(2), 1.0, 0.8, 1.0, 0.3,
                                       rivalry=rho, closeness_scale=0.2)
        assert below < 0.8 and above == pytest.approx(0.8)


def test_premium_moves_revenue_between_firms_but_not_the_total():
    from model.phases.accounting import produce_and_account
    m = ChipModel("baseline", rng=3).run(6)
    w, sc = m.world, m.spec
    produce_and_account(w, sc, np.random.default_rng(0))
    with_premium = w.ledger.flows["revenue"].copy()
    w.segments.tech_premium[:] = 0.0
    produce_and_account(w, sc, np.random.default_rng(0))
    flat = w.ledger.flows["revenue"]
    assert with_premium.sum() == pytest.approx(flat.sum(), rel=1e-12)
    # A logic leader gains, a logic firm that started at the floor loses (memory firms all start at the floor:
    # no memory site is flagged leading-edge, so their levels differ only by what they learned).
    f_hi, f_lo = w.firms.ids.index("tsmc"), w.firms.ids.index("smic")
    assert with_premium[f_hi] > flat[f_hi] and with_premium[f_lo] < flat[f_lo]
