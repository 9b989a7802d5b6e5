"""A growable store of numpy columns: the base of the site registry and the partnership book.

Rows are appended at the end; ``n`` rows are live and the arrays keep spare
room that doubles when full, so appending is O(1) amortised and every
per-quarter operation is one vectorised pass over ``col(name)``.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

__all__ = ["ColumnStore"]


class ColumnStore:
    """Subclasses set ``COLUMNS``: column name → numpy dtype."""

    COLUMNS: ClassVar[dict[str, type]] = {}

    def __init__(self, capacity_hint: int = 256) -> None:
        self.n = 0
        self._room = max(16, capacity_hint)
        for name, dtype in self.COLUMNS.items():
            setattr(self, name, np.zeros(self._room, dtype=dtype))

    def _reserve(self, need: int) -> None:
        """Make room for ``need`` rows, doubling the arrays as often as needed."""
        if need <= self._room:
            return
        while self._room < need:
            self._room *= 2
        for name in self.COLUMNS:
            old = getattr(self, name)
            new = np.zeros(self._room, dtype=old.dtype)
            new[: self.n] = old[: self.n]
            setattr(self, name, new)

    def col(self, name: str) -> np.ndarray:
        """View of the live part of a column."""
        return getattr(self, name)[: self.n]
