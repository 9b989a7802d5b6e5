"""Path dependence over agglomeration × coordination cost: docs/figures/emergence.csv and .png.

``python benchmarks/emergence.py`` runs the plan of ``experiments/sweeps/emergence.toml``
(grid, seeds from the sweep's seed tree, quarters) once per variant below, one run after
the other on one core, and reduces every point's runs with ``experiments.emergence``:

* the divergence of the segment leaders across seeds (region level, new capacity started),
  with a 95% t-interval over seeds (modal leaders taken as known), and its normalised entropy;
* the same at country level, and for the capacity in place at the end;
* the mean share of a segment's new capacity that its leading region took (lock-in);
* the final clustering index (mean over seeds).

Variants: ``baseline`` is the sweep file as it stands; ``no_own_history`` also sets
``w_home`` = 0 and ``w_expansion`` = 0 and ``logit_scale`` = 3 (firms owe nothing to
their home or their own sites, and choose more noisily), the lever that would let early
chance choices, rather than the 2025 map, decide where a segment's capacity goes;
``symmetric`` runs the same grid in the emergence laboratory ``model/data/symmetric.toml``
(four identical economies with one equal firm each), where no region starts ahead.

It is a measurement, not a test; the notebook 02 reads the CSV it writes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from experiments.design import build_design, plan_runs  # noqa: E402
from experiments.emergence import divergence_interval, divergence_summary, leader_divergence, segment_leaders  # noqa: E402
from experiments.runner import run_scenario  # noqa: E402
from experiments.sweepfile import load_sweep  # noqa: E402

SWEEP = ROOT / "experiments" / "sweeps" / "emergence.toml"
VARIANTS: dict[str, dict[str, object]] = {
    "baseline": {},
    "no_own_history": {"params.w_home": 0.0, "params.w_expansion": 0.0, "params.logit_scale": 3.0},
    # The emergence laboratory (model/data/symmetric.toml): four identical economies, one equal firm each.
    "symmetric": {"scenario": "symmetric"},
}


def run_point(sweep, runs, extra: dict[str, object]) -> dict[str, float]:
    inv, end, clustering = {}, {}, []
    extra = dict(extra)
    scenario = extra.pop("scenario", sweep.scenario_ref)
    for r in runs:
        m = run_scenario(scenario, seed=r.seed, quarters=sweep.quarters,
                         overrides={**sweep.fixed, **r.parameters, **extra})
        t = m.tables()
        inv[r.run_id] = t["investments"]
        s = t["sites"]
        end[r.run_id] = s[s["step"] == s["step"].max()]
        clustering.append(float(t["metrics"]["clustering_index"].iloc[-1]))
    leaders = segment_leaders(inv)
    div, lo, hi = divergence_interval(leaders)
    region = divergence_summary(inv)
    per = leader_divergence(leaders)
    return {"divergence": div, "ci_low": lo, "ci_high": hi, "entropy": region["entropy"],
            "segments": region["segments"],
            "divergence_country": divergence_summary(inv, level="country")["divergence"],
            "divergence_end": divergence_summary(end, measure="end")["divergence"],
            "leader_share": float(leaders["share"].mean()),
            "modal_leaders": "; ".join(f"{r.segment}:{r.modal_leader}" for r in per.itertuples()),
            "clustering_index": float(pd.Series(clustering).mean()), "seeds": len(runs)}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sweep", type=Path, default=SWEEP, help="sweep file (default: experiments/sweeps/emergence.toml)")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "figures" / "emergence.csv",
                    help="CSV to write; the figure goes beside it as .png")
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--replot", action="store_true", help="only redraw the figure from the CSV at --out")
    args = ap.parse_args(argv)
    if args.replot:
        from experiments.emergence import divergence_figure, load_emergence_table

        fig = divergence_figure(load_emergence_table(args.out))
        fig.savefig(args.out.with_suffix(".png"), dpi=130, bbox_inches="tight")
        print(f"wrote {args.out.with_suffix('.png')}")
        return 0

    sweep = load_sweep(args.sweep)
    design = build_design(sweep)
    runs = plan_runs(sweep, design)
    x, y = sweep.names
    rows = []
    t0 = time.perf_counter()
    for variant in args.variants:
        for p, point in enumerate(design.points):
            t = time.perf_counter()
            res = run_point(sweep, [r for r in runs if r.point == p], VARIANTS[variant])
            rows.append({"variant": variant, x: point[x], y: point[y], **res})
            print(f"{variant:<15} {x}={point[x]:<5} {y}={point[y]:<4} divergence {res['divergence']:.2f} "
                  f"[{res['ci_low']:.2f}, {res['ci_high']:.2f}] leader share {res['leader_share']:.2f} "
                  f"({time.perf_counter() - t:.1f} s)", flush=True)
    elapsed = time.perf_counter() - t0
    table = pd.DataFrame(rows)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, float_format="%.4f")
    from experiments.emergence import divergence_figure

    fig = divergence_figure(table, x, y)
    fig.savefig(args.out.with_suffix(".png"), dpi=130, bbox_inches="tight")
    print(f"{len(runs) * len(args.variants)} runs of {sweep.quarters} quarters in {elapsed:.0f} s on one core; "
          f"wrote {args.out} and {args.out.with_suffix('.png')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
