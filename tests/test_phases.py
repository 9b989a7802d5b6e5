"""The phases keep to their declarations: a phase writes only the sub-states it declares.

Every sub-state a phase does not declare as written is frozen (numpy arrays
read-only, attributes unassignable) while the phase runs, over quarters that
exercise every mechanism: events of every kind, the fund, visibility,
talent circulation, random shocks.
"""

import numpy as np
import pytest

from model import ChipModel
from model.phases import SCHEDULE, Phase, phase
from model.world import SUBSTATES

BUSY = {
    "cocreation.investment_protection.enabled": True, "cocreation.export_control.enabled": True,
    "cocreation.talent.enabled": True, "cocreation.standards.enabled": True, "cocreation.fund.enabled": True,
    "random_events.enabled": True, "resilience.visibility_share": 0.5,
    "governments.US.strategic_target": 0.2, "governments.US.condition_drift": 0.05,
}


def _run_frozen(m: ChipModel, quarters: int, phases: tuple[Phase, ...] = SCHEDULE) -> None:
    """Step ``m`` like ChipModel.step, freezing every undeclared sub-state around each phase."""
    w = m.world
    for _ in range(quarters):
        m.steps += 1
        w.clock.step = m.steps
        for ph in phases:
            frozen = [getattr(w, name) for name in SUBSTATES if name not in ph.writes]
            for part in frozen:
                part.freeze()
            try:
                ph(w, m.spec, m.rng)
            finally:
                for part in frozen:
                    part.freeze(False)
        m.collect()


@pytest.mark.parametrize("scenario", ["taiwan_contingency", "us_localisation", "decoupling"])
def test_every_phase_writes_only_what_it_declares(scenario):
    m = ChipModel(scenario, rng=3, **BUSY)
    _run_frozen(m, 14)
    assert m.world.clock.step == 14


def test_freezing_changes_no_result():
    a = ChipModel("taiwan_contingency", rng=5, **BUSY)
    _run_frozen(a, 12)
    b = ChipModel("taiwan_contingency", rng=5, **BUSY).run(12)
    ta, tb = a.tables(), b.tables()
    for name in ("metrics", "firms", "sites"):
        assert ta[name].drop(columns=["quarter"]).equals(tb[name].drop(columns=["quarter"])), name


def test_a_hidden_write_fails():
    @phase("sneaky", "3.8", reads=("ledger",), writes=("counters",))
    def sneaky(w, sc, rng):
        w.ledger.cash[0] += 1.0

    @phase("sneaky2", "3.8", reads=("markets",), writes=("counters",))
    def sneaky2(w, sc, rng):
        w.markets.price = w.markets.price * 2

    m = ChipModel("baseline", rng=1)
    with pytest.raises(ValueError, match="read-only"):
        _run_frozen(m, 1, (sneaky,))
    with pytest.raises(AttributeError, match="read-only"):
        _run_frozen(m, 1, (sneaky2,))
    # ... and the state is writable again afterwards.
    m.world.ledger.cash[0] += 1.0


def test_declarations_name_real_substates_and_follow_odd_order():
    assert [ph.odd for ph in SCHEDULE] == [f"3.{k}" for k in range(1, 9)]
    for ph in SCHEDULE:
        assert set(ph.reads) <= set(SUBSTATES) and set(ph.writes) <= set(SUBSTATES), ph.name
        assert not set(ph.reads) & set(ph.writes), ph.name
        assert "Writes:" in ph.fn.__doc__


def test_step_calls_the_schedule_in_order(monkeypatch):
    calls = []
    m = ChipModel("baseline", rng=1)
    import model.model as mm
    originals = {name: getattr(mm, name).PHASE for name in
                 ("events", "policy", "markets", "invest", "construction", "supply", "learning", "accounting")}
    for name, ph in originals.items():
        monkeypatch.setattr(getattr(mm, name), "PHASE", (lambda n: lambda w, sc, rng: calls.append(n))(ph.name))
    m.step()
    assert calls == [ph.name for ph in SCHEDULE]


def test_capacity_query_matches_a_plain_group_by():
    m = ChipModel("baseline", rng=2).run(6)
    s = m.sites
    n_f = m.world.firms.n
    got = s.sum_by(("firm", "segment"), (n_f, 7))
    want = np.zeros((n_f, 7))
    op = s.col("status") == 1
    np.add.at(want, (s.col("firm")[op], s.col("segment")[op]), s.col("capacity")[op])
    assert np.array_equal(got, want)
    country = m.geo.country[s.col("region")]
    by_c = s.sum_by((country,), (len(m.geo.countries),), status=-1)
    assert by_c.sum() == pytest.approx(s.col("capacity")[s.col("status") != 2].sum())
