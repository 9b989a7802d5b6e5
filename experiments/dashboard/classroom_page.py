"""The classroom role-play page (``/classroom``): a teacher view and a team view over :mod:`experiments.classroom`.

``solara run experiments/dashboard/classroom_page.py`` serves it alone (it defines ``Page``); the teaching page
mounts :func:`ClassroomPage` at the route ``classroom``.

* **Who is who.**  A browser session is a teacher (opened a game: holds its teacher token) or a team (joined with
  the code: holds its team token), kept in the session's component state; the games themselves live in
  :data:`experiments.classroom.REGISTRY`, shared by every session of the server.  The page passes the token with
  every action, and the game object decides: a team's panel even lets it pick another government and press
  *Submit*, and the server refuses (the protection is not in the page).
* **Reload.**  A reload starts a new Solara session, so the token must survive in the browser:
  ``classroom_session.vue`` (:data:`SessionSync`) keeps it in the tab's ``sessionStorage`` and the browser's
  ``localStorage`` under the join code, and puts only ``?game=CODE`` in the address bar (``history.replaceState``,
  as the teaching page's copy link) — never the token, because the teacher's page is on the projector.  On load
  the page sends the kept token for ``?game=`` to :meth:`~experiments.classroom.Registry.resume`, which checks it
  like every action; a refused token is forgotten.  ``?game=CODE`` without a kept token (a link the teacher
  handed out) opens the join form with the game found.
* **Live.**  Each view polls its game's ``version`` once a second (a Solara thread) and re-renders when a team
  joins or submits or the teacher advances, so the roster's ✓ and the teams' year follow without a reload.
* **Light charts.**  Two small matplotlib figures per view (72 dpi PNG) and plain HTML tables; a year (four
  quarters) advances in well under a second on the built-in scenarios.
* **Text.**  Every string comes from the teaching page's translation files (:mod:`experiments.dashboard.i18n`,
  tables ``[classroom]``, ``[classroom.instrument]``, ``[classroom.help]``, ``[classroom.measure]``,
  ``[classroom.unit]`` of ``i18n/{en,ja,ko}.toml``) through :func:`tr`; the language comes from ``?lang=`` or the
  picker.  Messages of the game logic (a refused request, bad input) stay in English, as the model's errors do.
"""

from __future__ import annotations

import html
import io
import re
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import reacton.ipyvuetify as rv  # noqa: E402
import solara  # noqa: E402

from experiments.classroom import (  # noqa: E402
    DEFAULT_SCENARIO,
    EXPORT_CONTROL,
    INSTRUMENTS,
    REGISTRY,
    ClassroomError,
    Debrief,
    Game,
    default_roles,
    normalise_code,
)
from experiments.dashboard import i18n as _i18n  # noqa: E402
from experiments.dashboard.charts import _cjk_font  # noqa: E402
from model.scenario import SEGMENTS, builtin_scenarios, load_scenario  # noqa: E402

__all__ = ["ClassroomPage", "Page", "tr", "text_key", "SessionSync"]

#: Keeps a session across reloads (see the module docstring): the browser side of :func:`ClassroomPage`.
SessionSync = solara.component_vue(str(Path(__file__).with_name("classroom_session.vue")))(
    lambda game, token, lang, stale, event_restore: None)

def tr(key: str, lang: str = "en", **values: Any) -> str:
    """The page's text for ``key``: ``classroom.<key>`` of the language's file in ``i18n/`` (English if missing)."""
    return _i18n.t(f"classroom.{key}", lang, **values)


def _label(name: str, lang: str) -> str:
    """Short label of an instrument."""
    return _i18n.t(f"classroom.instrument.{name}", lang)


