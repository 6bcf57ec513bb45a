"""A generation tool made from its row: the input schema (types, enums, ranges, defaults derived
from the catalogue), the call's arguments checked once (the core checks what goes to Runway), the
body assembled, the budget guard, the run."""

from __future__ import annotations

import json
from functools import lru_cache
from typing import Annotated, Any, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, ToolAnnotations

import runway_core
from runway_core import RunwayError

from .. import budget, catalogue as cat
from ..pool import svc_of
from .common import Result, closest, one_of
from .shapes import Absent, fill, ids_of
from .table import GENERATORS, Gen, P


def _pick(g: Gen, models: list[cat.Model], a: dict[str, Any]) -> tuple[str, cat.Model]:
    name = a.get("model")
    endpoint: Optional[str] = None
    if g.selector and a.get(g.selector[0]) is not None:
        endpoint = g.selector[1][a[g.selector[0]]]
    elif name:
        endpoint = next((m.endpoint for m in models if m.name == name), None)
    endpoint = endpoint or g.endpoints[0]
    if not name:
        first = next((m for m in models if m.endpoint == endpoint), None)
        default = dict(g.defaults).get(endpoint, g.default_model)
        name = default if default and cat.find(default, (endpoint,)) else (first.name if first else "")
    m = next((m for m in models if m.endpoint == endpoint and m.name == name), None)
    if m is None:
        gone = next((r for r in cat.data().get("removed", []) if r["model"] == name and r["endpoint"] in g.endpoints), None)
        if gone is not None:
            raise ToolError(f"model: {name} was taken out of Runway's API ({gone.get('note', 'removed')}); "
                            f"use {gone['replacement']}")
        # The endpoint's models when the call chose the endpoint, else every model of the tool.
        chose = g.selector is not None and a.get(g.selector[0]) is not None
        offered = cat.names([x for x in models if x.endpoint == endpoint or not chose])
        where = f" for {endpoint}" if chose else ""
        raise ToolError(f"model: '{name}' is not offered by {g.name}{where}{closest(name, offered)}; {one_of(offered, 'model')}")
    return endpoint, m


def _missing(g: Gen, m: cat.Model, body: dict[str, Any]) -> None:
    """Refuses a body without a field the model requires, saying which parameter (or option) gives
    it and what it takes: the ids it takes from a list (a voice's presets), else the catalogue's words."""
    gaps = []
    for f, spec in m.fields.items():
        if not spec.get("required") or body.get(f) is not None:
            continue
        param = next((p.name for p in g.params if next((x for x in p.fields if m.has(x)), None) == f), None)
        ids = spec.get("values", []) if spec["type"] == "enum" else ids_of(spec)
        what = one_of(ids, param or f) if ids else spec["allowed"]
        how = f"the parameter {param}" if param else f"options.{f}"
        gaps.append(f"{f}: required by {m.name} (give it as {how}); {what}")
    if gaps:
        raise ToolError(f"invalid {m.endpoint} request for model {m.name}: {'; '.join(gaps)}")


def assemble(g: Gen, models: list[cat.Model], a: dict[str, Any]) -> tuple[str, cat.Model, dict[str, Any], dict[str, str]]:
    """The Runway request a call of `g` with arguments `a` makes: (endpoint, model, body, and which
    tool parameter filled each Runway field)."""
    a = dict(a)
    options: dict[str, Any] = a.pop("options", None) or {}
    endpoint, m = _pick(g, models, a)
    # A fixed model (a recipe) is its endpoint's only one: its body names no model.
    body: dict[str, Any] = {} if m.fixed else {"model": m.name}
    names: dict[str, str] = {}
    for group in g.require_any:
        if all(a.get(n) is None for n in group):
            raise ToolError(f"{', '.join(group)}: give at least one of them")
    for p in g.params:
        has = [f for f in p.fields if m.has(f)]
        value = a.get(p.name)
        if value is None and has:
            value = p.default
        if value is None or not p.fields:
            continue
        f = has[0] if has else p.fields[0]
        shape = (p.shapes or {}).get(f)
        if p.shapes and not has:
            raise ToolError(f"{p.name}: model {m.name} takes none of {', '.join(p.fields)}")
        if f in body:
            raise ToolError(f"{names[f]}, {p.name}: give either {names[f]} or {p.name}, not both")
        body[f] = value if shape is None else fill(shape, {**a, p.name: value}, m.spec(f), own=p.name)
        names[f] = p.name
    for f, shape in (g.body or {}).items():
        try:
            body[f] = fill(shape, a, m.spec(f))
        except Absent:
            continue
    for f, value in (g.modes or {}).items():
        spec = m.spec(f)
        if spec and value in spec.get("values", []):
            body.setdefault(f, value)
    for k, v in options.items():
        if k in body:
            raise ToolError(f"options.{k}: already set by the tool's parameters; give it once")
        body[k] = v
    body = cat.fill_required(m, body)
    _missing(g, m, body)
    return endpoint, m, body, names




