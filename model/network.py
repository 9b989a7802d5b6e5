"""Supply partnerships, trust and knowledge: the value chain.

Downstream sites need inputs by fixed proportions (Leontief): a fab needs
materials and equipment, and its chips pass through packaging.  Each buyer
(firm × fab segment) holds partnerships with named suppliers per input.
Suppliers ration proportionally when orders exceed capacity, as in the
ARIO-style propagation models (Hallegatte 2008; Inoue & Todo 2019).  The
rules here are pure functions over arrays; ``PartnershipBook`` stores the
partnerships as columns, like the site registry.

Knowledge: the leading partner (higher technology, each partner's level in the
segment it has the link in: the buyer's fab segment, the supplier's input) decides how much to
share.  It weighs what the partnership brings it (complementarity, plus the
next stage's money under stage-gated funding) against the profit it expects
to lose when the follower closes the gap: that loss is larger the closer the
follower already is and if it competes in a common segment (technology sets
unit cost and, in logic and memory, the price, docs/ODD.md §7.3, §7.15).
The more the expected loss outweighs the gain, the less it shares
("asymmetric motivation", source column §4).  Each partnership and project
has its own IP regime: under a time- and use-limited licence the follower
keeps a share κ of each gain, and nothing after the licence expires.
"""

from __future__ import annotations

import numpy as np

from .columns import ColumnStore

__all__ = [
    "PartnershipBook",
    "link_exposure",
    "ip_exposure",
    "partner_utility",
    "sample_candidates",
    "gumbel_choice",
    "ration",
    "update_trust",
    "follower_keep",
    "link_ip",
    "rivalry",
    "sharing_rate",
    "kept_gain",
    "yield_cost_factor",
    "premium_price_factor",
    "knowledge_gain",
    "fixed_proportion_output",
]


# --------------------------------------------------------------- link properties
def link_exposure(supplier_country: np.ndarray, buyer_country: np.ndarray, country_bloc: np.ndarray,
                  ally_exposure: float, harmonised: np.ndarray, strength: float) -> np.ndarray:
    """Export-control exposure of links (0–1).

    Domestic links: 0.  Across blocs: 1.  Across borders within a bloc:
    ``ally_exposure`` (Japan's 2019 restrictions on Korea were between allies).
    Links between harmonised members lose ``strength`` of their exposure.
    """
    cross = supplier_country != buyer_country
    same_bloc = country_bloc[supplier_country] == country_bloc[buyer_country]
    exp = np.where(cross, np.where(same_bloc, ally_exposure, 1.0), 0.0)
    both = harmonised[supplier_country] & harmonised[buyer_country]
    return np.where(cross & both, exp * (1.0 - strength), exp)


def follower_keep(regime: str, licence_years: float, licence_scope: float, reference_years: float,
                  leakage: float) -> float:
    """Share of the gain a follower keeps: all of it (× leakage) under joint
    ownership; scope × min(1, years / reference) under a limited licence."""
    if regime == "licence":
        return licence_scope * min(1.0, licence_years / reference_years)
    return leakage


