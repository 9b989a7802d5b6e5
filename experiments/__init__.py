"""Running many models: single runs to disk, sweeps, their analysis and figures, the ``kyoso`` command.

Sweeps in Python::

    from experiments import load_sweep, run_sweep, load_results, analyze_sweep
    sweep = load_sweep("experiments/sweeps/subsidy_vs_risk.toml")
    run_sweep(sweep, "out/subsidy_vs_risk", workers=2)          # resumable: resume=True
    df = load_results("out/subsidy_vs_risk")                    # tidy: one row per run × quarter
    print(analyze_sweep("out/subsidy_vs_risk", "share_MY").text())
"""

from .analysis import analyze_sweep
from .design import SweepError, build_design, load_sweep, plan_runs
from .runner import UserError, run_scenario, summary, write_run
from .store import load_results, planned_runs, read_manifest, results_dataset, sweep_status
from .sweep import run_sweep

__all__ = [
    "UserError",
    "run_scenario",
    "write_run",
    "summary",
    "SweepError",
    "load_sweep",
    "build_design",
    "plan_runs",
    "run_sweep",
    "load_results",
    "results_dataset",
    "read_manifest",
    "planned_runs",
    "sweep_status",
    "analyze_sweep",
]
