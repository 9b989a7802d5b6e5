"""Path dependence: does the region (or country) that leads a segment differ across seeds?

A run's *leader* of a segment is the region (or country) with the most new
capacity the firms of the run started in that segment (``investments`` table,
projects not deferred, greenfield and brownfield alike) — or, with
``measure="end"``, the most capacity in place at the run's last step
(``sites`` table, every status).  Over the seeds of one parameter point:

* ``divergence`` = 1 − the share of seeds whose leader is the modal leader
  (0: every seed crowns the same region; it can reach 1 − 1/n for n seeds);
* ``entropy`` = the Shannon entropy of the leaders' distribution over seeds,
  divided by ln(n) for n seeds (0: one leader; 1: a different leader in every seed).

Both are averaged over the segments that have a leader in at least two
seeds.  A seed in which a segment got no new capacity has no leader there
and is left out of that segment.  Ties are broken by the order of the
table's rows (first region reached); with capacities in kwpm exact ties are rare.

Divergence alone does not show path dependence: two regions of nearly
equal pull trade the lead by chance even without any feedback.  The sweep
in ``benchmarks/emergence.py`` therefore reads it against the point with no
agglomeration (``w_agglomeration`` = 0), where a new site does not raise a
region's pull for others.
"""

from __future__ import annotations

from typing import Iterable, Literal, Mapping

import numpy as np
import pandas as pd

__all__ = ["segment_leaders", "leader_divergence", "divergence_summary", "divergence_interval", "divergence_figure",
           "load_emergence_table", "emergence_findings", "EMERGENCE_CSV",
           "LEVELS", "MEASURES"]

from pathlib import Path

LEVELS = ("region", "country")
#: The table ``python benchmarks/emergence.py`` writes (notebook 02 reads it).
EMERGENCE_CSV = Path(__file__).resolve().parent.parent / "docs" / "figures" / "emergence.csv"
MEASURES = ("new", "end")


def _check(level: str, measure: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"level = {level!r}: expected one of {', '.join(LEVELS)}")
    if measure not in MEASURES:
        raise ValueError(f"measure = {measure!r}: expected one of {', '.join(MEASURES)}")


def segment_leaders(tables: Mapping[object, pd.DataFrame] | pd.DataFrame, *, level: str = "region",
                    measure: Literal["new", "end"] = "new",
                    segments: Iterable[str] | None = None) -> pd.DataFrame:
    """Leader of each segment in each run: a frame with columns run, segment, leader, capacity, share.

    ``tables`` is either {run: table} or one table with a ``run`` column; the
    table is the run's ``investments`` table (``measure="new"``) or its
    ``sites`` table (``measure="end"``).  ``share`` is the leader's share of
    the segment's new (or final) capacity in that run.
    """
    _check(level, measure)
    if isinstance(tables, Mapping):
        frames = [t.assign(run=run) for run, t in tables.items()]
        if not frames:
            raise ValueError("tables: no runs given")
        df = pd.concat(frames, ignore_index=True)
    else:
        df = tables
    need = {"run", "segment", level, "capacity"} | ({"deferred"} if measure == "new" else {"step"})
    missing = sorted(need - set(df.columns))
    if missing:
        kind = "investments" if measure == "new" else "sites"
        raise ValueError(f"tables: missing column(s) {', '.join(missing)}; expected the runs' {kind} tables "
                         f"(measure = {measure!r})")
    if measure == "new":
        df = df[~df["deferred"].astype(bool)]
    else:
        df = df[df["step"] == df.groupby("run")["step"].transform("max")]
    if segments is not None:
        df = df[df["segment"].astype(str).isin(list(segments))]
    g = (df.assign(segment=df["segment"].astype(str), place=df[level].astype(str))
         .groupby(["run", "segment", "place"], sort=False)["capacity"].sum().reset_index())
    g = g[g["capacity"] > 0]
    if g.empty:
        return pd.DataFrame(columns=["run", "segment", "leader", "capacity", "share"])
    total = g.groupby(["run", "segment"], sort=False)["capacity"].transform("sum")
    g = g.assign(share=g["capacity"] / total)
    top = g.loc[g.groupby(["run", "segment"], sort=False)["capacity"].idxmax()]
    return (top.rename(columns={"place": "leader"})[["run", "segment", "leader", "capacity", "share"]]
            .reset_index(drop=True))


