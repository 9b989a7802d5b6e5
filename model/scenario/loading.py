"""Reading scenarios: built-in names and TOML files, CSV tables named under
``[data]``, ``base =`` inheritance (deep merge), the historical event library,
overrides, and validation into a :class:`Scenario` with one-line errors.

Everything a user gets wrong surfaces here as a :class:`ScenarioError` that
names the file or the dotted field, so the CLI, sweeps and notebooks can show
it as it is.
"""

from __future__ import annotations

import copy
import csv
import math
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from .hints import close_matches, known_hint
from .paths import apply_overrides
from .quarters import quarter_index
from .schema import Scenario
from .vocabulary import ScenarioError

__all__ = ["DATA_DIR", "LIBRARY_PATH", "builtin_scenarios", "load_scenario", "validate",
           "validation_message", "load_library", "merge_library"]

#: Built-in scenarios and calibration tables (model/data).
DATA_DIR = Path(__file__).parent.parent / "data"
#: Historical events a scenario may include by id (``event_library = [...]``).
LIBRARY_PATH = DATA_DIR / "events_library.toml"


# ----------------------------------------------------------------- file loading
def builtin_scenarios() -> dict[str, Path]:
    """Built-in scenario names → TOML path."""
    return {p.stem: p for p in sorted(DATA_DIR.glob("*.toml")) if p.stem != "events_library"}


def _resolve(name_or_path: str | Path) -> Path:
    builtins = builtin_scenarios()
    if isinstance(name_or_path, str) and name_or_path in builtins:
        return builtins[name_or_path]
    path = Path(name_or_path)
    if path.is_file():
        return path
    if path.suffix == "" and not path.exists():
        raise ScenarioError(
            f"scenario {str(name_or_path)!r}: no such built-in scenario or file "
            f"({known_hint(path.name, builtins)})"
        )
    near = close_matches(path.stem, builtins)
    raise ScenarioError(f"scenario file {str(path)!r}: not found"
                        + (f" (did you mean the built-in {near[0]!r}?)" if near else ""))


def _read_toml(path: Path) -> dict:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: malformed TOML: {exc}") from None
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None


_CSV_BOOL = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def _csv_cell(value: str, key: str) -> Any:
    """Parse one CSV cell: blank → None, numbers → float/int, booleans, else text."""
    v = value.strip()
    if v == "":
        return None
    if key in {"leading_edge"}:
        return _CSV_BOOL.get(v.lower(), v)
    if key in {"source", "note", "name", "product", "id", "country", "region", "firm",
               "segment", "status", "home", "kind"}:
        return v
    try:
        return int(v) if re.fullmatch(r"[-+]?\d+", v) else float(v)
    except ValueError:
        return v


def _read_csv(path: Path) -> list[dict]:
    try:
        with path.open(newline="", encoding="utf-8") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read: {exc.strerror}") from None
    out = []
    for row in rows:
        if None in row:
            raise ScenarioError(f"{path}: a row has more cells than the header")
        out.append({k: _csv_cell(v or "", k) for k, v in row.items() if _csv_cell(v or "", k) is not None})
    return out


def _merge_csv_tables(raw: dict, base_dir: Path) -> dict:
    """Fold the CSV files named under [data] into the raw scenario dict."""
    data = raw.get("data") or {}
    if not isinstance(data, dict):
        return raw
    for table, what in (("regions", "region"), ("firms", "firm")):
        if data.get(table):
            entries = raw.setdefault(table, {})
            for row in _read_csv(base_dir / data[table]):
                key = row.pop("id", None)
                if key is None:
                    raise ScenarioError(f"{data[table]}: a {what} row has no id")
                entries.setdefault(key, {}).update(row)
    if data.get("sites"):
        firms = raw.setdefault("firms", {})
        for row in _read_csv(base_dir / data["sites"]):
            fid = row.pop("firm", None)
            if fid not in firms:
                raise ScenarioError(f"{data['sites']}: site of unknown firm {fid!r}")
            firms[fid].setdefault("sites", []).append(row)
    raw["data"] = {}  # tables are now inline; re-loading must not add them twice
    return raw


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _load_raw(path: Path, seen: tuple[Path, ...] = ()) -> dict:
    path = path.resolve()
    if path in seen:
        raise ScenarioError(f"{path}: 'base' chain loops back to itself")
    raw = _read_toml(path)
    raw = _merge_csv_tables(raw, path.parent)
    base = raw.pop("base", None)
    if base is not None:
        if not isinstance(base, str):
            raise ScenarioError(f"base = {base!r}: expected a scenario name or path (text)")
        base_path = _resolve(base if base in builtin_scenarios() else str(path.parent / base))
        raw = _deep_merge(_load_raw(base_path, seen + (path,)), raw)
    return raw

