"""Where a project may go and what each region offers it (ODD 7.1, 7.5, 7.18): the location logit's inputs, the
money terms shared with the valuation (subsidy offers, tariffs faced, priced risk), and the regions screening and
guardrails leave open.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import decisions
from ..queries import present_capacity, skilled_pools
from ..sites import LIVE

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["LocationCache", "prepare_location_cache", "location_inputs", "MoneyTerms", "money_terms",
           "admissible_regions", "perceived_risk"]


_UNSET = object()


@dataclass
class LocationCache:
    """Region-level inputs of this quarter's location decisions (region × segment)."""

    agglomeration: np.ndarray
    logistics: np.ndarray
    skill: np.ndarray


def prepare_location_cache(w: World, sc: Scenario) -> LocationCache:
    """Region-level inputs of this quarter's location decisions.

    Firms decide simultaneously on the state at the start of the quarter
    (capacity present, skilled labour, logistics); only subsidy budgets
    are first come, first served within the quarter.
    """
    p = sc.params
    present = present_capacity(w)
    linked = present @ w.segments.linked.astype(float)          # region × segment
    pool, employed = skilled_pools(w, present)
    return LocationCache(
        agglomeration=decisions.agglomeration(present, linked, p.agglomeration_link_weight, p.agglomeration_scale),
        logistics=np.column_stack([decisions.linked_distance(w.geo.distance, linked[:, k])
                                   for k in range(len(w.segments.ids))]),
        skill=decisions.skilled_availability(pool, employed),
    )


def _firm_presence(w: World, firms: np.ndarray, segments: np.ndarray, with_sites: bool = True
                   ) -> tuple[np.ndarray, np.ndarray | None]:
    """Live capacity of each deciding firm by region, and (``with_sites``) whether it has a same-segment
    site there."""
    s = w.sites
    n_r, n_s, n_f = w.geo.n, len(w.segments.ids), w.firms.n
    # A firm's row sums its own live sites only, in site order (a firm deciding twice: both rows the same).
    present_fr = s.sum_by(("firm", "region"), (n_f, n_r), status=LIVE)
    if not with_sites:
        return present_fr[firms], None
    live = s.select(LIVE)
    row_of = np.full(n_f, -1, dtype=np.int64)
    row_of[firms] = np.arange(len(firms))
    mine = live & (row_of[s.col("firm")] >= 0)
    seg_fr = np.zeros((n_f, n_s, n_r), dtype=bool)
    seg_fr[s.col("firm")[mine], s.col("segment")[mine], s.col("region")[mine]] = True
    return present_fr[firms], seg_fr[firms, segments]


def location_inputs(w: World, sc: Scenario, cache: LocationCache, firms: np.ndarray, segments: np.ndarray,
                    allowed: np.ndarray | None | object = _UNSET
                    ) -> tuple[decisions.LocationInputs, np.ndarray, np.ndarray]:
    """Gather the arrays for location decisions of ``firms[i]`` in ``segments[i]``.

    Returns the inputs (decisions × regions), the grant each region's
    government would commit (USD bn, decisions × regions) and each
    project's capex (USD bn, a decisions × 1 column).
    """
    geo, seg = w.geo, w.segments
    money = money_terms(w, firms, segments)
    firms, segments, homes = money.firms, money.segments, w.firms.home[money.firms]
    n_sites = money.present_in.sum(axis=1, keepdims=True)
    spread = np.divide(money.present_in @ geo.distance, n_sites, out=np.zeros((len(firms), geo.n)),
                       where=n_sites > 0)
    if allowed is _UNSET:                           # not given by a caller that has it already
        allowed = admissible_regions(w, firms)
    inputs = decisions.LocationInputs(
        net_subsidy=money.net_subsidy,
        log_wage=np.log(geo.labour_cost / sc.params.reference_wage),
        labour_intensity=seg.labour_intensity[segments][:, None],
        political_risk=money.risk,
        risk_aversion=w.firms.risk_aversion[firms][:, None],
        power_reliability=geo.power_reliability,
        skill=cache.skill,
        agglomeration=cache.agglomeration[:, segments].T,
        is_home=geo.country[None, :] == homes[:, None],
        same_bloc=geo.bloc[None, :] == geo.country_bloc[homes][:, None],
        tariff=money.tariff,
        distance=cache.logistics[:, segments].T,
        n_sites=n_sites,
        spread=spread,
        has_site=money.has_site,
        allowed=allowed,
    )
    return inputs, money.grant, money.capex


@dataclass
class MoneyTerms:
    """The pecuniary inputs of a project of ``firms[k]`` in ``segments[k]`` at every region (decisions × regions)."""

    firms: np.ndarray
    segments: np.ndarray
    capex: np.ndarray             # USD bn, decisions × 1
    net_subsidy: np.ndarray       # share of capex: grant + credit − conditions (incl. the concern ban)
    grant: np.ndarray             # USD bn the region's government would commit now
    tariff: np.ndarray            # market-weighted tariff on exports from the region
    risk: np.ndarray              # risk the firm's home prices in the region
    present_in: np.ndarray        # bool: the firm has live capacity in the region
    has_site: np.ndarray          # bool: it has a same-segment site there


