"""The subscription bus between replicas: PostgreSQL's LISTEN/NOTIFY on the journal's database (no
other service). Each replica delivers its own events to its own listen streams at once, and sends
them to the others with NOTIFY; what the others send arrives by LISTEN (the core's `PgChannel`,
which reconnects and listens again by itself when the connection drops). A payload names the event
and the URI only (NOTIFY takes under 8000 bytes; nothing secret, no outputs). Events sent while a
replica's connection was down are not replayed to it, as the SDK's buses never replay: a client
that missed one reads the task when it looks again."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from typing import Callable, Optional, Union

from mcp.server.subscriptions import (
    InMemorySubscriptionBus,
    PromptsListChanged,
    ResourcesListChanged,
    ResourceUpdated,
    ServerEvent,
    SubscriptionBus,
    ToolsListChanged,
)

import runway_core
from runway_core import RunwayError

log = logging.getLogger("runway_mcp_server")

CHANNEL = "runway_mcp_events"
OUTBOX = 1024
_KINDS: dict[str, ServerEvent] = {"tools": ToolsListChanged(), "prompts": PromptsListChanged(),
                                  "resources": ResourcesListChanged()}


def encode(event: ServerEvent, origin: str) -> Optional[str]:
    """The payload of an event; None for a kind this version does not send between replicas."""
    if isinstance(event, ResourceUpdated):
        return json.dumps({"o": origin, "uri": event.uri}, separators=(",", ":"))
    kind = next((k for k, v in _KINDS.items() if v == event), None)
    return None if kind is None else json.dumps({"o": origin, "list": kind}, separators=(",", ":"))


def decode(payload: str) -> tuple[Optional[str], Optional[ServerEvent]]:
    """(origin, event) of a payload; (None, None) for one this version does not read."""
    try:
        data = json.loads(payload)
    except ValueError:
        return None, None
    if not isinstance(data, dict):
        return None, None
    origin = data.get("o") if isinstance(data.get("o"), str) else None
    if isinstance(data.get("uri"), str):
        return origin, ResourceUpdated(uri=data["uri"])
    return origin, _KINDS.get(str(data.get("list")))


class PgSubscriptionBus:
    """A `SubscriptionBus` whose events also reach every other replica on the same database."""

    def __init__(self, url: str, channel: str = CHANNEL) -> None:
        self._local = InMemorySubscriptionBus()
        self._channel = runway_core.PgChannel(url, channel)  # connects when first used
        self._origin = uuid.uuid4().hex  # this replica: its own events come back by LISTEN and are skipped
        self._pump: Optional[asyncio.Task[None]] = None
        # Sent in order by one task, so that a slow or absent database never holds up the work that
        # publishes (a wait's progress); beyond OUTBOX events waiting, new ones are dropped.
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=OUTBOX)
        self._sender: Optional[asyncio.Task[None]] = None

    async def start(self) -> None:
        """Listens (returns once the database takes the LISTEN; a database away at start is
        logged and retried in the background, the replica serves meanwhile)."""
        try:
            await self._channel.listen()
        except RunwayError as e:
            log.warning("subscription events from other replicas: not listening yet (%s); retrying", e)
        self._pump = asyncio.ensure_future(self._receive())
        self._sender = asyncio.ensure_future(self._send())

    async def stop(self) -> None:
        for t in (self._pump, self._sender):
            if t is not None:
                t.cancel()
        self._channel.close()

    async def publish(self, event: ServerEvent) -> None:
        await self._local.publish(event)
        payload = encode(event, self._origin)
        if payload is None:
            return
        try:
            self._outbox.put_nowait(payload)
        except asyncio.QueueFull:
            log.warning("an event was not sent to the other replicas: %d are waiting for the database", OUTBOX)

    async def _send(self) -> None:
        while True:
            payload = await self._outbox.get()
            try:
                await self._channel.notify(payload)
            except RunwayError as e:
                log.warning("an event did not reach the other replicas: %s", e)

    def subscribe(self, listener: Callable[[ServerEvent], None]) -> Callable[[], None]:
        return self._local.subscribe(listener)

    async def _receive(self) -> None:
        while True:
            try:
                async for payload in self._channel:
                    origin, event = decode(payload)
                    if event is not None and origin != self._origin:
                        await self._local.publish(event)
                return  # closed
            except RunwayError as e:
                log.warning("subscription events from other replicas: %s; listening again", e)
                await asyncio.sleep(1.0)


Bus = Union[InMemorySubscriptionBus, PgSubscriptionBus]


def bus_for(journal: Optional[str]) -> Bus:
    """The bus for a server with this journal: PostgreSQL's when the journal is there (replicas
    share it), else one in this process."""
    if journal and journal.strip().lower().startswith(("postgresql://", "postgres://")):
        return PgSubscriptionBus(journal)
    return InMemorySubscriptionBus()


async def start(bus: SubscriptionBus) -> None:
    if isinstance(bus, PgSubscriptionBus):
        await bus.start()


async def stop(bus: SubscriptionBus) -> None:
    if isinstance(bus, PgSubscriptionBus):
        await bus.stop()
