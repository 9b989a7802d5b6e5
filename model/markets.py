"""Demand, utilisation and prices per segment (world markets).

Final demand is exogenous for the fab segments (chips) and grows at each
segment's ``demand_growth``; demand for materials, equipment and packaging is
derived from fab output through the input coefficients (a Leontief step:
D_u = Σ_d a[d, u] · Y_d).  Utilisation is demand over operating capacity,
capped at one; the price moves with the demand–capacity ratio.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "final_demand",
    "demand_response",
    "derived_demand",
    "utilisation",
    "price",
    "unit_cost",
]


def final_demand(initial: np.ndarray, growth_per_year: np.ndarray, step: int) -> np.ndarray:
    """Final demand after ``step`` quarters of compound annual growth."""
    return initial * (1.0 + growth_per_year) ** (step / 4.0)


def demand_response(price: np.ndarray, base_price: np.ndarray, market_share: np.ndarray, tariff_paid: np.ndarray,
                    elasticity: float) -> np.ndarray:
    """Factor on final demand per segment from prices: Σ_c m_c (p (1 + τ_c) / p̄)^(−ε) / Σ_c m_c.

    Each market region c (share m_c of world demand) buys at the world price
    plus the average tariff τ_c it charges on imported chips; demand has the
    constant price elasticity ε (0 = demand does not respond, as kyoso 0.1).
    """
    m = np.asarray(market_share, dtype=float)
    if elasticity == 0 or m.sum() <= 0:
        return np.ones_like(base_price, dtype=float)
    rel = (price / base_price)[:, None] * (1.0 + np.asarray(tariff_paid))[None, :]      # segment × region
    return (np.power(rel, -elasticity) * m[None, :]).sum(axis=1) / m.sum()


def derived_demand(coefficients: np.ndarray, output: np.ndarray, final: np.ndarray,
                   is_final: np.ndarray) -> np.ndarray:
    """Demand per segment: final demand where given, else Σ_d a[d, u] · output_d.

    ``coefficients[d, u]`` is the amount of segment u needed per unit of
    segment d's output.
    """
    derived = output @ coefficients
    return np.where(is_final, final, derived)


def utilisation(demand: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """Share of operating capacity used: min(1, demand / capacity); 0 without capacity."""
    u = np.divide(demand, capacity, out=np.zeros_like(demand, dtype=float), where=capacity > 0)
    return np.minimum(u, 1.0)


def price(base: np.ndarray, demand: np.ndarray, capacity: np.ndarray, target_utilisation: float,
          elasticity: float, floor: float, cap: float) -> np.ndarray:
    """Price = base × (demand / (target utilisation × capacity))^(1/η), clipped to [floor, cap] × base.

    Tight markets (demand above planned use of capacity) raise prices, slack
    ones lower them; with no capacity the price sits at its cap.
    """
    planned = target_utilisation * capacity
    ratio = np.divide(demand, planned, out=np.full_like(demand, np.inf, dtype=float), where=planned > 0)
    with np.errstate(over="ignore"):
        rel = np.power(ratio, 1.0 / elasticity)
    return base * np.clip(rel, floor, cap)


def unit_cost(base_price: np.ndarray, cost_share: np.ndarray, labour_intensity: np.ndarray,
              wage: np.ndarray, reference_wage: float) -> np.ndarray:
    """Operating cost per unit of output (USD per 200mm-eq wafer).

    c = base price × cost share × (1 + labour intensity × (wage / reference − 1)):
    the labour part of cost scales with the local wage.
    """
    return base_price * cost_share * (1.0 + labour_intensity * (wage / reference_wage - 1.0))
