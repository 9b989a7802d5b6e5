"""Decision rules as pure functions over numpy arrays.

Agents gather their inputs and call these; nothing here touches a model, so
every rule is tested on its own (tests/test_decisions.py).

Location choice is a conditional logit over regions (McFadden 1974; applied
to plant location by Head, Ries & Swenson 1995, who find agglomeration a
strong pull).  ``V = Σ_k w_k · term_k`` with the signs below; the chosen
region is drawn with P(r) = exp(V_r/μ) / Σ_s exp(V_s/μ), which is the same as
adding i.i.d. Gumbel(0, μ) noise to V and taking the best region.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "TERMS",
    "TERM_SIGNS",
    "LocationInputs",
    "location_terms",
    "location_utility",
    "logit_probabilities",
    "sample_choice",
    "subsidy_offer",
    "skilled_availability",
    "agglomeration",
    "linked_distance",
    "capacity_gap",
    "expected_projects",
    "project_counts",
    "can_finance",
    "policy_loan",
    "loan_rate_relief",
    "loan_discount_rate",
    "loan_grant_equivalent",
    "MONEY_TERMS",
    "value_utility",
    "adaptive",
    "expected_market",
    "market_at_completion",
    "discount_factors",
    "profitability_index",
    "profitable_expansion",
]

#: Utility terms in the order of DESIGN.md, and the sign each enters V with.
TERMS: tuple[str, ...] = (
    "subsidy",
    "labour",
    "risk",
    "infrastructure",
    "skill",
    "agglomeration",
    "home",
    "bloc",
    "tariff",
    "distance",
    "coordination",
    "expansion",
)
TERM_SIGNS: dict[str, float] = {
    "subsidy": +1.0,
    "labour": -1.0,
    "risk": -1.0,
    "infrastructure": +1.0,
    "skill": +1.0,
    "agglomeration": +1.0,
    "home": +1.0,
    "bloc": +1.0,
    "tariff": -1.0,
    "distance": -1.0,
    "coordination": -1.0,
    "expansion": +1.0,
}
_SIGNS = np.array([TERM_SIGNS[t] for t in TERMS])


# ------------------------------------------------------------ region-level terms
def subsidy_offer(
    rate: np.ndarray,
    available: np.ndarray,
    capex: float | np.ndarray,
    tax_credit: np.ndarray,
    condition_cost: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Net subsidy as a share of capex, and the grant (USD bn) it implies.

    The grant is the rate times capex, capped by the budget still available
    (uncommitted); conditions cost the recipient only when a grant is taken.
    Arrays are per country; ``capex`` may be a column (decisions × 1) to
    price several projects at once.  Returns (net share of capex, grant).
    """
    capex = np.asarray(capex, dtype=float)
    wanted = rate * capex
    grant = np.minimum(wanted, np.maximum(available, 0.0))
    grant_share = np.divide(grant, capex, out=np.zeros_like(grant), where=capex > 0)
    net = grant_share + tax_credit - np.where(grant > 0, condition_cost, 0.0)
    return net, grant


def skilled_availability(pool: np.ndarray, employed: np.ndarray) -> np.ndarray:
    """Skilled-labour availability pool / (pool + employed), in [0, 1]: 1 with
    nobody employed, 1/2 when employment equals the pool, falling as it grows."""
    denom = pool + employed
    return np.divide(pool, denom, out=np.zeros_like(pool, dtype=float), where=denom > 0)


def agglomeration(same: np.ndarray, linked: np.ndarray, link_weight: float, scale: float) -> np.ndarray:
    """ln(1 + (same-segment + link_weight × linked-segment capacity) / scale)."""
    return np.log1p((same + link_weight * linked) / scale)


def linked_distance(distance: np.ndarray, linked_capacity: np.ndarray) -> np.ndarray:
    """Capacity-weighted mean distance from each region to linked-segment capacity (1000 km).

    With no linked capacity anywhere the term is zero everywhere.
    """
    total = linked_capacity.sum()
    if total <= 0:
        return np.zeros(distance.shape[0])
    return distance @ (linked_capacity / total)


# ---------------------------------------------------------------- firm × region
@dataclass(frozen=True)
class LocationInputs:
    """Everything location decisions need: per region (R,) or per decision and
    region (M × R); per-decision scalars may be columns (M × 1)."""

    net_subsidy: np.ndarray        # share of capex
    log_wage: np.ndarray           # ln(wage / reference wage)
    labour_intensity: float | np.ndarray  # share
    political_risk: np.ndarray     # index 0–1 (as the investor perceives it)
    risk_aversion: float | np.ndarray
    power_reliability: np.ndarray  # index 0–1
    skill: np.ndarray              # availability 0–1
    agglomeration: np.ndarray      # log units
    is_home: np.ndarray            # bool
    same_bloc: np.ndarray          # bool
    tariff: np.ndarray             # ad valorem
    distance: np.ndarray           # 1000 km to linked capacity
    n_sites: int | np.ndarray      # firm's current number of site regions
    spread: np.ndarray             # mean 1000 km from region to the firm's sites
    has_site: np.ndarray           # bool: firm already has a same-segment site here
    allowed: np.ndarray | None = None  # bool mask of admissible regions


