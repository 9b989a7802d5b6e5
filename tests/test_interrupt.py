"""Clean interruption: Ctrl-C in a sweep, a killed driver, and a reader that goes away.

Each test runs the `kyoso` console script as a user would, on small sweeps of few quarters.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

KYOSO = str(Path(sys.executable).with_name("kyoso"))
ENV = {**os.environ, "MPLBACKEND": "Agg"}
SWEEP = Path(__file__).parent / "data" / "tiny_sweep.toml"     # 120 runs of 12 quarters of the tiny world
PLANNED = 120


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (psutil if installed, else /proc)."""
    try:
        import psutil
    except ImportError:
        parents: dict[int, int] = {}
        for d in Path("/proc").iterdir():
            if d.name.isdigit():
                try:
                    parents[int(d.name)] = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                except (OSError, IndexError, ValueError):
                    pass
        found, frontier = set(), {pid}
        while frontier:
            frontier = {c for c, p in parents.items() if p in frontier} - found
            found |= frontier
        return found
    try:
        return {c.pid for c in psutil.Process(pid).children(recursive=True)}
    except psutil.NoSuchProcess:
        return set()


def _running(pid: int) -> bool:
    """Alive and not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _saved(out: Path) -> list[Path]:
    runs = out / "runs"
    return [p for p in runs.iterdir() if p.name.endswith(".parquet")] if runs.is_dir() else []


def _start_sweep(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, Path]:
    out = tmp_path / "out"
    proc = subprocess.Popen([KYOSO, "sweep", str(SWEEP), "--out", str(out), "--no-progress", *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while len(_saved(out)) < 2:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "no run was saved in time"
        time.sleep(0.02)
    return proc, out


@pytest.mark.parametrize("backend", ["serial", "processes"])
def test_ctrl_c_in_a_sweep_says_how_many_runs_are_saved_and_exits_130(tmp_path, backend):
    proc, out = _start_sweep(tmp_path, "--backend", backend, "--workers", "2")
    below = _descendants(proc.pid)
    os.killpg(proc.pid, signal.SIGINT)          # what Ctrl-C in a terminal does: the whole group
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    saved = len(_saved(out))
    lines = err.strip().splitlines()        # besides the message, at most the model's own one-line warnings
    assert lines[-1] == f"kyoso sweep: interrupted: {saved} of {PLANNED} runs saved; continue with --resume", err
    assert all(line.startswith("kyoso: warning:") for line in lines[:-1]), err
    assert 2 <= saved < PLANNED
    assert not [p for p in (out / "runs").iterdir() if ".tmp-" in p.name]
    deadline = time.monotonic() + 10
    while any(_running(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in below if _running(p)], "worker processes outlived the driver"


def test_workers_exit_when_the_driver_is_killed_and_resume_cleans_up(tmp_path):
    proc, out = _start_sweep(tmp_path, "--workers", "2")
    below = _descendants(proc.pid)               # fork server, workers, resource tracker
    assert len(below) >= 3, below
    proc.send_signal(signal.SIGKILL)             # the driver only: nobody stops its workers
    proc.communicate()
    deadline = time.monotonic() + 10
    while any(_running(p) for p in below) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in below if _running(p)], "processes outlived the killed driver by > 10 s"
    done_before = len(_saved(out))
    stale = out / "runs" / f"p0-r39.parquet.tmp-{proc.pid}"   # what a kill mid-write leaves
    stale.write_bytes(b"")
    res = subprocess.run([KYOSO, "sweep", str(SWEEP), "--out", str(out), "--resume", "--no-progress",
                          "--workers", "2"], capture_output=True, text=True, env=ENV, timeout=300)
    assert res.returncode == 0, res.stderr
    assert f"{PLANNED - done_before} ran in this session" in res.stdout
    assert len(_saved(out)) == PLANNED
    assert not [p for p in out.rglob("*") if ".tmp-" in p.name]


@pytest.mark.parametrize("argv", [["scenarios"], ["params"], ["sweep", "{src}", "--dry-run"]],
                         ids=["scenarios", "params", "sweep-dry-run"])
def test_a_reader_that_goes_away_is_not_an_error(argv):
    argv = [a.replace("{src}", str(SWEEP)) for a in argv]
    proc = subprocess.Popen([KYOSO, *argv], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    proc.stdout.close()                          # like `| head -0`: the reader is gone before any output
    err = proc.stderr.read().decode()
    proc.wait(timeout=120)
    assert proc.returncode in (0, 141), err
    assert err == "", err


def test_head_of_a_pipe_in_a_shell(tmp_path):
    res = subprocess.run(["bash", "-o", "pipefail", "-c", f"'{KYOSO}' scenarios | head -1"],
                         capture_output=True, text=True, env=ENV, timeout=120)
    assert res.returncode in (0, 141), res.stderr
    assert res.stdout.count("\n") == 1 and res.stderr == "", res.stderr
