"""The kyoso teaching page: ``kyoso dashboard`` (or ``experiments.dashboard.serve``).

A plain Solara page around Mesa's model (``ChipModel`` is a ``mesa.Model``).
Why not Mesa's SolaraViz any more (issue #13): SolaraViz shows its own
controls ("Use Threads", "Render Interval", page numbers), labels sliders with
their keyword and re-renders every panel after each step (1.3–2.1 s a Step
here).  This page labels every control in the chosen language with its value
and unit, says on each control when it acts, and redraws only what changed
(:mod:`.charts` blits this quarter's lines onto a saved background).

Parts, each in its own module so the rules are tested without a browser:
:mod:`.session` (levers, runs, live changes, the shareable link),
:mod:`.charts` (matplotlib figures), :mod:`.i18n` (en/ja/ko strings in
``i18n/*.toml``).  Routes: ``/`` this page, ``/classroom`` the role-play
(:mod:`.classroom_page`).

Solara runs this file as a script with its folder first on ``sys.path``;
only absolute imports of ``model`` and ``experiments`` are used.
"""

from __future__ import annotations

import html
import threading
import time
from pathlib import Path
from typing import Any

import reacton.ipyvuetify as rv
import solara
import solara.lab

from experiments.dashboard.charts import CHARTS, ChartSet, render
from experiments.dashboard.i18n import LANGS, t
from experiments.dashboard.session import (
    COMPARE_WITHOUT,
    KEY_METRICS,
    MAX_SEED,
    SCENARIOS,
    Lever,
    Run,
    Settings,
    compare_settings,
    levers,
    metrics_csv,
    parse_query,
    settings_query,
)

__all__ = ["TeachingPage", "Layout", "routes", "UNIT_KEYS", "PageSession"]

#: The schema's units (English) → the i18n key of their translated form.
UNIT_KEYS = {"share of capex": "unit.percent_capex", "utility per log-capacity unit": "unit.utility_per_log",
             "utility per risk-index unit": "unit.utility_per_risk", "index 0–1": "unit.index",
             "suppliers": "unit.suppliers"}

CSS = """
.kyoso-page { font-size: 15px; }
.kyoso-page.kyoso-projector { font-size: 20px; }
.kyoso-layout { display: flex; flex-wrap: wrap; gap: 16px; align-items: flex-start; }
.kyoso-side { flex: 0 0 340px; max-width: 340px; }
.kyoso-main { flex: 1 1 560px; min-width: 0; }
.kyoso-projector .kyoso-side { flex-basis: 420px; max-width: 420px; }
@media (max-width: 900px) { .kyoso-side, .kyoso-projector .kyoso-side { flex: 1 1 100%; max-width: 100%; } }
.kyoso-lever { border-bottom: 1px solid #eee; padding: 6px 0 2px 0; }
.kyoso-lever-head { display: flex; flex-wrap: wrap; justify-content: space-between; column-gap: 8px; font-weight: 600; }
.kyoso-value { font-weight: 700; color: #1f4e79; white-space: nowrap; }
.kyoso-when { font-size: 0.8em; color: #555; }
.kyoso-when.kyoso-pending { color: #b35900; font-weight: 700; }
.kyoso-chart img { width: 100%; height: auto; }
.kyoso-chart { margin-bottom: 10px; }
.kyoso-explain { font-size: 0.9em; color: #333; margin: 2px 4px 8px 4px; }
.kyoso-quarter { font-size: 1.8em; font-weight: 700; }
.kyoso-table { border-collapse: collapse; font-size: 0.95em; }
.kyoso-table td, .kyoso-table th { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: right; }
.kyoso-table td:first-child, .kyoso-table th:first-child { text-align: left; }
.kyoso-up { background: #d9f2d9; font-weight: 700; }
.kyoso-down { background: #f9dcdc; font-weight: 700; }
.kyoso-link { display: flex; gap: 6px; align-items: center; width: 100%; }
.kyoso-link-text { flex: 1; min-width: 0; border: 1px solid #ccc; padding: 2px 4px; font-size: 0.8em; }
.kyoso-compare { display: flex; flex-wrap: wrap; gap: 8px; }
.kyoso-compare > div { flex: 1 1 420px; min-width: 0; }
.v-tooltip__content { max-width: 420px; font-size: 14px; }
"""

#: Seconds per quarter while playing (64 quarters in 16 s).
PLAY_PACE = 0.25

CopyLink = solara.component_vue(str(Path(__file__).with_name("copy_link.vue")))(lambda query, label, copied_label: None)


