"""The figures that docs/ODD.md quotes for the economic-core mechanisms (issue 10), over seeds.

``python benchmarks/claims_issue10.py [--seeds N]`` runs every comparison paired on the seed
(common random numbers) and prints the mean effect with a 95% t-interval; ODD quotes this
output.  It is a measurement, not a test (the directional tests live in tests/).
"""

from __future__ import annotations

import argparse

import numpy as np
from scipy import stats

from experiments.levers import scaled_subsidies
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


    value_rule_claims(seeds)
    local_content_claims(seeds)


def subsidy_overrides(factor: float) -> dict:
    """Every government's grant rate, tax credit and budgets × ``factor`` (rates capped at 1)."""
    return scaled_subsidies("baseline", factor)


def home_shares(m) -> dict[str, float]:
    """Operating fab capacity by the owning firm's home country, as shares."""
    t = m.tables()["sites"]
    t = t[(t["status"] == "operating") & t["segment"].isin(["logic", "memory", "sensors", "power"])
          & (t["step"] == m.steps)]
    by_home = t.groupby("home", observed=True)["capacity"].sum()
    return (by_home / by_home.sum()).to_dict()


def value_rule_claims(seeds) -> None:
    """Investment on value, finance, artefacts, technology and resilience (ODD 7.4.1)."""
    cap = {f: [] for f in (0.0, 1.0, 1.5)}
    for s in seeds:
        for f in cap:
            ov = subsidy_overrides(f) if f != 1.0 else {}
            cap[f].append(ChipModel("baseline", rng=s, **ov).run(32).metrics()["capacity_fab"].iloc[-1])
    c0, c1, c15 = (np.array(cap[f]) for f in (0.0, 1.0, 1.5))
    print("world fab capacity after 32 quarters, kwpm: baseline", round(c1.mean()), "; no grants or credits minus "
          "baseline:", interval(c0 - c1), "; 1.5x minus baseline:", interval(c15 - c1))
    print("  elasticity of capacity to the subsidy scale, arc 1 -> 1.5:",
          interval(np.log(c15 / c1) / np.log(1.5)), "; arc 0 -> 1 (% per removal):", interval(100 * (c1 / c0 - 1)))
    gap = {f: np.array([ChipModel("baseline", rng=s, params__investment_rule="gap",
                                  **(subsidy_overrides(f) if f != 1.0 else {})).run(32).metrics()["capacity_fab"].iloc[-1]
                        for s in seeds]) for f in (0.0, 1.0, 1.5)}
    print("  the same under the gap rule (kyoso 0.1): no grants or credits minus baseline:", interval(gap[0.0] - gap[1.0]),
          "; elasticity arc 1 -> 1.5:", interval(np.log(gap[1.5] / gap[1.0]) / np.log(1.5)))

    country, home, blocked, cash = {}, {}, [], []
    for s in seeds:
        m = ChipModel("baseline", rng=s)
        start = m.metrics().iloc[0]
        h0 = home_shares(m)
        m.run(32)
        mt = m.metrics()
        for c in m.geo.countries:
            country.setdefault(c, []).append(100 * (mt[f"share_{c}"].iloc[-1] - start[f"share_{c}"]))
        h1 = home_shares(m)
        for c in set(h0) | set(h1):
            home.setdefault(c, []).append(100 * (h1.get(c, 0.0) - h0.get(c, 0.0)))
        blocked.append(100 * mt["finance_blocked_share"].iloc[1:].mean())
        cash.append((mt["firm_cash"].iloc[1:] / (4 * mt["revenue"].iloc[1:])).agg(["min", "max"]).to_numpy())
    for c, v in sorted(country.items(), key=lambda kv: -abs(np.mean(kv[1]))):
        if abs(np.mean(v)) >= 0.05:
            print(f"  share_{c} change over 32 quarters, pp:", interval(v))
    for c, v in sorted(home.items(), key=lambda kv: -abs(np.mean(kv[1]))):
        if abs(np.mean(v)) >= 0.05:
            print(f"  home {c} share of fab capacity change over 32 quarters, pp:", interval(v))
    cash = np.array(cash)
    print("finance check stops, % of value-positive (firm, segment) pairs per quarter, mean over 32 quarters:",
          interval(blocked), "; cash / annual revenue range", round(cash[:, 0].min(), 3), "-",
          round(cash[:, 1].max(), 3))
    down = [100 * ChipModel("taiwan_contingency", rng=s).run(24).metrics()["finance_blocked_share"].iloc[10:16].mean()
            - 100 * ChipModel("status_quo", rng=s).run(24).metrics()["finance_blocked_share"].iloc[10:16].mean()
            for s in seeds]
    print("  during the taiwan_contingency blockade minus status_quo, pp:", interval(down))
    slump_claims(seeds)

    gap, short = [], []
    for s in seeds:
        a = ChipModel("jk_cocreation", rng=s).run(32).metrics()
        b = ChipModel("status_quo", rng=s).run(32).metrics()
        gap.append((a["technology_JP"] - a["technology_KR"]).abs().iloc[-1]
                   - (b["technology_JP"] - b["technology_KR"]).abs().iloc[-1])
    print("jk_cocreation |technology_JP - technology_KR| at 32 quarters minus status_quo:", interval(gap))
    for s in seeds:
        a = ChipModel(with_shock("jk_cocreation"), rng=s).run(16).metrics()
        b = ChipModel(with_shock("status_quo"), rng=s).run(16).metrics()
        short.append(100 * (a["supply_shortfall"].iloc[8:12].mean() - b["supply_shortfall"].iloc[8:12].mean()))
    print("supply shortfall during a JP->KR materials and equipment restriction (2027Q1-2027Q4, magnitude 0.5), "
          "jk_cocreation minus status_quo, pp:", interval(short))


