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
    assert len(t["investments"]) == 503
    assert last["capacity_fab"] == pytest.approx(41518.0, abs=1e-6)
    assert last["share_US"] == pytest.approx(0.11392648971530421, rel=1e-9)
    assert last["subsidy_paid_cumulative"] == pytest.approx(135.63, rel=1e-9)
    assert last["clustering_index"] == pytest.approx(0.09585001022753967, rel=1e-9)
