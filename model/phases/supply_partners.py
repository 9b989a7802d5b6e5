"""Supply partnerships (ODD 3.6, §7.8-7.9): links' attributes, partner choice, formation and review.

Buyers are (firm, fab segment) pairs with operating capacity; each needs
every input segment u with a[d, u] > 0 from ``sources`` suppliers, chosen by
a logit over candidates sampled by spare capacity.  Called by the supply phase.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import network
from ..scenario import SEGMENTS
from ..sites import LIVE

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["link_block", "link_attributes", "committed_load", "form_partnerships", "review_partnerships"]


def link_block(shares: np.ndarray, restriction: np.ndarray, buyer: np.ndarray, bseg: np.ndarray,
               supplier: np.ndarray, useg: np.ndarray) -> np.ndarray:
    """Share of each link's deliveries blocked by restrictions between the countries
    where the supplier produces and where the buyer uses them."""
    if not restriction.any() or len(buyer) == 0:
        return np.zeros(len(buyer))
    s_sup = shares[supplier, useg]                       # link × exporter
    s_buy = shares[buyer, bseg]                          # link × importer
    r = np.moveaxis(restriction[:, :, useg], 2, 0)       # link × exporter × importer
    return np.clip(np.einsum("le,lei,li->l", s_sup, r, s_buy), 0.0, 1.0)


def link_attributes(w: World, sc: Scenario, buyer: np.ndarray, supplier: np.ndarray, input_seg: np.ndarray,
                    main_region: np.ndarray) -> dict[str, np.ndarray]:
    """Attributes of (buyer, supplier) links that partner choice and flows use."""
    cb = w.firms.home[buyer]
    cs = w.firms.home[supplier]
    exposure = network.link_exposure(cs, cb, w.geo.country_bloc, sc.network.ally_licence_exposure,
                                     w.chain.levers.harmonised, w.chain.levers.harmonise_strength)
    cross = cs != cb
    tariff = w.policy.tariff[cb, cs]               # importer (buyer) × exporter (supplier)
    cost = w.chain.firm_unit_cost[supplier, input_seg] / w.segments.base_price[input_seg] * (1.0 + tariff)
    dist = w.geo.distance[main_region[buyer], main_region[supplier]]
    return {"exposure": exposure, "cross": cross, "cost": cost, "distance": dist,
            "trust0": w.chain.country_trust[cb, cs]}


def committed_load(w: World, sc: Scenario, cap: np.ndarray) -> np.ndarray:
    """Input each supplier is expected to deliver to its partners (firm × segment, kwpm-eq):
    a buyer's need at target utilisation split over its partners for that input."""
    book = w.chain.partners
    n_f, n_s = cap.shape
    act = np.flatnonzero(book.active)
    load = np.zeros((n_f, n_s))
    if len(act) == 0:
        return load
    b, d, u, g = book.buyer[act], book.buyer_segment[act], book.input[act], book.supplier[act]
    key = (b * n_s + d) * n_s + u
    count = np.zeros(n_f * n_s * n_s, dtype=np.intp)      # links per (buyer, segment, input), as a bincount
    np.add.at(count, key, 1)                               # (only the cells used are touched: faster when large)
    n_links = count[key]
    need = w.segments.coef[d, u] * cap[b, d] * sc.params.target_utilisation / n_links
    np.add.at(load.ravel(), g * n_s + u, need)          # flat index: the same additions, far faster
    return load


