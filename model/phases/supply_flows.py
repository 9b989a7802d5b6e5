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


def flows(w: World, sc: Scenario, rng: np.random.Generator, cap: np.ndarray, plan: np.ndarray,
          main_region: np.ndarray) -> np.ndarray:
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
    d = _Deliveries(w, sc, rng, cap, main_region)
    n_f = cap.shape[0]
    coef = w.segments.coef
    fab = np.flatnonzero(w.segments.fab_mask)
    stage_out = plan.copy()
    spot_total = 0.0
    f_all, u_all = np.nonzero(coef[fab] > 0)
    f_all = fab[f_all]
    for before in (True, False):                  # inputs before the fab, then packaging after it
        stage = (u_all < f_all) == before
        if not stage.any():
            continue
        f_p, u_p = f_all[stage], u_all[stage]     # the (fab segment, input) pairs of the stage
        need = np.zeros((n_f, d.n_s, d.n_s))
        need[:, f_p, u_p] = coef[f_p, u_p] * stage_out[:, f_p]
        got = np.zeros_like(need)
        d.partner_round(need, got, before)
        spot_total = d.spot_round(need, got, set(u_p.tolist()), spot_total)
        for f in fab.tolist():
            inputs = u_p[f_p == f]
            if len(inputs):
                stage_out[:, f] = network.fixed_proportion_output(stage_out[:, f], got[:, f, inputs], coef[f, inputs])
        if before:
            made_upstream = stage_out[:, fab].sum(axis=0)       # what materials and equipment allowed
        if before and w.events.blockade.any():
            # Chips made in a blockaded country reach only its own market.
            lost = np.einsum("fdc,c->fd", d.shares, w.events.blockade * (1.0 - w.policy.market))
            stage_out[:, fab] *= 1.0 - np.clip(lost[:, fab], 0.0, 1.0)
        if before:
            past_blockade = stage_out[:, fab].sum(axis=0)
    d.output[:, fab] = stage_out[:, fab]
    _input_share(w, plan[:, fab].sum(axis=0), made_upstream, past_blockade, stage_out[:, fab].sum(axis=0))
    w.supply.spot_deliveries = spot_total
    w.supply.trade = d.trade
    w.supply.received = d.received
    return d.output


def _input_share(w: World, plan: np.ndarray, upstream: np.ndarray, past_blockade: np.ndarray,
                 final: np.ndarray) -> None:
    """Share of the planned fab output that inputs allowed (upstream and packaging), blockade aside:
    (made with the inputs / planned) × (packaged / made past the blockade), per fab segment."""
    one = np.ones_like(plan)
    up = np.divide(upstream, plan, out=one.copy(), where=plan > 0)
    pk = np.divide(final, past_blockade, out=one.copy(), where=past_blockade > 0)
    share = np.ones(len(w.segments.ids))
    share[w.segments.fab_mask] = np.clip(up * pk, 0.0, 1.0)
    w.supply.input_share = share


