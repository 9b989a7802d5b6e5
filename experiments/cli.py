"""The ``kyoso`` command.

User errors (unknown scenario, bad ``--set``, invalid file or sweep file, an
output that would be overwritten) print one line on stderr and exit with
status 2; nothing is written.  ``kyoso sweep`` exits with status 1 when some
runs failed (they are in ``DIR/failed/``), 130 on Ctrl-C (a sweep says how
many runs are saved), 141 when the reader of its output went away (``| head``).
Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Callable, NoReturn, Sequence

from experiments.analysis import AT, METHODS, parse_at
from experiments.argtypes import positive_int as _positive_int
from experiments.argtypes import seed as _seed
from experiments.errors import UserError
from experiments.executors import BACKENDS
from model.scenario import ScenarioError, builtin_scenarios, known_hint, load_scenario, parse_value

__all__ = ["main", "UserError"]

EXIT_USER_ERROR = 2
EXIT_RUNS_FAILED = 1
EXIT_INTERRUPTED = 130      # 128 + SIGINT, as a shell reports Ctrl-C
EXIT_BROKEN_PIPE = 141      # 128 + SIGPIPE: the reader (e.g. `| head`) went away


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        sys.stderr.write(f"kyoso: error: {message} (see 'kyoso {self.prog.split()[-1]} --help')\n"
                         if " " in self.prog else f"kyoso: error: {message} (see 'kyoso --help')\n")
        raise SystemExit(EXIT_USER_ERROR)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, got {text!r}") from None
    if not 1 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number in 1–65535, got {value}")
    return value


def _at(text: str) -> str | int:
    try:
        return parse_at(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--at {text!r}: ")) from None


def parse_sets(items: Sequence[str]) -> dict[str, object]:
    """``["a.b=1", "c=true"]`` → ``{"a.b": 1, "c": True}`` (values read as TOML)."""
    out: dict[str, object] = {}
    for item in items:
        path, sep, value = item.partition("=")
        if not sep or not path.strip():
            raise UserError(f"--set {item!r}: expected PATH=VALUE, e.g. governments.US.subsidy_rate=0.2")
        if not value.strip():
            raise UserError(f"--set {item!r}: no value after '='")
        out[path.strip()] = parse_value(value.strip())
    return out


def build_parser() -> argparse.ArgumentParser:
    """The ``kyoso`` parser: one sub-command per entry of :data:`COMMANDS`."""
    parser = _Parser(prog="kyoso", description="kyoso: where semiconductor firms build fabs, and why.")
    parser.add_argument("--version", action="version", version=f"kyoso {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    _add_run(sub)
    _add_scenario_commands(sub)
    _add_sweep_commands(sub)
    _add_estimate(sub)
    from experiments.history import add_parser as _add_history
    _add_history(sub)
    from experiments.discovery import add_parser as _add_discover
    _add_discover(sub)
    from experiments.search import add_parser as _add_search
    _add_search(sub)
    _add_compare(sub)
    _add_levers(sub)
    db = sub.add_parser("dashboard", help="start the teaching page and the classroom role-play (needs the viz extra)")
    db.add_argument("--port", type=_port, default=8765, help="port to listen on (default: 8765)")
    db.add_argument("--host", default="127.0.0.1",
                    help="address to listen on (default: 127.0.0.1, this machine only)")
    return parser


def _add_run(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="run one scenario and write its tables")
    run.add_argument("scenario", nargs="?", default=None, help="built-in name or TOML file (default: baseline)")
    run.add_argument("--quarters", type=_positive_int, default=None, help="quarters to simulate (default: the scenario's horizon)")
    run.add_argument("--seed", type=_seed, default=None, help="random seed (default: 0)")
    run.add_argument("--from", dest="from_dir", type=Path, default=None, metavar="DIR",
                     help="repeat one run of the sweep in DIR exactly (with --run RUN_ID)")
    run.add_argument("--run", dest="run_id", default=None, metavar="RUN_ID",
                     help="run id of the sweep run to repeat (with --from DIR)")
    run.add_argument("--out", type=Path, required=True, help="output directory (Parquet tables, manifest.json, figures)")
    run.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                     help="override a parameter by dotted path, e.g. governments.US.subsidy_rate=0.2 (repeatable)")
    run.add_argument("--force", action="store_true",
                     help="write into a non-empty --out: replaces an earlier run's files there, keeps all others")
    run.add_argument("--no-figures", action="store_true", help="do not draw figures")
    run.add_argument("--progress", action="store_true", help="show a progress bar")


def _add_scenario_commands(sub: argparse._SubParsersAction) -> None:
    sub.add_parser("scenarios", help="list the built-in scenarios")

    val = sub.add_parser("validate", help="check a scenario file without running it")
    val.add_argument("file", help="scenario TOML file or built-in name")
    val.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                     help="override a parameter before validating (repeatable)")

    cal = sub.add_parser("calibrate", help="check the location logit against the announced sites (optionally fit weights)")
    cal.add_argument("scenario", nargs="?", default="baseline", help="built-in name or TOML file (default: baseline)")
    cal.add_argument("--fit", action="store_true", help="also fit the location weights by maximum likelihood")
    cal.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                     help="override a parameter first (repeatable)")

    vl = sub.add_parser("validate-location",
                        help="cross-validate the location logit on held-back announced sites against a "
                             "home + brownfield logit")
    vl.add_argument("scenario", nargs="?", default="baseline", help="built-in name or TOML file (default: baseline)")
    vl.add_argument("--folds", type=_positive_int, default=5, help="folds of the k-fold split (default: 5)")
    vl.add_argument("--repeats", type=_positive_int, default=5,
                    help="repeats of the split, each a new permutation (default: 5)")
    vl.add_argument("--seed", type=_seed, default=0, help="seed of the splits (default: 0)")
    vl.add_argument("--split", choices=("kfold", "latest"), default="kfold",
                    help="kfold: seeded k-fold, repeated (default); latest: fit on the sites coming online first, "
                         "hold back those coming online last (≥ 30%%)")
    vl.add_argument("--csv", type=Path, default=None, metavar="FILE",
                    help="write the summary table to FILE and the per-fold rows to FILE's stem + _folds.csv")
    vl.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="override a parameter first (repeatable)")

    par = sub.add_parser("params", help="list every parameter with the scenario's value, unit, bounds and source")
    par.add_argument("prefix", nargs="?", default=None, metavar="PATH",
                     help="only the parameters under a dotted path, one row per entry (e.g. governments.US)")
    par.add_argument("--scenario", default="baseline", help="built-in name or TOML file (default: baseline)")
    par.add_argument("--keys", choices=("regions", "countries", "firms"), default=None,
                     help="list the scenario's region, country or firm keys instead")
    par.add_argument("--markdown", action="store_true", help="print the ODD §8.1 Markdown table")

    show = sub.add_parser("show", help="the values in force in a scenario, with units and sources")
    show.add_argument("scenario", help="built-in name or TOML file")
    show.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                      help="override a parameter first (repeatable)")
    show.add_argument("--json", action="store_true", help="print JSON")


def _add_sweep_commands(sub: argparse._SubParsersAction) -> None:
    sw = sub.add_parser("sweep", help="run a sweep file: many runs, streamed to a resumable Parquet store")
    sw.add_argument("file", type=Path, help="sweep TOML file (see experiments/sweeps/)")
    sw.add_argument("--out", type=Path, default=None, help="sweep directory (manifest.json, runs/, failed/)")
    sw.add_argument("--workers", type=_positive_int, default=None,
                    help="worker processes (processes, dask LocalCluster, mpi outside mpiexec; default: CPU count; "
                         "with --scheduler the cluster decides)")
    sw.add_argument("--backend", choices=BACKENDS, default=None,
                    help="where runs execute: processes (this machine, default), dask (LocalCluster, or --scheduler), "
                         "mpi (mpi4py: spawns --workers N, or the ranks of mpiexec; README 'MPI'), serial")
    sw.add_argument("--scheduler", default=None, metavar="ADDRESS",
                    help="address of a running Dask scheduler, e.g. tcp://10.0.0.5:8786 (implies --backend dask)")
    sw.add_argument("--resume", action="store_true",
                    help="continue the sweep in --out: skip finished runs, retry failed ones")
    sw.add_argument("--no-progress", action="store_true", help="no progress bar")
    sw.add_argument("--dry-run", action="store_true", help="validate the file and print the plan; run nothing")
    sw.add_argument("--list-metrics", action="store_true", help="list the metric names of the sweep's scenario")

    an = sub.add_parser("analyze", help="sensitivity indices, main effects, seed noise and policy comparison of one "
                                        "metric")
    an.add_argument("dirs", type=Path, nargs="+", metavar="DIR",
                    help="sweep directory; several directories of one design (same scenario, design matrix and "
                         "seeds) are compared as policies named by their sweep names")
    an.add_argument("--metric", required=True, help="metric stored in the sweep")
    an.add_argument("--method", choices=METHODS, default=None,
                    help="default: the method made for the sweep's design (sobol, morris), else main effects")
    an.add_argument("--at", type=_at, default="final", metavar="|".join(AT) + "|QUARTER",
                    help="reduce each run to its final-quarter value (default), its mean, max or min over the "
                         "quarters, or its value at a step number or quarter such as 2030Q1")
    an.add_argument("--csv", type=Path, default=None, metavar="FILE",
                    help="also write the indices (or main effects) as CSV")
    an.add_argument("--policy", default=None, metavar="P",
                    help="with policies (or several DIRs): the policy whose runs the sensitivity analyses use "
                         "(default: the first)")
    an.add_argument("--reference", default=None, metavar="P",
                    help="with policies (or several DIRs): the policy the others are compared with (default: the "
                         "first)")

    pl = sub.add_parser("plot", help="figures of a sweep: main effects, grid heatmap, Sobol bars, seed noise")
    pl.add_argument("dir", type=Path, help="sweep directory")
    pl.add_argument("--out", type=Path, required=True, help="directory for the PNG figures")
    pl.add_argument("--metric", dest="metrics", action="append", default=None,
                    help="metric to plot (repeatable; default: every stored metric)")
    pl.add_argument("--at", choices=AT, default="final", help="final-quarter value or mean")
    pl.add_argument("--force", action="store_true", help="write into an existing non-empty directory")
    pl.add_argument("--policy", default=None, metavar="P",
                    help="with policies: the policy whose runs the sensitivity figures use (default: the first)")
    pl.add_argument("--reference", default=None, metavar="P",
                    help="with policies: the policy the others are compared with (default: the first)")


def _add_compare(sub: argparse._SubParsersAction) -> None:
    cp = sub.add_parser("compare", help="scenarios side by side on common seeds, with 95%% intervals")
    cp.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                    help="built-in names or TOML files; the first is the reference for the paired differences")
    cp.add_argument("--seeds", type=_positive_int, default=5, help="runs per scenario on seeds 0…N−1 (default: 5)")
    cp.add_argument("--quarters", type=_positive_int, default=None,
                    help="quarters to simulate (default: each scenario's horizon)")
    cp.add_argument("--metrics", nargs="+", default=None, metavar="METRIC",
                    help="metrics to compare (default: fab capacity, HHI, clustering, shortfall, unit cost, subsidies)")
    cp.add_argument("--at", type=_at, default="final", metavar="|".join(AT) + "|QUARTER",
                    help="reduce each run to its final quarter (default), mean, max, min or one quarter")
    cp.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                    help="override a parameter in every scenario (repeatable)")
    cp.add_argument("--out", type=Path, default=None, metavar="DIR",
                    help="also write compare.csv and compare.tex (with --posterior also compare_runs.csv)")
    cp.add_argument("--posterior", type=Path, default=None, metavar="DIR|CSV",
                    help="also run every scenario over posterior draws (a draws.csv or the directory of "
                         "'kyoso estimate' holding one): parameter uncertainty and seed noise reported separately")
    cp.add_argument("--draws", type=_positive_int, default=None, metavar="K",
                    help="with --posterior: use its first K draws (default: all)")
    cp.add_argument("--backend", choices=("serial", "processes"), default=None,
                    help="with --posterior: run on this machine's processes or one after another (default: serial)")
    cp.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                    help="with --posterior --backend processes: worker processes (default: the CPU count)")


def _add_levers(sub: argparse._SubParsersAction) -> None:
    lv = sub.add_parser("levers", help="the lever table: each co-creation lever and policy instrument against its "
                                       "reference on common seeds, with 95%% intervals")
    lv.add_argument("--seeds", type=int, default=None, metavar="N",
                    help="runs per lever and reference on seeds 0…N−1, N ≥ 2 (default: 10; --quick: 2)")
    lv.add_argument("--quarters", type=int, default=None, metavar="Q",
                    help="quarters per run (default: 32; --quick: 12)")
    lv.add_argument("--quick", action="store_true", help="a fast smoke test of the table (2 seeds, 12 quarters)")
    lv.add_argument("--lever", dest="levers", nargs="+", default=None, metavar="NAME",
                    help="only these levers (default: all; --list shows them)")
    lv.add_argument("--list", action="store_true", help="list the levers and what each moves, then exit")
    lv.add_argument("--out", type=Path, default=None, metavar="DIR", help="write levers.csv and levers.md to DIR")
    lv.add_argument("--markdown", type=Path, default=None, metavar="FILE",
                    help="also write the markdown table to FILE (e.g. docs/LEVERS.md)")
    lv.add_argument("--workers", type=_positive_int, default=1,
                    help="local worker processes (default: 1, runs in this process)")


# ---------------------------------------------------------------- commands
def cmd_scenarios(_: argparse.Namespace) -> int:
    for name in builtin_scenarios():
        sc = load_scenario(name)
        print(f"{name:<20} {sc.meta.description}")
    return 0


def cmd_validate(args: argparse.Namespace) -> int:
    sc = load_scenario(args.file, **parse_sets(args.sets))
    n_sites = sum(len(f.sites) for f in sc.firms.values())
    print(f"{args.file}: valid scenario {sc.meta.name!r} ({len(sc.regions)} regions, "
          f"{len(sc.governments)} governments, {len(sc.firms)} firms, {n_sites} sites)")
    return 0


def cmd_params(args: argparse.Namespace) -> int:
    from experiments.info import keys_text, params_text
    from model.scenario.docs import parameter_markdown

    sc = load_scenario(args.scenario)              # an unknown scenario is one line, with a suggestion
    text = (keys_text(args.keys, sc) if args.keys else parameter_markdown(sc) if args.markdown
            else params_text(sc, args.prefix))
    print(text.rstrip("\n"))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    from experiments.info import show_json, show_text

    sc = load_scenario(args.scenario, **parse_sets(args.sets))
    print(show_json(sc) if args.json else show_text(sc))
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from experiments.calibration import announced_site_fit, fit_location_weights

    overrides = parse_sets(args.sets)
    load_scenario(args.scenario, **overrides)          # user errors surface here, as one line
    table, s = announced_site_fit(args.scenario, **overrides)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    print(f"{s['observations']} announced sites over {s['regions']} regions: mean log-likelihood "
          f"{s['mean_loglik']:.3f} (equal probabilities {s['uniform_loglik']:.3f}), "
          f"McFadden pseudo-R² {s['pseudo_r2']:.3f}, mean rank {s['mean_rank']:.1f}")
    if args.fit:
        fit = fit_location_weights(args.scenario, **overrides)
        print(f"maximum-likelihood weights (mean log-likelihood {fit['mean_loglik_before']:.3f} → "
              f"{fit['mean_loglik_after']:.3f}; indicative, {fit['observations']} observations):")
        for k, v in fit["weights"].items():
            print(f"  params.{k} = {v:.3f}")
    return 0


def cmd_validate_location(args: argparse.Namespace) -> int:
    from experiments.validation import validate_location

    overrides = parse_sets(args.sets)
    load_scenario(args.scenario, **overrides)          # user errors surface here, as one line
    if args.folds < 2:
        raise UserError(f"--folds {args.folds}: expected at least 2 (one part to fit, one to hold back)")
    if args.csv is not None and args.csv.is_dir():
        raise UserError(f"--csv {args.csv}: is a directory, expected a file name")
    res = validate_location(args.scenario, folds=args.folds, repeats=args.repeats, seed=args.seed, split=args.split,
                            **overrides)
    print(res.text())
    if args.csv is not None:
        for path in res.write(args.csv):
            print(f"wrote {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    from experiments.runner import prepare_output, run_scenario, summary, write_run

    if args.from_dir is not None or args.run_id is not None:
        scenario, seed, quarters, overrides = _run_from_sweep(args)
    else:
        scenario = args.scenario or "baseline"
        seed = 0 if args.seed is None else args.seed
        quarters = args.quarters
        overrides = parse_sets(args.sets)
    out: Path = args.out
    prepare_output(out, force=args.force)           # refuse before any work
    t0 = time.perf_counter()
    model = run_scenario(scenario, seed=seed, quarters=quarters, overrides=overrides,
                         progress=args.progress)
    elapsed = time.perf_counter() - t0
    tables = model.tables()
    draw = None if args.no_figures else lambda tmp: _run_figures(tables, model, tmp / "figures")
    write_run(out, model, tables, seed=seed, overrides=overrides, force=args.force, elapsed=elapsed, extras=draw)
    print(summary(model, tables, out, elapsed))
    return 0


def _run_figures(tables: dict, model: object, figdir: Path) -> None:
    """The run's figures, drawn into the run directory before it is moved into place."""
    from experiments import plots

    figdir.mkdir()
    plots.save_run_figures(tables, model, figdir)


