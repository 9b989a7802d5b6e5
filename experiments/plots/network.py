"""The partnership network of one quarter: firms as nodes, supply partnerships as edges."""

from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from experiments.plots.base import Figure, plt, subplots

__all__ = ["partnership_network"]


def _homes(partnerships: pd.DataFrame, firms_home: object) -> dict[str, str]:
    """Firm id → home country from a firms table, a Series or mapping, else from the partnerships."""
    if isinstance(firms_home, pd.DataFrame):
        pairs = firms_home[["firm", "home"]].drop_duplicates("firm")
        return dict(zip(pairs["firm"].astype(str), pairs["home"].astype(str)))
    if isinstance(firms_home, pd.Series):
        return {str(k): str(v) for k, v in firms_home.items()}
    if isinstance(firms_home, Mapping):
        return {str(k): str(v) for k, v in firms_home.items()}
    homes = dict(zip(partnerships["buyer"].astype(str), partnerships["buyer_home"].astype(str)))
    homes.update(zip(partnerships["supplier"].astype(str), partnerships["supplier_home"].astype(str)))
    return homes


def _partner_graph(links: pd.DataFrame):
    """Firms as nodes; an edge per firm pair with its number of partnerships and whether it crosses a border."""
    import networkx as nx

    graph = nx.Graph()
    for b, s_, cross in zip(links["buyer"].astype(str), links["supplier"].astype(str), links["cross_border"]):
        if graph.has_edge(b, s_):
            graph[b][s_]["n"] += 1
        else:
            graph.add_edge(b, s_, n=1, cross=bool(cross))
    return graph


def _draw_graph(ax, graph, colour: dict[str, object], seed: int, label_top: int) -> None:
    """Seeded spring layout: grey domestic and orange cross-border edges, nodes sized by degree."""
    import networkx as nx
    from matplotlib.collections import LineCollection

    nodes = sorted(graph.nodes)
    pos = nx.spring_layout(graph, seed=seed, k=1.8 / np.sqrt(len(nodes)))
    for cross, edge_colour, z in ((False, "0.6", 1), (True, "#ff7f0e", 2)):
        segs = [(pos[a], pos[b]) for a, b, d in graph.edges(data=True) if d["cross"] == cross]
        widths = [0.4 + 0.4 * d["n"] for a, b, d in graph.edges(data=True) if d["cross"] == cross]
        if segs:
            ax.add_collection(LineCollection(segs, colors=edge_colour, linewidths=widths, alpha=0.55, zorder=z))
    xy = np.array([pos[n] for n in nodes])
    degree = np.array([graph.degree[n] for n in nodes])
    ax.scatter(xy[:, 0], xy[:, 1], s=20 + 12 * degree, c=[colour[n] for n in nodes],
               edgecolors="k", linewidths=0.5, zorder=3)
    for k in np.argsort(-degree, kind="stable")[:label_top]:
        ax.annotate(nodes[k], xy[k], fontsize=7, xytext=(4, 4), textcoords="offset points", zorder=4)
    ax.margins(0.05)


def partnership_network(partnerships: pd.DataFrame, firms_home: object = None, step: int | None = None,
                        *, seed: int = 0, label_top: int = 12) -> Figure:
    """Supply partnerships between firms in one quarter (default: the last recorded).

    Nodes are firms (size ∝ number of partners, colour = home country); edges
    are active partnerships, orange when buyer and supplier have different
    home countries and grey when domestic.  ``firms_home`` is the firms table,
    a firm → home Series or mapping, or None (homes read from the
    partnerships table).  The spring layout is seeded, so the picture is
    reproducible.
    """
    from matplotlib.lines import Line2D

    if step is None:
        step = int(partnerships["step"].max()) if len(partnerships) else 0
    links = partnerships[partnerships["step"] == step]
    quarter = str(links["quarter"].iloc[0]) if len(links) else f"step {step}"
    homes = _homes(partnerships, firms_home)
    graph = _partner_graph(links)
    countries = sorted({homes.get(n, "?") for n in graph.nodes})
    palette = plt.get_cmap("tab20")       # colours keyed on every home country: stable across quarters
    ccol = {c: palette(k % 20) for k, c in enumerate(sorted(set(homes.values()) | set(countries)))}
    fig, ax = subplots(figsize=(9.5, 7.5))
    if graph.number_of_nodes():
        _draw_graph(ax, graph, {n: ccol[homes.get(n, "?")] for n in graph.nodes}, seed, label_top)
    else:
        ax.text(0.5, 0.5, "no active partnerships", ha="center", va="center", transform=ax.transAxes)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel("spring-layout position (no unit; seeded)")
    ax.set_ylabel("spring-layout position (no unit; seeded)")
    n_cross = sum(d["cross"] for *_, d in graph.edges(data=True))
    ax.set_title(f"Supply partnerships between firms, {quarter}: {graph.number_of_nodes()} firms, "
                 f"{len(links)} partnerships ({n_cross} of {graph.number_of_edges()} firm pairs cross-border)",
                 fontsize=10)
    handles = [Line2D([], [], color="#ff7f0e", lw=2, label="cross-border"),
               Line2D([], [], color="0.6", lw=2, label="domestic")]
    handles += [Line2D([], [], marker="o", ls="", color=ccol[c], markeredgecolor="k", label=c)
                for c in countries]
    ax.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8,
              title="edge / firm home")
    fig.tight_layout()
    return fig
