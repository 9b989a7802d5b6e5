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
from model import metrics as metrics_registry

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
def metric_label(metric: str) -> tuple[str, float]:
    """Axis label with its unit, and the factor that converts the stored value to that unit
    (from the metric registry, ``model.metrics``)."""
    return metrics_registry.label(metric)


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