# ====================================================================== state
class PageSession:
    """One browser session's runs and charts (built in :func:`TeachingPage` with ``use_memo``).

    ``values`` are the controls as shown; ``pending`` the controls that wait for
    Reset.  Every change of the runs bumps ``version`` (a counter the page
    watches)."""

    def __init__(self, query: str | None) -> None:
        parsed = parse_query(query)
        self.notices = parsed.notices
        self.lang = parsed.lang or "en"
        self.projector = parsed.projector
        self.compare = parsed.compare
        self.lock = threading.RLock()
        self.charts = ChartSet()
        self.images: dict[str, bytes] = {}
        self._build(parsed.settings)
        if parsed.quarter:
            with self.lock:
                target = [k for k in range(self.a.horizon + 1) if self.a.quarter(k) == parsed.quarter]
                if target:
                    self.a.run_to(target[0])
                    if self.b is not None:
                        self.b.run_to(target[0])
        self.redraw()

    # ------------------------------------------------------------ building
    def _build(self, settings: Settings) -> None:
        self.a = Run(settings)
        bs = compare_settings(settings, self.compare)
        self.b = Run(bs) if bs is not None else None
        self.levers = levers(settings.scenario)
        self.values: dict[str, Any] = {lv.path: settings.overrides.get(lv.path, lv.start) for lv in self.levers}
        for change in settings.live:          # a link with live changes: the controls show the latest value
            self.values[change.path] = change.value
        self.pending: set[str] = set()

    def redraw(self) -> None:
        with self.lock:
            self.images = self.charts.images(self.a, self.b, self.lang, self.projector)

    def query(self) -> str:
        return settings_query(self.a.settings, lang=self.lang, quarter=self.a.quarter() if self.a.steps else None,
                              compare=self.compare, projector=self.projector)

    # ------------------------------------------------------------- actions
    def step(self, draw: bool = True) -> None:
        with self.lock:
            self.a.step()
            if self.b is not None:
                self.b.step()
            if draw:
                self.redraw()

    def reset(self, scenario: str | None = None, seed: int | None = None) -> None:
        """Start again from the controls (a new scenario: from its own values)."""
        with self.lock:
            s = self.a.settings
            scenario = s.scenario if scenario is None else scenario
            seed = s.seed if seed is None else seed
            if scenario != s.scenario:
                overrides = {}
            else:
                overrides = {lv.path: self.values[lv.path] for lv in self.levers if lv.differs(self.values[lv.path])}
            self._build(Settings(scenario, seed, overrides))
            self.redraw()

    def set_lever(self, lever: Lever, value: Any) -> None:
        """A control moved: at once before the first step, from the next quarter for live levers, else pending."""
        with self.lock:
            value = lever.coerce(value)
            old = self.values[lever.path]
            if lever.kind == "float" and abs(value - old) <= 0.5 * (lever.step or 0) + 1e-12:
                return          # the slider snapping a value that is off its grid (0.223 → 0.22) is not a move
            self.values[lever.path] = value
            if self.a.steps == 0:
                self.reset()
            elif lever.live:
                self.a.apply_live(lever.path, value)
            else:
                applied = self.a.settings.overrides.get(lever.path, lever.start)
                if value == applied or (lever.kind == "float" and abs(value - applied) < 1e-9):
                    self.pending.discard(lever.path)
                else:
                    self.pending.add(lever.path)

    def set_compare(self, compare: str) -> None:
        with self.lock:
            self.compare = compare
            bs = compare_settings(self.a.settings, compare)
            self.b = Run(bs) if bs is not None else None
            if self.b is not None:
                self.b.run_to(self.a.steps)
            self.redraw()

    def set_view(self, lang: str | None = None, projector: bool | None = None) -> None:
        with self.lock:
            if lang is not None:
                self.lang = lang
            if projector is not None:
                self.projector = projector
            self.redraw()


# ================================================================ formatting
def value_text(lever: Lever, value: Any, lang: str) -> str:
    """A control's value with its unit, in the page's language (``35 % of capex``, ``on``)."""
    if lever.kind == "bool":
        return t("ui.on" if value else "ui.off", lang)
    if lever.percent:
        number = f"{100 * float(value):.0f}"
    elif lever.kind == "int":
        number = str(int(value))
    else:
        number = f"{float(value):.3g}"
    return t(UNIT_KEYS[lever.unit], lang, value=number) if lever.unit in UNIT_KEYS else f"{number} {lever.unit}"


