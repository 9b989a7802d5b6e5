"""Local-content rules force a local sourcing share on grant holders (ODD 7.9, governments.<c>.local_sourcing_share)."""

from __future__ import annotations

import numpy as np
import pytest

from model import ChipModel, ScenarioError, load_scenario
from model.phases.supply_partners import local_rules


def _local_share_of_grant_holders(share: float, seed: int) -> float:
    m = ChipModel("baseline", rng=seed, **{"governments.JP.local_sourcing_share": share}).run(16)
    w, s = m.world, m.world.sites
    jp = m.geo.countries.index("JP")
    holders = np.unique(s.col("firm")[(s.col("gov") == jp) & (s.col("subsidy_committed") > 0)])
    book = w.chain.partners
    act = np.flatnonzero(book.active)
    mine = np.isin(book.col("buyer")[act], holders)
    return float((w.firms.home[book.col("supplier")[act][mine]] == jp).mean())


def test_japans_rule_brings_grant_holders_to_half_japanese_suppliers():
    for seed in (0, 1):
        free, ruled = _local_share_of_grant_holders(0.0, seed), _local_share_of_grant_holders(0.5, seed)
        assert ruled >= 0.5 > free, (seed, free, ruled)


def test_only_grant_holders_are_bound():
    m = ChipModel("baseline", rng=0).run(8)
    rule, strict = local_rules(m.world)
    jp = m.geo.countries.index("JP")
    s = m.world.sites
    holders = set(s.col("firm")[(s.col("gov") == jp) & (s.col("subsidy_committed") > 0)].tolist())
    assert holders and set(np.flatnonzero(rule >= 0).tolist()) == holders
    assert (strict[rule >= 0] == 0.5).all()
    none = ChipModel("baseline", rng=0, **{"governments.JP.local_sourcing_share": 0.0})
    assert (local_rules(none.world)[0] == -1).all()


def test_bad_local_sourcing_share():
    with pytest.raises(ScenarioError, match="local_sourcing_share"):
        load_scenario("baseline", **{"governments.JP.local_sourcing_share": 1.5})
