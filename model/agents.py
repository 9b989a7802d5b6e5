"""Agents: firms that choose where to build, governments that pay for it,
research institutes that host joint projects, and the joint fund that pays for them.

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

from .scenario import Conditions

if TYPE_CHECKING:
    from .model import ChipModel

__all__ = ["Firm", "Government", "Institute", "JointFund"]


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
        """Numbers of all of this firm's sites (any status)."""
        return self.model.firm_sites[self.idx]

    def invest(self, segment: int, region: int, *, capex: float, grant: float, expansion: bool) -> int:
        """Start a project in ``segment`` at ``region`` (chosen by the location
        logit, ``model.decisions``); returns the new site's number."""
        return self.model.start_project(self, segment, region, capex=capex, grant=grant, expansion=expansion)


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
                 conditions: Conditions, rules: Any = None) -> None:
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
        self.rules = rules           # the scenario's Government spec: target, drift, tit-for-tat
        self.tit_for_tat = bool(getattr(rules, "tit_for_tat", False))
        self.drift_added = 0.0       # share of capex added to conditions by the drift
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

    def set_policy(self, capacity_share: float = 0.0) -> None:
        """Quarterly policy (ODD 7.1, 7.19).

        The year's appropriation arrives in quarterly parts.  With a strategic
        target, the subsidy rate moves toward closing the gap between the
        target and the country's share of world fab capacity, within
        [0, max_subsidy_rate] and only while money is left.  Conditions drift
        tighter (technology transfer and data disclosure, half each) up to a cap.
        """
        top_up = self.annual_budget / 4.0
        self.budget += top_up
        self.appropriated_total += top_up
        r = self.rules
        if r is None:
            return
        if r.strategic_target is not None and self.available > 0:
            step = r.target_adjustment * (r.strategic_target - capacity_share) / 4.0
            self.subsidy_rate = float(min(max(self.subsidy_rate + step, 0.0), r.max_subsidy_rate))
        if r.condition_drift > 0 and self.drift_added < r.condition_cap:
            add = min(r.condition_drift / 4.0, r.condition_cap - self.drift_added)
            self.conditions.technology_transfer = min(1.0, self.conditions.technology_transfer + add / 2)
            self.conditions.data_disclosure = min(1.0, self.conditions.data_disclosure + add / 2)
            self.drift_added += add

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


class Institute(mesa.Agent):
    """A public research institute (AIST, RIKEN, KAIST, ETRI) that hosts joint
    projects and exchanges researchers between the partners."""

    model: ChipModel

    def __init__(self, model: ChipModel, key: str, name: str, country: int, researchers: float) -> None:
        super().__init__(model)
        self.key = key
        self.name = name or key
        self.country = country
        self.researchers = researchers
        self.projects_hosted = 0


class JointFund(mesa.Agent):
    """A partnership fund (e.g. the Japan–Korea Future Partnership Fund) that
    pays for joint research projects, lump-sum or stage-gated.

    It never pays beyond its budget: a stage starts only if its money is there.
    """

    model: ChipModel

    def __init__(self, model: ChipModel, spec: Any, members: list[int]) -> None:
        super().__init__(model)
        self.spec = spec
        self.members = members                 # country numbers
        self.budget = spec.budget              # USD bn available
        self.contributed = 0.0                 # USD bn received since the start
        self.spent = 0.0                       # USD bn paid since the start
        self.kpi_checks = 0
        self.kpi_met = 0
        self.projects: list[dict[str, Any]] = []

    @property
    def kpi_attainment(self) -> float:
        """Share of stage KPIs met so far (NaN before the first check)."""
        return self.kpi_met / self.kpi_checks if self.kpi_checks else float("nan")

    def collect_contributions(self) -> None:
        per_quarter = sum(self.spec.contributions.values()) / 4.0
        self.budget += per_quarter
        self.contributed += per_quarter

    def pay(self, amount: float) -> bool:
        """Pay ``amount`` if the budget allows it (all or nothing)."""
        if amount > self.budget + 1e-12:
            return False
        self.budget = max(self.budget - amount, 0.0)
        self.spent += amount
        return True
