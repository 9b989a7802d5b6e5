"""ODD 3.8 — production and accounting: sites produce, firms are paid and pay, cash and debt update."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from .. import finance, network
from ..queries import KWPM_QUARTER_TO_USD_BN, input_bill, site_price_technology, site_unit_cost, yield_share
from ..sites import OPERATING
from .base import phase
from .supply import operating_capacity

if TYPE_CHECKING:
    from ..scenario import Scenario
    from ..world import World


@phase("accounting", "3.8", reads=("segments", "geo", "firms", "sites", "policy", "events", "markets", "chain", "supply",
                                   "risk", "clock"),
       writes=("ledger",))
def produce_and_account(w: World, sc: Scenario, rng: np.random.Generator) -> None:
    """Sites produce their firm-segment's delivered output; cash and debt update.

    A site's output is its firm-segment's output rate × its capacity × its
    yield share while it ramps up.  Revenue is price × technology premium ×
    output (the premium is revenue-neutral within a segment); opex is own
    unit cost (with the yield factor of technology) × output plus rerouting
    and visibility costs; buyers pay their suppliers for the inputs they
    received; the fund's grants are booked; sustaining capex, tax on profit
    after depreciation and the payout leave; shortfalls of cash are
    financed by debt, and a share of cash repays debt.
    """
    p = sc.params
    s, led = w.sites, w.ledger
    seg = s.col("segment")
    firm = s.col("firm")
    ramp = yield_share(w)
    cap = operating_capacity(w, ramp)
    ratio = np.divide(w.supply.output, cap, out=np.zeros_like(cap), where=cap > 0)
    output = np.where(s.select(OPERATING), ratio[firm, seg] * s.col("capacity") * ramp, 0.0)
    premium = network.premium_price_factor(site_price_technology(w), output, seg, w.segments.tech_premium,
                                           len(w.segments.ids))
    revenue = w.markets.price[seg] * premium * output * KWPM_QUARTER_TO_USD_BN
    # Own costs; buyers pay their suppliers for what they received (ODD 7.15), so inputs are a flow of their own.
    own = site_unit_cost(w, sc) - input_bill(w)[seg]
    opex = own * output * KWPM_QUARTER_TO_USD_BN
    n_f = w.firms.n
    flows = led.flows
    flows["revenue"] = np.bincount(firm, weights=revenue, minlength=n_f)
    flows["opex"] = (np.bincount(firm, weights=opex, minlength=n_f) + w.supply.reroute_cost
                     + w.risk.visible * sc.resilience.visibility_cost)
    flows["inputs"], flows["input_tariff"] = input_payments(w)
    flows["fund"] = w.chain.fund_grants.copy()
    flows["interest"] = led.debt * p.interest_rate / 4.0 - loan_interest_saving(w)
    # Operating sites wear: sustaining capex in cash on their replacement value; sites built in the model
    # depreciate their capex straight-line for tax; start-state sites are taken as written off (ODD 7.15).
    operating = s.select(OPERATING)
    replacement = np.where(operating, s.col("capacity") * w.segments.capex_per_capacity[seg], 0.0)
    flows["maintenance"] = np.bincount(firm, weights=replacement, minlength=n_f) * p.maintenance_rate / 4.0
    dep_q = 4.0 * p.depreciation_years
    booked = operating & (s.col("capex_total") > 0) & (w.clock.step - s.col("online_step") < dep_q)
    flows["depreciation"] = np.bincount(firm, weights=np.where(booked, s.col("capex_total") / dep_q, 0.0),
                                        minlength=n_f)
    profit = (flows["revenue"] - flows["opex"] - flows["inputs"] - flows["input_tariff"] - flows["maintenance"]
              - flows["depreciation"] - flows["interest"] + flows["fund"])
    flows["tax"], flows["payout"] = finance.tax_and_payout(profit, w.policy.corporate_tax[w.firms.home],
                                                           p.payout_ratio)
    net = (flows["revenue"] - flows["opex"] - flows["capex"] + flows["subsidy"]
           + flows["tax_credit"] + flows["fund"] - flows["interest"] - flows["maintenance"] - flows["tax"]
           - flows["payout"] - flows["inputs"] - flows["input_tariff"])
    cash = led.cash + net
    borrow = np.maximum(-cash, 0.0)          # shortfalls are financed by debt
    cash = cash + borrow
    debt = led.debt + borrow
    repay = np.where(borrow > 0, 0.0, np.minimum(debt, p.repayment_share * cash))
    led.cash = cash - repay
    led.debt = debt - repay


def loan_interest_saving(w: World) -> np.ndarray | float:
    """What each firm's policy loans in force save it in interest this quarter (USD bn): principal × rate cut / 4
    (ODD 7.1); 0.0 without loans.

    The principal is not booked as debt: the ledger holds one pool of debt at ``params.interest_rate`` that
    finances any cash shortfall and is repaid from positive cash, so a loan drawn into it would change only the
    timing of cash and debt, and a cash-rich firm would repay it at once.  What the preferential rate is worth
    to the firm — the interest it saves on the loan's part of its funding — is booked as lower interest, for as
    long as the loan is in force (the valuation's discount-rate effect, ODD 7.4, prices the same saving).  The
    flows still add up: net worth changes by exactly the booked flows.
    """
    pol = w.policy
    if len(pol.loan_amount) == 0:
        return 0.0
    live = pol.loans_in_force(w.clock.step)
    return np.bincount(pol.loan_firm[live], weights=pol.loan_amount[live] * pol.loan_cut[live] / 4.0,
                       minlength=w.firms.n)


def input_payments(w: World) -> tuple[np.ndarray, np.ndarray]:
    """What each firm pays its suppliers for the inputs it received this quarter, at this quarter's prices,
    and the tariff its home charges on those from other countries where a tariff event names the input
    (USD bn per firm).

    Suppliers' revenue is price × what they delivered, so the payments are
    exactly the upstream and packaging firms' revenue.
    """
    received = w.supply.received
    n_f = received.shape[0]
    # Only firms that received something pay (the others' sums are exact zeros): the same sums on fewer rows.
    buyers = np.flatnonzero(received.reshape(n_f, -1).any(axis=1))
    value = received[buyers] * w.markets.price * KWPM_QUARTER_TO_USD_BN          # buyer × origin × input
    paid, duty_paid = np.zeros(n_f), np.zeros(n_f)
    paid[buyers] = value.sum(axis=(1, 2))
    if w.events.input_tariff.any():                 # no tariff event on inputs: no duty
        duty = w.events.input_tariff[w.firms.home[buyers]]                         # the same shape
        duty_paid[buyers] = (value * duty).sum(axis=(1, 2))
    return paid, duty_paid


PHASE = produce_and_account
