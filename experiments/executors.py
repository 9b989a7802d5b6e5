"""Executors for the sweep runner: one ``concurrent.futures.Executor`` per backend.

* ``processes`` (default): ``ProcessPoolExecutor`` on this machine, its
  workers forked from a fork server that has the runner preloaded; workers
  ignore Ctrl-C (the driver stops them) and exit by themselves within a
  second when the driver dies, even by SIGKILL (:func:`_worker_init`);
* ``serial``: runs in the driver, one after another (debugging, tests);
* ``dask``: ``distributed.Client(...).get_executor()``, on a ``LocalCluster``
  (one single-threaded worker process per ``--workers``) or on an existing
  cluster given by ``--scheduler ADDRESS``.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from experiments.errors import UserError
from experiments.store import pid_running

__all__ = ["BACKENDS", "DASK_CONFIG", "SerialExecutor", "open_executor"]

BACKENDS = ("processes", "dask", "serial")
#: Dask settings for the LocalCluster the runner starts.  A worker's
#: statistical profiler samples the task thread's stack every 10 ms and its
#: event loop wakes every 20 ms (tick) and 500 ms (system monitor); each takes
#: the GIL from the model run, which made runs up to 2× slower than in a plain
#: process here.  The runner needs none of that at those rates.
DASK_CONFIG = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.interval": "5s",
    "distributed.worker.memory.monitor-interval": "1s",
}


class SerialExecutor(Executor):
    """A ``concurrent.futures.Executor`` that runs each call at once, in the driver."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        fut: Future = Future()
        try:
            fut.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # delivered through the future like any executor
            fut.set_exception(exc)
        return fut


def _process_context() -> Any:
    """``forkserver`` with the runner preloaded (POSIX), else ``spawn``.

    Plain ``fork`` would start faster, but forking a driver that has any
    thread (a Dask client's, a test runner's, Arrow's) can deadlock the
    child; the fork server is a clean single-threaded process that imports
    the model once (~0.7 s here) and forks every worker from there.
    """
    import multiprocessing as mp

    if "forkserver" in mp.get_all_start_methods():
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(["experiments.sweep"])
        return ctx
    return mp.get_context("spawn")


#: Seconds between a worker's checks that its driver still runs.
PARENT_POLL = 0.5


def _worker_init(driver: int) -> None:
    """In each worker process: ignore Ctrl-C, and exit when the driver ``driver`` is gone.

    A terminal's Ctrl-C reaches the whole process group; the driver handles it
    (and stops the workers), so workers print nothing.  A worker's parent is
    the fork server, which exits when the driver dies; a daemon thread polls
    the parent and the driver and ends the worker at once (``os._exit``) when
    either is gone, so no worker, fork server or resource tracker outlives a
    killed driver by more than a second or so.
    """
    import warnings

    from model.scenario.references import EventsBeyondHorizonWarning

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.simplefilter("ignore", EventsBeyondHorizonWarning)     # the driver has said it once
    parent = os.getppid()

    def watch() -> None:
        while True:
            time.sleep(PARENT_POLL)
            if os.getppid() != parent or not pid_running(driver):
                os._exit(1)

    threading.Thread(target=watch, name="kyoso-parent-watch", daemon=True).start()


def _stop_workers(ex: ProcessPoolExecutor) -> None:
    """Cancel what is queued and end the worker processes now (Ctrl-C or an error in the driver)."""
    procs = list((getattr(ex, "_processes", None) or {}).values())
    ex.shutdown(wait=False, cancel_futures=True)
    for proc in procs:
        if proc.is_alive():
            proc.terminate()
    for proc in procs:
        proc.join(5)


@contextmanager
def open_executor(backend: str = "processes", workers: int | None = None, scheduler: str | None = None,
                  connect_timeout: str = "10s") -> Iterator[tuple[Executor, int, str]]:
    """Yield ``(executor, worker slots, description)`` for a backend; shut it down after."""
    if backend not in BACKENDS:
        raise UserError(f"--backend {backend!r}: expected one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise UserError(f"--scheduler {scheduler}: only used with --backend dask")
    n = workers or os.cpu_count() or 1
    if backend == "serial":
        yield SerialExecutor(), 1, "serial"
        return
    if backend == "processes":
        ex = ProcessPoolExecutor(max_workers=n, mp_context=_process_context(), initializer=_worker_init,
                                 initargs=(os.getpid(),))
        try:
            yield ex, n, f"processes ×{n}"
        except BaseException:
            _stop_workers(ex)
            raise
        ex.shutdown(wait=True)
        return
    import logging

    from distributed import Client, LocalCluster

    import dask

    cluster = None
    if scheduler is None:
        with dask.config.set(DASK_CONFIG):
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=logging.ERROR)
        client = Client(cluster)
        desc = f"dask LocalCluster ×{n}"
    else:
        try:
            client = Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UserError(f"--scheduler {scheduler}: cannot connect: {exc}") from None
        n = sum(w.get("nthreads", 1) for w in client.scheduler_info()["workers"].values()) or 1
        desc = f"dask {scheduler} ({n} threads)"
    try:
        ex = client.get_executor(pure=False)
        yield ex, n, desc
        ex.shutdown(wait=True)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
