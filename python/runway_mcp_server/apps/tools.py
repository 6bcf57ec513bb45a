"""The app-only tools the studio calls through the host (`_meta.ui.visibility: ["app"]`: its model
never sees them). Each stands on what the model's tools stand on: the journal (list_tasks), the
task read (get_task_status, which also saves a finished task's outputs), the saved files, the
budget guard and the service's create."""

from __future__ import annotations

import asyncio
import base64
import functools
import os
import shutil
import tempfile
from typing import Annotated, Any, Awaitable, Callable, Optional

from mcp.server.elicitation import AcceptedElicitation
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel

import runway_core
from runway_core import RunwayError

from .. import budget
from ..pool import svc_of
from ..results import output_uri, plain
from . import follow_ups as fu

# The largest output app_media sends to the frame: the bytes go base64 in one JSON-RPC message
# through the host (about 4/3 of the file, held a few times over on the way). Larger outputs are
# not sent: the result says so and gives the output's runway:// resource (which the page reads
# through the host only when the user asks) and Runway's URL to open instead.
MEDIA_MAX_BYTES = 16 << 20

PAGE = 24
PAGE_MAX = 100
# How many of a gallery page's unfinished tasks are read at Runway at once.
REFRESH_AT_ONCE = 4


def refusal(message: str) -> CallToolResult:
    return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


def said_plainly(fn: Callable[..., Awaitable[CallToolResult]]) -> Callable[..., Awaitable[CallToolResult]]:
    """An app tool's refusals as error results of its own words: raised, the SDK would put
    "Error executing tool <name>: " before them, which the studio would show the user."""

    @functools.wraps(fn)
    async def tool(*args: Any, **kwargs: Any) -> CallToolResult:
        try:
            return await fn(*args, **kwargs)
        except ToolError as e:
            if isinstance(e, UnexpectedToolError):
                raise
            return refusal(str(e))

    return tool


class Output(BaseModel):
    index: int
    kind: str
    mime_type: Optional[str] = None
    bytes: Optional[int] = None


class TaskView(BaseModel):
    task_id: str
    status: str
    progress: Optional[float] = None
    tool: Optional[str] = None
    model: Optional[str] = None
    prompt: Optional[str] = None
    estimated_cost_credits: Optional[float] = None
    cost_credits: Optional[float] = None
    duration: Optional[float] = None
    created_at: Optional[str] = None
    finished_at: Optional[str] = None
    outputs: list[Output] = []
    failure: Optional[str] = None
    failure_code: Optional[str] = None
    follow_ups: list[str] = []
    simulated: bool = False


async def app_task(task_id: str, ctx: Context) -> CallToolResult:
    svc = svc_of(ctx)
    client = svc.client()
    try:
        task = await client.get_task(task_id)
        row = await client.journal_entry(task_id) if client.has_journal else None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    # As get_task_status: a finished task's outputs are saved (once) when it is first seen done.
    r = await (svc.outcome(task) if task.status == "SUCCEEDED" else svc.result(task))
    made = fu.model_output((row or {}).get("endpoint"), r.model)
    outputs = []
    for i, url in enumerate(r.outputs):
        f = r.files[i] if i < len(r.files) else None
        outputs.append(Output(index=i, kind=fu.kind_of(f.mime_type if f else None, url, made),
                              mime_type=f.mime_type if f else None, bytes=f.bytes if f else None))
    params = (row or {}).get("params") or {}
    seconds = params.get("duration")
    view = TaskView(
        task_id=task.id, status=r.status, progress=r.progress, tool=(row or {}).get("tool"), model=r.model,
        prompt=(row or {}).get("prompt"), estimated_cost_credits=r.estimated_cost_credits, cost_credits=r.cost_credits,
        duration=float(seconds) if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) else None,
        created_at=r.created_at or (row or {}).get("created_at"), finished_at=(row or {}).get("finished_at"),
        outputs=outputs, failure=r.failure, failure_code=r.failure_code,
        follow_ups=fu.available(outputs[0].kind if outputs else "other", r.status, row), simulated=r.simulated)
    return plain(view, f"Task {task.id}: {r.status}")


class GalleryItem(BaseModel):
    task_id: str
    status: Optional[str] = None
    tool: Optional[str] = None
    model: Optional[str] = None
    prompt: Optional[str] = None
    cost_credits: Optional[float] = None
    cost_is_estimate: bool = False
    kind: str = "other"
    created_at: Optional[str] = None


class Gallery(BaseModel):
    tasks: list[GalleryItem]
    count: int
    total_cost_credits: float
    next_cursor: Optional[str] = None
    tools: list[str]
    models: list[str]


