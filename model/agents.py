"""Agents: firms that choose where to build, governments that pay for it.

Firm money (cash, debt) lives in the model's arrays so that production and
accounting are one vectorised pass over all firms; the agent exposes it as
attributes.  A firm's decision to invest in a segment is triggered by the
model (``ChipModel.firms_invest``); the firm then chooses where, by the
conditional logit of ``model.decisions``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from . import decisions
from .scenario import Conditions

if TYPE_CHECKING:
    from .model import ChipModel

__all__ = ["Firm", "Government"]


class Firm(mesa.Agent):
    """A chipmaker or supplier: home country, sites, cash, risk aversion."""

    model: ChipModel

    def __init__(self, model: ChipModel, idx: int, firm_id: str, name: str, home: int,
                 kind: str, risk_aversion: float) -> None:
        super().__init__(model)
        self.idx = idx              # row in the model's firm arrays
        self.firm_id = firm_id
        self.name = name or firm_id
        self.home = home            # country number
        self.kind = kind            # named, aggregate or generated
        self.risk_aversion = risk_aversion

    # Money lives in the model's ledger arrays.
    @property
    def cash(self) -> float:
        return float(self.model.cash[self.idx])

    @property
    def debt(self) -> float:
        return float(self.model.debt[self.idx])

    @property
    def home_code(self) -> str:
        return self.model.geo.countries[self.home]

    def sites(self) -> list[int]:
        """Numbers of this firm's live (not offline) sites."""
        return self.model.firm_sites[self.idx]

    def invest(self, segment: int) -> dict[str, Any]:
        """Choose a region for one project in ``segment`` and start it.

        Returns the record of the decision for the ``investments`` table.
        """
        m = self.model
        inputs, grant, capex = m.location_inputs(self, segment)
        terms = decisions.location_terms(inputs, m.spec.params.coordination_spread)
        contrib, v = decisions.location_utility(terms, m.term_weights)
        p = decisions.logit_probabilities(v, m.spec.params.logit_scale, inputs.allowed)
        r = decisions.sample_choice(p, m.random.random())
        site = m.start_project(self, segment, r, capex=capex, grant=float(grant[r]),
                               expansion=bool(inputs.has_site[r]))
        best_other = r
        if len(v) > 1:
            vr = v[r]
            v[r] = -np.inf
            best_other = int(np.argmax(v))
            v[r] = vr
        record: dict[str, Any] = {
            "firm": self.firm_id,
            "home": self.home_code,
            "segment": m.segment_ids[segment],
            "region": m.geo.ids[r],
            "country": m.geo.countries[m.geo.country[r]],
            "site": site,
            "expansion": bool(inputs.has_site[r]),
            "capacity": float(m.sites.capacity[site]),
            "capex": capex,
            "subsidy_committed": float(grant[r]),
            "probability": float(p[r]),
            "utility": float(v[r]),
            "rejected_region": m.geo.ids[best_other],
            "rejected_utility": float(v[best_other]),
        }
        # Term contributions stay arrays here; records.py spreads them into columns.
        record["chosen_terms"] = contrib[:, r].copy()
        record["rejected_terms"] = contrib[:, best_other].copy()
        return record


class Government(mesa.Agent):
    """One country's government: subsidies with conditions, tax credits, tariffs.

    ``budget`` is money not yet paid out; ``outstanding`` is the part of it
    already promised to projects.  A government commits at most what is
    available (budget − outstanding), so it never pays beyond its budget.
    """

    model: ChipModel

    def __init__(self, model: ChipModel, cidx: int, code: str, name: str, bloc: str,
                 subsidy_rate: float, budget: float, annual_budget: float, tax_credit: float,
                 tariff: float, tariff_exempt: list[str], market_share: float,
                 conditions: Conditions) -> None:
        super().__init__(model)
        self.cidx = cidx
        self.code = code
        self.name = name or code
        self.bloc = bloc
        self.subsidy_rate = subsidy_rate
        self.budget = budget
        self.annual_budget = annual_budget
        self.tax_credit = tax_credit
        self.tariff = tariff
        self.tariff_exempt = list(tariff_exempt)
        self.market_share = market_share
        self.conditions = conditions
        self.outstanding = 0.0       # USD bn promised, not yet paid
        self.paid_total = 0.0        # USD bn paid since the start
        self.tax_credit_total = 0.0  # USD bn of tax credits granted
        self.appropriated_total = 0.0

    @property
    def available(self) -> float:
        """Budget not yet promised (USD bn)."""
        return max(self.budget - self.outstanding, 0.0)

    @property
    def condition_cost(self) -> float:
        """Flat cost of the conditions, as a share of capex."""
        return self.conditions.flat_cost()

    def set_policy(self) -> None:
        """Quarterly policy: the year's appropriation arrives in quarterly parts.

        Adaptive subsidy targets and tightening conditions are a later
        mechanism (issue: government policy rules); they act here.
        """
        top_up = self.annual_budget / 4.0
        self.budget += top_up
        self.appropriated_total += top_up

    def commit(self, amount: float) -> float:
        """Promise up to ``amount`` to a project; returns what was promised."""
        granted = min(max(amount, 0.0), self.available)
        self.outstanding += granted
        return granted

    def pay(self, amount: float) -> None:
        """Pay out part of what was promised."""
        if amount > self.outstanding + 1e-9 or amount > self.budget + 1e-9:
            raise RuntimeError(f"government {self.code}: payment {amount} exceeds its commitments")
        self.outstanding = max(self.outstanding - amount, 0.0)
        self.budget = max(self.budget - amount, 0.0)
        self.paid_total += amount
