"""What a scenario holds, for people: ``kyoso show`` and ``kyoso params``.

* :func:`show_data` / :func:`show_text` — the values in force in one scenario
  (not the schema's defaults) with units and sources: the scalar parameters,
  the governments' policies, the co-creation levers, the events, and the
  parameters gated to nothing (:func:`model.scenario.gated_parameters`);
* :func:`params_rows` / :func:`params_text` — every parameter of the schema,
  switches and strings included, with the scenario's value, unit, bounds and
  source (the source rule is ODD §8.1's, :mod:`model.scenario.docs`);
* :func:`keys_text` — the region, country or firm keys of a scenario.
"""

from __future__ import annotations

import enum
import json
from typing import Any

from model.scenario import (
    Scenario,
    ScenarioError,
    concrete_paths,
    gated_parameters,
    load_scenario,
    parameter_table,
    value_at,
)
from model.scenario.docs import _bounds_text, _number, _source_text

__all__ = ["KEY_TABLES", "show_data", "show_json", "show_text", "params_rows", "params_text", "keys_rows", "keys_text"]

#: Tables whose entries are listed by ``kyoso params --keys`` (and summarised by ``kyoso show``).
KEY_TABLES = ("regions", "countries", "firms")

#: Tables of entries that ``kyoso show`` summarises rather than lists value by value.
_ENTRY_TABLES = ("segments", "regions", "firms", "institutes", "governments", "events", "generated", "event_library")

#: Government fields shown in ``kyoso show``'s policy table, in order.
_POLICY = ("subsidy_rate", "budget", "annual_budget", "tax_credit", "tariff", "market_share", "strategic_target",
           "condition_drift", "tit_for_tat")


def _scenario(scenario: str | Scenario) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def _text(value: Any) -> str:
    """One value as a person reads it: numbers short, lists and tables inline."""
    if isinstance(value, enum.Enum):
        value = value.value
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _number(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_text(v) for v in value) if value else "none"
    if isinstance(value, dict):
        return ", ".join(f"{k}={_text(v)}" for k, v in value.items()) if value else "none"
    return str(value)


def _value_text(path: str, sc: Scenario) -> str:
    """The scenario's value at a schema path; over entries (``<…>``) the range
    of numbers or the distinct values ('—' where the scenario has no entry)."""
    if "<" not in path:
        return _text(value_at(path, sc))
    values = [value_at(p, sc) for p in concrete_paths(path, sc)]
    if not values:
        return "—"
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if numbers and len(numbers) == len([v for v in values if v is not None]):
        lo, hi = min(numbers), max(numbers)
        return _number(lo) if lo == hi else f"{_number(lo)}–{_number(hi)}"
    distinct = list(dict.fromkeys(_text(v) for v in values))
    return " | ".join(distinct[:4]) + (f" | … ({len(distinct)} values)" if len(distinct) > 4 else "")


def _source(row: dict[str, str]) -> str:
    text = _source_text(row)
    return "assumption" if text == "A" else text


def _bounds(row: dict[str, str]) -> str:
    return _bounds_text(row) if row["low"] or row["high"] else ""


# ------------------------------------------------------------------ params
def params_rows(scenario: str | Scenario = "baseline", prefix: str | None = None) -> list[dict[str, str]]:
    """Every parameter (switches and strings included) with the scenario's value;
    with ``prefix`` (``governments.US``), the scenario's concrete paths under it,
    one row per entry."""
    sc = _scenario(scenario)
    rows = []
    for r in parameter_table(switches=True):
        paths = [r["path"]] if prefix is None else [
            p for p in (concrete_paths(r["path"], sc) if "<" in r["path"] else [r["path"]])
            if p == prefix or p.startswith(prefix.rstrip(".") + ".")]
        rows += [{"path": p, "value": _value_text(p, sc), "unit": r["unit"], "bounds": _bounds(r),
                  "default": r["default"], "source": _entry_source(p, sc) or _source(r),
                  "description": r["description"]} for p in paths]
    return rows


def _entry_source(path: str, sc: Scenario) -> str:
    """The ``source`` of the entry a concrete path runs through (a region, government, …), if it has one."""
    parts = path.split(".")
    for end in range(len(parts) - 1, 1, -1):
        try:
            source = value_at(".".join(parts[:end] + ["source"]), sc)
        except ScenarioError:
            continue
        if isinstance(source, str) and source:
            return source
    return ""


def params_text(scenario: str | Scenario = "baseline", prefix: str | None = None) -> str:
    sc = _scenario(scenario)
    rows = params_rows(sc, prefix)
    if prefix is not None and not rows:
        value_at(prefix, sc)                      # a path that does not exist: one line with a suggestion
        raise ScenarioError(f"parameter path {prefix!r}: names no parameter of {sc.meta.name!r} "
                            "(a label such as name or source, or an empty table)")
    head = (f"parameters of {sc.meta.name!r} ({len(rows)}; values over entries show their range, "
            "'kyoso params governments.US' lists one entry's; "
            "'kyoso params --keys regions|countries|firms' lists the entries)")
    lines = [head, f"{'parameter':<50} {'value':<16} {'unit':<30} {'bounds':<14} source"]
    lines += [f"{r['path']:<50} {r['value']:<16} {r['unit']:<30} {r['bounds']:<14} {r['source']}" for r in rows]
    return "\n".join(lines)


