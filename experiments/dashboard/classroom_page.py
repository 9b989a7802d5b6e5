"""The classroom role-play page (``/classroom``): a teacher view and a team view over :mod:`experiments.classroom`.

``solara run experiments/dashboard/classroom_page.py`` serves it alone (it defines ``Page``); the teaching page
mounts :func:`ClassroomPage` at the route ``classroom``.

* **Who is who.**  A browser session is a teacher (opened a game: holds its teacher token) or a team (joined with
  the code: holds its team token), kept in the session's component state; the games themselves live in
  :data:`experiments.classroom.REGISTRY`, shared by every session of the server.  The page passes the token with
  every action, and the game object decides: a team's panel even lets it pick another government and press
  *Submit*, and the server refuses (the protection is not in the page).
* **Live.**  Each view polls its game's ``version`` once a second (a Solara thread) and re-renders when a team
  joins or submits or the teacher advances, so the roster's ✓ and the teams' year follow without a reload.
* **Light charts.**  Two small matplotlib figures per view (72 dpi PNG) and plain HTML tables; a year (four
  quarters) advances in well under a second on the built-in scenarios.
* **Text.**  Every string goes through :func:`tr`: the teaching page's translations
  (:mod:`experiments.dashboard.i18n`, keys ``classroom.*``) where they exist, else the English of :data:`TEXT`.
"""

from __future__ import annotations

import html
import io
import threading
from typing import Any, Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
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
)
from model.scenario import SEGMENTS, builtin_scenarios, load_scenario  # noqa: E402

try:                                   # the teaching page's translations, when present
    from experiments.dashboard import i18n as _i18n  # noqa: E402
except ImportError:                    # pragma: no cover - the page works in English without them
    _i18n = None

__all__ = ["ClassroomPage", "Page", "TEXT", "tr", "LABELS"]

#: English text of the page (the lead moves it into ``i18n/en.toml`` as the ``[classroom]`` table).
TEXT: dict[str, str] = {
    "title": "kyoso classroom — govern a country",
    "intro": "Each team plays one government of a shared world; the model plays the rest. Every year each team "
             "sets its instruments and submits; the teacher runs the year.",
    "teacher_card": "Teacher: open a game",
    "scenario": "Scenario",
    "seed": "Random seed",
    "years": "Years to play",
    "roles": "Governments teams may play",
    "open_game": "Open game",
    "team_card": "Team: join a game",
    "code": "Join code",
    "team_name": "Team name",
    "find_game": "Find game",
    "pick_government": "Pick a government nobody has taken yet:",
    "join_as": "Join as {name} ({code})",
    "no_roles": "Every government of this game is taken.",
    "join_code": "Join code: {code}",
    "game_line": "Scenario {scenario}, seed {seed} · year {year} of {rounds} · now {quarter}",
    "game_over_line": "Scenario {scenario}, seed {seed} · all {rounds} years played · now {quarter}",
    "roster": "Teams",
    "col_team": "team",
    "col_government": "government",
    "col_submitted": "submitted for year {year}",
    "no_teams": "No team has joined yet. Give the class the join code.",
    "ai_roles": "Played by the model (the scenario's own policy rules): {codes}",
    "advance": "Run year {year} ({first}–{last})",
    "end": "End game and show the debrief",
    "running": "Running the year…",
    "team_line": "Team {team} · {name} ({code}) · game {game}",
    "year_line": "Year {year} of {rounds}: your settings apply from {first} to {last}.",
    "submitted": "Submitted for year {year} ✓ (you may change it until the teacher runs the year)",
    "not_submitted": "Not yet submitted for year {year}: if you do not, your last settings stay.",
    "instruments": "Instruments",
    "government_to_set": "Government",
    "other_government": "You play {own}. This shows {other}'s instruments in force; only {other}'s team may set "
                        "them — the server refuses anyone else.",
    "in_force": "in force: {value}",
    "export_targets": "Export controls on",
    "export_segments": "Segments controlled (none picked = all)",
    "export_share": "Export controls: share of deliveries blocked",
    "cocreation": "Join the co-creation agreements (investment protection, export-control harmonisation, talent, "
                  "standards)",
    "fund": "Join the joint research fund",
    "submit": "Submit for year {year}",
    "pending": "Changes not yet submitted: {items}",
    "submitted_ok": "Submitted {government}'s instruments for year {year}.",
    "refused": "Refused by the server: {message}",
    "world": "The shared world",
    "world_chart": "Share of world fab capacity by country (%)",
    "governments": "Governments now",
    "col_played_by": "played by",
    "col_rate": "subsidy rate",
    "col_budget": "annual budget (USD bn)",
    "col_left": "budget not yet promised (USD bn)",
    "col_paid": "subsidies paid (USD bn)",
    "col_share": "share of fab capacity (%)",
    "col_cocreation": "co-creation",
    "col_fund": "fund",
    "col_controls": "export controls",
    "ai": "model",
    "partnerships": "Partnerships: {active:.0f} active, {cross:.0f}% cross-border, {members:.0f} between co-creation "
                    "members · joint projects: {projects:.0f} · fund money left: USD {fund:.2f} bn",
    "events": "Latest events",
    "no_events": "No events yet.",
    "own_results": "{name}: your results",
    "own_chart": "{code}: share of world fab capacity (%) and capex of fab projects started (USD bn per quarter)",
    "col_measure": "measure",
    "col_unit": "unit",
    "col_value": "value",
    "debrief": "Debrief: the class's world against the status quo",
    "debrief_intro": "The status quo is the same scenario and seed run for the same {quarters} quarters (to "
                     "{quarter}) with nobody's changes. Differences are class − status quo.",
    "debrief_chart": "Share of world fab capacity, class − status quo (percentage points)",
    "debrief_world": "The world",
    "debrief_countries": "Country by country",
    "debrief_decisions": "What the class decided",
    "col_class": "class",
    "col_status_quo": "status quo",
    "col_difference": "difference",
    "col_year": "year",
    "col_instrument": "instrument",
    "col_before": "before",
    "col_after": "after",
    "no_decisions": "No team changed anything: the class's world is the status quo.",
    "game_ended": "The teacher has ended the game.",
    "leave": "Leave this game",
}