def _run_from_sweep(args: argparse.Namespace) -> tuple[str, int, int, dict[str, object]]:
    """Scenario, seed, quarters and overrides of one planned run of a sweep directory."""
    from experiments.store import read_manifest

    if args.from_dir is None or args.run_id is None:
        raise UserError("--from DIR and --run RUN_ID go together (e.g. --from sweeps/out --run p003-r1)")
    for flag, value in (("SCENARIO", args.scenario), ("--seed", args.seed), ("--quarters", args.quarters)):
        if value is not None:
            raise UserError(f"{flag}: not used with --from (the sweep's manifest fixes it)")
    if args.sets:
        raise UserError("--set: not used with --from (the sweep's manifest fixes the parameters)")
    manifest = read_manifest(args.from_dir)
    runs = {r["run_id"]: r for r in manifest["runs"]}
    if args.run_id not in runs:
        some = ", ".join(list(runs)[:3])
        raise UserError(f"--run {args.run_id!r}: no such run in {args.from_dir} (run ids look like {some}, …)")
    run = runs[args.run_id]
    overrides = run.get("overrides") or {**manifest.get("fixed", {}), **run["parameters"]}
    return manifest["scenario_ref"], int(run["seed"]), int(manifest["quarters"]), overrides


def cmd_sweep(args: argparse.Namespace) -> int:
    from experiments.design import build_design, plan_runs
    from experiments.sweepfile import available_metrics, load_sweep

    backend = args.backend or ("dask" if args.scheduler else "processes")
    if args.scheduler is not None and backend != "dask":
        raise UserError(f"--scheduler {args.scheduler}: only used with --backend dask")
    sweep = load_sweep(args.file)                     # every check happens here, before any run
    if args.list_metrics:
        print("\n".join(available_metrics(sweep.scenario)))
        return 0
    if args.dry_run:
        from experiments.sweep import estimate_duration

        design = build_design(sweep)
        runs = plan_runs(sweep, design)
        policies = (f" × {len(sweep.policies)} policies ({', '.join(sweep.policy_names)})"
                    if sweep.policies else "")
        print(f"{args.file}: valid sweep {sweep.spec.name!r}: {sweep.spec.design} design, {design.n_points} points"
              f"{policies} × {sweep.spec.replications} replications = {len(runs)} runs of {sweep.quarters} quarters "
              f"on {sweep.scenario_ref}; metrics {', '.join(sweep.metrics)}", flush=True)
        for key, paths in sweep.expansions.items():
            print(f"  {key} binds {len(paths)} paths: {', '.join(paths)}")
        slots = 1 if backend == "serial" else (args.workers or os.cpu_count() or 1)
        try:
            print(estimate_duration(sweep, runs, slots).text())
        except Exception as exc:        # the first design point may break a scenario rule
            print(f"estimated run time: not available (the first run fails: {type(exc).__name__}: {exc})")
        return 0
    if args.out is None:
        raise UserError("--out: required (the sweep directory to write)")
    from experiments.sweep import SweepInterrupted, run_sweep

    try:
        result = run_sweep(sweep, args.out, backend=backend, workers=args.workers, scheduler=args.scheduler,
                           resume=args.resume, progress=not args.no_progress)
    except SweepInterrupted as stop:
        sys.stderr.write(f"kyoso sweep: interrupted: {stop}\n")
        return EXIT_INTERRUPTED
    print(result.summary(sweep.spec.name))
    return 0 if result.ok else EXIT_RUNS_FAILED


