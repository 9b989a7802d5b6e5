"""Investment screening and the subsidy guardrail close regions to firms (ODD §7.1, §7.5)."""

import numpy as np

from model import ChipModel
from model.phases.location import admissible_regions

OPEN = {f"governments.{c}.screens_concern": False for c in ("US", "JP", "KR", "TW")}


def _started(m):
    inv = m.tables()["investments"]
    return inv[~inv["deferred"]]


def test_screening_keeps_firms_from_countries_of_concern_out():
    for seed in range(3):
        screened = _started(ChipModel("baseline", rng=seed).run(48))
        cn = screened[screened["home"] == "CN"]
        assert not cn["country"].isin(["US", "JP", "KR", "TW"]).any()
        assert len(cn) > 0                                   # they still invest, at home or elsewhere
    opened = [_started(ChipModel("baseline", rng=s, **OPEN).run(48)) for s in range(3)]
    abroad = sum(int(((o["home"] == "CN") & o["country"].isin(["US", "JP", "KR", "TW"])).sum()) for o in opened)
    assert abroad > 10                                       # measured about 40 more per seed without screening (benchmarks/claims_issue10.py --seeds 20)


def test_the_chips_guardrail_bars_recipients_from_expanding_in_china_for_ten_years():
    for seed in range(3):
        m = ChipModel("baseline", rng=seed).run(48)
        inv = _started(m)
        granted = inv[(inv["country"] == "US") & (inv["subsidy_committed"] > 0)]
        first = granted.groupby("firm", observed=True)["step"].min()
        for firm, step in first.items():
            later_cn = inv[(inv["firm"] == firm) & (inv["country"] == "CN") & (inv["step"] >= step)
                           & (inv["step"] < step + 40)]
            assert later_cn.empty, (firm, step, later_cn[["step", "region"]].to_dict("records"))
    count = {}
    for years in (0.0, 10.0):
        count[years] = sum(int(((t := _started(ChipModel("baseline", rng=s, **{"governments.US.guardrail_years": years})
                                                .run(64)))["country"].eq("CN") & t["home"].ne("CN")).sum())
                           for s in range(3))
    assert count[10.0] < count[0.0]                          # measured 2.6 fewer per seed (benchmarks/claims_issue10.py --seeds 20)


def test_admissible_regions_is_none_when_nothing_is_closed():
    m = ChipModel("baseline", rng=1, **OPEN)
    assert admissible_regions(m.world, np.arange(5)) is None
    m = ChipModel("baseline", rng=1)
    w = m.world
    cn_firm = int(np.flatnonzero(w.firms.home == m.geo.countries.index("CN"))[0])
    mask = admissible_regions(w, np.array([cn_firm]))
    assert mask is not None and not mask[0, m.geo.country == m.geo.countries.index("US")].any()
    assert mask[0, m.geo.country == m.geo.countries.index("CN")].all()
