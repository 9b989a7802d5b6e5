"""Cross-references between a scenario's tables (regions ↔ governments,
sites ↔ regions, events ↔ countries, …), checked after each table is valid.

Each check raises ``ValueError`` naming the dotted path of the first bad
reference; pydantic turns it into the validation error that
:func:`model.scenario.loading.validation_message` reports in one line.  The
checks run in a fixed order, so the same bad file always names the same field.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Iterable

from .hints import known_hint
from .quarters import quarter_index, quarter_name
from .vocabulary import COUNTRY, IDENT, REGION_ID, SEGMENTS

if TYPE_CHECKING:
    from .schema import Scenario

__all__ = ["check_references", "EventsBeyondHorizonWarning"]


class EventsBeyondHorizonWarning(UserWarning):
    """Some scheduled events start after the last quarter of a (shortened) run and will not fire."""

#: The switchable co-creation levers (fields of :class:`~model.scenario.schema.Cocreation`).
LEVERS = ("investment_protection", "export_control", "talent", "standards", "fund")


def check_references(sc: Scenario) -> Scenario:
    """Run every cross-reference check on a scenario whose tables are each valid."""
    for check in (_segments, _regions, _governments, _firms, _generated, _network_and_institutes,
                  _cocreation, _events):
        check(sc)
    return sc


def _countries(sc: Scenario, codes: Iterable[str | None], where: str) -> None:
    """Every given (non-empty) country code must have a government."""
    for cc in codes:
        if cc is not None and cc not in sc.governments:
            raise ValueError(f"{where}: unknown country {cc!r} ({known_hint(cc, sc.governments)})")


def _segments(sc: Scenario) -> None:
    missing = [s for s in SEGMENTS if s not in sc.segments]
    if missing:
        raise ValueError(f"segments: missing {', '.join(missing)}")
    for sid, seg in sc.segments.items():
        if sid not in SEGMENTS:
            raise ValueError(f"segments.{sid}: unknown segment ({known_hint(sid, SEGMENTS)})")
        for up in seg.input_coefficients:
            if up not in SEGMENTS or up == sid:
                raise ValueError(f"segments.{sid}.input_coefficients.{up}: unknown upstream segment")
    for sid, seg in sc.segments.items():
        # Buyers pay for their inputs out of their unit cost (ODD 7.15): at base prices the bill must fit in it.
        bill = sum(a * sc.segments[u].price for u, a in seg.input_coefficients.items())
        cost = seg.price * seg.cost_share
        if bill > cost + 1e-9:
            raise ValueError(f"segments.{sid}: its inputs at base prices cost {bill:g} USD per unit, more than its "
                             f"unit cost price × cost_share = {cost:g}; expected a higher price or cost_share or "
                             "lower input_coefficients")


def _regions(sc: Scenario) -> None:
    if not sc.regions:
        raise ValueError("regions: at least one region is needed")
    for rid, reg in sc.regions.items():
        if not REGION_ID.match(rid):
            raise ValueError(f"regions.{rid}: region id must look like CC-Name")
        if rid[:2] != reg.country:
            raise ValueError(f"regions.{rid}.country: {reg.country!r} does not match the id prefix {rid[:2]!r}")
        if reg.country not in sc.governments:
            raise ValueError(f"regions.{rid}.country: no government for country {reg.country!r} "
                             f"({known_hint(reg.country, sc.governments)})")


def _governments(sc: Scenario) -> None:
    for cc, gov in sc.governments.items():
        if not COUNTRY.match(cc):
            raise ValueError(f"governments.{cc}: expected a two-letter country code")
        _countries(sc, gov.tariff_exempt, f"governments.{cc}.tariff_exempt")
    total_market = sum(g.market_share for g in sc.governments.values())
    if total_market > 1.0 + 1e-9:
        raise ValueError(f"governments.*.market_share: shares sum to {total_market:.3f}, expected at most 1")
    _countries(sc, sc.params.concern_countries, "params.concern_countries")


def _firms(sc: Scenario) -> None:
    for fid, firm in sc.firms.items():
        if not IDENT.match(fid):
            raise ValueError(f"firms.{fid}: firm id must be lower-case snake_case")
        _countries(sc, [firm.home], f"firms.{fid}.home")
        for i, site in enumerate(firm.sites):
            if site.region not in sc.regions:
                raise ValueError(f"firms.{fid}.sites.{i}.region: unknown region {site.region!r} "
                                 f"({known_hint(site.region, sc.regions)})")


def _generated(sc: Scenario) -> None:
    for cc in sc.generated.home_weights:
        if cc not in sc.governments:
            raise ValueError(f"generated.home_weights.{cc}: unknown country ({known_hint(cc, sc.governments)})")
    for s in sc.generated.segment_weights:
        if s not in SEGMENTS:
            raise ValueError(f"generated.segment_weights.{s}: unknown segment")


def _network_and_institutes(sc: Scenario) -> None:
    for i, ct in enumerate(sc.network.country_trust):
        for side in ("a", "b"):
            _countries(sc, [getattr(ct, side)], f"network.country_trust.{i}.{side}")
    for iid, inst in sc.institutes.items():
        _countries(sc, [inst.country], f"institutes.{iid}.country")


def _cocreation(sc: Scenario) -> None:
    co = sc.cocreation
    _countries(sc, co.members, "cocreation.members")
    for name in LEVERS:
        _countries(sc, getattr(co, name).members or [], f"cocreation.{name}.members")
    for cc in co.fund.contributions:
        if cc not in sc.governments:
            raise ValueError(f"cocreation.fund.contributions.{cc}: unknown country ({known_hint(cc, sc.governments)})")


def _events(sc: Scenario) -> None:
    """Events name known countries, regions, firms and segments, start no earlier than the
    start quarter, and a sanctions_lifted event names an earlier event's id.  Events that
    start after a shortened horizon are allowed: one warning names those that will not fire."""
    first = quarter_index(sc.meta.start_quarter)
    last = first + sc.meta.horizon
    ids: set[str] = set()
    late: list[str] = []
    for i, ev in enumerate(sc.events):
        where = f"events.{i}"
        for name in ("exporter", "importer", "country", "home"):
            _countries(sc, [getattr(ev, name)], f"{where}.{name}")
        _countries(sc, ev.exporters, f"{where}.exporters")
        if ev.region is not None and ev.region not in sc.regions:
            raise ValueError(f"{where}.region: unknown region {ev.region!r} ({known_hint(ev.region, sc.regions)})")
        if ev.firm is not None and ev.firm not in sc.firms:
            raise ValueError(f"{where}.firm: unknown firm {ev.firm!r} ({known_hint(ev.firm, sc.firms)})")
        for sg in ev.segments:
            if sg not in SEGMENTS:
                raise ValueError(f"{where}.segments: unknown segment {sg!r} ({known_hint(sg, SEGMENTS)})")
        if quarter_index(ev.start) < first:
            raise ValueError(f"{where}.start: {ev.start} is before the start quarter {sc.meta.start_quarter}")
        if quarter_index(ev.start) >= last:     # a shortened horizon: allowed, warned about once
            late.append(f"{where} ({ev.type}, {ev.start})")
        if ev.type == "sanctions_lifted" and ev.lifts not in ids:
            raise ValueError(f"{where}.lifts: no earlier event with id {ev.lifts!r} "
                             f"({known_hint(ev.lifts, sorted(ids))})")
        if ev.id:
            if ev.id in ids:
                raise ValueError(f"{where}.id: duplicate event id {ev.id!r}")
            ids.add(ev.id)
    if late:
        warnings.warn(f"{sc.meta.name}: {len(late)} event(s) start after the run's last quarter "
                      f"{quarter_name(last - 1)} and will not fire: {', '.join(late)}",
                      EventsBeyondHorizonWarning, stacklevel=2)