#: Short labels of the instruments (the schema gives unit, bounds and the long description).
LABELS: dict[str, str] = {
    "subsidy_rate": "Subsidy rate",
    "annual_budget": "Annual subsidy budget",
    "appropriation": "One-off appropriation this year",
    "tax_credit": "Investment tax credit",
    "technology_transfer": "Condition: technology transfer (its cost)",
    "local_content": "Condition: local content (its cost)",
    "local_sourcing_share": "Local sourcing rule",
    "fund_contribution": "Contribution to the joint fund",
}


def tr(key: str, lang: str = "en", **values: Any) -> str:
    """The page's text for ``key``: the translation files' ``classroom.<key>`` if they have it, else :data:`TEXT`."""
    if _i18n is not None:
        try:
            if _i18n.has(f"classroom.{key}", "en"):
                return _i18n.t(f"classroom.{key}", lang, **values)
        except (ValueError, OSError):
            pass
    text = TEXT[key]
    return text.format(**values) if values else text


def _label(name: str, lang: str) -> str:
    if _i18n is not None:
        try:
            if _i18n.has(f"classroom.instrument.{name}", "en"):
                return _i18n.t(f"classroom.instrument.{name}", lang)
        except (ValueError, OSError):
            pass
    return LABELS[name]


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


def _plain(v: Any) -> str:
    """A form value as plain text (lists joined by '/')."""
    if isinstance(v, (list, tuple)):
        return "/".join(str(x) for x in v) or "none"
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
def ClassroomPage(lang: str = "en"):
    """The classroom: landing (open or join a game), then the teacher's or the team's view for this session."""
    session = solara.use_reactive(None)          # {"kind": "teacher"|"team", "code": ..., "token": ...}
    solara.Title("kyoso classroom")
    with solara.Column(style={"max-width": "1400px", "margin": "0 auto", "padding": "12px"}) as main:
        solara.Text(tr("title", lang), style={"font-size": "1.8em", "font-weight": "bold"})
        s = session.value
        if s is None:
            Landing(lang=lang, on_session=session.set)
        else:
            try:
                game = REGISTRY.get(s["code"])
            except ClassroomError as exc:
                solara.Error(str(exc))
                solara.Button(tr("leave", lang), on_click=lambda: session.set(None))
                return main
            if s["kind"] == "teacher":
                TeacherView(game=game, token=s["token"], lang=lang)
            else:
                TeamView(game=game, token=s["token"], lang=lang)
    return main


