"""ODD 3.8 — production and accounting: sites produce, firms are paid and pay, cash and debt update."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import network
from ..queries import KWPM_QUARTER_TO_USD_BN, site_price_technology, site_unit_cost, yield_share
from ..sites import OPERATING
from .base import phase
from .supply import operating_capacity

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World


@phase("accounting", "3.8", reads=("segments", "geo", "firms", "sites", "markets", "chain", "supply", "risk", "clock"),
       writes=("ledger",))
def produce_and_account(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Sites produce their firm-segment's delivered output; cash and debt update.

    A site's output is its firm-segment's output rate × its capacity × its
    yield share while it ramps up.  Revenue is price × technology premium ×
    output (the premium is revenue-neutral within a segment); opex is unit
    cost (with the yield factor of technology) × output plus rerouting and
    visibility costs; the fund's grants are booked; shortfalls of cash are
    financed by debt, and a share of cash repays debt.
    """
    p = sc.params
    s, led = w.sites, w.ledger
    seg = s.col("segment")
    firm = s.col("firm")
    cap = operating_capacity(w)
    ratio = np.divide(w.supply.output, cap, out=np.zeros_like(cap), where=cap > 0)
    output = np.where(s.select(OPERATING), ratio[firm, seg] * s.col("capacity") * yield_share(w), 0.0)
    premium = network.premium_price_factor(site_price_technology(w), output, seg, w.segments.tech_premium,
                                           len(w.segments.ids))
    revenue = w.markets.price[seg] * premium * output * KWPM_QUARTER_TO_USD_BN
    opex = site_unit_cost(w, sc) * output * KWPM_QUARTER_TO_USD_BN
    n_f = w.firms.n
    flows = led.flows
    flows["revenue"] = np.bincount(firm, weights=revenue, minlength=n_f)
    flows["opex"] = (np.bincount(firm, weights=opex, minlength=n_f) + w.supply.reroute_cost
                     + w.risk.visible * sc.resilience.visibility_cost)
    flows["fund"] = w.chain.fund_grants.copy()
    flows["interest"] = led.debt * p.interest_rate / 4.0
    net = (flows["revenue"] - flows["opex"] - flows["capex"] + flows["subsidy"]
           + flows["tax_credit"] + flows["fund"] - flows["interest"])
    cash = led.cash + net
    borrow = np.maximum(-cash, 0.0)          # shortfalls are financed by debt
    cash = cash + borrow
    debt = led.debt + borrow
    repay = np.where(borrow > 0, 0.0, np.minimum(debt, p.repayment_share * cash))
    led.cash = cash - repay
    led.debt = debt - repay


PHASE = produce_and_account
