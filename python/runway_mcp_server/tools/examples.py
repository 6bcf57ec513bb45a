"""describe_model's example: a call of a model's first tool that the model takes as it is, made from
the tool's row and the model's spec (no example is kept by hand). It gives the parameters the tool
requires, those filling a field the model requires, one of each group of which the tool needs one,
and what the model's rules require of that body; a required field no parameter fills goes in
options. Values are ones the spec allows (a default, the first of a set such as a voice's presets,
a number within range); a media input is a placeholder that says what to put there."""

from __future__ import annotations

import re
from typing import Any, Optional

from mcp.server.mcpserver.exceptions import ToolError

from runway_core.spec import Rule, Spec

from .. import catalogue as cat
from .generate import assemble, schema_of, tools_for
from .shapes import ids_of
from .table import GENERATORS, Gen, P

TEXT = "A red fox trotting through fresh snow at dawn"

# What a media placeholder reads like, and how to tell one (tests put their files there).
PLACEHOLDER = re.compile(r"^<(image|video|audio): [^>]*>$")
NOTE = "Replace each <...> with your file: a local path, an https URL, or an earlier task's id."


def placeholder(kind: str) -> str:
    return f"<{kind}: a local path, https URL or task id>"


def sample(spec: Optional[Spec]) -> Any:
    """A value `spec` accepts: its default, the first of its values, a number within its limits, a
    placeholder for a media input, a list of one (or its least) item, an object of its required
    fields, the first option of a union."""
    if spec is None:
        return TEXT
    s: dict[str, Any] = dict(spec)
    kind = s["type"]
    if "default" in s:
        return s["default"]
    if kind == "enum":
        return s["values"][0]
    if kind in ("int", "number"):
        v = min(max(5.0, s.get("min", 5.0)), s.get("max", 5.0))
        return int(v) if kind == "int" or v.is_integer() else v
    if kind == "bool":
        return False
    if kind == "media":
        return placeholder(s.get("kind", "image"))
    if kind == "tag":
        return "subject"
    if kind == "null":
        return None
    if kind == "array":
        items = [sample(s.get("items")) for _ in range(max(1, s.get("min_items", 1)))]
        first = items[0]
        if isinstance(first, dict):
            first.update(s.get("require_item", {}))
        return items
    if kind == "object":
        fields: dict[str, Any] = s.get("fields", {})
        out = {k: sample(f) for k, f in fields.items() if f.get("required")}
        one = s.get("exactly_one_of", [])
        if one and not set(one) & set(out):
            out[one[0]] = sample(fields.get(one[0]))
        return out
    if kind == "any_of":
        return sample(s["options"][0])
    return TEXT[: int(s["max"])] if "max" in s else TEXT


def _media_kind(spec: Optional[Spec]) -> Optional[str]:
    """The kind of the first media input inside `spec`."""
    if spec is None:
        return None
    if spec["type"] == "media":
        return spec.get("kind", "image")
    inner = [*spec.get("fields", {}).values(), *spec.get("options", []), *([spec["items"]] if "items" in spec else [])]
    return next((k for k in map(_media_kind, inner) if k), None)


def _field(p: P, m: cat.Model) -> Optional[str]:
    """The Runway field parameter `p` fills for model `m` (the first of its fields the model has)."""
    return next((f for f in p.fields if m.has(f)), None)


def _value(p: P, m: cat.Model) -> Any:
    """A value of parameter `p` that model `m` takes."""
    f = _field(p, m)
    spec = m.spec(f) if f else None
    shape = (p.shapes or {}).get(f) if f else None
    if p.schema is not None and ("enum" in p.schema or "const" in p.schema):
        return p.schema.get("enum", [p.schema.get("const")])[0]
    if isinstance(shape, dict) and "$option" in shape:  # an id, such as a voice's preset
        ids = ids_of(spec)
        return ids[0] if ids else TEXT
    if p.media:
        kind = _media_kind(spec) or ("video" if "video" in p.name else "audio" if "audio" in p.name else "image")
        return placeholder(kind)
    if shape is not None or spec is None:  # text the row's shapes make Runway's object of
        return TEXT
    return sample(spec)


def _holds(when: dict[str, Any], body: dict[str, Any]) -> bool:
    """Whether a rule's condition holds for `body` (as the core decides it)."""
    if "field" not in when:
        return True
    v: Any = body
    for part in str(when["field"]).split("."):
        v = v.get(part) if isinstance(v, dict) else None
    if "equals" in when:
        return v is not None and bool(v == when["equals"])
    if "in" in when:
        return v is not None and v in when["in"]
    return (v is not None) == bool(when.get("present", True))


def _required_by(rules: list[Rule], body: dict[str, Any]) -> list[str]:
    """The top-level fields the rules that hold for `body` require of it."""
    out: list[str] = []
    for r in rules:
        if _holds(dict(r["when"]), body):
            out += [*r.get("require", []), *r.get("require_one_of", [])[:1], *r.get("min_items", {})]
    return [f for f in out if "." not in f]


def example(m: cat.Model) -> dict[str, Any]:
    """A call of the model's first tool that the model takes: {tool, arguments} (and a note when
    it has media placeholders); {} when no tool offers the model."""
    g = next((g for g in GENERATORS if g.name in tools_for(m)), None)
    if g is None:
        return {}
    params = {p.name: p for p in g.params}
    fills: dict[str, P] = {}
    for p in g.params:  # a field's first parameter (speech_text before speech_audio)
        if (f := _field(p, m)) is not None:
            fills.setdefault(f, p)
    args: dict[str, Any] = {}
    options: dict[str, Any] = {}

    def give(f: str) -> None:
        """Gives field `f` by its parameter, else in options."""
        if f in fills:
            args.setdefault(fills[f].name, _value(fills[f], m))
        elif m.has(f) and f not in (g.body or {}):
            options.setdefault(f, sample(m.spec(f)))

    for p in g.params:
        if p.required:
            args[p.name] = _value(p, m)
    for f, spec in m.fields.items():
        if spec.get("required") and f != "model":
            give(f)
    for group in g.require_any:
        if not set(group) & set(args):
            args[group[0]] = _value(params[group[0]], m)
    if g.selector:
        args[g.selector[0]] = next(k for k, v in g.selector[1].items() if v == m.endpoint)
    if "model" in schema_of(g.name)["properties"]:
        args["model"] = m.name
    # What the model's rules require of this body (a mode's prompt), until nothing more is needed.
    models = cat.select(g.endpoints, g.tag)
    for _ in range(3):
        try:
            _, _, body, _ = assemble(g, models, {**args, **({"options": options} if options else {})})
        except ToolError:
            break
        wanted = [f for f in _required_by(m.rules, body) if body.get(f) is None]
        if not wanted:
            break
        for f in wanted:
            give(f)
    if options:
        args["options"] = options
    out: dict[str, Any] = {"tool": g.name, "arguments": args}
    if any(isinstance(v, str) and PLACEHOLDER.match(v) for v in _strings(args)):
        out["note"] = NOTE
    return out


def _strings(v: Any) -> list[Any]:
    """Every scalar inside `v`."""
    if isinstance(v, dict):
        return [x for sub in v.values() for x in _strings(sub)]
    if isinstance(v, list):
        return [x for sub in v for x in _strings(sub)]
    return [v]
