"""Tool-facing views of the core's model catalogue: which models a tool offers, the allowed
values to publish in input schemas, defaults for fields a model requires, and cost text."""

from __future__ import annotations

from typing import Any, Callable, Literal, Optional

import runway_core

Model = dict[str, Any]


def models(endpoint: str, keep: Optional[Callable[[Model], bool]] = None) -> list[Model]:
    return [m for m in runway_core.models(endpoint) if keep is None or keep(m)]


def names(ms: list[Model]) -> list[str]:
    return [m["model"] for m in ms]


def literal(values: list[Any]) -> Any:
    """A typing.Literal of these values, so the input schema lists them as an enum."""
    return Literal[tuple(values)]  # type: ignore[valid-type]


def _spec(m: Model, field: str) -> Optional[dict[str, Any]]:
    return m["fields"].get(field)


def enum_values(ms: list[Model], field: str) -> list[Any]:
    """Every value any of these models allows for an enum field, in first-seen order."""
    out: list[Any] = []
    for m in ms:
        spec = _spec(m, field)
        for v in (spec or {}).get("values", []):
            if v not in out:
                out.append(v)
    return out


def find(ms: list[Model], name: str) -> Model:
    return next(m for m in ms if m["model"] == name)


def fill_required(m: Model, body: dict[str, Any]) -> dict[str, Any]:
    """Fills a required ratio or duration the caller left out: the model's default, else its first
    allowed ratio or a 5-second duration (within range)."""
    out = {k: v for k, v in body.items() if v is not None}
    for field in ("ratio", "duration"):
        spec = _spec(m, field)
        if field in out or not spec or not spec.get("required"):
            continue
        if "default" in spec:
            out[field] = spec["default"]
        elif spec.get("values"):
            out[field] = spec["values"][0]
        elif spec.get("type") == "int":
            out[field] = min(max(5, spec.get("min", 5)), spec.get("max", 5))
    return out


def describe_field(ms: list[Model], field: str) -> str:
    """Per-model allowed values, e.g. 'gen4.5: 2-10; veo3.1: 4, 6, 8 (default 8)'."""
    parts = []
    for m in ms:
        spec = _spec(m, field)
        if not spec:
            parts.append(f"{m['model']}: not accepted")
            continue
        parts.append(f"{m['model']}: {_allowed(spec)}")
    return "; ".join(parts)


def _allowed(spec: dict[str, Any]) -> str:
    if spec.get("values"):
        text = ", ".join(str(v) for v in spec["values"])
    elif spec.get("type") == "int":
        text = f"{spec.get('min')}-{spec.get('max')}"
    elif spec.get("type") == "any_of":
        text = " or ".join(_allowed(o) for o in spec["options"])
    else:
        text = spec.get("type", "any")
    if spec.get("required"):
        text += " (required)"
    elif "default" in spec:
        text += f" (default {spec['default']})"
    return text


def cost_text(m: Model) -> str:
    c = m.get("cost")
    if not c:
        return f"{m['model']}: price not published (Runway's estimate is returned when the task is created)"
    unit = {"second": "credits/s", "image": "credits/image", "task": "credits"}.get(c["unit"], f"credits per {c['unit']}")
    text = f"{m['model']}: {c['credits']:g} {unit}"
    for o in c.get("overrides", []):
        text += f" ({o['credits']:g} when {o['field']} is {'/'.join(str(v) for v in o['values'])})"
    for x in c.get("extras", []):
        text += f" (+{x['credits']:g} for {x['field']} {'/'.join(str(v) for v in x['values'][:3])}{'…' if len(x['values']) > 3 else ''})"
    return text


def costs(ms: list[Model]) -> str:
    return "Cost (1 credit = $0.01): " + "; ".join(cost_text(m) for m in ms) + "."
