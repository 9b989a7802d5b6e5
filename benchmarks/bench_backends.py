"""The same 240 runs through EMA Workbench's adapter and kyoso's processes, Dask and MPI backends.

Run with ``.venv/bin/python benchmarks/bench_backends.py`` (a few minutes on 2 cores); needs the ``ema``
and ``mpi`` extras and an MPI runtime (``apt-get install openmpi-bin``).

Workload (issue #14): one sweep file, 40 Latin-hypercube design points (two uncertainties, one a binding
over Taiwan's three regions) × 2 policies (the talent lever off and on) × 3 replications = 240 runs of
the baseline scenario for ``--quarters`` quarters (default 12), three metrics kept.  Variants, each on 2
workers:

* ``ema_multiprocessing``: :func:`experiments.ema.sweep_to_ema` run by EMA's
  ``MultiprocessingEvaluator(n_processes=2)`` (results in memory);
* ``kyoso_processes``, ``kyoso_dask``, ``kyoso_mpi``: ``run_sweep`` with that
  backend (``mpi``: two workers spawned with ``MPI_Comm_spawn``; results in
  the Parquet store on disk).

Each variant runs in a fresh Python process, timed from reading the sweep file to having every result;
with ``--reps N`` the variants take turns (round robin), so a load spike from other work on the machine
hits all alike, and the median is reported.  Besides wall time, each variant's CPU seconds (driver and
every descendant process: workers, Dask scheduler and nannies, MPI daemons; :class:`TreeCPU`) are
reported: on a machine shared with other work they show the variant's own cost where wall time shows
the others' load too.  Every variant's results (one row per point × policy: the
mean and each replication of the three outcomes) must be equal to the processes backend's, number for
number, or the benchmark fails.  Target: every variant within 10% of the fastest.

The table: median wall seconds and their ratio to the fastest; median CPU seconds of the whole process
tree and their ratio; ``driver``, the CPU seconds of the driver process alone (a Dask LocalCluster's
scheduler, client and nannies run there; mpi4py's driver polls there).  On 2 cores with 2 workers every
CPU second the driver, a scheduler or a worker spends outside the runs is taken from the runs.  Wall
times on a machine shared with other work are unfair to compare: Linux's autogroup scheduling gives
every session an equal share of the CPUs, and Open MPI starts its daemon in a session of its own
(``orted --set-sid``), so under load the MPI workers get a share beside the benchmark's session while
the other variants share one; the CPU columns do not depend on that.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

VARIANTS = ("ema_multiprocessing", "kyoso_processes", "kyoso_dask", "kyoso_mpi")
WORKERS = 2
POINTS, REPLICATIONS = 40, 3
OUTCOMES = {"hhi_country": "mean", "active_sites": "final", "share_TW": "max"}
TARGET = 1.10           # every variant's time ≤ 1.10 × the fastest's


def sweep_text(quarters: int) -> str:
    return f"""\
name = "bench_backends"
scenario = "baseline"
quarters = {quarters}
replications = {REPLICATIONS}
seed = 14
design = "lhs"
samples = {POINTS}
metrics = {json.dumps(list(OUTCOMES))}

[parameters]
"regions.TW-*.political_risk" = {{ low = 0.05, high = 0.6 }}
"params.w_agglomeration" = {{ low = 0.1, high = 5.0, log = true }}

[policies.status_quo]
"cocreation.talent.enabled" = false

