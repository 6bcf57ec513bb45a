"""The core's model catalogue as the tools use it: which models a tool offers (by endpoint and
capability tag), the parameter types and limits to publish in input schemas, and the defaults for
fields a model requires. Everything here is read from the data (typed by `runway_core.spec`);
text for people (a field's allowed values, a price) comes from the core with it."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional, Sequence

import runway_core
from runway_core.spec import Catalogue, Cost, Field, MediaKind, Rule, Scalar, Spec


@dataclass(frozen=True)
class Model:
    endpoint: str
    name: str
    title: str
    output: MediaKind
    tags: frozenset[str]
    fields: dict[str, Field]
    # The price in words, as the core words it (also when none is published).
    cost_text: str
    rules: list[Rule] = field(default_factory=list)
    cost: Optional[Cost] = None
    notes: Optional[str] = None
    # The endpoint's one model (a recipe, router generation): its body names no model.
    fixed: bool = False

    def has(self, name: str) -> bool:
        return name in self.fields

    def spec(self, name: str) -> Optional[Field]:
        return self.fields.get(name)


@lru_cache(maxsize=1)
def data() -> Catalogue:
    """The core's catalogue, as `runway_core.catalogue()` gives it: read once."""
    return runway_core.catalogue()


@lru_cache(maxsize=1)
def fingerprint() -> str:
    """A hash of the catalogue: the tools' schemas and descriptions are derived from it."""
    return hashlib.sha256(json.dumps(data()).encode()).hexdigest()


@lru_cache(maxsize=1)
def all_models() -> tuple[Model, ...]:
    return tuple(
        Model(endpoint=m["endpoint"], name=m["model"], title=m["title"], output=m["output"],
              tags=frozenset(m.get("tags", [])), fields=m["fields"], cost_text=m["cost_text"],
              rules=m.get("rules", []), cost=m.get("cost"), notes=m.get("notes"), fixed=m.get("fixed", False))
        for m in data()["models"]
    )


def select(endpoints: tuple[str, ...], tag: Optional[str] = None) -> list[Model]:
    return [m for m in all_models() if m.endpoint in endpoints and (tag is None or tag in m.tags)]


def find(name: str, endpoints: tuple[str, ...]) -> Optional[Model]:
    return next((m for m in all_models() if m.name == name and m.endpoint in endpoints), None)


def names(ms: list[Model]) -> list[str]:
    out: list[str] = []
    for m in ms:
        if m.name not in out:
            out.append(m.name)
    return out


# ---- parameter schemas derived from the specs of the models a tool offers ----

def _flat(spec: Spec) -> list[Spec]:
    """The alternatives of a spec (any_of options, else the spec itself)."""
    return list(spec["options"]) if spec.get("type") == "any_of" else [spec]


def enum(values: Sequence[Scalar]) -> dict[str, Any]:
    """The JSON schema of a choice among `values` (one value: a constant)."""
    return {"const": values[0]} if len(values) == 1 else {"enum": list(values)}


def param_schema(ms: list[Model], fields: tuple[str, ...], max_enum: int = 12) -> tuple[dict[str, Any], str]:
    """The JSON schema of a tool parameter filling one of `fields`, over what the models `ms` accept
    there: an enum when the values are few, numbers with the widest bounds every model states, text
    otherwise; and what the data says for its description (a default every model shares, or "").
    It tells an agent the shape; the core checks each call against the chosen model's own spec."""
    specs = [s for m in ms for f in fields if (s := m.spec(f)) is not None]
    defaults = {repr(s["default"]) for s in specs if "default" in s}
    said = f"Default {specs[0]['default']}." if specs and len(defaults) == 1 and all("default" in s for s in specs) else ""
    alts = [a for s in specs for a in _flat(s)]
    kinds = {a.get("type") for a in alts}
    values: list[Scalar] = []
    for a in alts:
        for v in a.get("values", []) if a.get("type") == "enum" else []:
            if v not in values:
                values.append(v)
    if kinds <= {"enum"} and values and len(values) <= max_enum:
        return enum(values), said
    if kinds <= {"bool"}:
        return {"type": "boolean"}, said
    nums = [a for a in alts if a.get("type") in ("int", "number")]
    numbers = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    words = [v for v in values if isinstance(v, str)]
    if kinds <= {"int", "number", "enum"} and (nums or (values and len(numbers) == len(values))):
        whole = all(a.get("type") == "int" for a in nums) and all(isinstance(v, int) for v in numbers)
        out: dict[str, Any] = {"type": "integer" if whole else "number"}
        if words:  # a number or a word such as "auto": bounds vary by model, describe_model says them
            return {"anyOf": [out, enum(words)]}, said
        lows: list[Optional[float]] = [a.get("min") for a in nums] + [float(v) for v in numbers]
        highs: list[Optional[float]] = [a.get("max") for a in nums] + [float(v) for v in numbers]
        # A bound goes in the schema only when every model states one.
        for key, bounds, pick in (("minimum", lows, min), ("maximum", highs, max)):
            if bounds and None not in bounds:
                bound = pick(x for x in bounds if x is not None)
                out[key] = int(bound) if whole else bound
        return out, said
    if kinds <= {"text", "enum", "media", "tag"}:
        return {"type": "string"}, said
    return {}, ""


def model_name(endpoint: str, body: dict[str, Any]) -> Optional[str]:
    """The model a body is for: the one it names, else its endpoint's one fixed model (a recipe)."""
    named = body.get("model")
    if isinstance(named, str):
        return named
    return next((m.name for m in all_models() if m.fixed and m.endpoint == endpoint), None)


def fill_required(m: Model, body: dict[str, Any]) -> dict[str, Any]:
    """Fills a required ratio, duration or API version (a recipe's) the caller left out: the
    model's default, else its first allowed value, else 5 seconds (within range)."""
    out = {k: v for k, v in body.items() if v is not None}
    for name in ("ratio", "duration", "version"):
        spec = m.spec(name)
        if name in out or not spec or not spec.get("required"):
            continue
        alts = _flat(spec)
        if "default" in spec:
            out[name] = spec["default"]
        elif any(a.get("values") for a in alts):
            out[name] = next(a["values"][0] for a in alts if a.get("values"))
        elif any(a.get("type") in ("int", "number") for a in alts):
            a = next(a for a in alts if a.get("type") in ("int", "number"))
            out[name] = min(max(5, a.get("min", 5)), a.get("max", 5))
    return out


def cost_summary(ms: list[Model]) -> str:
    """The price range over these models for a tool description, as the core words it."""
    return runway_core.cost_summary((m.endpoint, m.name) for m in ms)
