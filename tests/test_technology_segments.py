"""Technology per firm and segment (issue #10 item 3; docs/ODD.md §5.5, §7.3, §7.9, §7.12-7.15, §7.21).

Initial levels come from a firm's sites in each segment; a partnership moves the follower's level only in the
segment it has the link in; the leading-edge threshold, yield, premium and supplier choice read the level of the
segment concerned; a firm's one-number technology (metrics, agents, the firms table) is its capacity-weighted level.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from model import ChipModel, ScenarioError
from model.phases.construction import _complete
from model.phases.invest import transfer_technology
from model.phases.learning import advance_projects, partnership_spillovers
from model.queries import firm_technology, project_leading_edge, site_unit_cost
from model.scenario import FAB_SEGMENTS, SEGMENTS
from model.sites import BUILDING, LIVE, OPERATING

LOGIC, MEMORY, PACKAGING, MATERIALS = (SEGMENTS.index(s) for s in ("logic", "memory", "packaging", "materials"))


@pytest.fixture(scope="module")
def baseline():
    return ChipModel("baseline", rng=1)


def _operating(w):
    return w.sites.sum_by(("firm", "segment"), (w.firms.n, len(SEGMENTS)), status=OPERATING)


# ------------------------------------------------------------------ initial levels
def test_levels_are_per_firm_and_segment(baseline):
    w = baseline.world
    assert w.chain.tech.shape == (w.firms.n, len(SEGMENTS))
    assert ((w.chain.tech >= 0) & (w.chain.tech <= 1)).all()


def test_initial_levels_follow_the_firms_sites_in_each_segment(baseline):
    """Samsung's logic level is its leading-edge share of logic capacity, its memory level the floor (no memory
    site is flagged leading-edge), its packaging level its size there relative to the largest packaging firm."""
    w, sc = baseline.world, baseline.spec
    floor = sc.knowledge.technology_floor
    f = w.firms.ids.index("samsung")
    sites = sc.firms["samsung"].sites
    op = [s for s in sites if s.status.value == "operating"]
    logic = sum(s.capacity for s in op if s.segment == "logic")
    logic_lead = sum(s.capacity for s in op if s.segment == "logic" and s.leading_edge)
    assert logic > 0 and 0 < logic_lead < logic
    t = w.chain.tech[f]
    assert t[LOGIC] == pytest.approx(floor + (1 - floor) * logic_lead / logic)
    assert t[MEMORY] == pytest.approx(floor)
    assert t[LOGIC] > t[MEMORY] + 0.2
    cap = _operating(w)
    assert t[PACKAGING] == pytest.approx(floor + (1 - floor) * np.sqrt(cap[f, PACKAGING] / cap[:, PACKAGING].max()))


def test_a_firm_in_one_segment_keeps_the_level_it_had_as_one_number(baseline):
    """The per-firm rule of kyoso before segment levels (fab firms: leading-edge share of fab capacity; others:
    sqrt of relative size in the best segment) gives the same level for every firm operating in one segment;
    every segment without operating capacity is at the floor."""
    w, sc = baseline.world, baseline.spec
    floor = sc.knowledge.technology_floor
    cap = _operating(w)
    s = w.sites
    lead = s.sum_by(("firm",), (w.firms.n,), weight=(s.select(OPERATING) & s.col("leading_edge")).astype(float))
    fab = np.array([x in FAB_SEGMENTS for x in SEGMENTS])
    fab_cap = cap[:, fab].sum(axis=1)
    rel = (cap / np.where(cap.max(axis=0) > 0, cap.max(axis=0), 1)).max(axis=1)
    old = np.where(fab_cap > 0, floor + (1 - floor) * lead / np.where(fab_cap > 0, fab_cap, 1),
                   floor + (1 - floor) * np.sqrt(rel))
    one = (cap > 0).sum(axis=1) == 1
    given = np.array([f in sc.firms and sc.firms[f].technology is not None for f in w.firms.ids])
    assert one.sum() > 40
    seg = cap.argmax(axis=1)
    np.testing.assert_array_equal(w.chain.tech[one & ~given, seg[one & ~given]], old[one & ~given])
    np.testing.assert_array_equal(w.chain.tech[(cap <= 0) & ~given[:, None]], floor)
    # Its one-number technology is that level, exactly.
    np.testing.assert_array_equal(firm_technology(w)[one], w.chain.tech[one, seg[one]])


def test_given_technology_applies_to_all_segments_and_the_override_to_those_it_names():
    m = ChipModel("baseline", rng=1, **{"firms.samsung.technology": 0.7,
                                         "firms.samsung.technology_by_segment": {"memory": 0.95}})
    w = m.world
    t = w.chain.tech[w.firms.ids.index("samsung")]
    assert t[MEMORY] == 0.95
    np.testing.assert_array_equal(np.delete(t, MEMORY), 0.7)
    alone = ChipModel("baseline", rng=1, **{"firms.sk_hynix.technology_by_segment": {"memory": 0.9}}).world
    t = alone.chain.tech[alone.firms.ids.index("sk_hynix")]
    assert t[MEMORY] == 0.9 and t[PACKAGING] < 0.9              # the other segments stay derived


@pytest.mark.parametrize("value, expected", [
    ({"logics": 0.9}, r"firms\.samsung\.technology_by_segment.*unknown segment 'logics' \(expected one of materials"),
    ({"logic": 1.5}, r"firms\.samsung\.technology_by_segment\.logic = 1\.5.*less than or equal to 1"),
    ({"logic": -0.1}, r"firms\.samsung\.technology_by_segment\.logic = -0\.1.*greater than or equal to 0"),
])
def test_a_bad_segment_override_is_a_one_line_error(value, expected):
    with pytest.raises(ScenarioError, match=expected) as err:
        ChipModel("baseline", **{"firms.samsung.technology_by_segment": value})
    assert "\n" not in str(err.value).strip()


# ------------------------------------------------------------------ readers use the segment's level
def test_the_leading_edge_threshold_reads_the_level_of_the_sites_segment():
    m = ChipModel("baseline", rng=1, **{"firms.samsung.technology_by_segment": {"logic": 0.9, "memory": 0.6}})
    w = m.world
    f = w.firms.ids.index("samsung")
    assert project_leading_edge(w, f, LOGIC) and not project_leading_edge(w, f, MEMORY)
    region = int(w.sites.col("region")[w.firms.sites[f][0]])
    new = [w.firms.add_site(w.sites, f, region, seg, 10.0, BUILDING, start_step=0, online_step=0)
           for seg in (LOGIC, MEMORY)]
    _complete(w, np.array(new))
    assert w.sites.col("leading_edge")[new].tolist() == [True, False]
    w.chain.tech[f, MEMORY] = 0.85                              # now memory reaches 0.8 too
    again = w.firms.add_site(w.sites, f, region, MEMORY, 10.0, BUILDING, start_step=0, online_step=0)
    _complete(w, np.array([again]))
    assert bool(w.sites.col("leading_edge")[again])


def test_unit_cost_reads_the_level_of_the_sites_segment():
    m = ChipModel("baseline", rng=1)
    w, sc = m.world, m.spec
    f = w.firms.ids.index("samsung")
    before = site_unit_cost(w, sc)
    w.chain.tech[f, MEMORY] = 1.0
    after = site_unit_cost(w, sc)
    seg, firm = w.sites.col("segment"), w.sites.col("firm")
    mem = (firm == f) & (seg == MEMORY)
    assert mem.any() and (after[mem] < before[mem]).all()
    np.testing.assert_array_equal(after[~mem], before[~mem])   # its logic and packaging sites are unchanged


def test_supplier_choice_reads_the_level_in_the_input_it_supplies():
    """A materials supplier's level in a segment where it makes nothing does not change whom buyers choose at
    step 0 (same seed); a higher level in materials wins it more customers (seeds 0-2)."""
    firm = "sk_siltron"

    def links(m):
        book = m.world.chain.partners
        act = book.active
        return sorted(zip(book.col("buyer")[act].tolist(), book.col("input")[act].tolist(),
                          book.col("supplier")[act].tolist()))

    def served(m):
        book = m.world.chain.partners
        return int((book.active & (book.col("supplier") == m.world.firms.ids.index(firm))).sum())

    ref = [ChipModel("baseline", rng=seed) for seed in range(3)]
    w = ref[0].world
    f = w.firms.ids.index(firm)
    cap = _operating(w)[f]
    assert cap[MATERIALS] > 0 and (cap > 0).sum() == 1 and w.chain.tech[f, MATERIALS] < 0.8
    for seed, r in enumerate(ref):
        elsewhere = ChipModel("baseline", rng=seed, **{f"firms.{firm}.technology_by_segment": {"logic": 1.0}})
        assert links(elsewhere) == links(r)
    better = [ChipModel("baseline", rng=seed, **{f"firms.{firm}.technology_by_segment": {"materials": 1.0}})
              for seed in range(3)]
    assert all(served(b) >= served(r) for b, r in zip(better, ref))
    assert sum(served(b) for b in better) > sum(served(r) for r in ref)


def test_a_transfer_condition_moves_the_local_firms_level_in_the_projects_segment_only():
    m = ChipModel("baseline", rng=1)
    w, sc = m.world, m.spec
    us = w.geo.countries.index("US")
    f = w.firms.ids.index("tsmc")
    before = w.chain.tech.copy()
    transfer_technology(w, sc, f, LOGIC, us, 0.1)
    moved = w.chain.tech != before
    assert moved[:, LOGIC].any() and not np.delete(moved, LOGIC, axis=1).any()
    local = np.flatnonzero(moved[:, LOGIC])
    assert (w.firms.home[local] == us).all()
    np.testing.assert_allclose(w.chain.tech[local, LOGIC],
                               before[local, LOGIC] + 0.2 * (before[f, LOGIC] - before[local, LOGIC]))


# ------------------------------------------------------------------ learning
def _follower_cells(w, tech):
    """(firm, segment) cells of the followers of this quarter's working partnerships."""
    book = w.chain.partners
    act = np.flatnonzero(book.active & (book.col("delivered") > 0))
    b, s, d, u = book.buyer[act], book.supplier[act], book.buyer_segment[act], book.input[act]
    up = tech[s, u] > tech[b, d]
    mask = np.zeros(tech.shape, dtype=bool)
    mask[np.where(up, b, s), np.where(up, d, u)] = True
    return mask


