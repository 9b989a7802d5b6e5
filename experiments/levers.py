"""The lever table: every co-creation lever and policy instrument → its effect on the outcomes, with 95% intervals.

A :class:`Lever` names a reference scenario (``status_quo`` or ``baseline``),
the overrides (dotted schema paths, as ``--set`` takes them) that switch the
lever on or move it, and why that move.  :func:`lever_table` runs the lever
and its reference on the same seeds 0…N−1 (common random numbers), reduces
each run to one number per outcome (:data:`COLUMNS`: stocks at the final
quarter, flows as the mean over the simulated quarters), and reports the
paired difference lever − reference with its 95% t-interval over seeds.  A
lever whose every interval in the table contains 0 is flagged "no measurable
effect"; :data:`SECONDARY` metrics (the channels a lever acts through) are
also reduced, so that such a lever's row can say what it does move.

``kyoso levers`` is the command; ``docs/LEVERS.md`` is its output::

    from experiments.levers import lever_table
    table = lever_table(["us_tariff", "cc_export_control"], seeds=5, quarters=32)
    print(table.markdown())
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from experiments.errors import UserError
from experiments.sensitivity import metric_display, reduce_runs, t_interval

__all__ = ["Lever", "Column", "LEVERS", "COLUMNS", "SECONDARY", "QUICK", "lever_names", "get_lever",
           "lever_table", "LeverTable", "format_cell", "parse_cell"]


@dataclass(frozen=True)
class Lever:
    """One lever: what it moves, from which reference, and why.

    ``overrides`` are applied on top of ``base`` + ``reference`` for the
    lever's runs; ``reference`` (often empty) is applied to both sides, for a
    lever that acts on top of another setting (tit-for-tat answers a tariff).
    ``scenario`` replaces ``base`` on the lever's side (the whole
    ``jk_cocreation`` against ``status_quo``).  ``note`` says where the lever
    acts in the model (docs/ODD.md), so that a row without a measurable effect
    carries its explanation.
    """

    name: str
    label: str
    kind: str                                    # "co-creation" or "policy"
    base: str
    overrides: Mapping[str, Any]
    note: str
    reference: Mapping[str, Any] = field(default_factory=dict)
    scenario: str | None = None

    def runs(self) -> tuple[tuple[str, tuple], tuple[str, tuple]]:
        """(scenario, overrides) of the reference and of the lever, hashable."""
        ref = (self.base, _freeze(self.reference))
        lev = (self.scenario or self.base, _freeze({**self.reference, **self.overrides}))
        return ref, lev


def _freeze(overrides: Mapping[str, Any]) -> tuple:
    return tuple(sorted((k, repr(v)) for k, v in overrides.items()))


_JK = ("cocreation.members", ["JP", "KR"])
_FUND = {"cocreation.fund.enabled": True, "cocreation.fund.budget": 0.1,
         "cocreation.fund.contributions": {"JP": 0.05, "KR": 0.05}}

#: Every lever of the table.  Co-creation levers start from ``status_quo`` (every lever off) and are set as in
#: ``jk_cocreation`` (model/data/jk_cocreation.toml), so that the single rows decompose the last one; policy
#: instruments start from ``baseline`` and move one government's setting by a stated amount.
LEVERS: tuple[Lever, ...] = (
    # ------------------------------------------------------------------ co-creation (ODD §7.14)
    Lever("cc_investment_protection", "investment-protection agreement JP–KR, strength 0.5 (as in jk_cocreation)",
          "co-creation", "status_quo",
          {_JK[0]: _JK[1], "cocreation.investment_protection.enabled": True,
           "cocreation.investment_protection.strength": 0.5},
          "Halves the bilateral part of the risk investors price (ODD §7.14, §7.18), and only for a JP-home firm "
          "building in Korea or a KR-home firm building in Japan; the host's country risk is unchanged. It moves "
          "projects between Japan and Korea, and few projects cross between the two, so world shares by bloc and "
          "concentration barely move."),
    Lever("cc_export_control", "export-control harmonisation JP–KR, strength 1 (exposure of JP–KR links 0.3 → 0)",
          "co-creation", "status_quo",
          {_JK[0]: _JK[1], "cocreation.export_control.enabled": True, "cocreation.export_control.strength": 1.0},
          "Removes the export-control exposure of cross-border links between members (ODD §7.9, §7.14): partner "
          "utility rises and licence friction and disruption on JP–KR links vanish. It acts on supply partnerships, "
          "not on where fabs are built. Its consultation relief (half of a JP–KR export restriction licensed "
          "through, ODD §7.16) acts only while such a restriction is in force, and none is scheduled here: "
          "tests/test_claims.py measures it under a JP→KR rupture."),
    Lever("cc_talent", "talent circulation JP–KR, mobility 0.3 (as in jk_cocreation)", "co-creation", "status_quo",
          {_JK[0]: _JK[1], "cocreation.talent.enabled": True, "cocreation.talent.mobility": 0.3},
          "Members draw on 30% of the other members' free skilled pools (ODD §7.7): skill availability in location "
          "choice, shortage delays and wages. It matters only where a member's regions are short of skilled labour."),
    Lever("cc_standards", "common supply-chain standards JP–KR, switching cost −50% (as in jk_cocreation)",
          "co-creation", "status_quo",
          {_JK[0]: _JK[1], "cocreation.standards.enabled": True,
           "cocreation.standards.switching_cost_reduction": 0.5},
          "Halves the switching cost that protects an incumbent supplier when the buyer and the incumbent are both "
          "from member countries, domestic JP–JP and KR–KR links included, and only when a partnership is reviewed "
          "(ODD §7.9, 5% of partnerships a quarter). As coded it makes member buyers freer to leave member "
          "suppliers rather than drawing them to one another, and it changes who supplies whom, not how much is "
          "delivered, so little effect on the outcomes of the table is to be expected."),
    Lever("cc_ip_licence", "IP regime: time- and use-limited licences (5 years, scope 0.5) instead of joint ownership",
          "co-creation", "status_quo",
          {"cocreation.ip.regime": "licence", "cocreation.ip.licence_years": 5.0,
           "cocreation.ip.licence_scope": 0.5},
          "Lowers the IP-leakage exposure κ from 1 to 0.25 (ODD §7.12): cross-border partner choice and the leader's "
          "sharing rate in partnerships and joint projects, hence knowledge spill and the JP–KR gap."),
    Lever("cc_fund_lump_sum", "JP–KR partnership fund, lump-sum: USD 0.1 bn + 0.05 bn a year from each",
          "co-creation", "status_quo", {_JK[0]: _JK[1], **_FUND, "cocreation.fund.mode": "lump_sum"},
          "Joint research projects hosted by AIST, RIKEN, KAIST and ETRI (ODD §7.13): knowledge spill within "
          "projects and country-pair trust. The fund is small (a few projects a year) and touches no fab "
          "investment, so it should move the knowledge gap and trust, not capacity."),
    Lever("cc_fund_stage_gated", "JP–KR partnership fund, stage-gated with KPIs (same money as lump-sum)",
          "co-creation", "status_quo", {_JK[0]: _JK[1], **_FUND, "cocreation.fund.mode": "stage_gated"},
          "As the lump-sum fund, but a project's next stage is paid only if the leader's sharing met the KPI, which "
          "raises the leader's expected gain and so its sharing (ODD §7.12–7.13)."),
    Lever("cc_all", "all co-creation levers on (the jk_cocreation scenario against status_quo)", "co-creation",
          "status_quo", {}, scenario="jk_cocreation",
          note="The six levers above together, as model/data/jk_cocreation.toml sets them; that scenario also gives "
               "half of the firms supply-chain visibility (resilience.visibility_share = 0.5, ODD §7.20), which "
               "acts only on scheduled disruptions and so does nothing in a run without events."),
    # ------------------------------------------------------------------ policy instruments (ODD §7.1, §7.5, §7.19)
    Lever("us_subsidy_rate", "US subsidy rate 0.10 → 0.30 of capex (budget unchanged, USD 13.2 bn)", "policy",
          "baseline", {"governments.US.subsidy_rate": 0.30},
          "The grant share of capex in the net subsidy of a US location (ODD §7.4–7.5). A grant is capped by the "
          "budget still available (§7.1) and the US has no new appropriations: once its USD 13.2 bn are committed, "
          "the rate no longer matters. A higher rate commits the same money sooner, to fewer projects, so over a "
          "run of several years the two settings spend the same total; the effect is a shift in timing. "
          "`us_budget` is the lever that adds money."),
    Lever("us_budget", "US subsidy budget USD 13.2 bn → 52.2 bn (+39 bn, a second CHIPS Act's incentives)",
          "policy", "baseline", {"governments.US.budget": 52.2},
          "The budget limits what the US can commit at its 10% rate (ODD §7.1); more money helps only once the "
          "original USD 13.2 bn would have run out. If the extra money is never exhausted, the row equals "
          "`us_annual_budget`: in both the grant stays available for the whole run, so firms decide the same."),
    Lever("us_annual_budget", "US appropriations USD 0 → 5 bn a year (as in us_localisation)", "policy", "baseline",
          {"governments.US.annual_budget": 5.0},
          "New money each quarter (ODD §7.1) after the initial budget is committed: the US keeps offering its 10% "
          "grant for the whole run instead of only while the initial USD 13.2 bn last."),
    Lever("rival_response",
          "Japan, Korea and Europe answer the highest rival subsidy rate, closing half the gap a year "
          "(as in us_localisation)", "policy", "baseline",
          {f"governments.{c}.rival_response": 0.5 for c in ("JP", "KR", "EU")},
          "The subsidy race (ODD §7.19): each year a responding government's rate closes half its gap to the highest "
          "rate another government offers, only upward, within its max_subsidy_rate and while it has money. Korea's "
          "USD 5.7 bn and Europe's USD 10 bn are soon committed at the higher rates, Japan's USD 65 bn last longer."),
    Lever("kr_corporate_tax", "Korean effective corporate tax 27% → 10% (TSMC's effective rate in Taiwan)", "policy",
          "baseline", {"governments.KR.corporate_tax": 0.10},
          "The tax on the profits of firms headquartered in Korea (ODD §7.15): more retained cash for KR-home firms, "
          "which relaxes the equity and leverage checks of their projects (§7.4) wherever they build."),
    Lever("jp_local_content_off", "Japan's local-content rule 0.5 → 0 (no local sourcing forced on grant holders)",
          "policy", "baseline", {"governments.JP.local_sourcing_share": 0.0},
          "Japan's JASM-style rule (ODD §7.9) makes a firm holding a Japanese grant form half of its supply "
          "partnerships per input with Japanese suppliers; switching it off lets such firms source by the partner "
          "logit alone, which moves trade and, through partnerships, where inputs come from."),
    Lever("kr_subsidy_rate", "Korean capex grant 0 → 0.20 of capex (from its USD 5.7 bn budget)", "policy",
          "baseline", {"governments.KR.subsidy_rate": 0.20},
          "Korea pays no grants in the baseline (its support is loans and a tax credit); a 20% grant enters the "
          "net-subsidy term of location choice for Korean regions (ODD §7.5)."),
    Lever("kr_policy_loans_off", "Korea's KDB policy loans USD 12.3 bn → 0 (the ₩17 trn of 2024 removed)", "policy",
          "baseline", {"governments.KR.loan_budget": 0.0},
          "The loans cover 10% of the capex of a Korean firm's project in Korea at 0.9 points below its cost of "
          "debt (ODD §7.1): the project's discount rate falls by 0.1 × 0.009, its grant equivalent enters the "
          "net-subsidy term of location choice (§7.5) and the loan's part is financed outside the firm's own "
          "check (§7.4). The envelope is lent within the first few years of a run; after that the row measures "
          "what the earlier projects left behind."),
    Lever("kr_loan_terms", "Korean policy loans on SME terms: 30% of capex at 1.5 points below (baseline 10%, 0.9)",
          "policy", "baseline", {"governments.KR.loan_share": 0.30, "governments.KR.loan_rate_cut": 0.015},
          "Larger, cheaper loans from the same USD 12.3 bn envelope (1.2–1.5 points is the preference reported for "
          "SMEs): a larger rate relief per project (0.0045 against 0.0009 a year) and more of the capex outside "
          "the finance check, but each project takes three times as much of the envelope."),
    Lever("kr_loans_foreign", "Korean policy loans open to foreign firms building in Korea (baseline: Korean firms "
          "only)", "policy", "baseline", {"governments.KR.loan_home_only": False},
          "Foreign firms' projects in Korea also get the loan (ODD §7.1), so the location pull of the loan reaches "
          "them, and the envelope is shared with them."),
    Lever("us_tax_credit", "US investment tax credit 0.35 → 0 (the 48D credit repealed)", "policy", "baseline",
          {"governments.US.tax_credit": 0.0},
          "The tax credit is part of the net subsidy of a US location (ODD §7.5), paid on completion and not "
          "budget-limited."),
    Lever("us_tariff", "US tariff 0 → 25% on all chip imports", "policy", "baseline", {"governments.US.tariff": 0.25},
          "Tariffs enter where firms build (the market-weighted tariff a region's exports face, ODD §7.4–7.5), "
          "partner choice (on the supplier's cost) and tariff_mean (§7.19). They do not enter prices directly: a "
          "price effect comes from where and how much capacity is built."),
    Lever("cn_tit_for_tat", "China answers tariffs (tit-for-tat), given the US 25% tariff on both sides", "policy",
          "baseline", {"governments.CN.tit_for_tat": True}, reference={"governments.US.tariff": 0.25},
          note="China raises its tariff on US exports to the US rate (ODD §7.19); the effect is measured on top of "
               "the US tariff, which both sides carry. China's market is 29% of demand, so a region exporting from "
               "the US faces a higher market-weighted tariff."),
    Lever("us_conditions", "US technology-transfer condition 0 → 0.10 of capex on its grants", "policy", "baseline",
          {"governments.US.conditions.technology_transfer": 0.10},
          "Conditions bind only a project that takes a grant (ODD §7.6): it pays them in cash with the capex, they "
          "lower the net subsidy of a US location (§7.5), and a technology-transfer condition also lifts the US "
          "firms of the segment toward the recipient. The US has no new appropriations in the baseline, so once "
          "its USD 13.2 bn are committed no project takes a US grant and the condition acts on nothing: its effect "
          "is confined to the first years of the run."),
    Lever("screening_off", "investment screening off in the US, Japan, Korea and Taiwan", "policy", "baseline",
          {f"governments.{c}.screens_concern": False for c in ("US", "JP", "KR", "TW")},
          "Screening closes these countries to firms whose home is a country of concern (China; ODD §7.1). "
          "Switching it off lets Chinese firms start projects there (the investments table lists them by home and "
          "country), but the capacity they add is a small part of world capacity and partly replaces what they "
          "would have built at home, so shares by location, concentration and prices move less than their seed "
          "noise. The registry has no metric of where a home country's firms build; ODD §7.1 measures this lever "
          "on the investments table."),
    Lever("us_guardrail_off", "US CHIPS guardrail 10 years → none", "policy", "baseline",
          {"governments.US.guardrail_years": 0.0},
          "A US grant bars its recipient from starting projects in China for 10 years (ODD §7.1). Without it, "
          "recipients may build there again; the concern_ban condition still prices the bar into the offer."),
    Lever("us_strategic_target", "US strategic target: a 20% share of world fab capacity (as in us_localisation)",
          "policy", "baseline",
          {"governments.US.strategic_target": 0.20, "governments.US.target_adjustment": 0.5,
           "governments.US.max_subsidy_rate": 0.35},
          "The US subsidy rate rises by about 0.013 a quarter toward its cap of 0.35 while the US is below 20% "
          "(ODD §7.19), but only while budget is left. Without new appropriations (us_localisation adds USD 5 bn a "
          "year; this row does not) it acts like `us_subsidy_rate`: the same USD 13.2 bn, committed sooner."),
    Lever("us_condition_drift", "US conditions tighten by 2% of capex a year, cap 10% (as in us_localisation)",
          "policy", "baseline", {"governments.US.condition_drift": 0.02, "governments.US.condition_cap": 0.10},
          "Technology-transfer and data-disclosure conditions drift upward each quarter (ODD §7.19): after 8 "
          "quarters 4% of capex has been added. As with `us_conditions`, only projects that take a US grant pay "
          "them, and without new appropriations there are none once the US budget is committed."),
)
_BY_NAME = {lv.name: lv for lv in LEVERS}


@dataclass(frozen=True)
class Column:
    """One outcome column of the table: a metric of the registry and how a run is reduced to one number."""

    metric: str
    at: str            # "final" (stocks) or "mean" (flows, mean over quarters 1…Q)
    header: str
    unit: str | None = None    # a short form of the registry's display unit for the table's header


#: The outcome columns (issue 10): capacity shares, concentration, clustering, unit cost, chip prices, JP→KR
#: trade, the JP–KR knowledge gap and the supply shortfall.  There is no aggregate final-price metric; the
#: logic and memory prices are the two fab segments that make most final chips.
COLUMNS: tuple[Column, ...] = (
    Column("share_JP", "final", "JP share"),
    Column("share_KR", "final", "KR share"),
    Column("share_US", "final", "US share"),
    Column("share_TW", "final", "TW share"),
    Column("share_CN", "final", "CN share"),
    Column("share_bloc_western", "final", "western bloc share"),
    Column("hhi_country", "final", "country HHI"),
    Column("clustering_index", "final", "clustering index", "0–1"),
    Column("unit_cost_index", "final", "unit cost index", "step 0 = 1"),
    Column("cost_per_output", "mean", "cost per output", "USD per USD"),
    Column("price_chips", "mean", "chip price index", "base = 1"),
    Column("trade_JP_KR", "mean", "trade JP→KR", "USD bn/quarter"),
    Column("knowledge_gap_jk", "final", "JP–KR knowledge gap"),
    Column("supply_shortfall", "mean", "supply shortfall", "pp"),
)

#: Channels a lever acts through; reported (in the CSV, and next to a row without a measurable effect) but not
#: columns of the table.
SECONDARY: tuple[Column, ...] = (
    Column("price_logic", "mean", "logic price", "USD/wafer"),
    Column("price_memory", "mean", "memory price", "USD/wafer"),
    Column("investments_started", "mean", "projects started"),
    Column("capacity_fab", "final", "fab capacity"),
    Column("subsidy_paid_cumulative", "final", "subsidies paid"),
    Column("tax_credit_paid", "mean", "tax credits paid"),
    Column("finance_blocked_share", "mean", "projects blocked by finance"),
    Column("firm_tax", "mean", "firms' tax"),
    Column("tariff_mean", "mean", "mean tariff"),
    Column("labour_shortage", "mean", "skilled-labour shortage"),
    Column("construction_delays", "mean", "construction delays"),
    Column("partnerships_jk", "final", "JP–KR partnerships"),
    Column("partnerships_members", "final", "partnerships between members"),
    Column("partnership_changes", "mean", "partnership changes"),
    Column("trust_jk", "final", "JP–KR trust"),
    Column("technology_JP", "final", "JP technology"),
    Column("technology_KR", "final", "KR technology"),
    Column("knowledge_sharing_rate", "mean", "knowledge sharing rate"),
    Column("projects_active", "final", "joint projects"),
    Column("trade_KR_JP", "mean", "trade KR→JP"),
    Column("perceived_risk_mean", "mean", "perceived risk"),
    Column("deferrals", "mean", "deferrals"),
    Column("friendshored_share", "final", "friend-shored share"),
)

#: ``--quick``: seeds and quarters when not given (a smoke test of the whole table, not a result).
QUICK = {"seeds": 2, "quarters": 12}
DEFAULT_SEEDS, DEFAULT_QUARTERS = 10, 32


def scaled_subsidies(scenario: str = "baseline", factor: float = 1.0) -> dict[str, float]:
    """Overrides that scale every government's grant rate, budgets and tax credit by ``factor`` (rates capped
    at 1): 0 removes all subsidies, 1.5 raises them by half (ODD 7.4.1)."""
    from model.scenario import load_scenario

    out: dict[str, float] = {}
    for c, g in load_scenario(scenario).governments.items():
        out[f"governments.{c}.subsidy_rate"] = min(1.0, g.subsidy_rate * factor)
        out[f"governments.{c}.tax_credit"] = min(1.0, g.tax_credit * factor)
        out[f"governments.{c}.budget"] = g.budget * factor
        out[f"governments.{c}.annual_budget"] = g.annual_budget * factor
    return out


def lever_names() -> list[str]:
    return [lv.name for lv in LEVERS]


def get_lever(name: str) -> Lever:
    """The lever called ``name``; a one-line UserError with the known names otherwise."""
    from model.scenario import known_hint

    if name not in _BY_NAME:
        raise UserError(f"--lever {name!r}: unknown lever ({known_hint(name, lever_names())})")
    return _BY_NAME[name]


# ---------------------------------------------------------------------------------------------- running
def _run_one(scenario: str, seed: int, quarters: int, overrides: dict[str, Any]) -> dict[tuple[str, str], float]:
    """One run reduced to {(metric, at): value} for every column and secondary metric (a worker's task)."""
    from experiments.runner import run_scenario

    model = run_scenario(scenario, seed=seed, quarters=quarters, overrides=overrides)
    table = model.metrics()
    out: dict[tuple[str, str], float] = {}
    for at in ("final", "mean"):
        cols = [c.metric for c in (*COLUMNS, *SECONDARY) if c.at == at]
        row = reduce_runs(table, cols, at).iloc[0]
        out |= {(m, at): float(row[m]) for m in cols}
    return out


def _check(levers: Sequence[str | Lever] | None, seeds: int, quarters: int) -> list[Lever]:
    if isinstance(seeds, bool) or not isinstance(seeds, (int, np.integer)) or seeds < 2:
        raise UserError(f"--seeds {seeds}: expected a whole number ≥ 2 (a 95% interval over seeds needs two)")
    if isinstance(quarters, bool) or not isinstance(quarters, (int, np.integer)) or quarters < 1:
        raise UserError(f"--quarters {quarters}: expected a whole number ≥ 1")
    items = list(levers) if levers else lever_names()
    names = [lv.name if isinstance(lv, Lever) else lv for lv in items]
    if len(set(names)) < len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise UserError(f"--lever {dup!r}: named twice")
    chosen = [lv if isinstance(lv, Lever) else get_lever(lv) for lv in items]
    from model.scenario import load_scenario

    for lv in chosen:                               # bad overrides fail before any run, naming the lever
        for sc, ov in ((lv.base, lv.reference), (lv.scenario or lv.base, {**lv.reference, **lv.overrides})):
            try:
                load_scenario(sc, **ov)
            except Exception as exc:   # a ScenarioError or a validation error: the registry is wrong
                raise UserError(f"lever {lv.name!r}: its scenario does not load: {exc}") from None
    return chosen


def lever_table(levers: Sequence[str | Lever] | None = None, seeds: int = DEFAULT_SEEDS,
                quarters: int = DEFAULT_QUARTERS, workers: int = 1, progress: Any = None) -> "LeverTable":
    """Run every lever (names of :data:`LEVERS` or :class:`Lever` objects; default: all of :data:`LEVERS`) and its
    reference on seeds 0…``seeds``−1.

    References shared by several levers run once per seed.  ``workers`` > 1
    runs on local processes (:func:`experiments.executors.open_executor`).
    ``progress(done, total)`` is called after each run if given.
    """
    chosen = _check(levers, seeds, quarters)
    configs: dict[tuple, tuple[str, dict[str, Any]]] = {}
    for lv in chosen:
        (ref, lev) = lv.runs()
        configs.setdefault(ref, (lv.base, dict(lv.reference)))
        configs.setdefault(lev, (lv.scenario or lv.base, {**lv.reference, **lv.overrides}))
    seed_list = list(range(int(seeds)))
    tasks = [(key, s) for key in configs for s in seed_list]
    t0 = time.perf_counter()
    results: dict[tuple, dict[int, dict]] = {key: {} for key in configs}
    from experiments.executors import open_executor

    backend = "serial" if workers <= 1 else "processes"
    import warnings

    from model.scenario.references import EventsBeyondHorizonWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", EventsBeyondHorizonWarning)
        with open_executor(backend, workers=workers) as (ex, _, _desc):
            futures = [(key, s, ex.submit(_run_one, configs[key][0], s, int(quarters), configs[key][1]))
                       for key, s in tasks]
            for i, (key, s, fut) in enumerate(futures, 1):
                results[key][s] = fut.result()
                if progress is not None:
                    progress(i, len(futures))
    elapsed = time.perf_counter() - t0
    rows = []
    for lv in chosen:
        ref, lev = lv.runs()
        for col, role in [(c, "column") for c in COLUMNS] + [(c, "secondary") for c in SECONDARY]:
            a = np.array([results[lev][s][(col.metric, col.at)] for s in seed_list])
            b = np.array([results[ref][s][(col.metric, col.at)] for s in seed_list])
            d = t_interval(a - b)
            rows.append({"lever": lv.name, "kind": lv.kind, "role": role, "metric": col.metric, "at": col.at,
                         "header": col.header, "reference_mean": _nanmean(b), "lever_mean": _nanmean(a),
                         "diff": d["mean"], "diff_low": d["ci_low"], "diff_high": d["ci_high"], "n": d["n"],
                         "significant": bool(np.isfinite(d["ci_low"]) and (d["ci_low"] > 0 or d["ci_high"] < 0))})
    table = pd.DataFrame(rows)
    shown = {m: metric_display(m) for m in table["metric"].unique()}
    table["unit"] = table["metric"].map(lambda m: _diff_unit(shown[m][1]))
    table["scale"] = table["metric"].map(lambda m: shown[m][2])
    for c in ("reference_mean", "lever_mean", "diff", "diff_low", "diff_high"):
        table[c + "_display"] = table[c] * table["scale"]
    return LeverTable(chosen, seed_list, int(quarters), table, elapsed, len(tasks))


def _nanmean(v: np.ndarray) -> float:
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _diff_unit(display: str) -> str:
    """The unit of a difference: a difference of per-cent values is in percentage points."""
    if display == "%":
        return "pp"
    return display.replace("% of", "pp of") if display.startswith("% of") else display


# ---------------------------------------------------------------------------------------------- cells
_NUM = r"[+-]?(?:\d[\d,]*\.?\d*|n/a)"
_CELL = re.compile(rf"^(?:\*\*)?(?P<mean>{_NUM}) \((?P<low>{_NUM}) to (?P<high>{_NUM})\)(?:\*\*)?$")


def _digits(*values: float) -> int:
    finite = [abs(v) for v in values if np.isfinite(v) and v != 0]
    if not finite:
        return 0
    return int(min(max(0, 1 - math.floor(math.log10(max(finite)))), 6))


def _num(x: float, d: int, sign: bool) -> str:
    if not np.isfinite(x):
        return "n/a"
    text = f"{x:,.{d}f}"
    if float(text.replace(",", "")) == 0:
        return "0" if d == 0 else text.lstrip("-").lstrip("+")
    return ("+" + text) if sign and x > 0 else text


def format_cell(mean: float, low: float, high: float, significant: bool = False) -> str:
    """``'+1.2 (0.8 to 1.6)'``: two significant figures of the largest of the three; bold when significant."""
    if not np.isfinite(mean):
        return "n/a"
    d = _digits(mean, low, high)
    body = f"{_num(mean, d, True)} ({_num(low, d, False)} to {_num(high, d, False)})"
    return f"**{body}**" if significant else body


def parse_cell(text: str) -> tuple[float, float, float] | None:
    """The (mean, low, high) of a cell of :func:`format_cell` (None for 'n/a'); ValueError if it is no cell."""
    text = text.strip()
    if text == "n/a":
        return None
    m = _CELL.match(text)
    if not m:
        raise ValueError(f"not a lever-table cell: {text!r}")
    return tuple(float("nan") if m[g] == "n/a" else float(m[g].replace(",", "")) for g in ("mean", "low", "high"))


# ---------------------------------------------------------------------------------------------- the table
@dataclass
class LeverTable:
    """Paired differences lever − reference per lever × metric (``table``: stored and display units)."""

    levers: list[Lever]
    seeds: list[int]
    quarters: int
    table: pd.DataFrame
    elapsed: float
    runs: int

    def flagged(self) -> list[str]:
        """Levers with no measurable effect on anything: every interval, columns and secondary metrics, contains 0."""
        return [lv.name for lv in self.levers if not self.table[self.table["lever"] == lv.name]["significant"].any()]

    def quiet(self) -> list[str]:
        """Levers with no measurable effect on the table's columns (they may move secondary metrics)."""
        cols = self.table[self.table["role"] == "column"]
        return [lv.name for lv in self.levers if not cols[cols["lever"] == lv.name]["significant"].any()]

    def cells(self) -> pd.DataFrame:
        """Rows = levers, columns = the column headers (with unit), cells as :func:`format_cell`."""
        cols = self.table[self.table["role"] == "column"]
        out = {}
        for lv in self.levers:
            sub = cols[cols["lever"] == lv.name].set_index("metric")
            out[lv.name] = {_header(c, c.unit or sub.loc[c.metric, "unit"]): format_cell(
                sub.loc[c.metric, "diff_display"], sub.loc[c.metric, "diff_low_display"],
                sub.loc[c.metric, "diff_high_display"], bool(sub.loc[c.metric, "significant"])) for c in COLUMNS}
        return pd.DataFrame.from_dict(out, orient="index")

    def also_moves(self, name: str) -> list[str]:
        """The secondary metrics whose interval excludes 0 for lever ``name``, as 'header: cell'."""
        t = self.table
        sub = t[(t["lever"] == name) & (t["role"] == "secondary") & t["significant"]]
        return [f"{r.header} ({r.unit or 'no unit'}, {r.at}) "
                f"{format_cell(r.diff_display, r.diff_low_display, r.diff_high_display)}" for r in sub.itertuples()]

    def markdown(self, command: str | None = None) -> str:
        from experiments.runner import git_revision

        rev = git_revision()
        dirty = _dirty() if rev else False
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        cells = self.cells()
        n = len(self.seeds)
        lines = ["# Lever table", ""]
        if command:
            lines += ["Generated by", "", "```bash", command, "```", ""]
        lines += [f"on {when}, commit `{rev[:10] if rev else 'unknown'}`"
                  f"{' with uncommitted changes' if dirty else ''}; {self.runs} runs of {self.quarters} quarters "
                  f"in {self.elapsed:.0f} s. Do not edit by hand: re-run the command.", "",
                  f"Each cell is the effect of a lever: the mean over seeds 0…{n - 1} (n = {n}, the same seeds for "
                  "lever and reference) of the paired difference lever − reference, with its 95% t-interval in "
                  "brackets, in the display unit of the metric registry (pp = percentage points). **Bold**: the "
                  "interval excludes 0. Stocks (shares, HHI, clustering, unit cost, knowledge gap) are read at the "
                  f"final quarter (step {self.quarters}); flows (prices, trade, shortfall) are the mean over quarters "
                  f"1–{self.quarters}. Co-creation levers are measured against `status_quo` (every lever off) and "
                  "set as in `jk_cocreation`; policy instruments against `baseline`. There is no aggregate "
                  "final-chip price metric: the logic and memory prices stand for it.", ""]
        header = ["lever", *cells.columns]
        lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        for name, row in cells.iterrows():
            lines.append(f"| `{name}` | " + " | ".join(row.tolist()) + " |")
        flagged, quiet = set(self.flagged()), set(self.quiet())
        lines += ["", "## The levers", "",
                  "What each lever moves, where it acts in the model (the explanation of a row without a measurable "
                  "effect), and the secondary metrics (the channels levers act through; the `secondary` rows of "
                  "levers.csv) whose interval excludes 0. *No measurable effect*: every interval, of the table and "
                  "of the secondary metrics, contains 0. *No measurable effect on the table*: every interval of the "
                  "table contains 0, but a secondary metric moves.", "",
                  f"With {len(COLUMNS)} columns and {len(SECONDARY)} secondary metrics per lever, about one interval "
                  "in twenty excludes 0 by chance alone, and the levers that share a reference share its seeds' "
                  "luck: read an isolated bold cell with care, a pattern across related levers with more "
                  "confidence.", ""]
        for lv in self.levers:
            mark = (" — **no measurable effect**" if lv.name in flagged
                    else " — **no measurable effect on the table**" if lv.name in quiet else "")
            sets = ", ".join(f"`{k}={_toml(v)}`" for k, v in lv.overrides.items())
            lines += [f"### `{lv.name}`{mark}", "", f"{lv.label}. "
                      + (f"Reference: `{lv.base}`" + (" with " + ", ".join(f"`{k}={_toml(v)}`"
                                                                        for k, v in lv.reference.items())
                                                      if lv.reference else "")
                         + (f"; lever: scenario `{lv.scenario}`" if lv.scenario else "")
                         + (f"; lever: {sets}" if sets else "") + "."), "", lv.note, ""]
            moves = self.also_moves(lv.name)
            lines += [("Also moves: " + "; ".join(moves) + ".") if moves
                      else "Moves none of the secondary metrics measurably.", ""]
        return "\n".join(lines)

    def text(self) -> str:
        """The table for a terminal: one block per lever, one line per column."""
        cells = self.cells()
        flagged, quiet = set(self.flagged()), set(self.quiet())
        n = len(self.seeds)
        out = [f"{len(self.levers)} levers × {n} seeds × {self.quarters} quarters ({self.runs} runs, "
               f"{self.elapsed:.0f} s); paired difference lever − reference [95% interval]; * interval excludes 0"]
        width = max(len(c) for c in cells.columns)
        for name, row in cells.iterrows():
            out += ["", name + ("  (no measurable effect)" if name in flagged
                                else "  (no measurable effect on the table)" if name in quiet else "")]
            for col, cell in row.items():
                sig = cell.startswith("**")
                out.append(f"  {col:<{width}}  {cell.strip('*')}{'  *' if sig else ''}")
        return "\n".join(out)

    def write(self, out: str | Path | None, command: str | None = None,
              markdown: str | Path | None = None) -> list[Path]:
        """``levers.csv`` and ``levers.md`` in directory ``out`` (each written to a temporary file, then renamed);
        with ``markdown``, the same markdown also to that file (docs/LEVERS.md)."""
        from experiments.store import atomic_write

        written = []
        md = (self.markdown(command) + "\n").encode()
        if out is not None:
            out = Path(out)
            out.mkdir(parents=True, exist_ok=True)
            csv = out / "levers.csv"
            atomic_write(csv, self.table.to_csv(index=False).encode(), fsync=False)
            atomic_write(out / "levers.md", md, fsync=False)
            written += [csv, out / "levers.md"]
        if markdown is not None:
            atomic_write(Path(markdown), md, fsync=False)
            written.append(Path(markdown))
        return written


def _header(col: Column, unit: str) -> str:
    return f"{col.header} ({unit})" if unit else col.header


def _toml(v: Any) -> str:
    if isinstance(v, bool):
        return str(v).lower()
    if isinstance(v, str):
        return f'"{v}"'
    if isinstance(v, list):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    return repr(v)


def _dirty() -> bool:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        res = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                             capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return False
    return bool(res.stdout.strip())


def check_levers(levers: Iterable[str] | None, seeds: int, quarters: int) -> None:
    """The user-input checks of :func:`lever_table` without running anything (the CLI calls it first)."""
    _check(list(levers) if levers else None, seeds, quarters)
