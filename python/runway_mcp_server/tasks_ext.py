"""The MCP tasks extension (SEP-2663, `io.modelcontextprotocol/tasks`, protocol 2026-07-28).

A client that declares the extension on a generation call gets a task at once instead of a capped
wait: the Runway task is created (and journaled) first, and the MCP task id IS Runway's task id, so
the journal row that already records the task is the mapping. `tasks/get` answers from the
journal (whose task it is, when it was made) and from Runway (how it is now), so any process or
replica sharing the journal answers for any task, before and after a restart. `tasks/cancel`
cancels Runway's task. There is no `tasks/list` or `tasks/result`: SEP-2663 removed both (the
result is inlined in `tasks/get`; `list_tasks` stays the tool for the journal).

Status changes travel as task events on the server's bus (events.py, between replicas too); a
`subscriptions/listen` stream that follows a task by `taskIds` turns each into
`notifications/tasks` carrying `state`, the very DetailedTask `tasks/get` answers (subscriptions.py)."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Optional, Sequence

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.extension import Extension, MethodBinding
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.shared.inbound import decode_header_value
from mcp.types import CallToolRequestParams, CallToolResult, RequestParams
from mcp_types import HEADER_MISMATCH, INTERNAL_ERROR, INVALID_PARAMS, MISSING_REQUIRED_CLIENT_CAPABILITY
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

import runway_core
from runway_core import NotFoundError, RunwayError, TaskFailedError

from . import notices
from .auth import Refused, request_key

if TYPE_CHECKING:
    from .pool import Pool
    from .service import RunwayService

log = logging.getLogger("runway_mcp_server")

ID = "io.modelcontextprotocol/tasks"
VERSIONS = frozenset(MODERN_PROTOCOL_VERSIONS)
# A task stays answerable as long as the journal keeps its row, which it does not expire.
TTL_MS: Optional[int] = None


class TaskRef(RequestParams):
    """Params of tasks/get, tasks/update and tasks/cancel (tasks/update's inputResponses are ignored:
    these tasks never wait for input)."""

    task_id: str


def negotiated(ctx: ServerRequestContext[Any, Any]) -> bool:
    """Whether this request's client declared the extension (per request, on 2026-07-28)."""
    if ctx.protocol_version not in VERSIONS:
        return False
    caps = ctx.session.client_capabilities
    return bool(caps is not None and caps.extensions and ID in caps.extensions)


def missing_capability() -> MCPError:
    """The refusal of a task request (or of taskIds on subscriptions/listen) from a client that did
    not declare the extension."""
    return MCPError(code=MISSING_REQUIRED_CLIENT_CAPABILITY, message="Missing required client capability",
                    data={"requiredCapabilities": {"extensions": {ID: {}}}})


def _require(ctx: ServerRequestContext[Any, Any], task_id: str) -> None:
    if not negotiated(ctx):
        raise missing_capability()
    # Over HTTP the client names the task in Mcp-Name too (for routing): both must say the same.
    headers = getattr(ctx.request, "headers", None)
    raw = headers.get("mcp-name") if headers is not None else None
    if raw is not None and decode_header_value(raw.strip()) != task_id:
        raise MCPError(code=HEADER_MISMATCH, message="Mcp-Name header does not match params.taskId")


def _not_found(task_id: str) -> MCPError:
    return MCPError(code=INVALID_PARAMS, message=f"Failed to retrieve task: task {task_id} not found")


def _dump(result: CallToolResult) -> dict[str, Any]:
    return result.model_dump(by_alias=True, mode="json", exclude_none=True)


def _structured(result: HandlerResult) -> Optional[dict[str, Any]]:
    if isinstance(result, CallToolResult):
        return result.structured_content if not result.is_error else None
    if isinstance(result, dict) and not result.get("isError"):
        data = result.get("structuredContent")
        return data if isinstance(data, dict) else None
    return None


