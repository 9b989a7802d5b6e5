"""ODD 3.7 — learning: trust, knowledge spillovers and the joint fund's research projects.

After the quarter's flows (§7.11-7.13):
partnership trust follows delivery reliability; country-pair trust follows
its firms' partnerships and joint projects; the leading partner of every
working partnership and project decides how much to share
(``network.sharing_rate``: the partnership's value against the profit it
expects to lose to a closer competitor); followers close part of the gap and
keep all of it (joint ownership) or κ of it while their licence runs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from .. import network
from .base import phase

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["PHASE", "learn", "update_trust", "partnership_spillovers", "run_fund"]


@phase("learning", "3.7", reads=("firms", "sites", "clock"), writes=("chain",))
def learn(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Trust follows deliveries; knowledge spills; the joint fund runs its projects.

    The fund's grants to firms this quarter go to ``chain.fund_grants``;
    accounting books them.
    """
    update_trust(w, sc)
    partnership_spillovers(w, sc)
    w.chain.fund_grants = np.zeros(w.firms.n)
    run_fund(w, sc, rng)


def update_trust(w: World, sc: Scenario) -> None:
    """Partnership trust from fill rates; country trust drifts toward its firms' trust."""
    book = w.chain.partners
    net = sc.network
    act = np.flatnonzero(book.active & (book.col("ordered") > 0))
    if len(act):
        fill = np.minimum(book.delivered[act] / book.ordered[act], 1.0)
        book.trust[act] = network.update_trust(book.trust[act], fill, net.trust_gain, net.trust_loss)
    all_act = np.flatnonzero(book.active)
    n_c = len(w.geo.countries)
    if len(all_act):
        cb = w.firms.home[book.buyer[all_act]]
        cs = w.firms.home[book.supplier[all_act]]
        pair = np.minimum(cb, cs) * n_c + np.maximum(cb, cs)
        total = np.bincount(pair, weights=book.trust[all_act], minlength=n_c * n_c)
        count = np.bincount(pair, minlength=n_c * n_c)
        mean = np.divide(total, count, out=np.zeros(n_c * n_c), where=count > 0).reshape(n_c, n_c)
        has = (count > 0).reshape(n_c, n_c)
        has = has | has.T
        mean = np.maximum(mean, mean.T)
        T = w.chain.country_trust
        T[has] += net.country_trust_rate * (mean[has] - T[has])
    for p in w.chain.fund.projects if w.chain.fund is not None else []:
        if p["status"] == "active":
            a, b = w.firms.home[p["leader"]], w.firms.home[p["follower"]]
            # Saturating: each active project closes part of the way to full trust.
            t = w.chain.country_trust[a, b]
            w.chain.country_trust[a, b] = w.chain.country_trust[b, a] = t + net.project_trust_gain * (1.0 - t)
    np.clip(w.chain.country_trust, 0.0, 1.0, out=w.chain.country_trust)


def _has_segment(w: World) -> np.ndarray:
    """Firm × segment: the firm has operating capacity in the segment (its location shares sum to 1)."""
    return w.chain.location_share.sum(axis=2) > 0


def partnership_spillovers(w: World, sc: Scenario) -> None:
    """Knowledge flows from the leading to the following partner of each working link, in the segment the
    follower has the link in (the buyer's fab segment, the supplier's input segment); then every firm's own
    R&D raises its level in every segment (docs/ODD.md §7.12)."""
    book = w.chain.partners
    kn = sc.knowledge
    book.sharing[: book.n] = 0.0
    act = np.flatnonzero(book.active & (book.col("delivered") > 0))
    tech = w.chain.tech
    if len(act):
        b, s = book.buyer[act], book.supplier[act]
        d, u = book.buyer_segment[act], book.input[act]
        tb, ts = tech[b, d], tech[s, u]          # the buyer in its fab segment, the supplier in the input it supplies
        gap = np.abs(ts - tb)
        follower = np.where(ts > tb, b, s)
        follower_seg = np.where(ts > tb, d, u)
        leader = np.where(ts > tb, s, b)
        rival = network.rivalry(_has_segment(w), leader, follower, kn.rival_weight)
        share = network.sharing_rate(gap, book.trust[act], book.keep[act], kn.base_sharing,
                                     kn.asymmetry_aversion, kn.complementarity, trust_floor=kn.trust_sharing_floor,
                                     rivalry=rival, closeness_scale=kn.closeness_scale)
        book.sharing[act] = share
        gain = network.knowledge_gain(gap, share, kn.partnership_spill)
        gain = network.kept_gain(gain, book.keep[act], book.licensed[act], book.licence_end[act], w.clock.step)
        np.add.at(tech, (follower, follower_seg), gain)
    np.minimum(tech + kn.own_progress, 1.0, out=tech)


