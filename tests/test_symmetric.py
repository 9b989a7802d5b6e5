"""The emergence laboratory (model/data/symmetric.toml): path dependence where the model's feedbacks are strong."""

from __future__ import annotations

import pytest

from model import ChipModel
from model.scenario import load_scenario

STRONG = {"params.w_agglomeration": 12.0, "params.w_coordination": 0.0}


def _logic_leader(seed: int, **ov) -> tuple[str, float]:
    t = ChipModel("symmetric", rng=seed, **ov).run(40).tables()["sites"]
    t = t[(t["step"] == 40) & (t["status"] == "operating") & (t["segment"] == "logic")]
    by_region = t.groupby("region", observed=True)["capacity"].sum()
    return str(by_region.idxmax()), float(by_region.max() / by_region.sum())


def test_the_laboratory_starts_symmetric():
    sc = load_scenario("symmetric")
    assert len({(r.labour_cost, r.skilled_labour, r.power_reliability, r.investor_risk)
                for r in sc.regions.values()}) == 1
    caps = {tuple(sorted((s.segment, s.capacity) for s in f.sites)) for f in sc.firms.values()}
    assert len(caps) == 1 and all(g.subsidy_rate == 0 and g.tax_credit == 0 for g in sc.governments.values())


@pytest.mark.slow
def test_strong_agglomeration_locks_in_a_region_that_chance_picks():
    """With strong agglomeration and no coordination cost, one region takes most new logic capacity, and which
    one differs across seeds (path dependence); at the baseline weights no region takes most of it."""
    strong = [_logic_leader(s, **STRONG) for s in range(6)]
    assert len({leader for leader, _ in strong}) >= 2
    assert sum(share for _, share in strong) / len(strong) > 0.45
    calm = [_logic_leader(s) for s in range(6)]
    assert sum(share for _, share in calm) / len(calm) < sum(share for _, share in strong) / len(strong)
