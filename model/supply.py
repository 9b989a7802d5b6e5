"""The supply phase of a quarter: partnerships form, inputs flow, output follows.

Called by ``ChipModel.supply_chain`` (docs/ODD.md §3.6; §7.8-7.10, §7.20).  Buyers are
(firm, fab segment) pairs with operating capacity; each needs every input
segment u with a[d, u] > 0.  Inputs before the fab in the chain (materials,
equipment) are ordered against the planned output; packaging then processes
the chips actually made, so an upstream shortfall propagates downstream.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import network
from .scenario import SEGMENTS
from .sites import OPERATING

if TYPE_CHECKING:
    from .model import ChipModel

__all__ = ["operating_capacity", "form_partnerships", "review_partnerships", "flows", "link_attributes"]


def operating_capacity(m: ChipModel) -> np.ndarray:
    """Operating capacity (kwpm) as a firm × segment matrix."""
    s = m.sites
    op = s.col("status") == OPERATING
    out = np.zeros((len(m.firm_list), len(SEGMENTS)))
    np.add.at(out, (s.col("firm")[op], s.col("segment")[op]), s.col("capacity")[op])
    return out


def available_capacity(m: ChipModel) -> np.ndarray:
    """Operating capacity able to run this quarter (outages removed), firm × segment."""
    s = m.sites
    op = s.col("status") == OPERATING
    avail = m.events.availability() if hasattr(m, "events") else np.ones(s.n)
    out = np.zeros((len(m.firm_list), len(SEGMENTS)))
    np.add.at(out, (s.col("firm")[op], s.col("segment")[op]), (s.col("capacity") * avail)[op])
    return out


def location_shares(m: ChipModel) -> np.ndarray:
    """Share of each firm-segment's operating capacity located in each country (firm × segment × country)."""
    s = m.sites
    op = s.col("status") == OPERATING
    n_f, n_s, n_c = len(m.firm_list), len(SEGMENTS), len(m.geo.countries)
    out = np.zeros((n_f, n_s, n_c))
    np.add.at(out, (s.col("firm")[op], s.col("segment")[op], m.geo.country[s.col("region")[op]]), s.col("capacity")[op])
    tot = out.sum(axis=2, keepdims=True)
    return np.divide(out, tot, out=np.zeros_like(out), where=tot > 0)


def link_block(m: ChipModel, shares: np.ndarray, restriction: np.ndarray, buyer: np.ndarray, bseg: np.ndarray,
               supplier: np.ndarray, useg: np.ndarray) -> np.ndarray:
    """Share of each link's deliveries blocked by restrictions between the countries
    where the supplier produces and where the buyer uses them."""
    if not restriction.any() or len(buyer) == 0:
        return np.zeros(len(buyer))
    s_sup = shares[supplier, useg]                       # link × exporter
    s_buy = shares[buyer, bseg]                          # link × importer
    r = np.moveaxis(restriction[:, :, useg], 2, 0)       # link × exporter × importer
    return np.clip(np.einsum("le,lei,li->l", s_sup, r, s_buy), 0.0, 1.0)


def _main_region(m: ChipModel) -> np.ndarray:
    """Each firm's region with the most live capacity (its headquarters' proxy)."""
    s = m.sites
    n_f = len(m.firm_list)
    live = s.col("status") != 2
    key = s.col("firm")[live] * m.geo.n + s.col("region")[live]
    cap = np.bincount(key, weights=s.col("capacity")[live], minlength=n_f * m.geo.n).reshape(n_f, m.geo.n)
    return cap.argmax(axis=1)


def link_attributes(m: ChipModel, buyer: np.ndarray, supplier: np.ndarray, input_seg: np.ndarray,
                    main_region: np.ndarray) -> dict[str, np.ndarray]:
    """Attributes of (buyer, supplier) links that partner choice and flows use."""
    cb = m.firm_home[buyer]
    cs = m.firm_home[supplier]
    exposure = network.link_exposure(cs, cb, m.geo.country_bloc, m.spec.network.ally_licence_exposure,
                                     m.harmonised, m.harmonise_strength)
    cross = cs != cb
    tariff = m.tariff_matrix[cb, cs]               # importer (buyer) × exporter (supplier)
    cost = m.firm_unit_cost[supplier, input_seg] / m.base_price[input_seg] * (1.0 + tariff)
    dist = m.geo.distance[main_region[buyer], main_region[supplier]]
    return {"exposure": exposure, "cross": cross, "cost": cost, "distance": dist,
            "trust0": m.country_trust[cb, cs]}