class RunwayTasks(Extension):
    """The extension, over the server's pool of per-key services (the lifespan context)."""

    identifier = ID

    def __init__(self) -> None:
        # The tools whose calls become tasks: those that make one Runway task and can return before it ends.
        self.deferrable: Optional[frozenset[str]] = None
        self._list_tools: Optional[Callable[[], Awaitable[Sequence[Any]]]] = None
        self.followers: set[asyncio.Task[None]] = set()
        self.following: set[str] = set()

    def bind(self, list_tools: Callable[[], Awaitable[Sequence[Any]]]) -> None:
        """The server's tools (known once the server is built)."""
        self._list_tools = list_tools

    def methods(self) -> Sequence[MethodBinding]:
        return (MethodBinding("tasks/get", TaskRef, self.get, VERSIONS),
                MethodBinding("tasks/update", TaskRef, self.update, VERSIONS),
                MethodBinding("tasks/cancel", TaskRef, self.cancel, VERSIONS))

    def close(self) -> None:
        """On shutdown: stops following (the journal keeps the tasks; the next start resumes them)."""
        for t in list(self.followers):
            t.cancel()

    async def _deferrable(self) -> frozenset[str]:
        if self.deferrable is None:
            tools = await self._list_tools() if self._list_tools is not None else []
            # Takes wait_for_completion and answers with one task's id (a batch answers with several).
            self.deferrable = frozenset(
                t.name for t in tools
                if "wait_for_completion" in t.input_schema.get("properties", {})
                and "task_id" in ((t.output_schema or {}).get("properties") or {}))
        return self.deferrable

    @staticmethod
    def service(ctx: ServerRequestContext[Any, Any]) -> RunwayService:
        """The service of the request's key: a task is only ever found in its own key's journal."""
        pool: Pool = ctx.lifespan_context
        try:
            return pool.service(request_key(getattr(ctx.request, "headers", None), pool.settings))
        except (Refused, ToolError) as e:
            raise MCPError(code=INVALID_PARAMS, message=str(e)) from None

    # ---- tools/call: a task instead of a capped wait ----

    async def intercept_tool_call(self, params: CallToolRequestParams, ctx: ServerRequestContext[Any, Any],
                                  call_next: CallNext) -> HandlerResult:
        if not negotiated(ctx) or params.name not in await self._deferrable():
            return await call_next(ctx)
        try:
            svc = self.service(ctx)
            journaled = svc.client().has_journal
        except (MCPError, ToolError):
            journaled = False  # no key, or a refused one: the tool itself says so
        if not journaled:  # a task nobody could find again: answer the old way
            return await call_next(ctx)
        # The handler is invoked with these very params: it creates the task and returns its id
        # without waiting (what an agent gets with wait_for_completion=false).
        params.arguments = {**(params.arguments or {}), "wait_for_completion": False}
        result = await call_next(ctx)
        data = _structured(result) or {}
        task_id = data.get("task_id")
        if not isinstance(task_id, str):
            return result  # refused before any task was made (nothing sent), as without tasks
        # Durable before answering: the journal row is what tasks/get finds, here or on any replica.
        try:
            row = await svc.client().journal_entry(task_id)
        except RunwayError as e:
            row = None
            log.warning("task %s made, but the journal does not answer (%s): answering with its id", task_id, e)
        if row is None:
            return result  # the task's id, as wait_for_completion=false gives it: never a task lost
        self.follow(svc, task_id)
        status = data.get("status") or "SUBMITTED"
        return {"resultType": "task", **self._base(svc, row), "status": "working",
                "statusMessage": f"Runway task {task_id}: {status}"}

    # ---- the task's state, from the journal and Runway ----

    @staticmethod
    def _base(svc: RunwayService, row: dict[str, Any]) -> dict[str, Any]:
        poll = float((svc.settings.poll or {}).get("idle_interval", 5.0))
        return {"taskId": row["task_id"], "createdAt": row["created_at"], "lastUpdatedAt": row["updated_at"],
                "ttlMs": TTL_MS, "pollIntervalMs": max(1, round(poll * 1000))}

    async def _row(self, svc: RunwayService, task_id: str) -> dict[str, Any]:
        try:
            client = svc.client()
            row = await client.journal_entry(task_id) if client.has_journal else None
        except (RunwayError, ToolError):  # not an id at all, or no key: no task of this caller's
            row = None
        if row is None or row.get("task_id") != task_id:
            raise _not_found(task_id)
        return row

    async def detailed(self, svc: RunwayService, row: dict[str, Any],
                       task: Optional[runway_core.Task] = None) -> dict[str, Any]:
        """The DetailedTask of a journaled task: as Runway shows it now (or as `task` shows it)."""
        task_id = row["task_id"]
        out = self._base(svc, row)
        if task is None:
            try:
                task = await svc.client().get_task(task_id)
            except NotFoundError:
                # Runway answers 404 for a cancelled task as for a deleted one.
                return {**out, "status": "cancelled",
                        "statusMessage": f"Runway no longer has task {task_id}: it was cancelled (or deleted)."}
            except RunwayError as e:
                raise MCPError(code=INTERNAL_ERROR, message=f"could not look at task {task_id}: {e}") from None
        if not task.is_terminal:
            pct = f" {task.progress * 100:.0f}%" if task.progress is not None and task.status == "RUNNING" else ""
            return {**out, "status": "working", "statusMessage": f"Runway task {task_id}: {task.status or 'SUBMITTED'}{pct}"}
        if task.status == "CANCELLED":
            return {**out, "status": "cancelled", "statusMessage": f"Runway task {task_id} was cancelled."}
        if task.status == "SUCCEEDED":
            # What the tool gives on completion: the outputs saved, once, by whoever holds the task.
            return {**out, "status": "completed", "statusMessage": f"Runway task {task_id} succeeded.",
                    "result": _dump(await svc.finished(task))}
        # Runway's failure is the tool's error result, as the tool gives it: not a protocol failure.
        failed = svc.respond(await svc.result(task), is_error=True)
        return {**out, "status": "completed", "statusMessage": f"Runway task {task_id} failed: {task.failure}",
                "result": _dump(failed)}

    async def state(self, svc: RunwayService, task_id: str) -> dict[str, Any]:
        """What tasks/get answers for `task_id` to `svc`'s key (and what notifications/tasks carries)."""
        return await self.detailed(svc, await self._row(svc, task_id))

    async def owns(self, svc: RunwayService, task_id: str) -> bool:
        """Whether `task_id` is a task of `svc`'s key (its journal has it)."""
        try:
            await self._row(svc, task_id)
            return True
        except MCPError:
            return False

    async def get(self, ctx: ServerRequestContext[Any, Any], params: TaskRef) -> dict[str, Any]:
        _require(ctx, params.task_id)
        return await self.state(self.service(ctx), params.task_id)

    async def update(self, ctx: ServerRequestContext[Any, Any], params: TaskRef) -> dict[str, Any]:
        _require(ctx, params.task_id)
        await self._row(self.service(ctx), params.task_id)
        return {}  # never input_required: any inputResponses answer nothing outstanding

    async def cancel(self, ctx: ServerRequestContext[Any, Any], params: TaskRef) -> dict[str, Any]:
        """Cancels Runway's task while it runs (the client's explicit request). A finished task is
        left alone: at Runway, cancelling it would delete it, and deleting asks the user first."""
        _require(ctx, params.task_id)
        svc = self.service(ctx)
        task_id = (await self._row(svc, params.task_id))["task_id"]
        client = svc.client()
        try:
            task = await client.get_task(task_id)
            # Runway's API cannot stop a workflow invocation: acknowledged, it runs to its end.
            if not task.is_terminal and task.kind == "task":
                await client.cancel_task(task_id)
                log.info("cancelled task %s (tasks/cancel)", task_id)
                await svc.events.task_changed(task_id, "CANCELLED")
        except NotFoundError:
            pass  # already gone
        except RunwayError as e:
            raise MCPError(code=INTERNAL_ERROR, message=f"could not cancel task {task_id}: {e}") from None
        return {}

    # ---- following a task to its end: outputs saved, status changes announced ----

    def follow(self, svc: RunwayService, task_id: str) -> None:
        if task_id in self.following:  # a reattached call: its task is followed here already
            return
        self.following.add(task_id)
        t = asyncio.ensure_future(self._follow(svc, task_id))
        self.followers.add(t)

        def done(_: asyncio.Task[None]) -> None:
            self.followers.discard(t)
            self.following.discard(task_id)

        t.add_done_callback(done)

    async def _follow(self, svc: RunwayService, task_id: str) -> None:
        """Like the capped wait, without a cap: the outputs are saved when the task succeeds even if
        the client never asks again (as resume does after a restart), and each change of state is
        published on the bus (events.py), which listen streams turn into notifications/tasks. Held
        by lease, so of several replicas only one follows it."""
        client = svc.client()
        try:
            async with svc.held(task_id) as mine:
                if not mine:
                    return
                await svc.finished(await client.wait_for_task(task_id, on_progress=svc.observed,
                                                              on_retry=notices.retries_of(task_id)))
        except TaskFailedError as e:
            await svc.observed(e.task)
        except NotFoundError:  # cancelled or deleted meanwhile
            await svc.events.task_changed(task_id, "CANCELLED")
        except RunwayError as e:
            log.warning("stopped following task %s: %s", task_id, e)


__all__ = ["ID", "RunwayTasks", "TaskRef", "missing_capability", "negotiated"]
