"""Quarter arithmetic: the one place that turns ``2025Q1`` into numbers and back.

A quarter index counts quarters since year 0 (2025Q1 → 8100); a step counts
quarters since a scenario's ``meta.start_quarter`` (step 0).  The schema,
events, records and the model all use these functions, so the calendar has
one definition.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .schema import Meta

__all__ = ["QUARTER_PATTERN", "quarter_index", "quarter_name", "quarter_label",
           "start_step_of_year", "step_of_quarter"]

#: A quarter written as ``YYYYQn``.
QUARTER_PATTERN = re.compile(r"^(\d{4})Q([1-4])$")


def quarter_index(q: str) -> int:
    """Quarters since year 0 (2025Q1 → 8100)."""
    m = QUARTER_PATTERN.match(q)
    return int(m.group(1)) * 4 + int(m.group(2)) - 1


def quarter_name(k: int) -> str:
    """The quarter with index ``k`` (8100 → '2025Q1'); inverse of :func:`quarter_index`."""
    return f"{k // 4}Q{k % 4 + 1}"


def quarter_label(start_year: int, start_q: int, step: int) -> str:
    """'2025Q1' for step 0 of a run starting 2025Q1, '2025Q2' for step 1, …"""
    return quarter_name(start_year * 4 + start_q - 1 + step)


def start_step_of_year(meta: Meta, year: int) -> int:
    """Step of the first quarter of ``year`` in a run starting at ``meta.start_quarter``
    (negative for years before the start)."""
    return (year - meta.start_year) * 4 - (meta.start_q - 1)


def step_of_quarter(meta: Meta, q: str) -> int:
    """Step of quarter ``q`` (``YYYYQn``) in a run starting at ``meta.start_quarter``."""
    return quarter_index(q) - quarter_index(meta.start_quarter)