def tooltip_text(lever: Lever, lang: str) -> str:
    unit = t(UNIT_KEYS[lever.unit], lang, value="x") if lever.unit in UNIT_KEYS else (lever.unit or "—")
    source = lever.source or t("ui.assumption", lang)
    return (f"{t(f'lever.{lever.id}.long', lang)}\n{t('ui.unit', lang)}: {unit}\n"
            f"{t('ui.source', lang)}: {source}\n{t('ui.parameter', lang)}: {lever.path}")


def _metric_text(name: str, value: float) -> str:
    if value != value:      # NaN
        return "—"
    if name.startswith("share_") or name == "supply_shortfall":
        return f"{100 * value:.1f} %"
    if name == "partnerships_jk":
        return f"{value:.0f}"
    return f"{value:.3f}"


def key_numbers_html(s: PageSession) -> str:
    """The key-numbers table (A, and B with B − A highlighted in compare mode)."""
    lang = s.lang
    ma = s.a.metrics().iloc[-1]
    mb = s.b.metrics().iloc[-1] if s.b is not None else None
    head = f"<th>{html.escape(t('ui.metric', lang))}</th><th>{t('ui.run_a', lang)}</th>"
    if mb is not None:
        head += f"<th>{t('ui.run_b', lang)}</th><th>{t('ui.difference', lang)}</th>"
    rows = []
    for name in KEY_METRICS:
        a = float(ma[name])
        cells = f"<td>{html.escape(t(f'metric.{name}', lang))}</td><td data-metric='{name}'>{_metric_text(name, a)}</td>"
        if mb is not None:
            b = float(mb[name])
            d = b - a
            cls = "" if not (d == d) or abs(d) < 1e-9 else ("kyoso-up" if d > 0 else "kyoso-down")
            dt = "—" if d != d else ("+" if d > 0 else "") + _metric_text(name, d) if name != "partnerships_jk" else f"{d:+.0f}"
            cells += f"<td data-metric-b='{name}'>{_metric_text(name, b)}</td><td class='{cls}'>{dt}</td>"
        rows.append(f"<tr>{cells}</tr>")
    return f"<table class='kyoso-table' data-testid='key-numbers'><tr>{head}</tr>{''.join(rows)}</table>"


# ================================================================ components
@solara.component
def LeverControl(lever: Lever, value: Any, lang: str, started: bool, pending: bool, on_change):
    """One control: label (tooltip: description, unit, source, path), value with unit, slider or switch, and
    when it acts.  Everything it shows is a prop, so it re-renders exactly when one of them changes."""
    if not started:
        when = t("ui.applies_start", lang)
    elif lever.live:
        when = t("ui.applies_now", lang)
    else:
        when = t("ui.press_reset", lang)
    with solara.Column(gap="0px", classes=["kyoso-lever"]):
        with rv.Tooltip(bottom=True, max_width=420, v_slots=[{
                "name": "activator", "variable": "tooltip",
                "children": rv.Html(tag="div", class_="kyoso-lever-head", v_on="tooltip.on", attributes={
                    "data-lever": lever.path}, children=[
                    rv.Html(tag="span", class_="kyoso-label", children=[t(f"lever.{lever.id}.short", lang) + " ⓘ"]),
                    rv.Html(tag="span", class_="kyoso-value", children=[value_text(lever, value, lang)]),
                ])}]):
            rv.Html(tag="div", style_="white-space: pre-line", children=[tooltip_text(lever, lang)])
        if lever.kind == "bool":
            solara.Switch(label=t("ui.on" if value else "ui.off", lang), value=bool(value),
                          on_value=lambda v: on_change(lever, v))
        elif lever.kind == "int":
            solara.SliderInt(label="", value=int(value), min=int(lever.low), max=int(lever.high),
                             on_value=lambda v: on_change(lever, v))
        else:
            solara.SliderFloat(label="", value=float(value), min=lever.low, max=lever.high, step=lever.step,
                               on_value=lambda v: on_change(lever, v))
        solara.Text(when, classes=["kyoso-when"] + (["kyoso-pending"] if pending else []))


@solara.component
def ChartBlock(s: PageSession, chart: str, png: bytes | None, lang: str, image_key: str | None = None):
    key = image_key or chart
    with solara.Column(gap="2px", classes=["kyoso-chart"]):
        if png is not None:
            solara.Image(png, format="png", width="100%")
        rv.Html(tag="div", class_="kyoso-explain", children=[
            rv.Html(tag="b", children=[t("ui.what_shows", lang) + ": "]), t(f"chart.{chart}.shows", lang),
            rv.Html(tag="br"),
            rv.Html(tag="b", children=[t("ui.what_look", lang) + ": "]), t(f"chart.{chart}.look", lang)])
        fname = f"kyoso_{key}_{s.a.settings.scenario}_seed{s.a.settings.seed}_{s.a.quarter()}.png"
        solara.FileDownload(lambda: render(chart if key != "map_b" else "map_b", s.a, lang, b=s.b,
                                           projector=s.projector),
                            filename=fname, label=f"{t('ui.export_png', lang)}", icon_name="")