def link_ip(home_a: np.ndarray, home_b: np.ndarray, members: np.ndarray, licence: bool, licence_keep: float,
            joint_keep: float, start_step: np.ndarray | int, licence_quarters: int
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """IP regime of links or projects between firms of countries ``home_a`` and ``home_b``.

    Under the licence regime, a link between two *different* member countries
    is licensed: κ = ``licence_keep`` and the licence ends ``licence_quarters``
    after ``start_step``.  Every other link is jointly owned: κ =
    ``joint_keep`` and no end (−1).  Returns (κ, licensed, licence end step).
    """
    home_a, home_b = np.asarray(home_a), np.asarray(home_b)
    licensed = licence & members[home_a] & members[home_b] & (home_a != home_b)
    keep = np.where(licensed, licence_keep, joint_keep)
    end = np.where(licensed, np.asarray(start_step) + licence_quarters, -1)
    return keep, licensed, end.astype(np.int64)


def kept_gain(gain: np.ndarray, keep: np.ndarray, licensed: np.ndarray, licence_end: np.ndarray,
              step: int) -> np.ndarray:
    """What a follower keeps of a gain: all of it on a jointly owned link; κ × gain on a
    licensed one while the licence runs (step < end), nothing after it expired."""
    return np.where(licensed, np.where(step < licence_end, keep * gain, 0.0), gain)


def rivalry(has_segment: np.ndarray, leader: np.ndarray, follower: np.ndarray, other_weight: float) -> np.ndarray:
    """Weight of the follower as a competitor of the leader: 1 if the two have operating
    capacity in a common segment (``has_segment`` is firm × segment), else ``other_weight``."""
    common = (has_segment[leader] & has_segment[follower]).any(axis=-1)
    return np.where(common, 1.0, other_weight)


def yield_cost_factor(tech: np.ndarray, penalty: float) -> np.ndarray:
    """Unit-cost multiplier of technology (yield loss below the frontier): 1 + penalty × (1 − tech),
    with ``tech`` a site's firm's level in the site's segment (:func:`model.queries.site_technology`)."""
    return 1.0 + penalty * (1.0 - np.asarray(tech, dtype=float))


def premium_price_factor(tech: np.ndarray, output: np.ndarray, segment: np.ndarray, premium: np.ndarray,
                         n_segments: int) -> np.ndarray:
    """Price multiplier of each producer: 1 + premium_s × (t − t̄_s), with t̄_s the
    output-weighted mean technology of segment s.  Σ output × factor = Σ output within
    every segment, so the premium moves revenue between producers without changing
    a segment's revenue (floored at 0 for extreme premiums)."""
    tech = np.asarray(tech, dtype=float)
    tot = np.bincount(segment, weights=output, minlength=n_segments)
    mean = np.divide(np.bincount(segment, weights=output * tech, minlength=n_segments), tot,
                     out=np.zeros(n_segments), where=tot > 0)
    return np.maximum(1.0 + premium[segment] * (tech - mean[segment]), 0.0)


def ip_exposure(cross_border: np.ndarray, keep: float) -> np.ndarray:
    """IP-leakage exposure of a link: what a foreign partner could keep (0 at home)."""
    return np.where(cross_border, keep, 0.0)


def partner_utility(technology: np.ndarray, relative_cost: np.ndarray, trust: np.ndarray,
                    distance: np.ndarray, exposure: np.ndarray, ip: np.ndarray,
                    weights: tuple[float, float, float, float, float, float]) -> np.ndarray:
    """Utility of candidate suppliers: + technology − cost + trust − distance − export-control − IP."""
    w_tech, w_price, w_trust, w_dist, w_exp, w_ip = weights
    return (w_tech * technology - w_price * relative_cost + w_trust * trust - w_dist * distance
            - w_exp * exposure - w_ip * ip)


def sample_candidates(weights: np.ndarray, uniforms: np.ndarray) -> np.ndarray:
    """Indices drawn with probability ∝ ``weights`` for each uniform in ``uniforms``
    (any shape).  Requires a positive total weight."""
    cum = np.cumsum(weights)
    idx = np.searchsorted(cum, uniforms * cum[-1], side="right")
    return np.minimum(idx, len(weights) - 1)


def gumbel_choice(utility: np.ndarray, scale: float, gumbel: np.ndarray) -> np.ndarray:
    """Row-wise logit choice: argmax of utility/scale + Gumbel noise (−inf = unavailable)."""
    return np.argmax(utility / scale + gumbel, axis=1)


# --------------------------------------------------------------------- flows
def ration(orders: np.ndarray, supplier: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Proportional rationing: each order is filled at min(1, capacity / total orders)
    of its supplier.  ``capacity`` is indexed by supplier."""
    total = np.bincount(supplier, weights=orders, minlength=len(capacity))
    capacity = np.maximum(capacity, 0.0)          # a remainder can fall a rounding error below 0
    short = total > capacity                      # only then is there anything to ration (so total > 0)
    fill = np.divide(capacity, total, out=np.ones_like(capacity, dtype=float), where=short)
    return orders * np.clip(fill, 0.0, 1.0)[supplier]


def fixed_proportion_output(plan: np.ndarray, delivered: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Leontief output: min(plan, delivered_u / a_u over inputs with a_u > 0).

    ``delivered`` and ``coefficients`` have one column per input (``coefficients`` may be one row for all).
    """
    used = coefficients > 0
    if used.all():                                  # the same quotients, without the masks
        ratio = delivered / coefficients
    else:
        ratio = np.where(used, np.divide(delivered, coefficients, out=np.full_like(delivered, np.inf), where=used),
                         np.inf)
    return np.minimum(plan, ratio.min(axis=1) if ratio.shape[1] else plan)


def update_trust(trust: np.ndarray, fill_rate: np.ndarray, gain: float, loss: float) -> np.ndarray:
    """Trust grows with reliable deliveries and falls with shortfalls; stays in [0, 1]."""
    return np.clip(trust + gain * fill_rate - loss * (1.0 - fill_rate), 0.0, 1.0)


# ----------------------------------------------------------------- knowledge
def sharing_rate(gap: np.ndarray, trust: np.ndarray, keep: float | np.ndarray, base: float, aversion: float,
                 complementarity: float, stage_incentive: float | np.ndarray = 0.0,
                 trust_floor: float = 0.5, rivalry: float | np.ndarray = 1.0,
                 closeness_scale: float = np.inf) -> np.ndarray:
    """Share of its lead the leading partner passes on (0–1): the partnership's value
    to the leader against the profit it expects to lose to a closer follower.

    Value to the leader V = (complementarity + stage incentive) × gap; expected
    loss L = keep × gap × rivalry × exp(−gap / closeness_scale): what the
    follower keeps, weighted by how much it competes with the leader (1 in a
    common segment) and by its closeness (a gain of a follower that is already
    close takes more of the leader's technology premium).  Net loss
    a = max(0, (L − V)/(L + V)) (0 if both are 0) and
    s = base × (f + (1 − f) × trust) × (1 − min(1, aversion × a)), f the
    sharing factor at zero trust.  With rivalry 1 and an infinite closeness
    scale this is kyoso 0.1's rule (L = keep × gap).
    """
    gap = np.asarray(gap, dtype=float)
    closeness = np.exp(-gap / closeness_scale) if np.isfinite(closeness_scale) else 1.0
    g_f = keep * gap * rivalry * closeness
    g_l = (complementarity + stage_incentive) * gap
    denom = g_f + g_l
    asym = np.divide(g_f - g_l, denom, out=np.zeros_like(gap, dtype=float), where=denom > 0)
    asym = np.maximum(asym, 0.0)
    s = base * (trust_floor + (1.0 - trust_floor) * trust) * (1.0 - np.minimum(1.0, aversion * asym))
    return np.clip(s, 0.0, 1.0)


def knowledge_gain(gap: np.ndarray, sharing: np.ndarray, spill: float | np.ndarray) -> np.ndarray:
    """Technology a follower gains from one link in a quarter: spill × sharing × gap
    (never past that link's leader; gains over several links add up)."""
    return np.minimum(spill * sharing * gap, gap)


# --------------------------------------------------------------- partnerships
_COLUMNS: dict[str, type] = {
    "buyer": np.int64,          # firm number
    "buyer_segment": np.int64,  # fab segment the input is for
    "input": np.int64,          # input segment
    "supplier": np.int64,       # firm number
    "trust": np.float64,        # 0–1
    "start_step": np.int64,
    "end_step": np.int64,       # −1 while active
    "ordered": np.float64,      # kwpm-eq this quarter
    "delivered": np.float64,
    "sharing": np.float64,      # leader's sharing rate this quarter
    "disrupted": np.bool_,
    "keep": np.float64,         # κ: share of a gain the follower keeps (licence) or the leader counts (joint)
    "licensed": np.bool_,       # IP regime: limited licence (else joint ownership)
    "licence_end": np.int64,    # step the licence expires (−1 joint)
}


class PartnershipBook(ColumnStore):
    """Column store of partnerships (active and ended)."""

    COLUMNS = _COLUMNS

    def add_many(self, buyer: np.ndarray, buyer_segment: np.ndarray, input_seg: np.ndarray,
                 supplier: np.ndarray, trust: np.ndarray, step: int, keep: np.ndarray | float = 1.0,
                 licensed: np.ndarray | bool = False, licence_end: np.ndarray | int = -1) -> np.ndarray:
        """Append partnerships with their IP regime (:func:`link_ip`); returns their numbers."""
        k = len(buyer)
        self._reserve(self.n + k)
        sl = slice(self.n, self.n + k)
        self.buyer[sl] = buyer
        self.buyer_segment[sl] = buyer_segment
        self.input[sl] = input_seg
        self.supplier[sl] = supplier
        self.trust[sl] = trust
        self.start_step[sl] = step
        self.end_step[sl] = -1
        self.ordered[sl] = 0.0
        self.delivered[sl] = 0.0
        self.sharing[sl] = 0.0
        self.disrupted[sl] = False
        self.keep[sl] = keep
        self.licensed[sl] = licensed
        self.licence_end[sl] = licence_end
        self.n += k
        return np.arange(sl.start, sl.stop)

    @property
    def active(self) -> np.ndarray:
        return self.col("end_step") < 0
