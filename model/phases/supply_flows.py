"""Deliveries of the supply phase (ODD 3.6, §7.10, §7.20): orders, rationing, the spot market, output.

Inputs before the fab in the chain (materials, equipment) are ordered
against the planned output; packaging then processes the chips actually
made, so an upstream shortfall propagates downstream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import network
from .supply_partners import link_attributes, link_block

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["flows"]


def flows(w: World, sc: Scenario, rng: np.random.Generator, cap: np.ndarray, plan: np.ndarray, main_region: np.ndarray) -> np.ndarray:
    """Orders, rationing and deliveries; returns output (firm × segment).

    Two rounds per stage.  Partnerships first: a buyer splits what it needs
    over its suppliers in proportion to their capacity; suppliers ration
    proportionally; exposed links lose deliveries to licence delays and
    disruptions.  Then the spot market: a buyer can cover ``spot_share`` of
    what is still missing from any supplier's spare capacity.  Fab output
    follows fixed proportions of what arrived; a supplier's output is what it
    shipped and arrived.  Deliveries never exceed capacity, and what is
    delivered is what is received.
    """
    book = w.chain.partners
    net = sc.network
    n_f, n_s = cap.shape
    act = np.flatnonzero(book.active)
    for col in ("ordered", "delivered"):
        getattr(book, col)[: book.n] = 0.0
    book.disrupted[: book.n] = False
    output = np.zeros_like(cap)
    remaining = cap.copy()                        # supplier capacity left this quarter
    stage_out = plan.copy()
    fab = np.flatnonzero(w.segments.fab_mask)
    buyer, bseg, useg, sup = (book.buyer[act], book.buyer_segment[act], book.input[act], book.supplier[act])
    key = (buyer * n_s + bseg) * n_s + useg
    attrs = link_attributes(w, sc, buyer, sup, useg, main_region)
    disrupted = rng.random(len(act)) < net.disruption_probability * attrs["exposure"]
    loss = (1.0 - net.licence_friction * attrs["exposure"]) * np.where(disrupted, 1.0 - net.disruption_severity, 1.0)
    book.disrupted[act] = disrupted
    # Export restrictions and blockades cut links; alternative routes carry part
    # of a cut link's deliveries at an extra logistics cost (ODD 7.20).
    res = sc.resilience
    restriction = w.events.restriction
    shares = w.chain.location_share
    block = link_block(shares, restriction, buyer, bseg, sup, useg)
    loss = loss * (1.0 - block * (1.0 - res.reroute_share))
    rerouted_share = block * res.reroute_share
    w.supply.reroute_cost[:] = 0.0
    spot_total = 0.0
    for before in (True, False):                  # inputs before the fab, then packaging after it
        pairs = [(d, u) for d in fab for u in np.flatnonzero(w.segments.coef[d] > 0) if (u < d) == before]
        if not pairs:
            continue
        need = np.zeros((n_f, n_s, n_s))
        for d, u in pairs:
            need[:, d, u] = w.segments.coef[d, u] * stage_out[:, d]
        got = np.zeros_like(need)
        # Round 1: partnerships.  A buyer first orders from its suppliers in
        # proportion to their capacity, then re-orders what is missing from
        # those of them with capacity left (second sourcing at work).
        idx = np.flatnonzero((useg < bseg) == before)
        if len(idx):
            k = key[idx]
            skey = sup[idx] * n_s + useg[idx]
            for weight_of in (cap, remaining):
                wt = np.maximum(weight_of[sup[idx], useg[idx]], 0.0)
                denom = np.bincount(k, weights=wt, minlength=n_f * n_s * n_s)[k]
                missing = np.maximum(need.ravel()[k] - got.ravel()[k], 0.0)
                orders = missing * np.divide(wt, denom, out=np.zeros_like(wt), where=denom > 0)
                shipped = network.ration(orders, skey, remaining.ravel())
                received = shipped * loss[idx]
                np.subtract.at(remaining.ravel(), skey, shipped)
                np.maximum(remaining, 0.0, out=remaining)          # float dust
                np.add.at(output.ravel(), skey, received)
                np.add.at(got.ravel(), k, received)
                book.ordered[act[idx]] += orders
                book.delivered[act[idx]] += received
                rerouted = shipped * rerouted_share[idx]
                if rerouted.any():
                    # USD bn: × KWPM_QUARTER_TO_USD_BN, written as × 3000 / 1e9 to keep 0.1's rounding.
                    cost = rerouted * w.segments.base_price[useg[idx]] * res.reroute_cost * 3000 / 1e9
                    np.add.at(w.supply.reroute_cost, buyer[idx], cost)
        # Round 2: the spot market for part of what is still missing; restrictions
        # on imports into where the buyer produces limit its access.
        spot_req = net.spot_share * np.maximum(need - got, 0.0)
        if restriction.any():
            spare_c = np.einsum("gue,gu->ue", shares, remaining)                 # segment × exporter
            tot = spare_c.sum(axis=1, keepdims=True)
            mix = np.divide(spare_c, tot, out=np.zeros_like(spare_c), where=tot > 0)
            access = 1.0 - np.einsum("ue,eiu->ui", mix, restriction)            # segment × importer
            buyer_access = np.einsum("fdi,ui->fdu", shares, access)
            spot_req = spot_req * np.clip(buyer_access, 0.0, 1.0)
        for u in {u for _, u in pairs}:
            wanted = spot_req[:, :, u].sum()
            spare = remaining[:, u].sum()
            if wanted <= 0 or spare <= 0:
                continue
            fill = min(1.0, spare / wanted)
            got[:, :, u] += spot_req[:, :, u] * fill
            ship = remaining[:, u] * (wanted * fill / spare)
            remaining[:, u] -= ship
            output[:, u] += ship
            spot_total += wanted * fill
        for d in fab:
            inputs = [u for dd, u in pairs if dd == d]
            if inputs:
                stage_out[:, d] = network.fixed_proportion_output(
                    stage_out[:, d], got[:, d, inputs], np.broadcast_to(w.segments.coef[d, inputs], (n_f, len(inputs))))
        if before and w.events.blockade.any():
            # Chips made in a blockaded country reach only its own market.
            lost = np.einsum("fdc,c->fd", shares, w.events.blockade * (1.0 - w.policy.market))
            stage_out[:, fab] *= 1.0 - np.clip(lost[:, fab], 0.0, 1.0)
    output[:, fab] = stage_out[:, fab]
    w.supply.spot_deliveries = spot_total
    return output
