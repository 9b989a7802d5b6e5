"""The fast forms of the value rule (ODD 7.4) give numpy's own results bit for bit."""

from __future__ import annotations

import types

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model import decisions
from model.model import ChipModel
from model.phases import location
from model.phases import valuation as invest
from model.sites import LIVE

bounds = st.tuples(st.floats(0.0, 0.5), st.floats(1e-6, 0.5)).map(lambda t: (t[0], t[0] + t[1]))


def _rates(lo: float, hi: float, u: np.ndarray) -> np.ndarray:
    """Rates in [lo, hi], including both ends and some grid points exactly."""
    grid = np.linspace(lo, hi, 257)
    x = lo + u * (hi - lo)
    x = np.minimum(np.maximum(x, lo), hi)
    x.ravel()[:4] = [lo, hi, grid[1], grid[128]]
    return x


@settings(max_examples=60, deadline=None)
@given(bounds, arrays(float, (40, 6), elements=st.floats(0.0, 1.0)))
def test_bracket_is_the_binary_search(b, u):
    lo, hi = b
    x = _rates(lo, hi, u)
    grid = np.linspace(lo, hi, 257)
    want = np.clip(np.searchsorted(grid, x, side="right") - 1, 0, 255)
    assert np.array_equal(invest.bracket(x, grid), want)


@settings(max_examples=40, deadline=None)
@given(bounds, arrays(float, (30, 5), elements=st.floats(0.0, 1.0)), st.integers(0, 2**32 - 1))
def test_interpolated_tables_equal_np_interp_bit_for_bit(b, u, seed):
    lo, hi = b
    x = _rates(lo, hi, u)
    grid = np.linspace(lo, hi, 257)
    rng = np.random.default_rng(seed)
    rows = rng.integers(0, 3, len(x))
    tables = [np.cumsum(rng.random((3, 257)), axis=1)[:, ::-1].copy() for _ in range(2)]
    got = invest.interp_tables(x, grid, rows, tables)
    for t, g in zip(tables, got):
        want = np.empty_like(x)
        for k in range(3):
            want[rows == k] = np.interp(x[rows == k], grid, t[k])
        assert np.array_equal(g, want)


def test_discount_tables_in_one_call_equal_the_call_per_segment():
    seg = ChipModel("baseline", rng=0).world.segments
    rate = np.array([[0.05, 0.12], [0.3, 0.08]])
    si = np.arange(len(seg.ids))
    grid, tables, _ = invest._tables_and_slopes(rate, si, seg, 60, 20)
    for k in si:
        want = decisions.discount_factors(grid, int(seg.lag[k]), 60, int(seg.ramp[k]), 20)
        for t, w in zip(tables, want):
            assert np.array_equal(t[k], w)


def test_discount_by_segment_falls_back_to_np_interp_on_a_degenerate_grid():
    grid = np.array([0.1, 0.1, 0.2])
    tables = [np.array([[3.0, 2.0, 1.0]])]
    x = np.array([[0.15, 0.2]])
    got = invest._discount_by_segment(x, np.array([0]), grid, tables * 3, None)
    assert np.array_equal(got[0], np.interp(x, grid, tables[0][0]))


def test_reference_index_is_cached_per_inputs_and_returned_as_a_copy():
    m = ChipModel("baseline", rng=0)
    seg, sc = m.world.segments, m.spec
    first = invest.reference_index(sc, seg)
    first[:] = -1.0                                       # the caller's copy, not the cache
    assert np.array_equal(invest.reference_index(sc, seg), invest._reference_index(sc, seg))
    other = types.SimpleNamespace(params=sc.params.model_copy(update={"discount_rate": 0.2}))
    assert not np.array_equal(invest.reference_index(other, seg), invest.reference_index(sc, seg))


def test_market_at_completion_is_expected_market_with_and_without_zero_tightness():
    ep, eu, base = np.array([1100.0, 900.0, 1000.0]), np.array([0.8, 0.95, 0.7]), np.array([1000.0, 1000.0, 800.0])
    then = np.array([1.3, 0.4, 0.9])
    for now in (np.array([1.0, 0.5, 1.2]), np.array([1.0, 0.0, 1.2])):
        at = decisions.market_at_completion(ep, eu, now, 1.5, base, 0.5, 2.0)
        for got, want in zip(at(then), decisions.expected_market(ep, eu, now, then, 1.5, base, 0.5, 2.0)):
            assert np.array_equal(got, want)
    p_zero, u_zero = decisions.market_at_completion(ep, eu, np.array([1.0, 0.0, 1.2]), 1.5, base, 0.5, 2.0)(then)
    assert p_zero[1] == 900.0 and u_zero[1] == 0.95        # no tightness today: expectations unchanged


def test_discount_tables_are_reused_only_for_the_same_range():
    seg = ChipModel("baseline", rng=0).world.segments
    si = np.array([0, 2])
    rate = np.array([[0.05, 0.12], [0.3, 0.08]])
    g1, t1, s1 = invest._tables_and_slopes(rate, si, seg, 60, 20)
    g2, t2, _ = invest._tables_and_slopes(rate.copy(), si, seg, 60, 20)
    assert g2 is g1 and t2 is t1                            # the same inputs: kept
    g3, t3, _ = invest._tables_and_slopes(rate * 1.5, si, seg, 60, 20)
    assert g3[-1] == float((rate * 1.5).max()) and not np.array_equal(t3[0], t1[0])
    fresh = invest._compute_tables(float(rate.min()), float(rate.max()), np.unique(si), seg, 60, 20)
    g4, t4, s4 = invest._tables_and_slopes(rate, si, seg, 60, 20)
    assert np.array_equal(g4, fresh[0]) and all(np.array_equal(a, b) for a, b in zip(t4, fresh[1]))
    assert all(np.array_equal(a, b) for a, b in zip(s4, invest._slopes(*fresh)))


def test_project_values_by_host_country_equal_those_by_region(monkeypatch):
    m = ChipModel("baseline", rng=1, n_generated_firms=300)
    m.run(3)
    w, sc = m.world, m.spec
    assert location._risk_by_country(w) is not None          # the baseline prices risk by host country
    cap = w.sites.sum_by(("firm", "segment"), (w.firms.n, len(w.segments.ids)), status=LIVE)
    fi, si = np.nonzero(cap > 0)
    by_country = invest.project_values(w, sc, fi, si)
    monkeypatch.setattr("model.phases.valuation._risk_by_country", lambda w: None)
    by_region = invest.project_values(w, sc, fi, si)
    for k in ("a", "b", "c", "region"):
        assert np.array_equal(getattr(by_country, k), getattr(by_region, k))


def test_risk_by_country_is_none_when_regions_of_a_country_differ():
    m = ChipModel("baseline", rng=0)
    w = m.world
    c = np.bincount(w.geo.country).argmax()                # a country with several regions
    regions = np.flatnonzero(w.geo.country == c)
    assert len(regions) > 1
    w.risk.perceived[:, regions[1]] += 0.01
    assert location._risk_by_country(w) is None
