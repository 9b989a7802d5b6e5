"""Small helpers the notebooks share: quick mode, sweeps from a dict, controls from the schema.

* :func:`quick_mode` reads ``KYOSO_QUICK`` (``1``/``true``/``yes``): the test
  suite sets it so that every notebook runs in well under a minute; a notebook
  asks :func:`sized` for its horizons, replications and grid sizes.
* :func:`sweep_from_dict` validates a sweep written as a Python dict exactly
  as ``kyoso sweep`` validates a TOML file.
* :func:`slider_spec` and :func:`lever_controls` turn dotted parameter paths
  into ipywidgets controls whose bounds, unit and default come from the
  scenario schema (``model.scenario.describe_path``): one source of truth.
"""

from __future__ import annotations

import os
from typing import Any, TypeVar

from experiments.sweepfile import ResolvedSweep, parse_sweep, resolve_sweep
from model.scenario import Scenario, ScenarioError, describe_path, load_scenario

__all__ = ["QUICK_ENV", "quick_mode", "sized", "sweep_from_dict", "parameter_value", "slider_spec",
           "lever_controls", "widgets_available"]

QUICK_ENV = "KYOSO_QUICK"
T = TypeVar("T")


def quick_mode() -> bool:
    """True when ``KYOSO_QUICK`` is set to 1, true or yes (shorter runs, fewer replications, smaller sweeps)."""
    return os.environ.get(QUICK_ENV, "").strip().lower() in ("1", "true", "yes", "on")


def sized(full: T, quick: T) -> T:
    """``quick`` in quick mode, else ``full``: ``quarters = sized(64, 16)``."""
    return quick if quick_mode() else full


def sweep_from_dict(raw: dict[str, Any], origin: str = "notebook sweep") -> ResolvedSweep:
    """A sweep from the same fields as a sweep TOML file, validated against the scenario schema."""
    return resolve_sweep(parse_sweep(raw, origin), origin)


def parameter_value(scenario: Scenario, path: str) -> Any:
    """The value at a dotted path of a loaded scenario (``__`` also accepted for dots)."""
    node: Any = scenario
    for part in path.replace("__", ".").split("."):
        if isinstance(node, dict):
            node = node[part]
        elif isinstance(node, list):
            node = node[int(part)]
        else:
            node = getattr(node, part)
    return node


def slider_spec(path: str, scenario: Scenario | str = "baseline",
                limits: tuple[float, float] | None = None) -> dict[str, Any]:
    """Kind, bounds, step, default value, unit and description of a parameter, from the schema.

    ``limits`` narrows the schema's bounds for a lesson (a weight bounded by
    0–100 is easier to explore on 0–5); limits outside the schema's bounds
    raise ``ScenarioError``.
    """
    sc = load_scenario(scenario) if not isinstance(scenario, Scenario) else scenario
    info = describe_path(path, sc)
    value = parameter_value(sc, path)
    spec: dict[str, Any] = {"path": info.path, "kind": info.kind, "value": value, "unit": info.unit,
                            "description": info.description}
    if info.kind in ("float", "int"):
        low = info.low if info.low is not None else min(0.0, float(value))
        high = info.high if info.high is not None else max(1.0, 4.0 * abs(float(value)))
        if limits is not None:
            lo, hi = limits
            if lo < low or hi > high or lo >= hi:
                raise ScenarioError(f"{path}: limits {limits} must lie within the schema's bounds [{low}, {high}]")
            low, high = lo, hi
        value = min(max(value, low), high)
        step = 1 if info.kind == "int" else (high - low) / 100
        spec.update(low=low, high=high, step=step, value=value)
    return spec


def widgets_available() -> bool:
    """Whether ipywidgets can be imported (it comes with the ``viz`` extra)."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return True


def lever_controls(paths: list[str] | dict[str, tuple[float, float] | None], scenario: Scenario | str = "baseline"
                   ) -> dict[str, Any]:
    """ipywidgets controls for parameter paths, keyed ``a__b__c`` (ChipModel's keyword form).

    ``paths`` is a list, or a dict path → teaching limits (see :func:`slider_spec`).
    Floats and ints get sliders, booleans checkboxes.  Use with
    ``ipywidgets.interact(f, **lever_controls(...))`` where ``f(**overrides)``
    passes them to ``ChipModel``.
    """
    import ipywidgets as w

    sc = load_scenario(scenario) if not isinstance(scenario, Scenario) else scenario
    items = paths.items() if isinstance(paths, dict) else ((p, None) for p in paths)
    controls: dict[str, Any] = {}
    for path, limits in items:
        spec = slider_spec(path, sc, limits)
        label = path.split(".")[-1] if path.count(".") < 2 else ".".join(path.split(".")[-2:])
        tip = f"{spec['description']} ({spec['unit']})" if spec["unit"] else spec["description"]
        style = {"description_width": "initial"}
        layout = w.Layout(width="480px")
        if spec["kind"] == "bool":
            ctl = w.Checkbox(value=bool(spec["value"]), description=label, tooltip=tip, style=style)
        elif spec["kind"] == "int":
            ctl = w.IntSlider(value=int(spec["value"]), min=int(spec["low"]), max=int(spec["high"]), step=1,
                              description=label, tooltip=tip, continuous_update=False, style=style, layout=layout)
        elif spec["kind"] == "float":
            ctl = w.FloatSlider(value=float(spec["value"]), min=spec["low"], max=spec["high"], step=spec["step"],
                                description=label, tooltip=tip, continuous_update=False, readout_format=".3g",
                                style=style, layout=layout)
        else:
            raise ScenarioError(f"{path}: a {spec['kind']} parameter has no control")
        controls[path.replace(".", "__")] = ctl
    return controls
