"""Dotted parameter paths (``governments.US.subsidy_rate``): one walker over
the schema and, optionally, a scenario's data.

:func:`walk` resolves a path part by part against the schema; given data (a
raw scenario dict or a validated :class:`Scenario`), dictionary keys and list
indices must also exist in it.  Everything that reads a path goes through it:
:func:`apply_overrides` (``--set``, sweeps, ``ChipModel(**overrides)``),
:func:`describe_path` (type, bounds and unit for sweeps and sliders),
:func:`parameter_table` (``kyoso params`` and ODD §8.1) and :func:`value_at`.
In schema-only paths, ``<…>`` stands for any key or index
(``segments.<segment>.price``).
"""

from __future__ import annotations

import copy
import tomllib
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from .hints import known_hint
from .schema import Scenario
from .vocabulary import ScenarioError

__all__ = ["PathInfo", "Step", "PathMiss", "walk", "split_path", "describe_path", "apply_overrides", "parse_value",
           "parameter_table", "schema_paths", "value_at", "concrete_paths"]

class _Absent:
    def __repr__(self) -> str:
        return "ABSENT"


#: Nothing at this part of the data (or no data given).
ABSENT: Any = _Absent()

#: Placeholder of the keys of each dictionary table in schema-only paths.
_KEY_NAMES = {"segments": "segment", "regions": "region", "governments": "country", "firms": "firm",
              "institutes": "institute"}


@dataclass(frozen=True)
class Step:
    """One part of a dotted path, resolved."""

    part: str
    schema: Any                    # annotation of the value here (None beyond the schema)
    field: FieldInfo | None        # the model field this part names (None for keys and indices)
    value: Any                     # the value here in the data, or ABSENT


class PathMiss(LookupError):
    """A path part the walker cannot follow: ``kind`` is field (no such field),
    key (no such key in the data), index (not a list index) or value (the
    part before it holds a single value); ``depth`` is the part's position."""

    def __init__(self, kind: str, depth: int, container: Any, known: list[str] | None = None) -> None:
        super().__init__(kind)
        self.kind, self.depth, self.container = kind, depth, container
        self.known = known if known is not None else _keys_of(container)


def _keys_of(node: Any) -> list[str]:
    """Names one part below ``node``: its keys, fields or list indices."""
    if isinstance(node, BaseModel):
        return list(type(node).model_fields)
    if isinstance(node, dict):
        return [str(k) for k in node]
    return [str(i) for i in range(len(node))] if isinstance(node, list) else []


def split_path(path: str) -> list[str]:
    """Parts of a dotted path (``__`` also separates); empty parts are returned as ''."""
    return path.replace("__", ".").split(".")


def walk(parts: list[str], data: Any = ABSENT) -> list[Step]:
    """Resolve ``parts`` from the scenario root; raise :class:`PathMiss` at the first
    part that the schema (and ``data``, when given) does not have.  Without data,
    any key is accepted and ``<…>`` stands for a list index."""
    checked = data is not ABSENT
    schema: Any = Scenario
    node = data
    steps: list[Step] = []
    for depth, part in enumerate(parts):
        schema, field, node = _child(schema, node, part, depth, checked)
        steps.append(Step(part, schema, field, node))
    return steps


def _child(schema: Any, node: Any, part: str, depth: int, checked: bool) -> tuple[Any, FieldInfo | None, Any]:
    """Schema, field and value one part below ``node`` (whose schema is ``schema``)."""
    schema = _strip(schema)[0]
    kind = _container(schema, node, checked)
    if kind == "model":
        field = schema.model_fields.get(part) if _is_model(schema) else None
        in_data = isinstance(node, dict) and part in node
        if field is None and not in_data:
            fields = list(schema.model_fields) if _is_model(schema) else []
            raise PathMiss("field", depth, node, fields + [k for k in _keys_of(node) if k not in fields])
        return (field.annotation if field else None), field, _get(node, part)
    if kind == "dict":
        if checked and not (isinstance(node, dict) and part in node):
            raise PathMiss("key", depth, node)
        args = typing.get_args(schema) if typing.get_origin(schema) is dict else ()
        return (args[1] if args else None), None, _get(node, part)
    if kind == "list":
        size = len(node) if isinstance(node, list) else 0
        placeholder = part.startswith("<") and not checked
        if not placeholder and (not part.isdigit() or (checked and int(part) >= size)):
            raise PathMiss("index", depth, node)
        args = typing.get_args(schema) if typing.get_origin(schema) is list else ()
        value = node[int(part)] if checked and not placeholder else ABSENT
        return (args[0] if args else None), None, value
    raise PathMiss("value", depth, node)


def _container(schema: Any, node: Any, checked: bool) -> str:
    """What kind of table holds the next part: model, dict, list or value (none).
    The data decides where it is present (it may go beyond the schema)."""
    if checked and node is not ABSENT:
        if isinstance(node, BaseModel) or (isinstance(node, dict) and _is_model(schema)):
            return "model"
        if isinstance(node, dict):
            return "dict"
        return "list" if isinstance(node, list) else "value"
    if _is_model(schema):
        return "model"
    return {dict: "dict", list: "list"}.get(typing.get_origin(schema), "value")


