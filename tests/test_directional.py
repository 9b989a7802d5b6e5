"""Directional properties, averaged over 20 seeds (common random numbers)."""

import numpy as np
import pytest

from model import ChipModel

SEEDS = range(20)
QUARTERS = 24


def _mean_over_seeds(metric, **overrides) -> float:
    values = []
    for seed in SEEDS:
        m = ChipModel("baseline", rng=seed, **overrides).run(QUARTERS)
        values.append(metric(m.tables()))
    return float(np.mean(values))


def _share_of_new_capacity(region=None, country=None, segment=None):
    def metric(t):
        inv = t["investments"]
        if segment is not None:
            inv = inv[inv["segment"] == segment]
        if inv.empty:
            return 0.0
        sel = inv["region"] == region if region else inv["country"] == country
        return inv.loc[sel, "capacity"].sum() / inv["capacity"].sum()
    return metric


@pytest.mark.slow
def test_higher_subsidy_raises_a_countrys_share_of_new_investment():
    metric = _share_of_new_capacity(country="TH")
    low = _mean_over_seeds(metric)
    high = _mean_over_seeds(metric, governments__TH__subsidy_rate=0.4, governments__TH__budget=30.0)
    assert high > low + 0.01, (low, high)


@pytest.mark.slow
def test_higher_political_risk_lowers_a_regions_share_of_new_investment():
    metric = _share_of_new_capacity(region="MY-Penang")
    base = _mean_over_seeds(metric)
    risky = _mean_over_seeds(metric, **{"regions__MY-Penang__political_risk": 0.95})
    assert risky < 0.5 * base, (base, risky)
    assert base > 0


@pytest.mark.slow
def test_higher_labour_cost_lowers_labour_intensive_investment_there():
    metric = _share_of_new_capacity(region="MY-Penang", segment="packaging")
    base = _mean_over_seeds(metric)
    dear = _mean_over_seeds(metric, **{"regions__MY-Penang__labour_cost": 6000.0})
    assert dear < 0.5 * base, (base, dear)


@pytest.mark.slow
def test_higher_agglomeration_weight_raises_clustering():
    def metric(t):
        return t["metrics"]["clustering_index"].iloc[-1]
    low = _mean_over_seeds(metric, params__w_agglomeration=0.0)
    high = _mean_over_seeds(metric, params__w_agglomeration=3.0)
    assert high > low, (low, high)
