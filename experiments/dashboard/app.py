"""The kyoso teaching dashboard (Mesa SolaraViz): ``kyoso dashboard``, or
``solara run experiments/dashboard/app.py --host 127.0.0.1 --port 8765 --production --no-open``.

A scenario picker, sliders for the main levers, Step / Play / Reset, and five
panels: the quarter, the region map, capacity shares by country, partnerships
and shocks.

* **Sliders come from the scenario schema.**  :data:`LEVERS` lists the dotted
  paths once; kind, bounds, unit and description come from
  :func:`model.scenario.describe_path`, the starting value from the default
  scenario.  A path may narrow the schema's range for the classroom (the
  location weights allow 0–100), never widen it.
* **Picker and sliders together.**  On *Reset* the picked scenario is loaded;
  a slider overrides it only if it was moved from its starting value, and a
  switch only if it is set to ``on`` or ``off`` (not ``as scenario``).  The
  quarter panel lists the overrides in force.
* **One model per browser session.**  :func:`Page` builds a model for each
  session (each tab or reload) with ``solara.use_memo``; no model lives at
  module level, so tabs never step each other's model.  *Reset* builds a new
  one from the controls (Mesa's ``ModelController``).
* Plots use matplotlib (rendered to PNG on the server): Altair charts need
  vega files from a CDN and stay blank offline (see ECOSYSTEM.md).  Every
  figure is a function of :mod:`experiments.plots`.

Solara runs this file as a script with its folder first on ``sys.path``;
only absolute imports of the ``model`` and ``experiments`` packages are
used, and nothing in this folder shadows them.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
import solara  # noqa: E402
from mesa.visualization import SolaraViz, make_plot_component  # noqa: E402

from experiments.plots import (  # noqa: E402
    capacity_share_by_country,
    partnership_figure,
    region_map,
    regions_frame,
    shock_figure,
)
from model import ChipModel  # noqa: E402
from model.scenario import Scenario, builtin_scenarios, describe_path, load_scenario  # noqa: E402

__all__ = ["LEVERS", "DEFAULT_SCENARIO", "DashboardModel", "Lever", "levers", "model_params", "Page", "page"]

DEFAULT_SCENARIO = "baseline"

#: The dashboard's levers, each a dotted scenario path, optionally with a
#: classroom maximum (must lie inside the schema's bounds).
LEVERS: list[tuple[str, float | None]] = [
    ("governments.US.subsidy_rate", None),
    ("governments.JP.subsidy_rate", None),
    ("params.w_agglomeration", 5.0),
    ("params.w_risk", 20.0),
    ("regions.TW-Hsinchu.investor_risk", None),
    ("network.sources_per_input", None),
    ("cocreation.investment_protection.enabled", None),
    ("cocreation.talent.enabled", None),
    ("random_events.enabled", None),
]

SWITCH_VALUES = ["as scenario", "on", "off"]


@dataclass(frozen=True)
class Lever:
    """One dashboard control, described by the schema."""

    path: str
    kind: str            # "float", "int" or "bool"
    low: float | None
    high: float | None
    step: float | None
    start: Any           # value in the default scenario
    unit: str
    description: str

    @property
    def key(self) -> str:
        """Keyword for ChipModel (dots → ``__``)."""
        return self.path.replace(".", "__")

    @property
    def label(self) -> str:
        """Short label for the sidebar: the path without its table name
        (``governments.US.subsidy_rate`` → ``US.subsidy_rate``)."""
        parts = self.path.split(".")
        return ".".join(parts[1:]) if len(parts) > 2 or parts[-1] != "enabled" else self.path

    def override(self, value: Any) -> Any | None:
        """The override a control value asks for, or None to keep the scenario's own value."""
        if self.kind == "bool":
            return {"on": True, "off": False}.get(value)
        if value is None:
            return None
        if self.kind == "int":
            return None if int(value) == int(self.start) else int(value)
        # The slider snaps to its step grid (0.344 shows as 0.34): within half a
        # step of the starting value counts as not moved.
        return None if abs(float(value) - float(self.start)) < 0.5 * (self.step or 0) + 1e-12 else float(value)


def _nice_step(span: float) -> float:
    """A round step giving about 100 slider positions."""
    raw = span / 100
    return float(10 ** math.floor(math.log10(raw))) if raw > 0 else 0.01


def levers(scenario: str = DEFAULT_SCENARIO) -> list[Lever]:
    """:data:`LEVERS` described by the schema, starting values from ``scenario``."""
    sc = load_scenario(scenario)
    raw = sc.model_dump(mode="python")
    out = []
    for path, classroom_max in LEVERS:
        info = describe_path(path, sc)
        start: Any = raw
        for part in path.split("."):
            start = start[int(part)] if isinstance(start, list) else start[part]
        if info.kind == "bool":
            out.append(Lever(path, "bool", None, None, None, bool(start), info.unit, info.description))
            continue
        if info.kind not in ("float", "int") or info.low is None or info.high is None:
            raise ValueError(f"dashboard lever {path!r}: needs a bounded number or a switch in the schema")
        high = info.high
        if classroom_max is not None:
            if not info.low <= classroom_max <= info.high:
                raise ValueError(f"dashboard lever {path!r}: classroom maximum {classroom_max} outside the "
                                 f"schema's [{info.low}, {info.high}]")
            high = classroom_max
        step = 1.0 if info.kind == "int" else _nice_step(high - info.low)
        out.append(Lever(path, info.kind, info.low, high, step, start, info.unit, info.description))
    return out


