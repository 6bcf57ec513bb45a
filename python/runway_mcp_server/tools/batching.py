"""The batch tool: several generation calls checked and priced together, each its own task."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Any, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field

import runway_core
from runway_core import RunwayError

from .. import batch, budget, catalogue as cat
from ..pool import svc_of
from ..service import name_params
from .generate import assemble, checked, generator


def batch_item(i: int, item: Any) -> batch.Item:
    """One item of a batch as the request it makes, checked and priced here; or why it is not sent."""
    tool = str(item.get("tool")) if isinstance(item, dict) else "?"
    try:
        if not isinstance(item, dict) or set(item) - {"tool", "arguments"} or not isinstance(item.get("arguments", {}), dict):
            raise ToolError("each item is {tool, arguments}")
        g = generator(tool)
        args = dict(item.get("arguments") or {})
        checked(g, args)
        if set(args) & {"wait_for_completion", "max_wait_seconds"}:
            raise ToolError("wait_for_completion and max_wait_seconds are set for the whole batch")
        force_new = args.pop("force_new", None) is True
        endpoint, m, body, names = assemble(g, cat.select(g.endpoints, g.tag), args)
        try:
            credits = runway_core.estimate_cost(endpoint, body)  # also checks the body: nothing is sent
        except RunwayError as e:
            raise ToolError(name_params(str(e), names)) from None
        return batch.Item(i, tool, endpoint, m.name, body, names, force_new, credits)
    except ToolError as e:
        return batch.Item(i, tool, error=str(e))


def batch_planned(items: list[batch.Item]) -> list[budget.Planned]:
    return [budget.Planned(f"#{it.index} {it.tool} with {it.model}", it.credits) for it in items if not it.error]


async def batch_doubts(ctx: Context, items: list[batch.Item]) -> dict[int, str]:
    """The items that might pay twice (see `doubt`), by index."""
    out = {}
    for it in items:
        if it.error or it.force_new:
            continue
        try:
            why = await svc_of(ctx).may_have_created(it.endpoint, it.body)
        except (ToolError, RunwayError):
            why = None
        if why:
            out[it.index] = why
    return out


def _doubt_of(ctx: Context, items: list[batch.Item]) -> budget.Doubt:
    async def why() -> Optional[str]:
        return "; ".join(f"#{i}: {d}" for i, d in (await batch_doubts(ctx, items)).items()) or None
    return why


async def batch_guard(ctx: Context, items: list[dict[str, Any]]) -> budget.Verdict:
    prepared = [batch_item(i, x) for i, x in enumerate(items)]
    return await budget.guard(ctx, batch_planned(prepared), doubt=_doubt_of(ctx, prepared))


class Batch(BaseModel):
    items: list[dict[str, Any]]


async def batch_generate_videos(
    items: Annotated[list[dict[str, Any]], Field(description="[{tool, arguments}]")],
    ctx: Context,
    approval: Annotated[budget.Approval, Resolve(batch_guard)],
    wait_for_completion: Optional[bool] = None,
    max_wait_seconds: Optional[float] = None,
) -> Annotated[CallToolResult, Batch]:
    if not 0 < len(items) <= batch.MAX_ITEMS:
        raise ToolError(f"items: give 1 to {batch.MAX_ITEMS} {{tool, arguments}}, not {len(items)}")
    prepared = [batch_item(i, x) for i, x in enumerate(items)]
    await budget.check(ctx, approval, lambda: batch_planned(prepared), _doubt_of(ctx, prepared))
    if budget.pay_again(approval):
        again = await batch_doubts(ctx, prepared)
        prepared = [replace(it, force_new=True) if it.index in again else it for it in prepared]
    svc = svc_of(ctx)
    entries = await batch.run(svc, ctx, prepared, wait_for_completion is not False, max_wait_seconds)
    head = "[SIMULATED: no credits spent] " if svc.simulated else ""
    failed = all(e["status"] in ("NOT_SENT", "FAILED") for e in entries)
    return CallToolResult(content=[TextContent(type="text", text=head + batch.summary(entries))],
                          structured_content=Batch(items=entries).model_dump(), is_error=failed)
