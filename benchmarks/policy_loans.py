"""The figures ODD §7.1 quotes for Korea's policy loans, paired on the seed with 95% intervals.

    python benchmarks/policy_loans.py SEEDS QUARTERS            # KDB loans vs none; Korea's grant lever with and without
    python benchmarks/policy_loans.py SEEDS QUARTERS strong     # a large envelope (USD 100 bn, half of capex, 3 points)

Results also go to benchmarks/results/policy_loans_{set}_{seeds}_{quarters}.json.
"""
import sys, json
import numpy as np
from experiments.runner import run_scenario
from experiments.sensitivity import t_interval
from model.scenario import FAB_SEGMENTS

SEEDS, Q = int(sys.argv[1]), int(sys.argv[2])
SET = sys.argv[3] if len(sys.argv) > 3 else "main"
STRONG = {"governments.KR.loan_budget": 100.0, "governments.KR.loan_share": 0.5, "governments.KR.loan_rate_cut": 0.03}
CONFIGS = {"loans_strong": STRONG, "no_loans": {"governments.KR.loan_budget": 0.0}} if SET == "strong" else {
    "loans": {},
    "no_loans": {"governments.KR.loan_budget": 0.0},
    "loans_grant20": {"governments.KR.subsidy_rate": 0.2},
    "no_loans_grant20": {"governments.KR.loan_budget": 0.0, "governments.KR.subsidy_rate": 0.2},
}

def outcomes(m):
    t = m.tables()
    mt, inv, sites = t["metrics"], t["investments"], t["sites"]
    fab = set(FAB_SEGMENTS)
    built = inv[~inv["deferred"]]
    fab_inv = built[built["segment"].isin(fab)]
    last = sites[sites["step"] == sites["step"].max()] if "step" in sites else sites
    kr_sites = last[last["segment"].isin(fab) & (last["country"] == "KR")]
    return {
        "fab_capex_KR": float(mt["fab_capex_KR"].sum()),
        "fab_capex_KR_by_KR_firms": float(fab_inv[(fab_inv["country"] == "KR") & (fab_inv["home"] == "KR")]["capex"].sum()),
        "fab_capex_world": float(fab_inv["capex"].sum()),
        "fab_capex_KR_by_KR_firms_q1_8": float(fab_inv[(fab_inv["country"] == "KR") & (fab_inv["home"] == "KR") & (fab_inv["step"] <= 8)]["capex"].sum()),
        "fab_capex_world_q1_8": float(fab_inv[fab_inv["step"] <= 8]["capex"].sum()),
        "fab_capex_KR_firms_abroad": float(fab_inv[(fab_inv["country"] != "KR") & (fab_inv["home"] == "KR")]["capex"].sum()),
        "capacity_KR_operating": float(kr_sites[kr_sites["status"] == "operating"]["capacity"].sum()),
        "capacity_KR_all": float(kr_sites["capacity"].sum()),
        "capacity_fab_world": float(mt["capacity_fab"].iloc[-1]),
        "share_KR": float(mt["share_KR"].iloc[-1]),
        "finance_blocked_share": float(mt["finance_blocked_share"].mean()),
        "loans_lent_total": float(mt["policy_loans_lent"].sum()),
        "subsidy_paid_cum": float(mt["subsidy_paid_cumulative"].iloc[-1]),
        "loan_exhausted_step": float(mt["step"][mt["policy_loan_budget"] <= 1e-9].min()) if (mt["policy_loan_budget"] <= 1e-9).any() else float("nan"),
    }

res = {k: [] for k in CONFIGS}
for seed in range(SEEDS):
    for k, ov in CONFIGS.items():
        res[k].append(outcomes(run_scenario("baseline", seed=seed, quarters=Q, overrides=ov)))
    print("seed", seed, "done", flush=True)
from pathlib import Path
out = Path(__file__).resolve().parent / "results" / f"policy_loans_{SET}_{SEEDS}_{Q}.json"
out.parent.mkdir(exist_ok=True)
out.write_text(json.dumps(res))

def show(a, b, title):
    print(f"\n== {title} (paired on seed, n={SEEDS}, {Q} quarters) ==")
    for key in res[a][0]:
        x = np.array([r[key] for r in res[a]]); y = np.array([r[key] for r in res[b]])
        d = t_interval(x - y)
        print(f"{key:32s} {a}: {np.nanmean(x):10.3f}  {b}: {np.nanmean(y):10.3f}  diff {d['mean']:9.3f} [{d['ci_low']:9.3f}, {d['ci_high']:9.3f}]")

if SET == "strong":
    show("loans_strong", "no_loans", "strong KR loans (budget 100, share 0.5, cut 0.03) vs none")
    sys.exit()
show("loans", "no_loans", "KR loans vs none")
show("loans_grant20", "loans", "KR subsidy_rate 0.2 vs 0, with loans")
show("no_loans_grant20", "no_loans", "KR subsidy_rate 0.2 vs 0, without loans")