def planned(g: Gen, models: list[cat.Model], a: dict[str, Any]) -> list[budget.Planned]:
    """The task a call would create, priced locally; none when its input is wrong (the call then
    fails on that before anything is sent)."""
    try:
        endpoint, m, body, _ = assemble(g, models, {k: v for k, v in a.items() if k not in CALL_ONLY})
        return [budget.Planned(f"{g.name} with {m.name}", runway_core.estimate_cost(endpoint, body))]
    except (ToolError, RunwayError):
        return []


async def reattaches(g: Gen, models: list[cat.Model], ctx: Context, a: dict[str, Any]) -> bool:
    """Whether the call would reattach to an identical request's running task (and spend nothing)."""
    if a.get("force_new") is True:
        return False
    try:
        endpoint, _, body, _ = assemble(g, models, {k: v for k, v in a.items() if k not in CALL_ONLY})
        return await svc_of(ctx).in_flight(endpoint, body)
    except (ToolError, RunwayError):  # a wrong input: the question, then the create reports it
        return False


async def doubt(g: Gen, models: list[cat.Model], ctx: Context, a: dict[str, Any]) -> Optional[str]:
    """Why the call might pay twice: an identical earlier request may have made a task (see budget)."""
    if a.get("force_new") is True:
        return None
    try:
        endpoint, _, body, _ = assemble(g, models, {k: v for k, v in a.items() if k not in CALL_ONLY})
        return await svc_of(ctx).may_have_created(endpoint, body)
    except (ToolError, RunwayError):  # a wrong input: the create reports it
        return None


async def guard(ctx: Context, call: dict[str, Any]) -> budget.Verdict:
    """The spending guard of every generation tool, run by the SDK before the tool body with the
    call's arguments (`GenerationTool.run` puts the tool's name beside them). Its qualname is the
    question's wire key: the same on every server process."""
    g, a = generator(call["tool"]), call["arguments"]
    models = cat.select(g.endpoints, g.tag)
    try:
        checked(g, a)
    except ToolError:  # a wrong input: the tool body reports it, and nothing is asked or sent
        return budget.WITHIN
    return await budget.guard(ctx, planned(g, models, a), lambda: reattaches(g, models, ctx, a),
                              lambda: doubt(g, models, ctx, a))


async def run(g: Gen, models: list[cat.Model], ctx: Context, a: dict[str, Any], approval: budget.Approval) -> CallToolResult:
    checked(g, a)
    await budget.check(ctx, approval, lambda: planned(g, models, a), lambda: doubt(g, models, ctx, a))
    wait = a.pop("wait_for_completion", None) is not False
    max_wait = a.pop("max_wait_seconds", None)
    force_new = a.pop("force_new", None) is True or budget.pay_again(approval)
    endpoint, _, body, names = assemble(g, models, a)
    return await svc_of(ctx).submit(ctx, g.name, endpoint, body, wait, max_wait, names, force_new,
                                  budget.reattach_only(approval))


# ---- the input schema, made from the row and the catalogue ----

# Above this many models, the schema names the count instead of listing them: 25 names cost an
# agent ~450 bytes in every conversation, and list_available_models says more than names.
MAX_MODEL_ENUM = 4

# What every generation tool takes besides its row's parameters (the server instructions explain
# them once). wait_for_completion unset means true: a bare boolean schema is shorter.
SHARED_SCHEMAS: dict[str, dict[str, Any]] = {
    "options": {"type": "object"},
    "wait_for_completion": {"type": "boolean"},
    "force_new": {"type": "boolean"},
    # Clamped to [0, RUNWAY_MCP_MAX_WAIT limit] by the service.
    "max_wait_seconds": {"type": "number"},
}

# The shared parameters about the call itself, not the request: no part of the body.
CALL_ONLY = tuple(k for k in SHARED_SCHEMAS if k != "options")


def param_schema(p: P, models: list[cat.Model]) -> dict[str, Any]:
    """A row parameter's schema: its own, else the catalogue's over the tool's models, else text."""
    if p.schema is not None or p.media or not p.fields:
        s, hint = dict(p.schema or {"type": "string"}), ""
    else:
        s, hint = cat.param_schema(models, p.fields)
    if p.desc or hint:
        s["description"] = p.desc or hint
    return s


def offers_choice(g: Gen, models: list[cat.Model]) -> bool:
    """Whether some endpoint of the tool has more than one model."""
    return any(sum(m.endpoint == ep for m in models) > 1 for ep in g.endpoints)


def input_schema(g: Gen, models: list[cat.Model]) -> dict[str, Any]:
    """The tool's input schema: its row's parameters (required first), the model where there is a
    choice (it appears when the data adds a second model), then the shared ones."""
    params = sorted(g.params, key=lambda p: not p.required)
    props = {p.name: param_schema(p, models) for p in params}
    if offers_choice(g, models):
        offered = cat.names(models)
        props["model"] = cat.enum(offered) if len(offered) <= MAX_MODEL_ENUM else {"type": "string"}
        if g.default_model in offered:
            props["model"]["default"] = g.default_model
    props |= SHARED_SCHEMAS
    required = [p.name for p in params if p.required]
    return {"type": "object", "properties": props, **({"required": required} if required else {})}


