"""The site registry: every block of capacity as a row of numpy columns.

A site is capacity of one firm in one segment at one region: an existing
plant, an announced one, or a project a firm starts in the model (a
brownfield expansion is a new row at a region where the firm already has a
same-segment site).  Columns grow by doubling so adding a site is O(1)
amortised and every per-quarter operation is one vectorised pass.
"""

from __future__ import annotations

import math

import numpy as np

from .columns import ColumnStore
from .scenario import SiteStatus

__all__ = ["SiteRegistry", "ramp_share", "leading_edge_allowed", "STATUS_ORDER", "BUILDING", "OPERATING", "OFFLINE", "LIVE", "ANY"]

#: Integer codes used in the arrays, in this order.
STATUS_ORDER: tuple[SiteStatus, ...] = (SiteStatus.BUILDING, SiteStatus.OPERATING, SiteStatus.OFFLINE)
BUILDING, OPERATING, OFFLINE = 0, 1, 2
#: Status selectors of :meth:`SiteRegistry.capacity` beyond the codes: not offline, and every site.
LIVE, ANY = -1, -2

_COLUMNS: dict[str, type] = {
    "firm": np.int64,
    "region": np.int64,
    "segment": np.int64,
    "capacity": np.float64,        # kwpm
    "status": np.int8,
    "start_step": np.int64,        # step the project started (or -1 for initial sites)
    "online_step": np.int64,       # step it becomes operating
    "leading_edge": np.bool_,
    "expansion": np.bool_,
    "capex_total": np.float64,     # USD bn (projects started in the model)
    "capex_spent": np.float64,     # USD bn
    "gov": np.int64,               # country number of the subsidising government, -1 none
    "subsidy_committed": np.float64,  # USD bn
    "subsidy_paid": np.float64,    # USD bn
    "milestones_paid": np.int8,    # 0..3
    "tax_credit": np.float64,      # share of capex, paid on completion
}


def ramp_share(online_step: np.ndarray, step: int, ramp: np.ndarray) -> np.ndarray:
    """Share of its capacity a site can produce while its yield ramps up (docs/ODD.md §7.10).

    A site completed in the model (``online_step`` ≥ 1; sites operating at the
    start have 0) produces (k + 1)/(n + 1) of its capacity in its k-th
    operating quarter, k = step − online_step = 0..n−1, and all of it from
    k = n on; n = ``ramp`` quarters of its segment (0 = full output at once).
    """
    online_step = np.asarray(online_step)
    ramp = np.asarray(ramp)
    k = step - online_step
    share = np.minimum(np.maximum((k + 1) / (ramp + 1.0), 0.0), 1.0)       # clipped to [0, 1]
    return np.where((online_step >= 1) & (ramp > 0), share, 1.0)


def leading_edge_allowed(tech: np.ndarray | float, threshold: np.ndarray | float) -> np.ndarray:
    """A site is leading-edge only in a segment with a threshold (not NaN) and only if its
    firm's technology reaches it (docs/ODD.md §7.15)."""
    threshold = np.asarray(threshold, dtype=float)
    with np.errstate(invalid="ignore"):
        return ~np.isnan(threshold) & (np.asarray(tech, dtype=float) >= np.nan_to_num(threshold, nan=np.inf))


class SiteRegistry(ColumnStore):
    """Column store of sites; ``n`` rows are live, the rest is spare room."""

    COLUMNS = _COLUMNS

    def __init__(self, capacity_hint: int = 256) -> None:
        super().__init__(capacity_hint)
        self.product: list[str] = []

    def add(self, *, firm: int, region: int, segment: int, capacity: float, status: int,
            start_step: int, online_step: int, leading_edge: bool = False, expansion: bool = False,
            capex_total: float = 0.0, gov: int = -1, subsidy_committed: float = 0.0,
            tax_credit: float = 0.0, product: str = "") -> int:
        """Append a site and return its number."""
        self._reserve(self.n + 1)
        i = self.n
        self.firm[i] = firm
        self.region[i] = region
        self.segment[i] = segment
        self.capacity[i] = capacity
        self.status[i] = status
        self.start_step[i] = start_step
        self.online_step[i] = online_step
        self.leading_edge[i] = leading_edge
        self.expansion[i] = expansion
        self.capex_total[i] = capex_total
        self.capex_spent[i] = 0.0
        self.gov[i] = gov
        self.subsidy_committed[i] = subsidy_committed
        self.subsidy_paid[i] = 0.0
        self.milestones_paid[i] = 0
        self.tax_credit[i] = tax_credit
        self.product.append(product)
        self.n += 1
        return i

    def select(self, status: int) -> np.ndarray:
        """Mask of the live rows in ``status`` (a code, ``LIVE`` = not offline, or ``ANY``)."""
        st = self.col("status")
        if status == ANY:
            return np.ones(self.n, dtype=bool)
        if status == LIVE:
            return st != OFFLINE
        return st == status

    def sum_by(self, by: tuple[str | np.ndarray, ...], shape: tuple[int, ...], *, status: int = OPERATING,
                 weight: np.ndarray | None = None, count: bool = False) -> np.ndarray:
        """Capacity summed by keys: the one group-by over the registry that every phase uses.

        ``by`` names columns (``"firm"``, ``"region"``, ``"segment"``) or gives
        an array with one key per site (e.g. the country of each site's
        region); ``shape`` is the size of each key.  ``weight`` multiplies
        each site's capacity (e.g. availability or unit cost); ``count``
        counts sites instead.  Sums run in site order, so the result does not
        depend on how the keys are combined.
        """
        sel = None if status == ANY else self.select(status)
        keys = [self.col(k) if isinstance(k, str) else np.asarray(k)[: self.n] for k in by]
        if count:                                     # count the selected sites
            keys = keys if sel is None else [k[sel] for k in keys]
            values = None
        else:
            # Weights of unselected sites are 0: adding +0.0 leaves every sum as it was (a bincount's sums
            # start at +0.0, so never become −0.0), and is faster than selecting the rows.
            values = self.col("capacity") if weight is None else self.col("capacity") * weight
            values = values if sel is None else np.where(sel, values, 0.0)
        flat = keys[0]
        for k, size in zip(keys[1:], shape[1:]):      # row-major flat index of the key combination
            flat = flat * size + k
        out = np.bincount(flat, weights=values, minlength=math.prod(shape)).reshape(shape)
        return out.astype(float) if count else out

    def capacity_by(self, status: int, n_regions: int, n_segments: int) -> np.ndarray:
        """Capacity (kwpm) of sites in ``status`` as a region × segment matrix."""
        return self.sum_by(("region", "segment"), (n_regions, n_segments), status=status)
