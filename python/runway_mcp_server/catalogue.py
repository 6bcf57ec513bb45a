"""A typed view of the core's model catalogue for the tools: which models a tool offers (by
endpoint and capability tag), the parameter types and limits to publish in input schemas, the
defaults for fields a model requires, and cost text. Everything here is read from the data."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Literal, Optional, Union

import runway_core

Spec = dict[str, Any]

UNIT_TEXT = {"second": "credits/s", "image": "credits/image", "task": "credits/task",
             "characters": "credits/char", "input_second": "credits/s of input"}


@dataclass(frozen=True)
class Model:
    endpoint: str
    name: str
    title: str
    output: str
    tags: frozenset[str]
    fields: dict[str, Spec]
    rules: list[dict[str, Any]] = field(default_factory=list)
    cost: Optional[dict[str, Any]] = None
    notes: Optional[str] = None

    def has(self, name: str) -> bool:
        return name in self.fields

    def spec(self, name: str) -> Optional[Spec]:
        return self.fields.get(name)


@lru_cache(maxsize=1)
def data() -> dict[str, Any]:
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
              tags=frozenset(m.get("tags", [])), fields=m["fields"], rules=m.get("rules", []),
              cost=m.get("cost"), notes=m.get("notes"))
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


def literal(values: list[Any]) -> Any:
    """A typing.Literal of these values, so the input schema lists them as an enum."""
    return Literal[tuple(values)]


# ---- parameter types derived from the specs of the models a tool offers ----

def _flat(spec: Spec) -> list[Spec]:
    """The alternatives of a spec (any_of options, else the spec itself)."""
    return list(spec["options"]) if spec.get("type") == "any_of" else [spec]


@dataclass
class ParamShape:
    """What a tool parameter mapped to a Runway field accepts, over the tool's models."""

    annotation: Any
    limits: dict[str, Any]
    hint: str  # what the data says for the description (a shared default), or ""


