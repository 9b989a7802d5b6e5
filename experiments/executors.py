"""Executors for the sweep runner: one ``concurrent.futures.Executor`` per backend.

* ``processes`` (default): ``ProcessPoolExecutor`` on this machine, its
  workers forked from a fork server that has the runner preloaded; workers
  ignore Ctrl-C (the driver stops them) and exit by themselves within a
  second when the driver dies, even by SIGKILL (:func:`_worker_init`);
* ``serial``: runs in the driver, one after another (debugging, tests);
* ``dask``: ``distributed.Client(...).get_executor()``, on a ``LocalCluster``
  (one single-threaded worker process per ``--workers``) or on an existing
  cluster given by ``--scheduler ADDRESS``;
* ``mpi``: ``mpi4py.futures.MPIPoolExecutor`` (:func:`_mpi_executor`).  Run
  plainly (``kyoso sweep … --backend mpi --workers N``) it spawns N worker
  processes with ``MPI_Comm_spawn``; run under ``mpiexec -n K python -m
  mpi4py.futures -m experiments.cli sweep … --backend mpi`` (a SLURM job) the
  K − 1 other ranks of ``MPI_COMM_WORLD`` are the workers and ``--workers``
  is not used.  mpi4py's executor is a ``concurrent.futures.Executor`` (EMA
  Workbench's ``MPIEvaluator`` builds on it too), so kyoso keeps one executor
  path for every backend: workers return each run's Parquet bytes, the
  driver writes the store.  Ctrl-C cancels the queued runs; the driver exits
  when the tasks already on the workers finish (at most one task each, about
  a second of runs: see :func:`batches_runs`).

Every backend runs the same :func:`experiments.sweep.execute_run`, so a
sweep's store holds the same numbers whichever backend ran it.  Dask and MPI
pass every task through a scheduler or MPI messages, which costs the driver
milliseconds per task; on them the sweep runner sends several runs per task
(:func:`batches_runs`, :func:`experiments.sweep.stream_tasks`).
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

__all__ = ["BACKENDS", "DASK_CONFIG", "MPI_BACKOFF", "SerialExecutor", "batches_runs", "open_executor"]

BACKENDS = ("processes", "dask", "mpi", "serial")
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


#: Modules the fork server of a Dask ``LocalCluster`` imports before it forks the worker processes.
DASK_FORKSERVER_PRELOAD = ["distributed", "experiments.sweep"]


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


def batches_runs(executor: Executor) -> bool:
    """Whether the sweep runner should send several runs per task to ``executor``.

    True for Dask and MPI: each task costs their driver a few milliseconds of
    CPU (Dask: the scheduler, client and nannies run in the driver; measured
    about 9 ms of CPU per task on 2 workers, against 1 ms for the processes
    backend) and an MPI worker waits for the driver between tasks.  On two
    cores that CPU is taken from the workers.  False for the processes and
    serial executors (cheap tasks; the serial executor's tests count calls).
    """
    return not isinstance(executor, (SerialExecutor, ProcessPoolExecutor))


def _start_dask_forkserver() -> dict[str, Any]:
    """Start a fork server that imports Dask and the runner; return the Dask setting that forks workers from it.

    With Dask's default (``spawn``) every worker process of a ``LocalCluster``
    starts Python, imports ``distributed`` and, at its first run, the model:
    about 1.8 s of CPU per worker, on two cores while the driver starts the
    cluster; closing the cluster took 0.6–0.7 s.  A fork server that has
    imported :data:`DASK_FORKSERVER_PRELOAD` forks ready workers.  It is
    started here, before the driver imports ``distributed``, so its imports
    run beside the driver's.  Measured here (time from importing
    ``distributed`` to both workers having run a task, 2 workers): spawn
    4.4–4.9 s, fork server 3.1–3.3 s; closing 0.03–0.08 s.  Dask sets its own
    preload list when it first uses the fork server, too late to matter once
    the server runs.  A fork server already running in this process (a
    processes-backend sweep before) is used as it is.  Where fork servers do
    not exist (Windows) Dask's default stays.  Dask's ``pre-spawn-environ``
    (``MALLOC_TRIM_THRESHOLD_``, ``OMP_NUM_THREADS``) cannot reach a worker
    forked this way: a Dask worker runs in the environment a processes-backend
    worker has.
    """
    import multiprocessing as mp
    from multiprocessing import forkserver

    if "forkserver" not in mp.get_all_start_methods():
        return {}
    mp.get_context("forkserver").set_forkserver_preload(DASK_FORKSERVER_PRELOAD)
    forkserver.ensure_running()
    return {"distributed.worker.multiprocessing-method": "forkserver"}


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
    if backend == "mpi":
        with _mpi_executor(workers) as (ex, slots, desc):
            yield ex, slots, desc
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

    local = _start_dask_forkserver() if scheduler is None else {}
    from distributed import Client, LocalCluster

    import dask

    cluster = None
    if scheduler is None:
        with dask.config.set({**DASK_CONFIG, **local}):
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


# ----------------------------------------------------------------------- MPI
#: Seconds the driver waits for spawned MPI workers to report in before it gives up.
MPI_START_TIMEOUT = 120.0
#: Longest sleep (seconds) between two polls of mpi4py's driver loop for finished tasks (mpi4py's
#: ``backoff``; its default is 0.001).  While workers run, the driver polls at this rate: 1 ms cost the
#: driver 32 ms of CPU per second of waiting here, 10 ms 8 ms (measured), CPU a 2-core machine takes from
#: the workers.  A finished task waits on average half of it for the driver to notice; with several runs
#: per task (:func:`batches_runs`) that is a fraction of a percent.  ``MPI4PY_FUTURES_BACKOFF`` in the
#: environment wins.
MPI_BACKOFF = 0.01
MPI_HINT = ("install mpi4py in this environment (pip install 'kyoso[mpi]') and an MPI runtime "
            "(Debian/Ubuntu: apt-get install openmpi-bin; on a cluster: module load openmpi)")


def _mpi_worker_init() -> None:
    """In each MPI worker: ignore Ctrl-C (the driver stops the sweep) and the events-beyond-horizon warning.

    Imports nothing of kyoso (the first task does): while workers run their
    initializer the driver waits in a blocking MPI call, which Open MPI makes
    a busy wait (3.4 CPU-seconds of the driver for importing the model here,
    measured); during tasks mpi4py's driver polls with sleeps instead.  The
    warning is matched by its text (``model.scenario.references``).
    """
    import warnings

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.filterwarnings("ignore", message=r".*event\(s\) start after the run's last quarter",
                            category=UserWarning)


def _import_mpi() -> tuple[Any, Any]:
    """``(MPI, MPIPoolExecutor)``, or a one-line UserError when mpi4py or the MPI library is missing.

    Before MPI starts (importing ``mpi4py.MPI`` initialises it), Open MPI is
    allowed to place more processes than cores on this machine: a plain
    ``--workers N`` spawns N workers next to the driver, as the processes
    backend does; under ``mpiexec`` or SLURM the launcher has already decided
    and this setting has no effect.  A value already in the environment wins.
    """
    os.environ.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "true")
    try:
        from mpi4py import MPI
        from mpi4py.futures import MPIPoolExecutor
    except ImportError as exc:
        raise UserError(f"--backend mpi: mpi4py is not installed ({exc}); {MPI_HINT}") from None
    except Exception as exc:  # mpi4py's wheel found no MPI library, or MPI_Init failed
        raise UserError(f"--backend mpi: cannot load or start the MPI library ({type(exc).__name__}: "
                        f"{str(exc).splitlines()[0] if str(exc) else exc!r}); {MPI_HINT}") from None
    return MPI, MPIPoolExecutor


def _under_mpiexec() -> bool:
    """Whether this process is rank 0 of ``python -m mpi4py.futures`` (the other ranks are workers)."""
    from mpi4py.futures import _core

    return getattr(_core, "SharedPool", None) is not None


def _wait_for_workers(ex: Any, timeout: float) -> None:
    """Start the executor's workers and wait until they are ready.

    mpi4py starts the workers in a manager thread; when ``MPI_Comm_spawn``
    fails (no slots, no launcher) that thread dies with the error and
    ``bootup(wait=True)`` would wait forever, so this waits on the pool's
    ready event while checking the thread (mpi4py 4.x internals, guarded:
    without them it falls back to mpi4py's own blocking wait).
    """
    ex.bootup(wait=False)
    pool = getattr(ex, "_pool", None)
    event, thread = getattr(pool, "event", None), getattr(pool, "thread", None)
    if event is None or thread is None:
        ex.bootup(wait=True)
        return
    deadline = time.monotonic() + timeout
    while not event.wait(0.2):
        if not thread.is_alive():
            raise UserError("--backend mpi: MPI could not start the worker processes (see MPI's message "
                            "above); on one machine check that mpiexec works (mpiexec -n 2 hostname), on a "
                            "cluster run under mpiexec/srun with python -m mpi4py.futures")
        if time.monotonic() > deadline:
            raise UserError(f"--backend mpi: the MPI workers did not start within {timeout:.0f} s")
    if getattr(ex, "_broken", None):
        raise UserError(f"--backend mpi: the MPI workers failed to start: {ex._broken}")


def _mpi_options(workers: int | None, shared: bool) -> dict[str, Any]:
    """The keyword arguments of kyoso's ``MPIPoolExecutor`` (imports nothing of MPI).

    ``main=False``: workers need not import the driver's ``__main__`` (a test
    runner, the kyoso script, a notebook); ``path``: the driver's
    ``sys.path``, so a checkout that is not installed imports the same kyoso;
    ``backoff``: :data:`MPI_BACKOFF` unless ``MPI4PY_FUTURES_BACKOFF`` is set;
    ``max_workers`` only for spawned workers (under ``mpiexec`` the world's
    other ranks are the workers).
    """
    import sys

    options: dict[str, Any] = {"initializer": _mpi_worker_init, "main": False, "path": list(sys.path)}
    if not (os.environ.get("MPI4PY_FUTURES_BACKOFF") or os.environ.get("MPI4PY_BACKOFF")):
        options["backoff"] = MPI_BACKOFF
    if not shared:
        options["max_workers"] = workers or os.cpu_count() or 1
    return options


@contextmanager
def _mpi_executor(workers: int | None) -> Iterator[tuple[Executor, int, str]]:
    """An ``MPIPoolExecutor``: spawned workers, or the ranks of ``mpiexec`` (see the module docstring)."""
    MPI, MPIPoolExecutor = _import_mpi()
    shared = _under_mpiexec()
    ex = MPIPoolExecutor(**_mpi_options(workers, shared))
    try:
        _wait_for_workers(ex, MPI_START_TIMEOUT)
        slots = max(1, ex.num_workers)
        where = f"mpiexec world of {MPI.COMM_WORLD.Get_size()}" if shared else "spawned"
        yield ex, slots, f"mpi ×{slots} ({where})"
    except BaseException:
        ex.shutdown(wait=False, cancel_futures=True)
        raise
    ex.shutdown(wait=True)
