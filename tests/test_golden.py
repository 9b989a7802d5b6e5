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
    # Updated when the one-project-per-quarter cap was removed, wages began to respond to
    # skilled-labour shortages, the baseline got investment screening and the CHIPS guardrail, and
    # prices began to count missing inputs (issue 10).
    assert len(t["investments"]) == 400
    assert last["capacity_fab"] == pytest.approx(42098.0, abs=1e-6)
    assert last["share_US"] == pytest.approx(0.11710770107843603, rel=1e-9)
    assert last["subsidy_paid_cumulative"] == pytest.approx(121.138, rel=1e-9)
    assert last["clustering_index"] == pytest.approx(0.09664491461659556, rel=1e-9)
    assert last["supply_shortfall"] == pytest.approx(0.0039428209831416, rel=1e-9)
    assert last["partnerships_jk"] == 16


# Every output table of every built-in scenario, seeds 0-2, full horizon, against the
# committed Parquet files in tests/golden/ (written by `python benchmarks/golden.py write
# tests/golden`; `python benchmarks/golden.py against REV` rebuilds them from a commit).
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import golden  # noqa: E402

GOLDEN_DIR = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", golden.scenario_names())
def test_tables_identical_to_golden_files(name):
    problems = golden.compare(GOLDEN_DIR, [name])
    assert not problems, "\n".join(problems)
