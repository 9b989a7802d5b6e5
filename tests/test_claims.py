"""The source column's directional claims, each as a paired comparison over seeds (common random numbers).

Each test runs a scenario and its reference on the same seeds 0…N−1 (32 quarters), takes the per-seed difference
and asserts the sign of its mean and, where the effect is large against seed noise, that the 95% t-interval
excludes 0.  Claims the model does not support at affordable seed counts are not tested (a test that cannot fail
proves nothing); they are listed below with their measured intervals.  ``python tests/test_claims.py 20`` prints
every effect below (tested or not) on seeds 0–19.

Measured at the model of this docstring's commit, seeds 0–19 (``python tests/test_claims.py 20``; differences
scenario − reference):

Tested here

* decoupling vs status_quo: logic price, mean over quarters 1–32, +174.8 USD/wafer (164.5 to 185.2); memory price
  +21.4 (19.0 to 23.9); ``cost_per_output`` (operating costs per unit of output at base prices) rises (the test
  asserts it on 5 seeds);
* a US subsidy-tightening event (technology transfer +0.10 of capex from 2025Q2) vs baseline: KR-home operating
  capacity in the US summed over steps 0–32, −8,498 kwpm-quarters (−12,990 to −4,009); projects −3.65 (−6.00 to
  −1.30, not asserted); the announced sites' online dates do not move (+0, 0 to 0);
* the 2025 Georgia raid (events library ``georgia_raid_2025``) vs baseline: the KR-home US sites under
  construction at the start come online +1.075 quarters later on average (0.76 to 1.39);
* jk_cocreation vs status_quo: JP→KR trade, mean over quarters 1–32, +1.09 USD bn per quarter (0.57 to 1.61); the
  gap between JP-home and KR-home firms' mean technology at quarter 32, −0.0185 (−0.0246 to −0.0123);
* resilience to a severe Japan–Korea rupture (:data:`RUPTURE`: JP→KR materials and equipment, 0.8, 2026Q1–2027Q4),
  the shock's impact on the shortfall of those quarters under jk_cocreation minus under status_quo (a difference
  in differences): Korean firms' shortfall −1.87 pp (−2.54 to −1.21), the world's −0.52 pp (−0.84 to −0.20),
  i.e. co-creation cushions it through consultation (``restriction_relief`` 0.5, ODD §7.16); with the relief off,
  Korean firms' +0.04 pp (−1.14 to +1.23) and the world's −0.21 pp (−0.63 to +0.21): the links alone do not
  cushion it (the test asserts that the Korean interval reaches above 0: its upper end is +1.23 pp).

Measured, not tested

* decoupling and the site-level ``unit_cost_index``: at quarter 32 −0.0004 (−0.0026 to +0.0018), mean over
  quarters 1–32 −0.0006 (−0.0014 to +0.0002): sites' own costs barely move; what rises is the cost per unit of
  output (inputs paid for but stranded, rerouting, input prices);
* the raid also lowers Korean investment in the US beyond the delay: KR-home operating capacity-quarters in the US
  −7,694 (−11,140 to −4,247), projects −4.05 (−7.09 to −1.02) — both outside 0 at 20 seeds at this commit (at the
  one before, the projects' interval nearly touched 0); not asserted;
* shocks from third parties and the milder 2019-type restriction are not cushioned: after a shock applied to both
  sides (:data:`SHOCKS`, chosen before measuring), the mean supply shortfall from the shock on, jk_cocreation −
  status_quo, is within noise: CN materials restriction −0.01 pp (−0.20 to +0.18), KR firms' +0.06 pp (−0.26 to
  +0.37); Taiwan blockade +0.11 pp (−0.06 to +0.29); JP→KR materials restriction (0.3) −0.002 pp (−0.16 to
  +0.16), KR firms' +0.22 pp (−0.02 to +0.47);
* ``knowledge_gap_jk`` (the mean gap over active JP–KR partnerships and projects) does not move measurably under
  jk_cocreation, −0.0002 (−0.0042 to +0.0039): it averages over whichever JP–KR pairs are active, and co-creation
  changes which are, so it does not measure convergence; the tested country gap above does.
"""

from __future__ import annotations

import ast
from functools import lru_cache

import numpy as np
import pytest

from experiments.runner import run_scenario
from experiments.sensitivity import t_interval

QUARTERS = 32
TIGHTENING = {"events": [{"type": "subsidy_tightening", "country": "US", "start": "2025Q2",
                          "condition": "technology_transfer", "magnitude": 0.10}]}