def test_a_partnership_moves_only_the_followers_level_in_the_segment_of_the_link():
    m = ChipModel("baseline", rng=2).run(2)
    w, sc = m.world, m.spec
    sc.knowledge.own_progress = 0.0
    before = w.chain.tech.copy()
    cells = _follower_cells(w, before)
    partnership_spillovers(w, sc)
    delta = w.chain.tech - before
    assert (delta[cells] > 0).any()
    np.testing.assert_array_equal(delta[~cells], 0.0)
    # Samsung buys for logic and memory: each level moves only along its own links.
    f = w.firms.ids.index("samsung")
    assert cells[f, LOGIC] or cells[f, MEMORY]
    assert not cells[f, MATERIALS] and delta[f, MATERIALS] == 0.0


def test_own_progress_raises_every_segment():
    m = ChipModel("baseline", rng=2).run(1)
    w, sc = m.world, m.spec
    w.chain.partners.delivered[: w.chain.partners.n] = 0.0     # no working links: only own R&D
    before = w.chain.tech.copy()
    partnership_spillovers(w, sc)
    np.testing.assert_allclose(w.chain.tech, np.minimum(before + sc.knowledge.own_progress, 1.0))


def test_a_joint_project_moves_the_two_firms_levels_in_its_segments_only():
    m = ChipModel("jk_cocreation", rng=1).run(8)
    w, sc = m.world, m.spec
    active = [p for p in w.chain.fund.projects if p["status"] == "active"]
    assert active
    cap = _operating(w)
    for p in active:                                           # each firm's largest segment (at its start)
        assert cap[p["leader"], p["leader_segment"]] > 0 and cap[p["follower"], p["follower_segment"]] > 0
    before = w.chain.tech.copy()
    advance_projects(w, sc)
    allowed = np.zeros(before.shape, dtype=bool)
    for p in active:
        allowed[p["leader"], p["leader_segment"]] = allowed[p["follower"], p["follower_segment"]] = True
    delta = w.chain.tech - before
    assert (delta[allowed] > 0).any()
    np.testing.assert_array_equal(delta[~allowed], 0.0)