def committed_load(m: ChipModel, cap: np.ndarray) -> np.ndarray:
    """Input each supplier is expected to deliver to its partners (firm × segment, kwpm-eq):
    a buyer's need at target utilisation split over its partners for that input."""
    book = m.partners
    n_f, n_s = cap.shape
    act = np.flatnonzero(book.active)
    load = np.zeros((n_f, n_s))
    if len(act) == 0:
        return load
    b, d, u, g = book.buyer[act], book.buyer_segment[act], book.input[act], book.supplier[act]
    key = (b * n_s + d) * n_s + u
    n_links = np.bincount(key, minlength=n_f * n_s * n_s)[key]
    need = m.coef[d, u] * cap[b, d] * m.spec.params.target_utilisation / n_links
    np.add.at(load, (g, u), need)
    return load


def _choose(m: ChipModel, buyer: np.ndarray, input_seg: np.ndarray, cap: np.ndarray,
            main_region: np.ndarray, incumbent: np.ndarray | None = None,
            incumbent_trust: np.ndarray | None = None, spare: np.ndarray | None = None) -> np.ndarray:
    """Pick one supplier per request by a logit over sampled candidates (−1 if none).

    Candidates are drawn in proportion to spare capacity (capacity not yet
    promised to partners, at least 5% of capacity), so bigger and less
    committed suppliers are considered more often; the buyer itself and, on
    review, the incumbent keep out of the sample; the incumbent competes
    with its switching cost.
    """
    if spare is None:
        spare = np.maximum(cap - committed_load(m, cap), 0.05 * cap)
    net = m.spec.network
    k = net.candidates
    n = len(buyer)
    out = np.full(n, -1, dtype=np.int64)
    uniforms = m.rng.random((n, k))
    gumbel = m.rng.gumbel(size=(n, k + 1))
    keep = m.ip_keep
    weights = (net.w_technology, net.w_price, net.w_trust, net.w_distance, net.w_export_control, net.w_ip)
    for u in np.unique(input_seg):
        rows = np.flatnonzero(input_seg == u)
        pool = spare[:, u]
        if pool.sum() <= 0:
            continue
        cand = network.sample_candidates(pool, uniforms[rows])                   # rows × k
        b = np.repeat(buyer[rows], k)
        c = cand.ravel()
        attrs = link_attributes(m, b, c, np.full(len(c), u), main_region)
        exposure = np.maximum(attrs["exposure"], _blocked(m, b, c, u))
        util = network.partner_utility(m.tech[c], attrs["cost"], attrs["trust0"], attrs["distance"],
                                       exposure, network.ip_exposure(attrs["cross"], keep),
                                       weights).reshape(len(rows), k)
        util[cand == buyer[rows][:, None]] = -np.inf
        if incumbent is not None:
            inc = incumbent[rows]
            util[cand == inc[:, None]] = -np.inf
            ia = link_attributes(m, buyer[rows], inc, np.full(len(rows), u), main_region)
            inc_exposure = np.maximum(ia["exposure"], _blocked(m, buyer[rows], inc, u))
            inc_util = network.partner_utility(m.tech[inc], ia["cost"], incumbent_trust[rows], ia["distance"],
                                               inc_exposure, network.ip_exposure(ia["cross"], keep), weights)
            switching = net.switching_cost * np.where(
                m.standard_members[m.firm_home[buyer[rows]]] & m.standard_members[m.firm_home[inc]],
                1.0 - m.standards_reduction, 1.0)
            util = np.column_stack([inc_util + switching, util])
            choice = network.gumbel_choice(util, net.partner_logit_scale, gumbel[rows, : k + 1])
            pick = np.where(choice == 0, inc, cand[np.arange(len(rows)), np.maximum(choice - 1, 0)])
        else:
            choice = network.gumbel_choice(util, net.partner_logit_scale, gumbel[rows, :k])
            pick = cand[np.arange(len(rows)), choice]
            pick = np.where(np.isfinite(util[np.arange(len(rows)), choice]), pick, -1)
        out[rows] = pick
    return out


def _blocked(m: ChipModel, buyer: np.ndarray, supplier: np.ndarray, u: int) -> np.ndarray:
    """Blocked share of candidate links now, and, for buyers with visibility, soon.

    The buyer's segment is taken as its largest fab segment (restrictions are
    rarely segment-specific on the buyer's side)."""
    if not hasattr(m, "events"):
        return np.zeros(len(buyer))
    shares = m.location_share
    bseg = m.main_fab_segment[buyer]
    useg = np.full(len(buyer), u)
    block = link_block(m, shares, m.events.restriction, buyer, bseg, supplier, useg)
    if m.visible.any() and m.upcoming.any():
        soon = link_block(m, shares, m.upcoming, buyer, bseg, supplier, useg)
        block = np.where(m.visible[buyer], np.maximum(block, soon), block)
    return block


