"""The sweep results store: a directory anyone can read with pandas, DuckDB or polars.

Layout (DESIGN.md, "A sweep directory")::

    DIR/manifest.json          written first: the sweep as run, the seed tree,
                               package versions, git revision, the design and
                               every planned run (id, point, replication, seed,
                               parameters, the `kyoso run` command repeating it)
    DIR/runs/<run_id>.parquet  one file per finished run: run_id, point,
                               replication, seed, [policy,] one column per
                               parameter, [one per policy lever,] step,
                               quarter and the chosen metrics per quarter
    DIR/failed/<run_id>.json   one file per failed run: error, traceback, and
                               every attempt (a retry that fails again appends)
    DIR/sessions.jsonl         one line per `kyoso sweep` session (backend,
                               workers, versions, counts)

Every file is written to a temporary name in its own directory and moved into
place with ``os.replace`` (atomic on POSIX), so a reader, or a sweep killed at
any moment, never sees half a file.  Nothing is ever deleted but the store's
own stale temporary files (``*.tmp-<pid>`` of a driver that no longer runs,
removed by ``--resume``): a run that failed and later succeeded on
``--resume`` keeps its ``failed/`` record as history, and a run counts as done
exactly when ``runs/<run_id>.parquet`` exists (:func:`load_results` reads
only ``runs/``).
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable

import pandas as pd

from experiments.errors import UserError

__all__ = [
    "output_in_use",
    "MANIFEST",
    "SweepStore",
    "read_manifest",
    "load_results",
    "results_dataset",
    "sweep_status",
    "planned_runs",
    "remove_stale_temporaries",
    "pid_running",
    "atomic_write",
]

MANIFEST = "manifest.json"
RUNS = "runs"
FAILED = "failed"
SESSIONS = "sessions.jsonl"
_TMP = ".tmp-"


def atomic_write(path: Path, data: bytes, *, fsync: bool = True) -> None:
    """Write ``data`` to ``path`` atomically: to ``<name>.tmp-<pid>`` in the same directory, then ``os.replace``.

    A reader never sees half a file; on an error or Ctrl-C the temporary file is
    removed and the exception propagates.  ``fsync=False`` skips flushing to disk
    (for tables and reports that can be written again).  The temporary name is
    what :func:`remove_stale_temporaries` recognises.
    """
    tmp = path.with_name(f"{path.name}{_TMP}{os.getpid()}")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            if fsync:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:            # an error or Ctrl-C: no temporary file is left behind
        tmp.unlink(missing_ok=True)
        raise


def output_in_use(root: Path, *, resume: bool, what: str) -> bool:
    """Whether ``--out root`` holds earlier work to resume; refuse a file, and a non-empty directory
    without ``resume`` (one line naming the ``what`` — sweep, search — that would continue there)."""
    if root.exists() and not root.is_dir():
        raise UserError(f"--out {root}: exists and is not a directory")
    non_empty = root.is_dir() and any(root.iterdir())
    if non_empty and not resume:
        raise UserError(f"--out {root}: directory exists and is not empty "
                        f"(use --resume to continue the {what} in it; nothing is ever deleted)")
    return non_empty


def pid_running(pid: int) -> bool:
    """Whether process ``pid`` exists and is not a zombie (a killed driver its parent has not reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:          # someone else's process
        return True
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def remove_stale_temporaries(root: str | Path) -> list[Path]:
    """Delete the ``*.tmp-<pid>`` files in a sweep directory whose writer no longer runs; return them."""
    root = Path(root)
    removed = []
    for folder in (root, root / RUNS, root / FAILED):
        if not folder.is_dir():
            continue
        for p in folder.iterdir():
            head, sep, pid = p.name.rpartition(_TMP)
            if not sep or not head or not p.is_file():
                continue
            if pid.isdigit() and int(pid) != os.getpid() and pid_running(int(pid)):
                continue             # another driver is writing it right now
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_manifest(root: str | Path) -> dict[str, Any]:
    """The manifest of a sweep directory (UserError if there is none)."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise UserError(f"{root}: not a kyoso sweep directory (no {MANIFEST})")
    try:
        manifest = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read the manifest: {exc}") from None
    if isinstance(manifest, dict) and manifest.get("kind") == "kyoso run":
        raise UserError(f"{root}: a run folder (written by 'kyoso run'), not a sweep store; its tables are "
                        f"{root}/*.parquet and its figures {root}/figures; analyze and plot read the "
                        "directory of a sweep ('kyoso sweep FILE --out DIR')")
    return manifest


def _diff_keys(a: dict, b: dict) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))


class SweepStore:
    """One sweep directory: create or reopen it, record runs and failures."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.runs_dir = self.root / RUNS
        self.failed_dir = self.root / FAILED

    # ----------------------------------------------------------- opening
    @classmethod
    def check(cls, root: str | Path, manifest: dict[str, Any], *, resume: bool) -> bool:
        """Refuse (UserError) what :meth:`open` would refuse, writing nothing.

        Refused: a file; an existing non-empty directory without ``resume``;
        with ``resume``, a directory whose manifest describes a different
        sweep.  Returns whether the directory holds a sweep to resume.
        """
        store = cls(root)
        root = store.root
        non_empty = output_in_use(root, resume=resume, what="sweep")
        if non_empty:
            store._check_same_sweep(read_manifest(root), manifest)
        return non_empty

    @classmethod
    def open(cls, root: str | Path, manifest: dict[str, Any], *, resume: bool) -> SweepStore:
        """Create the directory with ``manifest`` written first, or reopen it with ``resume``."""
        store = cls(root)
        if cls.check(root, manifest, resume=resume):
            store.runs_dir.mkdir(exist_ok=True)
            store.failed_dir.mkdir(exist_ok=True)
            remove_stale_temporaries(store.root)     # left by a driver that was killed mid-write
            return store
        store.root.mkdir(parents=True, exist_ok=True)
        atomic_write(store.root / MANIFEST, json.dumps(manifest, indent=1, default=str).encode())
        store.runs_dir.mkdir()
        store.failed_dir.mkdir()
        return store

    def _check_same_sweep(self, old: dict[str, Any], new: dict[str, Any]) -> None:
        def essential(sweep: dict) -> dict:
            return {k: v for k, v in sweep.items() if k != "description"}

        if old.get("kind") != "kyoso sweep":
            raise UserError(f"--resume {self.root}: {MANIFEST} is not a sweep manifest")
        a, b = essential(old.get("sweep", {})), essential(new["sweep"])
        if a != b:
            keys = ", ".join(_diff_keys(a, b))
            raise UserError(f"--resume {self.root}: the sweep file differs from the one this directory was "
                            f"started with (in: {keys}); use a new --out directory")
        for key, what in (("scenario_ref", "scenario"), ("quarters", "run length"),
                          ("scenario_hash", "scenario contents"), ("plan_hash", "design or seeds")):
            if old.get(key) != new.get(key):
                raise UserError(f"--resume {self.root}: the {what} differs from the one this directory was "
                                f"started with ({key}: {old.get(key)!r} → {new.get(key)!r}); use a new --out directory")

    # ----------------------------------------------------------- state
    def done_ids(self) -> set[str]:
        """Run ids with a finished Parquet file."""
        if not self.runs_dir.is_dir():
            return set()
        return {p.name[: -len(".parquet")] for p in self.runs_dir.iterdir()
                if p.name.endswith(".parquet") and not p.name.startswith(".")}

    def failed_ids(self) -> set[str]:
        """Run ids with a failure record (some may have succeeded on a later attempt)."""
        if not self.failed_dir.is_dir():
            return set()
        return {p.name[: -len(".json")] for p in self.failed_dir.iterdir() if p.name.endswith(".json")}

    def manifest(self) -> dict[str, Any]:
        return read_manifest(self.root)

    # ----------------------------------------------------------- writing
    def write_run(self, run_id: str, payload: bytes) -> Path:
        """Store one finished run's Parquet bytes atomically."""
        path = self.runs_dir / f"{run_id}.parquet"
        atomic_write(path, payload)
        return path

    def write_failure(self, run_id: str, record: dict[str, Any]) -> Path:
        """Record a failed attempt; earlier attempts of the same run are kept in ``attempts``."""
        path = self.failed_dir / f"{run_id}.json"
        attempt = {"time": _now(), "error": record.get("error"), "traceback": record.get("traceback")}
        attempts: list[dict[str, Any]] = []
        if path.is_file():
            try:
                attempts = list(json.loads(path.read_text()).get("attempts", []))
            except (OSError, json.JSONDecodeError):
                attempts = []
        body = {**record, "time": attempt["time"], "attempts": attempts + [attempt]}
        atomic_write(path, json.dumps(body, indent=1, default=str).encode())
        return path

    def log_session(self, info: dict[str, Any]) -> None:
        """Append one line about this session to ``sessions.jsonl``."""
        with open(self.root / SESSIONS, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"time": _now(), **info}, default=str) + "\n")
            fh.flush()
            os.fsync(fh.fileno())


