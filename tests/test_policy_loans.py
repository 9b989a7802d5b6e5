"""Policy loans as a government instrument (issue #10 item 5; ODD 7.1, 7.4, 7.5): Korea's KDB loans.

Pure rules (the loan a project gets, the discount-rate relief, the grant equivalent, the finance check), the
envelope's bookkeeping in a run (Hypothesis), bit-identity of an empty envelope, the direction of the effect
over seeds, events, and bad input.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from model import ChipModel, ScenarioError, decisions, load_scenario
from model.phases.valuation import best_loan, grant_equivalent, loan_offers, project_values

TINY = Path(__file__).parent / "data" / "tiny.toml"


# ------------------------------------------------------------------ pure rules
def test_policy_loan_is_share_of_capex_within_the_envelope_and_only_where_eligible():
    share = np.array([0.1, 0.5, 0.2])
    available = np.array([10.0, 0.3, 5.0])
    capex = np.array([[2.0], [4.0]])
    eligible = np.array([[True, True, False], [True, False, True]])
    loan = decisions.policy_loan(share, available, capex, eligible)
    np.testing.assert_allclose(loan, [[0.2, 0.3, 0.0], [0.4, 0.0, 0.8]])
    # A negative envelope (never expected) lends nothing rather than a negative loan.
    assert decisions.policy_loan(np.array([0.5]), np.array([-1.0]), 2.0)[0] == 0.0


def test_rate_relief_is_loan_share_times_cut_and_the_rate_never_falls_below_zero():
    loan = np.array([[0.5, 0.0, 2.0]])
    capex = np.array([[2.0]])
    cut = np.array([0.01, 0.05, 0.2])
    relief = decisions.loan_rate_relief(loan, capex, cut)
    np.testing.assert_allclose(relief, [[0.25 * 0.01, 0.0, 1.0 * 0.2]])
    rate = np.array([[0.08, 0.08, 0.08]])
    np.testing.assert_allclose(decisions.loan_discount_rate(rate, relief), [[0.08 - 0.0025, 0.08, 0.0]])
    # A zero capex (never expected) gives no relief instead of a division by zero.
    assert decisions.loan_rate_relief(np.array([1.0]), np.array([0.0]), np.array([0.1]))[0] == 0.0


def test_grant_equivalent_is_the_present_value_of_the_yearly_interest_saving():
    relief, d, years = 0.1 * 0.009, 0.08, 15.0
    pv = sum(relief / (1 + d) ** t for t in range(1, 16))
    assert decisions.loan_grant_equivalent(np.array(relief), d, years) == pytest.approx(pv, rel=1e-12)
    assert decisions.loan_grant_equivalent(np.array(relief), 0.0, years) == pytest.approx(relief * 15)


def test_lower_discount_rate_from_a_loan_raises_the_profitability_index():
    """The WACC effect: a project with positive margins is worth more at the relieved rate (ODD 7.4)."""
    rate = np.array([0.10])
    relieved = decisions.loan_discount_rate(rate, decisions.loan_rate_relief(np.array([1.0]), 2.0, np.array([0.02])))
    pis = []
    for r in (rate, relieved):
        f_out, f_life, f_dep = decisions.discount_factors(r, 8, 60, 4, 20)
        pis.append(decisions.profitability_index(np.array([0.1]), f_out, f_life, f_dep, np.array([2.0]), 0.0,
                                                 0.03, np.array([0.2]), 20)[0])
    assert pis[1] > pis[0]


def test_a_loan_relaxes_the_cash_check_and_a_full_loan_the_leverage_check():
    cash, debt, rev, capex = np.array([0.5, 0.5, 0.0]), np.array([0.0, 9.0, 9.0]), np.array([1.0, 1.0, 1.0]), 4.0
    eq, lev = 0.3, 3.0
    # Without a loan the equity part is 1.2: every firm fails (no cash; the 2nd and 3rd are over leverage).
    assert not decisions.can_finance(cash, debt, rev, capex, eq, lev).any()
    # A loan of half the capex halves the equity part (0.6 > 0.5 still fails); of 0.4 × capex it is 0.72.
    assert not decisions.can_finance(cash, debt, rev, capex, eq, lev, loan=2.0).any()
    ok = decisions.can_finance(cash, debt, rev, capex, eq, lev, loan=np.array([2.5, 2.5, 2.5]))
    assert ok.tolist() == [True, False, False]          # cash now suffices; leverage still binds the others
    # A loan of the whole capex needs neither cash nor leverage room.
    assert decisions.can_finance(cash, debt, rev, capex, eq, lev, loan=4.0).all()


@given(cash=st.floats(0, 50), debt=st.floats(0, 50), rev=st.floats(0, 20), capex=st.floats(0.01, 20),
       eq=st.floats(0, 1), lev=st.floats(0, 10))
def test_no_loan_is_the_old_finance_check(cash, debt, rev, capex, eq, lev):
    a = decisions.can_finance(np.array([cash]), np.array([debt]), np.array([rev]), np.array([capex]), eq, lev)
    old = (cash >= eq * capex) & (debt <= lev * rev if rev > 0 else debt <= 0)
    assert bool(a[0]) == bool(old)
    b = decisions.can_finance(np.array([cash]), np.array([debt]), np.array([rev]), np.array([capex]), eq, lev,
                              loan=0.0)
    assert bool(b[0]) == bool(old)


# ------------------------------------------------------------------ in a world
def _tiny_with_loans(**kw):
    ov = {"governments__KR__loan_budget": 5.0, "governments__KR__loan_share": 0.3,
          "governments__KR__loan_rate_cut": 0.02}
    ov.update(kw)
    return ChipModel(TINY, rng=3, **ov)


def test_offers_go_to_home_firms_in_the_lending_country_only_unless_opened():
    m = _tiny_with_loans()
    w = m.world
    kr = w.geo.countries.index("KR")
    firms = np.arange(w.firms.n)
    capex = np.full((w.firms.n, 1), 2.0)
    loan = loan_offers(w, firms, capex)
    home_kr = w.firms.home == kr
    np.testing.assert_allclose(loan[:, kr], np.where(home_kr, 0.6, 0.0))
    assert (np.delete(loan, kr, axis=1) == 0).all()
    opened = _tiny_with_loans(governments__KR__loan_home_only=False).world
    np.testing.assert_allclose(loan_offers(opened, firms, capex)[:, kr], 0.6)
    # The finance check counts the best loan anywhere: the KR firm's, for each segment's project size.
    seg = w.segments
    best = best_loan(w, seg.project_size * seg.capex_per_capacity)
    np.testing.assert_allclose(best[home_kr], np.minimum(0.3 * seg.project_size * seg.capex_per_capacity, 5.0)
                               [None, :].repeat(home_kr.sum(), axis=0))
    assert (best[~home_kr] == 0).all()
    # No lending government: nothing to offer.
    none = ChipModel(TINY, rng=3).world
    assert loan_offers(none, firms, capex) is None and grant_equivalent(none, m.spec, firms, capex) is None


def test_a_loan_raises_the_value_of_home_projects_in_the_lending_country_only():
    with_loans = _tiny_with_loans().world
    without = _tiny_with_loans(governments__KR__loan_budget=0.0).world
    fi = np.arange(with_loans.firms.n).repeat(2)
    si = np.tile([2, 3], with_loans.firms.n)                           # logic and memory
    sc = load_scenario(TINY)
    a = project_values(with_loans, sc, fi, si, full=True).index
    b = project_values(without, sc, fi, si, full=True).index
    kr = with_loans.geo.countries.index("KR")
    in_kr = with_loans.geo.country == kr
    home_kr = (with_loans.firms.home[fi] == kr)[:, None]
    finite = np.isfinite(a)
    assert (a[finite & home_kr & in_kr[None, :]] > b[finite & home_kr & in_kr[None, :]]).all()
    np.testing.assert_array_equal(a[~(home_kr & in_kr[None, :])], b[~(home_kr & in_kr[None, :])])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), budget=st.floats(0.0, 20.0), share=st.floats(0.0, 1.0),
       cut=st.floats(0.0, 0.2), home_only=st.booleans(), jp_budget=st.floats(0.0, 5.0),
       added=st.floats(0.0, 5.0))
def test_envelope_is_never_negative_and_falls_by_exactly_what_was_lent(seed, budget, share, cut, home_only,
                                                                      jp_budget, added):
    events = [{"type": "policy_change", "country": "KR", "start": "2025Q3", "settings": {"loan_budget": added}}]
    m = ChipModel(TINY, rng=seed, governments__KR__loan_budget=budget, governments__KR__loan_share=share,
                  governments__KR__loan_rate_cut=cut, governments__KR__loan_home_only=home_only,
                  governments__JP__loan_budget=jp_budget, governments__JP__loan_share=0.2,
                  governments__JP__loan_rate_cut=0.01, events=events)
    pol = m.world.policy
    for _ in range(10):
        m.step()
        for g in pol.governments:
            assert g.loan_budget >= 0.0
            assert g.loan_budget + g.lent_total == pytest.approx(g.rules.loan_budget + g.loan_appropriated, abs=1e-9)
            assert pol.loan_amount[pol.loan_country == g.cidx].sum() == pytest.approx(g.lent_total, abs=1e-9)
    kr = pol.governments[m.geo.countries.index("KR")]
    assert kr.loan_appropriated == pytest.approx(added)
    mt = m.tables()["metrics"]
    assert mt["policy_loans_lent"].sum() == pytest.approx(pol.loan_amount.sum(), abs=1e-9)
    assert (mt["policy_loan_budget"] >= -1e-12).all()
    # Every loan went to a project started that quarter in the lender's country, at most share × capex.
    inv = m.tables()["investments"]
    inv = inv[~inv["deferred"]]
    countries = np.array(m.geo.countries)
    for f, c, amount, start in zip(pol.loan_firm, pol.loan_country, pol.loan_amount, pol.loan_start):
        rows = inv[(inv["firm"] == m.world.firms.ids[f]) & (inv["country"] == countries[c]) & (inv["step"] == start)]
        assert len(rows) >= 1
        g = pol.governments[c]
        assert amount <= g.rules.loan_share * rows["capex"].max() + 1e-9
        if g.loan_home_only:
            assert m.world.firms.home[f] == c
    # Money is still conserved: the interest saving is a booked flow.
    f = m.tables()["firms"].sort_values(["firm", "step"])
    worth = (f["cash"] - f["debt"]).to_numpy()
    flow = (f["revenue"] - f["opex"] - f["capex"] + f["subsidy"] + f["tax_credit"] + f["fund"]
            - f["interest"] - f["maintenance"] - f["tax"] - f["payout"] - f["inputs"] - f["input_tariff"]).to_numpy()
    same = f["firm"].to_numpy()[1:] == f["firm"].to_numpy()[:-1]
    np.testing.assert_allclose(np.diff(worth)[same], flow[1:][same], atol=1e-9)


def test_interest_saving_is_principal_times_cut_while_the_loan_is_in_force():
    m = _tiny_with_loans(governments__KR__loan_budget=50.0)
    pol = m.world.policy
    for _ in range(6):
        m.step()
    assert len(pol.loan_amount) > 0, "the test needs a loan"
    from model.phases.accounting import loan_interest_saving
    saving = loan_interest_saving(m.world)
    live = pol.loans_in_force(m.world.clock.step)
    expected = np.bincount(pol.loan_firm[live], weights=pol.loan_amount[live] * pol.loan_cut[live] / 4,
                           minlength=m.world.firms.n)
    np.testing.assert_allclose(saving, expected)
    led = m.world.ledger
    np.testing.assert_allclose(led.flows["interest"], led_debt_before_interest(m) - expected, atol=0)
    assert (pol.loan_end - pol.loan_start == 4 * m.spec.params.project_life).all()


def led_debt_before_interest(m: ChipModel) -> np.ndarray:
    """Interest on the debt the accounting of the last step started from (the firms table's previous row)."""
    f = m.tables()["firms"]
    prev = f[f["step"] == m.world.clock.step - 1].set_index("firm")["debt"]
    return prev.reindex(m.world.firms.ids).to_numpy() * m.spec.params.interest_rate / 4.0


def test_an_empty_envelope_is_bit_identical_whatever_the_other_loan_settings():
    def tables(**kw):
        m = ChipModel("baseline", rng=5, meta__horizon=8, **kw)
        m.run()
        return m.tables()

    off = tables(governments__KR__loan_budget=0.0)
    same = tables(governments__KR__loan_budget=0.0, governments__KR__loan_share=0.9,
                  governments__KR__loan_rate_cut=0.1, governments__KR__loan_home_only=False)
    no_share = tables(governments__KR__loan_share=0.0)
    for name in ("metrics", "firms", "sites", "investments"):
        pd.testing.assert_frame_equal(off[name], same[name], check_exact=True)
        keep = [c for c in off[name].columns if c != "policy_loan_budget"]     # the unused envelope is reported
        pd.testing.assert_frame_equal(off[name][keep], no_share[name][keep], check_exact=True)
    assert (off["metrics"]["policy_loans_outstanding"] == 0).all()
    on = tables()
    assert on["metrics"]["policy_loans_lent"].sum() > 0
    assert not on["metrics"]["investment_capex"].equals(off["metrics"]["investment_capex"])


def test_large_korean_loans_raise_korean_firms_investment_in_korea_over_seeds():
    """8 seeds × 24 quarters, paired on seed: a large envelope (USD 100 bn, half of capex, 3 points below) raises
    the capex of KR-home firms' fab projects in Korea.  The baseline's KDB setting (10% of capex, 0.9 points) is
    too small to be told from seed noise (notes of issue #10 item 5), so the direction is tested on a large one."""
    from model.scenario import FAB_SEGMENTS

    strong = {"governments__KR__loan_budget": 100.0, "governments__KR__loan_share": 0.5,
              "governments__KR__loan_rate_cut": 0.03}

    def kr_capex(seed, ov):
        m = ChipModel("baseline", rng=seed, meta__horizon=24, **ov)
        m.run()
        inv = m.tables()["investments"]
        inv = inv[~inv["deferred"] & inv["segment"].isin(FAB_SEGMENTS)]
        return float(inv[(inv["home"] == "KR") & (inv["country"] == "KR")]["capex"].sum())

    diff = np.array([kr_capex(s, strong) - kr_capex(s, {"governments__KR__loan_budget": 0.0}) for s in range(8)])
    half = 2.365 * diff.std(ddof=1) / np.sqrt(len(diff))          # t(0.975, 7)
    assert diff.mean() - half > 0, (diff.mean(), half)


def test_policy_change_event_adds_to_the_envelope_and_sets_the_terms():
    events = [{"type": "policy_change", "country": "KR", "start": "2025Q2", "end": "2025Q4",
               "settings": {"loan_budget": 3.0, "loan_share": 0.4, "loan_rate_cut": 0.01}}]
    m = ChipModel(TINY, rng=1, events=events)
    kr = m.world.policy.governments[m.geo.countries.index("KR")]
    m.step()
    m.step()                       # the event (2025Q2–2025Q4) is in force now
    assert kr.loan_share == 0.4 and kr.loan_rate_cut == 0.01
    assert kr.loan_budget + kr.lent_total == pytest.approx(3.0)
    for _ in range(3):
        m.step()
    assert kr.loan_share == 0.0 and kr.loan_rate_cut == 0.0          # the terms end with the event
    assert kr.loan_budget + kr.lent_total == pytest.approx(3.0)      # the money stays


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize("field,value,needle", [
    ("loan_share", -0.1, "loan_share"), ("loan_share", 1.5, "loan_share"),
    ("loan_budget", -1.0, "loan_budget"), ("loan_rate_cut", 0.5, "loan_rate_cut"),
    ("loan_home_only", "sometimes", "loan_home_only"),
])
def test_bad_loan_setting_is_a_one_line_error_naming_the_field(field, value, needle):
    with pytest.raises(ScenarioError) as info:
        load_scenario(TINY, **{f"governments.KR.{field}": value})
    msg = str(info.value)
    assert "\n" not in msg and needle in msg and "KR" in msg, msg


def test_bad_loan_event_setting_is_rejected():
    for settings_, needle in (({"loan_rate_cut": 0.5}, "loan_rate_cut"), ({"loan_budget": -1.0}, "loan_budget")):
        with pytest.raises(ScenarioError, match=needle):
            load_scenario(TINY, events=[{"type": "policy_change", "country": "KR", "start": "2025Q2",
                                         "settings": settings_}])