def slump_claims(seeds) -> None:
    """A 20 % chip demand slump through 2027 against status_quo: chip prices and projects started during it, and
    the share of value-positive pairs finance stops in and after it (ODD 7.4.1)."""
    price, starts, blocked = [], [], []
    for s in seeds:
        a = ChipModel(with_slump("status_quo"), rng=s).run(20).metrics()
        b = ChipModel("status_quo", rng=s).run(20).metrics()
        price.append(100 * (a["price_chips"].iloc[8:12].mean() / b["price_chips"].iloc[8:12].mean() - 1))
        starts.append(100 * (a["investments_started"].iloc[8:16].sum() / b["investments_started"].iloc[8:16].sum() - 1))
        blocked.append(100 * (a["finance_blocked_share"].iloc[8:16].mean() - b["finance_blocked_share"].iloc[8:16].mean()))
    print("  20 % chip demand slump (2027Q1-2027Q4) minus status_quo: chip price index during it, %:", interval(price),
          "; projects started in quarters 9-16, %:", interval(starts),
          "; share of value-positive pairs finance stops then, pp:", interval(blocked))


def local_content_claims(seeds) -> None:
    """Japanese grant holders' share of Japanese suppliers after 16 quarters, with Japan's rule and without (ODD 7.9)."""
    def share(rule: float, seed: int) -> float:
        m = ChipModel("baseline", rng=seed, **{"governments.JP.local_sourcing_share": rule}).run(16)
        w, s = m.world, m.world.sites
        jp = m.geo.countries.index("JP")
        holders = np.unique(s.col("firm")[(s.col("gov") == jp) & (s.col("subsidy_committed") > 0)])
        act = np.flatnonzero(w.chain.partners.active)
        mine = np.isin(w.chain.partners.col("buyer")[act], holders)
        return float((w.firms.home[w.chain.partners.col("supplier")[act][mine]] == jp).mean())
    ruled, free = [share(0.5, s) for s in seeds], [share(0.0, s) for s in seeds]
    print("Japanese grant holders' share of Japanese suppliers at 16 quarters: rule 0.5", interval(ruled),
          "; no rule", interval(free), "; difference", interval(np.array(ruled) - np.array(free)))


def with_slump(name: str):
    """Scenario ``name`` with final chip demand 20 % lower through 2027 (a demand_shock event)."""
    from model.scenario import Event, load_scenario
    sc = load_scenario(name)
    sc.events.append(Event(type="demand_shock", start="2027Q1", end="2028Q1", magnitude=0.2,
                           description="a chip demand slump (what-if)"))
    return sc


def with_shock(name: str):
    """Scenario ``name`` with a Japanese export restriction on materials and equipment to Korea in 2027 (as in 2019,
    stronger), so that resilience can be compared under the same shock."""
    from model.scenario import Event, load_scenario
    sc = load_scenario(name)
    sc.events.append(Event(type="export_restriction", start="2027Q1", end="2028Q1", exporter="JP", importer="KR",
                           segments=["materials", "equipment"], magnitude=0.5))
    return sc


if __name__ == "__main__":
    main()