def leader_divergence(leaders: pd.DataFrame) -> pd.DataFrame:
    """Per segment: runs with a leader, the modal leader, its share of runs, divergence and normalised entropy."""
    rows = []
    for seg, grp in leaders.groupby("segment", sort=True):
        counts = grp["leader"].value_counts()
        n = int(counts.sum())
        p = counts.to_numpy() / n
        rows.append({"segment": seg, "runs": n, "modal_leader": counts.index[0], "modal_share": float(p[0]),
                     "divergence": float(1.0 - p[0]),
                     "entropy": float(-(p * np.log(p)).sum() / np.log(n)) if n > 1 else np.nan,
                     "leaders": int(len(counts)),
                     "leader_share_mean": float(grp["share"].mean())})
    return pd.DataFrame(rows, columns=["segment", "runs", "modal_leader", "modal_share", "divergence", "entropy",
                                       "leaders", "leader_share_mean"])


def divergence_summary(tables: Mapping[object, pd.DataFrame] | pd.DataFrame, *, level: str = "region",
                       measure: Literal["new", "end"] = "new",
                       segments: Iterable[str] | None = None) -> dict[str, float]:
    """Divergence and normalised entropy averaged over segments with a leader in ≥ 2 runs (NaN if none)."""
    per = leader_divergence(segment_leaders(tables, level=level, measure=measure, segments=segments))
    per = per[per["runs"] >= 2]
    if per.empty:
        return {"divergence": np.nan, "entropy": np.nan, "segments": 0}
    return {"divergence": float(per["divergence"].mean()), "entropy": float(per["entropy"].mean()),
            "segments": int(len(per))}


def divergence_interval(leaders: pd.DataFrame, *, level: float = 0.95) -> tuple[float, float, float]:
    """Mean divergence and its t-interval over runs (seeds), given each segment's modal leader.

    Each run scores d = 1 − (share of its segments whose leader is that segment's
    modal leader over all runs); the mean of d over runs equals the divergence of
    :func:`divergence_summary` when every run has a leader in every segment.  The
    interval treats the modal leaders as known (it does not count the chance that
    another region would be modal in a new set of seeds), so it is narrower than
    the full uncertainty when leaders are nearly tied.  A resampling bootstrap is
    not used: drawing a run twice makes seeds agree by construction and biases
    divergence towards 0.  Returns (mean, low, high); the interval is NaN with
    fewer than two runs.
    """
    from scipy import stats

    if not 0 < level < 1:
        raise ValueError(f"level = {level}: expected a share between 0 and 1")
    per = leader_divergence(leaders)
    per = per[per["runs"] >= 2]
    if per.empty:
        return np.nan, np.nan, np.nan
    mode = per.set_index("segment")["modal_leader"]
    rows = leaders[leaders["segment"].isin(mode.index)]
    agree = rows["leader"].to_numpy() == mode.reindex(rows["segment"]).to_numpy()
    d = 1.0 - pd.Series(agree, index=rows.index).groupby(rows["run"].to_numpy()).mean().to_numpy(dtype=float)
    mean = float(d.mean())
    if len(d) < 2:
        return mean, np.nan, np.nan
    half = float(stats.t.ppf(0.5 + level / 2, len(d) - 1) * d.std(ddof=1) / np.sqrt(len(d)))
    return mean, max(0.0, mean - half), min(1.0, mean + half)