def form_partnerships(m: ChipModel, cap: np.ndarray, main_region: np.ndarray) -> int:
    """Give every buyer its target number of suppliers per input; returns how many formed."""
    book = m.partners
    n_s = len(SEGMENTS)
    n_f = len(m.firm_list)
    target = m.spec.network.sources_per_input
    act = book.active
    key = (book.col("buyer")[act] * n_s + book.col("buyer_segment")[act]) * n_s + book.col("input")[act]
    have = np.bincount(key, minlength=n_f * n_s * n_s).reshape(n_f, n_s, n_s)
    need = np.zeros_like(have)
    fab = np.flatnonzero(m.fab_mask)
    load = committed_load(m, cap)
    spare = np.maximum(cap - load, 0.0)
    tu = m.spec.params.target_utilisation
    for d in fab:
        buyers = cap[:, d] > 0
        for u in np.flatnonzero(m.coef[d] > 0):
            # Large buyers spread their need over as many suppliers as it takes
            # to cover it with a typical supplier's spare capacity.
            n_sup = int((cap[:, u] > 0).sum())
            typical = spare[:, u].sum() / n_sup if n_sup else 0.0
            want = m.coef[d, u] * cap[buyers, d] * tu
            sources = np.where(typical > 0, np.ceil(want / max(typical, 1e-9)), target)
            sources = np.clip(sources, target, min(m.spec.network.max_sources, max(n_sup - 1, target)))
            need[buyers, d, u] = np.maximum(sources.astype(np.int64) - have[buyers, d, u], 0)
    f_idx, d_idx, u_idx = np.nonzero(need)
    reps = need[f_idx, d_idx, u_idx]
    f_idx, d_idx, u_idx = np.repeat(f_idx, reps), np.repeat(d_idx, reps), np.repeat(u_idx, reps)
    if len(f_idx) == 0:
        return 0
    # Requests are served in a few rounds in random order, so that suppliers
    # chosen early show less spare capacity to later buyers.
    order = m.rng.permutation(len(f_idx))
    f_idx, d_idx, u_idx = f_idx[order], d_idx[order], u_idx[order]
    pick = np.full(len(f_idx), -1, dtype=np.int64)
    rounds = 4 if len(f_idx) > 64 else 1
    for part in np.array_split(np.arange(len(f_idx)), rounds):
        spare = np.maximum(cap - load, 0.05 * cap)
        pick[part] = _choose(m, f_idx[part], u_idx[part], cap, main_region, spare=spare)
        ok_p = pick[part] >= 0
        np.add.at(load, (pick[part][ok_p], u_idx[part][ok_p]),
                  m.coef[d_idx[part][ok_p], u_idx[part][ok_p]] * cap[f_idx[part][ok_p], d_idx[part][ok_p]]
                  * m.spec.params.target_utilisation / m.spec.network.sources_per_input)
    # (the load estimate per new link is rough; committed_load recomputes it exactly next time)
    ok = pick >= 0
    # A buyer does not take the same supplier twice for one input.
    existing = set(zip(book.col("buyer")[act].tolist(), book.col("buyer_segment")[act].tolist(),
                       book.col("input")[act].tolist(), book.col("supplier")[act].tolist()))
    keep = np.zeros(len(pick), dtype=bool)
    for i in np.flatnonzero(ok):
        k = (int(f_idx[i]), int(d_idx[i]), int(u_idx[i]), int(pick[i]))
        if k not in existing:
            existing.add(k)
            keep[i] = True
    if not keep.any():
        return 0
    trust0 = m.country_trust[m.firm_home[f_idx[keep]], m.firm_home[pick[keep]]]
    book.add_many(f_idx[keep], d_idx[keep], u_idx[keep], pick[keep], trust0, m.steps)
    return int(keep.sum())


def review_partnerships(m: ChipModel, cap: np.ndarray, main_region: np.ndarray) -> int:
    """End partnerships that lost their supplier or trust; review a random few (switching costs)."""
    book = m.partners
    net = m.spec.network
    act = np.flatnonzero(book.active)
    if len(act) == 0:
        return 0
    gone = (cap[book.supplier[act], book.input[act]] <= 0) | (cap[book.buyer[act], book.buyer_segment[act]] <= 0) \
        | (book.trust[act] < net.break_trust)
    # Firms with visibility see scheduled disruptions of their suppliers coming
    # and switch ahead of them (ODD 7.20).
    if hasattr(m, "events") and m.visible.any() and m.upcoming.any():
        vis = m.visible[book.buyer[act]]
        soon = link_block(m, m.location_share, m.upcoming, book.buyer[act], book.buyer_segment[act],
                          book.supplier[act], book.input[act])
        gone |= vis & (soon > 0.5)
    book.end_step[act[gone]] = m.steps
    act = act[~gone]
    review = act[m.rng.random(len(act)) < net.review_probability]
    switched = 0
    if len(review):
        pick = _choose(m, book.buyer[review], book.input[review], cap, main_region,
                       incumbent=book.supplier[review], incumbent_trust=book.trust[review])
        change = (pick >= 0) & (pick != book.supplier[review])
        # A buyer does not switch to a supplier it already holds for that input.
        held = set(zip(book.col("buyer")[act].tolist(), book.col("buyer_segment")[act].tolist(),
                       book.col("input")[act].tolist(), book.col("supplier")[act].tolist()))
        for j in np.flatnonzero(change):
            i = review[j]
            base = (int(book.buyer[i]), int(book.buyer_segment[i]), int(book.input[i]))
            if (*base, int(pick[j])) in held:
                change[j] = False
            else:
                held.discard((*base, int(book.supplier[i])))
                held.add((*base, int(pick[j])))
        old = review[change]
        if len(old):
            book.end_step[old] = m.steps
            trust0 = m.country_trust[m.firm_home[book.buyer[old]], m.firm_home[pick[change]]]
            book.add_many(book.buyer[old].copy(), book.buyer_segment[old].copy(), book.input[old].copy(),
                          pick[change], trust0, m.steps)
            switched = len(old)
    return int(gone.sum()) + switched


