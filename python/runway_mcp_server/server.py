"""Builds the MCP server: one RunwayService (client or simulator) for the server's lifetime."""

from __future__ import annotations

import asyncio
import difflib
import mimetypes
import time
from contextlib import asynccontextmanager, nullcontext
from typing import Any, AsyncIterator, Optional

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.lowlevel import NotificationOptions
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.lowlevel.helper_types import ReadResourceContents
from mcp.types import Tool

import runway_core

from . import apps, events, notices, pgbus, sets, subscriptions, tools
from .auth import Refused, key_id, request_key
from .pool import Pool, TooBusy
from .prompts import register_prompts
from .settings import Settings
from .tasks_ext import RunwayTasks

INSTRUCTIONS = """Make and edit images, video and audio with Runway. Generation tools spend credits
(1 credit = $0.01; a description's price range covers the models with a published price,
estimate_cost prices one call, each result carries Runway's estimate): only call them when the
user asked. Media parameters take a local path, an https URL, a data URI, a runway:// URI, or an
earlier task's id for its output (<task id>#N for output N). Durations are in seconds. Every
generation tool also takes: model, where there is a choice (list_available_models(endpoint=...)
lists them; describe_model gives one model's fields, limits, cost and an example call), options
(more fields of the model, by Runway's camelCase names), wait_for_completion (default true) and
max_wait_seconds (default 45). A task still running when the wait ends comes back with its task_id:
call wait_for_task with it. Calling a generation again with the same arguments while its task still
runs returns that task (reattached) rather than paying twice; force_new=true makes a new one.
batch_generate_videos runs several generation calls ({tool, arguments} each) in one call, within
Runway's per-model concurrency. list_tasks shows what was made, what runs, what it cost, where the
files are. Outputs are saved locally; Runway's URLs expire after 24-48 hours."""


def compact(schema: Any, inputs: bool = True) -> Any:
    """A JSON schema without what an agent does not need and pays for in every conversation:
    pydantic's titles and `additionalProperties: true` (the default); in input schemas also the
    `null` alternatives and `default: null` of optional parameters (leaving one out means the
    same) and the `type` of an enum (its values say it). Output schemas keep their nulls:
    results carry them."""
    if isinstance(schema, list):
        return [compact(x, inputs) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: compact(v, inputs) for k, v in schema.items() if k != "title" or not isinstance(v, str)}
    if "properties" in schema:  # names of properties are data, not titles
        out["properties"] = {k: compact(v, inputs) for k, v in schema["properties"].items()}
    alts = out.get("anyOf")
    if inputs and isinstance(alts, list):
        rest = [a for a in alts if a != {"type": "null"}]
        if len(rest) == 1 and len(rest) < len(alts):
            del out["anyOf"]
            out = {**rest[0], **out}
        elif rest and len(rest) < len(alts):
            out["anyOf"] = rest
    if inputs and ("enum" in out or "const" in out):
        out.pop("type", None)  # the listed values say it
    if inputs and out.get("default", 0) is None:
        del out["default"]
    if out.get("additionalProperties") is True:
        del out["additionalProperties"]
    return out


def unknown_tool(name: str, tools: list[str]) -> str:
    """The refusal of a call to a tool the server does not have, naming the closest ones."""
    close = difflib.get_close_matches(name, tools, n=3, cutoff=0.5)
    if close:
        return f"Unknown tool: {name}. Did you mean {' or '.join(close)}?"
    return f"Unknown tool: {name}. This server's tools: {', '.join(sorted(tools))}"


def _request_of(context: Any) -> Optional[ServerRequestContext[Any, Any]]:
    try:
        return context.request_context if context is not None else None
    except ValueError:  # a Context made outside a request
        return None


