"""Firm finance rules as pure functions: tax on profit and the payout (ODD 7.15)."""

from __future__ import annotations

import numpy as np

__all__ = ["tax_and_payout"]


def tax_and_payout(profit: np.ndarray, tax_rate: np.ndarray, payout_ratio: float) -> tuple[np.ndarray, np.ndarray]:
    """Tax and payout of a quarter (USD bn per firm).

    Tax is the rate times positive profit (losses are not carried forward or
    refunded, a simplification); the payout is the share ``payout_ratio`` of
    positive after-tax profit, so a firm in loss pays nothing out.
    """
    taxable = np.maximum(profit, 0.0)
    tax = tax_rate * taxable
    return tax, payout_ratio * (taxable - tax)