RAID = {"event_library": ["georgia_raid_2025"]}


def _key(overrides: dict) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in overrides.items()))


@lru_cache(maxsize=None)
def _outcomes(scenario: str, key: tuple, seed: int) -> dict[str, float]:
    """One run reduced to the outcomes the claims need (cached: references are shared between tests)."""
    overrides = {k: ast.literal_eval(v) for k, v in key}
    model = run_scenario(scenario, seed=seed, quarters=QUARTERS, overrides=overrides)
    tables = model.tables()
    m = tables["metrics"]
    sites = tables["sites"]
    kr_us = sites[(sites["home"] == "KR") & (sites["country"] == "US")]
    operating = kr_us[kr_us["status"] == "operating"]
    first = kr_us[(kr_us["step"] == 0) & (kr_us["status"] == "building")]["site"].unique()
    online = [operating.loc[operating["site"] == s, "step"].min() for s in first]
    online = [QUARTERS + 1 if not np.isfinite(x) else x for x in online]   # not online by the end: counted at Q+1
    inv = tables["investments"]
    kr_us_started = inv[(~inv["deferred"].astype(bool)) & (inv["home"] == "KR") & (inv["country"] == "US")]
    return {
        "unit_cost_index": float(m["unit_cost_index"].iloc[-1]),
        "unit_cost_index_mean": float(m["unit_cost_index"].iloc[1:].mean()),
        "shortfall_from_2026Q1": float(m.loc[m["step"] >= 4, "supply_shortfall"].mean()),
        "shortfall_KR_from_2026Q1": float(m.loc[m["step"] >= 4, "shortfall_KR"].mean()),
        "shortfall_from_2027Q3": float(m.loc[m["step"] >= 10, "supply_shortfall"].mean()),
        # the quarters of the rupture (:data:`RUPTURE`, 2026Q1–2027Q4 = steps 4–11)
        "shortfall_2026_27": float(m.loc[(m["step"] >= 4) & (m["step"] < 12), "supply_shortfall"].mean()),
        "shortfall_KR_2026_27": float(m.loc[(m["step"] >= 4) & (m["step"] < 12), "shortfall_KR"].mean()),
        "kr_us_projects": float(len(kr_us_started)),
        "cost_per_output": float(m["cost_per_output"].iloc[1:].mean()),
        "price_chips": float(m["price_chips"].iloc[1:].mean()),
        "price_logic": float(m["price_logic"].iloc[1:].mean()),
        "price_memory": float(m["price_memory"].iloc[1:].mean()),
        "trade_JP_KR": float(m["trade_JP_KR"].iloc[1:].mean()),
        "knowledge_gap_jk": float(m["knowledge_gap_jk"].iloc[-1]),
        "technology_gap_countries": float(abs(m["technology_JP"].iloc[-1] - m["technology_KR"].iloc[-1])),
        "kr_us_capacity_quarters": float(operating["capacity"].sum()),
        "kr_us_online_step": float(np.mean(online)) if online else float("nan"),
    }


def paired(scenario: str, reference: str, outcome: str, seeds: int, overrides: dict | None = None,
           reference_overrides: dict | None = None) -> dict[str, float]:
    """Mean and 95% t-interval of outcome(scenario) − outcome(reference) over seeds 0…seeds−1."""
    a = np.array([_outcomes(scenario, _key(overrides or {}), s)[outcome] for s in range(seeds)])
    b = np.array([_outcomes(reference, _key(reference_overrides or {}), s)[outcome] for s in range(seeds)])
    d = t_interval(a - b)
    print(f"{scenario}{overrides or ''} − {reference}: {outcome} {d['mean']:+.4g} "
          f"({d['ci_low']:.4g} to {d['ci_high']:.4g}), n = {d['n']}")
    return d


def test_separation_raises_unit_costs():
    """Decoupling raises what a unit of output costs: inputs that restrictions strand are paid for but not turned
    into output, rerouting costs, and input prices (``cost_per_output``, mean over the run). The capacity-weighted
    ``unit_cost_index`` of sites does not move measurably (see the module docstring)."""
    d = paired("decoupling", "status_quo", "cost_per_output", seeds=5)
    assert d["mean"] > 0 and d["ci_low"] > 0, d


@pytest.mark.parametrize("price", ["price_chips", "price_logic", "price_memory"])
def test_separation_raises_final_chip_prices(price):
    """Decoupling (export restrictions between the western bloc and China) raises logic and memory prices."""
    d = paired("decoupling", "status_quo", price, seeds=5)
    assert d["mean"] > 0 and d["ci_low"] > 0, d