def location_terms(x: LocationInputs, coordination_spread: float) -> np.ndarray:
    """Raw (unweighted, unsigned) terms, shape (len(TERMS), *decisions, regions).

    The coordination cost of one more site, ln(2 + n_sites) plus a spread
    penalty, falls only on regions where the firm has no same-segment site:
    expanding where it already is adds no site to coordinate.
    """
    shape = np.broadcast_shapes(np.shape(x.net_subsidy), np.shape(x.has_site), np.shape(x.political_risk),
                                np.shape(x.agglomeration), np.shape(x.is_home))
    out = np.empty((len(TERMS), *shape))
    out[0] = x.net_subsidy
    out[1] = np.multiply(x.labour_intensity, x.log_wage)
    out[2] = np.multiply(x.risk_aversion, x.political_risk)
    out[3] = x.power_reliability
    out[4] = x.skill
    out[5] = x.agglomeration
    out[6] = x.is_home
    out[7] = x.same_bloc
    out[8] = x.tariff
    out[9] = x.distance
    out[10] = np.where(x.has_site, 0.0, np.log(2.0 + np.asarray(x.n_sites, dtype=float)) + coordination_spread * x.spread)
    out[11] = x.has_site
    return out


def location_utility(terms: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Signed, weighted contributions (same shape as ``terms``) and their sum V.

    ``weights`` are non-negative magnitudes in TERMS order; signs come from
    TERM_SIGNS.  Note the coordination weight multiplies its spread part too.
    """
    w = (_SIGNS * weights).reshape(-1, *([1] * (terms.ndim - 1)))
    contrib = w * terms
    return contrib, contrib.sum(axis=0)


#: The location terms that are money: in ``location_money = "value"`` one value term replaces them.
MONEY_TERMS: tuple[str, ...] = ("subsidy", "labour", "risk", "tariff")


def value_utility(contrib: np.ndarray, index: np.ndarray, weight: float, allowed: np.ndarray | None = None
                  ) -> np.ndarray:
    """V with the money terms in one currency: the non-money contributions plus ``weight`` × (π − 1), π the
    project's profitability index at the region relative to the reference project (1 = as good as the
    reference; regions closed to the firm have π = −inf and keep V finite at their non-money value)."""
    keep = np.array([t not in MONEY_TERMS for t in TERMS])
    value = np.where(np.isfinite(index), index - 1.0, 0.0) if allowed is not None else index - 1.0
    return contrib[keep].sum(axis=0) + weight * value


def logit_probabilities(v: np.ndarray, scale: float, allowed: np.ndarray | None = None) -> np.ndarray:
    """Conditional-logit choice probabilities exp(V/μ)/Σexp(V/μ) along the last axis.

    Regions outside ``allowed`` get probability zero; a row with none allowed
    is all zeros.
    """
    z = np.asarray(v, dtype=float) / scale
    if allowed is not None:
        z = np.where(allowed, z, -np.inf)
    top = z.max(axis=-1, keepdims=True)
    none = ~np.isfinite(top)
    e = np.exp(z - np.where(none, 0.0, top))
    total = e.sum(axis=-1, keepdims=True)
    return np.divide(e, total, out=np.zeros_like(e), where=total > 0)


def sample_choice(p: np.ndarray, u: float | np.ndarray) -> int | np.ndarray:
    """Index drawn from probabilities ``p`` (last axis) with uniform draw(s) ``u`` in [0, 1)."""
    c = np.cumsum(p, axis=-1)
    u = np.asarray(u, dtype=float)
    idx = (c <= (u[..., None] if c.ndim > 1 else u) * c[..., -1:]).sum(axis=-1)
    idx = np.minimum(idx, p.shape[-1] - 1)
    return int(idx) if np.ndim(idx) == 0 else idx


# ------------------------------------------------------------ investment trigger
def capacity_gap(demand: np.ndarray, growth: np.ndarray, lag_quarters: np.ndarray,
                 capacity_then: np.ndarray, target_utilisation: float) -> np.ndarray:
    """Capacity (kwpm) missing at the lag horizon to run at the target utilisation (≥ 0)."""
    projected = demand * (1.0 + growth) ** (lag_quarters / 4.0)
    return np.maximum(projected / target_utilisation - capacity_then, 0.0)


def expected_projects(share: np.ndarray, gap: np.ndarray, project_size: np.ndarray, pace: float,
                      cap: int = 0) -> np.ndarray:
    """Expected number of projects a firm starts in a segment this quarter.

    A firm acts on its capacity share of the segment's gap: pace × share ×
    gap / project size, at most ``cap`` per quarter (0 = no cap; kyoso 0.1
    capped at one, which held the largest memory makers below their share).
    """
    lam = np.maximum(pace * share * gap / project_size, 0.0)
    return np.minimum(lam, cap) if cap > 0 else lam


def project_counts(expected: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Whole projects from their expectation: floor(λ) plus one more with probability frac(λ).

    The count has mean λ; for λ ≤ 1 it is the Bernoulli draw ``u < λ``.
    """
    whole = np.floor(expected)
    return (whole + (uniforms < expected - whole)).astype(np.int64)