LEVER_LIST = levers()
_BY_KEY = {lv.key: lv for lv in LEVER_LIST}


def model_params() -> dict[str, dict[str, Any]]:
    """SolaraViz ``model_params``: scenario picker, seed, then one control per lever."""
    params: dict[str, dict[str, Any]] = {
        "scenario_name": {"type": "Select", "label": "scenario", "value": DEFAULT_SCENARIO,
                          "values": list(builtin_scenarios())},
        "rng": {"type": "SliderInt", "label": "random seed", "value": 0, "min": 0, "max": 99, "step": 1},
    }
    for lv in LEVER_LIST:
        if lv.kind == "bool":
            params[lv.key] = {"type": "Select", "label": lv.label, "value": SWITCH_VALUES[0],
                              "values": SWITCH_VALUES}
        else:
            params[lv.key] = {"type": "SliderInt" if lv.kind == "int" else "SliderFloat", "label": lv.label,
                              "value": lv.start, "min": lv.low, "max": lv.high, "step": lv.step}
    return params


class DashboardModel(ChipModel):
    """ChipModel built from the dashboard's controls.

    ``scenario_name`` is the picked scenario; lever keywords carry the control
    values and only those that ask for a change become overrides (see
    :meth:`Lever.override`); other keywords pass through to ChipModel.
    ``scenario`` is ignored unless it is a kyoso scenario name or object:
    Mesa's Reset passes its own experiment ``Scenario`` there.
    """

    def __init__(self, scenario: Any = None, *, scenario_name: str = DEFAULT_SCENARIO, rng: Any = 0,
                 **controls: Any) -> None:
        if isinstance(scenario, (str, Scenario)):
            scenario_name = scenario
        overrides: dict[str, Any] = {}
        for key, value in controls.items():
            lever = _BY_KEY.get(key)
            if lever is None:
                overrides[key] = value
            elif (o := lever.override(value)) is not None:
                overrides[key] = o
        super().__init__(scenario_name, rng=rng, **overrides)
        self.scenario_name = scenario_name if isinstance(scenario_name, str) else self.spec.meta.name
        self.overrides = {k.replace("__", "."): v for k, v in overrides.items()}
        self._table_cache: tuple[int, dict[str, pd.DataFrame]] | None = None

    def dashboard_tables(self) -> dict[str, pd.DataFrame]:
        """``tables()`` computed once per quarter for all panels."""
        if self._table_cache is None or self._table_cache[0] != self.steps:
            self._table_cache = (self.steps, self.tables())
        return self._table_cache[1]


# ================================================================== panels
def _figure_image(fig) -> solara.Image:
    """The figure as a PNG image; the figure is closed (no pyplot leak per render)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80, bbox_inches="tight")
    plt.close(fig)
    return solara.Image(buf.getvalue(), format="png", width="100%")


def QuarterPanel(model: DashboardModel):
    """The current quarter, scenario and overrides in force (plain text: solara.Markdown
    would fetch KaTeX from a CDN, which fails offline)."""
    over = ", ".join(f"{k} = {v}" for k, v in model.overrides.items()) or "none"
    status = "" if model.running else " — end of the horizon (Reset to start again)"
    with solara.Column(gap="4px") as panel:
        solara.Text(f"Quarter {model.quarter_of(model.steps)}", style={"font-size": "1.6em", "font-weight": "bold"})
        solara.Text(f"step {model.steps} of {model.horizon}{status}")
        solara.Text(f"scenario: {model.scenario_name}")
        solara.Text(f"overrides in force: {over}")
        solara.Text("Sliders left at their starting value keep the scenario's own setting; "
                    "switches 'as scenario' too. Press Reset to apply the controls.")
    return panel


def RegionMapPanel(model: DashboardModel):
    """Bubble map of fab capacity by region this quarter (experiments.plots.region_map)."""
    t = model.dashboard_tables()
    fig = region_map(t["sites"], regions_frame(model), [model.steps], [model.quarter_of(model.steps)])
    return _figure_image(fig)


def CapacitySharePanel(model: DashboardModel):
    """Stacked country shares of fab capacity so far (experiments.plots.capacity_share_by_country)."""
    fig = capacity_share_by_country(model.dashboard_tables()["metrics"], model.geo.countries)
    return _figure_image(fig)


def PartnershipPanel(model: DashboardModel):
    """Japan–Korea partnerships and trust (experiments.plots.partnership_figure)."""
    return _figure_image(partnership_figure(model.dashboard_tables()["metrics"]))


def ShockPanel(model: DashboardModel):
    """Shortfall and stranded capacity with the shocks (experiments.plots.shock_figure)."""
    t = model.dashboard_tables()
    return _figure_image(shock_figure(t["metrics"], t["events"]))


def _clustering_axes(ax) -> None:
    ax.set_ylabel("index (0–1)")
    ax.set_title("Clustering index and country HHI of fab capacity")


COMPONENTS = [
    QuarterPanel,
    RegionMapPanel,
    CapacitySharePanel,
    PartnershipPanel,
    ShockPanel,
    make_plot_component({"clustering_index": "C0", "hhi_country": "C1"}, post_process=_clustering_axes,
                        backend="matplotlib"),
]


@solara.component
def Page():
    """One model per browser session, then Mesa's SolaraViz around it."""
    model = solara.use_memo(lambda: DashboardModel(scenario_name=DEFAULT_SCENARIO, rng=0), [])
    return SolaraViz(model, components=COMPONENTS, model_params=model_params(), name="kyoso")


#: What ``solara run experiments/dashboard/app.py`` renders (a component, so every session builds its own model).
page = Page
