"""The teaching page's state without any UI: levers, runs, live changes and the shareable link.

Nothing here imports Solara, so the rules are tested without a browser
(``tests/test_dashboard.py``):

* **Levers** (:data:`LEVER_SPECS`) are dotted scenario paths; kind, bounds,
  unit, description and source come from the scenario schema
  (:func:`model.scenario.describe_path`, the field's ``source=``, else the
  ``source`` of the table entry the path runs through).  A lever may narrow the
  schema's range for the classroom, never widen it.
* **When a control acts.**  Before the first step every control rebuilds the
  run at once (a build takes ~20 ms).  During a run a *live* lever (a
  government's subsidy rate or tax credit) acts from the next quarter through
  the model's own mechanism, a ``policy_change`` event (ODD §7.16) added to the
  event book for that quarter; every other lever needs Reset.
* **The link** (:func:`settings_query` / :func:`parse_query`) carries the
  scenario, seed, language, the quarter reached, every lever that differs from
  the scenario (``governments.US.subsidy_rate=0.2``) and every live change with
  its quarter (``governments.US.subsidy_rate@2026Q3=0.3``).  Opening it builds
  the same scenario (live changes become the same ``policy_change`` events),
  so the run is the same quarter by quarter.  Bad entries are dropped with a
  one-line notice each, never an error.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode

import numpy as np
import pandas as pd

from model import ChipModel
from model.scenario import (
    Event,
    Scenario,
    ScenarioError,
    builtin_scenarios,
    describe_path,
    load_scenario,
    parse_value,
    quarter_label,
    value_at,
)
from model.scenario.paths import split_path, walk
from model.scenario.quarters import QUARTER_PATTERN, quarter_index
from model.scenario.vocabulary import FAB_SEGMENTS, SEGMENTS

__all__ = ["LEVER_SPECS", "LeverSpec", "Lever", "levers", "DEFAULT_SCENARIO", "SCENARIOS", "LiveChange",
           "Settings", "Run", "settings_query", "parse_query", "Parsed", "KEY_METRICS", "MAX_SEED", "COMPARE_WITHOUT",
           "compare_settings", "metrics_csv"]

DEFAULT_SCENARIO = "baseline"
#: The built-in scenarios a teacher can pick (all of them).
SCENARIOS: tuple[str, ...] = tuple(builtin_scenarios())
MAX_SEED = 99_999
#: ``compare=without``: the same scenario and seed without the page's changes.
COMPARE_WITHOUT = "without"


@dataclass(frozen=True)
class LeverSpec:
    """A control of the page: its translation id, dotted path and an optional classroom maximum."""

    id: str
    path: str
    classroom_max: float | None = None


#: The page's controls, in sidebar order.  ``id`` names the control's strings in the i18n files.
LEVER_SPECS: tuple[LeverSpec, ...] = (
    LeverSpec("jp_subsidy", "governments.JP.subsidy_rate"),
    LeverSpec("kr_subsidy", "governments.KR.subsidy_rate"),
    LeverSpec("us_subsidy", "governments.US.subsidy_rate"),
    LeverSpec("tw_subsidy", "governments.TW.subsidy_rate"),
    LeverSpec("cn_subsidy", "governments.CN.subsidy_rate"),
    LeverSpec("w_agglomeration", "params.w_agglomeration", 5.0),
    LeverSpec("w_risk", "params.w_risk", 20.0),
    LeverSpec("tw_risk", "regions.TW-Hsinchu.investor_risk"),
    LeverSpec("sources", "network.sources_per_input"),
    LeverSpec("protection", "cocreation.investment_protection.enabled"),
    LeverSpec("talent", "cocreation.talent.enabled"),
    LeverSpec("random_events", "random_events.enabled"),
)

#: Government instruments a live control may set (they are ``policy_change`` settings, ODD §7.16).
LIVE_SETTINGS = ("subsidy_rate", "tax_credit")

#: Metrics of the key-numbers table, in order (names from the metric registry).
KEY_METRICS: tuple[str, ...] = ("share_JP", "share_KR", "share_TW", "share_US", "share_CN", "partnerships_jk",
                                "trust_jk", "clustering_index", "supply_shortfall")


@dataclass(frozen=True)
class Lever:
    """One control, described by the schema for one scenario."""

    id: str
    path: str
    kind: str            # "float", "int" or "bool"
    low: float | None
    high: float | None
    step: float | None
    start: Any           # the scenario's own value
    unit: str            # the schema's unit (English; the page shows the translated unit)
    description: str     # the schema's description
    source: str          # the schema's source= or the entry's source; "" = a model assumption
    live: bool           # acts during a run (from the next quarter)

    @property
    def percent(self) -> bool:
        """Shares are shown as percentages."""
        return self.kind == "float" and self.unit.startswith("share") and self.high is not None and self.high <= 1

    @property
    def country(self) -> str | None:
        """The government a live lever belongs to."""
        parts = self.path.split(".")
        return parts[1] if parts[0] == "governments" else None

    def coerce(self, value: Any) -> Any:
        """``value`` as this lever's type within its bounds, or ValueError with a one-line reason."""
        if self.kind == "bool":
            if isinstance(value, str):
                low = value.strip().lower()
                if low in ("true", "on", "1", "yes"):
                    return True
                if low in ("false", "off", "0", "no"):
                    return False
                raise ValueError(f"expected on or off, got {value!r}")
            if isinstance(value, bool):
                return value
            raise ValueError(f"expected on or off, got {value!r}")
        if isinstance(value, str):
            value = parse_value(value)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
            raise ValueError(f"expected a number, got {value!r}")
        if self.kind == "int":
            if float(value) != int(value):
                raise ValueError(f"expected a whole number, got {value!r}")
            value = int(value)
        else:
            value = float(value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            raise ValueError(f"expected a value in [{_num(self.low)}, {_num(self.high)}], got {_num(value)}")
        return value

    def differs(self, value: Any) -> bool:
        """Whether ``value`` is a change from the scenario's own value (floats within 1e-9 are equal)."""
        if self.kind == "float":
            return abs(float(value) - float(self.start)) > 1e-9
        return value != self.start


def _num(v: Any) -> str:
    if v is None:
        return "∞"
    return f"{v:g}" if isinstance(v, float) else str(v)


def _nice_step(span: float) -> float:
    """A round step giving about 100 slider positions."""
    raw = span / 100
    return float(10 ** math.floor(math.log10(raw))) if raw > 0 else 0.01


def _source(path: str, sc: Scenario) -> str:
    """The schema's ``source=`` of the field, else the ``source`` of the nearest table entry on the path."""
    steps = walk(split_path(path), sc)
    extra = steps[-1].field.json_schema_extra if steps[-1].field is not None else None
    if isinstance(extra, dict) and extra.get("source"):
        return str(extra["source"])
    for step in reversed(steps[:-1]):
        src = getattr(step.value, "source", None)
        if isinstance(src, str) and src:
            return src
    return ""


_LEVER_CACHE: dict[str, list[Lever]] = {}


def levers(scenario: str = DEFAULT_SCENARIO) -> list[Lever]:
    """:data:`LEVER_SPECS` the scenario has, described by the schema, starting values from the scenario.

    A lever whose path the scenario lacks (the ``symmetric`` laboratory has no
    China) is left out."""
    if scenario in _LEVER_CACHE:
        return _LEVER_CACHE[scenario]
    sc = load_scenario(scenario)
    out = []
    for spec in LEVER_SPECS:
        try:
            info = describe_path(spec.path, sc)
            start = value_at(spec.path, sc)
        except ScenarioError:
            continue
        parts = spec.path.split(".")
        live = parts[0] == "governments" and parts[-1] in LIVE_SETTINGS
        source = _source(spec.path, sc)
        if info.kind == "bool":
            out.append(Lever(spec.id, spec.path, "bool", None, None, None, bool(start), "", info.description,
                             source, live))
            continue
        if info.kind not in ("float", "int") or info.low is None or info.high is None:
            raise ValueError(f"dashboard lever {spec.path!r}: needs a bounded number or a switch in the schema")
        if start is None:          # e.g. investor_risk left empty: the region's political risk applies
            continue
        high = info.high
        if spec.classroom_max is not None:
            if not info.low <= spec.classroom_max <= info.high:
                raise ValueError(f"dashboard lever {spec.path!r}: classroom maximum {spec.classroom_max} outside the "
                                 f"schema's [{info.low}, {info.high}]")
            high = spec.classroom_max
        step = 1.0 if info.kind == "int" else _nice_step(high - info.low)
        start = int(start) if info.kind == "int" else float(start)
        out.append(Lever(spec.id, spec.path, info.kind, info.low, max(high, start) if info.kind != "bool" else high,
                         step, start, info.unit, info.description, source, live))
    _LEVER_CACHE[scenario] = out
    return out


# ------------------------------------------------------------------ settings
@dataclass(frozen=True)
class LiveChange:
    """A live lever set during a run: ``value`` acts from quarter ``quarter`` on."""

    path: str
    quarter: str
    value: float


@dataclass
class Settings:
    """What a run is built from: scenario, seed, overrides from the start, live changes."""

    scenario: str = DEFAULT_SCENARIO
    seed: int = 0
    overrides: dict[str, Any] = field(default_factory=dict)
    live: list[LiveChange] = field(default_factory=list)

    def copy(self) -> Settings:
        return Settings(self.scenario, self.seed, dict(self.overrides), list(self.live))

    def scenario_object(self) -> Scenario:
        """The validated scenario with the overrides, and each live change as a ``policy_change`` event."""
        sc = load_scenario(self.scenario, **{p.replace(".", "__"): v for p, v in self.overrides.items()})
        if self.live:
            sc = sc.model_copy(update={"events": list(sc.events) + [_live_event(c) for c in self.live]})
        return sc


def _live_event(change: LiveChange) -> Event:
    parts = change.path.split(".")
    return Event(type="policy_change", start=change.quarter, country=parts[1], settings={parts[2]: change.value},
                 description=f"set in the dashboard: {change.path} = {change.value:g}", source="kyoso dashboard")


# ---------------------------------------------------------------------- runs
class Run:
    """One ChipModel built from :class:`Settings`, with the reads the page needs."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings.copy()
        self.model = ChipModel(self.settings.scenario_object(), rng=self.settings.seed)
        geo = self.model.geo
        self._fab = np.array([s in FAB_SEGMENTS for s in SEGMENTS])
        self.region_country = [geo.countries[c] for c in geo.country]
        self._metrics: tuple[int, pd.DataFrame] | None = None

    @property
    def steps(self) -> int:
        return self.model.steps

    @property
    def horizon(self) -> int:
        return self.model.horizon

    @property
    def finished(self) -> bool:
        return self.model.steps >= self.model.horizon

    def quarter(self, step: int | None = None) -> str:
        return self.model.quarter_of(self.model.steps if step is None else step)

    def step(self) -> None:
        if not self.finished:
            self.model.step()

    def run_to(self, step: int) -> None:
        while self.model.steps < min(step, self.model.horizon):
            self.model.step()

    def metrics(self) -> pd.DataFrame:
        """The metrics table so far (computed once per quarter)."""
        if self._metrics is None or self._metrics[0] != self.model.steps:
            self._metrics = (self.model.steps, self.model.metrics())
        return self._metrics[1]

    def region_capacity(self) -> np.ndarray:
        """Operating front-end fab capacity per region now (kwpm)."""
        w = self.model.world
        by = w.sites.sum_by(("region", "segment"), (w.geo.n, len(SEGMENTS)))
        return by[:, self._fab].sum(axis=1)

    def apply_live(self, path: str, value: float) -> LiveChange:
        """Set a live lever from the next quarter: a ``policy_change`` event added to the event book for that
        quarter (a later change at the same quarter replaces it), recorded in the settings for the link."""
        parts = path.split(".")
        if parts[0] != "governments" or parts[-1] not in LIVE_SETTINGS:
            raise ValueError(f"{path}: not a lever that acts during a run")
        nxt = self.model.steps + 1
        change = LiveChange(path, self.quarter(nxt), float(value))
        book = self.model.world.events
        book.scheduled = [s for s in book.scheduled
                          if not (s[0] == nxt and s[2].source == "kyoso dashboard"
                                  and s[2].country == parts[1] and parts[2] in s[2].settings)]
        book.scheduled.append((nxt, None, _live_event(change)))
        self.settings.live = [c for c in self.settings.live if not (c.path == path and c.quarter == change.quarter)]
        self.settings.live.append(change)
        return change

    def current(self, path: str) -> Any:
        """The value a lever has in the running model now (live levers: the government's instrument)."""
        parts = path.split(".")
        if parts[0] == "governments" and parts[-1] in LIVE_SETTINGS:
            for g in self.model.world.policy.governments:
                if g.code == parts[1]:
                    return float(getattr(g, parts[-1]))
        return value_at(path, self.model.spec)


def compare_settings(a: Settings, compare: str) -> Settings | None:
    """The settings of run B: ``without`` = A's scenario and seed without changes; a scenario name = that
    scenario on A's seed with A's start overrides where it has those controls; "" = no comparison."""
    if not compare:
        return None
    if compare == COMPARE_WITHOUT:
        return Settings(a.scenario, a.seed)
    known = {lv.path for lv in levers(compare)}
    return Settings(compare, a.seed, {p: v for p, v in a.overrides.items() if p in known})


def metrics_csv(a: Run, b: Run | None = None) -> str:
    """The metrics table as CSV (both runs in compare mode, a ``run`` column naming A and B)."""
    frames = [a.metrics().assign(run="A", scenario=a.settings.scenario, seed=a.settings.seed)]
    if b is not None:
        frames.append(b.metrics().assign(run="B", scenario=b.settings.scenario, seed=b.settings.seed))
    df = pd.concat(frames, ignore_index=True)
    first = ["run", "scenario", "seed", "step", "quarter"]
    return df[first + [c for c in df.columns if c not in first]].to_csv(index=False)


# ---------------------------------------------------------------------- link
def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "on" if v else "off"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def settings_query(s: Settings, *, lang: str = "en", quarter: str | None = None, compare: str = "",
                   projector: bool = False) -> str:
    """The link's query string (without ``?``) for settings ``s``."""
    items: list[tuple[str, str]] = [("scenario", s.scenario), ("seed", str(s.seed)), ("lang", lang)]
    if quarter:
        items.append(("quarter", quarter))
    if compare:
        items.append(("compare", compare))
    if projector:
        items.append(("projector", "1"))
    items += [(p, _fmt(v)) for p, v in s.overrides.items()]
    items += [(f"{c.path}@{c.quarter}", _fmt(c.value)) for c in s.live]
    return urlencode(items, safe=".@-")


@dataclass
class Parsed:
    """What a link asks for, and a one-line notice for every entry that was ignored."""

    settings: Settings
    lang: str | None = None
    quarter: str | None = None
    compare: str = ""
    projector: bool = False
    notices: list[str] = field(default_factory=list)


def parse_query(query: str | None) -> Parsed:
    """Settings from a link's query string; bad entries are left out, each with a one-line notice."""
    from .i18n import parse_lang

    pairs = parse_qsl((query or "").lstrip("?"), keep_blank_values=True)
    out = Parsed(Settings())
    notices = out.notices
    rest: list[tuple[str, str]] = []
    for key, value in pairs:
        if key == "scenario":
            if value in SCENARIOS:
                out.settings.scenario = value
            else:
                notices.append(f"scenario={value}: unknown scenario (expected one of {', '.join(SCENARIOS)}); "
                               f"{DEFAULT_SCENARIO} shown")
        elif key == "seed":
            if value.isdigit() and int(value) <= MAX_SEED:
                out.settings.seed = int(value)
            else:
                notices.append(f"seed={value}: expected a whole number 0–{MAX_SEED}; seed 0 used")
        elif key == "lang":
            lang = parse_lang(value)
            if lang is None:
                notices.append(f"lang={value}: expected en, ja or ko; English shown")
            out.lang = lang
        elif key == "projector":
            out.projector = value.lower() in ("1", "true", "on", "yes")
        else:
            rest.append((key, value))
    sc = out.settings.scenario
    by_path = {lv.path: lv for lv in levers(sc)}
    meta = load_scenario(sc).meta
    first, horizon = quarter_index(meta.start_quarter), meta.horizon

    def quarter_ok(q: str, lowest: int) -> bool:
        return bool(QUARTER_PATTERN.match(q)) and lowest <= quarter_index(q) - first <= horizon

    for key, value in rest:
        if key == "quarter":
            if quarter_ok(value, 0):
                out.quarter = value
            else:
                notices.append(f"quarter={value}: expected a quarter from {meta.start_quarter} to "
                               f"{quarter_label(meta.start_year, meta.start_q, horizon)}; the run starts at the beginning")
            continue
        if key == "compare":
            if value in SCENARIOS or value == COMPARE_WITHOUT:
                out.compare = value
            else:
                notices.append(f"compare={value}: expected {COMPARE_WITHOUT} or a scenario name; no comparison")
            continue
        path, _, at = key.partition("@")
        lever = by_path.get(path)
        if lever is None:
            notices.append(f"{key}={value}: not a control of this page for scenario {sc}; ignored")
            continue
        try:
            v = lever.coerce(value)
        except ValueError as exc:
            notices.append(f"{key}={value}: {exc}; the scenario's value kept")
            continue
        if not at:
            out.settings.overrides[path] = v
        elif not lever.live:
            notices.append(f"{key}={value}: {path} cannot change during a run; ignored")
        elif not quarter_ok(at, 1):
            notices.append(f"{key}={value}: quarter {at} is not inside the run; ignored")
        else:
            out.settings.live.append(LiveChange(path, at, float(v)))
    out.settings.live.sort(key=lambda c: quarter_index(c.quarter))
    return out
