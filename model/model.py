"""ChipModel: build the world, then step through the quarter's phases.

The schedule (docs/ODD.md §3), one module of ``model/phases/`` each:

1. events fire (scheduled and random shocks); firms update perceived risk
2. governments set policy (appropriations, strategic targets, conditions, tariffs)
3. demand and prices update (markets)
4. firms decide whether to invest, and where (trigger, deferral, location logit)
5. construction advances (capex spent, subsidies paid on milestones, delays)
6. supply: partnerships form and are reviewed, inputs flow, output follows
7. learning: trust, knowledge, the joint fund's projects
8. production and accounting
9. data collection (metrics row and table snapshots)
"""

from __future__ import annotations

from functools import partial
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from . import metrics
from .agents import Firm, Government, Institute, JointFund
from .build import build_world
from .phases import accounting, construction, events, invest, learning, markets, policy, supply
from .records import Recorder
from .scenario import Scenario, ScenarioError, load_scenario, quarter_label
from .world import World

__all__ = ["ChipModel"]


class ChipModel(mesa.Model):
    """Semiconductor location and investment model (one step = one quarter).

    ``ChipModel(scenario="baseline", rng=1, governments__US__subsidy_rate=0.2)``:
    ``scenario`` is a built-in name, a TOML path or a :class:`Scenario`;
    keyword overrides are dotted paths with ``__`` for dots.  The validated
    scenario is ``model.spec`` (``model.scenario`` is Mesa's own object); the
    state is ``model.world`` (:mod:`model.world`).
    """

    def __init__(self, scenario: str | Path | Scenario = "baseline", *, rng: Any = None,
                 **overrides: Any) -> None:
        if "seed" in overrides:
            raise ScenarioError(f"seed={overrides['seed']!r}: ChipModel takes rng= (an int, a numpy SeedSequence or "
                                "Generator), e.g. ChipModel('baseline', rng=3)")
        if isinstance(rng, np.integer):       # numpy integers (e.g. from a design matrix) are plain seeds
            rng = int(rng)
        super().__init__(rng=rng)
        self.spec: Scenario = load_scenario(scenario, **overrides)
        self.world: World = build_world(self.spec, self.rng)
        w = self.world
        # Agents are views over the world's arrays.
        self.firm_list = [Firm(self, i) for i in range(w.firms.n)]
        self.governments = [Government(self, g) for g in w.policy.governments]
        self.institutes = [Institute(self, i) for i in w.chain.institutes]
        self.fund = JointFund(self, w.chain.fund) if w.chain.fund is not None else None
        names = metrics.metric_names(w.geo.countries, w.geo.blocs)
        self._row: dict[str, float] = {}
        self.datacollector = _MetricsCollector(
            model_reporters={"quarter": _quarter_now, **{n: partial(_metric_value, name=n) for n in names}})
        self.recorder = Recorder()
        self.horizon = self.spec.meta.horizon
        self.running = True
        self.collect()

    def step(self) -> None:
        """One quarter, in the order of docs/ODD.md §3."""
        w, sc, rng = self.world, self.spec, self.rng
        w.clock.step = self.steps
        events.PHASE(w, sc, rng)          # 3.1  shocks start and end; firms update perceived risk
        policy.PHASE(w, sc, rng)          # 3.2  appropriations, targets, conditions, tariffs
        markets.PHASE(w, sc, rng)         # 3.3  demand, utilisation, prices
        invest.PHASE(w, sc, rng)          # 3.4  investment trigger, deferral, location choice
        construction.PHASE(w, sc, rng)    # 3.5  capex, milestone subsidies, delays, completion
        supply.PHASE(w, sc, rng)          # 3.6  partnerships, orders, rationing, deliveries
        learning.PHASE(w, sc, rng)        # 3.7  trust, knowledge, joint-fund projects
        accounting.PHASE(w, sc, rng)      # 3.8  revenue, costs, cash and debt
        self.collect()                    # 3.9  metrics and tables
        if self.steps >= self.horizon:
            self.running = False

    def run(self, quarters: int | None = None) -> ChipModel:
        """Run ``quarters`` steps (default: the scenario horizon) and return self."""
        for _ in range(self.horizon if quarters is None else quarters):
            self.step()
        return self

    def collect(self) -> None:
        """Metrics row (DataCollector) and table snapshots."""
        self._row = metrics.snapshot(self.world, self.spec)
        self.datacollector.collect(self)
        self.recorder.record(self.world)

    def quarter_of(self, step: int) -> str:
        """Calendar quarter of ``step`` ('2025Q1' for step 0 of the baseline)."""
        meta = self.spec.meta
        return quarter_label(meta.start_year, meta.start_q, step)

    def metrics(self) -> pd.DataFrame:
        """The metrics table alone: one row per step (registry in ``model.metrics``)."""
        mv = self.datacollector.get_model_vars_dataframe().reset_index(drop=True)
        mv.insert(0, "step", np.arange(len(mv)))
        return mv

    def tables(self) -> dict[str, pd.DataFrame]:
        """Tidy output tables keyed by name: metrics, sites, firms, investments, events, partnerships, trade."""
        return self.recorder.tables(self.world, self.spec, self.metrics())

    @property
    def geo(self):
        """The regions (``world.geo``)."""
        return self.world.geo

    @property
    def sites(self):
        """The site registry (``world.sites``)."""
        return self.world.sites


class _MetricsCollector(mesa.DataCollector):
    """Mesa's DataCollector for the metrics row, without its per-value ``deepcopy``: every reporter returns a
    fresh scalar or string (immutable), so a copy is the same value; the table is unchanged."""

    def collect(self, model: ChipModel) -> None:
        if not self._validated:
            for name, reporter in self.model_reporters.items():
                self._validate_model_reporter(name, reporter, model)
        if hasattr(self, "_collection_steps"):
            self._collection_steps.append(model.time)
        row, columns = model._row, self.model_vars
        for var, reporter in self.model_reporters.items():
            if isinstance(reporter, partial) and reporter.func is _metric_value:
                columns[var].append(row[reporter.keywords["name"]])     # what the reporter returns
            else:
                columns[var].append(reporter(model))


def _quarter_now(m: ChipModel) -> str:
    """The DataCollector's ``quarter`` column (a named function, so a model pickles)."""
    return m.quarter_of(m.steps)


def _metric_value(m: ChipModel, name: str) -> float:
    """One metric of the row ``collect`` computed (named, so a model pickles)."""
    return m._row[name]
