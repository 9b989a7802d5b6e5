"""The classroom role-play (issue #13 part 7): student teams govern countries of one shared kyoso world.

This is a participatory simulation in the manner of NetLogo's HubNet (Wilensky & Stroup): each team plays one
government of the scenario and the model plays everything else.  The page is
``experiments/dashboard/classroom_page.py``; this module holds the game and imports no UI library, so every rule
below is tested without a browser (``tests/test_classroom.py``).

**Games.**  :data:`REGISTRY` keeps every game of the server process, behind a lock; each :class:`Game` has its own
lock, its own :class:`~model.ChipModel` and its own teams, so games never share state.  The teacher creates a game
(scenario, seed, years, the governments teams may play) and gets a short join code (:data:`CODE_ALPHABET`: no 0/O,
1/I/L, 2/Z, 5/S, 8/B) and a secret teacher token; a team joins with the code, a team name and a government nobody
has taken, and gets a secret team token.  **Every action is authorised in the game object by token**: a team sets
only its own government's instruments (a request naming another government is refused with
:class:`NotAuthorised`), and only the teacher token advances the year or ends the game.  Hiding controls on the page
is no part of the protection.  A page that reloads rejoins with the token the browser kept
(:meth:`Registry.resume`, checked like every action).

**Rounds.**  A round is a year, four quarters.  Teams submit :class:`Settings` for the coming year (checked against
the schema's bounds, one-line :class:`ClassroomError` on bad input); the teacher sees who has submitted and advances
the year whether or not everyone has: a team that did not submit keeps what it set before.  At the start of the year
the submitted settings reach the model through its own mechanisms, in country order (so the order in which teams
submitted does not matter), then the model steps four quarters:

============================  ===========================================  =============================================
instrument                    schema                                       how it reaches the model
============================  ===========================================  =============================================
subsidy rate, tax credit,     ``governments.<c>.subsidy_rate``,            a ``policy_change`` event at the year's first
annual budget                 ``.tax_credit``, ``.annual_budget``          quarter (:func:`model.events.apply_policy`)
one-off appropriation         ``governments.<c>.budget`` (added)           the same event's ``budget`` (added once)
grant conditions              ``governments.<c>.conditions.                the government's conditions, which 3.2 turns
                              technology_transfer`` / ``.local_content``   into the policy arrays (ODD §7.1, §7.5)
local sourcing rule           ``governments.<c>.local_sourcing_share``     the policy array ``local_share`` (ODD §7.9)
export controls               ``export_restriction`` events                an event per importer from the year's first
                                                                           quarter; a change or a lift ends it with a
                                                                           ``sanctions_lifted`` event (ODD §7.16)
co-creation agreements        ``cocreation.<lever>.members``               the country joins (or leaves) every lever's
                                                                           member mask: investment protection (and its
                                                                           risk shield), export-control harmonisation,
                                                                           talent, standards, the IP regime (ODD §7.14)
joint fund                    ``cocreation.fund.contributions.<c>``        the fund's members and yearly contributions;
                                                                           a scenario without a fund gets one with no
                                                                           starting money (ODD §7.13)
============================  ===========================================  =============================================

A government whose team has submitted at least once is the team's: the scenario's automatic rules for it
(strategic target, rival response, condition drift; ODD §7.19) are switched off, and the scenario's scheduled
``policy_change`` and ``subsidy_tightening`` events for it that have not yet started are dropped (those still in
force no longer restore their rates when they end).  **AI-played governments** — roles no team took, and teams that
have not yet submitted — keep following the scenario's own rules, unchanged.  Levers the scenario has switched off
act between the countries the class makes members, with the scenario's strengths.

**Determinism.**  The same scenario, seed and submitted settings give the same world (``tests/test_classroom.py``):
nothing here draws random numbers.  **Debrief.**  At the end the class's world is compared with the status-quo run:
the same scenario and seed run for the same quarters with nobody's changes (:class:`Debrief`).
"""

from __future__ import annotations

import math
import secrets
import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from experiments.errors import UserError
from model import ChipModel
from model.metrics import describe
from model.phases.events import protection_shield
from model.queries import site_unit_cost
from model.scenario import FAB_SEGMENTS, SEGMENTS, Event, builtin_scenarios, describe_path, load_scenario, quarter_label
from model.sites import BUILDING, OPERATING
from model.world import FundState

__all__ = ["ClassroomError", "NotAuthorised", "Instrument", "INSTRUMENTS", "Settings", "Team", "Game", "Registry",
           "Debrief", "REGISTRY", "CODE_ALPHABET", "CODE_LENGTH", "DEFAULT_SCENARIO", "DEFAULT_ROLES", "ASEAN",
           "QUARTERS_PER_ROUND", "normalise_code", "default_roles", "summarise"]