def divergence_figure(table: pd.DataFrame, x: str = "params.w_agglomeration", y: str = "params.w_coordination",
                      value: str = "divergence"):
    """Heat maps of ``value`` over the (x, y) grid, one panel per ``variant`` of the table
    (``benchmarks/emergence.py``'s CSV); each cell gives the value, its 95% interval when the
    table has one, and the mean share of new capacity the leading region took."""
    from experiments.plots.base import parameter_label, subplots

    for col in (x, y, value):
        if col not in table.columns:
            raise ValueError(f"table: no column {col!r} (expected benchmarks/emergence.py's CSV)")
    variants = list(dict.fromkeys(table["variant"])) if "variant" in table.columns else [None]
    n_x = table[x].nunique()
    fig, axes = subplots(1, len(variants), figsize=((1.05 * n_x + 2.2) * len(variants), 5.2), squeeze=False)
    for ax, variant in zip(axes[0], variants):
        part = table if variant is None else table[table["variant"] == variant]
        grid = part.pivot_table(index=y, columns=x, values=value, aggfunc="mean").sort_index()
        grid = grid.reindex(sorted(grid.columns), axis=1)
        im = ax.imshow(grid.to_numpy(dtype=float), origin="lower", aspect="auto", cmap="magma", vmin=0.0, vmax=1.0)
        ax.set_xticks(range(len(grid.columns)), [f"{v:g}" for v in grid.columns])
        ax.set_yticks(range(len(grid.index)), [f"{v:g}" for v in grid.index])
        for i, yv in enumerate(grid.index):
            for j, xv in enumerate(grid.columns):
                cell = part[(part[x] == xv) & (part[y] == yv)].iloc[0]
                text = f"{cell[value]:.2f}"
                if {"ci_low", "ci_high"} <= set(part.columns) and value == "divergence":
                    text += f"\n[{cell['ci_low']:.2f}, {cell['ci_high']:.2f}]"
                if "leader_share" in part.columns:
                    text += f"\nlead {cell['leader_share']:.2f}"
                ax.text(j, i, text, ha="center", va="center", fontsize=6.2, linespacing=1.15,
                        color="black" if cell[value] > 0.55 else "white")
        ax.set_xlabel(parameter_label(x))
        ax.set_ylabel(parameter_label(y))
        seeds = f", {int(part['seeds'].iloc[0])} seeds per cell" if "seeds" in part.columns else ""
        ax.set_title(f"{variant or ''}: divergence of the segment leaders{seeds}\n"
                     "(1 − share of seeds agreeing with the modal leading region; [95% interval];\n"
                     "lead = mean share of new capacity the leading region took)", fontsize=8.5)
        fig.colorbar(im, ax=ax, label="divergence (0 = same leader in every seed)")
    return fig


def load_emergence_table(path: str | Path | None = None) -> pd.DataFrame:
    """The sweep's reduced table (default: docs/figures/emergence.csv, from benchmarks/emergence.py)."""
    path = Path(path) if path is not None else EMERGENCE_CSV
    if not path.is_file():
        raise FileNotFoundError(f"{path}: not found; write it with: python benchmarks/emergence.py")
    return pd.read_csv(path)


