"""ODD 3.5 — construction: capex spent, subsidy milestones paid, delays, completion."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..queries import labour_shortage
from ..sites import BUILDING, OPERATING, leading_edge_allowed
from .base import phase

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

#: Flows this phase starts the quarter with (accounting sets the others).
_RESET = ("capex", "subsidy", "tax_credit")


@phase("construction", "3.5", reads=("segments", "geo", "firms", "events", "chain", "clock"),
       writes=("sites", "policy", "ledger", "counters"))
def advance_construction(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Spend capex on projects, pay subsidy milestones, complete projects.

    Starts the quarter's capex, subsidy and tax-credit flows at zero.
    """
    s = w.sites
    flows = w.ledger.flows
    for k in _RESET:
        flows[k] = np.zeros(w.firms.n)
    building = np.flatnonzero(s.col("status") == BUILDING)
    w.counters.quarter_delays = 0
    if len(building) == 0:
        return
    t = w.clock.step
    _delays(w, sc, rng, building, t)
    start = s.start_step[building]
    in_model = start >= 0
    online = s.online_step[building]
    duration = np.maximum(online - start, 1)
    completes = online <= t
    # Capex: evenly over the construction quarters; the rest on completion.
    remaining = s.capex_total[building] - s.capex_spent[building]
    spend = np.where(in_model, np.where(completes, remaining, np.minimum(s.capex_total[building] / duration,
                                                                        remaining)), 0.0)
    s.capex_spent[building] += spend
    np.add.at(flows["capex"], s.firm[building], spend)
    # Milestones: start (first quarter), midpoint, completion.
    progress = np.where(in_model, (t - start + 1) / duration, 0.0)
    reached = np.where(completes, 3, np.where(progress >= 0.5, 2, np.where(in_model, 1, 0)))
    _pay_milestones(w, sc, building, reached)
    _complete(w, building[completes])


def _delays(w: World, sc: Scenario, rng: np.random.Generator, building: np.ndarray, t: int) -> None:
    """Projects started in the model slip a quarter under skilled-labour shortages
    (announced sites keep their announced dates), and under immigration
    enforcement against their firm's home country in the host region (ODD 7.6)."""
    s = w.sites
    in_model = s.start_step[building] >= 0
    shortage = labour_shortage(w)[s.region[building]]
    slip = in_model & (s.online_step[building] > t) & \
        (rng.random(len(building)) < sc.params.shortage_delay * shortage)
    for home, host, mag in w.events.immigration:
        hit = (w.firms.home[s.firm[building]] == home) & host[s.region[building]] \
            & (s.online_step[building] > t) & ~slip
        slip |= hit & (rng.random(len(building)) < mag)
    s.online_step[building[slip]] += 1
    w.counters.quarter_delays = int(slip.sum())
    w.counters.total_delays += w.counters.quarter_delays


def _pay_milestones(w: World, sc: Scenario, building: np.ndarray, reached: np.ndarray) -> None:
    """Pay the tranches of the milestones reached since the last payment."""
    s = w.sites
    shares = np.cumsum([0.0, *sc.params.milestone_shares])
    due = reached > s.milestones_paid[building]
    if not due.any():
        return
    idx = building[due]
    tranche = (shares[reached[due]] - shares[s.milestones_paid[idx]]) * s.subsidy_committed[idx]
    tranche = np.minimum(tranche, s.subsidy_committed[idx] - s.subsidy_paid[idx])
    s.subsidy_paid[idx] += tranche
    s.milestones_paid[idx] = reached[due]
    govs = w.policy.governments
    per_gov = np.bincount(s.gov[idx][s.gov[idx] >= 0], weights=tranche[s.gov[idx] >= 0], minlength=len(govs))
    for g in govs:
        if per_gov[g.cidx] > 0:
            g.pay(float(per_gov[g.cidx]))
    np.add.at(w.ledger.flows["subsidy"], s.firm[idx], tranche)


def _complete(w: World, done: np.ndarray) -> None:
    """Completed sites operate from now on; the host country grants the tax credit on the capex.

    A site started in the model is leading-edge if its firm's technology in
    the site's segment now reaches the segment's ``leading_edge_threshold`` (announced sites keep the
    flag of the scenario).
    """
    if len(done) == 0:
        return
    s = w.sites
    s.status[done] = OPERATING
    new = done[s.start_step[done] >= 0]
    s.leading_edge[new] = leading_edge_allowed(w.chain.tech[s.firm[new], s.segment[new]],
                                               w.segments.le_threshold[s.segment[new]])
    w.counters.completed_capacity_total += float(s.capacity[done][s.start_step[done] >= 0].sum())
    credit = s.tax_credit[done] * s.capex_total[done]
    np.add.at(w.ledger.flows["tax_credit"], s.firm[done], credit)
    host = w.geo.country[s.region[done]]
    hosts = set(host.tolist())
    for g in w.policy.governments:
        if g.cidx in hosts:                     # (an absent host would add 0.0)
            g.tax_credit_total += float(credit[host == g.cidx].sum())


PHASE = advance_construction