def shape(ms: list[Model], fields: tuple[str, ...], max_enum: int = 12) -> ParamShape:
    """The union of what these models accept for the field: an enum when the values are few,
    numbers with the widest bounds every model states, text otherwise."""
    specs = [s for m in ms for f in fields if (s := m.spec(f)) is not None]
    defaults = {repr(s["default"]) for s in specs if "default" in s}
    # A default every model shares is worth saying (the data's, never written by hand).
    said = f"Default {specs[0]['default']}." if specs and len(defaults) == 1 and all("default" in s for s in specs) else ""
    alts = [a for s in specs for a in _flat(s)]
    kinds = {a.get("type") for a in alts}
    enum_values: list[Any] = []
    for a in alts:
        for v in a.get("values", []) if a.get("type") == "enum" else []:
            if v not in enum_values:
                enum_values.append(v)
    if kinds <= {"enum"} and enum_values and len(enum_values) <= max_enum:
        return ParamShape(literal(enum_values), {}, said)
    if kinds <= {"bool"}:
        return ParamShape(bool, {}, said)
    nums = [a for a in alts if a.get("type") in ("int", "number")]
    numeric_enum = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in enum_values)
    if kinds <= {"int", "number", "enum"} and (nums or (enum_values and numeric_enum)):
        strings = [v for v in enum_values if isinstance(v, str)]
        ints = [v for v in enum_values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        base: Any = int if all(a.get("type") == "int" for a in nums) and all(isinstance(v, int) for v in ints) else float
        limits: dict[str, Any] = {}
        lows: list[Optional[float]] = [a.get("min") for a in nums] + [float(v) for v in ints]
        highs: list[Optional[float]] = [a.get("max") for a in nums] + [float(v) for v in ints]
        # A bound goes in the schema only when every model states one.
        if lows and None not in lows:
            limits["ge"] = min(x for x in lows if x is not None)
        if highs and None not in highs:
            limits["le"] = max(x for x in highs if x is not None)
        if base is int:
            limits = {k: int(v) for k, v in limits.items()}
        ann: Any = Union[base, literal(strings)] if strings else base
        return ParamShape(ann, limits, said)
    if kinds <= {"text", "enum", "media", "tag"}:
        return ParamShape(str, {}, said)
    return ParamShape(Any, {}, "")


def fill_required(m: Model, body: dict[str, Any]) -> dict[str, Any]:
    """Fills a required ratio or duration the caller left out: the model's default, else its first
    allowed value, else 5 seconds (within range)."""
    out = {k: v for k, v in body.items() if v is not None}
    for name in ("ratio", "duration"):
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


# ---- text for people and agents ----

def allowed(spec: Spec) -> str:
    t = spec.get("type")
    if t == "enum":
        text = ", ".join(str(v) for v in spec["values"])
    elif t in ("int", "number"):
        lo, hi = spec.get("min"), spec.get("max")
        kind = "integer" if t == "int" else "number"
        text = f"{kind} {lo:g}-{hi:g}" if lo is not None and hi is not None else (
            f"{kind} >= {lo:g}" if lo is not None else f"{kind} <= {hi:g}" if hi is not None else kind)
    elif t == "text":
        text = f"text, at most {spec['max']} chars" if spec.get("max") else "text"
    elif t == "any_of":
        text = " or ".join(allowed(o) for o in spec["options"])
    elif t == "media":
        text = f"{spec['kind']} (media input)"
    elif t == "array":
        n = f" (at most {spec['max_items']})" if spec.get("max_items") else ""
        text = f"list of {allowed(spec['items'])}{n}"
    elif t == "object":
        parts = [f"{k}{'' if f.get('required') else '?'}: {allowed(f)}" for k, f in spec["fields"].items()]
        text = "{" + "; ".join(parts) + "}"
    else:
        text = str(t)
    return text


def cost_text(m: Model) -> str:
    c = m.cost
    if not c:
        return "price not published; Runway's estimate comes back when the task is created"
    per = c.get("per", 1)
    if per != 1:
        noun = {"second": "s", "characters": "characters", "input_second": "s of input", "image": "images"}
        rate = f"{c['credits']:g} per {per:g} {noun.get(c['unit'], c['unit'])}"
    else:
        rate = f"{c['credits']:g} {UNIT_TEXT.get(c['unit'], c['unit'])}"
    text = (f"{c['base']:g} + " if c.get("base") else "") + rate
    for o in c.get("overrides", []):
        text += f"; {o['credits']:g} when {o['field']} is {'/'.join(str(v) for v in o.get('values', []))[:60]}"
    for x in c.get("extras", []):
        what = f"per item of {x['field']}" if x.get("per_item") else f"for {x['field']} {'/'.join(str(v) for v in x.get('values', [])[:3])}"
        text += f"; {x['credits']:+g} {what}"
    return text


def cost_summary(ms: list[Model]) -> str:
    """One line for a tool description: the price range per unit over the models with a published
    price (the server instructions say that unpublished ones are left out)."""
    by_unit: dict[str, list[float]] = {}
    unknown = 0
    for m in ms:
        c = m.cost
        if not c:
            unknown += 1
            continue
        rates = [c["credits"]] + [o["credits"] for o in c.get("overrides", [])]
        top = max(rates) + sum(max(x["credits"], 0) for x in c.get("extras", []) if not x.get("per_item"))
        by_unit.setdefault(c["unit"], []).extend([min(rates) / c.get("per", 1), top / c.get("per", 1)])
    parts = []
    for unit, vals in by_unit.items():
        lo, hi = min(vals), max(vals)

        def fmt(x: float) -> str:
            return f"{x:.2g}" if lo < 1 else f"{x:g}"

        rng = fmt(lo) if math.isclose(lo, hi) else f"{fmt(lo)}-{fmt(hi)}"
        parts.append(f"{rng} {UNIT_TEXT.get(unit, unit)}")
    if unknown == len(ms):
        return "Cost: not published."
    return "Cost: " + ", ".join(parts) + "."