def can_finance(cash: np.ndarray, debt: np.ndarray, annual_revenue: np.ndarray,
                capex: np.ndarray, equity_share: float, max_leverage: float,
                loan: np.ndarray | float = 0.0) -> np.ndarray:
    """Finances justify a project: enough cash for the equity part, and debt
    within ``max_leverage`` × annual revenue (firms with no revenue yet may
    invest only without debt).

    A policy loan (USD bn, ODD 7.1) finances its part of the capex outside
    this check: the equity part is ``equity_share`` × (capex − loan), and a
    loan of the whole capex needs neither cash nor leverage room.
    """
    own = capex - loan if np.any(loan) else capex
    enough_cash = cash >= equity_share * own
    leverage_ok = np.where(annual_revenue > 0, debt <= max_leverage * annual_revenue, debt <= 0)
    return enough_cash & (leverage_ok | (own <= 0))


def policy_loan(share: np.ndarray, available: np.ndarray, capex: np.ndarray | float,
                eligible: np.ndarray | bool = True) -> np.ndarray:
    """The policy loan (USD bn) a project of ``capex`` gets: share × capex within the envelope still
    available, 0 where it is not eligible (ODD 7.1).  Arrays broadcast (e.g. decisions × countries)."""
    wanted = np.asarray(share, dtype=float) * capex
    return np.where(eligible, np.minimum(wanted, np.maximum(available, 0.0)), 0.0)


def loan_rate_relief(loan: np.ndarray, capex: np.ndarray | float, rate_cut: np.ndarray) -> np.ndarray:
    """Fall of a project's discount rate from a policy loan (per year): the share of its capex the loan covers
    times the loan's rate cut, a WACC effect (ODD 7.4)."""
    capex = np.asarray(capex, dtype=float)
    share = np.divide(loan, capex, out=np.zeros(np.broadcast_shapes(np.shape(loan), capex.shape)), where=capex > 0)
    return share * rate_cut


def loan_discount_rate(rate: np.ndarray, relief: np.ndarray) -> np.ndarray:
    """A project's discount rate with a policy loan: rate − relief, never below 0 (per year)."""
    return np.maximum(rate - relief, 0.0)


def loan_grant_equivalent(relief: np.ndarray, rate_per_year: float, years: float) -> np.ndarray:
    """The grant (share of capex) worth as much as a policy loan's interest saving: relief × the annuity
    factor of ``years`` at ``rate_per_year`` — the present value of saving loan share × rate cut of capex
    every year of the loan (for the location logit's net-subsidy term, ODD 7.5)."""
    d = float(rate_per_year)
    annuity = years if d <= 0 else (1.0 - (1.0 + d) ** (-years)) / d
    return np.asarray(relief, dtype=float) * annuity


# ----------------------------------------------------------- investment on value
def adaptive(expected: np.ndarray, observed: np.ndarray, speed: float) -> np.ndarray:
    """Adaptive expectations E ← E + a (x − E) (Nerlove 1958): a = 1 believes the last observation,
    a = 0 never revises."""
    return expected + speed * (observed - expected)


def expected_market(exp_price: np.ndarray, exp_util: np.ndarray, tight_now: np.ndarray, tight_then: np.ndarray,
                    elasticity: float, base: np.ndarray, floor: float, cap: float) -> tuple[np.ndarray, np.ndarray]:
    """Price and utilisation a firm expects for a new project's output.

    The firm takes its adaptive expectations of today's price and utilisation
    and moves them with the projected change in tightness (demand over
    capacity) between now and the project's completion, as the price rule of
    3.3 would: p = E_p (ρ_then/ρ_now)^(1/η) within [floor, cap] × base price,
    u = min(1, E_u ρ_then/ρ_now).  All arrays broadcast.
    """
    return market_at_completion(exp_price, exp_util, tight_now, elasticity, base, floor, cap)(tight_then)