#: Join-code characters: upper-case letters and digits that cannot be mistaken for one another
#: (no 0/O, 1/I/L, 2/Z, 5/S, 8/B).
CODE_ALPHABET = "ACDEFGHJKMNPQRTUVWXY34679"
CODE_LENGTH = 5
QUARTERS_PER_ROUND = 4
DEFAULT_SCENARIO = "jk_cocreation"
#: Governments a game offers unless the teacher says otherwise (those in the scenario), plus one ASEAN country.
DEFAULT_ROLES = ("JP", "KR", "US", "CN", "TW")
ASEAN = ("MY", "VN", "SG", "TH", "ID")
MAX_TEAM_NAME = 40
#: The scenario's automatic policy rules a team's government gives up (ODD §7.19).
_RULES_OFF = {"strategic_target": None, "rival_response": 0.0, "condition_drift": 0.0}


class ClassroomError(UserError):
    """A request the game cannot accept: one line naming the field, the value and what was expected."""


class NotAuthorised(ClassroomError):
    """A token that may not do what it asked (another team's government, a team advancing the year, …)."""


# ----------------------------------------------------------------------------------------------- instruments
@dataclass(frozen=True)
class Instrument:
    """One number a team sets: its bounds, unit and description come from the scenario schema."""

    name: str
    path: str            # schema path; <c> is the team's country
    low: float
    high: float
    unit: str
    description: str


def _from_schema(name: str, path: str, *, unit: str | None = None, description: str | None = None) -> Instrument:
    info = describe_path(path.replace("<c>", "JP"))
    return Instrument(name, path, float(info.low), float(info.high), unit or info.unit,
                      description or info.description)


#: The numeric instruments, in the order the page shows them.
INSTRUMENTS: dict[str, Instrument] = {i.name: i for i in (
    _from_schema("subsidy_rate", "governments.<c>.subsidy_rate"),
    _from_schema("annual_budget", "governments.<c>.annual_budget"),
    _from_schema("appropriation", "governments.<c>.budget", unit="USD bn, once",
                 description="One-off appropriation added to the subsidy budget at the start of the year "
                             "(policy_change budget)"),
    _from_schema("tax_credit", "governments.<c>.tax_credit"),
    _from_schema("technology_transfer", "governments.<c>.conditions.technology_transfer"),
    _from_schema("local_content", "governments.<c>.conditions.local_content"),
    _from_schema("local_sourcing_share", "governments.<c>.local_sourcing_share"),
    _from_schema("fund_contribution", "cocreation.fund.contributions.<c>", unit="USD bn per year",
                 description="Yearly contribution to the joint fund while the country is a member"),
)}
#: Bounds of one export control: an export_restriction event's magnitude (a share, ODD §7.16).
EXPORT_CONTROL = Instrument("export_controls", "events.<k>.magnitude", 0.0, 1.0, "share of deliveries blocked",
                            "Share of deliveries of the listed segments from this country to the importer that is "
                            "blocked (export_restriction event)")
_RATES = ("subsidy_rate", "tax_credit", "annual_budget")
_BOOLS = ("cocreation", "fund")


@dataclass(frozen=True)
class Settings:
    """A government's instruments for a year (what a team submits; see the module docstring for the mechanisms).

    ``export_controls`` holds (importer, share of deliveries blocked) pairs, sorted; ``export_segments`` the
    segments they cover (empty = all).  ``appropriation`` is added once, in the year it is submitted for.
    """

    subsidy_rate: float
    annual_budget: float
    tax_credit: float
    appropriation: float = 0.0
    technology_transfer: float = 0.0
    local_content: float = 0.0
    local_sourcing_share: float = 0.0
    export_controls: tuple[tuple[str, float], ...] = ()
    export_segments: tuple[str, ...] = ()
    cocreation: bool = False
    fund: bool = False
    fund_contribution: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["export_controls"] = dict(self.export_controls)
        out["export_segments"] = list(self.export_segments)
        return out

    @property
    def controls(self) -> dict[str, float]:
        return dict(self.export_controls)


def _number(name: str, value: Any, inst: Instrument) -> float:
    bad = isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating, str))
    if not bad:
        try:
            x = float(value)
        except ValueError:
            bad = True
        else:
            bad = not math.isfinite(x) or not inst.low <= x <= inst.high
    if bad:
        raise ClassroomError(f"{name} = {value!r}: expected a number from {inst.low:g} to {inst.high:g} "
                             f"({inst.unit})")
    return x


