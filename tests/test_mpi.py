"""The MPI backend (``--backend mpi``, mpi4py.futures): the same store as the processes backend, spawned
workers and ``mpiexec -n 3``; a one-line error when mpi4py or MPI is missing or cannot start workers.

MPI runs in child processes (MPI is initialised once per process and the test runner must not become an
MPI process).  Without mpi4py or an MPI runtime the tests skip locally and FAIL in CI (``CI=true``):
``.ci/run`` installs Open MPI and the ``mpi`` extra brings mpi4py.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from experiments.errors import UserError
from experiments.executors import BACKENDS, open_executor
from experiments.store import load_results, read_manifest
from experiments.sweep import run_sweep
from experiments.sweepfile import load_sweep

ROOT = Path(__file__).resolve().parents[1]
SWEEP = """\
name = "mpi_check"
scenario = "baseline"
quarters = 6
replications = 2
seed = 29
design = "lhs"
samples = 5
metrics = ["hhi_country", "active_sites", "share_TW"]

[parameters]
"params.w_agglomeration" = { low = 0.1, high = 5.0, log = true }

[policies.status_quo]
"cocreation.talent.enabled" = false

[policies.talent]
"cocreation.talent.enabled" = true
"""
DRIVER = textwrap.dedent("""\
    import sys
    from experiments.errors import UserError
    from experiments.sweep import run_sweep
    from experiments.sweepfile import load_sweep

    if __name__ == "__main__":      # MPI workers import nothing from here (main=False), but keep the guard
        try:
            res = run_sweep(load_sweep(sys.argv[1]), sys.argv[2], backend="mpi", workers=int(sys.argv[3]),
                            progress=False)
        except UserError as exc:
            print(f"USERERROR {exc}")
            sys.exit(2)
        print(res.backend)
        sys.exit(0 if res.ok else 1)
    """)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def _mpi_missing() -> str | None:
    """Why MPI cannot run here (None if it can): mpi4py, the MPI library, mpiexec."""
    if importlib.util.find_spec("mpi4py") is None:
        return "mpi4py is not installed (pip install 'kyoso[mpi]')"
    if shutil.which("mpiexec") is None:
        return "no mpiexec on PATH (Debian: apt-get install openmpi-bin)"
    probe = subprocess.run([sys.executable, "-c", "from mpi4py import MPI; print(MPI.Get_library_version())"],
                           capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        return f"mpi4py cannot load an MPI library: {probe.stderr.strip().splitlines()[-1:]}"
    return None


@pytest.fixture(scope="module")
def mpi() -> None:
    reason = _mpi_missing()
    if reason is None:
        return
    if _in_ci():
        pytest.fail(f"{reason} (CI=true: the MPI backend must be tested in CI; .ci/run installs Open MPI)")
    pytest.skip(reason)


def _open_mpi() -> bool:
    out = subprocess.run([sys.executable, "-c", "from mpi4py import MPI; print(MPI.Get_library_version())"],
                         capture_output=True, text=True, timeout=120).stdout
    return "Open MPI" in out


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.update(extra)
    return env


def _runs(root: Path) -> dict[str, pd.DataFrame]:
    table = load_results(root)
    return {rid: grp.reset_index(drop=True) for rid, grp in table.groupby("run_id", sort=True)}


def _same_store(a: Path, b: Path) -> None:
    """The same planned runs, and every run's rows identical (ids, seeds, parameters, levers, metrics)."""
    ma, mb = read_manifest(a), read_manifest(b)
    assert ma["plan_hash"] == mb["plan_hash"]
    ra, rb = _runs(a), _runs(b)
    assert sorted(ra) == sorted(rb) == sorted(r["run_id"] for r in ma["runs"])
    for rid in ra:
        pd.testing.assert_frame_equal(ra[rid], rb[rid], check_exact=True)


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mpi") / "sweep.toml"
    path.write_text(SWEEP)
    return path


