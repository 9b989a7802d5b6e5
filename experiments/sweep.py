"""Many runs on a ``concurrent.futures.Executor``: the sweep runner.

One code path for every backend: the driver submits :func:`execute_run` for
each planned run that is not yet in ``runs/`` to an executor (on Dask and MPI
several runs per task, :func:`stream_tasks`), keeping at most a few tasks per
worker in flight, and writes each run's result to the store as it arrives.  The driver never holds more than that window of results, so its
memory does not grow with the number of runs.

Backends (``processes``, ``serial``, ``dask``): :mod:`experiments.executors`.

A run that raises (a model error, a scenario rule broken by one design point)
is an expected failure: it is recorded in ``failed/<run_id>.json`` with its
traceback and the sweep goes on.  An error in the runner itself (a worker
process killed, a result that cannot be written) stops the sweep loudly;
``--resume`` continues it later.  Workers return each run's Parquet bytes and
the driver writes them, so workers on other machines need no shared disk.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import sys
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from importlib import metadata
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterator

import numpy as np
import pandas as pd

from experiments.design import Design, RunSpec, build_design, plan_runs, reproduce_command
from experiments.executors import BACKENDS, SerialExecutor, batches_runs, open_executor
from experiments.runner import git_revision, metrics_table, run_scenario, versions
from experiments.store import SweepStore
from experiments.sweepfile import ResolvedSweep

__all__ = [
    "BACKENDS",
    "RunTask",
    "RunOutcome",
    "SweepResult",
    "SerialExecutor",
    "open_executor",
    "execute_run",
    "execute_runs",
    "stream_tasks",
    "metrics_table",
    "make_manifest",
    "run_sweep",
    "SweepInterrupted",
    "estimate_duration",
]

#: Tasks kept in flight per worker slot (enough to keep workers busy, few enough to bound memory).
WINDOW_PER_SLOT = 4
#: On executors that batch (Dask, MPI: :func:`experiments.executors.batches_runs`) a task holds runs
#: worth about this many seconds of work (from the runs timed so far; single runs until one is back) ...
BATCH_SECONDS = 1.0
#: ... and at most this many runs ...
BATCH_MAX = 32
#: ... and, when the number of runs is known, at most (runs not yet submitted) / (slots × BATCH_TAIL),
#: so tasks shrink to single runs towards the end and the workers finish together (guided scheduling).
BATCH_TAIL = 4


# ------------------------------------------------------------------ one run
@dataclass(frozen=True)
class RunTask:
    """Everything a worker needs for one run (plain, picklable data)."""

    run_id: str
    index: int
    point: int
    replication: int
    seed: int
    scenario_ref: str
    quarters: int
    parameters: dict[str, Any]
    fixed: dict[str, Any]
    metrics: tuple[str, ...]
    policy: str | None = None                 # None: the sweep has no [policies]
    levers: dict[str, Any] = field(default_factory=dict)           # the policy's effective lever values
    expanded: dict[str, Any] | None = None    # concrete overrides when keys bind several paths or with policies

    @property
    def overrides(self) -> dict[str, Any]:
        return dict(self.expanded) if self.expanded is not None else {**self.fixed, **self.parameters}


@dataclass
class RunOutcome:
    """What a worker sends back: Parquet bytes, or the error and its traceback."""

    run_id: str
    ok: bool
    payload: bytes | None = None
    error: str | None = None
    traceback: str | None = None
    elapsed: float = 0.0
    worker: str = ""


_SCENARIOS: dict[tuple[str, float], Any] = {}


def _scenario(ref: str) -> Any:
    """The validated scenario behind ``ref``, loaded once per worker process.

    ``ChipModel(Scenario, **overrides)`` validates exactly like
    ``ChipModel(path, **overrides)`` (both apply the overrides to the raw data
    and validate), so runs match ``kyoso run`` bit for bit; the cache saves
    re-reading the TOML and CSV files for every run.  A changed file (mtime)
    is read again.
    """
    from model.scenario import load_scenario

    path = Path(ref)
    stamp = path.stat().st_mtime if path.is_file() else 0.0
    key = (ref, stamp)
    if key not in _SCENARIOS:
        _SCENARIOS.clear()
        _SCENARIOS[key] = load_scenario(ref)
    return _SCENARIOS[key]


def run_frame(task: RunTask, metrics: pd.DataFrame) -> pd.DataFrame:
    """The tidy rows of one run: identifiers, [policy,] parameters, [levers,] step, quarter, metrics."""
    n = len(metrics)
    cols: dict[str, Any] = {
        "run_id": [task.run_id] * n,
        "point": np.full(n, task.point, dtype=np.int64),
        "replication": np.full(n, task.replication, dtype=np.int64),
        "seed": np.full(n, task.seed, dtype=np.int64),
    }
    if task.policy is not None:
        cols["policy"] = [task.policy] * n
    for path, value in task.parameters.items():
        cols[path] = [value] * n
    for path, value in task.levers.items():
        cols[path] = [value] * n
    cols["step"] = metrics["step"].to_numpy(dtype=np.int64)
    cols["quarter"] = metrics["quarter"].astype(str).to_numpy()
    for m in task.metrics:
        cols[m] = metrics[m].to_numpy(dtype=np.float64)
    return pd.DataFrame(cols)


def _parquet_bytes(df: pd.DataFrame) -> bytes:
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = io.BytesIO()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink)
    return sink.getvalue()


def execute_run(task: RunTask) -> RunOutcome:
    """Run one model and return its rows as Parquet bytes (runs in a worker).

    Exceptions from building or running the model are caught and returned as
    a failed outcome with the traceback; anything after that is the runner's
    own code and propagates (a bug must stop the sweep).
    """
    t0 = time.perf_counter()
    worker = f"{socket.gethostname()}:{os.getpid()}"
    try:
        model = run_scenario(_scenario(task.scenario_ref), seed=task.seed, quarters=task.quarters,
                             overrides=task.overrides)
        mt = metrics_table(model, task.metrics)
    except Exception as exc:  # an expected failure: recorded, the sweep goes on
        return RunOutcome(task.run_id, False, error=f"{type(exc).__name__}: {exc}",
                          traceback=traceback.format_exc(), elapsed=time.perf_counter() - t0, worker=worker)
    payload = _parquet_bytes(run_frame(task, mt))
    return RunOutcome(task.run_id, True, payload=payload, elapsed=time.perf_counter() - t0, worker=worker)


# ---------------------------------------------------------------- the sweep
def _versions() -> dict[str, str]:
    out = versions()
    for pkg in ("SALib", "scipy", "dask", "distributed", "tqdm"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def _plan_hash(runs: list[RunSpec], sweep: ResolvedSweep | None = None) -> str:
    """Hash of run ids, seeds and parameters (with policies or bindings also each run's concrete overrides)."""
    if sweep is not None and (sweep.policies or sweep.expansions):
        rows: list[Any] = [[r.run_id, r.seed, r.parameters, r.policy, sweep.overrides(r.parameters, r.policy)]
                           for r in runs]
    else:
        rows = [[r.run_id, r.seed, r.parameters] for r in runs]
    text = json.dumps(rows, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


_SEED_HOW = ("root = SeedSequence(seed); design, runs = root.spawn(2); run k uses runs.spawn(n_runs)[k] "
             "(spawn_key (1, k)); its seed is the 63 low bits of generate_state(2, uint32) read as one "
             "big-endian 64-bit number, passed to ChipModel(rng=seed)")
_SEED_HOW_POLICIES = ("root = SeedSequence(seed); design, runs = root.spawn(2); the run at design point p and "
                      "replication r uses runs.spawn(n_points × replications)[p × replications + r] (spawn_key "
                      "(1, p × replications + r)) under every policy, so all policies share the seeds of a "
                      "(point, replication) (with common_seeds, runs.spawn(replications)[r] at every point); "
                      "its seed is the 63 low bits of generate_state(2, uint32) read as one big-endian "
                      "64-bit number, passed to ChipModel(rng=seed)")


def _run_record(sweep: ResolvedSweep, r: RunSpec) -> dict[str, Any]:
    overrides = sweep.overrides(r.parameters, r.policy)
    extra = {"overrides": overrides} if (sweep.policies or sweep.expansions) else {}
    return r.to_json() | extra | {"command": reproduce_command(sweep.scenario_ref, sweep.quarters, r.seed, overrides)}


def make_manifest(sweep: ResolvedSweep, design: Design, runs: list[RunSpec]) -> dict[str, Any]:
    """Everything needed to read, check, resume and reproduce the sweep.

    With policies also ``policies`` (name → every lever's effective value),
    ``levers`` (lever path → kind, unit, description) and each run's
    ``policy``; with bindings ``bindings`` (key → the paths it sets); with
    either, each run's concrete ``overrides``.
    """
    from datetime import datetime, timezone

    spec = sweep.spec
    extra: dict[str, Any] = {}
    if sweep.policies:
        extra["policies"] = sweep.policies
        extra["policy_names"] = sweep.policy_names
        extra["levers"] = {p: {"kind": i.kind, "unit": i.unit, "description": i.description}
                           for p, i in sweep.levers.items()}
        extra["n_policies"] = len(sweep.policies)
    if sweep.expansions:
        extra["bindings"] = sweep.expansions
    manifest = {
        "kind": "kyoso sweep",
        "format": 1,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "name": spec.name,
        "sweep_file": sweep.origin,
        "sweep": spec.normalized(),
        "scenario_ref": sweep.scenario_ref,
        "scenario_hash": sweep.scenario_hash,
        "quarters": sweep.quarters,
        "metrics": sweep.metrics,
        "parameters": {p: {"kind": sweep.infos[p].kind, "unit": sweep.infos[p].unit,
                           "description": sweep.infos[p].description} for p in sweep.names},
        "fixed": sweep.fixed,
        "design": design.to_json(),
        "n_points": design.n_points,
        "replications": spec.replications,
        "n_runs": len(runs),
        "seed_tree": {
            "entropy": spec.seed,
            "how": _SEED_HOW_POLICIES if sweep.policies else _SEED_HOW,
            "design_spawn_key": [0],
            "runs_spawn_key": [1],
        },
        "plan_hash": _plan_hash(runs, sweep),
        "versions": _versions(),
        "git_revision": git_revision(),
        "runs": [_run_record(sweep, r) for r in runs],
    }
    if extra:           # after the design, before the runs; a sweep without policies or bindings is as before
        runs_list = manifest.pop("runs")
        manifest |= extra
        manifest["runs"] = runs_list
    return manifest


class SweepInterrupted(Exception):
    """Ctrl-C stopped the sweep: ``done`` of ``planned`` runs are saved in ``root``; ``--resume`` continues."""

    def __init__(self, root: Path, done: int, planned: int) -> None:
        super().__init__(f"{done} of {planned} runs saved; continue with --resume")
        self.root, self.done, self.planned = root, done, planned


@dataclass
class SweepResult:
    root: Path
    planned: int
    done: int
    failed: list[str] = field(default_factory=list)
    ran: int = 0
    skipped: int = 0
    elapsed: float = 0.0
    backend: str = ""

    @property
    def ok(self) -> bool:
        return not self.failed and self.done == self.planned

    def summary(self, name: str) -> str:
        line = (f"kyoso sweep {name}: {self.done}/{self.planned} runs done, {len(self.failed)} failed "
                f"({self.ran} ran in this session on {self.backend}, {self.skipped} already done; "
                f"{self.elapsed:.1f} s) → {self.root}")
        if self.failed:
            line += f"; see {self.root / 'failed'} and rerun with --resume to retry them"
        return line


def _tasks(sweep: ResolvedSweep, runs: list[RunSpec]) -> Iterator[RunTask]:
    concrete = bool(sweep.policies or sweep.expansions)
    for r in runs:
        yield RunTask(run_id=r.run_id, index=r.index, point=r.point, replication=r.replication, seed=r.seed,
                      scenario_ref=sweep.scenario_ref, quarters=sweep.quarters, parameters=r.parameters,
                      fixed=sweep.fixed, metrics=tuple(sweep.metrics), policy=r.policy,
                      levers=dict(sweep.policies.get(r.policy, {})) if r.policy is not None else {},
                      expanded=sweep.overrides(r.parameters, r.policy) if concrete else None)


def execute_runs(tasks: list[RunTask]) -> list[RunOutcome]:
    """Several runs in one worker task, one after another, each exactly as :func:`execute_run` runs it."""
    return [execute_run(task) for task in tasks]


def batch_size(slots: int, seconds_per_run: float | None, unsubmitted: int | None) -> int:
    """How many runs the next task of a batching executor holds (see :data:`BATCH_SECONDS`).

    ``seconds_per_run``: the mean worker time of the runs back so far (None:
    none yet, so single runs); ``unsubmitted``: runs not yet submitted (None:
    unknown, then only the time and :data:`BATCH_MAX` limit a task).
    """
    if seconds_per_run is None:
        return 1
    k = min(BATCH_MAX, int(BATCH_SECONDS / max(seconds_per_run, 1e-6)))
    if unsubmitted is not None:
        k = min(k, -(-unsubmitted // (max(1, slots) * BATCH_TAIL)))
    return max(1, k)


def stream_tasks(executor: Executor, slots: int, tasks: Iterator[RunTask],
                 take: Callable[[RunOutcome], None], *, total: int | None = None,
                 batch: bool | None = None) -> None:
    """Run ``tasks`` on ``executor`` (:func:`execute_run` in the workers) and hand each outcome to ``take``.

    At most ``slots × WINDOW_PER_SLOT`` tasks are in flight (``slots``: the
    executor's worker count), so a lazy iterator of many tasks is read only as
    workers free up; outcomes arrive in the order they finish, not the order
    submitted.  A failed run is an outcome with ``ok = False``; an exception
    from a future (a runner error, not a failed run) or from ``take`` cancels
    what is pending and propagates: the caller stops loudly.  Used by
    :func:`run_sweep` and by :mod:`experiments.search`.

    ``batch`` (default: :func:`experiments.executors.batches_runs`, i.e. Dask
    and MPI): a task holds several runs (:func:`execute_runs`, sized by
    :func:`batch_size`; ``total``, the number of runs in ``tasks`` if known,
    makes the last tasks single runs).  Each run's outcome is still handed to
    ``take`` on its own, so the store is written run by run, as without
    batches; a run in a batch is computed exactly as alone.  What batches
    change: the driver's cost per run (on 2 Dask workers about 9 ms of driver
    and scheduler CPU per task), and that an interrupted sweep loses the runs
    of the batches in flight, not only single runs (``--resume`` runs them).
    """
    if batch is None:
        batch = batches_runs(executor)
    window = max(1, slots * WINDOW_PER_SLOT)
    pending: set[Future] = set()
    timed = {"runs": 0, "seconds": 0.0, "submitted": 0}

    def fill() -> None:
        while len(pending) < window:
            if not batch:
                task = next(tasks, None)
                if task is None:
                    return
                pending.add(executor.submit(execute_run, task))
                continue
            per_run = timed["seconds"] / timed["runs"] if timed["runs"] else None
            unsubmitted = None if total is None else max(0, total - timed["submitted"])
            chunk = list(islice(tasks, batch_size(slots, per_run, unsubmitted)))
            if not chunk:
                return
            timed["submitted"] += len(chunk)
            pending.add(executor.submit(execute_runs, chunk))

    def collect(outcome: RunOutcome) -> None:
        timed["runs"] += 1
        timed["seconds"] += outcome.elapsed
        take(outcome)

    try:
        fill()
        while pending:
            finished, _ = wait(pending, return_when=FIRST_COMPLETED)
            for fut in finished:
                pending.discard(fut)
                result = fut.result()
                for outcome in (result if batch else [result]):
                    collect(outcome)
            fill()
    except BaseException:
        for fut in pending:
            fut.cancel()
        raise


def _failure_record(sweep: ResolvedSweep, spec: RunSpec, outcome: RunOutcome) -> dict[str, Any]:
    """What ``failed/<run_id>.json`` says about a failed run, with the command that repeats it."""
    policy = {"policy": spec.policy} if spec.policy is not None else {}
    return {"run_id": outcome.run_id, "point": spec.point, "replication": spec.replication, **policy,
            "seed": spec.seed, "parameters": spec.parameters, "error": outcome.error, "traceback": outcome.traceback,
            "worker": outcome.worker, "elapsed_seconds": outcome.elapsed,
            "command": reproduce_command(sweep.scenario_ref, sweep.quarters, spec.seed,
                                         sweep.overrides(spec.parameters, spec.policy))}


def run_sweep(sweep: ResolvedSweep, out: str | Path, *, backend: str = "processes", workers: int | None = None,
              scheduler: str | None = None, resume: bool = False, progress: bool = True) -> SweepResult:
    """Run every planned run of ``sweep`` not yet in ``out/runs``, streaming results to disk.

    Returns counts; failed runs are listed in ``SweepResult.failed``.
    Raises :class:`UserError` before writing anything for a directory that
    would be overwritten or a ``--resume`` of a different sweep, and
    :class:`SweepInterrupted` on Ctrl-C (the workers are stopped, finished
    runs are kept).
    """
    t0 = time.perf_counter()
    out = Path(out)
    design = build_design(sweep)
    runs = plan_runs(sweep, design)
    manifest = make_manifest(sweep, design, runs)
    SweepStore.check(out, manifest, resume=resume)        # refuse before starting any worker
    if sweep.quarters < sweep.scenario.meta.horizon:      # warn here of events that will not fire (workers don't)
        from model.scenario import load_scenario

        load_scenario(sweep.scenario, **{**sweep.overrides({}), "meta.horizon": sweep.quarters})
    store: SweepStore | None = None
    desc = backend
    try:
        with open_executor(backend, workers, scheduler) as (executor, slots, desc):
            store = SweepStore.open(out, manifest, resume=resume)
            done = store.done_ids()
            todo = [r for r in runs if r.run_id not in done]
            by_id = {r.run_id: r for r in todo}
            failed: list[str] = []
            ran: list[str] = []
            bar = _progress(len(runs), len(runs) - len(todo), sweep.spec.name, progress)

            def take(outcome: RunOutcome) -> None:
                ran.append(outcome.run_id)
                if outcome.ok:
                    assert outcome.payload is not None
                    store.write_run(outcome.run_id, outcome.payload)
                else:
                    store.write_failure(outcome.run_id, _failure_record(sweep, by_id[outcome.run_id], outcome))
                    failed.append(outcome.run_id)
                bar.update(1)
                if failed:
                    bar.set_postfix_str(f"failed={len(failed)}", refresh=False)

            try:
                stream_tasks(executor, slots, _tasks(sweep, todo), take, total=len(todo))
            finally:
                bar.close()
            done_now = store.done_ids()
            planned_ids = [r.run_id for r in runs]
            result = SweepResult(root=out, planned=len(runs), done=sum(1 for r in planned_ids if r in done_now),
                                 failed=[r for r in planned_ids if r not in done_now], ran=len(ran),
                                 skipped=len(runs) - len(todo), elapsed=time.perf_counter() - t0, backend=desc)
            store.log_session({"backend": desc, "resume": resume, "ran": result.ran, "skipped": result.skipped,
                               "failed": len(result.failed), "done": result.done, "planned": result.planned,
                               "elapsed_seconds": round(result.elapsed, 3), "versions": _versions(),
                               "git_revision": git_revision()})
    except KeyboardInterrupt:
        done_ids = SweepStore(out).done_ids()
        done = sum(1 for r in runs if r.run_id in done_ids)
        if store is not None:
            store.log_session({"backend": desc, "resume": resume, "interrupted": True, "done": done,
                               "planned": len(runs), "elapsed_seconds": round(time.perf_counter() - t0, 3)})
        raise SweepInterrupted(out, done, len(runs)) from None
    return result


@dataclass(frozen=True)
class Estimate:
    """A sweep's expected wall time from one run timed here (``--dry-run``)."""

    seconds: float          # the whole sweep
    per_run: float          # one run of the sweep's length
    build: float            # building one model
    per_quarter: float      # one quarter
    probe_quarters: int     # quarters actually timed
    slots: int

    def text(self) -> str:
        return (f"estimated run time: {_duration(self.seconds)} on {self.slots} worker(s) "
                f"(one run timed here: build {self.build:.2f} s + {self.probe_quarters} quarters at "
                f"{self.per_quarter:.3f} s each → {_duration(self.per_run)} per run; a rough guide)")


def _duration(seconds: float) -> str:
    if seconds < 1:
        return "under 1 s"
    if seconds < 90:
        return f"about {seconds:.0f} s" if seconds >= 10 else f"about {seconds:.1f} s"
    if seconds < 5400:
        return f"about {seconds / 60:.0f} min"
    return f"about {seconds / 3600:.1f} h"


def estimate_duration(sweep: ResolvedSweep, runs: list[RunSpec], slots: int, *, probe_quarters: int = 4) -> Estimate:
    """Time the first planned run for a few quarters here and scale: build + quarters × per-quarter time,
    × runs / worker slots.  Raises what building that run raises (a design point may break a rule)."""
    from model import ChipModel

    task = next(_tasks(sweep, runs[:1]))
    q = min(probe_quarters, task.quarters)
    t0 = time.perf_counter()
    model = ChipModel(_scenario(task.scenario_ref), rng=task.seed, **{**task.overrides, "meta.horizon": task.quarters})
    t1 = time.perf_counter()
    for _ in range(q):
        model.step()
    t2 = time.perf_counter()
    per_quarter = (t2 - t1) / q
    per_run = (t1 - t0) + per_quarter * task.quarters
    slots = max(1, min(slots, len(runs)))
    waves = -(-len(runs) // slots)
    return Estimate(seconds=per_run * waves, per_run=per_run, build=t1 - t0, per_quarter=per_quarter,
                    probe_quarters=q, slots=slots)


def _progress(total: int, initial: int, name: str, enabled: bool) -> Any:
    from tqdm import tqdm

    tqdm.monitor_interval = 0          # no monitor thread in the driver
    return tqdm(total=total, initial=initial, desc=name, unit="run", file=sys.stderr, disable=not enabled,
                dynamic_ncols=True, smoothing=0.05)
