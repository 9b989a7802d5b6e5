"""Shocks: scheduled and random events, and the state they leave in force.

``EventBook`` turns the scenario's events (and any historical ones it names
from ``data/events_library.toml``) into quarters, starts and ends them, draws
random political and infrastructure events for every region, and exposes
what is in force as arrays the other phases read:

* ``restriction[e, i, u]`` — share of deliveries of segment u from country e
  to country i that is blocked (export restrictions and blockades combine as
  1 − Π(1 − m));
* ``tariff[i, e]`` and ``tariff_exempt_local[i]`` — importer i's tariff on
  exporter e, and whether firms with capacity in i are spared;
* ``demand_factor[s]`` — share of final demand for fab segment s that demand
  shocks leave (1 without one);
* ``input_tariff[i, e, u]`` — importer i's tariff on input u (materials,
  equipment, packaging) from exporter e, from tariff events that name u;
* ``site_availability`` — share of each site's capacity that can run;
* ``immigration`` — active (home, host regions, magnitude) actions;
* ``impulse[h, r]`` — the rise in the risk signal that firms from country h
  read for region r while events that hit r (or h) are in force
  (``ChipModel.fire_events``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np

from .columns import SubState
from .scenario import FAB_SEGMENTS, SEGMENTS, Event, Scenario, quarter_index, quarter_label

if TYPE_CHECKING:
    from .geography import Geography
    from .sites import SiteRegistry
    from .world import GovernmentState

__all__ = ["EventBook", "ActiveEvent", "consultation_relief"]

@dataclass
class ActiveEvent:
    """An event in force (scheduled or random), with what is needed to undo it."""

    key: int
    spec: Event
    start_step: int
    end_step: int | None                  # first step no longer in force
    origin: str                           # "scenario" or "random"
    undo: dict[str, Any] = field(default_factory=dict)


class EventBook(SubState):
    """Scheduled and random events of one model run.

    Built before anything that reads what is in force (partnerships, policy
    arrays): until ``fire`` first runs, nothing is in force and the tariffs
    are the governments' own.
    """

    _shared = ("spec", "geo")

    def __init__(self, sc: Scenario, geo: Geography, firm_ids: list[str],
                 governments: list[GovernmentState]) -> None:
        self.spec = sc
        self.geo = geo
        n_c, n_s = len(geo.countries), len(SEGMENTS)
        self.cidx = {c: i for i, c in enumerate(geo.countries)}
        self.ridx = {r: i for i, r in enumerate(geo.ids)}
        self.fidx = {f: i for i, f in enumerate(firm_ids)}
        self.step = 0
        first = quarter_index(sc.meta.start_quarter)
        self.scheduled: list[tuple[int, int | None, Event]] = []
        for ev in sc.events:
            start = quarter_index(ev.start) - first
            end = quarter_index(ev.end) - first if ev.end else None
            self.scheduled.append((start, end, ev))
        self.active: list[ActiveEvent] = []
        self.rows: list[dict[str, Any]] = []
        self.relief = consultation_relief(sc, geo.countries)
        self.restriction = np.zeros((n_c, n_c, n_s))
        self.tariff = np.zeros((n_c, n_c))
        for g in governments:
            self.tariff[g.cidx, :] = g.tariff
            for ex in g.tariff_exempt:
                self.tariff[g.cidx, self.cidx[ex]] = 0.0
            self.tariff[g.cidx, g.cidx] = 0.0
        self._base_tariff = self.tariff.copy()
        self.tariff_exempt_local = np.zeros(n_c, dtype=bool)
        self.input_tariff = np.zeros((n_c, n_c, len(SEGMENTS)))     # importer × exporter × input segment
        self.demand_factor = np.ones(len(SEGMENTS))                   # share of final demand left by demand shocks
        self.blockade = np.zeros(n_c)
        self.impulse = np.zeros((n_c, geo.n))
        self.immigration: list[tuple[int, np.ndarray, float]] = []
        self.site_availability = np.ones(0)
        self._key = 0
        self._started: dict[str, ActiveEvent] = {}

    # ------------------------------------------------------------ each quarter
    def fire(self, t: int, rng: np.random.Generator, sites: SiteRegistry,
             governments: list[GovernmentState]) -> None:
        """End what expires, start what is due, draw random events; rebuild the state in force.

        Subsidy tightening changes the conditions of ``governments`` (and undoes it at the end)."""
        self.step = t
        for ev in [a for a in self.active if a.end_step is not None and a.end_step <= t]:
            self._end(ev, t)
        for start, end, spec in self.scheduled:
            if start == t:
                self._start(spec, t, end, "scenario", governments)
        if self.spec.random_events.enabled and t > 0:
            self._draw_random(t, rng, governments)
        self._rebuild(sites, governments)

    def _quarter(self, t: int) -> str:
        meta = self.spec.meta
        return quarter_label(meta.start_year, meta.start_q, t)

    def _start(self, spec: Event, t: int, end: int | None, origin: str,
               governments: list[GovernmentState]) -> None:
        ev = ActiveEvent(self._key, spec, t, end, origin)
        self._key += 1
        if spec.type == "sanctions_lifted":
            target = self._started.get(spec.lifts)
            if target is not None and target in self.active:
                self._end(target, t)
        elif spec.type == "subsidy_tightening":
            gov = governments[self.cidx[spec.country]]
            before = getattr(gov.conditions, spec.condition)
            after = min(1.0, before + spec.magnitude)
            setattr(gov.conditions, spec.condition, after)
            ev.undo = {"gov": gov, "condition": spec.condition, "added": after - before}
        elif spec.type == "policy_change":
            ev.undo = {"gov": governments[self.cidx[spec.country]], "rates": apply_policy(
                governments[self.cidx[spec.country]], spec.settings)}
        self.active.append(ev)
        if spec.id:
            self._started[spec.id] = ev
        self.rows.append({
            "step": t, "quarter": self._quarter(t), "type": spec.type, "target": self._target(spec),
            "magnitude": spec.magnitude, "description": spec.description, "event": ev.key, "id": spec.id,
            "origin": origin, "end_step": end, "source": spec.source,
        })

    def _end(self, ev: ActiveEvent, t: int) -> None:
        if ev.spec.type == "policy_change" and ev.undo:
            for name, value in ev.undo["rates"].items():
                setattr(ev.undo["gov"], name, value)
        elif ev.spec.type == "subsidy_tightening" and ev.undo:
            gov = ev.undo["gov"]
            value = getattr(gov.conditions, ev.undo["condition"]) - ev.undo["added"]
            setattr(gov.conditions, ev.undo["condition"], max(0.0, value))
        self.active.remove(ev)
        for row in self.rows:
            if row["event"] == ev.key:
                row["end_step"] = t

    def _impulses(self, spec: Event) -> None:
        """Events in force that hit a region or a home country raise the risk signal firms read."""
        geo = self.geo
        mag = spec.magnitude
        if spec.type == "outage":
            self.impulse[:, self.ridx[spec.region]] += mag
        elif spec.type == "blockade":
            self.impulse[:, geo.country == self.cidx[spec.country]] += mag
        elif spec.type == "export_restriction":
            # Firms of the importing country read more risk in the exporter's regions.
            self.impulse[self.cidx[spec.importer], geo.country == self.cidx[spec.exporter]] += mag
        elif spec.type == "immigration_enforcement":
            self.impulse[self.cidx[spec.home], self._host_regions(spec)] += mag

    def _host_regions(self, spec: Event) -> np.ndarray:
        geo = self.geo
        if spec.region is not None:
            mask = np.zeros(geo.n, dtype=bool)
            mask[self.ridx[spec.region]] = True
            return mask
        return geo.country == self.cidx[spec.country]

    def _draw_random(self, t: int, rng: np.random.Generator, governments: list[GovernmentState]) -> None:
        """Political events (hazard ∝ political risk) and infrastructure events
        (hazard ∝ 1 − power reliability) knock out part of a region's capacity."""
        rnd = self.spec.random_events
        geo = self.geo
        horizon = self.spec.meta.horizon
        hazards = (("political", rnd.political_rate * geo.political_risk),
                   ("infrastructure", rnd.infrastructure_rate * (1.0 - geo.power_reliability)))
        for kind, hazard in hazards:
            hit = np.flatnonzero(rng.random(geo.n) < hazard)
            for r in hit.tolist():
                mag = float(rng.beta(rnd.magnitude_alpha, rnd.magnitude_beta))
                dur = 1 + int(rng.poisson(rnd.mean_duration))
                spec = Event(type="outage", start=self._quarter(t), region=geo.ids[r], magnitude=mag,
                             description=f"random {kind} event")
                end = t + dur if t + dur <= horizon else None
                self._start(spec, t, end, "random", governments)

    def _rebuild(self, s: SiteRegistry, governments: list[GovernmentState]) -> None:
        """Recompute the arrays in force from the active events."""
        geo = self.geo
        n_c = len(geo.countries)
        keep = np.ones_like(self.restriction)
        avail = np.ones(s.n)
        tariff = self._base_tariff.copy()
        input_tariff = np.zeros((n_c, n_c, len(SEGMENTS)))
        demand_keep = np.ones(len(SEGMENTS))
        exempt_local = np.zeros(n_c, dtype=bool)
        blockade_keep = np.ones(n_c)
        self.immigration = []
        self.impulse[:] = 0.0
        for ev in self.active:
            sp = ev.spec
            self._impulses(sp)
            segs = [SEGMENTS.index(x) for x in sp.segments] or list(range(len(SEGMENTS)))
            if sp.type == "export_restriction":
                e, i = self.cidx[sp.exporter], self.cidx[sp.importer]
                keep[e, i, segs] *= 1.0 - sp.magnitude * (1.0 - self.relief[e, i])
            elif sp.type == "blockade":
                c = self.cidx[sp.country]
                others = np.arange(n_c) != c
                keep[c, others, :] *= 1.0 - sp.magnitude
                blockade_keep[c] *= 1.0 - sp.magnitude
            elif sp.type == "tariff":
                c = self.cidx[sp.country]
                targets = [self.cidx[x] for x in sp.exporters] or [k for k in range(n_c) if k != c]
                tariff[c, targets] = np.maximum(tariff[c, targets], sp.magnitude)
                exempt_local[c] |= sp.exempt_local
                for u in (SEGMENTS.index(x) for x in sp.segments if x not in FAB_SEGMENTS):
                    input_tariff[c, targets, u] = np.maximum(input_tariff[c, targets, u], sp.magnitude)
            elif sp.type == "outage":
                sel = s.col("region") == self.ridx[sp.region]
                if sp.firm is not None:
                    sel &= s.col("firm") == self.fidx[sp.firm]
                if sp.segments:
                    sel &= np.isin(s.col("segment"), segs)
                avail[sel] *= 1.0 - sp.magnitude
            elif sp.type == "immigration_enforcement":
                self.immigration.append((self.cidx[sp.home], self._host_regions(sp), sp.magnitude))
            elif sp.type == "demand_shock":
                fab = [SEGMENTS.index(x) for x in (sp.segments or FAB_SEGMENTS) if x in FAB_SEGMENTS]
                demand_keep[fab] *= 1.0 - sp.magnitude
        # Tit-for-tat: a government that answers tariffs matches those on its exports.
        for g in governments:
            if g.tit_for_tat:
                tariff[g.cidx, :] = np.maximum(tariff[g.cidx, :], tariff[:, g.cidx])
        np.fill_diagonal(tariff, 0.0)
        self.restriction = 1.0 - keep
        self.blockade = 1.0 - blockade_keep
        self.tariff = tariff
        for k in range(n_c):
            input_tariff[k, k, :] = 0.0
        self.input_tariff = input_tariff
        self.demand_factor = demand_keep
        self.tariff_exempt_local = exempt_local
        self.site_availability = avail

    def upcoming_restriction(self, lead: int) -> np.ndarray:
        """Block shares of scheduled restrictions and blockades that start within
        the next ``lead`` quarters (what firms with visibility see coming)."""
        t = self.step
        n_c = len(self.geo.countries)
        keep = np.ones_like(self.restriction)
        for start, _, sp in self.scheduled:
            if not t < start <= t + lead:
                continue
            segs = [SEGMENTS.index(x) for x in sp.segments] or list(range(len(SEGMENTS)))
            if sp.type == "export_restriction":
                e, i = self.cidx[sp.exporter], self.cidx[sp.importer]
                keep[e, i, segs] *= 1.0 - sp.magnitude * (1.0 - self.relief[e, i])
            elif sp.type == "blockade":
                c = self.cidx[sp.country]
                keep[c, np.arange(n_c) != c, :] *= 1.0 - sp.magnitude
        return 1.0 - keep

    def availability(self, n: int) -> np.ndarray:
        """Share of each of the first ``n`` sites' capacity able to run (sites added since the last rebuild: 1)."""
        avail = self.site_availability
        if len(avail) < n:
            avail = np.concatenate([avail, np.ones(n - len(avail))])
        return avail[:n]

    # ----------------------------------------------------------------- output
    def _target(self, sp: Event) -> str:
        if sp.type == "export_restriction":
            segs = "/".join(sp.segments) or "all"
            return f"{sp.exporter}->{sp.importer}:{segs}"
        if sp.type == "tariff":
            return f"{sp.country}<-{'/'.join(sp.exporters) or 'all'}"
        if sp.type == "outage":
            return sp.region + (f":{sp.firm}" if sp.firm else "")
        if sp.type == "immigration_enforcement":
            return f"{sp.home}@{sp.region or sp.country}"
        if sp.type == "sanctions_lifted":
            return str(sp.lifts)
        if sp.type == "demand_shock":
            return "demand:" + ("/".join(sp.segments) or "chips")
        if sp.type == "policy_change":
            return f"{sp.country}:" + ",".join(f"{k}={v:g}" for k, v in sp.settings.items())
        return str(sp.country)