def text_key(text: str) -> str:
    """The key of a measure's or unit's English text in the ``[classroom.measure]`` / ``[classroom.unit]`` tables
    (``"%, mean over the game"`` → ``pct_mean_over_the_game``)."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower().replace("%", " pct ").replace("×", " x ")).strip("_")


def _shown(table: str, text: str, lang: str) -> str:
    """A measure's or unit's text in ``lang`` (the English text itself when the catalogue lacks it)."""
    key = f"classroom.{table}.{text_key(text)}"
    return _i18n.t(key, lang) if _i18n.has(key, "en") else text


def _help(name: str, inst: Any, lang: str) -> str:
    """An instrument's tooltip: ``classroom.help.<name>`` (the schema's description in English)."""
    key = f"classroom.help.{name}"
    return _i18n.t(key, lang) if _i18n.has(key, "en") else inst.description


def _scenario(name: str, lang: str) -> str:
    key = f"scenario.{name}.name"
    return f"{_i18n.t(key, lang)} ({name})" if lang != "en" and _i18n.has(key, lang) else name


def _localised(frame, lang: str) -> list[list[Any]]:
    """Rows of a debrief table with its measure and unit columns in ``lang``."""
    rows = frame.values.tolist()
    cols = list(frame.columns)
    for row in rows:
        for col, table in (("measure", "measure"), ("unit", "unit")):
            i = cols.index(col)
            row[i] = _shown(table, row[i], lang)
    return rows


def _country(game: Game, code: str, lang: str) -> str:
    """A government's name: the scenario's in English, the catalogue's ``country.<code>`` in other languages."""
    if lang != "en" and _i18n.has(f"country.{code}", lang):
        return _i18n.t(f"country.{code}", lang)
    return game.names[code]


@contextmanager
def _fonts(lang: str):
    """Charts in Japanese or Korean need a CJK font first in the family (the teaching page's)."""
    cjk = _cjk_font()
    family = ["DejaVu Sans"] if not cjk else ([cjk, "DejaVu Sans"] if lang in ("ja", "ko") else ["DejaVu Sans", cjk])
    with plt.rc_context({"font.family": family}):
        yield


# ------------------------------------------------------------------------------------------------ helpers
def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=72, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def _table(header: list[str], rows: list[list[Any]], test_id: str = "") -> None:
    """A plain HTML table (escaped), readable on a projector."""
    head = "".join(f"<th style='text-align:left;padding:2px 10px'>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 10px'>{html.escape(_fmt(v))}</td>" for v in r) + "</tr>"
                   for r in rows)
    attrs = {"data-testid": test_id} if test_id else None
    solara.HTML(tag="table", unsafe_innerHTML=f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>",
                style="border-collapse:collapse;font-size:15px", attributes=attrs)


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "✓" if v else "–"
    if isinstance(v, float):
        if v != v:
            return "–"
        return f"{v:,.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    if v is None:
        return "–"
    return str(v)


def _plain(v: Any, lang: str = "en") -> str:
    """A form value as plain text (lists joined by '/')."""
    if isinstance(v, (list, tuple)):
        return "/".join(str(x) for x in v) or tr("none", lang)
    return str(v)


def use_game_version(game: Game) -> int:
    """Re-render when the game changes (another session joined, submitted or advanced): poll once a second."""
    version, set_version = solara.use_state(game.version)

    def poll(cancel: threading.Event) -> None:
        last = game.version
        while not cancel.is_set():
            if game.version != last:
                last = game.version
                set_version(last)
            cancel.wait(1.0)

    solara.use_thread(poll, dependencies=[game.code], intrusive_cancel=False)
    return version