class _Deliveries:
    """One quarter's deliveries: what suppliers have left, what each link loses, what arrived."""

    def __init__(self, w: World, sc: Scenario, rng: np.random.Generator, cap: np.ndarray,
                 main_region: np.ndarray) -> None:
        book = w.chain.partners
        net, res = sc.network, sc.resilience
        self.w, self.sc, self.book, self.cap = w, sc, book, cap
        self.n_f, self.n_s = cap.shape
        self.act = act = np.flatnonzero(book.active)
        for col in ("ordered", "delivered"):
            getattr(book, col)[: book.n] = 0.0
        book.disrupted[: book.n] = False
        self.output = np.zeros_like(cap)
        self.scratch = np.zeros(self.n_f * self.n_s * self.n_s)    # per (buyer, segment, input) sums
        self.remaining = cap.copy()                    # supplier capacity left this quarter
        self.home = w.firms.home
        n_c = len(w.geo.countries)
        self.trade = np.zeros((n_c, n_c, self.n_s))    # supplier home × buyer home × input, kwpm-eq received
        self.received = np.zeros((self.n_f, n_c, self.n_s))    # buyer × supplier home × input, kwpm-eq
        self.buyer, self.bseg = book.buyer[act], book.buyer_segment[act]
        self.useg, self.sup = book.input[act], book.supplier[act]
        self.key = (self.buyer * self.n_s + self.bseg) * self.n_s + self.useg
        attrs = link_attributes(w, sc, self.buyer, self.sup, self.useg, main_region)
        disrupted = rng.random(len(act)) < net.disruption_probability * attrs["exposure"]
        loss = (1.0 - net.licence_friction * attrs["exposure"]) * np.where(disrupted, 1.0 - net.disruption_severity,
                                                                             1.0)
        book.disrupted[act] = disrupted
        # Export restrictions and blockades cut links; alternative routes carry part
        # of a cut link's deliveries at an extra logistics cost (ODD 7.20).
        self.restriction = w.events.restriction
        self.shares = w.chain.location_share
        block = link_block(self.shares, self.restriction, self.buyer, self.bseg, self.sup, self.useg)
        self.loss = loss * (1.0 - block * (1.0 - res.reroute_share))
        self.rerouted_share = block * res.reroute_share
        w.supply.reroute_cost[:] = 0.0

    def partner_round(self, need: np.ndarray, got: np.ndarray, before: bool) -> None:
        """Round 1: partnerships.  A buyer first orders from its suppliers in proportion
        to their capacity, then re-orders what is missing from those of them with
        capacity left (second sourcing at work)."""
        idx = np.flatnonzero((self.useg < self.bseg) == before)
        if not len(idx):
            return
        n_s, book, remaining = self.n_s, self.book, self.remaining
        n_c = self.trade.shape[0]
        k = self.key[idx]
        sup, useg = self.sup[idx], self.useg[idx]
        skey = sup * n_s + useg
        # Flat indices into the C-ordered arrays: the same additions in the same order, far faster.
        home_sup, buyer = self.home[sup], self.buyer[idx]
        trade_key = (home_sup * n_c + self.home[buyer]) * n_s + useg
        received_key = (buyer * n_c + home_sup) * n_s + useg
        links, loss, rerouted_share = self.act[idx], self.loss[idx], self.rerouted_share[idx]
        need_k, rem, got_flat = need.ravel()[k], remaining.ravel(), got.ravel()
        for weight_of in (self.cap, remaining):
            wt = np.maximum(weight_of[sup, useg], 0.0)
            # Σ weights per (buyer, segment, input), summed in link order as a bincount would, in a scratch
            # array whose used cells are reset (a bincount over every possible cell is far slower).
            self.scratch[k] = 0.0
            np.add.at(self.scratch, k, wt)
            denom = self.scratch[k]
            missing = np.maximum(need_k - got_flat[k], 0.0)
            orders = missing * np.divide(wt, denom, out=np.zeros_like(wt), where=denom > 0)
            shipped = network.ration(orders, skey, rem)
            received = shipped * loss
            np.subtract.at(rem, skey, shipped)
            np.maximum(remaining, 0.0, out=remaining)          # float dust
            np.add.at(self.output.ravel(), skey, received)
            np.add.at(self.trade.ravel(), trade_key, received)
            np.add.at(self.received.ravel(), received_key, received)
            np.add.at(got_flat, k, received)
            book.ordered[links] += orders
            book.delivered[links] += received
            rerouted = shipped * rerouted_share
            if rerouted.any():
                # USD bn: × KWPM_QUARTER_TO_USD_BN, written as × 3000 / 1e9 to keep 0.1's rounding.
                cost = rerouted * self.w.segments.base_price[useg] * self.sc.resilience.reroute_cost * 3000 / 1e9
                np.add.at(self.w.supply.reroute_cost, buyer, cost)

    def spot_round(self, need: np.ndarray, got: np.ndarray, inputs: set[int], total: float) -> float:
        """Round 2: the spot market for part of what is still missing; restrictions on
        imports into where the buyer produces limit its access.  Returns ``total`` plus
        what it delivered."""
        remaining, shares = self.remaining, self.shares
        spot_req = need - got                               # spot_share × max(need − got, 0), in place
        np.maximum(spot_req, 0.0, out=spot_req)
        spot_req *= self.sc.network.spot_share
        if self.restriction.any():
            spare_c = np.einsum("gue,gu->ue", shares, remaining)                 # segment × exporter
            tot = spare_c.sum(axis=1, keepdims=True)
            mix = np.divide(spare_c, tot, out=np.zeros_like(spare_c), where=tot > 0)
            access = 1.0 - np.einsum("ue,eiu->ui", mix, self.restriction)       # segment × importer
            buyer_access = np.einsum("fdi,ui->fdu", shares, access)
            spot_req = spot_req * np.clip(buyer_access, 0.0, 1.0)
        for u in inputs:
            wanted = spot_req[:, :, u].sum()
            spare = remaining[:, u].sum()
            if wanted <= 0 or spare <= 0:
                continue
            fill = min(1.0, spare / wanted)
            got_u = spot_req[:, :, u].sum(axis=1) * fill              # per buyer
            got[:, :, u] += spot_req[:, :, u] * fill
            ship = remaining[:, u] * (wanted * fill / spare)
            self._spot_trade(ship, got_u, u)
            remaining[:, u] -= ship
            self.output[:, u] += ship
            total += wanted * fill
        return total

    def _spot_trade(self, ship: np.ndarray, got: np.ndarray, u: int) -> None:
        """Spot deliveries between countries: every buyer gets the sellers' mix (proportional)."""
        n_c = self.trade.shape[0]
        sold = np.bincount(self.home, weights=ship, minlength=n_c)
        bought = np.bincount(self.home, weights=got, minlength=n_c)
        if bought.sum() > 0:
            self.trade[:, :, u] += np.outer(sold, bought / bought.sum())
            self.received[:, :, u] += np.outer(got, sold / sold.sum())