[policies.talent]
"cocreation.talent.enabled" = true
"""


class TreeCPU:
    """CPU seconds (user + system) used by this process and every descendant while the block runs.

    Wall time on a machine shared with other work measures the others' load as much as the variant; CPU
    seconds measure what the variant itself costs (its driver, workers, schedulers, MPI daemons).  A
    thread samples ``/proc/<pid>/stat`` of every descendant each ``interval`` seconds and keeps each
    process's last reading (a process's own utime + stime, not its children's, so nothing counts twice);
    the last < ``interval`` seconds of a process that exits between samples are missed.
    """

    def __init__(self, interval: float = 0.5) -> None:
        self.interval, self.seen, self._stop = interval, {}, threading.Event()
        self.tick = os.sysconf("SC_CLK_TCK")

    def _sample(self) -> None:
        me = os.getpid()
        parent, stats = {}, {}
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            pid = int(entry)
            parent[pid] = int(fields[1])
            stats[pid] = (fields[19], (int(fields[11]) + int(fields[12])) / self.tick)   # starttime, utime+stime
        for pid, (start, cpu) in stats.items():
            p, depth = parent.get(pid), 0
            while p not in (None, 0, 1, me) and depth < 64:
                p, depth = parent.get(p), depth + 1
            if p == me:
                self.seen[(pid, start)] = cpu

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def __enter__(self) -> "TreeCPU":
        self.t0 = os.times()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sample()
        self._stop.set()
        self.thread.join()
        t1 = os.times()
        self.own = (t1.user - self.t0.user) + (t1.system - self.t0.system)
        self.descendants = sum(self.seen.values())
        self.total = self.own + self.descendants


def one(variant: str, quarters: int) -> dict:
    """Run one variant in this process; return its time and its results (as JSON-able lists)."""
    import warnings

    warnings.simplefilter("ignore")
    import numpy as np

    import experiments.ema as adapter
    import experiments.sweep  # noqa: F401  (imports done before timing, as for every variant)

    adapter._ema()
    tmp = Path(tempfile.mkdtemp(prefix="bench_backends_"))
    path = tmp / "sweep.toml"
    path.write_text(sweep_text(quarters))
    t0 = time.perf_counter()
    cpu = TreeCPU()
    if variant == "ema_multiprocessing":
        from ema_workbench import MultiprocessingEvaluator

        with cpu:
            study = adapter.sweep_to_ema(path, OUTCOMES, per_replication=True)
            with MultiprocessingEvaluator(study.model, n_processes=WORKERS) as ev:
                experiments, outcomes = study.perform(ev, log_progress=True)
        elapsed = time.perf_counter() - t0
        table = study.table(experiments, outcomes)
        desc = f"EMA MultiprocessingEvaluator ×{WORKERS}"
    else:
        from experiments.sweep import run_sweep
        from experiments.sweepfile import load_sweep

        backend = variant.split("_", 1)[1]
        with cpu:
            result = run_sweep(load_sweep(path), tmp / "store", backend=backend, workers=WORKERS,
                               progress=False)
        elapsed = time.perf_counter() - t0
        if not result.ok:
            raise RuntimeError(f"{variant}: {result.summary('bench')}")
        table = adapter.store_outcomes(tmp / "store", OUTCOMES, per_replication=True)
        desc = result.backend
    values = {name: [float(v) for v in table[name]] for name in OUTCOMES}
    values |= {f"{name}_replications": np.stack(table[f"{name}_replications"]).tolist() for name in OUTCOMES}
    return {"variant": variant, "backend": desc, "seconds": elapsed, "cpu_seconds": cpu.total,
            "cpu_driver": cpu.own, "rows": len(table),
            "keys": [[int(p), str(q)] for p, q in zip(table["point"], table["policy"])], "values": values}


def _spawn(variant: str, quarters: int) -> dict:
    cmd = [sys.executable, __file__, "--one", variant, "--quarters", str(quarters)]
    res = subprocess.run(cmd, capture_output=True, text=True, check=False,
                         env={**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"})
    if res.returncode != 0:
        raise RuntimeError(f"{variant} failed:\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=1, help="rounds over the variants (median per variant)")
    ap.add_argument("--quarters", type=int, default=12, help="quarters per run")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=VARIANTS)
    ap.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)
    ap.add_argument("--json", type=Path, default=Path(__file__).parent / "results" / "bench_backends.json")
    args = ap.parse_args()
    if args.one:
        print(json.dumps(one(args.one, args.quarters)))
        return

    n_runs = POINTS * 2 * REPLICATIONS
    load_before = os.getloadavg()[0]
    print(f"workload: baseline, {args.quarters} quarters, {POINTS} points × 2 policies × {REPLICATIONS} "
          f"replications = {n_runs} runs on {WORKERS} workers; {os.cpu_count()} CPUs; "
          f"load average before: {load_before:.2f}")
    runs: dict[str, list[dict]] = {v: [] for v in args.variants}
    for _ in range(args.reps):
        for v in args.variants:
            runs[v].append(_spawn(v, args.quarters))
            r = runs[v][-1]
            print(f"  {v:<22} {r['seconds']:7.2f} s wall, {r['cpu_seconds']:7.1f} CPU-s "
                  f"(driver {r['cpu_driver']:.1f}) ({r['backend']}; load average {os.getloadavg()[0]:.2f})",
                  flush=True)

    reference = runs[args.variants[0]][0]
    same = {v: all(r["keys"] == reference["keys"] and r["values"] == reference["values"] for r in rs)
            for v, rs in runs.items()}
    med = {v: statistics.median(r["seconds"] for r in rs) for v, rs in runs.items()}
    cpu = {v: statistics.median(r["cpu_seconds"] for r in rs) for v, rs in runs.items()}
    driver = {v: statistics.median(r["cpu_driver"] for r in rs) for v, rs in runs.items()}
    best, best_cpu = min(med.values()), min(cpu.values())
    print(f"\n{'variant':<22} {'wall s':>8} {'× best':>7} {'CPU-s':>8} {'× best':>7} {'driver':>7}  equal results  "
          f"wall target ≤ {TARGET:.2f} × best")
    checks = {}
    for v in args.variants:
        ratio = med[v] / best
        checks[v] = ratio <= TARGET
        print(f"{v:<22} {med[v]:8.2f} {ratio:7.3f} {cpu[v]:8.1f} {cpu[v] / best_cpu:7.3f} {driver[v]:7.1f}  "
              f"{'yes' if same[v] else 'NO':<13}  {'ok' if checks[v] else 'MISSED'}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "runs": n_runs, "quarters": args.quarters, "workers": WORKERS, "cpus": os.cpu_count(), "reps": args.reps,
        "seconds": {v: [round(r["seconds"], 3) for r in rs] for v, rs in runs.items()},
        "median_seconds": med, "ratio_to_best": {v: med[v] / best for v in med}, "within_target": checks,
        "cpu_seconds": {v: [round(r["cpu_seconds"], 2) for r in rs] for v, rs in runs.items()},
        "cpu_ratio_to_best": {v: cpu[v] / best_cpu for v in cpu},
        "cpu_driver_seconds": {v: [round(r["cpu_driver"], 2) for r in rs] for v, rs in runs.items()},
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "equal_results": same, "backends": {v: rs[0]["backend"] for v, rs in runs.items()},
    }, indent=2))
    print(f"written to {args.json}")
    if not all(same.values()):
        sys.exit("results differ between variants")


if __name__ == "__main__":
    main()