@pytest.fixture(scope="module")
def processes_store(sweep_file, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("proc") / "store"
    res = run_sweep(load_sweep(sweep_file), out, backend="processes", workers=2, progress=False)
    assert res.ok and res.done == 20
    return out


def _driver(tmp_path: Path) -> Path:
    script = tmp_path / "driver.py"
    script.write_text(DRIVER)
    return script


def test_mpi_is_a_backend():
    assert "mpi" in BACKENDS


def test_mpi_executor_options_poll_less_often_unless_the_environment_says(monkeypatch):
    from experiments.executors import MPI_BACKOFF, _mpi_options

    monkeypatch.delenv("MPI4PY_FUTURES_BACKOFF", raising=False)
    monkeypatch.delenv("MPI4PY_BACKOFF", raising=False)
    spawned = _mpi_options(3, shared=False)
    assert spawned["backoff"] == MPI_BACKOFF > 0.001 and spawned["max_workers"] == 3
    assert spawned["main"] is False and spawned["path"] == sys.path
    assert "max_workers" not in _mpi_options(3, shared=True)          # mpiexec: the world's ranks
    monkeypatch.setenv("MPI4PY_FUTURES_BACKOFF", "0.002")
    assert "backoff" not in _mpi_options(3, shared=False)           # mpi4py reads the variable itself


def test_missing_mpi4py_is_one_line_user_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "mpi4py", None)     # as if not installed; MPI never starts here
    with pytest.raises(UserError) as err:
        with open_executor("mpi", 2):
            pass
    text = str(err.value)
    assert text.startswith("--backend mpi: mpi4py is not installed") and "kyoso[mpi]" in text
    assert "\n" not in text


def test_spawned_workers_equal_processes(mpi, sweep_file, processes_store, tmp_path):
    """``--backend mpi --workers 2`` (MPI_Comm_spawn): the same store contents, run by run."""
    out = tmp_path / "store"
    proc = subprocess.run([sys.executable, str(_driver(tmp_path)), str(sweep_file), str(out), "2"],
                          capture_output=True, text=True, timeout=600, env=_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mpi ×2 (spawned)" in proc.stdout
    _same_store(processes_store, out)


def test_mpiexec_three_ranks_equal_processes(mpi, sweep_file, processes_store, tmp_path):
    """``mpiexec -n 3 python -m mpi4py.futures driver.py … --backend mpi``: rank 0 drives, ranks 1–2 work."""
    flags = ["--oversubscribe"] if _open_mpi() else []
    if _open_mpi() and os.getuid() == 0:
        flags.append("--allow-run-as-root")        # Open MPI refuses root without it (containers, CI)
    out = tmp_path / "store"
    cmd = ["mpiexec", *flags, "-n", "3", sys.executable, "-m", "mpi4py.futures", str(_driver(tmp_path)),
           str(sweep_file), str(out), "7"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=_env(), cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mpi ×2 (mpiexec world of 3)" in proc.stdout       # --workers is not used under mpiexec
    _same_store(processes_store, out)
    workers = {line for line in (out / "sessions.jsonl").read_text().splitlines()}
    assert any('"backend": "mpi' in w for w in workers)


def test_failed_spawn_is_a_user_error_not_a_hang(mpi, sweep_file, tmp_path):
    """Open MPI refusing to oversubscribe: the driver reports one line and exits (no hung pool)."""
    if not _open_mpi():
        pytest.skip("the slot limit is Open MPI's")
    too_many = (os.cpu_count() or 1) + 2
    proc = subprocess.run([sys.executable, str(_driver(tmp_path)), str(sweep_file), str(tmp_path / "store"),
                           str(too_many)], capture_output=True, text=True, timeout=300, cwd=tmp_path,
                          env=_env(OMPI_MCA_rmaps_base_oversubscribe="false"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "USERERROR --backend mpi: MPI could not start the worker processes" in proc.stdout
