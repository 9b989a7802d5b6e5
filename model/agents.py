"""Agents: Mesa views over the world's state.

Firms, governments, research institutes and the joint fund are Mesa agents
so that Mesa's tools (``AgentSet``, SolaraViz, ``batch_run``) see them; their
state lives in :class:`~model.world.World` (arrays for firms, one state
object per government, institute and fund), where the phases read and write
it in vectorised passes.  An agent's attributes are read through to that state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa

from .queries import firm_technology

if TYPE_CHECKING:
    from .model import ChipModel
    from .world import FundState, GovernmentState, InstituteState

__all__ = ["Firm", "Government", "Institute", "JointFund"]


class Firm(mesa.Agent):
    """A chipmaker or supplier: home country, sites, cash, risk aversion (row ``idx`` of the world's arrays)."""

    model: ChipModel

    def __init__(self, model: ChipModel, idx: int) -> None:
        super().__init__(model)
        self.idx = idx

    @property
    def _w(self):
        return self.model.world

    @property
    def firm_id(self) -> str:
        return self._w.firms.ids[self.idx]

    @property
    def name(self) -> str:
        return self._w.firms.names[self.idx]

    @property
    def kind(self) -> str:
        """named, aggregate or generated"""
        return self._w.firms.kind[self.idx]

    @property
    def home(self) -> int:
        """Home country number."""
        return int(self._w.firms.home[self.idx])

    @property
    def home_code(self) -> str:
        return self._w.geo.countries[self.home]

    @property
    def risk_aversion(self) -> float:
        return float(self._w.firms.risk_aversion[self.idx])

    @property
    def cash(self) -> float:
        return float(self._w.ledger.cash[self.idx])

    @property
    def debt(self) -> float:
        return float(self._w.ledger.debt[self.idx])

    @property
    def technology(self) -> float:
        """Its segment levels weighted by its live capacity per segment (:func:`model.queries.firm_technology`)."""
        return float(firm_technology(self._w)[self.idx])

    @property
    def technology_by_segment(self) -> dict[str, float]:
        """Its technology level in each segment (docs/ODD.md §5.5)."""
        return dict(zip(self._w.segments.ids, self._w.chain.tech[self.idx].tolist()))

    def sites(self) -> list[int]:
        """Numbers of all of this firm's sites (any status)."""
        return self._w.firms.sites[self.idx]


class _View(mesa.Agent):
    """An agent whose attributes read (and write) through to a state object."""

    def __init__(self, model: ChipModel, state: Any) -> None:
        super().__init__(model)
        object.__setattr__(self, "state", state)

    def __getattr__(self, name: str) -> Any:
        if name == "state":
            raise AttributeError(name)
        return getattr(self.state, name)


class Government(_View):
    """One country's government (a view over its :class:`~model.world.GovernmentState`):
    subsidies with conditions, tax credits, tariffs."""

    state: GovernmentState


class Institute(_View):
    """A public research institute (AIST, RIKEN, KAIST, ETRI) that hosts joint projects
    and exchanges researchers between the partners (a view over its ``InstituteState``)."""

    state: InstituteState


class JointFund(_View):
    """A partnership fund (e.g. the Japan–Korea Future Partnership Fund) that pays for
    joint research projects, lump-sum or stage-gated (a view over its ``FundState``)."""

    state: FundState
