"""Scenarios: the one source of truth for every parameter.

A scenario is TOML (stdlib ``tomllib``) validated by pydantic v2 models.
Every numeric field states its unit and bounds (and a source where there is
one); the CLI's ``--set``, sweep validation, dashboard sliders and the
parameter table in docs/ODD.md §8.1 read them from the schema.  Large tables
(regions, firms, sites) may live in CSV files named under ``[data]``; a
scenario may inherit from another with ``base = "NAME"``.  Overrides are
dotted paths (``governments.US.subsidy_rate``) applied to the raw data before
validation, so an override is checked exactly like a file.

Modules, one job each:

* :mod:`.vocabulary` — segment ids, id patterns, event types, ScenarioError;
* :mod:`.quarters` — quarter arithmetic (``2025Q1`` ↔ index ↔ step);
* :mod:`.schema` — the pydantic models (declarations only);
* :mod:`.references` — cross-references between tables;
* :mod:`.paths` — the dotted-path walker: overrides, describe_path, parameter table;
* :mod:`.hints` — did-you-mean hints shared by every "unknown name" error;
* :mod:`.gating` — parameters a scenario sets that cannot act (gated to nothing);
* :mod:`.loading` — files, CSV tables, ``base`` inheritance, event library, validation;
* :mod:`.docs` — ODD §8.1 rendered from the schema (written by ``python -m model.docsections``).
"""

from __future__ import annotations

from .gating import GatedParameter, gated_parameters
from .hints import close_matches, known_hint
from .loading import (
    DATA_DIR,
    LIBRARY_PATH,
    builtin_scenarios,
    load_library,
    load_scenario,
    merge_library,
    validate,
    validation_message,
)
from .paths import (
    PathInfo,
    apply_overrides,
    concrete_paths,
    describe_path,
    parameter_table,
    parse_value,
    schema_paths,
    value_at,
)
from .quarters import quarter_index, quarter_label, quarter_name, start_step_of_year, step_of_quarter
from .schema import (
    Cocreation,
    Conditions,
    CountryTrust,
    DataFiles,
    Event,
    Firm,
    Fund,
    Generated,
    Government,
    Institute,
    IPRegime,
    Knowledge,
    Learning,
    Lever,
    Meta,
    Network,
    Params,
    RandomEvents,
    Region,
    Resilience,
    Scenario,
    Segment,
    Site,
)
from .vocabulary import CONDITION_NAMES, EVENT_TYPES, FAB_SEGMENTS, SEGMENTS, ScenarioError, SiteStatus

__all__ = [
    # vocabulary
    "SEGMENTS", "FAB_SEGMENTS", "EVENT_TYPES", "CONDITION_NAMES", "ScenarioError", "SiteStatus",
    # schema
    "Scenario", "Meta", "DataFiles", "Params", "Segment", "Region", "Conditions", "Government",
    "Site", "Firm", "Generated", "CountryTrust", "Network", "Knowledge", "Institute", "Lever",
    "IPRegime", "Fund", "Cocreation", "Event", "RandomEvents", "Learning", "Resilience",
    # quarters
    "quarter_index", "quarter_name", "quarter_label", "start_step_of_year", "step_of_quarter",
    # loading
    "DATA_DIR", "LIBRARY_PATH", "builtin_scenarios", "load_scenario", "validate", "validation_message",
    "load_library", "merge_library",
    # paths
    "PathInfo", "apply_overrides", "parse_value", "describe_path", "parameter_table", "schema_paths",
    "value_at", "concrete_paths",
    # hints, gating
    "known_hint", "close_matches", "GatedParameter", "gated_parameters",
]