# ------------------------------------------------------------------- the fund
def run_fund(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Contributions in, projects started and advanced, stages paid."""
    fund = w.chain.fund
    if fund is None:
        return
    fund.collect_contributions()
    advance_projects(w, sc)
    start_projects(w, sc, rng)


def _pick_firm(w: World, country: int, rng_u: float, exclude: int = -1) -> int:
    """A firm of ``country`` drawn in proportion to its operating capacity (−1 if none)."""
    cap = w.chain.firm_capacity_total * (w.firms.home == country)
    if 0 <= exclude < len(cap):
        cap[exclude] = 0.0
    if cap.sum() <= 0:
        return -1
    return int(network.sample_candidates(cap, np.array([rng_u]))[0])


def start_projects(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Start this quarter's joint projects between firms of two member countries.

    A project concerns each firm's largest segment by operating capacity at its start (fixed for the
    project): the leader is the firm with the higher level there, and the project moves those levels
    (docs/ODD.md §7.13)."""
    fund = w.chain.fund
    spec = fund.spec
    members = fund.members
    if len(members) < 2:
        return
    n_new = int(rng.poisson(spec.projects_per_year / 4.0))
    main = None                                        # each firm's largest segment (operating capacity)
    for _ in range(n_new):
        u = rng.random(4)
        ca, cb = rng.choice(members, size=2, replace=False)
        fa, fb = _pick_firm(w, int(ca), u[0]), _pick_firm(w, int(cb), u[1])
        if fa < 0 or fb < 0:
            continue
        if main is None:
            main = w.sites.sum_by(("firm", "segment"), w.chain.tech.shape).argmax(axis=1)
        sa, sb = int(main[fa]), int(main[fb])
        (leader, lead_seg), (follower, fol_seg) = (((fa, sa), (fb, sb)) if w.chain.tech[fa, sa] >= w.chain.tech[fb, sb]
                                                   else ((fb, sb), (fa, sa)))
        lv, home = w.chain.levers, w.firms.home
        keep, licensed, end = network.link_ip(home[[leader]], home[[follower]], lv.ip_members, lv.ip_licence,
                                              lv.ip_keep, lv.ip_joint_keep, w.clock.step, lv.licence_quarters)
        hosts = [i for i in w.chain.institutes if i.country in (ca, cb)]
        host = hosts[int(u[2] * len(hosts))] if hosts else None
        first = spec.stage_budget if spec.mode == "stage_gated" else spec.stage_budget * spec.stages
        if not fund.pay(first):
            break                                      # the fund cannot pay: no more projects now
        _grant(w, leader, follower, first)
        if host is not None:
            host.projects_hosted += 1
        fund.projects.append({
            "id": len(fund.projects), "leader": leader, "follower": follower,
            "leader_segment": lead_seg, "follower_segment": fol_seg,
            "host": host.key if host is not None else "", "start_step": w.clock.step, "stage": 0,
            "quarter_in_stage": 0, "stage_money": spec.stage_budget, "paid": first,
            "sharing": [], "status": "active", "mode": spec.mode,
            "keep": float(keep[0]), "licensed": bool(licensed[0]), "licence_end": int(end[0]),
        })


def _grant(w: World, leader: int, follower: int, amount: float) -> None:
    w.chain.fund_grants[leader] += amount / 2.0
    w.chain.fund_grants[follower] += amount / 2.0


def advance_projects(w: World, sc: Scenario) -> None:
    """One quarter of every active project: sharing, learning, and stage ends."""
    fund = w.chain.fund
    spec = fund.spec
    kn = sc.knowledge
    # Researcher exchange: each host shares its researchers among its active projects.
    active = [p for p in fund.projects if p["status"] == "active"]
    hosted = {i.key: i for i in w.chain.institutes}
    load: dict[str, int] = {}
    for p in active:
        if p["host"]:
            load[p["host"]] = load.get(p["host"], 0) + 1
    has = _has_segment(w)
    for p in active:
        lead, fol = p["leader"], p["follower"]
        ls, fs = p["leader_segment"], p["follower_segment"]
        gap = max(w.chain.tech[lead, ls] - w.chain.tech[fol, fs], 0.0)
        trust = w.chain.country_trust[w.firms.home[lead], w.firms.home[fol]]
        incentive = kn.stage_gate_incentive if spec.mode == "stage_gated" else 0.0
        rival = network.rivalry(has, np.array([lead]), np.array([fol]), kn.rival_weight)
        share = float(network.sharing_rate(np.array([gap]), np.array([trust]), p["keep"],
                                           kn.base_sharing, kn.asymmetry_aversion, kn.complementarity, incentive,
                                           trust_floor=kn.trust_sharing_floor, rivalry=rival,
                                           closeness_scale=kn.closeness_scale)[0])
        exchange = 0.0
        if p["host"]:
            inst = hosted[p["host"]]
            exchange = min(1.0, inst.researchers / (load[p["host"]] * kn.researchers_per_project))
        p["exchange"] = exchange
        spill = kn.project_spill * (1.0 + kn.institute_bonus * exchange)
        gain = float(network.knowledge_gain(np.array([gap]), np.array([share]), spill)[0])
        kept = float(network.kept_gain(np.array([gain]), np.array([p["keep"]]), np.array([p["licensed"]]),
                                       np.array([p["licence_end"]]), w.clock.step)[0])
        w.chain.tech[fol, fs] = min(1.0, w.chain.tech[fol, fs] + kept)
        w.chain.tech[lead, ls] = min(1.0, w.chain.tech[lead, ls] + kn.complementarity * gain)
        p["sharing"].append(share)
        p["quarter_in_stage"] += 1
        if p["quarter_in_stage"] < spec.stage_quarters:
            continue
        _end_stage(w, p)


def _end_stage(w: World, p: dict[str, Any]) -> None:
    """Check the stage KPI; stage-gated projects grow or stop, lump-sum ones go on regardless."""
    fund = w.chain.fund
    spec = fund.spec
    recent = p["sharing"][-spec.stage_quarters:]
    met = float(np.mean(recent)) >= spec.kpi_target
    fund.kpi_checks += 1
    fund.kpi_met += int(met)
    p["stage"] += 1
    p["quarter_in_stage"] = 0
    if p["stage"] >= spec.stages:
        p["status"] = "completed"
        return
    if spec.mode == "lump_sum":
        return                                         # already paid in full at the start
    if not met:
        p["status"] = "stopped"
        return
    money = p["stage_money"] * (1.0 + spec.stage_growth)
    if not fund.pay(money):
        p["status"] = "unfunded"
        return
    p["stage_money"] = money
    p["paid"] += money
    _grant(w, p["leader"], p["follower"], money)


PHASE = learn