def _get(node: Any, part: str) -> Any:
    if isinstance(node, BaseModel):
        return getattr(node, part, ABSENT)
    if isinstance(node, dict):
        return node.get(part, ABSENT)
    return ABSENT


def _is_model(schema: Any) -> bool:
    return isinstance(schema, type) and issubclass(schema, BaseModel)


# ------------------------------------------------------------------ describing
class PathInfo(BaseModel):
    """What the schema says about one dotted parameter path."""

    path: str
    kind: str                      # "float", "int", "bool", "str" or "other"
    low: float | None = None       # inclusive or exclusive lower bound (see low_strict)
    high: float | None = None
    low_strict: bool = False
    high_strict: bool = False
    unit: str = ""
    description: str = ""


def describe_path(path: str, scenario: Scenario | None = None) -> PathInfo:
    """Type, bounds and unit of the scalar at a dotted path (``__`` also accepted).

    With ``scenario``, dictionary keys (regions, firms, governments, …) and list
    indices must exist in it.  Raises ScenarioError for a path that names no
    scalar parameter.  Sweeps and dashboard sliders use this to check ranges
    against the schema.
    """
    parts = _parts(path, "parameter path")
    step = _last_step(path, parts, ABSENT if scenario is None else scenario)
    ann, metadata = _strip(step.schema)
    metadata = (list(step.field.metadata) if step.field is not None else []) + metadata
    if _is_model(ann) or typing.get_origin(ann) in (dict, list):
        raise ScenarioError(f"parameter path {path!r}: names a table, not a single parameter")
    kind = {float: "float", int: "int", bool: "bool", str: "str"}.get(ann, "other")
    info = PathInfo(path=".".join(parts), kind=kind)
    bounds = _bounds(metadata)
    for attr, target, strict in (("ge", "low", False), ("gt", "low", True),
                                 ("le", "high", False), ("lt", "high", True)):
        if attr in bounds:
            setattr(info, target, float(bounds[attr]))
            setattr(info, f"{target}_strict", strict)
    if step.field is not None:
        info.unit = str(_extra(step.field).get("unit", ""))
        info.description = _description(step.field)
    return info


def value_at(path: str, data: Any) -> Any:
    """The value at a dotted path of a raw or validated scenario (ScenarioError if none)."""
    value = _last_step(path, _parts(path, "parameter path"), data).value
    if value is ABSENT:
        raise ScenarioError(f"parameter path {path!r}: not set in the scenario")
    return value


def concrete_paths(pattern: str, data: Any) -> list[str]:
    """Every path of ``data`` that a schema path with ``<…>`` placeholders matches,
    in the data's order (``firms.<firm>.cash`` → ``firms.tsmc.cash``, …)."""
    paths: list[list[str]] = [[]]
    for part in split_path(pattern):
        if not part.startswith("<"):
            paths = [p + [part] for p in paths]
            continue
        expanded = []
        for p in paths:
            node = walk(p, data)[-1].value if p else data
            keys = list(node) if isinstance(node, dict) else range(len(node)) if isinstance(node, list) else []
            expanded += [p + [str(k)] for k in keys]
        paths = expanded
    return [".".join(p) for p in paths]


def _parts(path: str, what: str) -> list[str]:
    parts = split_path(path)
    if not all(parts):
        raise ScenarioError(f"{what} {path!r}: empty part in dotted path")
    return parts


def _last_step(path: str, parts: list[str], data: Any) -> Step:
    """The last step of a path, or a one-line ScenarioError naming the first bad part."""
    try:
        return walk(parts, data)[-1]
    except PathMiss as miss:
        where = ".".join(parts[: miss.depth + 1])
        hint = f" ({known_hint(parts[miss.depth], miss.known)})"
        reason = {
            "field": f"unknown parameter {where!r}{hint}",
            "key": f"unknown key {where!r}{hint}",
            "index": f"{where!r} is not a valid list index",
            "value": f"{'.'.join(parts[: miss.depth])!r} is a value, not a table",
        }[miss.kind]
        raise ScenarioError(f"parameter path {path!r}: {reason}") from None


def _strip(ann: Any) -> tuple[Any, list[Any]]:
    """Bare type of an annotation (``Annotated`` and ``X | None`` removed) and the
    constraint metadata ``Annotated`` carried."""
    metadata: list[Any] = []
    if typing.get_origin(ann) is Annotated:
        ann, *extra = typing.get_args(ann)
        for e in extra:
            metadata.extend(getattr(e, "metadata", []) or [e])
    if typing.get_origin(ann) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(ann) if a is not type(None)]
        ann = args[0] if len(args) == 1 else ann
    return ann, metadata