def _choose(w: World, sc: Scenario, rng: np.random.Generator, buyer: np.ndarray, input_seg: np.ndarray, cap: np.ndarray,
            main_region: np.ndarray, incumbent: np.ndarray | None = None,
            incumbent_trust: np.ndarray | None = None, spare: np.ndarray | None = None,
            home_only: np.ndarray | None = None) -> np.ndarray:
    """Pick one supplier per request by a logit over sampled candidates (−1 if none).

    Candidates are drawn in proportion to spare capacity (capacity not yet
    promised to partners, at least 5% of capacity), so bigger and less
    committed suppliers are considered more often; the buyer itself and, on
    review, the incumbent keep out of the sample; the incumbent competes
    with its switching cost.  A request with ``home_only`` ≥ 0 samples only
    suppliers of that home country (if it has any spare capacity).
    """
    if spare is None:
        spare = np.maximum(cap - committed_load(w, sc, cap), sc.network.spare_floor * cap)
    net = sc.network
    k = net.candidates
    n = len(buyer)
    out = np.full(n, -1, dtype=np.int64)
    uniforms = rng.random((n, k))
    gumbel = rng.gumbel(size=(n, k + 1))
    weights = (net.w_technology, net.w_price, net.w_trust, net.w_distance, net.w_export_control, net.w_ip)
    local = np.full(n, -1, dtype=np.int64) if home_only is None else home_only
    # Candidates are sampled per (input, local country) pool; the utilities of all requests are then computed
    # in one pass (element by element, so each value is the same as computed group by group).
    groups, cands = [], []
    for u, c in sorted(set(zip(input_seg.tolist(), local.tolist()))):
        rows = np.flatnonzero((input_seg == u) & (local == c))
        pool = spare[:, u]
        if c >= 0 and (pool * (w.firms.home == c)).sum() > 0:
            pool = pool * (w.firms.home == c)           # a local-content rule: local suppliers only (ODD 7.9)
        if pool.sum() <= 0:
            continue
        groups.append(rows)
        cands.append(network.sample_candidates(pool, uniforms[rows]))            # rows × k
    if not groups:
        return out
    rows = np.concatenate(groups)
    cand = np.concatenate(cands)
    useg = input_seg[rows]
    b = np.repeat(buyer[rows], k)
    c = cand.ravel()
    u_link = np.repeat(useg, k)
    n_cand = len(c)
    if incumbent is not None:       # the incumbents' links after the candidates', valued in the same pass
        inc = incumbent[rows]
        b, c, u_link = np.concatenate([b, buyer[rows]]), np.concatenate([c, inc]), np.concatenate([u_link, useg])
    attrs = link_attributes(w, sc, b, c, u_link, main_region)
    exposure = np.maximum(attrs["exposure"], _blocked(w, b, c, u_link))
    trust = attrs["trust0"] if incumbent is None else np.concatenate([attrs["trust0"][:n_cand],
                                                                     incumbent_trust[rows]])
    all_util = network.partner_utility(w.chain.tech[c, u_link], attrs["cost"], trust, attrs["distance"],
                                       exposure, network.ip_exposure(attrs["cross"], link_ip(w, b, c, 0)[0]), weights)
    util = all_util[:n_cand].reshape(len(rows), k)
    util[cand == buyer[rows][:, None]] = -np.inf
    if incumbent is not None:
        util[cand == inc[:, None]] = -np.inf
        inc_util = all_util[n_cand:]
        # Common standards make a member's inputs quick to qualify for a member buyer: switching to a member
        # challenger costs (1 − reduction) of the switching cost (ODD 7.9).
        lv = w.chain.levers
        member_pair = lv.standard_members[w.firms.home[buyer[rows]]][:, None] & lv.standard_members[w.firms.home[cand]]
        util = util + net.switching_cost * lv.standards_reduction * member_pair
        util = np.column_stack([inc_util + net.switching_cost, util])
        choice = network.gumbel_choice(util, net.partner_logit_scale, gumbel[rows, : k + 1])
        pick = np.where(choice == 0, inc, cand[np.arange(len(rows)), np.maximum(choice - 1, 0)])
    else:
        choice = network.gumbel_choice(util, net.partner_logit_scale, gumbel[rows, :k])
        pick = cand[np.arange(len(rows)), choice]
        pick = np.where(np.isfinite(util[np.arange(len(rows)), choice]), pick, -1)
    out[rows] = pick
    return out