# ------------------------------------------------------------------ reading
def sweep_status(root: str | Path) -> dict[str, Any]:
    """Planned, done, failed (not done) and missing run ids of a sweep directory."""
    store = SweepStore(root)
    manifest = store.manifest()
    planned = [r["run_id"] for r in manifest["runs"]]
    done = store.done_ids()
    failed_records = store.failed_ids()
    return {
        "planned": len(planned),
        "done": sum(1 for r in planned if r in done),
        "failed": sorted(r for r in planned if r in failed_records and r not in done),
        "missing": sorted(r for r in planned if r not in done and r not in failed_records),
    }


def _run_files(root: Path, manifest: dict[str, Any], run_ids: Iterable[str] | None = None) -> list[Path]:
    store = SweepStore(root)
    done = store.done_ids()
    wanted = set(run_ids) if run_ids is not None else None
    return [store.runs_dir / f"{r['run_id']}.parquet" for r in manifest["runs"]
            if r["run_id"] in done and (wanted is None or r["run_id"] in wanted)]


def results_dataset(root: str | Path):
    """The finished runs as a lazy ``pyarrow.dataset.Dataset`` (filter and project before reading)."""
    import pyarrow.dataset as ds

    root = Path(root)
    manifest = read_manifest(root)
    files = _run_files(root, manifest)
    if not files:
        raise UserError(f"{root}: no finished runs yet")
    return ds.dataset([str(f) for f in files], format="parquet")


