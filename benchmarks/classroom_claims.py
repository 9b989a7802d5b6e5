"""The classroom role-play's figures (issue #13 part 7): how long the teacher waits for a year, and what a team's
subsidy does, class − status quo paired on the seed.

    python benchmarks/classroom_claims.py [--seeds 10] [--years 3] [--scenario jk_cocreation]
                                          [--rate 0.6] [--budget 20]

For each seed one game (:class:`experiments.classroom.Registry`, as the page runs it) where only Japan's team
plays: it sets a subsidy rate of ``--rate`` with an annual budget of USD ``--budget`` bn in year 1 and keeps it;
the teacher runs ``--years`` years and ends the game.  Printed:

* **speed**: wall time of ``Game.advance`` (applying the settings and stepping four quarters) over every year of
  every game, median and maximum; the debrief (the status-quo run of the same quarters plus the summaries), median;
* **effect**: from the debrief, class − status quo on the same seed (the status-quo run is the same scenario and
  seed with nobody's changes, so each seed is a pair), for Japan's capex of fab projects started over the game and
  its share of world fab capacity at the end: mean over seeds with a 95 % t interval of the paired differences;
  also Korea's share, the main rival of the column.

Other processes on the machine slow the timings down: the load average is printed with them.  Nothing here draws
random numbers beyond the model's seeded generator, so the effect figures are reproducible exactly.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from experiments.classroom import Registry  # noqa: E402


def interval(x: list[float]) -> tuple[float, float, float]:
    """Mean and 95 % t interval of paired differences."""
    a = np.asarray(x, dtype=float)
    m = float(a.mean())
    if len(a) < 2:
        return m, float("nan"), float("nan")
    h = float(stats.t.ppf(0.975, len(a) - 1) * a.std(ddof=1) / np.sqrt(len(a)))
    return m, m - h, m + h


def measure(scenario: str, seeds: int, years: int, rate: float, budget: float) -> dict[str, list[float]]:
    reg = Registry(max_games=seeds + 1)
    out: dict[str, list[float]] = {"advance": [], "debrief": [], "capex_JP": [], "share_JP": [], "share_KR": []}
    for seed in range(seeds):
        game, teacher = reg.create(scenario, seed, years)
        jp = game.join("Alpha", "JP")
        game.submit(jp, "JP", {"subsidy_rate": rate, "annual_budget": budget})
        for _ in range(years):
            t0 = time.perf_counter()
            game.advance(teacher)
            out["advance"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        d = game.end(teacher)
        out["debrief"].append(time.perf_counter() - t0)
        diff = d.countries.set_index(["country", "measure"])["difference"]
        out["capex_JP"].append(float(diff[("JP", "capex of fab projects started")]))
        out["share_JP"].append(float(diff[("JP", "share of world fab capacity")]))
        out["share_KR"].append(float(diff[("KR", "share of world fab capacity")]))
        last = d.last_quarter
    out["last_quarter"] = [last]  # type: ignore[list-item]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=10, help="games (seeds 0 … N-1), default 10")
    ap.add_argument("--years", type=int, default=3, help="years per game, default 3")
    ap.add_argument("--scenario", default="jk_cocreation")
    ap.add_argument("--rate", type=float, default=0.6, help="Japan's subsidy rate (share of capex), default 0.6")
    ap.add_argument("--budget", type=float, default=20.0, help="Japan's annual budget (USD bn), default 20")
    args = ap.parse_args(argv)
    if args.seeds < 2:
        ap.error(f"--seeds {args.seeds}: expected at least 2 (an interval needs two pairs)")
    r = measure(args.scenario, args.seeds, args.years, args.rate, args.budget)
    load = os.getloadavg()[0]
    print(f"classroom: {args.scenario}, seeds 0–{args.seeds - 1}, {args.years} years, only Japan's team plays "
          f"(subsidy rate {args.rate:g}, annual budget USD {args.budget:g} bn); load average {load:.1f}")
    adv = r["advance"]
    print(f"run a year (Game.advance): median {statistics.median(adv):.3f} s, max {max(adv):.3f} s "
          f"over {len(adv)} years")
    print(f"debrief (status-quo run + summaries): median {statistics.median(r['debrief']):.3f} s "
          f"over {len(r['debrief'])} games")
    for key, what, unit in (("capex_JP", "JP capex of fab projects started, over the game", "USD bn"),
                            ("share_JP", f"JP share of world fab capacity at {r['last_quarter'][0]}", "pp"),
                            ("share_KR", f"KR share of world fab capacity at {r['last_quarter'][0]}", "pp")):
        m, lo, hi = interval(r[key])
        print(f"{what}, class − status quo (paired on seed): {m:+.2f} {unit} (95% CI {lo:+.2f} to {hi:+.2f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
