"""The figures ODD §7.14, §7.18 and §7.20 quote for investor risk and visibility, paired on the seed with 95% intervals.

    python benchmarks/claims_investor_risk.py [seeds]      # default 10 seeds, 32 quarters

Prints: the announced-site fit at the baseline weights; the priced-risk table P[h, r] at step 0;
JP<->KR projects with investment protection on vs off (status_quo); the effect of visibility in
taiwan_contingency and in jk_cocreation with the same blockade added.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from scipy import stats

from experiments.calibration import announced_site_fit
from model import ChipModel

QUARTERS = 32
BLOCKADE = {"id": "tw_blockade", "type": "blockade", "start": "2027Q3", "end": "2028Q3", "country": "TW",
            "magnitude": 0.9}
IN_FORCE = slice(10, 14)          # steps of 2027Q3-2028Q2


def interval(d) -> str:
    d = np.asarray(d, dtype=float)
    half = stats.t.ppf(0.975, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d))
    return f"{d.mean():+.4f} (95% interval {d.mean() - half:+.4f} to {d.mean() + half:+.4f}; n = {len(d)})"


def risk_table() -> pd.DataFrame:
    m = ChipModel("baseline", rng=0)
    g = m.geo
    cs = list(g.countries)
    first = [int(np.flatnonzero(g.country == i)[0]) for i in range(len(cs))]
    return pd.DataFrame(m.world.risk.perceived[:, first], index=cs, columns=cs).loc[["JP", "KR", "US", "TW", "CN"]]


def jp_kr_projects(m: ChipModel) -> int:
    inv = m.tables()["investments"]
    inv = inv[~inv["deferred"].astype(bool)]
    jk = ((inv["home"] == "JP") & (inv["country"] == "KR")) | ((inv["home"] == "KR") & (inv["country"] == "JP"))
    return int(jk.sum())


def visibility(scenario: str, seeds, **over) -> None:
    rows = []
    for s in seeds:
        on = ChipModel(scenario, rng=s, **over).run(QUARTERS).tables()["metrics"]
        off = ChipModel(scenario, rng=s, **{"resilience.visibility_share": 0.0}, **over).run(QUARTERS).tables()["metrics"]
        rows.append({
            "shortfall_in_force": on["supply_shortfall"].iloc[IN_FORCE].mean() - off["supply_shortfall"].iloc[IN_FORCE].mean(),
            "shortfall_first_quarter": on["supply_shortfall"].iloc[10] - off["supply_shortfall"].iloc[10],
            "shortfall_before": on["supply_shortfall"].iloc[1:8].mean() - off["supply_shortfall"].iloc[1:8].mean(),
            "partnership_changes_8_13": on["partnership_changes"].iloc[8:14].sum() - off["partnership_changes"].iloc[8:14].sum(),
            "off_shortfall_in_force": off["supply_shortfall"].iloc[IN_FORCE].mean(),
        })
    df = pd.DataFrame(rows)
    print(f"  supply_shortfall off, blockade quarters: {df['off_shortfall_in_force'].mean():.4f}")
    for c in df.columns[:-1]:
        print(f"  {c}, on - off: {interval(df[c])}")


def main(n: int = 10) -> None:
    seeds = range(n)
    _, s = announced_site_fit("baseline")
    print(f"announced-site fit, baseline weights: mean log-likelihood {s['mean_loglik']:.3f}, "
          f"pseudo-R2 {s['pseudo_r2']:.3f}, mean rank {s['mean_rank']:.2f} of {s['regions']}")
    print("priced risk P[h, r] at step 0 (baseline), homes x host countries:")
    print(risk_table().round(3).to_string())
    off = np.array([jp_kr_projects(ChipModel("status_quo", rng=s).run(QUARTERS)) for s in seeds], dtype=float)
    on = np.array([jp_kr_projects(ChipModel("status_quo", rng=s, **{"cocreation.investment_protection.enabled": True})
                                  .run(QUARTERS)) for s in seeds], dtype=float)
    print(f"JP<->KR projects over {QUARTERS} quarters, status_quo: off {off.mean():.1f}, protection on {on.mean():.1f}; "
          f"on - off {interval(on - off)}; ratio of means {on.mean() / off.mean():.2f}")
    print("visibility 0.5 vs 0, taiwan_contingency:")
    visibility("taiwan_contingency", seeds)
    print("visibility 0.5 vs 0, jk_cocreation with the taiwan_contingency blockade added:")
    visibility("jk_cocreation", seeds, events=[BLOCKADE])


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10)