@solara.component
def Landing(lang: str, on_session: Callable[[dict], None]):
    scenario = solara.use_reactive(DEFAULT_SCENARIO)
    seed = solara.use_reactive(0)
    years = solara.use_reactive(3)
    roles = solara.use_reactive(default_roles(load_scenario(DEFAULT_SCENARIO)))
    code = solara.use_reactive("")
    team = solara.use_reactive("")
    found = solara.use_reactive(None)            # join code of the game found
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
            game = REGISTRY.get(code.value)
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
            solara.InputText(tr("code", lang), value=code, continuous_update=True)
            solara.InputText(tr("team_name", lang), value=team, continuous_update=True)
            solara.Button(tr("find_game", lang), on_click=find, color="primary")
            if found.value is not None:
                game = REGISTRY.get(found.value)
                open_roles = game.open_roles()
                if open_roles:
                    solara.Text(tr("pick_government", lang))
                    with solara.Row(style={"flex-wrap": "wrap"}):
                        for gov in open_roles:
                            solara.Button(tr("join_as", lang, name=game.names[gov], code=gov),
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
    solara.Text(tr(key, lang, scenario=game.scenario, seed=game.seed, year=game.year, rounds=game.rounds,
                   quarter=view["quarter"]))
    with solara.Columns([1, 2]):
        with solara.Column():
            solara.Text(tr("roster", lang), style={"font-size": "1.3em", "font-weight": "bold"})
            roster = game.roster()
            if roster:
                _table([tr("col_team", lang), tr("col_government", lang), tr("col_submitted", lang, year=game.year)],
                       [[r["team"], f"{r['government']} {r['name']}", r["submitted"]] for r in roster],
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
    solara.Text(tr("team_line", lang, team=team.name, name=game.names[team.government], code=team.government,
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
                        with solara.Tooltip(f"{inst.description} [{inst.unit}; {inst.low:g}–{inst.high:g}] "
                                            f"(schema: {inst.path})"):
                            with solara.Row():
                                solara.InputFloat(f"{_label(name, lang)} ({inst.low:g}–{inst.high:g})",
                                                  value=values[name], on_value=setter(name), suffix=inst.unit,
                                                  style={"width": "100%"})
                solara.Text(tr("export_targets", lang))
                solara.ToggleButtonsMultiple(value=list(targets), values=[c for c in game.countries
                                                                          if c != selected.value],
                                             on_value=setter("export_targets"), dense=True)
                with solara.Tooltip(f"{EXPORT_CONTROL.description} [{EXPORT_CONTROL.unit}; 0–1]"):
                    with solara.Row():
                        solara.InputFloat(f"{tr('export_share', lang)} (0–1)", value=share,
                                          on_value=setter("export_share"), suffix=EXPORT_CONTROL.unit,
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
                        solara.Text(tr("pending", lang, items="; ".join(f"{k} = {_plain(v)}"
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
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    shown = [c for c in shares.columns if c in roles or c == own]
    for c in shown:
        ax.plot(range(len(shares)), shares[c], lw=3.0 if c == own else 1.5, label=c,
                marker="o" if len(shares) < 3 else None)
    others = shares.drop(columns=shown).sum(axis=1)
    ax.plot(range(len(shares)), others, lw=1.0, ls="--", color="grey", label="others")
    ticks = list(range(0, len(shares), 4))
    ax.set_xticks(ticks, [shares.index[i] for i in ticks], fontsize=10)
    ax.set_ylabel("%", fontsize=11)
    ax.set_title(tr("world_chart", lang), fontsize=12)
    ax.legend(fontsize=9, ncol=4, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.grid(alpha=0.3)
    return _png(fig)


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
            rows.append([f"{g['government']} {g['name']}", g["played_by"] or tr("ai", lang), g["subsidy_rate"],
                         g["annual_budget"], g["budget_left"], g["subsidy_paid"], g["share"], g["cocreation"],
                         g["fund"], controls])
        _table([tr("col_government", lang), tr("col_played_by", lang), tr("col_rate", lang), tr("col_budget", lang),
                tr("col_left", lang), tr("col_paid", lang), tr("col_share", lang), tr("col_cocreation", lang),
                tr("col_fund", lang), tr("col_controls", lang)], rows, test_id="governments")
        solara.Text(tr("events", lang), style={"font-weight": "bold"})
        if view["events"]:
            _table(["quarter", "type", "target", "description"],
                   [[e["quarter"], e["type"], e["target"], e["description"]] for e in view["events"]],
                   test_id="events")
        else:
            solara.Text(tr("no_events", lang))


def _own_figure(series, code: str, lang: str) -> bytes:
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(7.0, 2.6))
    x = range(len(series))
    a1.plot(x, series["share"], lw=2.5, color="C0", marker="o" if len(series) < 3 else None)
    a1.set_ylabel("% of world", fontsize=10)
    a2.bar(x, series["fab_capex"], color="C1")
    a2.set_ylabel("USD bn / quarter", fontsize=10)
    for ax in (a1, a2):
        ticks = list(range(0, len(series), 4))
        ax.set_xticks(ticks, [series.index[i] for i in ticks], fontsize=9)
        ax.grid(alpha=0.3)
    fig.suptitle(tr("own_chart", lang, code=code), fontsize=11)
    fig.tight_layout()
    return _png(fig)


@solara.component
def OwnResults(game: Game, token: str, version: int, lang: str):
    res = game.results(token)
    png = solara.use_memo(lambda: _own_figure(res["series"], res["government"], lang),
                          [game.code, len(res["series"]), lang])
    with solara.Column():
        solara.Text(tr("own_results", lang, name=res["name"]), style={"font-size": "1.3em", "font-weight": "bold"})
        solara.Image(png, format="png")
        _table([tr("col_measure", lang), tr("col_value", lang), tr("col_unit", lang)],
               [[m, v, u] for m, u, v in res["measures"]], test_id="own-results")


def _debrief_figure(debrief: Debrief, lang: str) -> bytes:
    d = debrief.countries
    share = d[d["unit"] == "%"].loc[lambda x: x["measure"] == "share of world fab capacity"]
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    colors = ["C2" if v >= 0 else "C3" for v in share["difference"]]
    ax.bar(share["country"], share["difference"], color=colors)
    ax.axhline(0, color="black", lw=0.8)
    ax.set_ylabel("pp", fontsize=11)
    ax.set_title(tr("debrief_chart", lang), fontsize=12)
    ax.grid(alpha=0.3, axis="y")
    return _png(fig)


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
                _table(head, debrief.world[["measure", "unit", "class", "status_quo", "difference"]].values.tolist(),
                       test_id="debrief-world")
            with solara.Column():
                solara.Text(tr("debrief_countries", lang), style={"font-weight": "bold"})
                d = debrief.countries
                shown = d[d["country"] == own] if own else d[d["country"].isin(game.roles)]
                _table([tr("col_government", lang), *head],
                       shown[["country", "measure", "unit", "class", "status_quo", "difference"]].values.tolist(),
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


@solara.component
def Page():
    """``solara run experiments/dashboard/classroom_page.py``: the classroom alone, language from ``?lang=``."""
    router = solara.use_router()
    lang = "en"
    if _i18n is not None:
        from urllib.parse import parse_qs
        lang = _i18n.parse_lang((parse_qs(router.search or "").get("lang") or [""])[0]) or "en"
    ClassroomPage(lang=lang)