class RunwayMCP(MCPServer):
    _params: Optional[dict[str, set[str]]] = None
    settings_: Settings = Settings()
    pool: Optional[Pool] = None
    # Set on SIGTERM over HTTP: no new tool calls (those in flight finish).
    draining = False
    # Which set each tool is in (tools/toolsets.py), the sets the server started with, and those
    # turned on where the process is the session (stdio on the 2026 protocol; sets.memory).
    table: sets.Table = sets.TABLE
    toolsets_started: frozenset[str] = frozenset((sets.DEFAULT,))
    _toolsets_process: set[str]
    _offered: Optional[dict[str, list[str]]] = None
    # Task changes, published on the subscription bus (events.py); handshake-era subscriptions.
    task_events: events.TaskEvents
    resource_subscriptions: subscriptions.ResourceSubscriptions
    # The tasks extension (SEP-2663): tasks/get, tasks/cancel; its task states ride listen streams.
    tasks: RunwayTasks
    _ui_tools: frozenset[str] = frozenset()

    async def offered(self) -> dict[str, list[str]]:
        """Set -> its tools on this server, in the table's order; sets without a tool left out."""
        if self._offered is None:
            names = [t.name for t in await super().list_tools() if t.name not in apps.APP_TOOL_NAMES]
            found = {s: [n for n in names if self.table.set_of(n) == s] for s in self.table.sets}
            self._offered = {s: t for s, t in found.items() if t}
        return self._offered

    def enabled_sets(self, rc: Optional[ServerRequestContext[Any, Any]]) -> frozenset[str]:
        return sets.enabled(self.table, self.toolsets_started, rc, self._toolsets_process)

    async def filter_tools(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """Middleware: tools/list gives the tools of the sets this request sees (and the studio's
        for a client with MCP Apps: `apps`); resources/list the studio only to such a client."""
        result = await call_next(ctx)  # the wire form: a dict
        if ctx.method == "tools/list" and isinstance(result, dict) and isinstance(result.get("tools"), list):
            on = self.enabled_sets(ctx)
            result["tools"] = apps.listed(ctx, [t for t in result["tools"] if self.table.set_of(t.get("name", "")) in on],
                                          await self.ui_tools(), self.settings_.apps)
        elif ctx.method == "resources/list" and isinstance(result, dict) and isinstance(result.get("resources"), list):
            result["resources"] = apps.resources_listed(ctx, result["resources"], self.settings_.apps)
        return result

    async def ui_tools(self) -> frozenset[str]:
        """The tools whose results the studio shows: a task's or the journal's tasks."""
        if not self._ui_tools:
            self._ui_tools = frozenset(t.name for t in await super().list_tools()
                                       if (t.output_schema or {}).get("title") in apps.UI_RESULTS)
        return self._ui_tools

    async def ready(self) -> Optional[str]:
        """Why this replica cannot take calls (for /readyz), or None: started, journal reachable."""
        if self.pool is None:
            return "starting"
        return await self.pool.journal_problem()

    async def read_resource(self, uri: Any, context: Any = None) -> Any:
        contents = await super().read_resource(uri, context)
        if str(uri).startswith("runway://task/") and "/output/" in str(uri) and isinstance(contents, list):
            # One template serves every kind of output: the type comes from the name's extension.
            mime = mimetypes.guess_type(str(uri))[0] or "application/octet-stream"
            contents = [ReadResourceContents(content=c.content, mime_type=mime, meta=c.meta) for c in contents]
        return contents

    async def call_tool(self, name: str, arguments: dict[str, Any], context: Any = None) -> Any:
        # The SDK drops arguments a tool does not declare. Refuse them instead: an agent that
        # passes a model field as a parameter (audio=false) must not get a task made without it.
        if self._params is None:
            self._params = {t.name: set(t.input_schema.get("properties", {})) for t in await super().list_tools()}
        rc = _request_of(context)
        known = self._params.get(name) if name not in apps.APP_TOOL_NAMES or apps.supported(rc, self.settings_.apps) else None
        if self.draining:
            raise ToolError("this server is shutting down and takes no new calls: call again (another replica "
                            "answers; a task already started is in the journal, see list_tasks)")
        if known is None:
            # The SDK's refusal says only "Unknown tool: X"; an agent that misspelt a name needs the right one.
            raise ToolError(unknown_tool(name, [n for n in self._params if n not in apps.APP_TOOL_NAMES]))
        where = self.table.set_of(name)
        if where not in self.enabled_sets(rc):
            raise ToolError(f"{name} is in the {where} toolset, which is not on here; to turn it on, "
                            f"{sets.how_to_enable(where, rc, self.enabled_sets(rc))}")
        unknown = sorted(set(arguments) - known)
        if unknown:
            raise ToolError(f"{', '.join(unknown)}: not parameters of {name} ({', '.join(sorted(known))}); "
                            "a model's other fields go in options, by Runway's names (describe_model)")
        if not self.settings_.remote:
            return await super().call_tool(name, arguments, context)
        started, result, error = time.monotonic(), None, None
        headers = getattr(context, "headers", None) if context is not None else None
        try:
            request = request_key(headers, self.settings_)
            key = key_id(request)
        except Refused:
            request, key = None, "refused"  # the tool's own call refuses it, with the reason
        try:
            with self.pool.call_slot(request) if self.pool is not None else nullcontext():
                result = await super().call_tool(name, arguments, context)
            return result
        except TooBusy as e:
            error = type(e).__name__
            raise ToolError(str(e)) from None
        except Exception as e:
            error = type(e).__name__
            raise
        finally:
            from . import remote  # only over HTTP: the stdio path does without it

            data = getattr(result, "structured_content", None) or {}
            remote.log_line(tool=name, key=key, task_id=data.get("task_id"), status=data.get("status"),
                            is_error=bool(getattr(result, "is_error", error is not None)), error=error,
                            ms=round((time.monotonic() - started) * 1000, 1))

    async def list_tools(self) -> list[Tool]:
        tools = await super().list_tools()
        for t in tools:
            t.input_schema = compact(t.input_schema)
            if t.output_schema is not None:
                t.output_schema = compact(t.output_schema, inputs=False)
        return tools


def build(settings: Settings, table: Optional[sets.Table] = None) -> MCPServer:
    """The server; `table` says which set each tool is in (default: tools/toolsets.py)."""
    # Task events reach listen streams and subscribed sessions through this bus; between replicas
    # sharing a PostgreSQL journal, through the database (LISTEN/NOTIFY).
    bus = pgbus.bus_for(settings.journal)

    @asynccontextmanager
    async def lifespan(_: MCPServer) -> AsyncIterator[Pool]:
        await pgbus.start(bus)
        pool = Pool(settings, mcp.task_events)
        mcp.pool = pool
        resuming = asyncio.ensure_future(pool.default.resume())
        try:
            yield pool
        finally:
            mcp.pool = None
            resuming.cancel()
            tasks_ext.close()
            await pool.release_leases()
            pool.close()
            await pgbus.stop(bus)

    tasks_ext = RunwayTasks()  # generation calls answered with a task, for clients that take one
    mcp = RunwayMCP("runway", version=runway_core.__version__, instructions=INSTRUCTIONS, lifespan=lifespan,
                    tools=tools.build(),
                    extensions=[tasks_ext, *([apps.extension()] if settings.apps != "off" else [])],
                    subscriptions=bus)
    mcp.task_events = events.TaskEvents(bus)
    tasks_ext.bind(mcp.list_tools)
    mcp.tasks = tasks_ext
    mcp.settings_ = settings
    mcp.middleware.append(mcp.filter_tools)
    mcp.table = table or sets.TABLE
    mcp.toolsets_started = mcp.table.parse(",".join(settings.toolsets), "RUNWAY_MCP_TOOLSETS")
    mcp._toolsets_process = set()
    # The tools a session sees change (the toolsets tool): say so at initialize (tools.listChanged).
    lowlevel = mcp._lowlevel_server  # the SDK takes notification options only from its caller
    init_options = lowlevel.create_initialization_options
    lowlevel.create_initialization_options = (  # type: ignore[method-assign]
        lambda notification_options=None, *a, **k: init_options(
            notification_options or NotificationOptions(tools_changed=True), *a, **k))
    tools.register_resources(mcp)
    mcp.resource_subscriptions = subscriptions.register(lowlevel, bus, tasks_ext)
    register_prompts(mcp)
    notices.install(mcp)
    return mcp
