"""What the tools stand on: the Runway client (or the built-in simulator), submitting with local
validation, and waiting under a cap with progress notifications (`progress`), for one API key
(`pool` holds one per key; `auth` says whose key a request brings). The tools stay a few lines each."""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections import OrderedDict
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Optional

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult

import runway_core
from runway_core import RunwayError, TaskFailedError, TaskTimeoutError, ValidationError

from . import catalogue as cat
from . import notices
from .events import TaskEvents
from .progress import Progress
from .results import OutputFile, TaskResult, task_result, to_call_result
from .settings import MAX_WAIT_LIMIT, Settings

log = logging.getLogger("runway_mcp_server")


def name_params(msg: str, params: dict[str, str]) -> str:
    """An error about Runway's fields, also naming the tool parameters that set them."""
    named = [f"{f} is the tool parameter {p}" for f, p in params.items() if f != p and f in msg]
    return msg + (f" ({'; '.join(named)})" if named else "")


class RunwayService:
    """Everything the tools do for one API key. `sim`: a simulator shared with other keys'
    services (else one of its own in simulate mode, closed with it)."""

    def __init__(self, settings: Settings, sim: Optional[runway_core.Simulator] = None,
                 events: Optional[TaskEvents] = None) -> None:
        self.settings = settings
        # Where a task's changes are announced (subscriptions); a no-op without a server's bus.
        self.events = events or TaskEvents()
        self.sim = sim
        self._owns_sim = sim is None and settings.simulate
        if self._owns_sim:
            self.sim = runway_core.Simulator(task_seconds=settings.sim_task_seconds)
        self._client: Optional[runway_core.Client] = None
        # task id -> (model, estimated cost, tool) for tasks made here: Runway's task JSON has none of them.
        self.known: OrderedDict[str, tuple[Optional[str], Optional[float], str]] = OrderedDict()
        # Tasks this process created (bounded like `known`).
        self.created_here: OrderedDict[str, None] = OrderedDict()
        # task id -> files saved for it, so a task is downloaded once.
        self.saved: OrderedDict[str, list[OutputFile]] = OrderedDict()
        # Tasks whose journal lease this service holds now, and when leases were taken at create.
        self.holding: set[str] = set()
        self.leased: OrderedDict[str, float] = OrderedDict()
        # Renews every lease in `holding` with one journal write, while there are any.
        self._renewer: Optional[asyncio.Future[None]] = None

    @property
    def simulated(self) -> bool:
        return self.sim is not None

    @property
    def base_url(self) -> str:
        if self.sim:
            return self.sim.base_url
        return (self.settings.base_url or os.environ.get("RUNWAYML_BASE_URL") or runway_core.DEFAULT_BASE_URL).rstrip("/")

    def key_is_set(self) -> bool:
        # The core's own resolution decides; building a client sends nothing.
        try:
            self.client()
            return True
        except ToolError:
            return False

    def client(self) -> runway_core.Client:
        if self._client is None:
            try:
                dirs = list(self.settings.input_dirs) if self.settings.input_dirs is not None else None
                poll = dict(self.settings.poll) if self.settings.poll is not None else None
                journal = self.settings.journal
                if self.sim:
                    # A request's own key is its own account on the simulator (open accounts).
                    key = self.settings.api_key or self.sim.api_key
                    self._client = runway_core.Client(key, self.sim.base_url, input_dirs=dirs, poll=poll, journal=journal)
                else:
                    self._client = runway_core.Client(self.settings.api_key, self.settings.base_url, input_dirs=dirs,
                                                      poll=poll, journal=journal)
            except RunwayError as e:
                raise ToolError(f"{e}. Or start the server with --simulate to try it without a key.") from None
        return self._client

    def close(self) -> None:
        if self._client:
            self._client.close()
        if self.sim and self._owns_sim:
            self.sim.close()

    def remember(self, task_id: str, model: Optional[str], estimated: Optional[float], tool: str) -> None:
        self.known[task_id] = (model, estimated, tool)
        while len(self.known) > 10_000:
            self.known.popitem(last=False)

    async def recall(self, task_id: str) -> tuple[Optional[str], Optional[float], str]:
        """(model, estimated cost, tool) of a task: Runway's task JSON has none of them. From this
        process's memory, else from the journal (a task made before a restart)."""
        if task_id in self.known:
            return self.known[task_id]
        client = self.client()
        if client.has_journal:
            row = await client.journal_entry(task_id)
            if row is not None:
                self.remember(task_id, row["model"], row["estimated_cost"], row["tool"])
                return self.known[task_id]
        return None, None, "runway"

    async def result(self, task: runway_core.Task, **kw: Any) -> TaskResult:
        model, estimated, _ = await self.recall(task.id)
        r = task_result(task, model=model, estimated=estimated, simulated=self.simulated, **kw)
        await self.events.task_changed(task.id, r.status, progress=task.progress)  # every state it reports
        return r

    async def observed(self, task: runway_core.Task) -> None:
        """A snapshot seen while following a task (a poll): announced when its state is new."""
        await self.events.task_changed(task.id, task.status, progress=task.progress)

    async def saved_files(self, task_id: str) -> Optional[list[OutputFile]]:
        """Files already saved for a task, by this process or (per the journal) an earlier one."""
        if task_id in self.saved:
            return self.saved[task_id]
        client = self.client()
        # A task this process created and has not saved: the journal has nothing more to say.
        if client.has_journal and task_id not in self.created_here:
            row = await client.journal_entry(task_id)
            files = [OutputFile(**{k: f.get(k) for k in ("url", "path", "mime_type", "bytes")})
                     for f in (row or {}).get("files") or []]
            if files and all(f.path and os.path.exists(f.path) for f in files):
                self.saved[task_id] = files
                return files
        return None

    def respond(self, r: TaskResult, is_error: bool = False) -> CallToolResult:
        # Over HTTP the client is elsewhere: each output is also a runway:// resource it can read.
        return to_call_result(r, is_error, self.settings.inline_image_max, output_links=self.settings.remote)

    async def finished(self, task: runway_core.Task, reattached: bool = False) -> CallToolResult:
        """A succeeded task's result, its outputs saved locally (once per task)."""
        return self.respond(await self.outcome(task, reattached))

    async def outcome(self, task: runway_core.Task, reattached: bool = False) -> TaskResult:
        """A succeeded task's result (as data), its outputs saved locally (once per task) unless
        saving is off (RUNWAY_MCP_SAVE_OUTPUTS=0, the default over HTTP)."""
        r = await self.result(task, reattached=reattached)
        if not self.settings.save_outputs:
            return r
        if await self.saved_files(task.id) is None:
            async with self.held(task.id) as mine:
                if mine:
                    await self._save(task, r)
                else:  # another process or replica has it: wait for its files, or for its lease to lapse
                    await self._save_when_free(task, r)
        saved = await self.saved_files(task.id) or []
        # The task's URLs are the fresh ones; the files are what was saved.
        r.files = [OutputFile(url=u, path=f.path, mime_type=f.mime_type, bytes=f.bytes) for u, f in zip(task.output, saved)]
        return r

    # Short, renewed while working: a process that dies holds a task for at most this long.
    LEASE_SECONDS = runway_core.LEASE_SECONDS

    @asynccontextmanager
    async def held(self, task_id: str) -> AsyncIterator[bool]:
        """This process's lease on a journaled task while inside (renewed in the background), so
        that of several processes or replicas sharing the journal only one follows the task or
        saves its outputs. Yields False when another holds it. Without a journal: always True."""
        client = self.client()
        if not client.has_journal or task_id in self.holding:
            yield True
            return
        taken = self.leased.pop(task_id, None)
        try:
            # Taken at create moments ago: still ours, no write needed.
            fresh = taken is not None and time.monotonic() - taken < self.LEASE_SECONDS / 3
            got = fresh or await client.lease_task(task_id, self.LEASE_SECONDS)
        except RunwayError as e:
            log.warning("could not take the lease on task %s (%s); going on without it", task_id, e)
            got = True
        if not got:
            yield False
            return
        self.holding.add(task_id)
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.ensure_future(self._renew(client))
        try:
            yield True
        finally:
            self.holding.discard(task_id)
            # Not released: it runs out by itself, and by then the journal shows the task finished
            # and its files saved, which is what another process checks first (one write saved).

    async def _renew(self, client: runway_core.Client) -> None:
        """Renews the leases of every task held here, all in one journal write, well within their
        length, until none is held: 300 tasks waiting cost one write every 10 s, not 300."""
        while self.holding:
            await asyncio.sleep(self.LEASE_SECONDS / 3)
            if self.holding:
                try:
                    await client.lease_tasks(list(self.holding), self.LEASE_SECONDS)
                except RunwayError as e:
                    log.warning("could not renew the leases of %d tasks (%s)", len(self.holding), e)

    async def release_leases(self) -> None:
        """On a clean stop: another process may take this one's tasks at once, not after the lease."""
        if self._client is None or not self._client.has_journal:
            return
        if self._renewer is not None:
            self._renewer.cancel()
        try:
            await self._client.lease_tasks(list(self.holding) + list(self.leased), 0)
        except RunwayError:
            pass  # they lapse by themselves
        self.leased.clear()

    async def _save_when_free(self, task: runway_core.Task, r: TaskResult) -> None:
        deadline = time.monotonic() + self.LEASE_SECONDS + 10
        while time.monotonic() < deadline:
            await asyncio.sleep(0.5)
            if await self.saved_files(task.id) is not None:
                return
            if await self.client().lease_task(task.id, self.LEASE_SECONDS):  # the holder is gone
                await self._save(task, r)
                return
        r.download_error = ("another server process is saving these outputs; call get_task_status again shortly "
                            "for their paths")

    async def _save(self, task: runway_core.Task, r: TaskResult) -> None:
        prefix = (await self.recall(task.id))[2]
        try:
            files = await self.client().save_outputs(task, self.settings.output_dir, prefix)
            self.saved[task.id] = [OutputFile(**f) for f in files]
            notices.saved(task.id, [f.path for f in self.saved[task.id] if f.path])
            while len(self.saved) > 10_000:
                self.saved.popitem(last=False)
            await self.events.task_changed(task.id, task.status, saved=True)
        except RunwayError as e:
            r.download_error = str(e)
            notices.not_saved(task.id, str(e))

    async def resume(self, limit: int = 200) -> None:
        """Picks up where an earlier run of the server (or another server on this key) left off:
        each journaled task that was still running is followed to its end, and every finished
        task's outputs are saved before Runway's links expire. Bounded, in the background, for
        the key in use only."""
        try:
            client = self.client()
        except ToolError:
            return  # no key: nothing of ours to resume
        if not client.has_journal:
            return
        try:
            rows = await client.unfinished_tasks(limit)
        except RunwayError as e:
            log.warning("could not read the task journal to resume tasks: %s", e)
            return
        if rows:
            log.info("resuming %d journaled task(s)", len(rows))
        looks = asyncio.Semaphore(8)

        async def follow(row: dict[str, Any]) -> None:
            task_id = row["task_id"]
            self.remember(task_id, row["model"], row["estimated_cost"], row["tool"])
            try:
                deadline = time.monotonic() + self.LEASE_SECONDS + 10
                while True:  # another process or replica follows it, unless its lease lapses
                    async with self.held(task_id) as mine:
                        if mine:
                            break
                    if time.monotonic() > deadline:
                        return
                    await asyncio.sleep(self.LEASE_SECONDS / 3)
                    now = await client.journal_entry(task_id)
                    if now is None or (now["status"] in runway_core.FINAL_TASK_STATES and
                                       (now["files"] or not self.settings.save_outputs or now["status"] != "SUCCEEDED")):
                        return  # the other one finished it
                async with self.held(task_id):
                    async with looks:
                        task = await client.get_task(task_id)
                    await self.observed(task)
                    if not task.is_terminal:
                        task = await client.wait_for_task(task_id, on_progress=self.observed,
                                                          on_retry=notices.retries_of(task_id))
                    if task.status == "SUCCEEDED":
                        await self.finished(task)
            except TaskFailedError as e:
                await self.observed(e.task)  # the journal has the failure already (get_task recorded it)
            except RunwayError as e:
                log.warning("could not resume task %s: %s", task_id, e)

        await asyncio.gather(*(follow(r) for r in rows))

    def max_wait(self, requested: Optional[float]) -> float:
        wait = self.settings.max_wait if requested is None else requested
        return max(0.0, min(float(wait), MAX_WAIT_LIMIT))

    async def in_flight(self, endpoint: str, body: dict[str, Any]) -> bool:
        """Whether `create` of this body would reattach: an identical request's task still runs."""
        return await self.client().in_flight(endpoint, sent(body)) is not None

    async def may_have_created(self, endpoint: str, body: dict[str, Any]) -> Optional[str]:
        """Why `create` of this body would be refused as possibly paid already, or None."""
        return await self.client().may_have_created(endpoint, sent(body))

    async def create(self, tool: str, endpoint: str, body: dict[str, Any], params: Optional[dict[str, str]] = None,
                     force_new: bool = False, reattach_only: bool = False) -> runway_core.Task:
        """Checks the body locally (nothing is sent if it is wrong) and creates the task (or returns
        an identical request's running task, `reattached`; with `reattach_only`, only that). `params`
        maps Runway field names to the tool parameters that filled them, so an error about a field
        also names the parameter the agent used."""
        body = sent(body)
        try:
            task = await self.client().create_task(endpoint, body, tool=tool, force_new=force_new,
                                                   reattach_only=reattach_only)
        except ValidationError as e:
            raise ToolError(name_params(str(e), params or {})) from None
        except RunwayError as e:
            raise ToolError(str(e)) from None
        # A router names the model it chose; a recipe's model is its endpoint's.
        chosen = (task.raw.get("routing") or {}).get("model") if isinstance(task.raw, dict) else None
        self.track(task, tool, chosen or cat.model_name(endpoint, body), endpoint)
        await self.events.task_changed(task.id, task.status if task.reattached else "SUBMITTED")
        return task

    def track(self, task: runway_core.Task, tool: str, model: Optional[str], endpoint: str) -> None:
        """Remembers a task just created here (or reattached to): its model and tool, and that this
        process holds it, so that its outputs are saved once and under the tool's name."""
        if task.reattached:
            notices.reattached(task.id)
        else:
            self.remember(task.id, model, task.estimated_cost, tool)
            self.created_here[task.id] = None
            if self.client().has_journal:
                # Ours from the start (the core leases a new task to its creator with its row):
                # another process or replica resuming this key's tasks leaves it to us.
                self.leased[task.id] = time.monotonic()
                while len(self.leased) > 10_000:
                    self.leased.popitem(last=False)
            while len(self.created_here) > 10_000:
                self.created_here.popitem(last=False)
            notices.created(task.id, endpoint, self.known[task.id][0], task.estimated_cost)

    async def submit(self, ctx: Context, tool: str, endpoint: str, body: dict[str, Any], wait: bool,
                     max_wait: Optional[float], params: Optional[dict[str, str]] = None,
                     force_new: bool = False, reattach_only: bool = False) -> CallToolResult:
        """Creates the task (see `create`) and waits for it."""
        task = await self.create(tool, endpoint, body, params, force_new, reattach_only)
        if not wait:
            status = task.status if task.reattached else "SUBMITTED"
            return self.respond(await self.result(task, status=status, reattached=task.reattached))
        return await self.wait(ctx, task.id, max_wait, reattached=task.reattached)

    async def run_workflow(self, ctx: Context, tool: str, workflow_id: str, node_outputs: dict[str, Any], wait: bool,
                           max_wait: Optional[float], force_new: bool = False) -> CallToolResult:
        """Runs a published workflow and follows the invocation as `submit` follows a task: the
        journal's reattach and pay-twice guard, progress, the outputs saved."""
        try:
            task = await self.client().run_workflow(workflow_id, node_outputs, tool=tool, force_new=force_new)
        except RunwayError as e:
            raise ToolError(str(e)) from None
        # The journal names a run's model by its workflow id: so does this process.
        self.track(task, tool, workflow_id, f"workflows/{workflow_id}")
        await self.events.task_changed(task.id, task.status if task.reattached else "SUBMITTED")
        if not wait:
            status = task.status if task.reattached else "SUBMITTED"
            return self.respond(await self.result(task, status=status, reattached=task.reattached))
        return await self.wait(ctx, task.id, max_wait, reattached=task.reattached)

    async def wait(self, ctx: Context, task_id: str, max_wait: Optional[float], reattached: bool = False) -> CallToolResult:
        """Waits at most `max_wait` seconds. Running out of time is not an error: the result
        carries the task id and says how to keep waiting."""
        limit = self.max_wait(max_wait)
        try:
            # The lease tells other processes sharing the journal that this task is followed here.
            async with self.held(task_id), Progress(ctx, task_id, self.settings.progress_interval) as progress:
                async def seen(t: runway_core.Task) -> None:
                    await progress.update(t)
                    await self.observed(t)

                done = await self.client().wait_for_task(task_id, timeout=limit, on_progress=seen,
                                                          on_retry=notices.retries_of(task_id))
                return await self.finished(done, reattached)
        except TaskTimeoutError as e:
            if e.task is not None:
                return self.respond(await self.result(e.task, waited=e.waited, reattached=reattached))
            raise ToolError(f"{e}. Call wait_for_task or get_task_status with task_id '{task_id}'.") from None
        except TaskFailedError as e:
            notices.failed(task_id, e.task.failure, e.task.failure_code)
            return self.respond(await self.result(e.task, reattached=reattached), is_error=True)
        except RunwayError as e:
            raise ToolError(str(e)) from None
        except asyncio.CancelledError:
            log.info("the client cancelled the wait; task %s keeps running at Runway", task_id)
            raise



def sent(body: dict[str, Any]) -> dict[str, Any]:
    """The body as Runway gets it: a field left None is left out (and so is not part of the request
    an identical call is recognised by)."""
    return {k: v for k, v in body.items() if v is not None}
