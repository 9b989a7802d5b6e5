"""Speed of one model run: the baseline, and scaling with generated firms.

Run with ``make bench`` (or ``python benchmarks/bench_model.py --reps 5``;
``--scenario jk_cocreation`` for all co-creation levers on, ``--set
random_events.enabled=true`` for random shocks).
Prints the median wall time of building and running the model for 64
quarters, time per quarter, and the log–log slope of time against the
number of firms.  Targets (2-core machine, medians): baseline ≤ 0.25 s,
10,000 generated firms ≤ 30 s, slope ≤ 1.1.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from model import ChipModel

TARGETS = {"baseline_s": 0.25, "firms_10000_s": 30.0, "slope": 1.1}


def time_run(scenario: str, quarters: int, reps: int, **kw) -> tuple[float, int]:
    times = []
    n_firms = 0
    for rep in range(reps):
        t0 = time.perf_counter()
        m = ChipModel(scenario, rng=rep, **kw)
        m.run(quarters)
        times.append(time.perf_counter() - t0)
        n_firms = len(m.firm_list)
    return statistics.median(times), n_firms


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quarters", type=int, default=64)
    ap.add_argument("--reps", type=int, default=5, help="repetitions for the small runs (median)")
    ap.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    ap.add_argument("--scenario", default="baseline", help="scenario to time (default: baseline)")
    ap.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="override a parameter (repeatable)")
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_model.json")
    args = ap.parse_args()
    from experiments.cli import parse_sets

    over = parse_sets(args.sets)
    ChipModel(args.scenario, rng=0, **over).run(2)  # warm imports and caches
    base, n_base = time_run(args.scenario, args.quarters, args.reps, **over)
    print(f"{args.scenario:<15} {n_base:>6} firms  {base:8.3f} s  {1000 * base / args.quarters:7.2f} ms/quarter")
    rows = [{"n_generated": 0, "firms": n_base, "seconds": base}]
    for n in args.sizes:
        reps = args.reps if n <= 1000 else max(1, min(args.reps, 3))
        t, n_firms = time_run(args.scenario, args.quarters, reps, n_generated_firms=n, **over)
        rows.append({"n_generated": n, "firms": n_firms, "seconds": t})
        print(f"+{n:<6} firms   {n_firms:>6} firms  {t:8.3f} s  {1000 * t / args.quarters:7.2f} ms/quarter")
    firms = np.array([r["firms"] for r in rows[1:]], dtype=float)
    secs = np.array([r["seconds"] for r in rows[1:]])
    slope = float(np.polyfit(np.log(firms), np.log(secs), 1)[0]) if len(rows) > 2 else float("nan")
    print(f"log-log slope of time against firms: {slope:.3f}")
    big = next((r["seconds"] for r in rows if r["n_generated"] == 10000), None)
    checks = {
        "baseline_s": base <= TARGETS["baseline_s"],
        "firms_10000_s": big is None or big <= TARGETS["firms_10000_s"],
        "slope": slope <= TARGETS["slope"],
    }
    for k, ok in checks.items():
        print(f"target {k:<14} {'met' if ok else 'MISSED'} (≤ {TARGETS[k]})")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"scenario": args.scenario, "overrides": over, "quarters": args.quarters,
                                     "runs": rows, "slope": slope,
                                     "targets": TARGETS, "met": checks}, indent=2))


if __name__ == "__main__":
    main()
