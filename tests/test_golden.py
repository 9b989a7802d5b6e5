"""Seeded regression values for the baseline.

These change only when the model or its data change on purpose; update them
in the same commit and say why in its message.
"""

import pytest

from model import ChipModel


def test_baseline_golden_values():
    m = ChipModel("baseline", rng=2024).run(16)
    t = m.tables()
    last = t["metrics"].iloc[-1]
    assert len(t["investments"]) == 398
    assert last["capacity_fab"] == pytest.approx(41308.0, abs=1e-6)
    assert last["share_US"] == pytest.approx(0.10409605887479423, rel=1e-9)
    assert last["subsidy_paid_cumulative"] == pytest.approx(115.139, rel=1e-9)
    assert last["clustering_index"] == pytest.approx(0.10169163043442825, rel=1e-9)
    assert last["supply_shortfall"] == pytest.approx(0.007889988092015318, rel=1e-9)
    assert last["partnerships_jk"] == 16
