"""The shape of the catalogue as `catalogue()`, `models()` and `operations()` give it: the JSON the
core exports (src/catalogue/export.rs), as TypedDicts, so readers name its keys and the type checker
holds them to it. tests/core/test_spec.py checks every key of the exported data is declared here.

Keys that are always present are required; the rest appear only when the data sets them (a spec's
keys depend on its `type`).
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict, Union

# An enum value or a cost case's value: the catalogue's values are JSON scalars.
Scalar = Union[str, int, float, bool, None]

SpecType = Literal["text", "enum", "int", "number", "bool", "null", "media", "tag", "array", "object", "any_of",
                   "any", "ref"]
MediaKind = Literal["image", "video", "audio"]
Returns = Literal["object", "page", "empty", "task", "invocation"]

# Required keys sit in a base class (typing.Required needs Python 3.11).


class SumOf(TypedDict, total=False):
    """The items' values of a numeric key add up to within a range."""
    key: str
    min: float
    max: float


class MaxPerValue(TypedDict):
    """At most so many items may carry each value of a key."""
    key: str
    max: dict[str, int]


class _SpecType(TypedDict):
    type: SpecType


class Spec(_SpecType, total=False):
    """The shape and limits of one JSON value; which keys are set depends on `type`."""
    min: float  # text (UTF-16 units), int, number
    max: float
    values: list[Scalar]  # enum
    kind: MediaKind  # media
    items: Spec  # array
    min_items: int
    max_items: int
    unique_by: str
    require_item: dict[str, Scalar]
    all_or_none: str
    sum_of: SumOf
    max_per_value: MaxPerValue
    fields: dict[str, Field]  # object
    exactly_one_of: list[str]
    options: list[Spec]  # any_of
    name: str  # ref (resolved before export)


class Field(Spec, total=False):
    """A named value of a body or query: its spec, and whether it must be given."""
    required: bool
    default: Any  # any JSON value the spec accepts
    description: str
    # What it accepts, in words; on top-level fields of models and operations only.
    allowed: str


# When a rule applies: no field, always; a field alone, when it is present. (`in` is a keyword.)
Condition = TypedDict("Condition", {"field": str, "equals": Scalar, "in": list[Scalar], "present": bool},
                      total=False)


class _RuleMessage(TypedDict):
    when: Condition
    message: str


class Rule(_RuleMessage, total=False):
    """A cross-field rule; field names may be dotted paths."""
    require: list[str]
    forbid: list[str]
    require_one_of: list[str]
    allow: dict[str, list[Scalar]]
    min_items: dict[str, int]
    max_items: dict[str, int]


class _CostCaseRequired(TypedDict):
    field: str
    credits: float


class CostCase(_CostCaseRequired, total=False):
    """A case of a price: it replaces the rate (override) or adds to it (extra) when it matches."""
    values: list[Scalar]
    absent_matches: bool
    also: dict[str, list[Scalar]]
    per_item: bool


class _CostRequired(TypedDict):
    unit: Literal["second", "image", "task", "characters", "input_second"]
    credits: float
    source: str


class Cost(_CostRequired, total=False):
    """How a model is billed: `credits` per `per` units (1 when absent), `base` added once."""
    per: float
    base: float
    overrides: list[CostCase]
    extras: list[CostCase]
    default_duration: float
    auto_duration: float
    count_field: str


class _OutputCountRequired(TypedDict):
    default: int


class OutputCount(_OutputCountRequired, total=False):
    """How many outputs one task makes: the value of `field`, else `default`."""
    field: str


class _ModelRequired(TypedDict):
    endpoint: str
    model: str
    title: str
    output: MediaKind
    fields: dict[str, Field]
    cost: Cost | None  # None: Runway has not published a price
    cost_text: str  # the price in words, or that it is not published


class Model(_ModelRequired, total=False):
    """A model of an endpoint: its fields, rules and price."""
    tags: list[str]
    output_count: OutputCount
    rules: list[Rule]
    notes: str
    fixed: bool  # the endpoint's one model: its body names no model


class _EndpointRequired(TypedDict):
    name: str
    path: str
    description: str


class Endpoint(_EndpointRequired, total=False):
    """A task-creating endpoint; its models describe its body."""
    operation: str
    fixed_model: str


class _OperationRequired(TypedDict):
    name: str
    method: Literal["GET", "POST", "PATCH", "DELETE"]
    path: str
    summary: str
    returns: Returns


class Operation(_OperationRequired, total=False):
    """An operation of Runway's API by its SDK name (`routers.create`)."""
    resource: str
    query: dict[str, Field]
    body: dict[str, Field]  # absent: the operation takes no body
    rules: list[Rule]
    safe_to_repeat: bool
    endpoint: str  # task-creating operations: the endpoint whose models describe the body


class _RemovedRequired(TypedDict):
    endpoint: str
    model: str
    replacement: str


class Removed(_RemovedRequired, total=False):
    """A model Runway has taken out of its API, and what to use instead."""
    note: str


class _CatalogueRequired(TypedDict):
    api_version: str
    endpoints: list[Endpoint]
    operations: list[Operation]
    models: list[Model]


class Catalogue(_CatalogueRequired, total=False):
    """Everything the client knows about Runway's API."""
    removed: list[Removed]


__all__ = ["Catalogue", "Condition", "Cost", "CostCase", "Endpoint", "Field", "MaxPerValue", "MediaKind", "Model",
           "Operation", "OutputCount", "Removed", "Returns", "Rule", "Scalar", "Spec", "SpecType", "SumOf"]
