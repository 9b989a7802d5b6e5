"""The fixed vocabulary of a scenario: segment ids, id patterns, site
statuses, event types, subsidy conditions, and the one error type.

The schema, the cross-reference checks and the loaders share these, so each
lives here once.
"""

from __future__ import annotations

import re
from enum import StrEnum

__all__ = ["SEGMENTS", "FAB_SEGMENTS", "EVENT_TYPES", "CONDITION_NAMES", "SiteStatus",
           "ScenarioError"]

#: Value-chain segments, upstream first.  Identifiers fixed by DESIGN.md.
SEGMENTS: tuple[str, ...] = (
    "materials",
    "equipment",
    "logic",
    "memory",
    "sensors",
    "power",
    "packaging",
)
#: Front-end fab segments: capacity in 200mm-equivalent wafer starts per month.
FAB_SEGMENTS: tuple[str, ...] = ("logic", "memory", "sensors", "power")

#: Event types (docs/ODD.md §7.16) and whether their magnitude is a share (≤ 1).
EVENT_TYPES: dict[str, bool] = {
    "export_restriction": True,       # exporter → importer, listed segments; share of deliveries blocked
    "tariff": False,                  # importer's ad valorem tariff on exporters (1 = 100%)
    "outage": True,                   # share of capacity offline in a region (optionally a firm, segments)
    "immigration_enforcement": True,  # against a home country's workers in a host region
    "subsidy_tightening": True,       # added cost share of a government's subsidy conditions
    "blockade": True,                 # share of a country's exports blocked
    "sanctions_lifted": True,         # ends an earlier event (lifts)
    "demand_shock": True,             # share of final chip demand lost (listed fab segments; empty = all)
    "policy_change": True,            # a government's instruments set anew (settings); magnitude unused
}
#: Fields of an event that its type requires.
EVENT_REQUIRES: dict[str, tuple[str, ...]] = {
    "export_restriction": ("exporter", "importer"),
    "tariff": ("country",),
    "outage": ("region",),
    "immigration_enforcement": ("home",),
    "subsidy_tightening": ("country",),
    "blockade": ("country",),
    "sanctions_lifted": ("lifts",),
    "demand_shock": (),
    "policy_change": ("country", "settings"),
}
#: Government instruments a policy_change event may set (``budget`` and ``loan_budget`` are added: an appropriation).
POLICY_SETTINGS = ("subsidy_rate", "tax_credit", "annual_budget", "budget", "loan_budget", "loan_share", "loan_rate_cut")
#: Conditions a government may attach to its subsidies (``Conditions`` fields).
CONDITION_NAMES = ("technology_transfer", "data_disclosure", "local_content", "concern_ban")

REGION_ID = re.compile(r"^[A-Z]{2}-[A-Za-z0-9]+$")
COUNTRY = re.compile(r"^[A-Z]{2}$")
IDENT = re.compile(r"^[a-z][a-z0-9_]*$")


class ScenarioError(ValueError):
    """A user error in a scenario or an override: one line, names the field."""


class SiteStatus(StrEnum):
    """Life cycle of a site (a block of capacity at one place)."""

    BUILDING = "building"
    OPERATING = "operating"
    OFFLINE = "offline"