def link_ip(w: World, a: np.ndarray, b: np.ndarray, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IP regime of links between firms ``a`` and ``b`` started at ``step``: κ, licensed, licence end
    (:func:`model.network.link_ip`, docs/ODD.md §7.12)."""
    lv, home = w.chain.levers, w.firms.home
    return network.link_ip(home[a], home[b], lv.ip_members, lv.ip_licence, lv.ip_keep, lv.ip_joint_keep,
                           step, lv.licence_quarters)


def _blocked(w: World, buyer: np.ndarray, supplier: np.ndarray, u: int | np.ndarray) -> np.ndarray:
    """Blocked share of candidate links now, and, for buyers with visibility, soon.

    The buyer's segment is taken as its largest fab segment (restrictions are
    rarely segment-specific on the buyer's side)."""
    shares = w.chain.location_share
    bseg = w.chain.main_fab_segment[buyer]
    useg = u if isinstance(u, np.ndarray) else np.full(len(buyer), u)
    block = link_block(shares, w.events.restriction, buyer, bseg, supplier, useg)
    if w.risk.visible.any() and w.chain.upcoming.any():
        soon = link_block(shares, w.chain.upcoming, buyer, bseg, supplier, useg)
        block = np.where(w.risk.visible[buyer], np.maximum(block, soon), block)
    return block


def form_partnerships(w: World, sc: Scenario, rng: np.random.Generator, cap: np.ndarray, main_region: np.ndarray) -> int:
    """Give every buyer its target number of suppliers per input; returns how many formed."""
    book = w.chain.partners
    n_s = len(SEGMENTS)
    n_f = w.firms.n
    target = sc.network.sources_per_input
    act = book.active
    key = (book.col("buyer")[act] * n_s + book.col("buyer_segment")[act]) * n_s + book.col("input")[act]
    have = np.bincount(key, minlength=n_f * n_s * n_s).reshape(n_f, n_s, n_s)
    need = np.zeros_like(have)
    fab = np.flatnonzero(w.segments.fab_mask)
    load = committed_load(w, sc, cap)
    spare = np.maximum(cap - load, 0.0)
    tu = sc.params.target_utilisation
    # Large buyers spread their need over as many suppliers as it takes to cover it with a typical supplier's
    # spare capacity; all (fab segment, input) pairs at once.
    d_p, u_p = np.nonzero(w.segments.coef[fab] > 0)
    d_p = fab[d_p]
    n_sup = (cap[:, u_p] > 0).sum(axis=0)
    spare_u = {u: spare[:, u].sum() for u in set(u_p.tolist())}      # per input column, as summed before
    typical = np.array([spare_u[u] / n if n else 0.0 for u, n in zip(u_p.tolist(), n_sup.tolist())])
    upper = np.minimum(sc.network.max_sources, np.maximum(n_sup - 1, target))
    want = w.segments.coef[d_p, u_p] * cap[:, d_p] * tu
    sources = np.where(typical > 0, np.ceil(want / np.maximum(typical, 1e-9)), target)
    sources = np.clip(sources, target, upper)
    need[:, d_p, u_p] = np.where(cap[:, d_p] > 0, np.maximum(sources.astype(np.int64) - have[:, d_p, u_p], 0), 0)
    rule, strict = local_rules(w)
    if (rule >= 0).any():
        local_have = _local_have(w, book, act, rule, have.shape)
        _add_local_needs(w, sc, need, have, local_have, cap, rule, strict)
    else:
        local_have = None
    f_idx, d_idx, u_idx = np.nonzero(need)
    reps = need[f_idx, d_idx, u_idx]
    local = (np.full(int(reps.sum()), -1, dtype=np.int64) if local_have is None else
             local_requests(f_idx, d_idx, u_idx, have[f_idx, d_idx, u_idx], reps, local_have, rule, strict))
    f_idx, d_idx, u_idx = np.repeat(f_idx, reps), np.repeat(d_idx, reps), np.repeat(u_idx, reps)
    if len(f_idx) == 0:
        return 0
    # Requests are served in a few rounds in random order, so that suppliers
    # chosen early show less spare capacity to later buyers.
    order = rng.permutation(len(f_idx))
    f_idx, d_idx, u_idx, local = f_idx[order], d_idx[order], u_idx[order], local[order]
    pick = np.full(len(f_idx), -1, dtype=np.int64)
    net = sc.network
    rounds = net.formation_rounds if len(f_idx) > net.formation_round_min_requests else 1
    for part in np.array_split(np.arange(len(f_idx)), rounds):
        spare = np.maximum(cap - load, net.spare_floor * cap)
        pick[part] = _choose(w, sc, rng, f_idx[part], u_idx[part], cap, main_region, spare=spare,
                             home_only=local[part] if (local >= 0).any() else None)
        ok_p = pick[part] >= 0
        np.add.at(load.ravel(), pick[part][ok_p] * load.shape[1] + u_idx[part][ok_p],     # flat: as (g, u)
                  w.segments.coef[d_idx[part][ok_p], u_idx[part][ok_p]] * cap[f_idx[part][ok_p], d_idx[part][ok_p]]
                  * sc.params.target_utilisation / sc.network.sources_per_input)
    # (the load estimate per new link is rough; committed_load recomputes it exactly next time)
    ok = pick >= 0
    # A buyer does not take the same supplier twice for one input: keep the first
    # pick of each (buyer, segment, input, supplier) that it does not hold yet.
    asked = need.ravel()[key] > 0         # only links of a (buyer, segment, input) asked for can match a pick
    held = _link_key(w, book.col("buyer")[act][asked], book.col("buyer_segment")[act][asked],
                     book.col("input")[act][asked], book.col("supplier")[act][asked])
    cand = np.flatnonzero(ok)
    keys = _link_key(w, f_idx[cand], d_idx[cand], u_idx[cand], pick[cand])
    new = ~np.isin(keys, held, kind="sort")
    keep = np.zeros(len(pick), dtype=bool)
    keep[cand[new][np.unique(keys[new], return_index=True)[1]]] = True        # the first pick of each new link
    if not keep.any():
        return 0
    trust0 = w.chain.country_trust[w.firms.home[f_idx[keep]], w.firms.home[pick[keep]]]
    book.add_many(f_idx[keep], d_idx[keep], u_idx[keep], pick[keep], trust0, w.clock.step,
                  *link_ip(w, f_idx[keep], pick[keep], w.clock.step))
    return int(keep.sum())


def local_rules(w: World) -> tuple[np.ndarray, np.ndarray]:
    """Per firm: the country whose local-content rule binds it (−1: none) and the share it requires.

    A firm is bound by a government with ``local_sourcing_share`` > 0 from
    which it holds a grant on a live site; with several, the strictest.
    """
    share = w.policy.local_share
    rule = np.full(w.firms.n, -1, dtype=np.int64)
    best = np.zeros(w.firms.n)
    if not (share > 0).any():
        return rule, best
    s = w.sites
    granted = s.select(LIVE) & (s.col("gov") >= 0) & (s.col("subsidy_committed") > 0)
    firm, gov = s.col("firm")[granted], s.col("gov")[granted]
    gov = gov[share[gov] > 0]
    firm = firm[share[s.col("gov")[granted]] > 0]
    if len(firm) == 0:
        return rule, best
    order = np.lexsort((-gov, share[gov], firm))       # per firm, the strictest rule last (ties: lowest country)
    last = np.r_[firm[order][1:] != firm[order][:-1], True]
    rule[firm[order][last]] = gov[order][last]
    best[firm[order][last]] = share[gov[order][last]]
    return rule, best


def _local_have(w: World, book: Any, act: np.ndarray, rule: np.ndarray, shape: tuple[int, int, int]) -> np.ndarray:
    """Active partnerships per (buyer, fab segment, input) whose supplier's home is the buyer's rule country."""
    b, sup = book.col("buyer")[act], book.col("supplier")[act]
    local = (rule[b] >= 0) & (w.firms.home[sup] == rule[b])
    key = (b[local] * shape[1] + book.col("buyer_segment")[act][local]) * shape[2] + book.col("input")[act][local]
    return np.bincount(key, minlength=int(np.prod(shape))).reshape(shape)


def _add_local_needs(w: World, sc: Scenario, need: np.ndarray, have: np.ndarray, local_have: np.ndarray,
                     cap: np.ndarray, rule: np.ndarray, strict: np.ndarray) -> None:
    """A bound buyer short of local partnerships asks for as many more (local) ones as it takes to reach its share
    of all its partnerships for the input, within ``network.max_sources`` (foreign ones are not ended)."""
    rows = np.flatnonzero(rule >= 0)
    uses = (cap[rows][:, :, None] > 0) & w.segments.fab_mask[None, :, None] & (w.segments.coef[None, :, :] > 0)
    n_have, n_need, n_local = have[rows], need[rows], local_have[rows]
    h = n_have + n_need
    ell = strict[rows][:, None, None]
    full = ell >= 1.0
    extra = np.where(full, h - n_local, np.ceil((ell * h - n_local) / np.where(full, 1.0, 1.0 - ell) - 1e-9))
    extra = np.minimum(np.maximum(extra - n_need, 0), np.maximum(sc.network.max_sources - h, 0))
    need[rows] += np.where(uses, extra, 0).astype(need.dtype)


def local_requests(f: np.ndarray, d: np.ndarray, u: np.ndarray, have: np.ndarray, need: np.ndarray,
                   local_have: np.ndarray, rule: np.ndarray, strict: np.ndarray) -> np.ndarray:
    """The home country each new partnership request must be served from (−1: any), one entry per request
    after ``np.repeat(…, need)``: a bound buyer's first new requests for an input are local until its local
    partnerships reach ceil(share × all its partnerships for the input) (ODD 7.9)."""
    out = np.full(int(need.sum()), -1, dtype=np.int64)
    bound = np.flatnonzero(rule[f] >= 0)
    if len(bound) == 0:
        return out
    offset = np.cumsum(need) - need
    required = np.ceil(strict[f] * (have + need) - 1e-9).astype(np.int64)
    n_local = np.minimum(need, np.maximum(0, required - local_have[f, d, u]))
    for k in bound[n_local[bound] > 0].tolist():
        out[offset[k]: offset[k] + n_local[k]] = rule[f[k]]
    return out


def _link_key(w: World, buyer: np.ndarray, bseg: np.ndarray, useg: np.ndarray, supplier: np.ndarray) -> np.ndarray:
    """One integer per (buyer, buyer segment, input, supplier)."""
    n_s = len(SEGMENTS)
    return ((buyer * n_s + bseg) * n_s + useg) * w.firms.n + supplier


def review_partnerships(w: World, sc: Scenario, rng: np.random.Generator, cap: np.ndarray, main_region: np.ndarray) -> int:
    """End partnerships that lost their supplier or trust; review a random few (switching costs)."""
    book = w.chain.partners
    net = sc.network
    act = np.flatnonzero(book.active)
    if len(act) == 0:
        return 0
    gone = (cap[book.supplier[act], book.input[act]] <= 0) | (cap[book.buyer[act], book.buyer_segment[act]] <= 0) \
        | (book.trust[act] < net.break_trust)
    # Firms with visibility see scheduled disruptions of their suppliers coming
    # and switch ahead of them (ODD 7.20).
    if w.risk.visible.any() and w.chain.upcoming.any():
        vis = w.risk.visible[book.buyer[act]]
        soon = link_block(w.chain.location_share, w.chain.upcoming, book.buyer[act], book.buyer_segment[act],
                          book.supplier[act], book.input[act])
        gone |= vis & (soon > sc.resilience.switch_threshold)
    book.end_step[act[gone]] = w.clock.step
    act = act[~gone]
    review = act[rng.random(len(act)) < net.review_probability]
    switched = 0
    if len(review):
        pick = _choose(w, sc, rng, book.buyer[review], book.input[review], cap, main_region,
                       incumbent=book.supplier[review], incumbent_trust=book.trust[review])
        change = (pick >= 0) & (pick != book.supplier[review])
        # A buyer does not switch to a supplier it already holds for that input.
        held = set(_link_key(w, book.buyer[act], book.buyer_segment[act], book.input[act],
                             book.supplier[act]).tolist())
        idx = np.flatnonzero(change)
        i = review[idx]
        was = _link_key(w, book.buyer[i], book.buyer_segment[i], book.input[i], book.supplier[i]).tolist()
        now = _link_key(w, book.buyer[i], book.buyer_segment[i], book.input[i], pick[idx]).tolist()
        for j, k_was, k_now in zip(idx.tolist(), was, now):
            if k_now in held:
                change[j] = False
            else:
                held.discard(k_was)
                held.add(k_now)
        old = review[change]
        if len(old):
            book.end_step[old] = w.clock.step
            trust0 = w.chain.country_trust[w.firms.home[book.buyer[old]], w.firms.home[pick[change]]]
            book.add_many(book.buyer[old].copy(), book.buyer_segment[old].copy(), book.input[old].copy(),
                          pick[change], trust0, w.clock.step, *link_ip(w, book.buyer[old], pick[change], w.clock.step))
            switched = len(old)
    return int(gone.sum()) + switched
