"""ODD §8.1 generated from the schema, so the parameter table cannot drift.

``python -m model.scenario.docs [--check] [PATH]`` rewrites the table between
the marker comments below in docs/ODD.md (or PATH); with ``--check`` it only
compares and exits 1 with a one-line message when the file is out of date
(``make docs`` runs it; tests/test_odd_params.py checks it).  The table lists
:func:`parameter_table` with the bounds in interval notation and the
``baseline`` scenario's value (the range over entries for per-entry paths).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .loading import load_scenario
from .paths import concrete_paths, parameter_table, split_path, value_at, walk
from .schema import Scenario
from .vocabulary import ScenarioError

__all__ = ["BEGIN", "END", "ODD_PATH", "parameter_markdown", "rewrite_parameters", "main"]

BEGIN = "<!-- BEGIN generated: parameters -->"
END = "<!-- END generated: parameters -->"
#: docs/ODD.md of this checkout.
ODD_PATH = Path(__file__).resolve().parents[2] / "docs" / "ODD.md"

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


def rewrite_parameters(text: str, table: str | None = None) -> str:
    """``text`` (the ODD) with the table between the markers replaced by ``table``
    (default: :func:`parameter_markdown`)."""
    from ..docsections import SECTIONS, splice
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ScenarioError(f"no '{BEGIN}' … '{END}' section to rewrite")
    table = parameter_markdown() if table is None else table
    section = next(s for s in SECTIONS if s.name == "parameters")
    return splice(text, section, table)


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


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with --check, compare) the parameter table of the ODD."""
    ap = argparse.ArgumentParser(prog="python -m model.scenario.docs", description=__doc__.split("\n")[0])
    ap.add_argument("--check", action="store_true", help="exit 1 if the file differs from the schema")
    ap.add_argument("path", nargs="?", type=Path, default=ODD_PATH, help="the ODD (default: docs/ODD.md)")
    args = ap.parse_args(argv)
    try:
        text = args.path.read_text(encoding="utf-8")
        new = rewrite_parameters(text)
    except OSError as exc:
        print(f"{args.path}: cannot read: {exc.strerror}", file=sys.stderr)
        return 2
    except ScenarioError as exc:
        print(f"{args.path}: {exc}", file=sys.stderr)
        return 2
    if new == text:
        print(f"{args.path}: parameter table is up to date")
        return 0
    if args.check:
        print(f"{args.path}: parameter table (§8.1) differs from the schema; run `make docs`", file=sys.stderr)
        return 1
    args.path.write_text(new, encoding="utf-8")
    print(f"{args.path}: parameter table rewritten")
    return 0


if __name__ == "__main__":
    sys.exit(main())