def load_results(root: str | Path, *, columns: list[str] | None = None, lazy: bool = False,
                 run_ids: Iterable[str] | None = None):
    """Every finished run of a sweep as one tidy DataFrame.

    One row per run × quarter, in planned run order then step: ``run_id``,
    ``point``, ``replication``, ``seed``, with ``[policies]`` the run's
    ``policy``, one column per swept parameter (named by its dotted path, or
    by the key of a binding such as ``regions.TW-*.political_risk``), with
    policies one column per lever (its effective value), ``step``,
    ``quarter`` and the metrics.  Failed
    or unfinished runs are absent (see :func:`sweep_status`).  ``lazy=True``
    returns a ``pyarrow.dataset.Dataset`` instead, for sweeps too big to load.
    """
    if lazy:
        return results_dataset(root)
    import pyarrow.dataset as ds

    root = Path(root)
    manifest = read_manifest(root)
    files = _run_files(root, manifest, run_ids)
    if not files:
        raise UserError(f"{root}: no finished runs yet")
    table = ds.dataset([str(f) for f in files], format="parquet").to_table(columns=columns)
    df = table.to_pandas()
    order = {r["run_id"]: r["index"] for r in manifest["runs"]}
    if "run_id" in df.columns and "step" in df.columns:
        key = df["run_id"].map(order)
        df = df.assign(_order=key).sort_values(["_order", "step"], kind="stable").drop(columns="_order")
    return df.reset_index(drop=True)


def planned_runs(root: str | Path) -> pd.DataFrame:
    """The manifest's planned runs as a table (run_id, index, point, replication, seed, [policy,]
    parameters[, the policy's levers])."""
    manifest = read_manifest(root)
    policies = manifest.get("policies", {})
    rows = [{k: v for k, v in r.items() if k not in ("parameters", "spawn_key", "command", "overrides")}
            | r["parameters"] | policies.get(r.get("policy"), {}) for r in manifest["runs"]]
    return pd.DataFrame(rows)
