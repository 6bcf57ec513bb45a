"""A generation tool made from its row: the signature (types, enums, ranges, defaults derived
from the catalogue), the body assembled and checked by the core, the budget guard, the run."""

from __future__ import annotations

import inspect
from typing import Annotated, Any, Callable, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult
from pydantic import Field

import runway_core
from runway_core import RunwayError

from .. import budget, catalogue as cat
from ..pool import svc_of
from .common import Result
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
        offered = ", ".join(cat.names([x for x in models if x.endpoint == endpoint]))
        raise ToolError(f"model: '{name}' is not offered by {g.name} for {endpoint} (one of: {offered})")
    return endpoint, m


def assemble(g: Gen, models: list[cat.Model], a: dict[str, Any]) -> tuple[str, cat.Model, dict[str, Any], dict[str, str]]:
    """The Runway request a call of `g` with arguments `a` makes: (endpoint, model, body, and which
    tool parameter filled each Runway field)."""
    a = dict(a)
    options: dict[str, Any] = a.pop("options", None) or {}
    endpoint, m = _pick(g, models, a)
    body: dict[str, Any] = {"model": m.name}
    names: dict[str, str] = {}
    for p in g.params:
        value = a.get(p.name)
        if value is None or not p.fields:
            continue
        f = next((f for f in p.fields if m.has(f)), p.fields[0])
        body[f] = value
        names[f] = p.name
    if g.build:
        g.build(body, a, m)
    for k, v in options.items():
        if k in body:
            raise ToolError(f"options.{k}: already set by the tool's parameters; give it once")
        body[k] = v
    return endpoint, m, cat.fill_required(m, body), names


CALL_ONLY = ("wait_for_completion", "max_wait_seconds", "force_new", "approval")


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


def budget_resolver(g: Gen, models: list[cat.Model], names: list[str]) -> Callable[..., Any]:
    """The spending guard for `g`, run by the SDK before the tool body with the call's arguments."""

    async def resolve(ctx: Context, **a: Any) -> budget.Verdict:
        return await budget.guard(ctx, planned(g, models, a), lambda: reattaches(g, models, ctx, a),
                                  lambda: doubt(g, models, ctx, a))

    kw_only = inspect.Parameter.KEYWORD_ONLY
    params = [inspect.Parameter("ctx", kw_only, annotation=Context)]
    params += [inspect.Parameter(n, kw_only) for n in names]
    setattr(resolve, "__signature__", inspect.Signature(params, return_annotation=budget.Verdict))
    resolve.__annotations__ = {"ctx": Context, "return": budget.Verdict}
    # The wire key of the question (it must be the same on every server process).
    resolve.__qualname__ = f"budget.{g.name}"
    return resolve


async def run(g: Gen, models: list[cat.Model], ctx: Context, a: dict[str, Any]) -> CallToolResult:
    approval = a.pop("approval")
    await budget.check(ctx, approval, lambda: planned(g, models, a), lambda: doubt(g, models, ctx, a))
    wait = a.pop("wait_for_completion", None) is not False
    max_wait = a.pop("max_wait_seconds", None)
    force_new = a.pop("force_new", None) is True or budget.pay_again(approval)
    endpoint, _, body, names = assemble(g, models, a)
    return await svc_of(ctx).submit(ctx, g.name, endpoint, body, wait, max_wait, names, force_new,
                                  budget.reattach_only(approval))


def _annotation(p: P, models: list[cat.Model]) -> tuple[Any, str]:
    if p.annotation is not None:
        return p.annotation, p.desc
    if p.media or not p.fields:
        return str, p.desc
    s = cat.shape(models, p.fields)
    desc = p.desc or s.hint
    extra = Field(description=desc, **s.limits) if desc else Field(**s.limits)
    return Annotated[s.annotation, extra], ""


# Above this many models, the schema names the count instead of listing them: 25 names cost an
# agent ~450 bytes in every conversation, and list_available_models says more than names.
MAX_MODEL_ENUM = 4


def _model_annotation(g: Gen, offered: list[str]) -> Any:
    if len(offered) <= MAX_MODEL_ENUM:
        return Optional[cat.literal(offered)]
    return Optional[str]


def offers_choice(g: Gen, models: list[cat.Model]) -> bool:
    """Whether some endpoint of the tool has more than one model."""
    return any(sum(m.endpoint == ep for m in models) > 1 for ep in g.endpoints)


def make_tool(g: Gen) -> Callable[..., Any]:
    models = cat.select(g.endpoints, g.tag)
    if not models:
        raise RuntimeError(f"{g.name}: no model in the catalogue for {g.endpoints} {g.tag or ''}")

    async def tool(ctx: Context, **kw: Any) -> CallToolResult:
        return await run(g, models, ctx, kw)

    kw_only = inspect.Parameter.KEYWORD_ONLY
    params = []
    for p in sorted(g.params, key=lambda p: not p.required):
        ann, desc = _annotation(p, models)
        if desc:
            ann = Annotated[ann, Field(description=desc)]
        if p.required:
            params.append(inspect.Parameter(p.name, kw_only, annotation=ann))
        else:
            params.append(inspect.Parameter(p.name, kw_only, default=p.default, annotation=Optional[ann]))
    offered = cat.names(models)
    default = g.default_model if g.default_model in offered else None
    # The parameters every generation tool shares are explained once, in the server instructions.
    # A model parameter only where there is a choice: it appears when the data adds a second model.
    if offers_choice(g, models):
        params.append(inspect.Parameter("model", kw_only, default=default, annotation=_model_annotation(g, offered)))
    params += [
        inspect.Parameter("options", kw_only, default=None, annotation=Optional[dict[str, Any]]),
        # None means true (the instructions say so): a bare boolean schema is shorter.
        inspect.Parameter("wait_for_completion", kw_only, default=None, annotation=Optional[bool]),
        inspect.Parameter("force_new", kw_only, default=None, annotation=Optional[bool]),
        # Clamped to [0, RUNWAY_MCP_MAX_WAIT limit] by the service.
        inspect.Parameter("max_wait_seconds", kw_only, default=None, annotation=Optional[float]),
        inspect.Parameter("ctx", kw_only, annotation=Context),
    ]
    # Filled by the budget guard (the SDK leaves it out of the input schema), never by the model.
    guard = budget_resolver(g, models, [p.name for p in params if p.name != "ctx"])
    params.append(inspect.Parameter("approval", kw_only, annotation=Annotated[budget.Approval, Resolve(guard)]))
    setattr(tool, "__signature__", inspect.Signature(params, return_annotation=Result))
    tool.__annotations__ = {p.name: p.annotation for p in params} | {"return": Result}
    tool.__name__ = tool.__qualname__ = g.name
    return tool


def tools_for(m: cat.Model) -> list[str]:
    return [g.name for g in GENERATORS if m.endpoint in g.endpoints and (g.tag is None or g.tag in m.tags)]


SHARED = ("model", "options", "wait_for_completion", "max_wait_seconds", "force_new")


def generator(tool: str) -> Gen:
    g = next((g for g in GENERATORS if g.name == tool), None)
    if g is None:
        raise ToolError(f"tool: '{tool}' is not a generation tool; one of: {', '.join(x.name for x in GENERATORS)}")
    return g


def checked_args(g: Gen, arguments: dict[str, Any]) -> None:
    unknown = sorted(set(arguments) - {p.name for p in g.params} - set(SHARED))
    if unknown:
        raise ToolError(f"arguments: {', '.join(unknown)} not parameters of {g.name} (a model's other fields go in options)")