@pytest.fixture(scope="module")
def stepped():
    return ChipModel("jk_cocreation", rng=3).run(4)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_learning_keeps_levels_between_the_floor_and_one(stepped, data):
    """From any levels in [floor, 1], a quarter's spillovers and own R&D never lower a level or lift it above 1."""
    w, sc = stepped.world, stepped.spec
    floor = sc.knowledge.technology_floor
    tech = data.draw(arrays(float, w.chain.tech.shape, elements=st.floats(floor, 1.0)))
    saved = w.chain.tech.copy()
    try:
        w.chain.tech[...] = tech
        partnership_spillovers(w, sc)
        after = w.chain.tech.copy()
    finally:
        w.chain.tech[...] = saved
    assert (after >= tech).all() and (after >= floor).all() and (after <= 1.0).all()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_a_firms_one_number_lies_between_its_segment_levels(baseline, data):
    w = baseline.world
    tech = data.draw(arrays(float, w.chain.tech.shape, elements=st.floats(0.0, 1.0)))
    saved = w.chain.tech.copy()
    try:
        w.chain.tech[...] = tech
        one = firm_technology(w)
    finally:
        w.chain.tech[...] = saved
    live = w.sites.sum_by(("firm", "segment"), tech.shape, status=LIVE) > 0
    lo = np.where(live, tech, np.inf).min(axis=1)
    hi = np.where(live, tech, -np.inf).max(axis=1)
    has = live.any(axis=1)
    assert (one[has] >= lo[has] - 1e-12).all() and (one[has] <= hi[has] + 1e-12).all()
    np.testing.assert_array_equal(one[~has], tech[~has].max(axis=1))


