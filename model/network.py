"""Supply partnerships, trust and knowledge: the value chain.

Downstream sites need inputs by fixed proportions (Leontief): a fab needs
materials and equipment, and its chips pass through packaging.  Each buyer
(firm × fab segment) holds partnerships with named suppliers per input.
Suppliers ration proportionally when orders exceed capacity, as in the
ARIO-style propagation models (Hallegatte 2008; Inoue & Todo 2019).  The
rules here are pure functions over arrays; ``PartnershipBook`` stores the
partnerships as columns, like the site registry.

Knowledge: the leading partner (higher technology) decides how much to
share.  It expects the follower to gain in proportion to the gap, and
itself in proportion to what the follower brings (complementarity, plus the
next stage's money under stage-gated funding).  The more the follower is
expected to out-gain it, the less it shares ("asymmetric motivation",
source column §4).  A time- and use-limited licence caps what the follower
keeps, which lowers that expectation.
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
    "sharing_rate",
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
    short = total > capacity                      # only then is there anything to ration
    fill = np.divide(capacity, total, out=np.ones_like(capacity, dtype=float), where=short)
    return orders * np.clip(fill, 0.0, 1.0)[supplier]


def fixed_proportion_output(plan: np.ndarray, delivered: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """Leontief output: min(plan, delivered_u / a_u over inputs with a_u > 0).

    ``delivered`` and ``coefficients`` have one column per input.
    """
    ratio = np.where(coefficients > 0, np.divide(delivered, coefficients, out=np.full_like(delivered, np.inf),
                                                 where=coefficients > 0), np.inf)
    return np.minimum(plan, ratio.min(axis=1) if ratio.shape[1] else plan)


def update_trust(trust: np.ndarray, fill_rate: np.ndarray, gain: float, loss: float) -> np.ndarray:
    """Trust grows with reliable deliveries and falls with shortfalls; stays in [0, 1]."""
    return np.clip(trust + gain * fill_rate - loss * (1.0 - fill_rate), 0.0, 1.0)


# ----------------------------------------------------------------- knowledge
def sharing_rate(gap: np.ndarray, trust: np.ndarray, keep: float, base: float, aversion: float,
                 complementarity: float, stage_incentive: float | np.ndarray = 0.0,
                 trust_floor: float = 0.5) -> np.ndarray:
    """Share of its lead the leading partner passes on (0–1).

    Expected gains: follower G_F = keep × gap; leader G_L = (complementarity
    + stage incentive) × gap.  Asymmetry a = max(0, (G_F − G_L)/(G_F + G_L)).
    s = base × (f + (1 − f) × trust) × (1 − min(1, aversion × a)), with f the
    sharing factor at zero trust (``knowledge.trust_sharing_floor``, 0.5 by default).
    """
    g_f = keep * gap
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
}


class PartnershipBook(ColumnStore):
    """Column store of partnerships (active and ended)."""

    COLUMNS = _COLUMNS

    def add_many(self, buyer: np.ndarray, buyer_segment: np.ndarray, input_seg: np.ndarray,
                 supplier: np.ndarray, trust: np.ndarray, step: int) -> np.ndarray:
        """Append partnerships; returns their numbers."""
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
        self.n += k
        return np.arange(sl.start, sl.stop)

    @property
    def active(self) -> np.ndarray:
        return self.col("end_step") < 0
