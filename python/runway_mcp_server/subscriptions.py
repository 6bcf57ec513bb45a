"""`resources/subscribe` and `resources/unsubscribe` on handshake-era protocol versions (2025-11-25
and before): a session names a resource (a task's `runway://task/<id>`), and every event the bus
carries about it becomes `notifications/resources/updated` on that session's own stream.

On 2026-07-28 there is no such request: `subscriptions/listen` (the SDK's `ListenHandler`) serves
the same events from the same bus. Where a session has no stream of its own to write to later
(stateless HTTP), the subscription is accepted and nothing can reach it: such a client polls.

Over HTTP, where each request brings its user's key, a task is followed only by a key that can read
it: a subscription to another key's task is not honored (left out of the listen stream's
acknowledged filter; refused by resources/subscribe), so no one hears when someone else's task
changes. Other URIs are honored and never fire."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any, Optional

from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.subscriptions import ListenHandler, ResourceUpdated, ServerEvent, SubscriptionBus
from mcp.shared.exceptions import MCPError
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    EmptyResult,
    SubscribeRequestParams,
    SubscriptionsListenRequestParams,
    SubscriptionsListenResult,
    UnsubscribeRequestParams,
)

from runway_core import RunwayError

from .auth import Refused, request_key
from .events import TASK_URI

log = logging.getLogger("runway_mcp_server")
UPDATED = "notifications/resources/updated"


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


class KeyedListen:
    """`subscriptions/listen` as the SDK serves it, with the task URIs this request's key may not
    read left out of the filter first (the acknowledgement then shows they are not honored)."""

    def __init__(self, bus: SubscriptionBus) -> None:
        self.inner = ListenHandler(bus)
        self.closed = False

    def close(self) -> None:
        """Stopping (SIGTERM over HTTP): every open stream ends gracefully (its client listens again,
        on another replica) and new ones are refused; else they would hold the stop to its end."""
        self.closed = True
        self.inner.close()

    async def __call__(self, ctx: ServerRequestContext[Any, Any],
                       params: SubscriptionsListenRequestParams) -> SubscriptionsListenResult:
        if self.closed:
            raise MCPError(INTERNAL_ERROR, "this server is shutting down: listen again (another replica answers)")
        asked = params.notifications.resource_subscriptions
        if asked:
            kept = [u for u in asked if await readable(ctx, u)]
            if kept != asked:
                params = params.model_copy(update={"notifications": params.notifications.model_copy(
                    update={"resource_subscriptions": kept})})
        return await self.inner(ctx, params)


def _connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    # The SDK gives request handlers no public handle on the connection (sets.py reads it so too);
    # it is what lasts from request to request and holds the session's own stream.
    conn: Connection = getattr(ctx.session, "_connection")
    return conn


def register(lowlevel: Any, bus: SubscriptionBus) -> ResourceSubscriptions:
    """Serves resources/subscribe and resources/unsubscribe on `lowlevel` (the SDK's `Server`), which
    then advertises `resources.subscribe` on handshake-era versions, and subscriptions/listen in
    place of the SDK's own handler (the same, with the key's check)."""
    subs = ResourceSubscriptions(bus)
    subs.listen = KeyedListen(bus)
    lowlevel.add_request_handler("subscriptions/listen", SubscriptionsListenRequestParams, subs.listen)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subs.subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, subs.unsubscribe)
    return subs
