"""Sweep runner against ``mesa.batch_run``; scaling over workers; Dask vs processes.

Run with ``.venv/bin/python benchmarks/bench_sweep.py --reps 3`` (about 3 minutes here).

The workload is the same 200-run grid for every variant: the baseline scenario
for 16 quarters, ``governments.US.subsidy_rate`` at 20 values × 10 seeds,
every metric of every quarter kept (``batch_run`` with
``data_collection_period=1``; the kyoso sweep with all metric columns).  Each
variant runs in a fresh Python process so that start-up and peak memory are
its own; the measured time runs from reading the sweep (or calling
``batch_run``) to having every result (on disk for kyoso, in memory for
``batch_run``).

Driver memory is reported three ways: the process's peak resident set
(``ru_maxrss``), its growth during the sweep over the resident set just before
(imports done; an upper bound, since the process peak may predate the sweep), and the peak of Python allocations during the sweep
(``tracemalloc``, in a second, separately timed pass).

Targets (2-core machine, medians): kyoso ≥ 1.5× ``batch_run`` throughput;
kyoso driver peak memory ≤ ¼ of ``batch_run``'s; 2 workers ≥ 1.8× 1 worker;
Dask LocalCluster within 15% of the process backend.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

VALUES = [round(0.5 * i / 19, 6) for i in range(20)]
SEEDS = list(range(10))
QUARTERS = 16
VARIANTS = ("batch_run", "kyoso_processes_2", "kyoso_processes_1", "kyoso_dask_2")
TARGETS = {"speedup_vs_batch_run": 1.5, "memory_ratio_vs_batch_run": 0.25, "scaling_2_vs_1": 1.8,
           "dask_vs_processes": 0.85}


def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024   # KiB on Linux


def _sweep_file(tmp: Path) -> Path:
    from experiments.sweepfile import available_metrics

    metrics = available_metrics("baseline")
    text = (f'name = "bench"\nscenario = "baseline"\nquarters = {QUARTERS}\nreplications = {len(SEEDS)}\n'
            f'seed = 1\ndesign = "grid"\nmetrics = {json.dumps(metrics)}\n'
            f'[parameters]\n"governments.US.subsidy_rate" = {json.dumps(VALUES)}\n')
    path = tmp / "bench.toml"
    path.write_text(text)
    return path


def one(variant: str, trace: bool) -> dict:
    """Run one variant in this process and return its measurements."""
    import tracemalloc

    import mesa  # noqa: F401  (imports done before measuring)
    import pyarrow.parquet  # noqa: F401

    from model import ChipModel

    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_"))
    sweep_path = _sweep_file(tmp) if variant != "batch_run" else None
    ChipModel("baseline", rng=0).run(1)       # warm caches in the driver (both alike)
    rss0 = _rss_mb()
    if trace:
        tracemalloc.start()
    t0 = time.perf_counter()
    if variant == "batch_run":
        rows = mesa.batch_run(ChipModel, {"scenario": "baseline", "governments__US__subsidy_rate": VALUES,
                                          "meta__horizon": QUARTERS},
                              rng=SEEDS, number_processes=2, data_collection_period=1, display_progress=False)
        n_runs = len({r["RunId"] for r in rows})
    else:
        from experiments.sweepfile import load_sweep
        from experiments.sweep import run_sweep

        backend = "dask" if "dask" in variant else "processes"
        workers = int(variant.rsplit("_", 1)[1])
        result = run_sweep(load_sweep(sweep_path), tmp / "out", backend=backend, workers=workers, progress=False)
        n_runs = result.done
        rows = None
    elapsed = time.perf_counter() - t0
    peak_py = tracemalloc.get_traced_memory()[1] / 2**20 if trace else None
    if trace:
        tracemalloc.stop()
    out = {"variant": variant, "runs": n_runs, "seconds": elapsed, "runs_per_s": n_runs / elapsed,
           "maxrss_mb": _maxrss_mb(), "rss_growth_mb": max(0.0, _maxrss_mb() - rss0),
           "rss_before_mb": rss0, "tracemalloc_peak_mb": peak_py}
    del rows
    return out


def _spawn(variant: str, trace: bool) -> dict:
    cmd = [sys.executable, __file__, "--one", variant] + (["--trace"] if trace else [])
    res = subprocess.run(cmd, capture_output=True, text=True, check=False,
                         env={**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"})
    if res.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{res.stderr}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3, help="repetitions per variant (median)")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    ap.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_sweep.json")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.trace)))
        return

    print(f"workload: baseline, {QUARTERS} quarters, {len(VALUES)} subsidy values × {len(SEEDS)} seeds "
          f"= {len(VALUES) * len(SEEDS)} runs; every metric every quarter; {os.cpu_count()} CPUs")
    summary: dict[str, dict] = {}
    for v in args.variants:
        reps = [_spawn(v, trace=False) for _ in range(args.reps)]
        traced = _spawn(v, trace=True) if v in ("batch_run", "kyoso_processes_2") else None
        med = statistics.median(r["seconds"] for r in reps)
        summary[v] = {
            "seconds_median": med,
            "seconds_all": [round(r["seconds"], 3) for r in reps],
            "runs_per_s": reps[0]["runs"] / med,
            "maxrss_mb": statistics.median(r["maxrss_mb"] for r in reps),
            "rss_growth_mb": statistics.median(r["rss_growth_mb"] for r in reps),
            "tracemalloc_peak_mb": traced["tracemalloc_peak_mb"] if traced else None,
            "runs": reps[0]["runs"],
        }
        s = summary[v]
        mem = f"  python-heap peak {s['tracemalloc_peak_mb']:7.1f} MB" if traced else ""
        print(f"{v:<20} {med:7.2f} s  {s['runs_per_s']:6.1f} runs/s  driver maxrss {s['maxrss_mb']:6.1f} MB"
              f"  growth {s['rss_growth_mb']:6.1f} MB{mem}")

    ratios: dict[str, float] = {}
    if {"batch_run", "kyoso_processes_2"} <= set(summary):
        b, k = summary["batch_run"], summary["kyoso_processes_2"]
        ratios["speedup_vs_batch_run"] = k["runs_per_s"] / b["runs_per_s"]
        ratios["memory_ratio_vs_batch_run"] = k["tracemalloc_peak_mb"] / b["tracemalloc_peak_mb"]
        ratios["rss_growth_ratio_vs_batch_run"] = (k["rss_growth_mb"] / b["rss_growth_mb"]
                                                   if b["rss_growth_mb"] > 0 else float("nan"))
        ratios["maxrss_ratio_vs_batch_run"] = k["maxrss_mb"] / b["maxrss_mb"]
    if {"kyoso_processes_1", "kyoso_processes_2"} <= set(summary):
        ratios["scaling_2_vs_1"] = summary["kyoso_processes_2"]["runs_per_s"] / summary["kyoso_processes_1"]["runs_per_s"]
    if {"kyoso_dask_2", "kyoso_processes_2"} <= set(summary):
        ratios["dask_vs_processes"] = summary["kyoso_dask_2"]["runs_per_s"] / summary["kyoso_processes_2"]["runs_per_s"]
    checks = {}
    for key, target in TARGETS.items():
        if key in ratios:
            ok = ratios[key] <= target if key == "memory_ratio_vs_batch_run" else ratios[key] >= target
            checks[key] = ok
            print(f"{key:<32} {ratios[key]:6.3f}  (target {'≤' if key.startswith('memory') else '≥'} {target})"
                  f"  {'ok' if ok else 'MISSED'}")
    for key in ("rss_growth_ratio_vs_batch_run", "maxrss_ratio_vs_batch_run"):
        if key in ratios:
            print(f"{key:<32} {ratios[key]:6.3f}  (for information)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"summary": summary, "ratios": ratios, "checks": checks,
                                     "cpus": os.cpu_count(), "quarters": QUARTERS}, indent=2))
    print(f"written to {args.json}")


if __name__ == "__main__":
    main()