# ---------------------------------------------------------------------------------------------- components
@solara.component
def ClassroomPage(lang: str = "en", code: str | None = None, on_lang: Callable[[str], None] | None = None):
    """The classroom: landing (open or join a game), then the teacher's or the team's view for this session.

    ``code`` is the join code from the address (``?game=``): the page first asks the browser for the key it kept
    for that game (:data:`SessionSync`) and rejoins if the server accepts it; without a kept key the join form
    opens with the code filled in.  ``on_lang`` receives the language picked in the page (None: no picker)."""
    session = solara.use_reactive(None)          # {"kind": "teacher"|"team", "code": ..., "token": ...}
    restoring = solara.use_reactive(bool(code))  # waiting for the browser's kept key
    notice = solara.use_reactive("")
    stale = solara.use_reactive("")              # a game whose kept key the server refused: the browser forgets it

    def restore(data: Any) -> None:
        """The browser's answer on load: the game in the address and the key it kept for it (or none)."""
        data = data if isinstance(data, dict) else {}
        wanted, token = data.get("game"), data.get("token")
        try:
            if wanted and session.value is None:
                if token:
                    try:
                        game, kind = REGISTRY.resume(wanted, token)
                    except ClassroomError as exc:
                        notice.set(tr("rejoin_failed", lang, code=wanted, message=str(exc)))
                        stale.set(normalise_code(wanted))
                    else:
                        session.set({"kind": kind, "code": game.code, "token": token})
        finally:
            restoring.set(False)

    def leave() -> None:
        session.set(None)
        notice.set("")

    solara.Title(tr("title", lang))
    s = session.value
    with solara.Column(style={"max-width": "1400px", "margin": "0 auto", "padding": "12px"}) as main:
        SessionSync(game=s["code"] if s else None, token=s["token"] if s else None, lang=lang,
                    stale=stale.value or None, event_restore=restore)
        with solara.Row(style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Text(tr("title", lang), style={"font-size": "1.8em", "font-weight": "bold"})
            if on_lang is not None:
                rv.Select(label=_i18n.t("ui.language", lang), v_model=lang, dense=True, hide_details=True,
                          items=[{"text": _i18n.t("meta.language", c), "value": c} for c in _i18n.LANGS],
                          style_="max-width: 160px", on_v_model=on_lang, attributes={"data-testid": "language"})
        if notice.value:
            solara.Warning(notice.value, dense=True)
        if s is None:
            if restoring.value:
                solara.Text(tr("rejoining", lang, code=normalise_code(code)))
            else:
                Landing(lang=lang, on_session=session.set, code=code)
        else:
            try:
                game = REGISTRY.get(s["code"])
            except ClassroomError as exc:
                solara.Error(str(exc))
                solara.Button(tr("leave", lang), on_click=leave)
                return main
            solara.Text(tr("rejoin_note", lang), style={"font-size": "0.85em", "color": "#666"})
            if s["kind"] == "teacher":
                TeacherView(game=game, token=s["token"], lang=lang)
            else:
                TeamView(game=game, token=s["token"], lang=lang)
    return main


@solara.component
def Landing(lang: str, on_session: Callable[[dict], None], code: str | None = None):
    scenario = solara.use_reactive(DEFAULT_SCENARIO)
    seed = solara.use_reactive(0)
    years = solara.use_reactive(3)
    roles = solara.use_reactive(default_roles(load_scenario(DEFAULT_SCENARIO)))
    given = _known_code(code)                    # a join code from the address (a link the teacher handed out)
    typed = solara.use_reactive(given or (code or ""))
    team = solara.use_reactive("")
    found = solara.use_reactive(given)           # join code of the game found
    error = solara.use_reactive("")
    all_govs = solara.use_memo(lambda: list(load_scenario(scenario.value).governments), [scenario.value])

    def on_scenario(name: str) -> None:
        scenario.set(name)
        roles.set(default_roles(load_scenario(name)))

    def open_game() -> None:
        try:
            game, token = REGISTRY.create(scenario.value, seed.value, years.value, list(roles.value))
        except ClassroomError as exc:
            error.set(str(exc))
            return
        on_session({"kind": "teacher", "code": game.code, "token": token})

    def find() -> None:
        try:
            game = REGISTRY.get(typed.value)
        except ClassroomError as exc:
            error.set(str(exc))
            found.set(None)
            return
        error.set("")
        found.set(game.code)

    def join(gov: str) -> None:
        try:
            game, token = REGISTRY.join(found.value, team.value, gov)
        except ClassroomError as exc:
            error.set(str(exc))
            return
        on_session({"kind": "team", "code": game.code, "token": token})

    solara.Text(tr("intro", lang))
    with solara.Columns([1, 1]):
        with solara.Card(tr("teacher_card", lang)):
            solara.Select(tr("scenario", lang), values=list(builtin_scenarios()), value=scenario.value,
                          on_value=on_scenario)
            solara.InputInt(tr("seed", lang), value=seed)
            solara.InputInt(tr("years", lang), value=years)
            solara.Text(tr("roles", lang))
            solara.ToggleButtonsMultiple(value=roles, values=all_govs, dense=True)
            solara.Button(tr("open_game", lang), on_click=open_game, color="primary")
        with solara.Card(tr("team_card", lang)):
            solara.InputText(tr("code", lang), value=typed, continuous_update=True)
            solara.InputText(tr("team_name", lang), value=team, continuous_update=True)
            solara.Button(tr("find_game", lang), on_click=find, color="primary")
            if found.value is not None:
                game = REGISTRY.get(found.value)
                open_roles = game.open_roles()
                if open_roles:
                    solara.Text(tr("pick_government", lang))
                    with solara.Row(style={"flex-wrap": "wrap"}):
                        for gov in open_roles:
                            solara.Button(tr("join_as", lang, name=_country(game, gov, lang), code=gov),
                                          on_click=lambda gov=gov: join(gov))
                else:
                    solara.Warning(tr("no_roles", lang))
    if error.value:
        solara.Error(error.value)


@solara.component
def TeacherView(game: Game, token: str, lang: str):
    use_game_version(game)
    message = solara.use_reactive("")

    def advance() -> None:
        try:
            game.advance(token)
            message.set("")
        except ClassroomError as exc:
            message.set(str(exc))

    def end() -> None:
        try:
            game.end(token)
            message.set("")
        except ClassroomError as exc:
            message.set(str(exc))

    view = game.world_view()
    solara.Text(tr("join_code", lang, code=game.code), style={"font-size": "2.4em", "font-weight": "bold",
                                                              "letter-spacing": "0.15em"})
    key = "game_over_line" if game.finished else "game_line"
    solara.Text(tr(key, lang, scenario=_scenario(game.scenario, lang), seed=game.seed, year=game.year,
                   rounds=game.rounds, quarter=view["quarter"]))
    with solara.Columns([1, 2]):
        with solara.Column():
            solara.Text(tr("roster", lang), style={"font-size": "1.3em", "font-weight": "bold"})
            roster = game.roster()
            if roster:
                _table([tr("col_team", lang), tr("col_government", lang), tr("col_submitted", lang, year=game.year)],
                       [[r["team"], f"{r['government']} {_country(game, r['government'], lang)}", r["submitted"]]
                        for r in roster],
                       test_id="roster")
            else:
                solara.Info(tr("no_teams", lang))
            taken = {r["government"] for r in roster}
            solara.Text(tr("ai_roles", lang, codes=", ".join(c for c in game.countries if c not in taken)))
            with solara.Column(gap="8px", align="start"):
                with solara.Column():
                    if not game.ended and not game.finished:
                        first, last = game.year_quarters()
                        solara.Button(tr("advance", lang, year=game.year, first=first, last=last),
                                      on_click=advance, color="primary")
                with solara.Column():
                    if not game.ended:
                        solara.Button(tr("end", lang), on_click=end)
            with solara.Column():
                if message.value:
                    solara.Error(message.value)
        with solara.Column():
            WorldPanel(game=game, view=view, own=None, lang=lang)
    if game.ended:
        DebriefPanel(game=game, debrief=game.debrief(), own=None, lang=lang)


@solara.component
def TeamView(game: Game, token: str, lang: str):
    version = use_game_version(game)
    team = game.team(token)
    selected = solara.use_reactive(team.government)
    edits = solara.use_reactive({})
    message = solara.use_reactive(("", ""))     # (kind, text)

    def reset_edits() -> None:
        edits.set({})
        message.set(("", ""))

    solara.use_effect(reset_edits, [selected.value, game.year])
    own = selected.value == team.government

    def current() -> tuple[dict[str, Any], dict[str, Any]]:
        """The form's values now: the selected government's settings with this session's edits on top.
        Read at click time too, so a render that another thread started earlier cannot hand Submit stale values."""
        mine = selected.value == team.government
        base = (game.settings(token) if mine else game.in_force(selected.value)).as_dict()
        vals = {**base, **edits.value}
        vals.setdefault("export_targets", list(base["export_controls"]))
        vals.setdefault("export_share", max(base["export_controls"].values(), default=0.0))
        return base, vals

    base, values = current()
    targets, share = list(values["export_targets"]), values["export_share"]

    def setter(name: str) -> Callable[[Any], None]:
        return lambda v: edits.set({**edits.value, name: v})

    def submit() -> None:
        _, vals = current()
        changes = {k: vals[k] for k in INSTRUMENTS}
        changes["export_controls"] = {c: vals["export_share"] for c in vals["export_targets"]}
        changes["export_segments"] = list(vals["export_segments"])
        changes["cocreation"] = bool(vals["cocreation"])
        changes["fund"] = bool(vals["fund"])
        gov = selected.value
        try:
            game.submit(token, gov, changes)
        except ClassroomError as exc:
            message.set(("error", tr("refused", lang, message=str(exc))))
            return
        edits.set({})
        message.set(("ok", tr("submitted_ok", lang, government=gov, year=game.year)))

    view = game.world_view()
    solara.Text(tr("team_line", lang, team=team.name, name=_country(game, team.government, lang), code=team.government,
                   game=game.code), style={"font-size": "1.3em", "font-weight": "bold"})
    # Conditional parts sit in containers that are always there, so a re-render never shifts the form's fields.
    with solara.Column(gap="4px"):
        if game.ended:
            solara.Info(tr("game_ended", lang))
        elif not game.finished:
            first, last = game.year_quarters()
            solara.Text(tr("year_line", lang, year=game.year, rounds=game.rounds, first=first, last=last))
            if team.submitted_year == game.year:
                solara.Success(tr("submitted", lang, year=game.year))
            else:
                solara.Warning(tr("not_submitted", lang, year=game.year))
    with solara.Columns([1, 1]):
        with solara.Column():
            playing = not game.ended and not game.finished
            with solara.Column(style={"display": "flex" if playing else "none"}):
                solara.Text(tr("instruments", lang), style={"font-size": "1.3em", "font-weight": "bold"})
                solara.Text(tr("government_to_set", lang))
                solara.ToggleButtonsSingle(value=selected, values=list(game.roles), dense=True)
                with solara.Column():
                    if not own:
                        solara.Info(tr("other_government", lang, own=team.government, other=selected.value))
                with solara.GridFixed(columns=2, column_gap="24px", row_gap="0px"):
                    for name, inst in INSTRUMENTS.items():
                        unit = _shown("unit", inst.unit, lang)
                        with solara.Tooltip(f"{_help(name, inst, lang)} [{unit}; {inst.low:g}–{inst.high:g}] "
                                            f"({tr('schema', lang)}: {inst.path})"):
                            with solara.Row():
                                solara.InputFloat(f"{_label(name, lang)} ({inst.low:g}–{inst.high:g})",
                                                  value=values[name], on_value=setter(name), suffix=unit,
                                                  style={"width": "100%"})
                solara.Text(tr("export_targets", lang))
                solara.ToggleButtonsMultiple(value=list(targets), values=[c for c in game.countries
                                                                          if c != selected.value],
                                             on_value=setter("export_targets"), dense=True)
                unit = _shown("unit", EXPORT_CONTROL.unit, lang)
                with solara.Tooltip(f"{_help('export_controls', EXPORT_CONTROL, lang)} [{unit}; 0–1]"):
                    with solara.Row():
                        solara.InputFloat(f"{tr('export_share', lang)} (0–1)", value=share,
                                          on_value=setter("export_share"), suffix=unit,
                                          style={"width": "100%"})
                solara.Text(tr("export_segments", lang))
                solara.ToggleButtonsMultiple(value=list(values["export_segments"]), values=list(SEGMENTS),
                                             on_value=setter("export_segments"), dense=True)
                solara.Checkbox(label=tr("cocreation", lang), value=bool(values["cocreation"]),
                                on_value=setter("cocreation"))
                solara.Checkbox(label=tr("fund", lang), value=bool(values["fund"]), on_value=setter("fund"))
                solara.Button(tr("submit", lang, year=game.year), on_click=submit, color="primary")
                with solara.Column():
                    if edits.value:
                        solara.Text(tr("pending", lang, items="; ".join(f"{k} = {_plain(v, lang)}"
                                                                        for k, v in sorted(edits.value.items()))),
                                    style={"font-style": "italic"})
                with solara.Column():
                    kind, text = message.value
                    if kind == "error":
                        solara.Error(text)
                    elif kind == "ok":
                        solara.Success(text)
        with solara.Column():
            OwnResults(game=game, token=token, version=version, lang=lang)
    WorldPanel(game=game, view=view, own=team.government, lang=lang)
    if game.ended:
        DebriefPanel(game=game, debrief=game.debrief(), own=team.government, lang=lang)


def _world_figure(view: dict[str, Any], own: str | None, lang: str, roles: tuple[str, ...]) -> bytes:
    shares = view["shares"]
    with _fonts(lang):
        return _png(_world_plot(shares, own, lang, roles))


def _world_plot(shares, own: str | None, lang: str, roles: tuple[str, ...]):
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    shown = [c for c in shares.columns if c in roles or c == own]
    for c in shown:
        ax.plot(range(len(shares)), shares[c], lw=3.0 if c == own else 1.5, label=c,
                marker="o" if len(shares) < 3 else None)
    others = shares.drop(columns=shown).sum(axis=1)
    ax.plot(range(len(shares)), others, lw=1.0, ls="--", color="grey", label=tr("chart_others", lang))
    ticks = list(range(0, len(shares), 4))
    ax.set_xticks(ticks, [shares.index[i] for i in ticks], fontsize=10)
    ax.set_ylabel("%", fontsize=11)
    ax.set_title(tr("world_chart", lang), fontsize=12)
    ax.legend(fontsize=9, ncol=4, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    return fig


@solara.component
def WorldPanel(game: Game, view: dict[str, Any], own: str | None, lang: str):
    png = solara.use_memo(lambda: _world_figure(view, own, lang, game.roles), [game.code, view["step"], own, lang])
    with solara.Column():
        solara.Text(tr("world", lang), style={"font-size": "1.3em", "font-weight": "bold"})
        solara.Image(png, format="png")
        p = view["partnerships"]
        solara.Text(tr("partnerships", lang, active=p["partnerships_active"],
                       cross=100 * p["partnerships_cross_border_share"], members=p["partnerships_members"],
                       projects=p["projects_active"], fund=p["fund_budget"]))
        solara.Text(tr("governments", lang), style={"font-weight": "bold"})
        rows = []
        for g in view["governments"]:
            controls = ", ".join(f"{k} {v:.2f}" for k, v in g["export_controls"].items()) or "–"
            rows.append([f"{g['government']} {_country(game, g['government'], lang)}", g["played_by"] or tr("ai", lang),
                         g["subsidy_rate"], g["annual_budget"], g["budget_left"], g["subsidy_paid"], g["share"],
                         g["cocreation"], g["fund"], controls])
        _table([tr("col_government", lang), tr("col_played_by", lang), tr("col_rate", lang), tr("col_budget", lang),
                tr("col_left", lang), tr("col_paid", lang), tr("col_share", lang), tr("col_cocreation", lang),
                tr("col_fund", lang), tr("col_controls", lang)], rows, test_id="governments")
        solara.Text(tr("events", lang), style={"font-weight": "bold"})
        if view["events"]:
            _table([tr("col_quarter", lang), tr("col_event", lang), tr("col_target", lang),
                    tr("col_description", lang)],
                   [[e["quarter"], e["type"], e["target"], e["description"]] for e in view["events"]],
                   test_id="events")
        else:
            solara.Text(tr("no_events", lang))


def _own_figure(series, code: str, lang: str) -> bytes:
    with _fonts(lang):
        return _png(_own_plot(series, code, lang))


def _own_plot(series, code: str, lang: str):
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.0, 2.6))
    x = range(len(series))
    a1.plot(x, series["share"], lw=2.5, color="C0", marker="o" if len(series) < 3 else None)
    a1.set_ylabel(tr("chart_share_axis", lang), fontsize=10)
    a2.bar(x, series["fab_capex"], color="C1")
    a2.set_ylabel(tr("chart_capex_axis", lang), fontsize=10)
    for ax in (a1, a2):
        ticks = list(range(0, len(series), 4))
        ax.set_xticks(ticks, [series.index[i] for i in ticks], fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(tr("own_chart", lang, code=code), fontsize=11)
    fig.tight_layout()
    return fig


@solara.component
def OwnResults(game: Game, token: str, version: int, lang: str):
    res = game.results(token)
    png = solara.use_memo(lambda: _own_figure(res["series"], res["government"], lang),
                          [game.code, len(res["series"]), lang])
    with solara.Column():
        solara.Text(tr("own_results", lang, name=_country(game, res["government"], lang)),
                    style={"font-size": "1.3em", "font-weight": "bold"})
        solara.Image(png, format="png")
        _table([tr("col_measure", lang), tr("col_value", lang), tr("col_unit", lang)],
               [[_shown("measure", m, lang), v, _shown("unit", u, lang)] for m, u, v in res["measures"]],
               test_id="own-results")


def _debrief_figure(debrief: Debrief, lang: str) -> bytes:
    d = debrief.countries
    share = d[d["unit"] == "%"].loc[lambda x: x["measure"] == "share of world fab capacity"]
    with _fonts(lang):
        return _png(_debrief_plot(share, lang))


def _debrief_plot(share, lang: str):
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    colors = ["C2" if v >= 0 else "C3" for v in share["difference"]]
    ax.bar(share["country"], share["difference"], color=colors)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel(tr("chart_pp", lang), fontsize=11)
    ax.set_title(tr("debrief_chart", lang), fontsize=12)
    ax.grid(alpha=0.3, axis="y")
    return fig


@solara.component
def DebriefPanel(game: Game, debrief: Debrief | None, own: str | None, lang: str):
    png = solara.use_memo(lambda: _debrief_figure(debrief, lang) if debrief is not None else b"",
                          [game.code, lang, debrief is None])
    with solara.Column() as panel:
        if debrief is None:
            return panel
        solara.Text(tr("debrief", lang), style={"font-size": "1.5em", "font-weight": "bold"})
        solara.Text(tr("debrief_intro", lang, quarters=debrief.quarters, quarter=debrief.last_quarter))
        solara.Image(png, format="png")
        head = [tr("col_measure", lang), tr("col_unit", lang), tr("col_class", lang), tr("col_status_quo", lang),
                tr("col_difference", lang)]
        with solara.Columns([1, 1]):
            with solara.Column():
                solara.Text(tr("debrief_world", lang), style={"font-weight": "bold"})
                _table(head, _localised(debrief.world[["measure", "unit", "class", "status_quo", "difference"]],
                                        lang), test_id="debrief-world")
            with solara.Column():
                solara.Text(tr("debrief_countries", lang), style={"font-weight": "bold"})
                d = debrief.countries
                shown = d[d["country"] == own] if own else d[d["country"].isin(game.roles)]
                _table([tr("col_government", lang), *head],
                       _localised(shown[["country", "measure", "unit", "class", "status_quo", "difference"]], lang),
                       test_id="debrief-countries")
        solara.Text(tr("debrief_decisions", lang), style={"font-weight": "bold"})
        if debrief.decisions:
            _table([tr("col_year", lang), tr("col_team", lang), tr("col_government", lang), tr("col_instrument", lang),
                    tr("col_before", lang), tr("col_after", lang)],
                   [[d["year"], d["team"], d["government"], d["instrument"], d["before"], d["after"]]
                    for d in debrief.decisions], test_id="decisions")
        else:
            solara.Text(tr("no_decisions", lang))
    return panel


def _known_code(code: str | None) -> str | None:
    """``code`` in canonical form if a game of this server has it, else None."""
    if not code:
        return None
    try:
        return REGISTRY.get(code).code
    except ClassroomError:
        return None


def parse_address(search: str | None) -> tuple[str, str | None]:
    """Language and join code from the address's query (``?lang=ja&game=ABCDE``); unknown values are ignored."""
    query = parse_qs((search or "").lstrip("?"))
    lang = _i18n.parse_lang((query.get("lang") or [""])[0]) or _i18n.DEFAULT_LANG
    code = (query.get("game") or [""])[0].strip() or None
    return lang, code


@solara.component
def Page():
    """``solara run experiments/dashboard/classroom_page.py`` (and ``/classroom`` of the teaching page): the
    classroom, language from ``?lang=`` (or the picker), rejoining the game of ``?game=`` after a reload."""
    router = solara.use_router()
    first_lang, code = solara.use_memo(lambda: parse_address(router.search), [])
    lang = solara.use_reactive(first_lang)
    ClassroomPage(lang=lang.value, code=code, on_lang=lang.set)