def parse_settings(changes: Mapping[str, Any], base: Settings, country: str, countries: list[str]) -> Settings:
    """``base`` with ``changes`` applied, every value checked (ClassroomError: one line naming the field)."""
    if not isinstance(changes, Mapping):
        raise ClassroomError(f"settings = {changes!r}: expected a mapping of instrument names to values")
    known = list(INSTRUMENTS) + ["export_controls", "export_segments", *_BOOLS]
    update: dict[str, Any] = {}
    for key, value in changes.items():
        if key in INSTRUMENTS:
            update[key] = _number(key, value, INSTRUMENTS[key])
        elif key in _BOOLS:
            if not isinstance(value, (bool, np.bool_)):
                raise ClassroomError(f"{key} = {value!r}: expected true or false")
            update[key] = bool(value)
        elif key == "export_controls":
            if not isinstance(value, Mapping):
                raise ClassroomError(f"export_controls = {value!r}: expected a mapping of importing countries to "
                                     f"shares of deliveries blocked")
            controls = {}
            for imp, share in value.items():
                if imp not in countries:
                    raise ClassroomError(f"export_controls: {imp!r} is not a government of this game, expected one "
                                         f"of {', '.join(c for c in countries if c != country)}")
                if imp == country:
                    raise ClassroomError(f"export_controls: {country} cannot restrict its exports to itself")
                x = _number(f"export_controls.{imp}", share, EXPORT_CONTROL)
                if x > 0:
                    controls[imp] = x
            update[key] = tuple(sorted(controls.items(), key=lambda kv: countries.index(kv[0])))
        elif key == "export_segments":
            if isinstance(value, str) or not isinstance(value, (list, tuple, set, frozenset)):
                raise ClassroomError(f"export_segments = {value!r}: expected a list of segments (empty = all), "
                                     f"from {', '.join(SEGMENTS)}")
            for s in value:
                if s not in SEGMENTS:
                    raise ClassroomError(f"export_segments: {s!r} is not a segment, expected some of "
                                         f"{', '.join(SEGMENTS)}")
            update[key] = tuple(s for s in SEGMENTS if s in set(value))
        else:
            raise ClassroomError(f"instrument {key!r}: unknown, expected one of {', '.join(known)}")
    return replace(base, **update)


# --------------------------------------------------------------------------------------------------- teams
@dataclass
class Team:
    """A team of a game.  ``token`` is its secret; ``settings`` what it last submitted (None: not yet, the
    government is still AI-played); ``applied`` what of it is in force in the model."""

    name: str
    government: str
    token: str = field(repr=False)
    joined_year: int
    settings: Settings | None = None
    submitted_year: int | None = None
    applied: Settings | None = None


@dataclass(frozen=True)
class Debrief:
    """The class's world against the status-quo run (same scenario and seed, nobody's changes), after
    ``quarters`` quarters.  ``countries`` and ``world`` have columns measure, unit, class, status_quo, difference
    (``countries`` also country, name, played_by); ``decisions`` lists what the class changed, year by year."""

    quarters: int
    last_quarter: str
    countries: pd.DataFrame
    world: pd.DataFrame
    decisions: list[dict[str, Any]]


def normalise_code(code: Any) -> str:
    """A join code as typed (any case, spaces or hyphens) in its canonical form."""
    if not isinstance(code, str):
        raise ClassroomError(f"join code {code!r}: expected {CODE_LENGTH} letters and digits")
    return "".join(ch for ch in code.upper() if ch not in " -\t")


def default_roles(scenario: Any) -> list[str]:
    """:data:`DEFAULT_ROLES` that the scenario has, then its first ASEAN country."""
    govs = scenario.governments
    roles = [c for c in DEFAULT_ROLES if c in govs]
    roles += [c for c in ASEAN if c in govs][:1]
    return roles or list(govs)[:6]


