"""ODD §8.1 rendered from the schema, so the parameter table cannot drift.

The table lists :func:`parameter_table` with the bounds in interval notation
and the ``baseline`` scenario's value (the range over entries for per-entry
paths).  ``python -m model.docsections`` (``make docs``) writes it into
docs/ODD.md; tests/test_odd_params.py checks it.
"""

from __future__ import annotations

from typing import Any

from .loading import load_scenario
from .paths import concrete_paths, parameter_table, split_path, value_at, walk
from .schema import Scenario

__all__ = ["parameter_markdown"]

_HEADER = ("| parameter | unit | default | bounds | baseline | source | description |\n"
           "|---|---|---|---|---|---|---|\n")


def parameter_markdown(baseline: str | Scenario = "baseline") -> str:
    """The §8.1 table: one Markdown row per numeric schema parameter."""
    sc = baseline if isinstance(baseline, Scenario) else load_scenario(baseline)
    rows = [
        "| " + " | ".join([f"`{r['path']}`", r["unit"], r["default"] or "none", _bounds_text(r),
                           _baseline_text(r["path"], sc), _source_text(r), r["description"]])
        .replace("\n", " ") + " |"
        for r in parameter_table()
    ]
    return _HEADER + "".join(row + "\n" for row in rows)


def _bounds_text(row: dict[str, str]) -> str:
    """'[0.0, 1.0]', '(0.0, 100.0]', '[1, ∞)': '(' strict, '[' inclusive."""
    lo, hi = row["low"], row["high"]
    left = f"({lo[2:]}" if lo.startswith("> ") else f"[{lo}" if lo else "(−∞"
    right = f"{hi[2:]})" if hi.startswith("< ") else f"{hi}]" if hi else "∞)"
    return f"{left}, {right}"


def _baseline_text(path: str, sc: Scenario) -> str:
    """The baseline's value at ``path``, or the range over its entries ('—' if none)."""
    values = [value_at(p, sc) for p in concrete_paths(path, sc)]
    set_values = [v for v in values if v is not None]
    if not set_values:
        return "none" if values else "—"
    lo, hi = min(set_values), max(set_values)
    return _number(lo) if lo == hi else f"{_number(lo)}–{_number(hi)}"


def _number(v: Any) -> str:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return str(v)
    return str(int(v)) if float(v).is_integer() else f"{v:.6g}"


def _source_text(row: dict[str, str]) -> str:
    """The schema's source; else 'per entry' where the path runs through entries
    (segments, regions, firms, …) that carry their own ``source``; else 'A',
    the team's assumption."""
    if row["source"]:
        return row["source"]
    entries = [step.schema for step in walk(split_path(row["path"]))[:-1] if step.field is None]
    return "per entry" if any("source" in getattr(e, "model_fields", {}) for e in entries) else "A"