def test_a_run_keeps_levels_between_the_floor_and_one():
    m = ChipModel("jk_cocreation", rng=5).run(16)
    t = m.world.chain.tech
    assert (t >= m.spec.knowledge.technology_floor).all() and (t <= 1.0).all()


# ------------------------------------------------------------------ outputs
def test_metrics_agents_and_the_firms_table_report_capacity_weighted_levels():
    m = ChipModel("jk_cocreation", rng=2).run(3)
    w = m.world
    tables = m.tables()
    met, firms = tables["metrics"], tables["firms"]
    one = firm_technology(w)
    jp = w.firms.home == w.geo.countries.index("JP")
    assert met["technology_JP"].iloc[-1] == pytest.approx(one[jp].mean())
    assert met["technology_mean"].iloc[-1] == pytest.approx(one.mean())
    last = firms[firms["step"] == firms["step"].max()].set_index("firm")
    f = w.firms.ids.index("samsung")
    row = last.loc["samsung"]
    assert row["technology"] == pytest.approx(one[f])
    agent = next(a for a in m.agents if getattr(a, "firm_id", None) == "samsung")
    assert agent.technology == pytest.approx(one[f])
    assert agent.technology_by_segment["memory"] == w.chain.tech[f, MEMORY]
    assert row["technology_logic"] == w.chain.tech[f, LOGIC] and row["technology_memory"] == w.chain.tech[f, MEMORY]
    assert np.isnan(row["technology_materials"])                # no live capacity there
    cap = w.sites.sum_by(("firm", "segment"), w.chain.tech.shape, status=LIVE)[f]
    assert row["technology"] == pytest.approx((cap * w.chain.tech[f]).sum() / cap.sum())


def test_knowledge_gap_jk_is_the_gap_the_sharing_rule_sees():
    m = ChipModel("jk_cocreation", rng=2).run(3)
    w = m.world
    book, tech = w.chain.partners, w.chain.tech
    jp, kr = w.geo.countries.index("JP"), w.geo.countries.index("KR")
    act = np.flatnonzero(book.active)
    hb, hs = w.firms.home[book.buyer[act]], w.firms.home[book.supplier[act]]
    jk = act[((hb == jp) & (hs == kr)) | ((hb == kr) & (hs == jp))]
    gaps = list(np.abs(tech[book.buyer[jk], book.buyer_segment[jk]] - tech[book.supplier[jk], book.input[jk]]))
    for p in w.chain.fund.projects:
        if p["status"] == "active" and p["sharing"] and \
                {w.firms.home[p["leader"]], w.firms.home[p["follower"]]} == {jp, kr}:
            gaps.append(abs(tech[p["leader"], p["leader_segment"]] - tech[p["follower"], p["follower_segment"]]))
    assert len(gaps) > 0
    assert m.tables()["metrics"]["knowledge_gap_jk"].iloc[-1] == pytest.approx(np.mean(gaps))


def test_step_zero_numbers_quoted_in_odd_5_5():
    """The baseline's step-0 levels quoted in docs/ODD.md §5.5 (the build draws nothing for technology; the
    step-0 partnerships are those of seed 0)."""
    w = ChipModel("baseline", rng=0).world
    one = firm_technology(w)
    cap = _operating(w)
    fab = cap[:, [SEGMENTS.index(s) for s in FAB_SEGMENTS]].sum(axis=1) > 0
    home = w.firms.home
    got = [one.mean(), one[fab].mean(), one[~fab].mean(), one[home == w.geo.countries.index("JP")].mean(),
           one[home == w.geo.countries.index("KR")].mean()]
    np.testing.assert_allclose(got, [0.658, 0.537, 0.771, 0.690, 0.658], atol=5e-4)
    assert (fab.sum(), ((cap > 0).sum(axis=1) > 1).sum()) == (38, 11)
    t = {f: w.chain.tech[w.firms.ids.index(f)] for f in ("tsmc", "intel", "samsung", "sk_hynix")}
    np.testing.assert_allclose([t["tsmc"][LOGIC], t["tsmc"][PACKAGING], t["intel"][PACKAGING], t["samsung"][LOGIC],
                                t["samsung"][PACKAGING], t["sk_hynix"][PACKAGING]],
                               [0.953, 0.700, 0.804, 0.812, 0.808, 0.774], atol=5e-4)
    book = w.chain.partners
    act = np.flatnonzero(book.active)
    lead = w.chain.tech[book.supplier[act], book.input[act]] > w.chain.tech[book.buyer[act], book.buyer_segment[act]]
    assert len(act) == 227 and round(100 * lead.mean()) == 93