@pytest.mark.slow
def test_tightening_us_conditions_slows_korean_investment_in_the_us():
    """A subsidy-tightening event in the US (technology transfer +10% of capex) leaves less KR-home capacity operating
    in the US over the run: fewer projects there; the announced ones keep their dates."""
    d = paired("baseline", "baseline", "kr_us_capacity_quarters", seeds=20, overrides=TIGHTENING)
    assert d["mean"] < 0 and d["ci_high"] < 0, d
    assert paired("baseline", "baseline", "kr_us_online_step", seeds=5, overrides=TIGHTENING)["mean"] == 0


@pytest.mark.slow
def test_the_2025_immigration_raid_delays_korean_sites_in_the_us():
    """The Georgia raid (immigration enforcement against KR workers in the US, 2025Q3–2026Q3) makes KR-home sites
    under construction in the US slip: they come online later.  (Fewer KR projects in the US is measured but not
    asserted; see the module docstring.)"""
    late = paired("baseline", "baseline", "kr_us_online_step", seeds=20, overrides=RAID)
    assert late["mean"] > 0.25 and late["ci_low"] > 0, late


def test_the_raid_leaves_other_countries_firms_alone():
    """The raid acts on its host only: the same enforcement against KR workers in Japan leaves the online dates of
    KR firms' announced US sites exactly as they were (announced sites slip only under a raid in their host)."""
    ev = {"events": [{"type": "immigration_enforcement", "country": "JP", "home": "KR", "start": "2025Q3",
                      "end": "2026Q3", "magnitude": 0.3}]}
    d = paired("baseline", "baseline", "kr_us_online_step", seeds=5, overrides=ev)
    assert d["mean"] == 0 and d["ci_low"] == 0 == d["ci_high"], d


@pytest.mark.parametrize("outcome, sign, seeds", [
    ("trade_JP_KR", +1, 10),
    # measured −0.0185 (−0.0246 to −0.0123) over 20 seeds; at this commit seeds 0–9 alone separate it too
    # (−0.0203, −0.0304 to −0.0102), which they did not at the one before
    pytest.param("technology_gap_countries", -1, 20, marks=pytest.mark.slow),
])
def test_jk_cocreation_raises_trade_and_closes_the_technology_gap(outcome, sign, seeds):
    """All co-creation levers on (jk_cocreation) raise JP→KR trade and bring JP and KR technology closer: the gap
    between JP-home and KR-home firms' mean technology at the last quarter falls.

    Not ``knowledge_gap_jk``: it averages over the active JP–KR partnerships and projects, and co-creation about
    doubles their number, adding pairs whose gap is wider, so it can rise while Korean firms catch up."""
    d = paired("jk_cocreation", "status_quo", outcome, seeds=seeds)
    assert sign * d["mean"] > 0, d
    assert (d["ci_low"] > 0) if sign > 0 else (d["ci_high"] < 0), d


# ---------------------------------------------------------------------------------------- measurements
#: Shocks applied to both jk_cocreation and status_quo for the resilience claim (chosen before measuring): a Chinese
#: materials restriction on Japan and Korea (decoupling's retaliation, magnitude 0.5, from 2026Q1), the Taiwan
#: blockade of taiwan_contingency (2027Q3–2028Q2, 0.9), and a repeat of Japan's 2019 materials licensing for Korea
#: (0.3, 2026Q1–2027Q4).
SHOCKS = {
    "CN materials restriction": ([{"type": "export_restriction", "exporter": "CN", "importer": c, "start": "2026Q1",
                                   "segments": ["materials"], "magnitude": 0.5} for c in ("JP", "KR")],
                                 "shortfall_from_2026Q1"),
    "Taiwan blockade": ([{"id": "tw_blockade", "type": "blockade", "country": "TW", "start": "2027Q3",
                          "end": "2028Q3", "magnitude": 0.9}], "shortfall_from_2027Q3"),
    "JP→KR materials restriction": ([{"type": "export_restriction", "exporter": "JP", "importer": "KR",
                                      "start": "2026Q1", "end": "2028Q1", "segments": ["materials"],
                                      "magnitude": 0.3}], "shortfall_from_2026Q1"),
}


