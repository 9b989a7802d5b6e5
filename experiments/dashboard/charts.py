"""The teaching page's charts: matplotlib drawn off-screen (Agg) to PNG, text in the page's language.

Why matplotlib and not Altair or Plotly: Altair's charts fetch vega from a
CDN and stay blank offline (ECOSYSTEM.md), Plotly is not installed; matplotlib
is already a dependency and fast enough when drawn lean.  Speed (issue #13: a
Step ≤ 0.5 s): no ``bbox_inches="tight"`` (it draws every figure twice),
fixed axes limits over the whole horizon (nothing re-lays out as the run
grows), 80 dpi on screen (150 dpi for the PNG download), fast PNG
compression, and the map's land drawn once per size as an image
(:func:`_land_image`) under this quarter's bubbles.  Calendar quarters on
every time axis (ticks at each year's first quarter).  Chinese, Japanese and
Korean text needs a CJK font: :func:`_cjk_font` adds Noto Sans CJK
(Debian ``fonts-noto-cjk``) if matplotlib's font cache predates it.
"""

from __future__ import annotations

import io
from functools import lru_cache

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from experiments.plots.base import COUNTRY_COLOURS
from experiments.plots.maps import land_rings

from .i18n import t
from .session import Run

__all__ = ["CHARTS", "ChartSet", "LiveChart", "LiveMap", "render", "SCREEN_DPI", "EXPORT_DPI"]

SCREEN_DPI = 80
EXPORT_DPI = 150
#: The page's charts, in order; each has title/shows/look strings under ``chart.<id>`` in the i18n files.
CHARTS: tuple[str, ...] = ("map", "shares", "partnerships", "shocks", "clustering")
SHARE_COUNTRIES = ("JP", "KR", "TW", "US", "CN", "EU")
_WORLD = (-22.0, 300.0, -14.0, 64.0)       # lon (Pacific-centred), lat


@lru_cache(maxsize=1)
def _cjk_font() -> str | None:
    """A font family with Japanese and Korean glyphs, registered with matplotlib; None if none is installed."""
    from matplotlib import font_manager as fm

    names = {f.name for f in fm.fontManager.ttflist}
    for name in ("Noto Sans CJK JP", "Noto Sans CJK KR", "IPAexGothic", "NanumGothic"):
        if name in names:
            return name
    for path in fm.findSystemFonts():
        if "NotoSansCJK-Regular" in path or "NotoSansCJK-Bold" in path:
            fm.fontManager.addfont(path)
    names = {f.name for f in fm.fontManager.ttflist}
    return "Noto Sans CJK JP" if "Noto Sans CJK JP" in names else None


def _rc(lang: str, projector: bool) -> dict:
    family = ["DejaVu Sans"]
    cjk = _cjk_font()
    if cjk:
        family = [cjk, "DejaVu Sans"] if lang in ("ja", "ko") else ["DejaVu Sans", cjk]
    scale = 1.35 if projector else 1.0
    return {"font.family": family, "font.size": 10 * scale, "axes.titlesize": 11.5 * scale,
            "axes.labelsize": 10 * scale, "xtick.labelsize": 9 * scale, "ytick.labelsize": 9 * scale,
            "legend.fontsize": 9 * scale, "axes.spines.top": False, "axes.spines.right": False}


def _figure(width: float, height: float, dpi: int) -> Figure:
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", pil_kwargs={"compress_level": 1})
    return buf.getvalue()


def _country(code: str, lang: str) -> str:
    return t(f"country.{code}", lang)


def _quarter_axis(ax, run: Run, lang: str) -> None:
    """Calendar quarters: the whole horizon, a tick at each year's first quarter (fewer when long)."""
    h = run.horizon
    ticks = [k for k in range(h + 1) if run.quarter(k).endswith("Q1")]
    every = max(1, int(np.ceil(len(ticks) / 9)))
    ticks = ticks[::every]
    ax.set_xticks(ticks, [run.quarter(k)[:4] for k in ticks])
    ax.set_xlim(-0.5, h + 0.5)
    ax.set_xlabel(t("chart.axis.quarter", lang))
    ax.grid(axis="y", color="0.92", lw=0.8)