# ---------------------------------------------------------------------------------------------------- game
class Game:
    """One classroom game: its model, its teams and its rounds.  Every public method takes the game's lock."""

    def __init__(self, code: str, teacher_token: str, scenario: str, seed: int, rounds: int,
                 roles: list[str]) -> None:
        self.code = code
        self._teacher = teacher_token
        self.scenario = scenario
        self.seed = seed
        self.rounds = rounds
        self.roles = tuple(roles)
        self.model = ChipModel(scenario, rng=seed)
        w = self.model.world
        self.countries: list[str] = list(w.geo.countries)
        self.names = {g.code: g.name for g in w.policy.governments}
        self.completed = 0               # years played
        self.ended = False
        self.version = 0                 # rises on every change (pages poll it)
        self.decisions: list[dict[str, Any]] = []
        self._teams: dict[str, Team] = {}
        self._export_events: dict[tuple[str, str], str] = {}     # (exporter, importer) → id of the event in force
        self._lock = threading.RLock()
        self._debrief: Debrief | None = None
        self._view: dict[str, Any] | None = None

    # ------------------------------------------------------------------ reads
    @property
    def year(self) -> int:
        """The year teams are preparing (1-based); ``rounds + 1`` once all are played."""
        return self.completed + 1

    @property
    def finished(self) -> bool:
        """Every year is played (the teacher may still end the game for the debrief)."""
        return self.completed >= self.rounds

    @property
    def quarter(self) -> str:
        return self.model.quarter_of(self.model.steps)

    def year_quarters(self, year: int | None = None) -> tuple[str, str]:
        """First and last quarter of ``year`` (default: the year being prepared)."""
        y = self.year if year is None else year
        first = QUARTERS_PER_ROUND * (y - 1) + 1
        return self.model.quarter_of(first), self.model.quarter_of(first + QUARTERS_PER_ROUND - 1)

    def roster(self) -> list[dict[str, Any]]:
        """Teams in role order: name, government, whether it has submitted for the coming year."""
        with self._lock:
            rows = [{"team": t.name, "government": t.government, "name": self.names[t.government],
                     "submitted": t.submitted_year == self.year, "ever_submitted": t.settings is not None}
                    for t in self._teams.values()]
        return sorted(rows, key=lambda r: self.countries.index(r["government"]))

    def open_roles(self) -> list[str]:
        with self._lock:
            taken = {t.government for t in self._teams.values()}
            return [c for c in self.roles if c not in taken]

    def played_by(self, country: str) -> str | None:
        """Name of the team playing ``country`` (None: AI-played)."""
        with self._lock:
            return next((t.name for t in self._teams.values() if t.government == country), None)

    def team(self, token: str) -> Team:
        """The team of ``token`` (a copy); NotAuthorised for any other string."""
        with self._lock:
            return replace(self._team(token))

    def is_teacher(self, token: str) -> bool:
        return isinstance(token, str) and secrets.compare_digest(token.encode(), self._teacher.encode())

    def role_of(self, token: Any) -> str:
        """``"teacher"`` or ``"team"`` for a token of this game (a page rejoining after a reload); NotAuthorised
        for anything else."""
        with self._lock:
            if self.is_teacher(token):
                return "teacher"
            self._team(token)
            return "team"

    def _team(self, token: Any) -> Team:
        team = self._teams.get(token) if isinstance(token, str) else None
        if team is None:
            raise NotAuthorised(f"team token: not a team of game {self.code} (join with the code first)")
        return team

    def _check_teacher(self, token: Any, action: str) -> None:
        if not self.is_teacher(token):
            who = self._teams.get(token) if isinstance(token, str) else None
            by = f"team {who.name!r}" if who else "this token"
            raise NotAuthorised(f"{action}: refused, {by} is not the teacher of game {self.code}; only the teacher "
                                f"may {action}")

    # ----------------------------------------------------------------- teams
    def join(self, team_name: Any, government: Any) -> str:
        """Add a team playing ``government``; returns its secret token."""
        with self._lock:
            if self.ended:
                raise ClassroomError(f"game {self.code} has ended; no more teams can join")
            if not isinstance(team_name, str) or not team_name.strip() or len(team_name.strip()) > MAX_TEAM_NAME \
                    or not team_name.strip().isprintable():
                raise ClassroomError(f"team name {team_name!r}: expected 1 to {MAX_TEAM_NAME} printable characters")
            name = " ".join(team_name.split())
            if any(t.name.casefold() == name.casefold() for t in self._teams.values()):
                raise ClassroomError(f"team name {name!r}: already taken in game {self.code}, choose another")
            if government not in self.roles:
                raise ClassroomError(f"government {government!r}: not a role of game {self.code}, expected one of "
                                     f"{', '.join(self.roles)}")
            holder = next((t for t in self._teams.values() if t.government == government), None)
            if holder is not None:
                left = ", ".join(self.open_roles()) or "none"
                raise ClassroomError(f"government {government}: already played by team {holder.name!r} "
                                     f"(open roles: {left})")
            token = secrets.token_urlsafe(16)
            self._teams[token] = Team(name=name, government=government, token=token, joined_year=self.year)
            self.version += 1
            return token

    def settings(self, token: str) -> Settings:
        """The team's settings: what it submitted last, else what is in force for its government now."""
        with self._lock:
            team = self._team(token)
            return team.settings if team.settings is not None else self.in_force(team.government)

    def in_force(self, country: str) -> Settings:
        """The instruments of ``country``'s government in the model now (anyone may look)."""
        with self._lock:
            if country not in self.countries:
                raise ClassroomError(f"government {country!r}: not in this game, expected one of "
                                     f"{', '.join(self.countries)}")
            w = self.model.world
            c = self.countries.index(country)
            gov = w.policy.governments[c]
            lv = w.chain.levers
            fund = w.chain.fund
            member = bool(lv.protected[c] or lv.harmonised[c] or lv.talent_members[c] or lv.standard_members[c])
            controls = tuple((imp, self._export_magnitude(country, imp)) for imp in self.countries
                             if (country, imp) in self._export_events)
            team = next((t for t in self._teams.values() if t.government == country), None)
            segments = team.applied.export_segments if team is not None and team.applied is not None else ()
            return Settings(
                subsidy_rate=float(gov.subsidy_rate), annual_budget=float(gov.annual_budget),
                tax_credit=float(gov.tax_credit), appropriation=0.0,
                technology_transfer=float(gov.conditions.technology_transfer),
                local_content=float(gov.conditions.local_content),
                local_sourcing_share=float(w.policy.local_share[c]),
                export_controls=controls, export_segments=segments, cocreation=member,
                fund=fund is not None and c in fund.members,
                fund_contribution=float(fund.spec.contributions.get(country, 0.0)) if fund is not None else 0.0)

    def _export_magnitude(self, exporter: str, importer: str) -> float:
        ident = self._export_events[(exporter, importer)]
        for start, _, ev in self.model.world.events.scheduled:
            if ev.id == ident:
                return float(ev.magnitude)
        return 0.0

    def submit(self, token: str, government: Any, changes: Mapping[str, Any]) -> Settings:
        """Set ``government``'s instruments for the coming year.  Only the team playing it may: any other
        token is refused (NotAuthorised), whatever the page shows."""
        with self._lock:
            team = self._team(token)
            if government != team.government:
                raise NotAuthorised(f"government {government!r}: refused, team {team.name!r} plays "
                                    f"{team.government} and may set only {team.government}'s instruments")
            if self.ended or self.finished:
                raise ClassroomError(f"game {self.code}: every year is played; nothing more can be submitted")
            base = team.settings if team.settings is not None else self.in_force(team.government)
            new = parse_settings(changes, base, team.government, self.countries)
            team.settings = new
            team.submitted_year = self.year
            self.version += 1
            return new

    # ---------------------------------------------------------------- rounds
    def advance(self, teacher_token: str) -> None:
        """Apply the submitted settings and run the year (4 quarters).  Teacher only."""
        with self._lock:
            self._check_teacher(teacher_token, "advance the year")
            if self.ended:
                raise ClassroomError(f"game {self.code} has ended")
            if self.finished:
                raise ClassroomError(f"game {self.code}: all {self.rounds} years are played; end the game for "
                                     f"the debrief")
            t = self.model.steps + 1
            for team in sorted(self._teams.values(), key=lambda tm: self.countries.index(tm.government)):
                if team.settings is not None and team.settings != team.applied:
                    self._apply(team, t)
            for _ in range(QUARTERS_PER_ROUND):
                self.model.step()
            for team in self._teams.values():       # an appropriation is added once
                if team.settings is not None:
                    team.settings = replace(team.settings, appropriation=0.0)
                    team.applied = replace(team.applied, appropriation=0.0)
            self.completed += 1
            self.version += 1

    def end(self, teacher_token: str) -> Debrief:
        """End the game (teacher only) and return the debrief."""
        with self._lock:
            self._check_teacher(teacher_token, "end the game")
            if not self.ended:
                self.ended = True
                self._debrief = self._make_debrief()
                self.version += 1
            return self._debrief

    def debrief(self) -> Debrief | None:
        """The debrief once the game has ended (None before)."""
        with self._lock:
            return self._debrief

    # --------------------------------------------------------- the mechanisms
    def _log(self, team: Team, what: str, before: Any, after: Any) -> None:
        self.decisions.append({"year": self.year, "quarter": self.year_quarters()[0], "team": team.name,
                               "government": team.government, "instrument": what, "before": before,
                               "after": after})

    def _schedule(self, t: int, **spec: Any) -> Event:
        """Add an event of the scenario's own kinds that starts at step ``t`` (the next step)."""
        meta = self.model.spec.meta
        ev = Event(start=quarter_label(meta.start_year, meta.start_q, t), source="classroom: a team's decision",
                   **spec)
        self.model.world.events.scheduled.append((t, None, ev))
        return ev

    def _take_over(self, team: Team, t: int) -> None:
        """The team's government stops following the scenario's rules (ODD §7.19) and its scheduled policy."""
        w = self.model.world
        gov = w.policy.governments[self.countries.index(team.government)]
        if gov.rules is not None:
            gov.rules = gov.rules.model_copy(update=_RULES_OFF)
        book = w.events
        own = ("policy_change", "subsidy_tightening")
        dropped = [ev for start, _, ev in book.scheduled
                   if start >= t and ev.type in own and ev.country == team.government]
        book.scheduled = [s for s in book.scheduled
                          if not (s[0] >= t and s[2].type in own and s[2].country == team.government)]
        for active in book.active:
            if active.spec.type in own and active.spec.country == team.government:
                active.undo = {}                 # its end no longer restores what the team has set since
        self._log(team, "takes over from the scenario's policy rules", "AI", f"team; {len(dropped)} scheduled "
                  f"policy events dropped")

    def _apply(self, team: Team, t: int) -> None:
        new, old = team.settings, team.applied
        code = team.government
        c = self.countries.index(code)
        w = self.model.world
        gov = w.policy.governments[c]
        now = self.in_force(code)
        if old is None:
            self._take_over(team, t)
        # Rates and budgets: a policy_change event (apply_policy) at the year's first quarter.
        rates = {k: getattr(new, k) for k in _RATES if getattr(new, k) != getattr(now, k)}
        if new.appropriation > 0:
            rates["budget"] = new.appropriation
        if rates:
            self._schedule(t, type="policy_change", country=code, settings=rates,
                           description=f"classroom: team {team.name} sets {code}'s instruments (year {self.year})")
            for k, v in rates.items():
                self._log(team, k, getattr(now, k) if k != "budget" else 0.0, v)
        # Grant conditions and the local sourcing rule: the government's own state, read by 3.2's refresh.
        for k in ("technology_transfer", "local_content"):
            if getattr(new, k) != getattr(now, k):
                setattr(gov.conditions, k, getattr(new, k))
                self._log(team, k, getattr(now, k), getattr(new, k))
        if new.local_sourcing_share != now.local_sourcing_share:
            w.policy.local_share[c] = new.local_sourcing_share
            self._log(team, "local_sourcing_share", now.local_sourcing_share, new.local_sourcing_share)
        self._apply_export_controls(team, new, old, t)
        if new.cocreation != now.cocreation:
            self._set_membership(c, new.cocreation)
            self._log(team, "cocreation", now.cocreation, new.cocreation)
        if (new.fund, new.fund_contribution if new.fund else 0.0) != (now.fund, now.fund_contribution if now.fund
                                                                       else 0.0):
            self._set_fund(code, new.fund, new.fund_contribution)
            self._log(team, "fund", (now.fund, now.fund_contribution), (new.fund, new.fund_contribution))
        team.applied = new

    def _apply_export_controls(self, team: Team, new: Settings, old: Settings | None, t: int) -> None:
        code = team.government
        before = old.controls if old is not None else {}
        seg_before = old.export_segments if old is not None else ()
        after = new.controls
        for imp in self.countries:
            m0, m1 = before.get(imp, 0.0), after.get(imp, 0.0)
            if (m0, seg_before if m0 else ()) == (m1, new.export_segments if m1 else ()):
                continue
            key = (code, imp)
            if key in self._export_events:
                self._schedule(t, type="sanctions_lifted", lifts=self._export_events.pop(key),
                               description=f"classroom: team {team.name} lifts {code}'s export controls on {imp}")
            if m1 > 0:
                ident = f"classroom-{code}-{imp}-y{self.year}"
                self._schedule(t, type="export_restriction", id=ident, exporter=code, importer=imp,
                               segments=list(new.export_segments), magnitude=m1,
                               description=f"classroom: team {team.name} restricts {code}'s exports to {imp}")
                self._export_events[key] = ident
            self._log(team, f"export control on {imp}", m0, m1)

    def _set_membership(self, c: int, member: bool) -> None:
        """Country ``c`` joins or leaves every co-creation lever (member masks of ``world.chain.levers``);
        the investment-protection shield of priced risk follows (ODD §7.14, §7.18)."""
        w = self.model.world
        lv = w.chain.levers
        for mask in (lv.protected, lv.harmonised, lv.talent_members, lv.standard_members, lv.ip_members):
            mask[c] = member
        w.risk.shield = protection_shield(lv.protected, lv.protection_strength)

    def _set_fund(self, code: str, member: bool, contribution: float) -> None:
        """The country's fund membership and yearly contribution (ODD §7.13).  A scenario without a fund gets
        one, with the scenario's fund rules and no starting money."""
        w = self.model.world
        c = self.countries.index(code)
        fund = w.chain.fund
        if fund is None:
            if not member:
                return
            spec = self.model.spec.cocreation.fund.model_copy(update={"contributions": {}, "budget": 0.0})
            fund = w.chain.fund = FundState(spec=spec, members=[], budget=0.0)
        members = set(fund.members) - {c} | ({c} if member else set())
        fund.members = sorted(members)
        contributions = {k: v for k, v in fund.spec.contributions.items() if k != code}
        if member and contribution > 0:
            contributions[code] = contribution
        fund.spec = fund.spec.model_copy(update={"contributions": contributions})

    # ----------------------------------------------------------- what teams see
    def world_view(self) -> dict[str, Any]:
        """The shared world: quarter, capacity shares by country over time, partnerships, events, and every
        government's instruments with who plays it (computed once per change of the game)."""
        with self._lock:
            if self._view is None or self._view["version"] != self.version:
                self._view = self._world_view()
            return self._view

    def _world_view(self) -> dict[str, Any]:
        with self._lock:
            m = self.model
            mt = m.metrics()
            shares = mt[[f"share_{c}" for c in self.countries]].copy() * 100.0
            shares.columns = self.countries
            shares.index = list(mt["quarter"])
            last = mt.iloc[-1]
            partnerships = {k: float(last[k]) for k in ("partnerships_active", "partnerships_cross_border_share",
                                                        "partnerships_members", "trust_jk", "projects_active",
                                                        "fund_budget")}
            events = [{k: r[k] for k in ("quarter", "type", "target", "description", "origin")}
                      for r in m.world.events.rows[-12:]][::-1]
            governments = []
            for code in self.countries:
                s = self.in_force(code)
                gov = m.world.policy.governments[self.countries.index(code)]
                governments.append({"government": code, "name": self.names[code],
                                    "played_by": self.played_by(code), **s.as_dict(),
                                    "budget_left": float(gov.available), "subsidy_paid": float(gov.paid_total),
                                    "share": float(last[f"share_{code}"]) * 100.0})
            return {"code": self.code, "quarter": self.quarter, "step": int(m.steps), "year": self.year,
                    "completed": self.completed, "rounds": self.rounds, "ended": self.ended,
                    "scenario": self.scenario, "seed": self.seed, "shares": shares, "partnerships": partnerships,
                    "events": events, "governments": governments, "version": self.version}

    def results(self, token: str) -> dict[str, Any]:
        """The team's own country: its measures now (as in the debrief) and its share and capex by quarter."""
        with self._lock:
            code = self._team(token).government
            rows = _country_measures(self.model, code, self.model.steps)
            mt = self.model.metrics()
            series = pd.DataFrame({"share": mt[f"share_{code}"].to_numpy() * 100.0,
                                   "fab_capex": mt[f"fab_capex_{code}"].to_numpy()}, index=list(mt["quarter"]))
            return {"government": code, "name": self.names[code], "measures": rows, "series": series}

    # ---------------------------------------------------------------- debrief
    def _make_debrief(self) -> Debrief:
        q = int(self.model.steps)
        sq = ChipModel(self.scenario, rng=self.seed).run(q)
        cls_c, cls_w = summarise(self.model, q)
        sq_c, sq_w = summarise(sq, q)
        country_rows = []
        for (code, measure, unit), v in cls_c.items():
            base = sq_c[(code, measure, unit)]
            country_rows.append({"country": code, "name": self.names[code], "played_by": self.played_by(code) or "AI",
                                 "measure": measure, "unit": unit, "class": v, "status_quo": base,
                                 "difference": v - base})
        world_rows = [{"measure": measure, "unit": unit, "class": v, "status_quo": sq_w[(measure, unit)],
                       "difference": v - sq_w[(measure, unit)]} for (measure, unit), v in cls_w.items()]
        return Debrief(quarters=q, last_quarter=self.model.quarter_of(q), countries=pd.DataFrame(country_rows),
                       world=pd.DataFrame(world_rows), decisions=list(self.decisions))


