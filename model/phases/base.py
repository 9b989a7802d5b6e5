"""Declaring a phase: what it is, where ODD describes it, which sub-states it reads and writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

    from ..scenario import Scenario
    from ..world import World

__all__ = ["Phase", "phase"]


@dataclass(frozen=True)
class Phase:
    """One step of ODD §3: what it is, where it is described, what it touches."""

    name: str
    odd: str
    reads: tuple[str, ...]
    writes: tuple[str, ...]
    fn: Callable[..., Any]

    def __call__(self, w: World, sc: Scenario, rng: np.random.Generator) -> None:
        self.fn(w, sc, rng)


def phase(name: str, odd: str, *, reads: tuple[str, ...], writes: tuple[str, ...]) -> Callable[..., Phase]:
    """Declare a phase function; its docstring gains the declaration."""

    def wrap(fn: Callable[..., Any]) -> Phase:
        fn.__doc__ = (fn.__doc__ or "").rstrip() + (
            f"\n\n    Reads: {', '.join(reads)}.\n    Writes: {', '.join(writes)}.\n")
        return Phase(name=name, odd=odd, reads=tuple(reads), writes=tuple(writes), fn=fn)

    return wrap