def consultation_relief(sc: Scenario, countries: Sequence[str]) -> np.ndarray:
    """Share of an export restriction from e to i that is licensed through (countries × countries).

    With harmonised export controls on (``cocreation.export_control``), the
    members' export-control authorities consult each other, so a restriction
    between two members acts at (1 − ``restriction_relief``) of its magnitude
    (ODD §7.16); 0 elsewhere, on the diagonal and with the lever off.
    """
    co = sc.cocreation
    lever = co.export_control
    n = len(countries)
    relief = np.zeros((n, n))
    if lever.enabled and lever.restriction_relief > 0:
        members = set(co.members_of(lever))
        mask = np.array([c in members for c in countries])
        relief[np.ix_(mask, mask)] = lever.restriction_relief
        np.fill_diagonal(relief, 0.0)
    return relief


def apply_policy(gov: GovernmentState, settings: dict[str, float]) -> dict[str, float]:
    """Set a government's instruments (ODD §7.16, policy_change): rates and the yearly
    appropriation are replaced, ``budget`` is added to what is left (a new appropriation),
    and so is ``loan_budget`` to the policy-loan envelope.
    Returns the replaced values, which the event's end restores."""
    before: dict[str, float] = {}
    for name, value in settings.items():
        if name == "budget":
            gov.budget += value
            gov.appropriated_total += value
        elif name == "loan_budget":
            gov.loan_budget += value
            gov.loan_appropriated += value
        else:
            before[name] = getattr(gov, name)
            setattr(gov, name, float(value))
    return before
