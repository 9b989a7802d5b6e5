"""A named registry of methods (sampling designs, analyses), in the style of SALib's modules.

Adding a method is one decorated function in the module that owns the
registry (its decorator builds the entry and calls :meth:`Registry.add`);
the CLI's ``choices=`` and the sweep file's validation read the names from
here, so nothing else lists them.
"""

from __future__ import annotations

from typing import Generic, Iterator, TypeVar

from experiments.errors import UserError

__all__ = ["Registry"]

T = TypeVar("T")


class Registry(Generic[T]):
    """Entries by name, in registration order."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, T] = {}

    def add(self, name: str, entry: T) -> T:
        """Register ``entry`` under ``name`` (a name can be registered once)."""
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} is registered twice")
        self._entries[name] = entry
        return entry

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def get(self, name: str, flag: str | None = None) -> T:
        """The entry called ``name``; a one-line UserError naming ``flag`` and the choices otherwise."""
        if name not in self._entries:
            where = f"{flag} {name!r}" if flag else f"{self.what} {name!r}"
            raise UserError(f"{where}: expected one of {', '.join(self._entries)}")
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[T]:
        return iter(self._entries.values())

    def __len__(self) -> int:
        return len(self._entries)
