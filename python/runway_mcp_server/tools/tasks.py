"""Tools over tasks: status, waiting, cancelling (deleting asks first), uploads, the journal's list."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Annotated, Any, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Resolve
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

import runway_core
from runway_core import NotFoundError, RunwayError

from .. import deletion
from ..results import plain
from ..pool import svc_of
from .common import Result, TaskId


async def get_task_status(task_id: TaskId, ctx: Context) -> Result:
    svc = svc_of(ctx)
    try:
        task = await svc.client().get_task(task_id)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    return await svc.finished(task) if task.status == "SUCCEEDED" else svc.respond(await svc.result(task))


async def wait_for_task(task_id: TaskId, ctx: Context, max_wait_seconds: Optional[float] = None) -> Result:
    return await svc_of(ctx).wait(ctx, task_id, max_wait_seconds)


class UploadResult(BaseModel):
    uri: str
    path: str


async def upload_file(
    path: Annotated[str, Field(description=f"Local media file, up to {runway_core.UPLOAD_MAX_BYTES >> 20} MiB.")],
    ctx: Context,
) -> Annotated[CallToolResult, UploadResult]:
    try:
        uri = await svc_of(ctx).client().upload(os.path.expanduser(path))
    except RunwayError as e:
        raise ToolError(str(e)) from None
    r = UploadResult(uri=uri, path=path)
    return plain(r, f"Uploaded {path}: {uri} (usable as a media input for 24 hours). Tools also take the path itself.")


class CancelResult(BaseModel):
    task_id: str
    action: str = Field(description="cancelled, deleted (it had finished; outputs gone) or already_gone.")
    previous_status: Optional[str] = None
    message: str


async def cancel_task(task_id: TaskId, ctx: Context,
                      answer: Annotated[deletion.Answer, Resolve(deletion.ask)]) -> Annotated[CallToolResult, CancelResult]:
    svc = svc_of(ctx)
    client = svc.client()
    try:
        task: Optional[runway_core.Task] = await client.get_task(task_id)
    except NotFoundError:
        task = None
    except RunwayError as e:
        raise ToolError(str(e)) from None
    # Finished since the question was (or was not) put: deleting it needs the user's yes.
    if task is not None and task.is_terminal and not deletion.confirmed(answer):
        if not deletion.asked(answer):
            raise ToolError(f"Not deleted, nothing changed: task {task_id} finished ({task.status}) before it could be "
                            "cancelled. Call again to delete it; the user will be asked.")
        raise ToolError(f"Not deleted, nothing changed: the user declined deleting task {task_id} ({task.status}).")
    try:
        done = await client.cancel_task(task_id)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    before = task.status if task is not None else None
    if done:  # followers hear of it (subscriptions): cancelled, or gone when it had finished
        await svc.events.task_changed(task_id, "CANCELLED" if task is None or not task.is_terminal else "DELETED")
    if not done or task is None:
        r = CancelResult(task_id=task_id, action="already_gone", message=f"Task {task_id} was already cancelled or deleted (or never existed).")
    elif task.is_terminal:
        r = CancelResult(task_id=task_id, action="deleted", previous_status=before,
                         message=f"Task {task_id} had finished ({before}); it is deleted and its outputs at Runway are gone.")
    else:
        note = " Runway may still charge for work already done." if before == "RUNNING" else ""
        r = CancelResult(task_id=task_id, action="cancelled", previous_status=before, message=f"Task {task_id} was {before} and is cancelled.{note}")
    return plain(r, r.message)


class Tasks(BaseModel):
    tasks: list[dict[str, Any]]


def _since_ms(since: Optional[str]) -> Optional[int]:
    if not since:
        return None
    try:
        when = datetime.fromisoformat(since.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ToolError(f"since: '{since}' is not an ISO 8601 date or time, e.g. 2026-11-30 or 2026-11-30T09:00Z") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp() * 1000)


async def list_tasks(
    ctx: Context,
    status: Annotated[Optional[str], Field(description="e.g. running")] = None,
    tool: Optional[str] = None,
    model: Optional[str] = None,
    since: Annotated[Optional[str], Field(description="ISO date/time")] = None,
    text: Annotated[Optional[str], Field(description="In the prompt")] = None,
    limit: Optional[int] = None,
) -> Annotated[CallToolResult, Tasks]:
    client = svc_of(ctx).client()
    if not client.has_journal:
        raise ToolError("the task journal is off (RUNWAY_MCP_JOURNAL=off); tasks are not remembered")
    try:
        rows = await client.list_tasks(status=status, tool=tool, model=model, since_ms=_since_ms(since), text=text,
                                       limit=limit)
    except RunwayError as e:
        raise ToolError(str(e)) from None
    keep = ("task_id", "status", "tool", "model", "prompt", "estimated_cost", "cost", "files", "failure", "note",
            "created_at", "finished_at")
    out = [{k: r.get(k) for k in keep} for r in rows]
    for r in out:
        r["files"] = [f.get("path") for f in r["files"] or [] if f.get("path")]
        if r["prompt"] and len(r["prompt"]) > 120:
            r["prompt"] = r["prompt"][:117] + "..."
    lines = [f"{r['created_at']} {r['task_id'] or '(no id: ' + (r['note'] or '') + ')'} {r['status'] or 'SUBMITTED'} "
             f"{r['tool']} {r['model']} cost {r['cost'] if r['cost'] is not None else r['estimated_cost']}"
             + (f" -> {', '.join(r['files'])}" if r["files"] else "") for r in out]
    return plain(Tasks(tasks=out), "\n".join(lines) or "No task matches.")
