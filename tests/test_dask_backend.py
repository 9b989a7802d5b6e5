"""Several runs per task on Dask and MPI (``stream_tasks`` batches), and the Dask LocalCluster's fork server.

Batches only change how runs travel to the workers: each run's outcome is still handed over (and stored)
on its own, the store equals the processes backend's number for number, and the last tasks are single
runs so the workers finish together.  Issue #14's benchmark (``benchmarks/bench_backends.py``) measures
what they save.
"""

from __future__ import annotations

import os
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import experiments.sweep as sw
from experiments.executors import DASK_FORKSERVER_PRELOAD, SerialExecutor, batches_runs, open_executor
from experiments.store import load_results
from experiments.sweep import BATCH_MAX, BATCH_TAIL, RunOutcome, batch_size, run_sweep, stream_tasks
from experiments.sweepfile import load_sweep

TINY = str(Path(__file__).parent / "data" / "tiny.toml")
SWEEP = f'''
name = "batches"
scenario = "{TINY}"
quarters = 6
replications = 4
seed = 14
design = "lhs"
samples = 10
metrics = ["share_US", "hhi_country", "capacity_fab"]
[parameters]
"governments.US.subsidy_rate" = {{ low = 0.0, high = 0.5 }}
"params.w_agglomeration" = {{ low = 0.2, high = 3.0 }}
'''


class Inline(Executor):
    """Runs each call at once in the caller, like ``SerialExecutor``, but is not one: the runner batches."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        self.sizes.append(len(args[0]) if fn is sw.execute_runs else 1)
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:
            fut.set_exception(exc)
        return fut


def _fake_run(seconds: float, fail: str | None = None) -> Callable[[Any], RunOutcome]:
    def run(task: Any) -> RunOutcome:
        if task == fail:
            raise RuntimeError("runner bug")
        return RunOutcome(run_id=task, ok=True, payload=b"x", elapsed=seconds)
    return run


# ------------------------------------------------------------------ batch sizes
def test_batch_size_single_runs_until_a_run_is_timed_then_about_one_second_of_runs():
    assert batch_size(2, None, 1000) == 1
    assert batch_size(2, 0.1, 1000) == 10
    assert batch_size(2, 0.3, None) == 3
    assert batch_size(2, 2.5, 1000) == 1                   # a long run is a task of its own
    assert batch_size(2, 1e-4, None) == BATCH_MAX
    assert batch_size(2, 0.01, 16) == 2                     # guided: 16 left / (2 slots × 4)
    assert batch_size(2, 0.01, 3) == 1 and batch_size(2, 0.01, 0) == 1


@settings(max_examples=200, deadline=None)
@given(slots=st.integers(1, 64), seconds=st.one_of(st.none(), st.floats(0.0, 100.0)),
       unsubmitted=st.one_of(st.none(), st.integers(0, 10**6)))
def test_batch_size_is_between_one_and_the_limits(slots, seconds, unsubmitted):
    k = batch_size(slots, seconds, unsubmitted)
    assert 1 <= k <= BATCH_MAX
    if unsubmitted is not None:
        assert k <= max(1, -(-unsubmitted // (slots * BATCH_TAIL)))
    if seconds is None:
        assert k == 1


# ------------------------------------------------------------------ the stream
def test_which_executors_batch():
    assert not batches_runs(SerialExecutor())
    with ProcessPoolExecutor(1) as pool:
        assert not batches_runs(pool)
    with ThreadPoolExecutor(1) as pool:
        assert batches_runs(pool)


@pytest.mark.parametrize("total", [200, None])
def test_batches_hand_every_run_over_once_and_shrink_to_single_runs(monkeypatch, total):
    monkeypatch.setattr(sw, "execute_run", _fake_run(0.05))
    ex, taken = Inline(), []
    stream_tasks(ex, 2, iter([f"r{i}" for i in range(200)]), lambda o: taken.append(o.run_id), total=total)
    assert sorted(taken) == sorted(f"r{i}" for i in range(200)) and len(set(taken)) == 200
    assert sum(ex.sizes) == 200
    assert ex.sizes[:8] == [1] * 8                            # nothing timed yet: one run per task
    assert max(ex.sizes) == 20                                # 1 s of 0.05 s runs
    assert len(ex.sizes) < 200 / 4
    if total is not None:                                     # guided: the tail is single runs
        assert ex.sizes[-3:] == [1, 1, 1]
        assert all(a >= b for a, b in zip(ex.sizes[8:], ex.sizes[9:]))


def test_without_batching_every_run_is_its_own_task(monkeypatch):
    monkeypatch.setattr(sw, "execute_run", _fake_run(0.05))
    ex, taken = Inline(), []
    stream_tasks(ex, 2, iter([f"r{i}" for i in range(30)]), lambda o: taken.append(o.run_id), total=30, batch=False)
    assert ex.sizes == [1] * 30 and sorted(taken) == sorted(f"r{i}" for i in range(30))


def test_a_runner_error_inside_a_batch_stops_the_stream(monkeypatch):
    monkeypatch.setattr(sw, "execute_run", _fake_run(0.05, fail="r20"))
    ex, taken = Inline(), []
    with pytest.raises(RuntimeError, match="runner bug"):
        stream_tasks(ex, 2, iter([f"r{i}" for i in range(100)]), lambda o: taken.append(o.run_id), total=100)
    assert "r20" not in taken and len(taken) < 100


# ------------------------------------------------------------------ Dask
def test_dask_workers_are_forked_from_a_server_that_has_the_runner_imported():
    probe = ("(__import__('os').getppid(), "
             "[m for m in " + repr(DASK_FORKSERVER_PRELOAD) + " if m not in __import__('sys').modules])")
    with open_executor("dask", 2) as (ex, slots, desc):
        assert slots == 2 and "LocalCluster" in desc
        parents, missing = zip(*[ex.submit(eval, probe).result() for _ in range(4)])
    assert os.getpid() not in parents                    # spawned workers would be the driver's children
    assert missing == ([],) * 4                          # imported before the first task


def test_dask_with_batches_stores_what_processes_store(tmp_path, monkeypatch):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP)
    sweep = load_sweep(path)
    sizes: list[int] = []
    real = sw.batch_size

    def recorded(*args: Any) -> int:
        sizes.append(real(*args))
        return sizes[-1]

    monkeypatch.setattr(sw, "batch_size", recorded)
    frames = {}
    for backend in ("processes", "dask"):
        res = run_sweep(sweep, tmp_path / backend, backend=backend, workers=2, progress=False)
        assert res.ok and res.done == 40, res
        frames[backend] = load_results(tmp_path / backend)
    assert max(sizes) > 1 and sizes[-1] == 1             # dask ran batches (processes never asks)
    pd.testing.assert_frame_equal(frames["processes"], frames["dask"], check_exact=True)
    assert frames["dask"].groupby("run_id")["share_US"].last().nunique() > 1
