"""Did-you-mean hints for one-line errors: the closest known names first, then
the rest of the list, never cut so that the right name is left out.

Every "unknown X" message of the scenario layer, the CLI and sweep files uses
:func:`known_hint` (scenario names, parameter paths, region/country/firm keys,
metrics, event targets), so they all read the same way::

    unknown key 'governments.USA' (did you mean 'US'? known: US, CN, EU, …)
"""

from __future__ import annotations

from difflib import get_close_matches
from typing import Iterable

__all__ = ["close_matches", "known_hint"]

#: Names listed in full up to this many; beyond it, "… and N more".
LIST_LIMIT = 12


def close_matches(value: object, known: Iterable[object], n: int = 3) -> list[str]:
    """The known names closest to ``value`` (case-insensitive), best first."""
    names = [str(k) for k in dict.fromkeys(known)]
    by_lower: dict[str, str] = {}
    for name in names:
        by_lower.setdefault(name.lower(), name)
    text = str(value).lower()
    return [by_lower[m] for m in get_close_matches(text, list(by_lower), n=n, cutoff=0.6)]


def known_hint(value: object, known: Iterable[object], limit: int = LIST_LIMIT) -> str:
    """``did you mean 'US'? known: US, CN, …`` (closest first; the full list when it
    has at most ``limit`` names, else the first ``limit`` and "… and N more")."""
    names = [str(k) for k in dict.fromkeys(known)]
    if not names:
        return "nothing is known here"
    close = close_matches(value, names)
    ordered = close + [n for n in names if n not in close]
    shown = ", ".join(ordered[:limit]) + (f", … and {len(ordered) - limit} more" if len(ordered) > limit else "")
    mean = f"did you mean {' or '.join(repr(c) for c in close)}? " if close else ""
    return f"{mean}known: {shown}"
