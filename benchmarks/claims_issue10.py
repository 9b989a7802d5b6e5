"""The figures that docs/ODD.md quotes for the economic-core mechanisms (issue 10), over seeds.

``python benchmarks/claims_issue10.py [--seeds N]`` runs every comparison paired on the seed
(common random numbers) and prints the mean effect with a 95% t-interval; ODD quotes this
output.  It is a measurement, not a test (the directional tests live in tests/).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from model import ChipModel

OPEN = {f"governments.{c}.screens_concern": False for c in ("US", "JP", "KR", "TW")}
SHORT = ["JP-Kyushu", "IN-Assam", "KR-Chungcheong", "JP-Tohoku"]


def interval(values) -> str:
    v = np.asarray(values, dtype=float)
    half = stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)) if len(v) > 1 else float("nan")
    return f"{v.mean():+.4g} (95% interval {v.mean() - half:+.4g} to {v.mean() + half:+.4g}; n={len(v)})"


def started(m):
    inv = m.tables()["investments"]
    return inv[~inv["deferred"]]


def kr_memory_share(m) -> float:
    t = m.tables()["sites"]
    t = t[(t["status"] == "operating") & (t["segment"] == "memory") & (t["step"] == m.steps)]
    by_home = t.groupby("home", observed=True)["capacity"].sum()
    return float(by_home.get("KR", 0.0) / by_home.sum())


def new_capacity_share(m, regions, after: int = 8) -> float:
    inv = started(m)
    inv = inv[inv["step"] > after]
    return inv.loc[inv["region"].isin(regions), "capacity"].sum() / inv["capacity"].sum()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=20)
    n = ap.parse_args(argv).seeds
    seeds = range(n)

    ratio, after = [], []
    for s in seeds:
        a = ChipModel("taiwan_contingency", rng=s).run(20).metrics()["price_logic"].to_numpy()
        b = ChipModel("status_quo", rng=s).run(20).metrics()["price_logic"].to_numpy()
        ratio.append(100 * ((a[10:14] / b[10:14]).mean() - 1))
        after.append(100 * np.abs(a[16:20] / b[16:20] - 1).max())
    print("taiwan_contingency logic price during the blockade vs status_quo, %:", interval(ratio))
    print("  largest gap from two quarters after the blockade, %: max", round(max(after), 2))

    dec = [100 * (ChipModel("decoupling", rng=s).run(24).metrics()["price_logic"].iloc[4:].mean()
                  / ChipModel("status_quo", rng=s).run(24).metrics()["price_logic"].iloc[4:].mean() - 1)
           for s in seeds]
    print("decoupling logic price, quarters 5-24, vs status_quo, %:", interval(dec), "min", round(min(dec), 2))

    trade = [ChipModel("jk_cocreation", rng=s).run(32).metrics()["trade_JP_KR"].iloc[-8:].mean()
             - ChipModel("status_quo", rng=s).run(32).metrics()["trade_JP_KR"].iloc[-8:].mean() for s in seeds]
    print("jk_cocreation trade_JP_KR, last 8 of 32 quarters, vs status_quo, USD bn/quarter:", interval(trade),
          "positive on", int(np.sum(np.array(trade) > 0)), "seeds")

    start = kr_memory_share(ChipModel("baseline", rng=0))
    free = [100 * kr_memory_share(ChipModel("baseline", rng=s).run(32)) for s in seeds]
    capped = [100 * kr_memory_share(ChipModel("baseline", rng=s, params__max_projects_per_quarter=1).run(32))
              for s in seeds]
    print(f"KR-home memory share: start {100 * start:.1f}%; at 32 quarters no cap", interval(free),
          "; cap of one", interval(capped))

    kyushu, d_share = {0.25: [], 1.0: []}, {0.25: [], 1.0: []}
    for s in seeds:
        base = ChipModel("baseline", rng=s, params__wage_response=0.0).run(32)
        for omega in (0.25, 1.0):
            m = ChipModel("baseline", rng=s, params__wage_response=omega)
            k = m.geo.ids.index("JP-Kyushu")
            w0 = m.geo.labour_cost[k]
            m.run(32)
            kyushu[omega].append(100 * (m.geo.labour_cost[k] / w0 - 1))
            d_share[omega].append(100 * (new_capacity_share(m, SHORT) - new_capacity_share(base, SHORT)))
    for omega in (0.25, 1.0):
        print(f"wage_response {omega}: JP-Kyushu wage over 32 quarters, %:", interval(kyushu[omega]),
              "; share of new capacity (quarters 9-32) in", "/".join(SHORT), "vs fixed wages, pp:",
              interval(d_share[omega]))

    cn_abroad, foreign_cn = [], []
    for s in seeds:
        o = started(ChipModel("baseline", rng=s, **OPEN).run(48))
        c = started(ChipModel("baseline", rng=s).run(48))
        cn_abroad.append(int(((o["home"] == "CN") & o["country"].isin(["US", "JP", "KR", "TW"])).sum())
                         - int(((c["home"] == "CN") & c["country"].isin(["US", "JP", "KR", "TW"])).sum()))
        g0 = started(ChipModel("baseline", rng=s, **{"governments.US.guardrail_years": 0.0}).run(64))
        g10 = started(ChipModel("baseline", rng=s).run(64))
        foreign_cn.append(int(((g10["country"] == "CN") & (g10["home"] != "CN")).sum())
                          - int(((g0["country"] == "CN") & (g0["home"] != "CN")).sum()))
    print("Chinese firms' projects in US/JP/KR/TW over 48 quarters, screening off minus on:", interval(cn_abroad))
    print("foreign projects in China over 64 quarters, US guardrail 10 years minus none:", interval(foreign_cn))

    kr = []
    for s in seeds:
        a = started(ChipModel("baseline", rng=s).run(12))
        b = started(ChipModel("baseline", rng=s, **{"governments.KR.subsidy_rate": 0.4}).run(12))
        kr.append(100 * (b.loc[b["country"] == "KR", "capacity"].sum() / b["capacity"].sum()
                         - a.loc[a["country"] == "KR", "capacity"].sum() / a["capacity"].sum()))
    print("KR subsidy rate 0.4 vs 0: Korea's share of new capacity over 12 quarters, pp:", interval(kr))


if __name__ == "__main__":
    main()