def _add_estimate(sub: argparse._SubParsersAction) -> None:
    es = sub.add_parser("estimate", help="estimate behavioural parameters against history (simulated moments)")
    es.add_argument("file", type=Path, help="estimation TOML file (see experiments/estimation/)")
    es.add_argument("--out", type=Path, required=True, help="estimation directory (design/, check/, estimate.json, "
                                                             "draws.csv, fit.csv, estimated.toml, ...)")
    es.add_argument("--workers", type=_positive_int, default=None, help="worker processes (default: CPU count)")
    es.add_argument("--backend", choices=BACKENDS, default=None,
                    help="processes (default), dask (LocalCluster, or --scheduler), mpi, serial")
    es.add_argument("--scheduler", default=None, metavar="ADDRESS", help="address of a running Dask scheduler")
    es.add_argument("--resume", action="store_true", help="continue the estimation in --out (finished runs are kept)")
    es.add_argument("--quick", action="store_true",
                    help="a small design (16 points x 2 seeds, 2 check runs): for tests and a first look")
    es.add_argument("--no-progress", action="store_true", help="no progress bar")


def cmd_estimate(args: argparse.Namespace) -> int:
    from experiments.estimation import estimate
    from experiments.sweep import SweepInterrupted

    backend = args.backend or ("dask" if args.scheduler else "processes")
    if args.scheduler is not None and backend != "dask":
        raise UserError(f"--scheduler {args.scheduler}: only used with --backend dask")
    try:
        s = estimate(args.file, args.out, backend=backend, workers=args.workers, scheduler=args.scheduler,
                     resume=args.resume, progress=not args.no_progress, quick=args.quick)
    except SweepInterrupted as stop:
        sys.stderr.write(f"kyoso estimate: interrupted: {stop}; continue with --resume\n")
        return EXIT_INTERRUPTED
    width = max(len(n) for n in s["point"])
    print(f"{s['file']}: estimated on targets ending by {s['split']} "
          f"({len(s['targets_fitted'])} moments{', announced-site locations' if s['location_sites_fitted'] else ''})")
    for n, v in s["point"].items():
        lo, hi = s["ci95"][n]
        print(f"  {n:<{width}}  {v:10.4g}  se {s['se'][n]:.3g}  95% CI {lo:.4g} to {hi:.4g}")
    print(f"wrote {args.out}/estimate.json, draws.csv, fit.csv, scores.csv, identification.csv, estimated.toml")
    return 0


