"""MCP progress notifications while a task runs, each naming the task id."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Optional

from mcp.server.mcpserver import Context

import runway_core

log = logging.getLogger("runway_mcp_server")


class Progress:
    """Sends MCP progress notifications (0-100) while a task runs: on every new snapshot, and as a
    heartbeat every few seconds in between, estimated from the progress rate. Each message names
    the task id, so a person watching a client that gives up still learns it. A no-op when the
    client sent no progressToken."""

    def __init__(self, ctx: Context, task_id: str, interval: float) -> None:
        self.ctx, self.task_id, self.interval = ctx, task_id, interval
        self.sent = -1.0
        self.status = "SUBMITTED"
        self.progress: Optional[float] = None
        self.seen_at = self.started = time.monotonic()
        self.rate: Optional[float] = None  # progress per second
        self.lock = asyncio.Lock()
        self.beat: Optional[asyncio.Task[None]] = None

    async def __aenter__(self) -> "Progress":
        await self.send()
        self.beat = asyncio.ensure_future(self._beat())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.beat:
            self.beat.cancel()

    async def update(self, task: runway_core.Task) -> None:
        now = time.monotonic()
        if task.progress is not None and now > self.seen_at and task.progress > (self.progress or 0.0):
            # From the last snapshot; for the first one, from when the wait began.
            since = self.seen_at if self.progress is not None else self.started
            self.rate = (task.progress - (self.progress or 0.0)) / max(now - since, 1e-3)
        self.status, self.progress, self.seen_at = task.status or self.status, task.progress, now
        await self.send()

    def estimate(self) -> float:
        if self.status == "SUCCEEDED":
            return 100.0
        if self.progress is None:
            return 0.0
        p = self.progress + (self.rate or 0.0) * (time.monotonic() - self.seen_at)
        return min(p, 0.99) * 100

    async def send(self) -> None:
        async with self.lock:
            # The protocol wants strictly increasing values; a stalled task creeps by 0.01.
            value = max(self.estimate(), self.sent + 0.01)
            self.sent = value
            pct = ""
            if self.progress is not None and self.status == "RUNNING":
                # The value runs ahead of Runway's last figure (extrapolated); say both, not two numbers unexplained.
                reported = self.progress * 100
                pct = f" {reported:.0f}%" if round(value) == round(reported) else f" ~{value:.0f}% (Runway's last: {reported:.0f}%)"
            message = f"Runway task {self.task_id}: {self.status}{pct}"
            try:
                await self.ctx.report_progress(value, 100, message)
            except Exception as e:  # a client gone away must not fail the wait
                log.debug("progress notification failed: %s", e)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            await self.send()
