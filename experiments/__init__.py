"""Running many models: single runs to disk, sweeps, their analysis and figures, the ``kyoso`` command.

Sweeps in Python::

    from experiments import load_sweep, run_sweep, load_results, analyze_sweep
    sweep = load_sweep("experiments/sweeps/subsidy_vs_risk.toml")
    run_sweep(sweep, "out/subsidy_vs_risk", workers=2)          # resumable: resume=True
    df = load_results("out/subsidy_vs_risk")                    # tidy: one row per run × quarter
    print(analyze_sweep("out/subsidy_vs_risk", "share_MY").text())

One run's metrics as numbers, and scenarios side by side on common seeds::

    from experiments import outcomes, compare_scenarios
    outcomes(model, ["share_US", "supply_shortfall"], at="final")    # {name: float}
    print(compare_scenarios(["status_quo", "us_localisation"], seeds=5, quarters=32).text())

Policies crossed with uncertainties, scenario discovery and robust search::

    from experiments import discover, search
    print(discover("out/policy_robustness", "trade_JP_KR", below=7.5, policy="levers_on", at="mean").text())
    search("experiments/searches/robust_levers.toml", "out/robust")
"""

from importlib import import_module
from typing import Any

# Names are imported on first use, so that a worker process (or `kyoso run`)
# does not pay for scipy.stats, SALib and the sweep machinery it never uses.
_WHERE = {
    "analyze_sweep": "analysis", "outcomes": "sensitivity", "reduce_runs": "sensitivity",
    "compare_scenarios": "compare", "Comparison": "compare",
    "UserError": "errors", "SweepError": "errors",
    "build_design": "design", "plan_runs": "design", "run_seeds": "design", "load_sweep": "sweepfile",
    "run_scenario": "runner", "summary": "runner", "write_run": "runner",
    "load_results": "store", "planned_runs": "store", "read_manifest": "store",
    "results_dataset": "store", "sweep_status": "store",
    "run_sweep": "sweep",
    "analyze_stores": "analysis", "inert_parameters": "analysis", "gated_in_store": "analysis",
    "expand_key": "sweepfile",
    "discover": "discovery", "DiscoveryResult": "discovery",
    "search": "search", "SearchResult": "search",
    "make_ema_model": "ema",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(import_module(f".{_WHERE[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "UserError",
    "run_scenario",
    "write_run",
    "summary",
    "SweepError",
    "load_sweep",
    "build_design",
    "plan_runs",
    "run_seeds",
    "run_sweep",
    "load_results",
    "results_dataset",
    "read_manifest",
    "planned_runs",
    "sweep_status",
    "analyze_sweep",
    "outcomes",
    "reduce_runs",
    "compare_scenarios",
    "Comparison",
    "analyze_stores",
    "inert_parameters",
    "gated_in_store",
    "expand_key",
    "discover",
    "DiscoveryResult",
    "search",
    "SearchResult",
    "make_ema_model",
]