def cmd_history(args: argparse.Namespace) -> int:
    from experiments.history import cmd_history as run

    return run(args)


def cmd_analyze(args: argparse.Namespace) -> int:
    from experiments.analysis import analyze_stores

    res = analyze_stores(args.dirs, args.metric, method=args.method, at=args.at, policy=args.policy,
                         reference=args.reference)
    print(res.text())
    if args.csv is not None:
        table = res.indices if res.indices is not None else res.effects
        args.csv.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(args.csv, index=False)
        if "policies" in res.results:            # the paired differences next to it: FILE_policies.csv
            pol = res.results["policies"]
            pol["paired"].to_csv(args.csv.with_name(f"{args.csv.stem}_policies.csv"), index=False)
            pol["by_point"].to_csv(args.csv.with_name(f"{args.csv.stem}_policies_by_point.csv"), index=False)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from experiments.compare import compare_scenarios

    overrides = parse_sets(args.sets)
    for sc in dict.fromkeys(args.scenarios):
        load_scenario(sc, **overrides)          # user errors surface here, as one line, before any run
    if args.posterior is None:
        for flag, given in (("--draws", args.draws), ("--backend", args.backend), ("--workers", args.workers)):
            if given is not None:
                raise UserError(f"{flag} {given}: only used with --posterior DIR|CSV")
        res = compare_scenarios(args.scenarios, seeds=args.seeds, quarters=args.quarters, metrics=args.metrics,
                                at=args.at, overrides=overrides)
    else:
        if args.workers is not None and args.backend != "processes":
            raise UserError(f"--workers {args.workers}: only used with --backend processes")
        bar = _CompareProgress()
        try:
            res = compare_scenarios(args.scenarios, seeds=args.seeds, quarters=args.quarters, metrics=args.metrics,
                                    at=args.at, overrides=overrides, posterior=args.posterior, draws=args.draws,
                                    backend=args.backend or "serial", workers=args.workers, progress=bar)
        finally:
            bar.close()
    print(res.text())
    if args.posterior is not None:
        print(f"\n{len(res.values)} runs in {res.elapsed:.1f} s ({res.backend})")
    if args.out is not None:
        for path in res.write(args.out):
            print(f"wrote {path}")
    return 0