def _item(row: dict[str, Any]) -> GalleryItem:
    files = row.get("files") or []
    outputs = row.get("outputs") or []
    mime = next((f.get("mime_type") for f in files if isinstance(f, dict)), None)
    kind = fu.kind_of(mime, outputs[0] if outputs else None, fu.model_output(row.get("endpoint"), row.get("model")))
    final = row.get("cost")
    return GalleryItem(task_id=row["task_id"], status=row.get("status") or "SUBMITTED", tool=row.get("tool"),
                       model=row.get("model"), prompt=row.get("prompt"),
                       cost_credits=final if final is not None else row.get("estimated_cost"),
                       cost_is_estimate=final is None, kind=kind, created_at=row.get("created_at"))


async def _current(client: runway_core.Client, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`rows` (a page) with their unfinished tasks as Runway has them now: the journal knows only
    what was last seen, and a task made without waiting may have finished since. Read as
    get_task_status reads them, which also tells the journal (its outputs are saved when the
    player opens it, or when the server next resumes tasks: a gallery page waits for no download).
    A task that cannot be read now (deleted, Runway unreachable) keeps the journal's last word."""
    gate = asyncio.Semaphore(REFRESH_AT_ONCE)

    async def one(row: dict[str, Any]) -> dict[str, Any]:
        if row.get("status") in runway_core.FINAL_TASK_STATES:
            return row
        async with gate:
            try:
                task = await client.get_task(row["task_id"])
            except RunwayError:
                return row
        return {**row, "status": task.status or row.get("status"), "outputs": task.output or row.get("outputs"),
                "cost": task.cost if task.cost is not None else row.get("cost")}

    return list(await asyncio.gather(*(one(r) for r in rows)))


async def app_tasks(ctx: Context, tool: Optional[str] = None, model: Optional[str] = None,
                    status: Optional[str] = None, text: Optional[str] = None, cursor: Optional[str] = None,
                    limit: Optional[int] = None) -> CallToolResult:
    client = svc_of(ctx).client()
    if not client.has_journal:
        raise ToolError("the task journal is off (RUNWAY_MCP_JOURNAL=off); tasks are not remembered")
    try:
        start = max(int(cursor or 0), 0)
    except ValueError:
        raise ToolError(f"cursor: '{cursor}' is not one this tool gave") from None
    size = min(max(limit or PAGE, 1), PAGE_MAX)
    try:
        # The journal's most (1000) in one read: the total and the count are over every match.
        rows = await client.list_tasks(status=status or None, tool=tool or None, model=model or None,
                                       text=text or None, limit=1000)
        every = await client.list_tasks(limit=1000) if (tool or model or status or text) else rows
    except RunwayError as e:
        raise ToolError(str(e)) from None
    rows = [r for r in rows if r.get("task_id")]  # a create whose id never came back is no task to show
    rows[start:start + size] = await _current(client, rows[start:start + size])
    items = [_item(r) for r in rows]
    page = items[start:start + size]
    g = Gallery(tasks=page, count=len(items), total_cost_credits=round(sum(i.cost_credits or 0.0 for i in items), 4),
                next_cursor=str(start + size) if start + size < len(items) else None,
                tools=sorted({str(r["tool"]) for r in every if r.get("tool")}),
                models=sorted({str(r["model"]) for r in every if r.get("model")}))
    return plain(g, f"{len(page)} of {len(items)} tasks, {g.total_cost_credits:g} credits in all")


class Media(BaseModel):
    task_id: str
    index: int
    mime_type: Optional[str] = None
    bytes: int
    data_uri: Optional[str] = None
    too_large: bool = False
    url: Optional[str] = None
    # Above the cap: the runway:// resource the frame may still read through the host, at its own cost.
    resource: Optional[str] = None


def _media(task_id: str, index: int, path: str, mime: Optional[str], url: Optional[str]) -> CallToolResult:
    size = os.path.getsize(path)
    mime = mime or "application/octet-stream"
    if size > MEDIA_MAX_BYTES:
        m = Media(task_id=task_id, index=index, mime_type=mime, bytes=size, too_large=True, url=url,
                  resource=output_uri(task_id, index, url) if url else None)
        return plain(m, f"Output {index} of task {task_id} is {size >> 20} MiB, over the {MEDIA_MAX_BYTES >> 20} MiB "
                        "sent here: read its resource, or open its URL (valid 24-48 h) or the saved file instead.")
    with open(path, "rb") as f:
        data = base64.b64encode(f.read()).decode()
    m = Media(task_id=task_id, index=index, mime_type=mime, bytes=size, data_uri=f"data:{mime};base64,{data}")
    # The bytes only in the structured result: the text stays short.
    return CallToolResult(content=[TextContent(type="text", text=f"Output {index} of task {task_id}: {mime}, {size} bytes")],
                          structured_content=m.model_dump())


async def app_media(task_id: str, ctx: Context, index: int = 0) -> CallToolResult:
    svc = svc_of(ctx)
    client = svc.client()
    try:
        task = await client.get_task(task_id)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    if task.status != "SUCCEEDED" or not 0 <= index < len(task.output):
        raise ToolError(f"task {task_id} has no output {index} ({task.status})")
    url = task.output[index]
    if svc.settings.save_outputs:
        files = (await svc.outcome(task)).files
        f = files[index] if index < len(files) else None
        if f is not None and f.path and os.path.exists(f.path):
            return _media(task_id, index, f.path, f.mime_type, url)
    # Not saved here (over HTTP, or saving failed): fetched now, sent, not kept.
    d = tempfile.mkdtemp(prefix="runway-mcp-app-")
    try:
        try:
            info = await client.download(url, os.path.join(d, f"output{index}"))
        except RunwayError as e:
            raise ToolError(f"task {task_id} output {index}: {e}") from None
        return _media(task_id, index, str(info["path"]), info.get("mime_type"), url)
    finally:
        shutil.rmtree(d, ignore_errors=True)


class FollowUpEstimate(BaseModel):
    task_id: str
    action: str
    tool: str
    model: str
    would_run: str
    estimated_cost_credits: Optional[float] = None
    over_budget: Optional[str] = None
    confirm: bool = False


class Refused(budget.Spend):
    """The guard's refusal (over the budget, no one to ask), carried to the tool body, which returns
    it as the result: raised in the guard, the SDK would prefix it."""

    reason: str


async def follow_guard(ctx: Context, task_id: str, action: str, prompt: Optional[str] = None,
                       confirm: Optional[bool] = None, index: int = 0) -> budget.Verdict:
    """The budget guard of a confirmed follow-up, as for the generation tools (the question to
    the user where the client can ask; the refusal with the figures otherwise). An estimate spends
    nothing: no guard."""
    if confirm is not True:
        return budget.WITHIN
    try:
        p = await fu.plan(ctx, task_id, action, prompt, index)
    except ToolError:  # the body reports it; nothing is asked or sent
        return budget.WITHIN
    svc = svc_of(ctx)

    async def reattaches() -> bool:
        return not p.force_new and await svc.in_flight(p.endpoint, p.body)

    async def doubt() -> Optional[str]:
        return None if p.force_new else await svc.may_have_created(p.endpoint, p.body)

    try:
        return await budget.guard(ctx, [p.planned], reattaches, doubt)
    except ToolError as e:
        return Refused(spend=False, reason=str(e))


async def app_follow_up(task_id: str, action: str, ctx: Context,
                        approval: Annotated[budget.Approval, Resolve(follow_guard)],
                        prompt: Optional[str] = None, confirm: Optional[bool] = None, index: int = 0) -> CallToolResult:
    p = await fu.plan(ctx, task_id, action, prompt, index)
    svc = svc_of(ctx)
    if confirm is not True:
        over = await budget.over_budget(svc, [p.planned]) if budget.limited(svc) else None
        cost = f"about {p.credits:g} credits" if p.credits is not None else "a cost not known here"
        e = FollowUpEstimate(task_id=task_id, action=action, tool=p.tool, model=p.model, would_run=p.what,
                             estimated_cost_credits=p.credits, over_budget=over)
        return plain(e, f"Would run {p.what}, for {cost}. Nothing sent: call again with confirm=true to run it."
                        + (f" Over the budget: {over}." if over else ""))

    if isinstance(approval, AcceptedElicitation) and isinstance(approval.data, Refused):
        return refusal(approval.data.reason)

    async def doubt() -> Optional[str]:
        return None if p.force_new else await svc.may_have_created(p.endpoint, p.body)

    await budget.check(ctx, approval, lambda: [p.planned], doubt)
    result = await svc.submit(ctx, p.tool, p.endpoint, p.body, False, None, p.names,
                              p.force_new or budget.pay_again(approval), budget.reattach_only(approval))
    if isinstance(result.structured_content, dict):
        result.structured_content |= {"follow_up_of": task_id, "action": action}
    return result


APP_TOOLS = tuple((said_plainly(fn), description) for fn, description in (
    (app_tasks, "The journal's tasks for the studio: filters, costs, pages."),
    (app_task, "One task for the studio: status, progress, outputs, cost."),
    (app_media, "A task's output as a data: URI for the studio."),
    (app_follow_up, "A follow-up on a task's output: its cost, or with confirm=true, run it."),
))