def _bounds(metadata: list[Any]) -> dict[str, Any]:
    """The ge/gt/le/lt bounds found in constraint metadata, as written in the schema."""
    out: dict[str, Any] = {}
    for m in metadata:
        for attr in ("ge", "gt", "le", "lt"):
            if getattr(m, attr, None) is not None:
                out[attr] = getattr(m, attr)
    return out


def _extra(field: FieldInfo) -> dict[str, Any]:
    return field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}


def _description(field: FieldInfo) -> str:
    """A field's description without the ``[unit; bounds]`` suffix that _f appends."""
    return (field.description or "").split(" [")[0]


# ------------------------------------------------------------------- overrides
def parse_value(text: str) -> Any:
    """Parse a command-line value as TOML (numbers, booleans, lists, quoted text);
    anything TOML cannot read is taken as plain text."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict, overrides: dict[str, Any]) -> dict:
    """Set dotted paths (``a.b.c`` or ``a__b__c``) in a raw scenario dict.

    A path must name something that exists in the scenario (or a field the
    schema knows); an unknown path is an error naming the first bad part.
    The input is not changed.
    """
    raw = copy.deepcopy(raw)
    for key, value in overrides.items():
        parts = _parts(key, "override")
        try:
            steps = walk(parts, raw)
        except PathMiss as miss:
            raise ScenarioError(_override_miss(key, parts, miss)) from None
        node: Any = raw
        for step in steps[:-1]:       # tables the schema knows but the file leaves out are created
            node = node[int(step.part)] if isinstance(node, list) else node.setdefault(step.part, {})
        node[int(parts[-1]) if isinstance(node, list) else parts[-1]] = value
    return raw


def _override_miss(key: str, parts: list[str], miss: PathMiss) -> str:
    where = ".".join(parts[: miss.depth + 1])
    node = miss.container
    if miss.kind == "index":
        size = len(node) if isinstance(node, list) else 0
        return f"override {key!r}: {where} is not an index of a list of {size}"
    if miss.kind == "value":
        return f"override {key!r}: {'.'.join(parts[: miss.depth])} is a value, not a table"
    return f"override {key!r}: unknown parameter path {where!r} ({known_hint(parts[miss.depth], miss.known)})"


# ------------------------------------------------------------- parameter table
def schema_paths() -> list[str]:
    """Every single-value place in the schema as a dotted path, in schema order,
    with ``<…>`` for dictionary keys and list indices."""
    return list(_leaves(Scenario, ""))


def _leaves(schema: Any, path: str, name: str = "") -> typing.Iterator[str]:
    schema = _strip(schema)[0]
    if _is_model(schema):
        for fname, field in schema.model_fields.items():
            yield from _leaves(field.annotation, f"{path}.{fname}" if path else fname, fname)
    elif typing.get_origin(schema) is dict:
        yield from _leaves(typing.get_args(schema)[1], f"{path}.<{_KEY_NAMES.get(name, 'key')}>")
    elif typing.get_origin(schema) is list:
        yield from _leaves(typing.get_args(schema)[0], f"{path}.<i>")
    else:
        yield path


#: Text fields that describe an entry rather than set anything.
_LABELS = frozenset({"name", "description", "source", "note"})


def parameter_table(switches: bool = False) -> list[dict[str, str]]:
    """Every numeric parameter of the schema with unit, default, bounds,
    description and source (ODD §8.1 reads this).  With ``switches``, also the
    switches, names and lists (``enabled``, ``regime``, ``mode``, ``members``,
    …; unit as the description's bracket says, e.g. 'bool'), lists and tables
    of single values as one row, labels (name, source, …) left out; ``kyoso
    params`` reads this."""
    rows = []
    for path in dict.fromkeys(_collapsed(p) for p in schema_paths()) if switches else schema_paths():
        parts = split_path(path)
        field = walk(parts)[-1].field
        if field is None or ("unit" not in _extra(field) and not switches):
            continue
        if switches and (parts[-1] in _LABELS or parts[0] in ("base", "data")):
            continue
        bounds = _bounds(field.metadata)
        default = field.get_default(call_default_factory=True) if switches else field.default
        rows.append({
            "path": path,
            "unit": str(_extra(field).get("unit") or (field.description or "").rpartition(" [")[2].rstrip("]")),
            "default": "" if default is None else "required" if field.is_required() else str(default),
            "low": f"> {bounds['gt']}" if "gt" in bounds else str(bounds.get("ge", "")),
            "high": f"< {bounds['lt']}" if "lt" in bounds else str(bounds.get("le", "")),
            "description": _description(field),
            "source": str(_extra(field).get("source", "")),
        })
    return rows


def _collapsed(path: str) -> str:
    """A list's or table's path for the ``<…>`` leaf of its single values
    (``cocreation.members.<i>`` → ``cocreation.members``)."""
    parent, _, last = path.rpartition(".")
    return parent if last.startswith("<") and walk(split_path(path))[-1].field is None else path
