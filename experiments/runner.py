"""One run → tidy tables on disk.

``run_scenario`` builds and runs a model; ``write_run`` writes every table
as Parquet plus ``manifest.json`` (scenario as run, seed, versions, the files
written) into a temporary directory that is renamed into place only when
complete, so an interrupted or failed write leaves nothing half-written.
Into an existing folder (``--force``) each file is moved into place on its
own, the manifest last; only the files of the earlier run (those its manifest
lists) are replaced or removed, and nothing else in the folder is touched.
Figures are the caller's (``kyoso run`` passes a function that draws them
into the same temporary directory): this layer knows nothing about plots.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import tempfile
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

import pandas as pd

from experiments.errors import UserError
from model import ChipModel
from model.scenario import Scenario

__all__ = ["UserError", "run_scenario", "metrics_table", "prepare_output", "write_run", "summary",
           "versions", "git_revision"]


def run_scenario(scenario: str | Path | Scenario = "baseline", *, seed: int | None = 0,
                 quarters: int | None = None, overrides: dict[str, Any] | None = None,
                 progress: bool = False) -> ChipModel:
    """Build ``ChipModel(scenario, rng=seed, **overrides)`` and run it ``quarters`` steps."""
    overrides = dict(overrides or {})
    if quarters is not None:
        overrides["meta.horizon"] = quarters
    model = ChipModel(scenario, rng=seed, **overrides)
    steps = range(model.horizon)
    if progress:
        from tqdm import tqdm

        steps = tqdm(steps, desc=model.spec.meta.name, unit="quarter")
    for _ in steps:
        model.step()
    return model


def metrics_table(model: ChipModel, metrics: Sequence[str] | None = None) -> pd.DataFrame:
    """The model's own metrics table (step, quarter, one column per metric), narrowed to ``metrics``
    (``ChipModel.metrics()`` builds it without the other tables)."""
    table = model.metrics()
    return table if metrics is None else table[["step", "quarter", *metrics]]


MANIFEST = "manifest.json"


def prepare_output(out: Path, *, force: bool) -> None:
    """Refuse a file, an existing non-empty directory unless ``force``, and always a folder
    whose manifest is not a run's (a sweep store, say): ``--force`` replaces only a run's files."""
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    if not (out.is_dir() and any(out.iterdir())):
        return
    if not force:
        raise UserError(f"--out {out}: directory exists and is not empty (use --force to replace the "
                        "files of an earlier run in it; other files are kept)")
    kind = _manifest(out).get("kind", "unreadable") if (out / MANIFEST).exists() else None
    if kind not in (None, "kyoso run"):
        raise UserError(f"--out {out}: holds a {kind!r} manifest.json, not a run's (a sweep store?); "
                        "--force would overwrite it: choose another --out")


def _manifest(folder: Path) -> dict[str, Any]:
    """The manifest in ``folder`` ({} if unreadable)."""
    try:
        data = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _run_files(manifest: dict[str, Any]) -> set[str]:
    """The files (relative paths) a run's manifest says the run wrote."""
    files = set(manifest.get("files", []))
    files |= {f"{name}.parquet" for name in manifest.get("tables", {})}
    return {f for f in files if f and not Path(f).is_absolute() and ".." not in Path(f).parts}


def _move_into(tmp: Path, out: Path) -> None:
    """Move the run in ``tmp`` into the existing folder ``out``, file by file (``os.replace``).

    The old manifest goes first (a folder without one is an incomplete run) and the new one
    last; files the earlier run wrote and this one did not are removed; nothing else is touched.
    """
    old = _run_files(_manifest(out))
    (out / MANIFEST).unlink(missing_ok=True)
    new = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file() and p.name != MANIFEST)
    for rel in new:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / rel, out / rel)
    for rel in sorted(old - set(new)):
        (out / rel).unlink(missing_ok=True)
        parent = (out / rel).parent
        if parent != out and parent.is_dir() and not any(parent.iterdir()):
            parent.rmdir()
    os.replace(tmp / MANIFEST, out / MANIFEST)


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("kyoso", "mesa", "numpy", "pandas", "pydantic", "pyarrow", "matplotlib"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            out[pkg] = "not installed"
    return out


def git_revision() -> str | None:
    """The checkout's commit, if the package runs from a git work tree."""
    root = Path(__file__).resolve().parent.parent
    try:
        res = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None


def write_run(out: Path, model: ChipModel, tables: dict[str, pd.DataFrame], *, seed: int | None,
              overrides: dict[str, Any], force: bool = False, elapsed: float | None = None,
              extras: Callable[[Path], object] | None = None) -> Path:
    """Write tables and manifest to ``out`` atomically (temp dir, then rename; into an existing
    folder with ``force``, file by file, see the module docstring).

    ``extras(tmp)`` may write more files (the CLI's figures) into the
    temporary directory before it is moved into place.
    """
    prepare_output(out, force=force)
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        for name, df in tables.items():
            df.to_parquet(tmp / f"{name}.parquet", index=False)
        if extras is not None:
            extras(tmp)
        manifest = {
            "kind": "kyoso run",
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "scenario": model.spec.meta.name,
            "seed": seed,
            "quarters": int(model.steps),
            "overrides": {k: v for k, v in overrides.items()},
            "versions": versions(),
            "git_revision": git_revision(),
            "elapsed_seconds": elapsed,
            "tables": {name: {"rows": len(df), "columns": list(map(str, df.columns))}
                       for name, df in tables.items()},
            "files": sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file()),
            "scenario_as_run": model.spec.model_dump(mode="json"),
        }
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))
        if out.exists():
            _move_into(tmp, out)
        else:
            tmp.rename(out)
    finally:                          # what is left of the temporary directory (all of it on an error)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def summary(model: ChipModel, tables: dict[str, pd.DataFrame], out: Path | None, elapsed: float) -> str:
    """A compact text summary of one run."""
    mt = tables["metrics"]
    first, last = mt.iloc[0], mt.iloc[-1]
    countries = model.geo.countries
    top = sorted(countries, key=lambda c: -last[f"share_{c}"])[:5]
    lines = [
        f"kyoso run: {model.spec.meta.name}, {first['quarter']} → {last['quarter']} "
        f"({int(model.steps)} quarters) in {elapsed:.2f} s",
        f"  fab capacity  {first['capacity_fab']:,.0f} → {last['capacity_fab']:,.0f} kwpm (200mm-eq)",
        "  fab share     " + "  ".join(f"{c} {first[f'share_{c}']:.0%}→{last[f'share_{c}']:.0%}" for c in top),
        f"  HHI country   {first['hhi_country']:.3f} → {last['hhi_country']:.3f};"
        f" clustering {first['clustering_index']:.3f} → {last['clustering_index']:.3f}",
        f"  investments   {len(tables['investments'])} projects,"
        f" subsidies paid USD {last['subsidy_paid_cumulative']:.1f} bn,"
        f" unit-cost index {last['unit_cost_index']:.3f}",
    ]
    if out is not None:
        lines.append(f"  written to    {out}")
    return "\n".join(lines)