def market_at_completion(exp_price: np.ndarray, exp_util: np.ndarray, tight_now: np.ndarray, elasticity: float,
                         base: np.ndarray, floor: float, cap: float
                         ) -> Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """:func:`expected_market` as a function of the tightness at completion alone, the rest fixed (what
    does not depend on it is computed once, for a search over capacity additions)."""
    now_pos = np.asarray(tight_now) > 0
    power = 1.0 / elasticity
    lo, hi = floor * base, cap * base

    all_pos = bool(now_pos.all())

    def at(tight_then: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if all_pos:                                 # the same quotients without the mask
            rel = np.divide(tight_then, tight_now)
        else:
            rel = np.divide(tight_then, tight_now, out=np.ones(np.broadcast_shapes(np.shape(tight_then),
                                                                                   np.shape(tight_now))), where=now_pos)
        price = np.minimum(np.maximum(exp_price * np.power(rel, power), lo), hi)         # clip to the band
        return price, np.minimum(exp_util * rel, 1.0)

    return at


def discount_factors(rate_per_year: np.ndarray, lag: np.ndarray | int, life_quarters: int,
                     ramp_quarters: np.ndarray | int, depreciation_quarters: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Present values per unit of a project's quarterly flows, at quarterly discount factor β = (1 + d)^(-1/4).

    Returns (F_out, F_life, F_dep): F_out = Σ_k ramp_k β^(L+1+k) over the
    ``life_quarters`` operating quarters, with ramp_k = min(1, (k+1)/(n+1))
    (the output profile of 3.6 with n ramp quarters); F_life = the same
    without the ramp (for costs that run with the site); F_dep = Σ β^(L+1+k)
    over the depreciation quarters (for the tax shield).  Closed forms; the
    ramp deficit is summed term by term (n ≤ 40).
    """
    d = np.asarray(rate_per_year, dtype=float)
    log_beta = -0.25 * np.log1p(d)
    beta = np.exp(log_beta)
    lag = np.asarray(lag, dtype=float)
    start = np.exp((lag + 1.0) * log_beta)
    one_minus = -np.expm1(log_beta)                                       # 1 − β, exact for small rates
    flat = one_minus <= 0.0                                               # no discounting (to machine precision)
    one_minus = np.where(flat, 1.0, one_minus)

    def annuity(n: float) -> np.ndarray:
        return np.where(flat, float(n), -np.expm1(n * log_beta) / one_minus)

    f_life = start * annuity(life_quarters)
    ramp = np.asarray(ramp_quarters)
    deficit = np.zeros(np.broadcast(beta, ramp).shape)
    power = np.ones_like(beta)
    for k in range(int(ramp.max()) if ramp.size else 0):
        deficit = deficit + np.maximum(1.0 - (k + 1.0) / (ramp + 1.0), 0.0) * power
        power = power * beta
    return f_life - start * deficit, f_life, start * annuity(min(depreciation_quarters, life_quarters))


def profitability_index(margin: np.ndarray, f_out: np.ndarray, f_life: np.ndarray, f_dep: np.ndarray,
                        capex: np.ndarray, net_subsidy: np.ndarray, maintenance: float, tax: np.ndarray,
                        depreciation_quarters: int) -> np.ndarray:
    """PV of a project's after-tax cash flows over its net capex (USD bn / USD bn).

    ``margin`` is the quarterly operating margin at full output (USD bn);
    maintenance is a share of capex per year for as long as the site runs;
    the tax ``tax`` falls on margin less maintenance and gives a shield on
    straight-line depreciation of the gross capex.  Net capex is capex × (1 −
    net subsidy share), at least 5 % of capex (a project is never free).
    """
    pre_tax = margin * f_out - maintenance / 4.0 * capex * f_life
    shield = tax * capex / depreciation_quarters * f_dep
    net_capex = capex * np.maximum(1.0 - net_subsidy, 0.05)
    return ((1.0 - tax) * pre_tax + shield) / net_capex


def profitable_expansion(pi_at, upper: np.ndarray, hurdle: float, iterations: int = 30) -> np.ndarray:
    """Largest addition A in [0, upper] with pi_at(A) ≥ hurdle, by bisection (pi_at falls in A).

    0 where even A = 0 misses the hurdle; ``upper`` where A = upper still clears it.
    """
    upper = np.asarray(upper, dtype=float)
    lo, hi = np.zeros_like(upper), upper.copy()
    ok0 = pi_at(lo) >= hurdle
    ok_hi = pi_at(hi) >= hurdle
    for _ in range(iterations):
        mid = lo + hi
        mid *= 0.5                                  # 0.5 (lo + hi)
        ok = pi_at(mid) >= hurdle
        lo, hi = np.where(ok, mid, lo), np.where(ok, hi, mid)
    return np.where(ok_hi, upper, np.where(ok0, lo, 0.0))