@lru_cache(maxsize=None)
def schema_of(tool: str) -> dict[str, Any]:
    g = generator(tool)
    return input_schema(g, cat.select(g.endpoints, g.tag))


# ---- the check of a call's arguments against that schema ----

_JSON_TYPES: dict[str, tuple[type, ...]] = {"string": (str,), "integer": (int,), "number": (int, float),
                                            "boolean": (bool,), "object": (dict,), "array": (list,)}


def _fits(s: dict[str, Any], v: Any) -> bool:
    if "anyOf" in s:
        return any(_fits(alt, v) for alt in s["anyOf"])
    if "const" in s or "enum" in s:
        return any(v == x and type(v) is type(x) for x in s.get("enum", [s.get("const")]))
    kinds = _JSON_TYPES.get(s.get("type", ""), (object,))
    if isinstance(v, bool) and bool not in kinds:  # JSON's true is no number
        return False
    if not isinstance(v, kinds):
        return False
    return not isinstance(v, (int, float)) or s.get("minimum", v) <= v <= s.get("maximum", v)


def _expected(s: dict[str, Any]) -> str:
    if "anyOf" in s:
        return " or ".join(_expected(alt) for alt in s["anyOf"])
    if "const" in s or "enum" in s:
        return "one of " + ", ".join(json.dumps(x) for x in s.get("enum", [s.get("const")]))
    kind = str(s.get("type", "any"))
    return {"string": "text", "object": "an object", "array": "a list"}.get(kind, kind)


def checked(g: Gen, a: dict[str, Any]) -> None:
    """Refuses a call whose arguments do not fit the tool's schema, naming the parameter: one the
    tool does not have, a required one left out, or one Runway never sees as given (the call's own,
    and those the row's shapes turn into Runway's) of the wrong type. A parameter filling a Runway
    field as it is is checked by the core against the chosen model's spec, once, with the rest of
    the body."""
    schema = schema_of(g.name)
    unknown = sorted(set(a) - set(schema["properties"]))
    if unknown:
        raise ToolError(f"arguments: {', '.join(unknown)} not parameters of {g.name} (a model's other fields go in options)")
    missing = [n for n in schema.get("required", []) if a.get(n) is None]
    if missing:
        raise ToolError(f"{', '.join(missing)}: required by {g.name}")
    mapped = {p.name for p in g.params if p.fields and not p.shapes}
    for name, s in schema["properties"].items():
        v = a.get(name)
        if v is not None and name not in mapped and not _fits(s, v):
            raise ToolError(f"{name}: expected {_expected(s)}, not {json.dumps(v)[:80]}")


# ---- the tool ----

async def _generate(ctx: Context, call: dict[str, Any],
                    approval: Annotated[budget.Approval, Resolve(guard)]) -> Result:
    g = generator(call["tool"])
    return await run(g, cat.select(g.endpoints, g.tag), ctx, dict(call["arguments"]), approval)


class GenerationTool(Tool):
    """A generation tool: the SDK's tool with the input schema made above. Every generation tool
    shares one function, whose single argument the SDK validates as an object; `run` hands it the
    call's arguments with the tool's name, and `checked` and the core check them."""

    async def run(self, arguments: dict[str, Any], context: Context[Any, Any], convert_result: bool = False) -> Any:
        call = {"call": {"tool": self.name, "arguments": arguments}}
        return await super().run(call, context, convert_result=convert_result)


@lru_cache(maxsize=1)
def _template() -> Tool:
    # The SDK builds the shared function's tool once (its pydantic models are the slow part).
    return Tool.from_function(_generate, name="generate")


def make_tool(g: Gen, description: str, annotations: ToolAnnotations) -> GenerationTool:
    models = cat.select(g.endpoints, g.tag)
    if not models:
        raise RuntimeError(f"{g.name}: no model in the catalogue for {g.endpoints} {g.tag or ''}")
    t = _template()
    fields = {k: getattr(t, k) for k in type(t).model_fields}
    fields |= {"name": g.name, "description": description, "parameters": schema_of(g.name),
               "annotations": annotations}
    return GenerationTool.model_construct(**fields)


def tools_for(m: cat.Model) -> list[str]:
    return [g.name for g in GENERATORS if m.endpoint in g.endpoints and (g.tag is None or g.tag in m.tags)]


def generator(tool: str) -> Gen:
    g = next((g for g in GENERATORS if g.name == tool), None)
    if g is None:
        raise ToolError(f"tool: '{tool}' is not a generation tool; one of: {', '.join(x.name for x in GENERATORS)}")
    return g