@solara.component
def TeachingPage():
    router = solara.use_router()
    s: PageSession = solara.use_memo(lambda: PageSession(router.search), [])
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    _ = version.value
    lang = s.lang

    def bump():
        version.value += 1

    def do_step():
        s.step()
        bump()

    def play_loop():
        """Play at :data:`PLAY_PACE` seconds a quarter: a quarter whose slot has passed is simulated but not
        drawn (a busy machine shows fewer frames instead of playing slower); the last quarter is always drawn."""
        if not playing.value:
            return
        start, shown = time.monotonic(), 0
        while playing.value and not s.a.finished:
            s.step(draw=False)
            shown += 1
            due = start + shown * PLAY_PACE
            now = time.monotonic()
            if now <= due or s.a.finished:
                s.redraw()
                bump()
                time.sleep(max(0.0, due - time.monotonic()))
        if not s.a.finished:
            s.redraw()
            bump()
        playing.value = False

    play_task = solara.lab.use_task(play_loop, dependencies=[playing.value])
    busy = playing.value and play_task.pending

    def _on_lever(lever: Lever, value: Any):
        s.set_lever(lever, value)
        version.value += 1

    # One stable handler (the session and the counter never change), so an unchanged control does not re-render.
    on_lever = solara.use_memo(lambda: _on_lever, [])

    def on_reset():
        playing.value = False
        s.reset()
        bump()

    solara.Title(t("ui.title", lang))
    solara.Style(CSS)
    with solara.Column(classes=["kyoso-page"] + (["kyoso-projector"] if s.projector else []),
                       style={"padding": "12px", "max-width": "1500px", "margin": "0 auto"}):
        with solara.Row(style={"flex-wrap": "wrap", "align-items": "center", "gap": "12px"}):
            rv.Html(tag="h1", style_="font-size: 1.6em; margin: 0", children=[t("ui.title", lang)])
            rv.Select(label=t("ui.language", lang), v_model=lang, dense=True, hide_details=True,
                      items=[{"text": t("meta.language", code), "value": code} for code in LANGS],
                      style_="max-width: 160px", on_v_model=lambda v: (s.set_view(lang=v), bump()),
                      attributes={"data-testid": "language"})
            solara.Switch(label=t("ui.projector", lang), value=s.projector,
                          on_value=lambda v: (s.set_view(projector=v), bump()))
            rv.Html(tag="a", attributes={"href": "classroom"}, children=[t("ui.classroom", lang)])
        solara.Text(t("ui.subtitle", lang))
        if s.notices:
            solara.Warning(f"{t('ui.notice', lang)}: " + " · ".join(s.notices), dense=True)
        with solara.Div(classes=["kyoso-layout"]):
            with solara.Column(classes=["kyoso-side"], gap="6px"):
                rv.Select(label=t("ui.scenario", lang), v_model=s.a.settings.scenario,
                          items=[{"text": t(f"scenario.{n}.name", lang), "value": n} for n in SCENARIOS],
                          on_v_model=lambda v: (setattr(playing, "value", False), s.reset(scenario=v), bump()),
                          attributes={"data-testid": "scenario"})
                solara.InputInt(label=t("ui.seed", lang), value=s.a.settings.seed,
                                on_value=lambda v: (s.reset(seed=min(max(int(v or 0), 0), MAX_SEED)), bump()))
                solara.Text(t("ui.seed_help", lang), classes=["kyoso-when"])
                with solara.Row(gap="6px", style={"flex-wrap": "wrap"}):
                    if playing.value:
                        solara.Button(t("ui.pause", lang), color="warning", on_click=lambda: setattr(playing, "value", False))
                    else:
                        solara.Button(t("ui.play", lang), color="primary", disabled=busy or s.a.finished,
                                      on_click=lambda: setattr(playing, "value", True))
                    solara.Button(t("ui.step", lang), disabled=busy or playing.value or s.a.finished,
                                  on_click=do_step)
                    solara.Button(t("ui.reset", lang), on_click=on_reset)
                if busy:
                    solara.ProgressLinear(True)
                    solara.Text(t("ui.busy", lang), classes=["kyoso-when"])
                rv.Html(tag="h3", children=[t("ui.controls", lang)])
                for lever in s.levers:
                    LeverControl(lever, s.values[lever.path], lang, s.a.steps > 0, lever.path in s.pending,
                                 on_lever).key(f"{s.a.settings.scenario}-{lever.path}")
                if s.pending:
                    names = ", ".join(t(f"lever.{lv.id}.short", lang) for lv in s.levers if lv.path in s.pending)
                    solara.Warning(t("ui.pending", lang, items=names), dense=True)
                rv.Html(tag="h3", children=[t("ui.compare", lang)])
                rv.Select(label=t("ui.compare", lang), v_model=s.compare or "", dense=True,
                          items=[{"text": t("ui.compare_off", lang), "value": ""},
                                 {"text": t("ui.compare_without", lang), "value": COMPARE_WITHOUT}]
                          + [{"text": t(f"scenario.{n}.name", lang), "value": n} for n in SCENARIOS],
                          on_v_model=lambda v: (s.set_compare(v or ""), bump()), attributes={"data-testid": "compare"})
                solara.Text(t("ui.compare_help", lang), classes=["kyoso-when"])
                rv.Html(tag="h3", children=[t("ui.link", lang)])
                CopyLink(query=s.query(), label=t("ui.copy_link", lang), copied_label=t("ui.copied", lang))
                solara.Text(t("ui.link_help", lang), classes=["kyoso-when"])
                rv.Html(tag="h3", children=[t("ui.export", lang)])
                sc = s.a.settings
                solara.FileDownload(lambda: metrics_csv(s.a, s.b), label=t("ui.export_csv", lang),
                                    filename=f"kyoso_metrics_{sc.scenario}_seed{sc.seed}_{s.a.quarter()}.csv")
            with solara.Column(classes=["kyoso-main"], gap="4px"):
                a = s.a
                status = t("ui.finished", lang) if a.finished else t("ui.progress", lang, step=a.steps, horizon=a.horizon)
                with solara.Row(style={"align-items": "baseline", "gap": "16px", "flex-wrap": "wrap"}):
                    rv.Html(tag="div", class_="kyoso-quarter", attributes={"data-testid": "quarter"},
                            children=[t("ui.quarter", lang, quarter=a.quarter())])
                    solara.Text(status)
                changes = [f"{t(f'lever.{lv.id}.short', lang)} = {value_text(lv, a.settings.overrides[lv.path], lang)}"
                           for lv in s.levers if lv.path in a.settings.overrides]
                changes += [f"{t(f'lever.{lv.id}.short', lang)} = {value_text(lv, c.value, lang)} "
                            f"({t('ui.from_quarter', lang, quarter=c.quarter)})"
                            for c in a.settings.live for lv in s.levers if lv.path == c.path]
                solara.Text(f"{t('ui.changes', lang)}: " + ("; ".join(changes) if changes else t("ui.no_changes", lang)))
                rv.Html(tag="h3", children=[t("ui.key_numbers", lang, quarter=a.quarter())])
                solara.HTML(tag="div", unsafe_innerHTML=key_numbers_html(s))
                if s.b is not None:
                    with solara.Div(classes=["kyoso-compare"]):
                        with solara.Div():
                            ChartBlock(s, "map", s.images.get("map"), lang)
                        with solara.Div():
                            ChartBlock(s, "map", s.images.get("map_b"), lang, "map_b")
                else:
                    ChartBlock(s, "map", s.images.get("map"), lang)
                for chart in CHARTS[1:]:
                    ChartBlock(s, chart, s.images.get(chart), lang)


@solara.component
def Classroom():
    """The classroom role-play (issue #13 part 7), from :mod:`experiments.dashboard.classroom_page`."""
    try:
        from experiments.dashboard import classroom_page
    except ImportError as exc:      # the role-play page is not installed in this tree
        return solara.Error(f"classroom page not available: {exc}")
    # its Page reads ?lang= from the address and renders ClassroomPage in that language
    return getattr(classroom_page, "Page", classroom_page.ClassroomPage)()


@solara.component
def Layout(children=[]):
    """No app bar or route tabs: each page carries its own title and language picker."""
    return solara.Column(children=children, style={"padding": "0"})


routes = [
    # The root route's layout wraps every page (without it Solara adds an app bar with English route tabs).
    solara.Route(path="/", component=TeachingPage, label="kyoso", layout=Layout),
    solara.Route(path="classroom", component=Classroom, label="classroom"),
]
