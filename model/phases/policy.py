"""ODD 3.2 — governments set policy: appropriations, strategic targets, conditions, tariffs."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..metrics import shares
from ..sites import OPERATING
from .base import phase

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World


@phase("policy", "3.2", reads=("sites", "segments", "events"), writes=("policy", "geo"))
def set_policy(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Governments top up budgets, steer subsidies toward their targets and
    tighten conditions; tariffs (with tit-for-tat) come from the events; every
    region's skilled-labour pool grows by params.skilled_labour_growth (ODD 7.7)."""
    geo = w.geo
    op = w.sites.capacity_by(OPERATING, geo.n, len(w.segments.ids))[:, w.segments.fab_mask].sum(axis=1)
    share = shares(np.bincount(geo.country, weights=op, minlength=len(geo.countries)))
    for g in w.policy.governments:
        g.set_policy(float(share[g.cidx]))
    w.policy.refresh(w.events)
    geo.skilled_labour *= (1.0 + sc.params.skilled_labour_growth) ** 0.25


PHASE = set_policy
