"""One RunwayService per API key, bounded, with a per-key limit on calls in flight."""

from __future__ import annotations

import asyncio
import dataclasses
import hmac
import time
from collections import OrderedDict
from contextlib import contextmanager
from typing import Iterator, Optional, cast

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

import runway_core
from runway_core import RunwayError

from .auth import Refused, pool_key, request_key
from .events import TaskEvents
from .service import RunwayService
from .settings import Settings


class TooBusy(Exception):
    """A key already has as many calls in flight as the server allows one key."""


class Pool:
    """One RunwayService per API key, so one user's client, tasks, uploads and files never reach
    another's: the server's own key (stdio) and, over HTTP, each key requests bring. Bounded: the
    least recently used beyond MAX_KEYS, and any unused for IDLE_SECONDS, are dropped (a dropped
    service's client closes when its last call ends)."""

    MAX_KEYS = 256
    IDLE_SECONDS = 1800.0

    def __init__(self, settings: Settings, events: Optional[TaskEvents] = None) -> None:
        self.settings = settings
        # Every key's service publishes its tasks' changes on the server's bus.
        self.events = events or TaskEvents()
        self.sim = (runway_core.Simulator(task_seconds=settings.sim_task_seconds, open_accounts=settings.remote)
                    if settings.simulate else None)
        self.default = RunwayService(settings, self.sim, self.events)
        self.keyed: OrderedDict[str, RunwayService] = OrderedDict()
        self.last_used: dict[str, float] = {}
        self.resuming: set[asyncio.Task[None]] = set()
        self._probe: Optional[runway_core.Client] = None
        # Tool calls in flight per key (pool_key; None: the server's key), for the per-key limit.
        self.calls: dict[Optional[str], int] = {}

    @contextmanager
    def call_slot(self, key: Optional[str]) -> Iterator[None]:
        """One of the key's RUNWAY_MCP_MAX_CALLS_PER_KEY places for a call while inside; raises
        TooBusy when none is free, so one user cannot hold the server's memory and sockets."""
        limit = self.settings.max_calls_per_key
        slot = None if key is None else pool_key(key)
        if limit and self.calls.get(slot, 0) >= limit:
            raise TooBusy(f"too many calls at once for this key: {limit} are in flight, the most this server takes "
                          "from one key (RUNWAY_MCP_MAX_CALLS_PER_KEY). Nothing was sent. Call again when one has "
                          "returned; a task that is still running can be followed with wait_for_task later.")
        self.calls[slot] = self.calls.get(slot, 0) + 1
        try:
            yield
        finally:
            left = self.calls[slot] - 1
            if left:
                self.calls[slot] = left
            else:
                del self.calls[slot]

    def service(self, key: Optional[str]) -> RunwayService:
        if key is None:
            if self.settings.remote and self.settings.require_key:
                raise ToolError("this server needs your Runway key: Authorization: Bearer <key>")
            return self.default
        kid = pool_key(key)
        now = time.monotonic()
        while self.keyed:  # oldest first: drop the idle ones
            oldest = next(iter(self.keyed))
            if now - self.last_used[oldest] < self.IDLE_SECONDS:
                break
            del self.keyed[oldest], self.last_used[oldest]
        svc = self.keyed.pop(kid, None)
        if svc is not None and not hmac.compare_digest((svc.settings.api_key or "").encode(), key.encode()):
            svc = None  # not this key's (cannot happen with a 256-bit HMAC; cheap to be sure)
        if svc is None:
            svc = RunwayService(dataclasses.replace(self.settings, api_key=key), self.sim, self.events)
            # This key's unfinished tasks from before a restart are followed from its first call.
            try:
                t = asyncio.get_running_loop().create_task(svc.resume())
                self.resuming.add(t)
                t.add_done_callback(self.resuming.discard)
            except RuntimeError:
                pass  # no event loop (a script or a test using the pool directly)
        self.keyed[kid] = svc
        self.last_used[kid] = now
        while len(self.keyed) > self.MAX_KEYS:
            del self.last_used[self.keyed.popitem(last=False)[0]]
        return svc

    def for_context(self, ctx: Context) -> RunwayService:
        try:
            return self.service(request_key(ctx.headers, self.settings))
        except Refused as e:
            raise ToolError(str(e)) from None

    async def journal_problem(self) -> Optional[str]:
        """None when the journal answers (or there is none); else what is wrong. For /readyz."""
        if not self.settings.journal:
            return None
        try:
            if self._probe is None:
                # A key of its own: it reads nothing of anyone's, only that the journal answers.
                self._probe = runway_core.Client("key_readiness_probe", self.default.base_url, journal=self.settings.journal)
            await self._probe.list_tasks(limit=1)
            return None
        except RunwayError as e:
            return f"journal: {e}"

    async def release_leases(self) -> None:
        for svc in [self.default, *self.keyed.values()]:
            await svc.release_leases()

    def close(self) -> None:
        if self._probe is not None:
            self._probe.close()
        for t in self.resuming:
            t.cancel()
        for svc in self.keyed.values():
            svc.close()
        self.default.close()
        if self.sim:
            self.sim.close()


def svc_of(ctx: Context) -> RunwayService:
    """The service of the request's key."""
    return cast(Pool, ctx.request_context.lifespan_context).for_context(ctx)
