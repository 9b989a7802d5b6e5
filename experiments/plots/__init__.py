"""Figures for runs and sweeps: every function takes tables and returns a matplotlib Figure.

``save_run_figures`` writes the ``kyoso run`` / ``make demo`` set as PNG;
``save_sweep_figures`` writes the ``kyoso plot`` set of a sweep (the figures
its registered analyses name).  By concern: ``runs`` (one run over time, and
the dashboard's panels), ``maps`` (capacity by region over Natural Earth
outlines, bundled in ``data/``), ``network`` (the value chain between
countries: layered flows and the trade matrix), ``compare`` (scenarios side
by side), ``sweeps``; ``base`` holds the backend choice, axis labels with
units (from the metric registry and the scenario schema), colours, value
axes from zero and collision-free label placement; ``readme`` redraws the
README's figures.
"""

from experiments.plots.base import BLOC_COLOURS, COUNTRY_COLOURS, metric_label
from experiments.plots.compare import scenario_comparison, scenario_intervals
from experiments.plots.maps import region_map, region_map_small_multiples, regions_frame
from experiments.plots.network import country_flows, partnership_network, trade_matrix, value_chain_figure
from experiments.plots.runs import (
    capacity_share_by_bloc,
    capacity_share_by_country,
    concentration_over_time,
    events_timeline,
    partnership_figure,
    run_figures,
    save_run_figures,
    shock_figure,
)
from experiments.plots.sweeps import (
    grid_heatmap,
    main_effects_figure,
    morris_scatter,
    noise_share,
    point_heatmap,
    policy_comparison_figure,
    save_sweep_figures,
    seed_noise_figure,
    sobol_bars,
)

__all__ = [
    "BLOC_COLOURS",
    "COUNTRY_COLOURS",
    "metric_label",
    "capacity_share_by_country",
    "capacity_share_by_bloc",
    "concentration_over_time",
    "region_map",
    "region_map_small_multiples",
    "regions_frame",
    "partnership_network",
    "value_chain_figure",
    "trade_matrix",
    "country_flows",
    "events_timeline",
    "partnership_figure",
    "shock_figure",
    "scenario_comparison",
    "scenario_intervals",
    "run_figures",
    "save_run_figures",
    "main_effects_figure",
    "grid_heatmap",
    "noise_share",
    "point_heatmap",
    "sobol_bars",
    "morris_scatter",
    "seed_noise_figure",
    "policy_comparison_figure",
    "save_sweep_figures",
]