def money_terms(w: World, firms: np.ndarray, segments: np.ndarray) -> MoneyTerms:
    """Subsidy offers, tariffs and priced risk for projects of ``firms[k]`` in ``segments[k]`` at every region,
    for the location logit (the valuation of 3.4 reads the same terms per country from
    :func:`_money_by_country`)."""
    firms = np.asarray(firms, dtype=np.int64)
    segments = np.asarray(segments, dtype=np.int64)
    capex, net_c, grant_c, tariff_c, present_in, has_site = _money_by_country(w, firms, segments, True)
    col = w.geo.country                             # each region's country
    return MoneyTerms(firms=firms, segments=segments, capex=capex, net_subsidy=net_c[:, col],
                      grant=grant_c[:, col], tariff=tariff_c[:, col],
                      risk=perceived_risk(w, w.firms.home[firms]), present_in=present_in, has_site=has_site)


def _money_by_country(w: World, firms: np.ndarray, segments: np.ndarray, location: bool
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """Capex (decisions × 1), net subsidy, grant and tariff by host country (decisions × countries), presence
    by region and (``location``) same-segment sites: the parts of :func:`money_terms` that depend on the host
    country alone."""
    geo, seg, pol = w.geo, w.segments, w.policy
    m = len(firms)
    capex = (seg.project_size[segments] * seg.capex_per_capacity[segments])[:, None]
    cap_f, has_site = _firm_presence(w, firms, segments, with_sites=location)
    present_in = cap_f > 0
    # Subsidy: conditions, plus the concern-country ban weighted by the firm's exposure there.
    total = cap_f.sum(axis=1, keepdims=True)
    concern_share = np.divide(cap_f[:, pol.concern[geo.country]].sum(axis=1, keepdims=True), total,
                              out=np.zeros((m, 1)), where=total > 0)
    cond = pol.condition + pol.concern_cost * concern_share
    net_c, grant_c = decisions.subsidy_offer(pol.rate, pol.available, capex, pol.tax_credit, cond)
    return capex, net_c, grant_c, _tariff_by_country(w, present_in), present_in, has_site


def admissible_regions(w: World, firms: np.ndarray) -> np.ndarray | None:
    """Regions each deciding firm may build in (decisions × regions), or None when all are open.

    Investment screening closes a screening country's regions to firms whose
    home is a country of concern; a subsidy guardrail closes the regions of
    the countries of concern to a firm until its guardrail ends (ODD 7.1).
    """
    geo, pol = w.geo, w.policy
    concern_home = pol.concern[w.firms.home[firms]]
    barred = pol.guardrail_until[firms] >= w.clock.step
    if not (concern_home & pol.screens.any()).any() and not barred.any():
        return None
    host_screens = pol.screens[geo.country][None, :]
    host_concern = pol.concern[geo.country][None, :]
    return ~((concern_home[:, None] & host_screens) | (barred[:, None] & host_concern))


def _risk_by_country(w: World) -> np.ndarray | None:
    """Priced risk by home × host country when it is the same in every region of a host country, else None."""
    perceived, country = w.risk.perceived, w.geo.country
    first = np.zeros(len(w.geo.countries), dtype=np.int64)
    first[country[::-1]] = np.arange(w.geo.n)[::-1]     # the first region of each country (0: none)
    by_country = perceived[:, first]
    return by_country if np.array_equal(perceived, by_country[:, country]) else None


def _tariff_faced(w: World, present_in: np.ndarray) -> np.ndarray:
    """Tariff on exports from each region, weighted by the importers' market shares (decisions × regions).

    An importer that spares local producers (exempt_local) waives its tariff
    for a firm already there or choosing a region there.
    """
    return _tariff_by_country(w, present_in)[:, w.geo.country]


def _tariff_by_country(w: World, present_in: np.ndarray) -> np.ndarray:
    """:func:`_tariff_faced` by exporting country (decisions × countries); ``present_in`` is by region."""
    geo, pol = w.geo, w.policy
    m = present_in.shape[0]
    duty = pol.market[:, None] * pol.tariff                                         # importer × exporter
    out = np.repeat(duty.sum(axis=0)[None, :], m, axis=0)
    hosts = np.zeros(duty.shape[1], dtype=bool)
    hosts[geo.country] = True                       # countries with regions
    for i in np.flatnonzero(pol.tariff_exempt_local & duty[:, hosts].any(axis=1)):
        there = geo.country == i
        waived = present_in[:, there].any(axis=1)[:, None] | (np.arange(duty.shape[1]) == i)[None, :]
        out -= duty[i][None, :] * waived
    return out


def perceived_risk(w: World, homes: np.ndarray) -> np.ndarray:
    """Risk investors from countries ``homes`` price in each region (decisions × regions).

    P[h, r] = the host's country risk + the bilateral risk of h and the host's
    country (relation, standing premia, sanctions in force; investment
    protection removes ``strength`` of this part between members) + what
    firms learned from events (ODD 7.18); the events phase keeps it in
    ``risk.perceived``.
    """
    return w.risk.perceived[np.asarray(homes)]
