"""A typed view of the core's model catalogue for the tools: which models a tool offers (by
endpoint and capability tag), the parameter types and limits to publish in input schemas, the
defaults for fields a model requires, and cost text. Everything here is read from the data."""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Optional

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
    # The endpoint's one model (a recipe, router generation): its body names no model.
    fixed: bool = False

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
              cost=m.get("cost"), notes=m.get("notes"), fixed=m.get("fixed", False))
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


def enum(values: list[Any]) -> dict[str, Any]:
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
    values: list[Any] = []
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
