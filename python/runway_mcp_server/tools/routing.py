"""Generation by goal through Runway's model routers (`/v1/generate/*`): the user says what matters
(cost, latency or quality) and a credit ceiling, Runway picks the model. The router configuration
is made once per setting and reused (its slug names the settings); the result says which model
Runway chose and on what terms. Router management for those who want their own."""

from __future__ import annotations

from typing import Annotated, Any, Literal, Optional, Union

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit, Resolve
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

import runway_core
from runway_core import ApiError, RunwayError

from .. import budget, deletion
from ..pool import svc_of
from ..results import plain


Kind = Literal["video", "image", "audio"]
Goal = Literal["cost", "latency", "quality"]


def slug_for(kind: Kind, goal: Goal, ceiling: Optional[float]) -> str:
    """The router slug for these settings: one router per setting, reused by every call."""
    return f"mcp-{kind}-{goal}-" + (f"{ceiling:g}".replace(".", "_") if ceiling is not None else "nocap")


async def _router(client: runway_core.Client, kind: Kind, goal: Goal, ceiling: Optional[float]) -> str:
    slug = slug_for(kind, goal, ceiling)
    async for r in client.api.routers.list(limit=100):
        if r.get("slug") == slug:
            return slug
    settings: dict[str, Any] = {"optimizeFor": goal}
    if ceiling is not None:
        settings["maxCreditsPerGeneration"] = {kind: ceiling}
    try:
        await client.api.routers.create(slug=slug, name=f"{kind}, {goal} first" + (
            f", at most {ceiling:g} credits" if ceiling is not None else ""), settings=settings)
    except ApiError as e:
        if e.status != 409:  # made meanwhile by another call: use it
            raise
    return slug


async def generate_by_goal(
    ctx: Context,
    kind: Kind,
    prompt_text: str,
    optimize_for: Goal = "cost",
    max_credits: Annotated[Optional[float], Field(description="Ceiling per generation")] = None,
    options: Annotated[Optional[dict[str, Any]], Field(description="Other input fields (duration, aspectRatio...)")] = None,
    wait_for_completion: Optional[bool] = None,
    max_wait_seconds: Optional[float] = None,
) -> CallToolResult:
    svc = svc_of(ctx)
    if max_credits is not None and max_credits <= 0:
        raise ToolError("max_credits: give a positive number of credits")
    given = dict(options or {})
    if "promptText" in given:
        raise ToolError("options.promptText: give the prompt as prompt_text")
    body = {"input": {"promptText": prompt_text, **given}}
    # Checked whole before a router is made or anything is sent (configId stands in).
    try:
        runway_core.validate(f"generate/{kind}", {"configId": "check", **body})
    except RunwayError as e:
        raise ToolError(str(e).replace("input.", "options.").replace("options.promptText", "prompt_text")) from None
    if budget.limited(svc) and max_credits is not None:
        reason = await budget.over_budget(svc, [budget.Planned(f"generate_by_goal {kind}", max_credits)])
        if reason:
            raise ToolError(f"Not sent, nothing spent: {reason}.")
    try:
        slug = await _router(svc.client(), kind, optimize_for, max_credits)
        task = await svc.create("generate_by_goal", f"generate/{kind}", {"configId": slug, **body}, {})
    except RunwayError as e:
        raise ToolError(str(e)) from None
    routing = task.raw.get("routing") or {} if isinstance(task.raw, dict) else {}
    ceiling = (routing.get("resolvedSettings") or {}).get("priceCeiling")
    why = (f"Runway's router ({slug}) chose {routing.get('model')} from {routing.get('provider', 'its provider')}: "
           f"{optimize_for} first" + (f", within {ceiling:g} credits" if isinstance(ceiling, (int, float)) else "")
           + f"; estimated {task.estimated_cost:g} credits." if task.estimated_cost is not None else ".")
    if wait_for_completion is False:
        result = svc.respond(await svc.result(task, status="SUBMITTED", reattached=task.reattached))
    else:
        result = await svc.wait(ctx, task.id, max_wait_seconds, reattached=task.reattached)
    result.content = [TextContent(type="text", text=why), *result.content]
    return result


class Routers(BaseModel):
    routers: list[dict[str, Any]] = Field(default_factory=list)
    history: Optional[list[dict[str, Any]]] = None


async def routers(
    ctx: Context,
    action: Literal["list", "create", "update", "history"] = "list",
    router: Annotated[Optional[str], Field(description="Router id (update, history)")] = None,
    slug: Annotated[Optional[str], Field(description="For create")] = None,
    settings: Annotated[Optional[dict[str, Any]], Field(description="{optimizeFor, maxCreditsPerGeneration, models}")] = None,
    name: Optional[str] = None,
) -> Annotated[CallToolResult, Routers]:
    api = svc_of(ctx).client().api
    try:
        if action == "list":
            found = [r async for r in api.routers.list(limit=100)]
            text = "\n".join(f"{r['slug']} ({r['id']}): {r.get('settings') or 'defaults'}" for r in found) or "No routers."
            return plain(Routers(routers=found), text)
        if action == "create":
            if not slug:
                raise ToolError("slug: required to create a router")
            made = await api.routers.create(slug=slug, **_given(name=name, settings=settings))
            return plain(Routers(routers=[made]), f"Router {made['slug']} made ({made['id']}).")
        if not router:
            raise ToolError(f"router: the router's id is required to {action}")
        if action == "update":
            changed = await api.routers.update(router, **_given(name=name, settings=settings))
            return plain(Routers(routers=[changed]), f"Router {changed['slug']} is at version {changed.get('version')}.")
        rows = [r async for r in api.routers.list_requests(router, limit=100)]
        text = "\n".join(f"{r.get('createdAt', '')} {r.get('status')}: {r.get('model') or r.get('reasonCode') or ''}"
                         for r in rows) or "No routing requests yet."
        return plain(Routers(history=rows), text)
    except RunwayError as e:
        raise ToolError(str(e)) from None


def _given(**kw: Any) -> dict[str, Any]:
    return {k: v for k, v in kw.items() if v is not None}


async def ask_delete(ctx: Context, router: str) -> Union[deletion.DeleteIt, Elicit[deletion.DeleteIt]]:
    """Deleting asks the user (see `deletion`); without a way to ask, nothing is deleted."""
    try:
        found = await svc_of(ctx).client().api.routers.retrieve(router)
    except RunwayError:
        return deletion.NOT_ASKED  # the tool body meets the same error and reports it
    return deletion.ask_to_delete(ctx, f"router {found['slug']} ({router})", "calls naming it as configId then fail.")


async def delete_router(ctx: Context, router: str,
                        answer: Annotated[deletion.ObjectAnswer, Resolve(ask_delete)]) -> Annotated[CallToolResult, Routers]:
    api = svc_of(ctx).client().api
    try:
        found = await deletion.delete_if_yes(answer, f"router {router}", lambda: api.routers.retrieve(router),
                                             lambda: api.routers.delete(router))
    except RunwayError as e:
        raise ToolError(str(e)) from None
    return plain(Routers(routers=[found]), f"Router {found['slug']} deleted.")
