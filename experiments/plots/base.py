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
from matplotlib.text import Text  # noqa: E402
from model import metrics as metrics_registry

__all__ = ["BLOC_COLOURS", "COUNTRY_COLOURS", "Figure", "plt", "subplots", "save", "metric_label", "quarter_axis",
           "bloc_colours", "country_colours", "parameter_label", "parameter_name", "renderer", "place_labels",
           "value_axis"]

BLOC_COLOURS = {"western": "#1f77b4", "china": "#d62728", "nonaligned": "#2ca02c"}
# Japan, Korea and Taiwan get clearly different hues (the model is about Japan–Korea co-creation).
COUNTRY_COLOURS = {"JP": "#d62728", "KR": "#1f77b4", "TW": "#2ca02c", "CN": "#8c564b", "US": "#9467bd",
                   "EU": "#ff7f0e", "SG": "#17becf", "MY": "#bcbd22", "VN": "#e377c2", "TH": "#7f7f7f",
                   "IN": "#393b79", "ID": "#637939"}


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float] = (8, 5), **kw):
    """``plt.subplots`` without pyplot's global figure list (see the backend note above)."""
    fig = Figure(figsize=figsize)
    return fig, fig.subplots(nrows, ncols, **kw)


def save(fig: Figure, path: Path, *, palette: bool = False) -> Path:
    """Write ``fig`` as PNG (110 dpi, the size of every saved figure) and let it go.

    ``palette``: 256 colours (about a third of the bytes; for figures kept in the repository).
    """
    if palette:
        import io

        from PIL import Image

        buf = io.BytesIO()
        fig.savefig(buf, dpi=110, format="png")
        Image.open(buf).convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(
            path, optimize=True)
    else:
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


def country_colours(countries: list[str]) -> dict[str, object]:
    """A colour per country: the fixed ones for the model's countries, tab20 for others."""
    palette = plt.get_cmap("tab20")
    return {c: COUNTRY_COLOURS.get(c, palette(k % 20)) for k, c in enumerate(countries)}


def parameter_label(path: str) -> str:
    """A parameter path as an axis label: its short name and its unit from the scenario schema."""
    from model.scenario import describe_path

    try:
        unit = describe_path(path).unit
    except Exception:  # noqa: BLE001  (a path the schema does not know: no unit to add)
        unit = ""
    name = parameter_name(path)
    return f"{name} ({unit})" if unit else f"{name} (no unit)"


def parameter_name(path: str) -> str:
    """A parameter path in words: ``governments.US.subsidy_rate`` → ``US subsidy rate``,
    ``params.w_risk`` → ``w risk``."""
    parts = path.replace("__", ".").split(".")
    return " ".join(parts[-2:] if len(parts) > 2 else parts[-1:]).replace("_", " ")


def value_axis(ax, values, *, pad: float = 1.15, allow_break: bool = False) -> bool:
    """A value axis from 0 to a little above the largest value, so that small changes look small.

    With ``allow_break`` and values far from 0 (all above half the largest),
    the axis keeps its own range instead and the break is marked: a double
    slash on the axis at the bottom.  Negative values keep the automatic range
    (0 lies inside it or the values are all below it).  Returns whether the
    axis is broken.
    """
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size or v.min() < 0:
        return False
    lo, hi = float(v.min()), float(v.max())
    if allow_break and lo > 0.5 * hi:
        for dy in (0.0, 0.025):
            ax.plot([-0.02, 0.02], [0.01 + dy, 0.04 + dy], transform=ax.transAxes, color="k", lw=1, clip_on=False)
        return True
    ax.set_ylim(0, hi * pad if hi > 0 else 1.0)
    return False


def renderer(fig: Figure):
    """The figure's renderer, for text extents (an Agg canvas is attached to plain Figures)."""
    if not hasattr(fig.canvas, "get_renderer"):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        FigureCanvasAgg(fig)
    return fig.canvas.get_renderer()


# offsets (points) tried in order around an anchor: close first, then further out with a leader line
_OFFSETS = [(dx * r, dy * r) for r in (5, 14, 26, 40, 56)
            for dx, dy in ((1, 1), (1, -1), (-1, 1), (-1, -1), (1.3, 0), (-1.3, 0), (0, 1.2), (0, -1.2))]


def place_labels(ax, xy: list[tuple[float, float]], texts: list[str], *, fontsize: float = 7,
                 avoid: list | None = None, colour: str = "k") -> list:
    """Annotate points without overlap: greedy, in the order given (put the important ones first).

    Each label tries offsets around its point, nearest first, and takes the first
    whose bounding box stays inside the axes and clears every label placed so far
    (and the boxes in ``avoid``); beyond the nearest ring it gets a leader line.
    A label that finds no free place is left out.  Call it after the layout is
    final (``tight_layout``), because the boxes are measured in display space.
    """
    rend = renderer(ax.figure)
    ax.apply_aspect()
    frame = ax.get_window_extent(rend)
    taken = list(avoid or [])
    placed = []
    for (x, y), text in zip(xy, texts):
        for k, (dx, dy) in enumerate(_OFFSETS):
            ann = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                              color=colour, ha="left" if dx >= 0 else "right",
                              va="bottom" if dy >= 0 else "top", zorder=6,
                              bbox={"boxstyle": "square,pad=0.05", "fc": "white", "ec": "none", "alpha": 0.6},
                              arrowprops=None if k < 8 else {"arrowstyle": "-", "lw": 0.5, "color": "0.3",
                                                             "shrinkA": 0, "shrinkB": 2})
            ann.update_positions(rend)
            box = Text.get_window_extent(ann, rend)      # the text, not its leader line
            inside = (box.x0 >= frame.x0 and box.x1 <= frame.x1 and box.y0 >= frame.y0 and box.y1 <= frame.y1)
            if inside and not any(box.overlaps(b) for b in taken):
                taken.append(box.expanded(1.05, 1.1))
                placed.append(ann)
                break
            ann.remove()
    return placed