# ----------------------------------------------------------------------------------------------- summaries
#: World measures of the debrief: metric, how it is taken over the played quarters (last, sum or mean).
WORLD_MEASURES: tuple[tuple[str, str], ...] = (
    ("capacity_fab", "last"), ("hhi_country", "last"), ("clustering_index", "last"), ("price_chips", "last"),
    ("unit_cost_index", "last"), ("supply_shortfall", "mean"), ("investments_started", "sum"),
    ("investment_capex", "sum"), ("subsidy_paid_cumulative", "last"), ("partnerships_active", "last"),
    ("partnerships_cross_border_share", "last"), ("technology_mean", "last"), ("projects_active", "last"),
    ("fund_spent", "last"),
)
_HOW = {"last": "at the end", "sum": "over the game", "mean": "mean over the game"}


def _reduce(series: pd.Series, how: str, quarters: int) -> float:
    played = series.iloc[1: quarters + 1]           # the quarters played (row 0 is the start)
    if how == "last" or quarters == 0:
        return float(series.iloc[quarters])
    return float(played.sum() if how == "sum" else played.mean())


def _country_measures(m: ChipModel, code: str, quarters: int) -> list[tuple[str, str, float]]:
    """(measure, unit, value) of one country after ``quarters`` quarters of ``m`` (which must be at that step)."""
    w = m.world
    mt = m.metrics()
    c = w.geo.countries.index(code)
    gov = w.policy.governments[c]
    fab = np.isin(w.sites.col("segment"), [SEGMENTS.index(s) for s in FAB_SEGMENTS])
    here = w.geo.country[w.sites.col("region")] == c
    cap = w.sites.col("capacity")
    op = w.sites.select(OPERATING) & fab & here
    building = w.sites.select(BUILDING) & fab & here
    rel = site_unit_cost(w, m.spec)[op] / w.segments.base_price[w.sites.col("segment")[op]]
    cost = float((rel * cap[op]).sum() / cap[op].sum()) if cap[op].sum() > 0 else float("nan")
    return [
        ("share of world fab capacity", "%", _reduce(mt[f"share_{code}"], "last", quarters) * 100.0),
        ("operating fab capacity", "kwpm", float(cap[op].sum())),
        ("fab capacity under construction", "kwpm", float(cap[building].sum())),
        ("fab projects started", "count, over the game", _reduce(mt[f"fab_starts_{code}"], "sum", quarters)),
        ("capex of fab projects started", "USD bn, over the game", _reduce(mt[f"fab_capex_{code}"], "sum", quarters)),
        ("subsidies paid", "USD bn since the start", float(gov.paid_total)),
        ("subsidy budget not yet promised", "USD bn", float(gov.available)),
        ("unit cost of fab output made here", "× base price", cost),
        ("home firms' output shortfall", "%, mean over the game", _reduce(mt[f"shortfall_{code}"], "mean", quarters)
         * 100.0),
    ]


