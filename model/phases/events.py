"""ODD 3.1 — events fire, and firms update the risk they price (ODD 7.18).

The pure rules of investor risk live here too: the standing bilateral risk
of a country pair (:func:`bilateral_base`), what investment protection leaves
of it (:func:`protection_shield`), the sanctions in force between two
countries (:func:`sanction_share`) and the composition of the priced risk
(:func:`priced_risk`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from .base import phase

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World

__all__ = ["fire_events", "bilateral_base", "protection_shield", "sanction_share", "bilateral_risk",
           "priced_risk", "risk_signal"]


def bilateral_base(country_bloc: np.ndarray, same_bloc: float, other_bloc: float,
                   premia: Iterable[tuple[int, int, float]] = ()) -> np.ndarray:
    """Standing bilateral risk b0[h, c] of investors from h in host c (countries × countries).

    0 at home, ``same_bloc`` within a bloc, ``other_bloc`` across blocs, plus
    each listed premium (a, b, value) in both directions.
    """
    cb = np.asarray(country_bloc)
    if same_bloc < 0 or other_bloc < 0:
        raise ValueError(f"same_bloc/other_bloc: {same_bloc}/{other_bloc}, expected values ≥ 0")
    base = np.where(cb[:, None] == cb[None, :], float(same_bloc), float(other_bloc))
    for a, b, value in premia:
        if a == b:
            raise ValueError(f"premia: pair ({a}, {b}) is one country, expected two")
        if value < 0:
            raise ValueError(f"premia: premium {value} for pair ({a}, {b}), expected ≥ 0")
        base[a, b] += value
        base[b, a] += value
    np.fill_diagonal(base, 0.0)
    return base


def protection_shield(protected: np.ndarray, strength: float) -> np.ndarray:
    """Share of the bilateral risk left between countries h and c (countries × countries).

    An investment-protection agreement removes ``strength`` of it for
    investors from a member in another member; 1 elsewhere.
    """
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f"strength: {strength}, expected a share in [0, 1]")
    m = np.asarray(protected, dtype=bool)
    covered = m[:, None] & m[None, :] & ~np.eye(len(m), dtype=bool)
    return np.where(covered, 1.0 - strength, 1.0)


def sanction_share(n_countries: int, restrictions: Sequence[tuple[int, int, float]]) -> np.ndarray:
    """Export restrictions in force between each pair of countries, in both directions (countries × countries).

    ``restrictions`` are (exporter, importer, magnitude); the share is
    1 − ∏(1 − m) over the events between the two countries, whoever restricts.
    """
    keep = np.ones((n_countries, n_countries))
    for e, i, m in restrictions:
        if not 0.0 <= m <= 1.0:
            raise ValueError(f"magnitude: {m} for restriction {e}→{i}, expected a share in [0, 1]")
        keep[e, i] *= 1.0 - m
        if e != i:
            keep[i, e] *= 1.0 - m
    return 1.0 - keep


def bilateral_risk(base: np.ndarray, shield: np.ndarray, sanctions: np.ndarray, sanction: float) -> np.ndarray:
    """Bilateral risk in force b[h, c] = shield × (b0 + sanction × sanctions) (countries × countries)."""
    return np.asarray(shield) * (np.asarray(base) + sanction * np.asarray(sanctions))


def priced_risk(country_risk: np.ndarray, bilateral: np.ndarray, region_country: np.ndarray,
                learned: np.ndarray | float = 0.0) -> np.ndarray:
    """Priced risk P[h, r] = country risk of r + b[h, c(r)] + the learned event part (homes × regions)."""
    return np.asarray(country_risk)[None, :] + np.asarray(bilateral)[:, np.asarray(region_country)] + learned


def _restrictions_in_force(w: World) -> list[tuple[int, int, float]]:
    ev = w.events
    return [(ev.cidx[a.spec.exporter], ev.cidx[a.spec.importer], a.spec.magnitude)
            for a in ev.active if a.spec.type == "export_restriction"]


def current_bilateral(w: World, sc: Scenario) -> np.ndarray:
    """The bilateral risk that the events in force give this quarter (countries × countries)."""
    risk = w.risk
    sanctions = sanction_share(len(w.geo.countries), _restrictions_in_force(w))
    return bilateral_risk(risk.pair_base, risk.shield, sanctions, sc.investor_risk.sanction)


def risk_signal(w: World, sc: Scenario, bilateral: np.ndarray) -> np.ndarray:
    """This quarter's risk signal S[h, r] = country risk + bilateral risk + impulse × events (homes × regions)."""
    return priced_risk(w.risk.country, bilateral, w.geo.country, sc.learning.impulse * w.events.impulse)


@phase("events", "3.1", reads=("geo", "sites", "clock"), writes=("events", "policy", "risk"))
def fire_events(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Shocks start and end; firms update the risk they price.

    Priced risk P[h, r] of firms from country h for region r follows the
    signal (the host's country risk, the bilateral risk of h and the host's
    country with the sanctions now in force, and the impulses of events that
    hit the region or the home country) by exponential smoothing; the
    bilateral part is smoothed alongside, so it stays the bilateral share of
    P.  Uncertainty U smooths the squared surprise.  Subsidy tightening
    changes a government's conditions (policy).
    """
    w.events.fire(w.clock.step, rng, w.sites, w.policy.governments)
    a = sc.learning.smoothing
    risk = w.risk
    b = current_bilateral(w, sc)
    risk.bilateral += a * (b - risk.bilateral)
    surprise = risk_signal(w, sc, b) - risk.perceived
    risk.perceived += a * surprise
    risk.uncertainty = (1.0 - a) * risk.uncertainty + a * surprise**2


PHASE = fire_events
