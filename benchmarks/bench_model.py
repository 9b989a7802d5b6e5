"""Speed of one model run: the baseline, and scaling with generated firms.

Run with ``make bench`` (or ``python benchmarks/bench_model.py --reps 5``;
``--scenario jk_cocreation`` for all co-creation levers on, ``--set
random_events.enabled=true`` for random shocks).
Prints the median wall time of building and running the model for 64
quarters, time per quarter, and the log–log slope of time against the
number of firms.  Targets (2-core machine, medians): baseline ≤ 0.25 s,
10,000 generated firms ≤ 30 s, slope ≤ 1.1.

``--against REV`` compares this tree with the commit REV instead: REV is
checked out in a temporary git worktree, and the baseline run and a run with
10,000 generated firms are timed for both trees in one session, interleaved
(the order alternates from rep to rep), each run in a fresh Python process
whose ``model`` package is its tree's (checked with ``model.__file__``).
Prints the median time per tree and the ratio current / REV per case.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:          # run as a script: this tree's packages first
    sys.path.insert(0, str(ROOT))

from model import ChipModel  # noqa: E402

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


# ------------------------------------------------------------ --against REV
#: What the child process runs: build and run one model from the tree first on
#: sys.path, after a short warm-up run; prints the seconds and model.__file__.
CHILD = """
import json, sys, time
spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["root"])
import model
from model import ChipModel
assert model.__file__.startswith(spec["root"]), (model.__file__, spec["root"])
warm = ChipModel(spec["scenario"], rng=0)
for _ in range(2):
    warm.step()
t0 = time.perf_counter()
m = ChipModel(spec["scenario"], rng=spec["seed"], **spec["overrides"])
for _ in range(spec["quarters"]):
    m.step()
print(json.dumps({"seconds": time.perf_counter() - t0, "model": model.__file__}))
"""


@contextlib.contextmanager
def worktree(rev: str) -> Iterator[Path]:
    """REV checked out in a temporary git worktree (removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="kyoso-bench-") as tmp:
        tree = Path(tmp) / "rev"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(tree), rev], check=True,
                       capture_output=True)
        try:
            yield tree
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=False,
                           capture_output=True)


def time_in_child(root: Path, scenario: str, quarters: int, seed: int, overrides: dict[str, Any]) -> dict:
    """One timed run in a fresh process whose ``model`` is ``root``'s."""
    spec = {"root": str(root), "scenario": scenario, "quarters": quarters, "seed": seed, "overrides": overrides}
    env = {**os.environ, "PYTHONPATH": str(root)}
    res = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)], env=env, cwd=root, check=True,
                         capture_output=True, text=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def against(rev: str, scenario: str, quarters: int, reps: int, over: dict[str, Any], out: Path) -> None:
    """Time this tree and REV, interleaved, per case; print medians and the ratio current / REV."""
    cases = {scenario: dict(over), "firms_10000": {**over, "n_generated_firms": 10000}}
    with worktree(rev) as tree:
        trees = {"current": ROOT, rev: tree}
        times: dict[str, dict[str, list[float]]] = {c: {t: [] for t in trees} for c in cases}
        for rep in range(reps):
            order = list(trees) if rep % 2 == 0 else list(trees)[::-1]
            for case, kw in cases.items():
                for name in order:
                    r = time_in_child(trees[name], scenario, quarters, rep, kw)
                    times[case][name].append(r["seconds"])
                    print(f"  rep {rep} {case:<12} {name:<10} {r['seconds']:8.3f} s  ({r['model']})", flush=True)
    print(f"\n{'case':<14} {'current (s)':>12} {rev + ' (s)':>14} {'ratio current/' + rev:>22}")
    rows = []
    for case, by_tree in times.items():
        cur, ref = statistics.median(by_tree["current"]), statistics.median(by_tree[rev])
        rows.append({"case": case, "current_s": cur, "rev_s": ref, "ratio": cur / ref, "times": by_tree})
        print(f"{case:<14} {cur:12.3f} {ref:14.3f} {cur / ref:22.3f}")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"against": rev, "quarters": quarters, "reps": reps, "overrides": over,
                               "cases": rows}, indent=2))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--against", metavar="REV", default=None,
                    help="compare with git revision REV (built in a temporary worktree), interleaved")
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
    if args.against:
        against(args.against, args.scenario, args.quarters, args.reps, over,
                args.json.with_name("bench_against.json"))
        return
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
