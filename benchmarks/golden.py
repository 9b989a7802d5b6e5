"""Golden tables: every output table of every built-in scenario, seeds 0-2, full horizon.

``python benchmarks/golden.py write DIR``   write the tables of the checked-out code to DIR
``python benchmarks/golden.py compare DIR``  compare the checked-out code with DIR (exit 1 on a difference)
``python benchmarks/golden.py against REV`` build REV in a temporary git worktree, write its
                                            tables there, and compare this checkout with them

The suite compares with the committed files in ``tests/golden/`` (tests/test_golden.py);
``against`` is the stronger check that a restructure changed no result, since it
rebuilds the reference from the named commit rather than trusting committed files.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

SEEDS = (0, 1, 2)


def scenario_names() -> list[str]:
    from model.scenario import builtin_scenarios
    return sorted(builtin_scenarios())


def run_tables(name: str, seed: int) -> dict[str, pd.DataFrame]:
    from model import ChipModel
    return ChipModel(name, rng=seed).run().tables()


def _flat(df: pd.DataFrame) -> pd.DataFrame:
    """Array-valued cells (utility terms) as tuples so that Parquet and equality both work."""
    out = df.copy()
    for c in out.columns:
        if out[c].dtype == object and len(out) and hasattr(out[c].iloc[0], "__len__") \
                and not isinstance(out[c].iloc[0], str):
            out[c] = out[c].map(lambda v: [float(x) for x in v])
    return out


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name in scenario_names():
        for seed in SEEDS:
            for table, df in run_tables(name, seed).items():
                _flat(df).to_parquet(directory / f"{name}__{seed}__{table}.parquet", compression="zstd", compression_level=19,
                                     index=False)


def compare(directory: Path, names: list[str] | None = None, seeds: tuple[int, ...] = SEEDS) -> list[str]:
    """Differences between this checkout's tables and those in ``directory`` (empty when identical)."""
    problems = []
    for name in names or scenario_names():
        for seed in seeds:
            tables = run_tables(name, seed)
            files = sorted(directory.glob(f"{name}__{seed}__*.parquet"))
            if not files:
                problems.append(f"{name} seed {seed}: no golden files in {directory}")
            for f in files:
                table = f.stem.split("__")[2]
                want = pd.read_parquet(f)
                got = _flat(tables.get(table, pd.DataFrame()))
                got = pd.read_parquet(_roundtrip(got))
                try:
                    pd.testing.assert_frame_equal(got, want, check_exact=True)
                except AssertionError as exc:
                    problems.append(f"{name} seed {seed} table {table}: {str(exc).splitlines()[0:3]}")
    return problems


def _roundtrip(df: pd.DataFrame):
    import io
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    buf.seek(0)
    return buf


def against(rev: str) -> int:
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "ref"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", str(tree), rev], check=True,
                       capture_output=True)
        try:
            ref = Path(tmp) / "tables"
            # The reference code runs from its own tree (its own model package first on the path).
            code = ("import sys; sys.path.insert(0, sys.argv[1]); sys.path.insert(0, sys.argv[2]); "
                    "import golden; from pathlib import Path; golden.write(Path(sys.argv[3]))")
            subprocess.run([sys.executable, "-c", code, str(tree), str(Path(__file__).parent), str(ref)],
                           check=True, cwd=tree)
            problems = compare(ref)
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)], check=False)
    for p in problems:
        print(p)
    print("identical" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("command", choices=["write", "compare", "against"])
    ap.add_argument("target", help="a directory (write, compare) or a git revision (against)")
    a = ap.parse_args(argv)
    if a.command == "write":
        write(Path(a.target))
        return 0
    if a.command == "compare":
        problems = compare(Path(a.target))
        for p in problems:
            print(p)
        print("identical" if not problems else f"{len(problems)} differences")
        return 1 if problems else 0
    return against(a.target)


if __name__ == "__main__":
    sys.exit(main())