class _CompareProgress:
    """A progress bar on stderr for ``kyoso compare --posterior`` (shown only on a terminal);
    called as ``progress(done, total)`` after each run."""

    def __init__(self) -> None:
        self.bar = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="kyoso compare", unit="run", disable=None, file=sys.stderr)
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_levers(args: argparse.Namespace) -> int:
    from experiments.levers import DEFAULT_QUARTERS, DEFAULT_SEEDS, LEVERS, QUICK, check_levers, lever_table

    if args.list:
        for lv in LEVERS:
            print(f"{lv.name:<26} {lv.kind:<12} {lv.label}")
        return 0
    seeds = args.seeds if args.seeds is not None else QUICK["seeds"] if args.quick else DEFAULT_SEEDS
    quarters = args.quarters if args.quarters is not None else QUICK["quarters"] if args.quick else DEFAULT_QUARTERS
    for flag, path in (("--out", args.out), ("--markdown", args.markdown)):
        if path is not None and path.exists() and (path.is_dir() if flag == "--markdown" else not path.is_dir()):
            what = "a directory" if flag == "--markdown" else "not a directory"
            raise UserError(f"{flag} {path}: exists and is {what}")
    if args.markdown is not None and not args.markdown.parent.is_dir():
        raise UserError(f"--markdown {args.markdown}: directory {args.markdown.parent} does not exist")
    check_levers(args.levers, seeds, quarters)          # user errors surface here, before any run
    command = "kyoso levers" + (" --quick" if args.quick else "")
    command += "".join(f" --{k} {v}" for k, v in (("seeds", args.seeds), ("quarters", args.quarters)) if v is not None)
    command += (" --lever " + " ".join(args.levers)) if args.levers else ""
    command += "".join(f" --{k} {v}" for k, v in (("out", args.out), ("markdown", args.markdown)) if v is not None)
    res = lever_table(args.levers, seeds=seeds, quarters=quarters, workers=args.workers)
    print(res.text())
    for path in res.write(args.out, command=command, markdown=args.markdown) if (args.out or args.markdown) else []:
        print(f"wrote {path}")
    return 0