#: A severe Japan–Korea political rupture: Japan restricts materials and equipment for Korea at 0.8 for two years
#: (2026Q1–2027Q4) — the 2019 curbs' kind of shock, larger.  Resilience is its impact on the shortfall in those
#: quarters, against the same scenario without it (a difference in differences, paired on the seed).
RUPTURE = {"events": [{"type": "export_restriction", "exporter": "JP", "importer": "KR", "start": "2026Q1",
                       "end": "2028Q1", "segments": ["materials", "equipment"], "magnitude": 0.8}]}


def shock_impact(scenario: str, outcome: str, seeds: int, shock: dict, overrides: dict | None = None) -> np.ndarray:
    """Per seed, outcome(scenario + shock) − outcome(scenario): what the shock does to that world."""
    base = dict(overrides or {})
    with_shock = {**base, **shock}
    return np.array([_outcomes(scenario, _key(with_shock), s)[outcome] - _outcomes(scenario, _key(base), s)[outcome]
                     for s in range(seeds)])


def resilience_gain(outcome: str, seeds: int, shock: dict = RUPTURE, overrides: dict | None = None) -> dict[str, float]:
    """Shock impact under jk_cocreation (with ``overrides``) minus under status_quo: < 0 = co-creation cushions it."""
    d = t_interval(shock_impact("jk_cocreation", outcome, seeds, shock, overrides)
                   - shock_impact("status_quo", outcome, seeds, shock))
    print(f"resilience{overrides or ''}: {outcome} impact jk_cocreation − status_quo {d['mean']:+.4g} "
          f"({d['ci_low']:.4g} to {d['ci_high']:.4g}), n = {d['n']}")
    return d


@pytest.mark.slow
def test_jk_cocreation_cushions_a_japan_korea_rupture():
    """The column's resilience claim, where the model supports it: a severe JP→KR restriction (:data:`RUPTURE`) cuts
    Korean firms' output less under jk_cocreation than under status_quo, because harmonised export controls license
    part of a restriction between members through consultation (``restriction_relief``, ODD §7.16)."""
    d = resilience_gain("shortfall_KR_2026_27", seeds=20)
    assert d["mean"] < 0 and d["ci_high"] < 0, d


@pytest.mark.slow
def test_without_consultation_cocreation_deepens_the_exposure():
    """The other side of the claim: with the consultation relief off, co-creation's deeper JP→KR links do not make
    Korean firms measurably less exposed to the rupture (the interval of the gain reaches above 0), so the cushion
    above comes from the institution, not from the links."""
    d = resilience_gain("shortfall_KR_2026_27", seeds=20,
                        overrides={"cocreation.export_control.restriction_relief": 0.0})
    assert d["ci_high"] > 0, d


def measure(seeds: int = 20) -> None:
    """Print every effect of the column's claims, tested or not (``python tests/test_claims.py [SEEDS]``)."""
    paired("decoupling", "status_quo", "price_logic", seeds)
    paired("decoupling", "status_quo", "price_memory", seeds)
    paired("decoupling", "status_quo", "unit_cost_index", seeds)
    paired("decoupling", "status_quo", "unit_cost_index_mean", seeds)
    for outcome in ("kr_us_capacity_quarters", "kr_us_projects", "kr_us_online_step"):
        paired("baseline", "baseline", outcome, seeds, overrides=TIGHTENING)
        paired("baseline", "baseline", outcome, seeds, overrides=RAID)
    paired("jk_cocreation", "status_quo", "trade_JP_KR", seeds)
    paired("jk_cocreation", "status_quo", "knowledge_gap_jk", seeds)
    paired("jk_cocreation", "status_quo", "technology_gap_countries", seeds)
    resilience_gain("shortfall_KR_2026_27", seeds)
    resilience_gain("shortfall_2026_27", seeds)
    resilience_gain("shortfall_KR_2026_27", seeds, overrides={"cocreation.export_control.restriction_relief": 0.0})
    resilience_gain("shortfall_2026_27", seeds, overrides={"cocreation.export_control.restriction_relief": 0.0})
    for name, (events, outcome) in SHOCKS.items():
        print(f"shock: {name}")
        paired("jk_cocreation", "status_quo", outcome, seeds, overrides={"events": events},
               reference_overrides={"events": events})
        if outcome == "shortfall_from_2026Q1":
            paired("jk_cocreation", "status_quo", "shortfall_KR_from_2026Q1", seeds, overrides={"events": events},
                   reference_overrides={"events": events})


if __name__ == "__main__":
    import sys
    import warnings

    warnings.simplefilter("ignore")
    measure(int(sys.argv[1]) if len(sys.argv) > 1 else 20)