def flows(m: ChipModel, cap: np.ndarray, plan: np.ndarray, main_region: np.ndarray) -> np.ndarray:
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
    book = m.partners
    net = m.spec.network
    n_f, n_s = cap.shape
    act = np.flatnonzero(book.active)
    for col in ("ordered", "delivered"):
        getattr(book, col)[: book.n] = 0.0
    book.disrupted[: book.n] = False
    output = np.zeros_like(cap)
    remaining = cap.copy()                        # supplier capacity left this quarter
    stage_out = plan.copy()
    fab = np.flatnonzero(m.fab_mask)
    buyer, bseg, useg, sup = (book.buyer[act], book.buyer_segment[act], book.input[act], book.supplier[act])
    key = (buyer * n_s + bseg) * n_s + useg
    attrs = link_attributes(m, buyer, sup, useg, main_region)
    disrupted = m.rng.random(len(act)) < net.disruption_probability * attrs["exposure"]
    loss = (1.0 - net.licence_friction * attrs["exposure"]) * np.where(disrupted, 1.0 - net.disruption_severity, 1.0)
    book.disrupted[act] = disrupted
    # Export restrictions and blockades cut links; alternative routes carry part
    # of a cut link's deliveries at an extra logistics cost (ODD 7.20).
    res = m.spec.resilience
    restriction = m.events.restriction if hasattr(m, "events") else np.zeros((1, 1, n_s))
    shares = m.location_share
    block = link_block(m, shares, restriction, buyer, bseg, sup, useg)
    loss = loss * (1.0 - block * (1.0 - res.reroute_share))
    rerouted_share = block * res.reroute_share
    m.extra_opex[:] = 0.0
    spot_total = 0.0
    for before in (True, False):                  # inputs before the fab, then packaging after it
        pairs = [(d, u) for d in fab for u in np.flatnonzero(m.coef[d] > 0) if (u < d) == before]
        if not pairs:
            continue
        need = np.zeros((n_f, n_s, n_s))
        for d, u in pairs:
            need[:, d, u] = m.coef[d, u] * stage_out[:, d]
        got = np.zeros_like(need)
        # Round 1: partnerships.  A buyer first orders from its suppliers in
        # proportion to their capacity, then re-orders what is missing from
        # those of them with capacity left (second sourcing at work).
        idx = np.flatnonzero((useg < bseg) == before)
        if len(idx):
            k = key[idx]
            skey = sup[idx] * n_s + useg[idx]
            for weight_of in (cap, remaining):
                w = np.maximum(weight_of[sup[idx], useg[idx]], 0.0)
                denom = np.bincount(k, weights=w, minlength=n_f * n_s * n_s)[k]
                missing = np.maximum(need.ravel()[k] - got.ravel()[k], 0.0)
                orders = missing * np.divide(w, denom, out=np.zeros_like(w), where=denom > 0)
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
                    cost = rerouted * m.base_price[useg[idx]] * res.reroute_cost * 3000 / 1e9   # USD bn
                    np.add.at(m.extra_opex, buyer[idx], cost)
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
                    stage_out[:, d], got[:, d, inputs], np.broadcast_to(m.coef[d, inputs], (n_f, len(inputs))))
        if before and hasattr(m, "events") and m.events.blockade.any():
            # Chips made in a blockaded country reach only its own market.
            lost = np.einsum("fdc,c->fd", shares, m.events.blockade * (1.0 - m.gov_market))
            stage_out[:, fab] *= 1.0 - np.clip(lost[:, fab], 0.0, 1.0)
    output[:, fab] = stage_out[:, fab]
    m.spot_deliveries = spot_total
    return output