def cmd_plot(args: argparse.Namespace) -> int:
    from experiments import plots
    from experiments.store import read_manifest

    manifest = read_manifest(args.dir)
    for m in args.metrics or []:
        if m not in manifest["metrics"]:
            raise UserError(f"--metric {m!r}: not stored in this sweep ({known_hint(m, manifest['metrics'])})")
    out: Path = args.out
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not args.force:
        raise UserError(f"--out {out}: directory exists and is not empty (use --force to write into it)")
    paths = plots.save_sweep_figures(args.dir, out, args.metrics, at=args.at, policy=args.policy,
                                     reference=args.reference)
    print(f"kyoso plot: {len(paths)} figures written to {out}")
    for p in paths:
        print(f"  {p.name}")
    return 0


def cmd_dashboard(args: argparse.Namespace) -> int:
    from experiments.dashboard import serve

    return serve(args.host, args.port)


def cmd_discover(args: argparse.Namespace) -> int:
    from experiments.discovery import command

    return command(args)


def cmd_search(args: argparse.Namespace) -> int:
    from experiments.search import command

    return command(args)


COMMANDS = {"run": cmd_run, "scenarios": cmd_scenarios, "validate": cmd_validate, "params": cmd_params,
            "show": cmd_show,
            "calibrate": cmd_calibrate, "validate-location": cmd_validate_location, "sweep": cmd_sweep, "estimate": cmd_estimate, "history": cmd_history, "analyze": cmd_analyze, "plot": cmd_plot,
            "compare": cmd_compare, "levers": cmd_levers, "search": cmd_search, "discover": cmd_discover,
            "dashboard": cmd_dashboard}


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("kyoso")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _show_once() -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints each distinct warning once, as one line on stderr
    (Python's own once-registries are reset whenever any library touches the warning filters)."""
    seen: set[tuple[type[Warning], str]] = set()

    def show(message: Warning | str, category: type[Warning], filename: str = "", lineno: int = 0,
             *_: object, **__: object) -> None:
        where = f"{filename}:{lineno}: " if filename and not filename.endswith(".py") else ""   # a user's file
        if (category, where + str(message)) not in seen:
            seen.add((category, where + str(message)))
            sys.stderr.write(f"kyoso: warning: {where}{message}\n")

    return show


def _quiet_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's last flush stays quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: Sequence[str] | None = None) -> int:
    import warnings

    try:
        with warnings.catch_warnings():
            warnings.showwarning = _show_once()
            args = build_parser().parse_args(argv)
            code = COMMANDS[args.command](args)
            sys.stdout.flush()
        return code
    except (ScenarioError, UserError) as exc:
        sys.stderr.write(f"kyoso: error: {exc}\n")
        return EXIT_USER_ERROR
    except BrokenPipeError:
        _quiet_stdout()
        return EXIT_BROKEN_PIPE
    except KeyboardInterrupt:
        sys.stderr.write("kyoso: interrupted\n")
        return EXIT_INTERRUPTED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
