"""Regions as arrays: attributes, countries, blocs and distances.

Regions are not agents: location choice is vectorised over them, so their
attributes live in numpy arrays indexed by region number.  The policy phase
grows the skilled-labour pools; the location logit reads them each quarter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .columns import SubState
from .scenario import Scenario

__all__ = ["Geography", "haversine_km"]

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """Great-circle distance matrix (km) between points given in degrees."""
    la, lo = np.radians(lat), np.radians(lon)
    dlat = la[:, None] - la[None, :]
    dlon = lo[:, None] - lo[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(la)[:, None] * np.cos(la)[None, :] * np.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


@dataclass(eq=False)
class Geography(SubState):
    """Region attributes as arrays (index = region number)."""

    ids: list[str]
    countries: list[str]          # country codes, index = country number
    blocs: list[str]              # bloc names, index = bloc number
    country: np.ndarray           # region → country number
    bloc: np.ndarray              # region → bloc number
    country_bloc: np.ndarray      # country → bloc number
    lat: np.ndarray
    lon: np.ndarray
    labour_cost: np.ndarray       # USD / month
    skilled_labour: np.ndarray    # thousand workers
    power_reliability: np.ndarray # index 0–1
    political_risk: np.ndarray    # index 0–1
    distance: np.ndarray          # 1000 km, region × region

    @classmethod
    def from_scenario(cls, sc: Scenario) -> Geography:
        ids = list(sc.regions)
        countries = list(sc.governments)
        blocs = sc.blocs
        cidx = {c: i for i, c in enumerate(countries)}
        bidx = {b: i for i, b in enumerate(blocs)}
        regs = [sc.regions[r] for r in ids]
        country = np.array([cidx[r.country] for r in regs], dtype=np.int64)
        country_bloc = np.array([bidx[sc.governments[c].bloc] for c in countries], dtype=np.int64)
        lat = np.array([r.lat for r in regs], dtype=float)
        lon = np.array([r.lon for r in regs], dtype=float)
        return cls(
            ids=ids,
            countries=countries,
            blocs=blocs,
            country=country,
            bloc=country_bloc[country],
            country_bloc=country_bloc,
            lat=lat,
            lon=lon,
            labour_cost=np.array([r.labour_cost for r in regs], dtype=float),
            skilled_labour=np.array([r.skilled_labour for r in regs], dtype=float),
            power_reliability=np.array([r.power_reliability for r in regs], dtype=float),
            political_risk=np.array([r.political_risk for r in regs], dtype=float),
            distance=haversine_km(lat, lon) / 1000.0,
        )

    @property
    def n(self) -> int:
        return len(self.ids)

    def index(self, region_id: str) -> int:
        return self.ids.index(region_id)
