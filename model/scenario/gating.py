"""Parameters gated to nothing: values a scenario sets (or a sweep varies) that
cannot act because a switch or a budget elsewhere shuts them off.

* a government's subsidy rate, its target rule and its conditions while its
  ``budget`` and ``annual_budget`` are both 0 (no grant can be paid, and
  conditions cost a recipient only when a grant is taken; Korea's
  ``subsidy_rate`` in the baseline is the known case);
* a co-creation lever's settings while the lever is not ``enabled``;
* the fund's project settings while it is on but has no money (``budget`` 0 and
  no contributions);
* the random-event hazards while ``random_events.enabled`` is false;
* the licence terms while the IP ``regime`` is ``joint``.

:func:`gated_parameters` lists them; ``kyoso show`` prints them and sweeps warn
once per swept or fixed parameter that is gated (unless the sweep also varies
what opens the gate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable

from .paths import split_path, value_at, walk
from .references import LEVERS
from .schema import Scenario

__all__ = ["GatedParameter", "gated_parameters"]

_GOV_GATED = ("subsidy_rate", "strategic_target", "target_adjustment", "max_subsidy_rate",
              "conditions.technology_transfer", "conditions.data_disclosure", "conditions.local_content",
              "conditions.concern_ban", "condition_drift", "condition_cap")
_FUND_PROJECTS = ("mode", "projects_per_year", "stage_budget", "stages", "stage_quarters", "kpi_target",
                  "stage_growth")


@dataclass(frozen=True)
class GatedParameter:
    """A parameter path that cannot act in a scenario, and why."""

    path: str
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


@dataclass(frozen=True)
class _Gate:
    controls: tuple[str, ...]        # path prefixes that open the gate
    gated: tuple[str, ...]           # concrete paths it shuts off
    closed: Callable[[Scenario], bool]
    reason: str


def _gates(sc: Scenario) -> list[_Gate]:
    gates = []
    for cc in sc.governments:
        g = f"governments.{cc}"
        gates.append(_Gate((f"{g}.budget", f"{g}.annual_budget"), tuple(f"{g}.{p}" for p in _GOV_GATED),
                           lambda s, cc=cc: s.governments[cc].budget == 0 and s.governments[cc].annual_budget == 0,
                           f"{g}.budget and {g}.annual_budget are 0, so no grant can be paid"))
    for name in LEVERS:
        lever = f"cocreation.{name}"
        fields = [f for f in type(getattr(sc.cocreation, name)).model_fields if f != "enabled"]
        gates.append(_Gate((f"{lever}.enabled",), tuple(f"{lever}.{f}" for f in fields),
                           lambda s, name=name: not getattr(s.cocreation, name).enabled,
                           f"{lever}.enabled is false"))
    gates.append(_Gate(("cocreation.fund.budget", "cocreation.fund.contributions"),
                       tuple(f"cocreation.fund.{f}" for f in _FUND_PROJECTS),
                       lambda s: s.cocreation.fund.budget == 0 and not any(s.cocreation.fund.contributions.values()),
                       "cocreation.fund.budget is 0 and no country contributes, so no project can be paid"))
    fields = [f for f in type(sc.random_events).model_fields if f != "enabled"]
    gates.append(_Gate(("random_events.enabled",), tuple(f"random_events.{f}" for f in fields),
                       lambda s: not s.random_events.enabled, "random_events.enabled is false"))
    gates.append(_Gate(("cocreation.ip.regime",), tuple(f"cocreation.ip.{f}" for f in
                                                        ("licence_years", "licence_scope", "reference_years")),
                       lambda s: s.cocreation.ip.regime != "licence", "cocreation.ip.regime is not 'licence'"))
    return gates


def _differs_from_default(path: str, sc: Scenario) -> bool:
    field = walk(split_path(path))[-1].field
    value = value_at(path, sc)
    return field is None or value != field.get_default(call_default_factory=True)


def _norm(path: str) -> str:
    return path.replace("__", ".")


def gated_parameters(scenario: Scenario, paths: Iterable[str] | None = None,
                     varied: Iterable[str] | None = None) -> list[GatedParameter]:
    """Parameters of ``scenario`` that cannot act.

    Without ``paths``: every gated parameter whose value differs from the
    schema default (what the scenario sets to no effect).  With ``paths`` (a
    sweep's swept and fixed paths; fixed values applied to ``scenario``
    already): those of them that are gated, unless a ``varied`` path (default:
    all of ``paths``) opens the gate at some point (a sweep that varies the
    budget too is not warned about its subsidy rate).
    """
    given = None if paths is None else [_norm(p) for p in paths]
    opening = given if varied is None else [_norm(p) for p in varied]
    out: list[GatedParameter] = []
    for gate in _gates(scenario):
        if not gate.closed(scenario):
            continue
        if given is None:
            hits = [p for p in gate.gated if _differs_from_default(p, scenario)]
        else:
            if any(p == c or p.startswith(c + ".") for p in opening or () for c in gate.controls):
                continue
            hits = [p for p in given if any(p == g or p.startswith(g + ".") for g in gate.gated)]
        out += [GatedParameter(p, gate.reason) for p in hits]
    return out
