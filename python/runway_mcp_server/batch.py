"""Several generations in one call (`batch_generate_videos`). Items are checked before anything is
sent; each valid one becomes its own journaled task, created and awaited with at most the model's
concurrency limit (GET /v1/organization) in flight; one item's bad input or failure does not sink
the others; progress covers the whole batch. The tools module turns calls into `Item`s."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

import runway_core
from runway_core import RunwayError, TaskFailedError, TaskTimeoutError

from . import notices
from .results import TaskResult
from .service import RunwayService

log = logging.getLogger("runway_mcp_server")

MAX_ITEMS = 50
# In flight per model when /v1/organization does not give its limit: tier 1's smallest.
DEFAULT_CONCURRENCY = 1


@dataclass(frozen=True)
class Item:
    """One call of a batch: the request it makes, or why it is not sent."""

    index: int
    tool: str
    endpoint: str = ""
    model: str = ""
    body: dict[str, Any] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    force_new: bool = False
    credits: Optional[float] = None
    error: Optional[str] = None


async def concurrency(svc: RunwayService, models: set[str]) -> dict[str, int]:
    """How many tasks of each model may be in flight: its `maxConcurrentGenerations` for this key
    (null: no limit); the default when Runway cannot say."""
    try:
        org = await svc.client().organization()
    except (RunwayError, ToolError) as e:
        log.info("no per-model limits for the batch (%s); %d at a time per model", e, DEFAULT_CONCURRENCY)
        return {m: DEFAULT_CONCURRENCY for m in models}
    tier = (org.get("tier") or {}).get("models") or {}
    out = {}
    for m in models:
        lim = tier.get(m)
        n = lim.get("maxConcurrentGenerations", DEFAULT_CONCURRENCY) if isinstance(lim, dict) else DEFAULT_CONCURRENCY
        out[m] = MAX_ITEMS if n is None else max(int(n), 1)
    return out


class BatchProgress:
    """Progress notifications for the whole batch: the mean of the items' progress (a finished or
    unsent item counts as whole), with how many are done."""

    def __init__(self, ctx: Context, n: int) -> None:
        self.ctx, self.parts, self.done, self.sent = ctx, [0.0] * n, [False] * n, -1.0
        self.lock = asyncio.Lock()

    async def set(self, i: int, part: float, done: bool = False) -> None:
        async with self.lock:
            self.parts[i] = max(self.parts[i], min(part, 1.0))
            self.done[i] = self.done[i] or done
            value = 100 * sum(self.parts) / len(self.parts)
            if value <= self.sent:  # the protocol wants increasing values
                return
            self.sent = value
            message = f"batch: {sum(self.done)}/{len(self.done)} done"
            try:
                await self.ctx.report_progress(value, 100, message)
            except Exception as e:  # a client gone away must not fail the batch
                log.debug("progress notification failed: %s", e)


def _entry(item: Item, r: Optional[TaskResult] = None, error: Optional[str] = None) -> dict[str, Any]:
    out: dict[str, Any] = {"index": item.index, "tool": item.tool}
    if r is not None:
        out |= r.model_dump(exclude={"next_step", "simulated", "outputs"})
    else:
        out |= {"status": "NOT_SENT", "model": item.model or None}
    if error:
        out["error"] = error
    return out


async def run(svc: RunwayService, ctx: Context, items: list[Item], wait: bool, max_wait: Optional[float]) -> list[dict[str, Any]]:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + svc.max_wait(max_wait)
    models = {it.model for it in items if not it.error}
    limits = await concurrency(svc, models) if models else {}
    slots = {m: asyncio.Semaphore(n) for m, n in limits.items()}
    progress = BatchProgress(ctx, len(items))
    client = svc.client()

    async def one(it: Item) -> dict[str, Any]:
        if it.error:
            await progress.set(it.index, 1.0, done=True)
            return _entry(it, error=it.error)
        slot, held = slots[it.model], False
        try:
            if wait:
                try:
                    await asyncio.wait_for(slot.acquire(), max(0.0, deadline - loop.time()))
                    held = True
                except asyncio.TimeoutError:
                    pass  # out of time: send it anyway; over the limit, Runway queues it (THROTTLED)
            else:
                await slot.acquire()  # only the creates are bounded; Runway queues what is over
                held = True
            try:
                task = await svc.create(it.tool, it.endpoint, it.body, it.params, it.force_new)
            except ToolError as e:
                await progress.set(it.index, 1.0, done=True)
                return _entry(it, error=str(e))
            if not wait or not held:
                if held:
                    slot.release()
                    held = False
                status = task.status if task.reattached else "SUBMITTED"
                return _entry(it, await svc.result(task, status=status, reattached=task.reattached))

            async def seen(t: runway_core.Task) -> None:
                await progress.set(it.index, t.progress or 0.0)

            try:
                async with svc.held(task.id):
                    done = await client.wait_for_task(task.id, timeout=max(0.0, deadline - loop.time()),
                                                      on_progress=seen, on_retry=notices.retries_of(task.id))
                    r = await svc.outcome(done, task.reattached)
            except TaskTimeoutError as e:
                r = await svc.result(e.task or task, waited=e.waited, reattached=task.reattached)
                return _entry(it, r)
            except TaskFailedError as e:
                notices.failed(task.id, e.task.failure, e.task.failure_code)
                r = await svc.result(e.task, reattached=task.reattached)
            except RunwayError as e:
                return _entry(it, await svc.result(task, reattached=task.reattached), error=str(e))
            await progress.set(it.index, 1.0, done=True)
            return _entry(it, r)
        finally:
            if held:
                slot.release()

    return list(await asyncio.gather(*(one(it) for it in items)))


def summary(entries: list[dict[str, Any]]) -> str:
    lines = []
    for e in entries:
        head = f"#{e['index']} {e['tool']}" + (f" ({e['model']})" if e.get("model") else "")
        if e["status"] == "NOT_SENT":
            lines.append(f"{head}: not sent: {e.get('error')}")
            continue
        line = f"{head}: task {e['task_id']} {e['status']}"
        if e["status"] == "SUCCEEDED":
            paths = [f["path"] for f in e.get("files") or [] if f.get("path")]
            line += (f", cost {e['cost_credits']:g}" if e.get("cost_credits") is not None else "") + (
                f" -> {', '.join(paths)}" if paths else "")
        elif e["status"] == "FAILED":
            line += f": {e.get('failure') or 'no reason given'}"
        elif e.get("estimated_cost_credits") is not None:
            line += f", at most {e['estimated_cost_credits']:g} credits"
        if e.get("reattached"):
            line += " (reattached: an identical request's task)"
        if e.get("error"):
            line += f"; {e['error']}"
        lines.append(line)
    running = [e["task_id"] for e in entries if e["status"] != "NOT_SENT" and e["status"] not in runway_core.FINAL_TASK_STATES]
    if running:
        lines.append(f"Still running: call wait_for_task with each task_id ({', '.join(running)}).")
    return "\n".join(lines)
