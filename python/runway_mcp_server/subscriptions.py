"""`resources/subscribe` and `resources/unsubscribe` on handshake-era protocol versions (2025-11-25
and before): a session names a resource (a task's `runway://task/<id>`), and every event the bus
carries about it becomes `notifications/resources/updated` on that session's own stream.

On 2026-07-28 there is no such request: `subscriptions/listen` (the SDK's `ListenHandler`) serves
the same events from the same bus. Where a session has no stream of its own to write to later
(stateless HTTP), the subscription is accepted and nothing can reach it: such a client polls."""

from __future__ import annotations

import asyncio
import logging
import weakref
from typing import Any

from mcp.server.connection import Connection
from mcp.server.context import ServerRequestContext
from mcp.server.subscriptions import ResourceUpdated, ServerEvent, SubscriptionBus
from mcp.types import EmptyResult, SubscribeRequestParams, UnsubscribeRequestParams

log = logging.getLogger("runway_mcp_server")
UPDATED = "notifications/resources/updated"


class ResourceSubscriptions:
    """Which connection follows which URIs, fed by the server's bus."""

    def __init__(self, bus: SubscriptionBus) -> None:
        # Weak: a connection that ends without unsubscribing is forgotten with it.
        self._uris: weakref.WeakKeyDictionary[Connection, set[str]] = weakref.WeakKeyDictionary()
        self._sending: set[asyncio.Task[None]] = set()
        self.stop = bus.subscribe(self._deliver)

    async def subscribe(self, ctx: ServerRequestContext[Any, Any], params: SubscribeRequestParams) -> EmptyResult:
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


def _connection(ctx: ServerRequestContext[Any, Any]) -> Connection:
    # The SDK gives request handlers no public handle on the connection (sets.py reads it so too);
    # it is what lasts from request to request and holds the session's own stream.
    conn: Connection = getattr(ctx.session, "_connection")
    return conn


def register(lowlevel: Any, bus: SubscriptionBus) -> ResourceSubscriptions:
    """Serves resources/subscribe and resources/unsubscribe on `lowlevel` (the SDK's `Server`), which
    then advertises `resources.subscribe` on handshake-era versions."""
    subs = ResourceSubscriptions(bus)
    lowlevel.add_request_handler("resources/subscribe", SubscribeRequestParams, subs.subscribe)
    lowlevel.add_request_handler("resources/unsubscribe", UnsubscribeRequestParams, subs.unsubscribe)
    return subs
