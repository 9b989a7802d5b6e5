"""ODD 3.2 — governments set policy: appropriations, strategic targets, conditions, tariffs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..metrics import shares
from ..queries import labour_shortage
from ..sites import OPERATING
from .base import phase

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World


@phase("policy", "3.2", reads=("sites", "segments", "events", "chain"), writes=("policy", "geo"))
def set_policy(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Governments top up budgets, steer subsidies toward their targets and
    tighten conditions; tariffs (with tit-for-tat) come from the events; wages
    rise where skilled labour is short, and every region's skilled-labour pool
    grows by params.skilled_labour_growth (ODD 7.7)."""
    geo = w.geo
    op = w.sites.capacity_by(OPERATING, geo.n, len(w.segments.ids))[:, w.segments.fab_mask].sum(axis=1)
    share = shares(np.bincount(geo.country, weights=op, minlength=len(geo.countries)))
    govs = w.policy.governments
    rates = np.array([g.subsidy_rate for g in govs])       # rivals' rates as they stood at the start of the quarter
    # The highest rate of the others: the maximum of the running maxima from the left and from the right.
    none = np.array([-np.inf])
    left = np.concatenate([none, np.maximum.accumulate(rates)[:-1]])
    right = np.concatenate([np.maximum.accumulate(rates[::-1])[::-1][1:], none])
    rival = np.maximum(left, right).tolist() if len(rates) > 1 else [0.0] * len(rates)
    share_l = share.tolist()
    for g in govs:
        g.set_policy(share_l[g.cidx], rival[g.cidx])
    w.policy.refresh(w.events)
    update_wages(w, sc)
    geo.skilled_labour *= (1.0 + sc.params.skilled_labour_growth) ** 0.25


def update_wages(w: World, sc: Scenario) -> None:
    """Regional wages rise with the share of skilled-labour need the effective pool cannot
    meet (talent circulation enlarges the pool): w_r ← w_r (1 + ω · shortage_r)^(1/4),
    with ω = ``params.wage_response`` per year; wages do not fall (ODD 7.7)."""
    omega = sc.params.wage_response
    if omega <= 0:
        return
    short = labour_shortage(w)
    if short.any():
        w.geo.labour_cost *= (1.0 + omega * short) ** 0.25


PHASE = set_policy
