"""`resources/subscribe` and `resources/unsubscribe` on handshake-era protocol versions (2025-11-25
and before): a session names a resource (a task's `runway://task/<id>`), and every event the bus
carries about it becomes `notifications/resources/updated` on that session's own stream.

On 2026-07-28 there is no such request: `subscriptions/listen` (`KeyedListen`, in place of the SDK's
`ListenHandler`) serves the same events from the same bus, and the tasks extension's
`notifications/tasks` for the task ids a client names. Where a session has no stream of its own to write to later
(stateless HTTP), the subscription is accepted and nothing can reach it: such a client polls.

Over HTTP, where each request brings its user's key, a task is followed only by a key that can read
it: a subscription to another key's task is not honored (left out of the listen stream's
acknowledged filter; refused by resources/subscribe), so no one hears when someone else's task
changes. Other URIs are honored and never fire."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Literal, Optional, cast

import anyio
from anyio.streams.memory import MemoryObjectSendStream

from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.subscriptions import SUBSCRIPTION_ID_META_KEY, ResourceUpdated, ServerEvent, SubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.shared.subscriptions import event_matches, event_to_notification
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    INVALID_REQUEST,
    EmptyResult,
    Notification,
    ServerNotification,
    SubscribeRequestParams,
    SubscriptionFilter,
    SubscriptionsAcknowledgedNotification,
    SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)

from runway_core import RunwayError

from .auth import Refused, request_key
from .events import TASK_URI, task_uri
from .tasks_ext import RunwayTasks, missing_capability, negotiated

log = logging.getLogger("runway_mcp_server")
UPDATED = "notifications/resources/updated"
# The tasks extension's key in the listen filter (SEP-2663): the tasks to hear of by notifications/tasks.
TASK_IDS = "taskIds"


class ResourceSubscriptions:
    """Which connection follows which URIs, fed by the server's bus."""

    def __init__(self, bus: SubscriptionBus) -> None:
        # Weak: a connection that ends without unsubscribing is forgotten with it.
        self._uris: weakref.WeakKeyDictionary[Connection, set[str]] = weakref.WeakKeyDictionary()
        self._sending: set[asyncio.Task[None]] = set()
        self.stop = bus.subscribe(self._deliver)
        # The subscriptions/listen handler (2026-07-28), set by `register`.
        self.listen: Optional[KeyedListen] = None

    async def subscribe(self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
        if not await readable(ctx, str(params.uri)):
            raise MCPError(INVALID_PARAMS, f"{params.uri}: no such task for this key")
        conn = _connection(ctx)
        uris = self._uris.get(conn)
        if uris is None:
            uris = self._uris[conn] = set()
            conn.exit_stack.callback(self._uris.pop, conn, None)
        uris.add(str(params.uri))
        return EmptyResult()

    async def unsubscribe(self, ctx: ServerRequestContext[Any, Any], params: UnsubscribeRequestParams) -> EmptyResult:
        self._uris.get(_connection(ctx), set()).discard(str(params.uri))
        return EmptyResult()

    def following(self, uri: str) -> int:
        """How many connections follow `uri` (for tests and logs)."""
        return sum(uri in uris for uris in list(self._uris.values()))

    def _deliver(self, event: ServerEvent) -> None:
        # A bus listener: synchronous, on the server's event loop, must not raise.
        if not isinstance(event, ResourceUpdated):
            return
        for conn, uris in list(self._uris.items()):
            if event.uri in uris:
                # Connection.notify never raises (a stream gone is logged and dropped).
                t = asyncio.get_running_loop().create_task(conn.notify(UPDATED, {"uri": event.uri}))
                self._sending.add(t)
                t.add_done_callback(self._sending.discard)


async def readable(ctx: ServerRequestContext[Any, Any], uri: str) -> bool:
    """Whether this request's key may follow `uri`: a task's only when it can read the task (over
    HTTP; on stdio the one user is the server's). Anything else: yes (it never fires)."""
    task_id = uri[len(TASK_URI):] if uri.startswith(TASK_URI) else ""
    pool = ctx.lifespan_context
    settings = getattr(pool, "settings", None)
    if not task_id or "/" in task_id or settings is None or not settings.remote:
        return True
    try:
        svc = pool.service(request_key(getattr(ctx.request, "headers", None), settings))
        await svc.client().get_task(task_id)
        return True
    except (Refused, ToolError, RunwayError):
        return False


class TaskStatus(Notification[dict[str, Any], Literal["notifications/tasks"]]):
    """The tasks extension's notification: its params are a DetailedTask (the SDK has no type)."""

    method: Literal["notifications/tasks"] = "notifications/tasks"


class KeyedListen:
    """`subscriptions/listen`: the SDK's `ListenHandler` served anew, for two additions. The task
    URIs this request's key may not read are left out of the filter (the acknowledgement shows
    they are not honored). And the tasks extension's `taskIds` (SEP-2663): for a client that
    declared it, the key's own tasks among them are acknowledged, and each change of state the bus
    carries about one (from any replica) becomes `notifications/tasks` with what tasks/get answers
    then; first their state when the stream opens, so a change just before it is not missed.
    Nothing else rides such a stream: no progress, no log messages."""

    def __init__(self, bus: SubscriptionBus, tasks: RunwayTasks, *, max_streams: int = 1024,
                 max_buffered: int = 1024) -> None:
        self.bus, self.tasks = bus, tasks
        self.max_streams, self.max_buffered = max_streams, max_buffered
        self.streams: set[MemoryObjectSendStream[ServerEvent]] = set()
        self.closed = False

    def close(self) -> None:
        """Stopping (SIGTERM over HTTP): every open stream ends gracefully (its client listens again,
        on another replica) and new ones are refused; else they would hold the stop to its end."""
        self.closed = True
        for send in list(self.streams):
            send.close()

    async def __call__(self, ctx: ServerRequestContext[Any, Any],
                       params: SubscriptionsListenRequestParams) -> SubscriptionsListenResult:
        sid = ctx.request_id
        if sid is None:
            raise MCPError(INVALID_REQUEST, "subscriptions/listen requires a request id")
        if self.closed:
            raise MCPError(INTERNAL_ERROR, "this server is shutting down: listen again (another replica answers)")
        if len(self.streams) >= self.max_streams:
            raise MCPError(INTERNAL_ERROR, "too many open subscriptions/listen streams here: try again later")
        asked = params.notifications
        task_ids = (asked.model_extra or {}).get(TASK_IDS)
        if task_ids is not None and not negotiated(ctx):
            raise missing_capability()
        if task_ids is not None and (not isinstance(task_ids, list) or not all(isinstance(t, str) for t in task_ids)):
            raise MCPError(INVALID_PARAMS, f"notifications.{TASK_IDS} must be a list of task ids")
        uris = [u for u in asked.resource_subscriptions or [] if await readable(ctx, u)]
        followed = [t for t in dict.fromkeys(task_ids or []) if await self._owned(ctx, t)]
        honored = SubscriptionFilter.model_validate({
            "toolsListChanged": asked.tools_list_changed or None,
            "promptsListChanged": asked.prompts_list_changed or None,
            "resourcesListChanged": asked.resources_list_changed or None,
            "resourceSubscriptions": uris or None, **({TASK_IDS: followed} if followed else {})})
        honored_uris = frozenset(uris)
        by_uri = {task_uri(t): t for t in followed}
        meta: dict[str, Any] = {SUBSCRIPTION_ID_META_KEY: sid}
        send, recv = anyio.create_memory_object_stream[ServerEvent](self.max_buffered)

        def deliver(event: ServerEvent) -> None:  # a bus listener: synchronous, must not raise
            if event_matches(honored, honored_uris, event) or (isinstance(event, ResourceUpdated) and event.uri in by_uri):
                try:
                    send.send_nowait(event)
                except anyio.ClosedResourceError:
                    pass  # closed: the loop below is ending
                except anyio.WouldBlock:  # a client that stopped reading: end its stream, it listens again
                    log.warning("listen stream %r: too many events unread; ending it", sid)
                    self.streams.discard(send)
                    send.close()

        # Subscribed before the acknowledgement, so nothing published meanwhile is lost.
        stop = self.bus.subscribe(deliver)
        self.streams.add(send)
        sent: dict[str, tuple[Any, Any]] = {}  # the last state sent of each task
        try:
            await ctx.session.send_notification(SubscriptionsAcknowledgedNotification(
                params=SubscriptionsAcknowledgedNotificationParams(notifications=honored, _meta=meta)),
                related_request_id=sid)
            for t in followed:
                await self._task_state(ctx, t, sent, meta)
            async for event in recv:
                if event_matches(honored, honored_uris, event):
                    await ctx.session.send_notification(event_to_notification(event, meta), related_request_id=sid)
                if isinstance(event, ResourceUpdated) and event.uri in by_uri:
                    await self._task_state(ctx, by_uri[event.uri], sent, meta)
        finally:
            try:
                stop()
            except Exception:  # the bus is a boundary: the stream's own cleanup goes on
                log.exception("leaving the subscription bus failed")
            self.streams.discard(send)
            send.close()
            recv.close()
        return SubscriptionsListenResult(_meta=meta)

    async def _owned(self, ctx: ServerRequestContext[Any, Any], task_id: str) -> bool:
        try:
            return await self.tasks.owns(RunwayTasks.service(ctx), task_id)
        except MCPError:  # no key, or a refused one: no task of its own
            return False

    async def _task_state(self, ctx: ServerRequestContext[Any, Any], task_id: str,
                          sent: dict[str, tuple[Any, Any]], meta: dict[str, Any]) -> None:
        """Sends `task_id`'s DetailedTask unless this stream had it already (events repeat: per
        quarter of progress, when outputs are saved, from several replicas)."""
        try:
            state = await self.tasks.state(RunwayTasks.service(ctx), task_id)
        except MCPError as e:  # Runway unreachable for a moment: the next change says it again
            log.warning("could not describe task %s for a listen stream: %s", task_id, e.error.message)
            return
        seen = (state.get("status"), state.get("statusMessage"))
        if sent.get(task_id) == seen:
            return
        sent[task_id] = seen
        note = cast(ServerNotification, TaskStatus(params={**state, "_meta": meta}))
        await ctx.session.send_notification(note, related_request_id=ctx.request_id)


def _connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    # The SDK gives request handlers no public handle on the connection (sets.py reads it so too);
    # it is what lasts from request to request and holds the session's own stream.
    conn: Connection = getattr(ctx.session, "_connection")
    return conn


def register(lowlevel: Any, bus: SubscriptionBus, tasks: RunwayTasks) -> ResourceSubscriptions:
    """Serves resources/subscribe and resources/unsubscribe on `lowlevel` (the SDK's `Server`), which
    then advertises `resources.subscribe` on handshake-era versions, and subscriptions/listen in
    place of the SDK's own handler (the same, with the key's check and the tasks extension's taskIds)."""
    subs = ResourceSubscriptions(bus)
    subs.listen = KeyedListen(bus, tasks)
    lowlevel.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, subs.listen)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subs.subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, subs.unsubscribe)
    return subs