def emergence_findings(table: pd.DataFrame, x: str = "params.w_agglomeration", y: str = "params.w_coordination",
                       threshold: float = 0.3, lock_in: float = 0.7) -> list[str]:
    """Sentences that state what the table shows, computed from it (one list per variant, in order).

    Per variant: the range of divergence; its value without agglomeration (the
    reference: no feedback from new capacity to others' choices); the cells where
    agglomeration raises divergence above that reference with non-overlapping
    95% intervals (path dependence the feedback creates); where divergence
    reaches ``threshold``; the cells where divergence reaches ``threshold``
    while the leading region takes at least ``lock_in`` of a segment's new
    capacity (lock-in into a region chance picks: Arthur 1989); the rank
    correlation of divergence and of the leader's share with the
    agglomeration weight.
    """
    from scipy import stats

    need = {x, y, "divergence", "ci_low", "ci_high", "leader_share"}
    missing = sorted(need - set(table.columns))
    if missing:
        raise ValueError(f"table: missing column(s) {', '.join(missing)} (expected benchmarks/emergence.py's CSV)")
    out = []
    variants = list(dict.fromkeys(table["variant"])) if "variant" in table.columns else [None]
    for v in variants:
        t = table if v is None else table[table["variant"] == v]
        name = f"[{v}] " if v is not None else ""
        lo, hi = t.loc[t["divergence"].idxmin()], t.loc[t["divergence"].idxmax()]
        seeds = f" over {int(t['seeds'].iloc[0])} seeds" if "seeds" in t.columns else ""
        out.append(f"{name}divergence of the segment leaders{seeds} ranges from {lo['divergence']:.2f} "
                   f"({x.split('.')[-1]} = {lo[x]:g}, {y.split('.')[-1]} = {lo[y]:g}) to {hi['divergence']:.2f} "
                   f"({x.split('.')[-1]} = {hi[x]:g}, {y.split('.')[-1]} = {hi[y]:g})")
        x0 = t[x].min()
        ref = t[t[x] == x0].set_index(y)
        out.append(f"{name}without agglomeration feedback ({x.split('.')[-1]} = {x0:g}) divergence is "
                   + ", ".join(f"{r.divergence:.2f} [{r.ci_low:.2f}, {r.ci_high:.2f}] at {y.split('.')[-1]} = {c:g}"
                               for c, r in ref.iterrows()))
        above = [r for r in t[t[x] > x0].to_dict("records")
                 if r[y] in ref.index and r["ci_low"] > ref.loc[r[y], "ci_high"]]
        if above:
            cells = ", ".join(f"({r[x]:g}, {r[y]:g})" for r in above)
            out.append(f"{name}agglomeration raises divergence above its no-feedback value (95% intervals apart) "
                       f"in {len(above)} of {int((t[x] > x0).sum())} cells ({x.split('.')[-1]}, {y.split('.')[-1]}): "
                       f"{cells}")
        else:
            out.append(f"{name}in none of the {int((t[x] > x0).sum())} cells with agglomeration is divergence above "
                       f"its no-feedback value at the same {y.split('.')[-1]} with 95% intervals apart: the "
                       "agglomeration feedback does not make the leader's identity vary more than chance already does")
        high = t[t["divergence"] >= threshold]
        if high.empty:
            out.append(f"{name}divergence is below {threshold:g} everywhere")
        else:
            where = (f"at {x.split('.')[-1]} = {x0:g}" if high[x].max() == x0
                     else f"where {x.split('.')[-1]} ≤ {high[x].max():g}")
            out.append(f"{name}divergence is {threshold:g} or more only {where} "
                       f"({len(high)} of {len(t)} cells; {y.split('.')[-1]} there: "
                       f"{', '.join(f'{c:g}' for c in sorted(high[y].unique()))})")
        locked = t[(t["divergence"] >= threshold) & (t["leader_share"] >= lock_in)]
        if locked.empty:
            out.append(f"{name}no cell has both divergence ≥ {threshold:g} and a leader taking ≥ {lock_in:.0%} of new "
                       "capacity: no lock-in into a region that chance picks (path dependence in Arthur's sense)")
        else:
            best = locked.loc[locked["leader_share"].idxmax()]
            out.append(f"{name}lock-in into a region that chance picks (path dependence in Arthur's sense: divergence "
                       f"≥ {threshold:g} while the leader takes ≥ {lock_in:.0%} of a segment's new capacity) in "
                       f"{len(locked)} of {len(t)} cells, all at {x.split('.')[-1]} ≥ {locked[x].min():g}; strongest "
                       f"at ({best[x]:g}, {best[y]:g}): the leader takes {best['leader_share']:.2f} and differs across "
                       f"seeds (divergence {best['divergence']:.2f} [{best['ci_low']:.2f}, {best['ci_high']:.2f}])")
        rho_d = stats.spearmanr(t[x], t["divergence"])[0]
        rho_s = stats.spearmanr(t[x], t["leader_share"])[0]
        s0, s1 = t[t[x] == x0]["leader_share"].mean(), t[t[x] == t[x].max()]["leader_share"].mean()
        out.append(f"{name}a stronger agglomeration pull {'lowers' if rho_d < 0 else 'raises'} divergence "
                   f"(Spearman ρ = {rho_d:+.2f} over the cells) and {'raises' if rho_s > 0 else 'lowers'} the share "
                   f"of a segment's new capacity its leading region takes (ρ = {rho_s:+.2f}; {s0:.2f} at "
                   f"{x.split('.')[-1]} = {x0:g}, {s1:.2f} at {t[x].max():g})")
    return out