# --------------------------------------------------------------- event library
def load_library() -> dict[str, dict[str, Any]]:
    """Historical events by id (raw tables, validated when a scenario includes them)."""
    with LIBRARY_PATH.open("rb") as fh:
        raw = tomllib.load(fh)
    return {ev["id"]: ev for ev in raw.get("events", [])}


def merge_library(raw: dict) -> dict:
    """Append the historical events a raw scenario names in ``event_library``."""
    names = raw.get("event_library") or []
    if not names:
        return raw
    if not isinstance(names, list):
        raise ScenarioError(f"event_library = {names!r}: expected a list of event ids")
    lib = load_library()
    unknown = [n for n in names if n not in lib]
    if unknown:
        raise ScenarioError(f"event_library: unknown event id(s) {', '.join(map(str, unknown))} "
                            f"({known_hint(unknown[0], lib)})")
    events = list(raw.get("events") or [])
    known = {e.get("id") for e in events if isinstance(e, dict)}
    for n in names:
        if n not in known:
            events.append(dict(lib[n]))
    events.sort(key=lambda e: quarter_index(e["start"]) if isinstance(e, dict) and "start" in e else 0)
    raw = dict(raw)
    raw["events"] = events
    return raw


# ------------------------------------------------------------------- validation
def validation_message(exc: ValidationError, origin: str, skip: frozenset[str] = frozenset()) -> str:
    """One line for the first error of a pydantic ValidationError: the dotted
    field path (without the ``skip`` tags of tagged unions), the value given
    and what was expected.  Scenario and sweep files share it."""
    errors = exc.errors()
    err = errors[0]
    loc = [str(p) for p in err["loc"] if str(p) not in skip]
    path = ".".join(loc)
    msg = err["msg"].removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return f"{origin}: unknown key {path!r}"
    if err["type"] == "missing":
        return f"{origin}: {path}: required field is missing"
    if not loc:                       # a model-level rule: its message names the field itself
        return f"{origin}: {msg}"
    value = err.get("input")
    if isinstance(value, float) and not math.isfinite(value):
        msg = "expected a finite number"
    shown = repr(value) if not isinstance(value, (dict, list)) else ("[]" if value == [] else type(value).__name__)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{origin}: {path} = {shown}: {msg[:1].lower() + msg[1:]}{more}"


def validate(raw: dict, origin: str = "scenario") -> Scenario:
    """Validate a raw dict into a :class:`Scenario`, or raise a one-line ScenarioError."""
    raw = merge_library(raw)
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        raise ScenarioError(validation_message(exc, origin)) from None


def load_scenario(name_or_path: str | Path | Scenario = "baseline", **overrides: Any) -> Scenario:
    """Load a built-in scenario by name or a TOML file, apply dotted-path
    overrides (``governments__US__subsidy_rate=0.2`` or
    ``**{"governments.US.subsidy_rate": 0.2}``) and validate.

    Raises :class:`ScenarioError` (one line naming the field) on bad input.
    """
    if isinstance(name_or_path, Scenario):
        raw = name_or_path.model_dump(mode="python")
        origin = name_or_path.meta.name
    else:
        path = _resolve(name_or_path)
        raw = _load_raw(path)
        origin = str(name_or_path)
    if overrides:
        raw = apply_overrides(raw, overrides)
    return validate(raw, origin)
