"""Running many models: single runs to disk, figures, the ``kyoso`` command."""

from .runner import UserError, run_scenario, summary, write_run

__all__ = ["UserError", "run_scenario", "write_run", "summary"]