def summarise(m: ChipModel, quarters: int) -> tuple[dict[tuple[str, str, str], float], dict[tuple[str, str], float]]:
    """The debrief's measures of a model after ``quarters`` quarters: per country (country, measure, unit) and
    for the world (measure, unit), with labels and units from the metric registry."""
    countries = {(code, name, unit): v for code in m.world.geo.countries
                 for name, unit, v in _country_measures(m, code, quarters)}
    mt = m.metrics()
    world = {}
    for name, how in WORLD_MEASURES:
        metric, _ = describe(name)
        world[(metric.label, f"{metric.display_unit}, {_HOW[how]}")] = _reduce(mt[name], how, quarters) * metric.scale
    return countries, world


# ------------------------------------------------------------------------------------------------ registry
class Registry:
    """Every game of this server process, by join code (thread-safe).  At most ``max_games``: beyond that the
    oldest ended game is dropped, and with none ended a new game is refused."""

    def __init__(self, max_games: int = 50) -> None:
        self.max_games = max_games
        self._games: dict[str, Game] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._games)

    def create(self, scenario: Any = DEFAULT_SCENARIO, seed: Any = 0, rounds: Any = 3,
               roles: Any = None) -> tuple[Game, str]:
        """Open a game; returns it and the secret teacher token (the join code is ``game.code``)."""
        names = list(builtin_scenarios())
        if scenario not in names:
            raise ClassroomError(f"scenario {scenario!r}: not a built-in scenario, expected one of {', '.join(names)}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
            raise ClassroomError(f"seed = {seed!r}: expected a whole number from 0 to {2**32 - 1}")
        sc = load_scenario(scenario)
        most = sc.meta.horizon // QUARTERS_PER_ROUND
        if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or not 1 <= rounds <= most:
            raise ClassroomError(f"rounds = {rounds!r}: expected a whole number of years from 1 to {most} "
                                 f"(the scenario runs {sc.meta.horizon} quarters)")
        if roles is None:
            roles = default_roles(sc)
        if isinstance(roles, str) or not isinstance(roles, (list, tuple)) or not roles:
            raise ClassroomError(f"roles = {roles!r}: expected a non-empty list of governments from "
                                 f"{', '.join(sc.governments)}")
        for r in roles:
            if r not in sc.governments:
                raise ClassroomError(f"roles: {r!r} is not a government of {scenario}, expected some of "
                                     f"{', '.join(sc.governments)}")
        if len(set(roles)) != len(roles):
            raise ClassroomError(f"roles = {list(roles)!r}: a government is listed twice")
        teacher = secrets.token_urlsafe(16)
        with self._lock:
            if len(self._games) >= self.max_games:
                ended = [k for k, g in self._games.items() if g.ended]
                if not ended:
                    raise ClassroomError(f"this server already runs {self.max_games} games; end one first")
                del self._games[ended[0]]
            code = self._new_code()
            game = Game(code, teacher, scenario, int(seed), int(rounds), list(roles))
            self._games[code] = game
        return game, teacher

    def _new_code(self) -> str:
        while True:
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if code not in self._games:
                return code

    def get(self, code: Any) -> Game:
        """The game of a join code (typed in any case, with spaces or hyphens)."""
        key = normalise_code(code)
        with self._lock:
            game = self._games.get(key)
        if game is None:
            raise ClassroomError(f"join code {code!r}: no game with this code on this server")
        return game

    def resume(self, code: Any, token: Any) -> tuple[Game, str]:
        """Rejoin the game of ``code`` with a token the browser kept (after a reload): the game and ``"teacher"``
        or ``"team"``.  The token is checked here, as for every action; a wrong or missing one is refused."""
        game = self.get(code)
        if not isinstance(token, str) or not token:
            raise NotAuthorised(f"rejoin game {game.code}: no key was kept for it in this browser; join again "
                                f"with the code")
        try:
            return game, game.role_of(token)
        except NotAuthorised:
            raise NotAuthorised(f"rejoin game {game.code}: the key kept in this browser is not a teacher's or a "
                                f"team's of this game; join again with the code") from None

    def join(self, code: Any, team_name: Any, government: Any) -> tuple[Game, str]:
        """Join the game of ``code``; returns it and the team's secret token."""
        game = self.get(code)
        return game, game.join(team_name, government)


#: The server's games (one per Python process; the page imports this module once).
REGISTRY = Registry()
