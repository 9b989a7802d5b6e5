"""The ``kyoso`` command.

User errors (unknown scenario, bad ``--set``, invalid file, an output that
would be overwritten) print one line on stderr and exit with status 2;
nothing is written.  Anything else is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import NoReturn, Sequence

from experiments.runner import UserError
from model.scenario import ScenarioError, builtin_scenarios, load_scenario, parameter_table, parse_value

__all__ = ["main", "UserError"]

EXIT_USER_ERROR = 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + message
        sys.stderr.write(f"kyoso: error: {message} (see 'kyoso {self.prog.split()[-1]} --help')\n"
                         if " " in self.prog else f"kyoso: error: {message} (see 'kyoso --help')\n")
        raise SystemExit(EXIT_USER_ERROR)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a number ≥ 1, got {value}")
    return value


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a seed ≥ 0, got {value}")
    return value


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
    parser = _Parser(prog="kyoso", description="kyoso: where semiconductor firms build fabs, and why.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    run = sub.add_parser("run", help="run one scenario and write its tables")
    run.add_argument("scenario", nargs="?", default="baseline", help="built-in name or TOML file (default: baseline)")
    run.add_argument("--quarters", type=_positive_int, default=None, help="quarters to simulate (default: the scenario's horizon)")
    run.add_argument("--seed", type=_seed, default=0, help="random seed (default: 0)")
    run.add_argument("--out", type=Path, required=True, help="output directory (Parquet tables, manifest.json, figures)")
    run.add_argument("--set", dest="sets", action="append", default=[], metavar="PATH=VALUE",
                     help="override a parameter by dotted path, e.g. governments.US.subsidy_rate=0.2 (repeatable)")
    run.add_argument("--force", action="store_true", help="replace an existing non-empty output directory")
    run.add_argument("--no-figures", action="store_true", help="do not draw figures")
    run.add_argument("--progress", action="store_true", help="show a progress bar")

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

    par = sub.add_parser("params", help="list every parameter with unit, default, bounds and source")
    par.add_argument("--markdown", action="store_true", help="print a Markdown table")
    return parser


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
    rows = parameter_table()
    if args.markdown:
        print("| parameter | unit | default | low | high | description | source |")
        print("|---|---|---|---|---|---|---|")
        for r in rows:
            print(f"| `{r['path']}` | {r['unit']} | {r['default']} | {r['low']} | {r['high']} | "
                  f"{r['description']} | {r['source']} |")
    else:
        for r in rows:
            print(f"{r['path']:<48} {r['unit']:<28} default={r['default']:<8} [{r['low']}, {r['high']}]")
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


def cmd_run(args: argparse.Namespace) -> int:
    from experiments.runner import prepare_output, run_scenario, summary, write_run

    overrides = parse_sets(args.sets)
    out: Path = args.out
    prepare_output(out, force=args.force)           # refuse before any work
    t0 = time.perf_counter()
    model = run_scenario(args.scenario, seed=args.seed, quarters=args.quarters, overrides=overrides,
                         progress=args.progress)
    elapsed = time.perf_counter() - t0
    tables = model.tables()
    write_run(out, model, tables, seed=args.seed, overrides=overrides, force=args.force,
              figures=not args.no_figures, elapsed=elapsed)
    print(summary(model, tables, out, elapsed))
    return 0


COMMANDS = {"run": cmd_run, "scenarios": cmd_scenarios, "validate": cmd_validate, "params": cmd_params,
            "calibrate": cmd_calibrate}


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except (ScenarioError, UserError) as exc:
        sys.stderr.write(f"kyoso: error: {exc}\n")
        return EXIT_USER_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
