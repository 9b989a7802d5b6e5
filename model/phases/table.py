"""The phase × sub-state table of docs/ARCHITECTURE.md, drawn from the phases' declarations
(kept in step by ``python -m model.docsections``)."""

from __future__ import annotations

from ..world import SUBSTATES
from . import SCHEDULE

__all__ = ["render"]


def render() -> str:
    """Markdown table: one row per phase, one column per sub-state; R = reads, W = writes."""
    head = "| ODD | phase | " + " | ".join(SUBSTATES) + " |"
    rule = "|---|---|" + "|".join(":-:" for _ in SUBSTATES) + "|"
    rows = []
    for ph in SCHEDULE:
        cells = ["W" if s in ph.writes else "R" if s in ph.reads else "" for s in SUBSTATES]
        module = ph.fn.__module__.removeprefix("model.")
        rows.append(f"| {ph.odd} | `{module}.{ph.fn.__name__}` | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])
