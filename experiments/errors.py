"""Errors the user can fix: the CLI reports them as one line on stderr and exits with status 2.

This module imports nothing, so that every other module of ``experiments``
can raise these without importing the model or each other.
"""

__all__ = ["UserError", "SweepError"]


class UserError(Exception):
    """An error the user can fix (reported by the CLI as one line, exit status 2)."""


class SweepError(UserError):
    """A user error in a sweep file: one line naming the field (CLI exit status 2)."""
