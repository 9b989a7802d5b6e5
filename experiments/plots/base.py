"""What every figure module shares: the backend choice, plain Figures, axis labels with units, colours.

Files only (the CLI, tests): Agg, unless a backend was chosen already.
Jupyter kernels set MPLBACKEND to the inline backend, and forcing Agg there
would stop a returned Figure from displaying; the figures are plain
``Figure`` objects (not pyplot-managed), so a cell that returns one shows it
exactly once and nothing needs closing.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import matplotlib

if "MPLBACKEND" not in os.environ and "matplotlib.pyplot" not in sys.modules:
    matplotlib.use("Agg")
elif os.environ.get("MPLBACKEND", "") in ("inline", "module://matplotlib_inline.backend_inline"):
    try:  # loading the inline backend registers IPython's Figure formatter (plain Figures never load it)
        import matplotlib_inline.backend_inline  # noqa: F401
    except ImportError:
        pass
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["BLOC_COLOURS", "Figure", "plt", "subplots", "save", "metric_label", "quarter_axis", "bloc_colours",
           "short_name"]

BLOC_COLOURS = {"western": "#1f77b4", "china": "#d62728", "nonaligned": "#2ca02c"}


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (8, 5), **kw):
    """``plt.subplots`` without pyplot's global figure list (see the backend note above)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


def save(fig: Figure, path: Path) -> Path:
    """Write ``fig`` as PNG (110 dpi, the size of every saved figure) and let it go."""
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# Axis labels with units for the metrics the figures show most (docs/ODD.md §7.21);
# shares are drawn in per cent.
_METRIC_UNITS: dict[str, tuple[str, float]] = {
    "supply_shortfall": ("supply shortfall (% of planned fab output)", 100.0),
    "stranded_capacity": ("stranded capacity (kwpm)", 1.0),
    "stranded_capital": ("stranded capital (USD bn)", 1.0),
    "unit_cost_index": ("unit cost index (step 0 = 1)", 1.0),
    "knowledge_sharing_rate": ("knowledge sharing rate (share 0–1)", 1.0),
    "partnerships_jk": ("JP–KR partnerships (count)", 1.0),
    "partnerships_active": ("active partnerships (count)", 1.0),
    "partnerships_cross_border_share": ("cross-border partnerships (%)", 100.0),
    "trust_jk": ("JP–KR trust (index 0–1)", 1.0),
    "clustering_index": ("clustering index (regional Herfindahl, 0–1)", 1.0),
    "hhi_country": ("country HHI (0–1)", 1.0),
    "capacity_fab": ("operating fab capacity (kwpm)", 1.0),
    "subsidy_paid_cumulative": ("subsidies paid since start (USD bn)", 1.0),
    "investments_started": ("projects started (count per quarter)", 1.0),
    "friendshored_share": ("friend-shored share of new capacity (%)", 100.0),
    "labour_shortage": ("skilled-labour shortage (% of need)", 100.0),
    "events_active": ("active events (count)", 1.0),
}


def metric_label(metric: str) -> tuple[str, float]:
    """Axis label with its unit, and the factor that converts the stored value to that unit."""
    if metric in _METRIC_UNITS:
        return _METRIC_UNITS[metric]
    if metric.startswith("share_bloc_"):
        return f"{metric.removeprefix('share_bloc_')} bloc share of world fab capacity (%)", 100.0
    if metric.startswith("share_"):
        return f"{metric.removeprefix('share_')} share of world fab capacity (%)", 100.0
    if metric.startswith("shortfall_"):
        return f"{metric.removeprefix('shortfall_')} output shortfall (%)", 100.0
    if metric.startswith("clustering_"):
        return f"{metric.removeprefix('clustering_')} clustering (regional Herfindahl, 0–1)", 1.0
    if metric.startswith("capacity_"):
        return f"{metric.removeprefix('capacity_')} capacity (kwpm)", 1.0
    return metric, 1.0


def quarter_axis(ax, steps: np.ndarray, quarters: np.ndarray, n_ticks: int = 8) -> None:
    """Step positions on the x axis, labelled with their quarters."""
    steps = np.asarray(steps)
    k = np.arange(0, len(steps), max(1, len(steps) // n_ticks))
    ax.set_xticks(steps[k], [str(q) for q in np.asarray(quarters)[k]], rotation=30)
    ax.set_xlim(steps.min(), max(steps.max(), steps.min() + 1))
    ax.set_xlabel("quarter")


def bloc_colours(blocs: list[str]) -> dict[str, object]:
    """A colour per bloc: the fixed ones for the known blocs, tab10 for others."""
    palette = plt.get_cmap("tab10")
    return {b: BLOC_COLOURS.get(b, palette(k)) for k, b in enumerate(blocs)}


def short_name(path: str) -> str:
    """``governments.US.subsidy_rate`` → ``US.subsidy_rate`` for axis labels."""
    parts = path.split(".")
    return ".".join(parts[-2:]) if len(parts) > 2 else path
