"""State containers: ``SubState`` (freezable, the base of every part of the World) and
``ColumnStore``, a growable store of numpy columns under the site registry and the partnership book.

Rows are appended at the end; ``n`` rows are live and the arrays keep spare
room that doubles when full, so appending is O(1) amortised and every
per-quarter operation is one vectorised pass over ``col(name)``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

__all__ = ["ColumnStore", "SubState"]


class SubState:
    """Base of the sub-states: ``freeze()`` makes arrays read-only and attributes unassignable.

    A frozen object is switched to a subclass whose ``__setattr__`` refuses;
    unfrozen objects keep Python's plain attribute assignment (no cost in the
    model's loops).
    """

    #: Attributes that refer to another part of the world (frozen or not with that part).
    _shared: ClassVar[tuple[str, ...]] = ()

    def freeze(self, frozen: bool = True) -> None:
        """Make (or stop making) every array of this sub-state read-only."""
        for name, value in vars(self).items():
            if name not in self._shared:
                _set_writeable(value, not frozen)
        cls = type(self)
        if frozen and not getattr(cls, "_is_frozen_class", False):
            object.__setattr__(self, "__class__", _frozen_class(cls))
        elif not frozen and getattr(cls, "_is_frozen_class", False):
            object.__setattr__(self, "__class__", cls.__mro__[1])


_FROZEN: dict[type, type] = {}


def _refuse(self: Any, name: str, value: Any) -> None:
    raise AttributeError(f"{type(self).__mro__[1].__name__}.{name} is read-only in this phase")


def _frozen_class(cls: type) -> type:
    """The read-only twin of ``cls`` (made once per class)."""
    if cls not in _FROZEN:
        _FROZEN[cls] = type(cls.__name__, (cls,), {"__setattr__": _refuse, "_is_frozen_class": True,
                                                   "__module__": cls.__module__})
    return _FROZEN[cls]


def _set_writeable(value: Any, writeable: bool) -> None:
    if isinstance(value, np.ndarray):
        try:
            value.flags.writeable = writeable
        except ValueError:          # a view whose base is still frozen: thawed with its base
            pass
    elif isinstance(value, dict):
        for v in value.values():
            _set_writeable(v, writeable)
    elif isinstance(value, (list, tuple)):
        for v in value:
            if isinstance(v, (np.ndarray, SubState)):
                _set_writeable(v, writeable)
    elif isinstance(value, SubState):
        value.freeze(not writeable)


class ColumnStore(SubState):
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