@lru_cache(maxsize=8)
def _land_image(width_px: int, height_px: int) -> np.ndarray:
    """Land and sea of the map's extent, drawn once per size (RGBA)."""
    from matplotlib.collections import PolyCollection

    fig = _figure(width_px / 100, height_px / 100, 100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.add_collection(PolyCollection(land_rings(), facecolors="0.88", edgecolors="0.55", linewidths=0.5))
    ax.set_xlim(_WORLD[0], _WORLD[1])
    ax.set_ylim(_WORLD[2], _WORLD[3])
    ax.set_facecolor("#e6f0fa")
    ax.axis("off")
    fig.patch.set_facecolor("#e6f0fa")
    canvas = fig.canvas
    canvas.draw()
    return np.asarray(canvas.buffer_rgba()).copy()


def _pacific(lon: np.ndarray) -> np.ndarray:
    lon = np.asarray(lon, dtype=float)
    return np.where(lon < -30, lon + 360.0, lon)


class _Series:
    """A line of run A (solid) or B (dashed) for one metric."""

    def __init__(self, ax, metric: str, label: str, colour, factor: float, dashed: bool):
        self.metric, self.factor = metric, factor
        (self.line,) = ax.plot([], [], color=colour, lw=1.6 if dashed else 2.2, ls="--" if dashed else "-",
                               label=label, animated=True)
        self.ax = ax

    def update(self, m) -> float:
        y = self.factor * m[self.metric].to_numpy(dtype=float) if self.metric in m else np.zeros(0)
        self.line.set_data(m["step"].to_numpy()[: len(y)], y)
        return float(np.nanmax(y)) if len(y) and np.isfinite(y).any() else 0.0


class LiveChart:
    """A line chart drawn once with its static parts (axes, legend, title) and redrawn each quarter by blitting
    only the lines, the "now" marker and the event shading onto the saved background."""

    def __init__(self, chart: str, run: Run, b: Run | None, lang: str, projector: bool, dpi: int):
        self.chart, self.lang, self.dpi = chart, lang, dpi
        with matplotlib.rc_context(_rc(lang, projector)):
            self.fig = _figure(*_SIZES[chart], dpi)
            right = 0.84 if chart == "partnerships" else 0.9
            bottom = (0.36 if b is None else 0.42) + (0.08 if projector else 0.0)
            self.ax = self.fig.add_axes((0.09, bottom, right - 0.09, 0.89 - bottom))
            self.twin = None
            self.series: list[_Series] = []
            self.fixed_top: float | None = None
            self._build(run, b)
            _quarter_axis(self.ax, run, lang)
            self.now = self.ax.axvline(0, color="0.5", lw=0.9, ls=":", animated=True)
            self.shade = None
            self.top = self.fixed_top or 1.0
            self.ax.set_ylim(0, self.top)
            self._redraw_background()

    def _add(self, ax, metric, label, colour, factor, b):
        self.series.append(_Series(ax, metric, label, colour, factor, False))
        if b is not None:
            self.series.append(_Series(ax, metric, f"{label} (B)", colour, factor, True))

    def _build(self, run: Run, b: Run | None) -> None:
        ax, lang = self.ax, self.lang
        title = t(f"chart.{self.chart}.title", lang)
        if self.chart == "shares":
            for c in SHARE_COUNTRIES:
                self._add(ax, f"share_{c}", _country(c, lang), COUNTRY_COLOURS[c], 100.0, b)
            ax.set_ylabel(t("chart.shares.y", lang))
        elif self.chart == "partnerships":
            self._add(ax, "partnerships_jk", t("chart.partnerships.count", lang), "#6a3d9a", 1.0, b)
            self.twin = ax.twinx()
            self.twin.set_ylim(0, 1)
            self.twin.spines["right"].set_visible(True)
            self.twin.set_ylabel(t("chart.partnerships.y2", lang))
            self._add(self.twin, "trust_jk", t("chart.partnerships.trust", lang), "#e6550d", 1.0, b)
            ax.set_ylabel(t("chart.partnerships.y", lang))
        elif self.chart == "shocks":
            self._add(ax, "supply_shortfall", t("chart.shocks.shortfall", lang), "#d62728", 100.0, b)
            ax.set_ylabel(t("chart.shocks.y", lang))
        elif self.chart == "clustering":
            self._add(ax, "clustering_index", t("chart.clustering.index", lang), "k", 1.0, b)
            self._add(ax, "hhi_country", t("chart.clustering.hhi", lang), "#1f77b4", 1.0, b)
            ax.set_ylabel(t("chart.clustering.y", lang))
            self.fixed_top = 1.0
        ax.set_title(title)
        handles = [s.line for s in self.series]
        labels = [s.line.get_label() for s in self.series]
        if self.chart == "shocks":
            from matplotlib.patches import Patch

            handles.append(Patch(color="orange", alpha=0.3))
            labels.append(t("chart.shocks.events", lang))
        ncol = min(len(handles), 6 if b is None else 4)
        self.fig.legend(handles, labels, loc="lower center", bbox_to_anchor=(0.5, 0.0), frameon=False, ncol=ncol,
                        columnspacing=1.2, handlelength=1.8)

    def _redraw_background(self) -> None:
        canvas = self.fig.canvas
        canvas.draw()
        self.background = canvas.copy_from_bbox(self.fig.bbox)

    def png(self, run: Run, b: Run | None) -> bytes:
        """This quarter's chart as PNG bytes."""
        ma = run.metrics()
        mb = b.metrics() if b is not None else None
        top = 0.0
        for k, s in enumerate(self.series):
            dashed = s.line.get_linestyle() == "--"
            peak = s.update(mb if dashed else ma)
            if s.ax is self.ax:
                top = max(top, peak)
        if self.fixed_top is None and (top > self.top or top < 0.4 * self.top) and top > 0:
            self.top = _nice_top(top)
            self.ax.set_ylim(0, self.top)
            self._redraw_background()
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        if self.chart == "shocks":
            active = ma["events_active"].to_numpy() > 0
            if self.shade is not None:
                self.shade.remove()
            x = ma["step"].to_numpy()
            self.shade = self.ax.fill_between(x, 0, self.top, where=active, step="mid", color="orange", alpha=0.18,
                                              lw=0, animated=True)
            self.ax.draw_artist(self.shade)
        self.now.set_xdata([run.steps, run.steps])
        self.ax.draw_artist(self.now)
        for s in self.series:
            s.ax.draw_artist(s.line)
        return _encode(canvas)


def _nice_top(peak: float) -> float:
    """A round axis top a little above ``peak``."""
    raw = peak * 1.25
    mag = 10 ** np.floor(np.log10(raw))
    for f in (1, 2, 2.5, 5, 10):
        if f * mag >= raw:
            return float(f * mag)
    return float(10 * mag)


def _encode(canvas) -> bytes:
    """The canvas as PNG (Pillow, fast compression)."""
    from PIL import Image

    w, h = canvas.get_width_height(physical=True)
    img = Image.frombuffer("RGBA", (w, h), bytes(canvas.buffer_rgba()), "raw", "RGBA", 0, 1)
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


class LiveMap:
    """The region map: land, legend and frame drawn once; each quarter only the bubbles and the title."""

    def __init__(self, run: Run, lang: str, projector: bool, dpi: int, prefix: str = ""):
        from matplotlib.lines import Line2D

        self.lang, self.prefix = lang, prefix
        geo = run.model.geo
        self.x, self.y = _pacific(geo.lon), np.asarray(geo.lat, dtype=float)
        countries = list(run.region_country)
        self.colours = np.array([matplotlib.colors.to_rgba(COUNTRY_COLOURS.get(c, "0.5"), 0.65) for c in countries])
        with matplotlib.rc_context(_rc(lang, projector)):
            self.fig = _figure(*_SIZES["map"], dpi)
            w_in, h_in = self.fig.get_size_inches()
            ax = self.ax = self.fig.add_axes((0.01, 0.16, 0.98, 0.74))
            ax.imshow(_land_image(int(w_in * 0.98 * 100), int(h_in * 0.74 * 100)),
                      extent=(_WORLD[0], _WORLD[1], _WORLD[2], _WORLD[3]), origin="upper", aspect="auto",
                      interpolation="bilinear", zorder=0)
            ax.set_xlim(_WORLD[0], _WORLD[1])
            ax.set_ylim(_WORLD[2], _WORLD[3])
            ax.set_xticks([])
            ax.set_yticks([])
            codes = list(dict.fromkeys(countries))
            handles = [Line2D([], [], marker="o", ls="", markersize=8, color=COUNTRY_COLOURS.get(c, "0.5"), alpha=0.8,
                              markeredgecolor="k", label=_country(c, lang)) for c in codes]
            self.fig.legend(handles=handles, loc="lower center", ncol=min(len(handles), 6), frameon=False,
                            bbox_to_anchor=(0.5, 0.0), handletextpad=0.2, columnspacing=0.9)
            self.title = ax.set_title(" ", animated=True)
            self.dots = ax.scatter(self.x, self.y, s=np.zeros(len(self.x)), c=self.colours, edgecolors="k",
                                   linewidths=0.4, zorder=3, animated=True)
            self.fig.canvas.draw()
            self.background = self.fig.canvas.copy_from_bbox(self.fig.bbox)

    def png(self, run: Run) -> bytes:
        cap = run.region_capacity()
        top = max(float(cap.max()), 1.0)
        self.dots.set_sizes(np.where(cap > 0, 900 * cap / top + 6, 0.0))
        self.title.set_text(f"{self.prefix}{t('chart.map.title', self.lang)} — {run.quarter()}")
        canvas = self.fig.canvas
        canvas.restore_region(self.background)
        self.ax.draw_artist(self.dots)
        self.ax.draw_artist(self.title)
        return _encode(canvas)


class ChartSet:
    """Every chart of one page view, kept between quarters; rebuilt when the language, the projector switch,
    the runs' scenarios or the compare mode change."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self._charts: dict[str, LiveChart | LiveMap] = {}

    def images(self, a: Run, b: Run | None, lang: str, projector: bool) -> dict[str, bytes]:
        """PNG bytes of every chart for this quarter (``map_b``: run B's map in compare mode)."""
        key = (id(a), id(b), lang, projector)
        if key != self._key:
            self._key = key
            self._charts = {"map": LiveMap(a, lang, projector, SCREEN_DPI, "A: " if b is not None else "")}
            if b is not None:
                self._charts["map_b"] = LiveMap(b, lang, projector, SCREEN_DPI, "B: ")
            for c in CHARTS[1:]:
                self._charts[c] = LiveChart(c, a, b, lang, projector, SCREEN_DPI)
        out = {}
        for name, chart in self._charts.items():
            if isinstance(chart, LiveMap):
                out[name] = chart.png(b if name == "map_b" else a)
            else:
                out[name] = chart.png(a, b)
        return out


_SIZES = {"map": (8.0, 3.9), "shares": (8.0, 3.8), "partnerships": (8.0, 3.8), "shocks": (8.0, 3.8),
          "clustering": (8.0, 3.8)}


def render(chart: str, run: Run, lang: str = "en", *, b: Run | None = None, projector: bool = False,
           dpi: int = EXPORT_DPI) -> bytes:
    """One chart as PNG bytes, drawn afresh (for the PNG download; ``map_b`` is run B's map)."""
    if chart in ("map", "map_b"):
        target = b if chart == "map_b" and b is not None else run
        prefix = "" if b is None else ("B: " if chart == "map_b" else "A: ")
        return LiveMap(target, lang, projector, dpi, prefix).png(target)
    if chart not in CHARTS:
        raise ValueError(f"chart {chart!r}: expected one of {', '.join(CHARTS)} or map_b")
    return LiveChart(chart, run, b, lang, projector, dpi).png(run, b)
