"""The teaching dashboard (Mesa SolaraViz): ``kyoso dashboard`` serves :data:`APP`.

``app.py`` follows Mesa's convention (a module-level ``page``) and is run by
``solara run experiments/dashboard/app.py``; this package file imports
nothing from it, so the CLI can find the page without the ``viz`` extra.
"""

from pathlib import Path

__all__ = ["APP"]

#: The file ``solara run`` serves.
APP = Path(__file__).resolve().parent / "app.py"