# -------------------------------------------------------------------- keys
def keys_rows(table: str, scenario: str | Scenario = "baseline") -> list[tuple[str, str]]:
    """(key, what it is) for each region, country (government) or firm of a scenario."""
    sc = _scenario(scenario)
    if table == "regions":
        return [(k, f"{r.name or k} ({r.country})") for k, r in sc.regions.items()]
    if table == "countries":
        return [(k, f"{g.name or k} ({g.bloc})") for k, g in sc.governments.items()]
    if table == "firms":
        return [(k, f"{f.name or k} ({f.home}, {f.kind}, {len(f.sites)} sites)") for k, f in sc.firms.items()]
    raise ValueError(f"keys of {table!r}: expected one of {', '.join(KEY_TABLES)}")


def keys_text(table: str, scenario: str | Scenario = "baseline") -> str:
    rows = keys_rows(table, scenario)
    width = max((len(k) for k, _ in rows), default=0)
    return "\n".join(f"{k:<{width}}  {what}" for k, what in rows)


# -------------------------------------------------------------------- show
def show_data(scenario: str | Scenario) -> dict[str, Any]:
    """The values in force in a scenario, as JSON-ready data."""
    sc = _scenario(scenario)
    rows = {r["path"]: r for r in parameter_table(switches=True)}
    parameters = {
        path: {"value": value_at(path, sc), "unit": r["unit"], "source": _source(r)}
        for path, r in rows.items()
        if "<" not in path and path.split(".")[0] not in _ENTRY_TABLES
    }
    governments = {
        cc: {**{f: getattr(g, f) for f in _POLICY}, "conditions": g.conditions.model_dump(), "source": g.source}
        for cc, g in sc.governments.items()
    }
    units = {f: rows[f"governments.<country>.{f}"]["unit"] for f in _POLICY}
    events = [e.model_dump(exclude_defaults=True, mode="json") for e in sc.events]
    return {
        "scenario": sc.meta.name, "description": sc.meta.description, "start_quarter": sc.meta.start_quarter,
        "horizon": sc.meta.horizon,
        "entries": {"segments": len(sc.segments), "regions": len(sc.regions), "countries": len(sc.governments),
                    "firms": len(sc.firms), "sites": sum(len(f.sites) for f in sc.firms.values()),
                    "institutes": len(sc.institutes)},
        "parameters": parameters, "government_units": units, "governments": governments, "events": events,
        "gated": [{"path": g.path, "reason": g.reason} for g in gated_parameters(sc)],
    }


def show_json(scenario: str | Scenario) -> str:
    return json.dumps(show_data(scenario), indent=2, default=str)


def show_text(scenario: str | Scenario) -> str:
    d = show_data(scenario)
    n = d["entries"]
    out = [f"scenario {d['scenario']!r}: {d['description']}",
           f"starts {d['start_quarter']}, {d['horizon']} quarters; " + ", ".join(f"{v} {k}" for k, v in n.items())
           + " ('kyoso params --keys regions|countries|firms' lists them)", ""]
    section = None
    for path, p in d["parameters"].items():
        parts = path.split(".")
        top = "scenario" if len(parts) == 1 else ".".join(parts[:2]) if parts[0] == "cocreation" else parts[0]
        if top != section:
            section = top
            out.append(f"[{section}]")
        out.append(f"  {path:<48} {_text(p['value']):<14} {p['unit']:<30} {p['source']}")
    out += ["", "[governments] (policy values; units: "
            + "; ".join(f"{f} {u}" for f, u in d["government_units"].items()) + ")"]
    out.append("  " + f"{'':<4}" + "".join(f"{f:>{len(f) + 2}}" for f in _POLICY) + "  conditions / source")
    for cc, g in d["governments"].items():
        cond = ", ".join(f"{k}={_number(v)}" for k, v in g["conditions"].items() if v)
        out.append(f"  {cc:<4}" + "".join(f"{_text(g[f]):>{len(f) + 2}}" for f in _POLICY)
                   + f"  {cond + ' / ' if cond else ''}{g['source']}")
    out += ["", f"[events] ({len(d['events'])})"]
    for e in d["events"]:
        what = ", ".join(f"{k}={_text(v)}" for k, v in e.items()
                         if k not in ("type", "start", "end", "description", "source", "id"))
        out.append(f"  {e['start']}–{e.get('end', 'end')}  {e['type']}" + (f" {e['id']!r}" if e.get("id") else "")
                   + (f" ({what})" if what else "") + (f": {e['description']}" if e.get("description") else "")
                   + (f" [{e['source']}]" if e.get("source") else ""))
    if not d["events"]:
        out.append("  none")
    out += ["", f"[gated to nothing] ({len(d['gated'])}; set in the scenario but cannot act)"]
    out += [f"  {g['path']}: {g['reason']}" for g in d["gated"]] or ["  none"]
    return "\n".join(out)
