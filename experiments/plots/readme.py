"""Redraw the README's figures from a baseline run: ``python -m experiments.plots.readme [OUT]``.

Writes ``docs/figures/region_map.png`` and ``docs/figures/value_chain.png``
(the baseline scenario, seed 0, the full horizon; the last quarter).
"""

from __future__ import annotations

import sys
from pathlib import Path

from experiments.plots.runs import save_readme_figures


def main(argv: list[str] | None = None) -> int:
    from model import ChipModel

    args = sys.argv[1:] if argv is None else argv
    out = Path(args[0]) if args else Path(__file__).resolve().parents[2] / "docs" / "figures"
    model = ChipModel("baseline", rng=0).run()
    for path in save_readme_figures(model.tables(), model, out):
        print(f"{path} ({path.stat().st_size / 1000:.0f} kB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
